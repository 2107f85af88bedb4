"""SynthSpoof generation speed: images of 128x128 per second on one core, rendering alone and
rendering plus writing the benchmark layout. Writes benchmarks/results/synth.md."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from xfas.data.synth import generate_synthspoof, render_sample  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "synth.md"
N = 500


def main() -> None:
    cv2.setNumThreads(1)
    render_sample(0, seed=0, size=128)  # warm-up: imports, caches
    start, cpu = time.perf_counter(), time.process_time()
    for index in range(N):
        render_sample(index, seed=1, size=128)
    render_wall, render_cpu = time.perf_counter() - start, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        generate_synthspoof(Path(tmp) / "set", N, size=128, seed=2, progress=False)
        write_wall, write_cpu = time.perf_counter() - start, time.process_time() - cpu
    rows = [("render only", render_wall, render_cpu), ("render + write PNGs", write_wall,
                                                       write_cpu)]
    lines = ["# SynthSpoof generation speed", "",
             f"{N} images of 128x128, one thread, {platform.processor() or platform.machine()}, "
             f"Python {sys.version.split()[0]}. Goal: at least 100 images per second.", "",
             "| stage | images/s (wall) | images/s (CPU time) |", "|---|---|---|"]
    lines += [f"| {name} | {N / wall:.0f} | {N / cpu:.0f} |" for name, wall, cpu in rows]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
