"""Load test of the explanation service: starts `xfas serve` (real uvicorn, a subprocess) with
the MiniFASNet models, runs N concurrent clients on loopback against /v1/predict and then
/v1/explain, and reports requests per second, p50/p95/p99 latency, errors and the server's
peak memory (VmHWM from /proc). Results go to benchmarks/results/service.md.

    python benchmarks/load_service.py --seconds 60 --explain-seconds 20

Every request goes to 127.0.0.1 only; each phase stops by itself after its duration.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ASSETS = ROOT.parent / "shared" / "assets" / "silent-face"
SAMPLES = ("image_F1.jpg", "image_F2.jpg", "image_T1.jpg")


@dataclass
class Phase:
    """What one endpoint's run measured."""

    endpoint: str
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    rss_mb: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MiB: its peak and current resident memory."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


def start_server(port: int, assets: Path, concepts: Path | None,
                 torch_threads: int | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "xfas", "serve", "--model", "minifasnet",
               "--assets", str(assets), "--port", str(port), "--log-level", "warning"]
    if concepts is not None:
        command += ["--concepts", str(concepts)]
    if torch_threads is not None:
        command += ["--torch-threads", str(torch_threads)]
    server = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"xfas serve exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.terminate()
    raise SystemExit("xfas serve did not answer within 120 s")


def run_phase(url: str, endpoint: str, clients: int, seconds: float,
              payloads: list[tuple[str, bytes]], params: dict, pid: int) -> Phase:
    """``clients`` threads posting the samples in turn to ``endpoint`` for ``seconds``."""
    phase = Phase(endpoint, clients, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120.0) as http:
            n = index
            while time.monotonic() < deadline:
                name, data = payloads[n % len(payloads)]
                n += 1
                start = time.perf_counter()
                try:
                    reply = http.post(f"/v1/{endpoint}", params=params,
                                      files={"file": (name, data, "image/jpeg")})
                    problem = None if reply.status_code == 200 else \
                        f"{reply.status_code} {reply.text[:120]}"
                except httpx.HTTPError as error:
                    problem = repr(error)
                elapsed = (time.perf_counter() - start) * 1000.0
                with lock:
                    if problem is None:
                        phase.latencies_ms.append(elapsed)
                    else:
                        phase.errors.append(problem)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - begin
    phase.peak_rss_mb, phase.rss_mb = memory_mb(pid)
    return phase


def fit_demo_bank(assets: Path, concepts: int, out: Path) -> Path:
    """A small concept bank fitted on crops of the two attack samples: for timing only (its
    concepts are not meant to be meaningful)."""
    import torch

    from xfas.data.face import FaceDetector
    from xfas.data.image_io import load_image
    from xfas.models import load_model
    from xfas.sped import SPED

    model = load_model("minifasnet-v2", assets=assets)
    detector = FaceDetector.from_assets(assets)
    crops = []
    for name in SAMPLES[:2]:
        image = load_image(assets / "images" / name)
        x, y, w, h = detector.detect(image)
        for dx, dy in ((0, 0), (12, 0), (-12, 8), (0, -10), (8, 8), (-8, -8)):
            crops.append(model.preprocess(image, (x + dx, y + dy, w, h))[0])
    sped = SPED(model, n_concepts=concepts, seed=0, n_designs=8, batch_size=32, progress=False)
    return sped.fit(torch.stack(crops)).save(out)


def report(phases: list[Phase], args: argparse.Namespace, bank: str) -> str:
    lines = [
        "# Service load test",
        "",
        f"`python benchmarks/load_service.py --seconds {args.seconds:g} --explain-seconds "
        f"{args.explain_seconds:g} --clients {args.clients}"
        + (f" --methods {args.methods}" if args.methods else "")
        + (f" --demo-concepts {args.demo_concepts}" if args.demo_concepts else "")
        + (f" --torch-threads {args.torch_threads}" if args.torch_threads else "") + "`",
        "",
        f"- Server: `xfas serve --model minifasnet` (MiniFASNetV2 + V1SE fused, RetinaFace), "
        f"real uvicorn in its own process, CPU only, torch threads: "
        f"{args.torch_threads or 'default'}; concepts: {bank}.",
        f"- Clients: {args.clients} threads (httpx, keep-alive) on 127.0.0.1 in another "
        f"process, posting the three Silent-Face samples (480x640 JPEG) in turn.",
        f"- Machine: {os.cpu_count()} CPU cores shared by server and clients "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}; "
        f"load average {args.load_before:.1f} before the run (other work on the machine "
        "takes cores from the server).",
        "- Peak RSS is the server's VmHWM after the phase (it only grows).",
        "",
        "| endpoint | clients | seconds | requests | req/s | p50 ms | p95 ms | p99 ms "
        "| errors | server peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in phases:
        ok = len(phase.latencies_ms)
        lines.append(
            f"| {phase.endpoint} | {phase.clients} | {phase.seconds:.0f} | {phase.requests} "
            f"| {ok / phase.seconds:.1f} | {phase.percentile(50):.0f} "
            f"| {phase.percentile(95):.0f} | {phase.percentile(99):.0f} "
            f"| {len(phase.errors)} | {phase.peak_rss_mb:.0f} |")
    errors = [e for phase in phases for e in phase.errors[:3]]
    if errors:
        lines += ["", "First errors:", ""] + [f"- `{e}`" for e in errors]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="duration of the predict phase (default 60)")
    parser.add_argument("--explain-seconds", type=float, default=None,
                        help="duration of the explain phase (default: --seconds; 0 skips it)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--methods", default="",
                        help="methods for explain requests, e.g. gradcam (default none)")
    parser.add_argument("--concepts", type=Path, default=None, help="a concept bank to serve")
    parser.add_argument("--demo-concepts", type=int, default=0,
                        help="fit a small bank with this many concepts on the samples and "
                             "serve it (timing only)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="pass --torch-threads N to xfas serve (default: torch's choice)")
    parser.add_argument("--assets", type=Path,
                        default=Path(os.environ.get("XFAS_ASSETS", DEFAULT_ASSETS)))
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "service.md")
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]
    if args.explain_seconds is None:
        args.explain_seconds = args.seconds
    missing = [name for name in SAMPLES if not (args.assets / "images" / name).is_file()]
    if missing:
        raise SystemExit(f"{args.assets}/images/{missing[0]} is missing: set XFAS_ASSETS or "
                         "--assets to the Silent-Face assets folder")

    from xfas.serve.server import free_port

    port = args.port or free_port()
    payloads = [(name, (args.assets / "images" / name).read_bytes()) for name in SAMPLES]
    with tempfile.TemporaryDirectory() as scratch:
        bank, described = args.concepts, "none"
        if bank is None and args.demo_concepts:
            bank = fit_demo_bank(args.assets, args.demo_concepts,
                                 Path(scratch) / "bank.safetensors")
            described = f"a demo bank of {args.demo_concepts} concepts fitted on the samples"
        elif bank is not None:
            described = f"`{bank.name}`"
        server = start_server(port, args.assets, bank, args.torch_threads)
        url = f"http://127.0.0.1:{port}"
        phases = []
        try:
            phases.append(run_phase(url, "predict", args.clients, args.seconds, payloads, {},
                                    server.pid))
            print(report(phases, args, described), flush=True)
            if args.explain_seconds > 0:
                params = {"methods": args.methods} if args.methods else {}
                phases.append(run_phase(url, "explain", args.clients, args.explain_seconds,
                                        payloads, params, server.pid))
            alive = httpx.get(f"{url}/v1/health", timeout=10).status_code == 200
        finally:
            server.terminate()
            server.wait(30)
    text = report(phases, args, described)
    text += f"\nAfter the run the server {'still answered' if alive else 'did NOT answer'} " \
            "GET /v1/health.\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
