"""Fuzzing the service: hundreds of random and malformed requests (random bytes, mutated real
JPEG/PNG/WebP files, header-only bombs, odd image modes and sizes, wrong or garbage content
types, random form fields and methods, huge headers) never get a 5xx, every 4xx carries a
JSON message, and the service still answers afterwards."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

# the service is an optional extra: without FastAPI these tests skip, and only then
fastapi_testclient = pytest.importorskip("fastapi.testclient")

from xfas.models import build_model, save_model  # noqa: E402
from xfas.serve import ServiceConfig, create_app  # noqa: E402
from xfas.serve.engine import Engine  # noqa: E402

from helpers.assets import ASSETS  # noqa: E402
from helpers.image_bytes import encode, png_header_only  # noqa: E402

EXAMPLES = 250
CONTENT_TYPES = ["image/jpeg", "image/png", "image/webp", "application/octet-stream",
                 "text/plain", "image/gif", "multipart/form-data", "", "image/png; charset=x",
                 "multipart/form-data; boundary=", "application/json", "\x7f\x00garbage"]
METHODS = ["gradcam", "eigencam", "randomcam", "gradcam++", "GradCAM", "", ",", "rise!",
           "gradcam,gradcam", "x" * 300, "sped", "é"]


def _seeds() -> list[bytes]:
    """Valid files to mutate: the real samples when there, and small synthetic images."""
    seeds = []
    for name in ("image_F1.jpg", "image_T1.jpg"):
        path = ASSETS / "images" / name
        if path.is_file():
            seeds.append(path.read_bytes())
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    seeds += [encode(picture, "PNG"), encode(picture, "JPEG"), encode(picture, "WEBP")]
    return seeds


SEEDS = _seeds()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[position:position + draw(st.integers(1, 256))]
    cut = draw(st.integers(1, max(1, len(data))))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@st.composite
def odd_image(draw) -> bytes:
    """A valid image of a random mode, size and format (the service must answer 200 or 4xx)."""
    width, height = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    mode = draw(st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1"]))
    fmt = draw(st.sampled_from(["PNG", "JPEG", "WEBP"]))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    if mode == "I;16":
        image = Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    if fmt == "PNG" and image.mode == "CMYK":  # PNG has no CMYK
        image = image.convert("RGB")
    if fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    return encode(image, fmt)


payloads = st.one_of(
    st.binary(max_size=4096),
    mutated(),
    mutated(),
    odd_image(),
    st.builds(png_header_only, st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)),
    st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"]),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=64)
huge_header = st.integers(1, 12_000).map(lambda n: "h" * n)


@st.composite
def requests(draw) -> dict:
    path = draw(st.sampled_from(["/v1/predict", "/v1/predict", "/v1/explain"]))
    data = draw(payloads)
    headers = {}
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["X-Debug", "X-API-Key", "Accept", "X-Filler"]))] = \
            draw(st.one_of(header_text, huge_header))
    params, form = {}, {}
    if path == "/v1/explain" and draw(st.booleans()):
        target = params if draw(st.booleans()) else form
        target["methods"] = draw(st.sampled_from(METHODS))
    if draw(st.booleans()):
        field = draw(st.sampled_from(["file", "file", "image", "upload", ""]))
        filename = draw(st.one_of(header_text, st.just("face.jpg")))
        kind = draw(st.sampled_from(CONTENT_TYPES[:7]))
        return {"path": path, "files": {field: (filename, data, kind)}, "data": form,
                "params": params, "headers": headers}
    headers["content-type"] = draw(st.sampled_from(CONTENT_TYPES))
    return {"path": path, "content": data, "params": params, "headers": headers}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The real models when the assets are there, else an untrained seed CNN with OpenCV's
    Haar detector (the input handling is the same)."""
    if (ASSETS / "models/2.7_80x80_MiniFASNetV2.pth").is_file():
        config = ServiceConfig(assets=ASSETS)
    else:
        torch.manual_seed(0)
        path = save_model(build_model("cnn"), tmp_path_factory.mktemp("cnn") / "cnn.safetensors")
        config = ServiceConfig(model=str(path))
    engine = Engine.from_config(config)
    app = create_app(config, engine)
    with fastapi_testclient.TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    engine.close()


@pytest.mark.slow
def test_random_and_malformed_requests_never_get_a_5xx(client) -> None:
    seen: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(request=requests())
    def check(request: dict) -> None:
        path = request.pop("path")
        reply = client.post(path, **request)
        seen[reply.status_code] = seen.get(reply.status_code, 0) + 1
        assert reply.status_code < 500, (reply.status_code, reply.text[:300])
        body = reply.json()
        if reply.status_code >= 400:
            assert isinstance(body.get("error"), str) and body["error"], body
        else:
            assert body["verdict"] in ("live", "spoof")

    check()
    assert sum(seen.values()) >= 200, seen
    assert sum(n for status, n in seen.items() if status >= 400) > 100, seen
    assert client.get("/v1/health").json()["status"] == "ok"


def exchange(port: int, data: bytes, timeout: float = 1.5) -> bytes:
    """Send raw bytes to the server and return what it answers before it closes the
    connection or ``timeout`` passes (nothing, when it waits for a body that never comes)."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except (socket.timeout, ConnectionError):
            pass
    return b"".join(chunks)


def raw_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


@pytest.mark.slow
def test_raw_http_garbage_does_not_break_a_real_server(tmp_path) -> None:
    """Malformed HTTP on a socket to a real uvicorn server (bad request lines, huge headers,
    lying Content-Length, bodies cut short): never a 5xx, and the server keeps answering."""
    from xfas.serve.server import background_server, free_port

    torch.manual_seed(0)
    path = save_model(build_model("cnn"), tmp_path / "cnn.safetensors")
    config = ServiceConfig(model=str(path), port=free_port(), max_bytes=100_000)
    jpeg = SEEDS[-2]
    cases = [
        b"\x00" * 100, b"GET\r\n\r\n", b"BREW /v1/predict HTTP/1.1\r\n\r\n",
        b"POST /v1/predict HTTP/9.9\r\nHost: x\r\n\r\n",
        raw_request("/v1/predict", {"X-Filler": "h" * 40_000}, b""),
        raw_request("/v1/predict", {"Content-Length": "-5"}, b""),
        raw_request("/v1/predict", {"Content-Length": "abc"}, b""),
        raw_request("/v1/predict", {"Content-Length": "99999999999",
                                    "Content-Type": "image/jpeg"}, jpeg[:100]),
        raw_request("/v1/predict", {"Content-Length": str(len(jpeg) + 500),
                                    "Content-Type": "image/jpeg"}, jpeg),
        raw_request("/v1/predict", {"Transfer-Encoding": "chunked",
                                    "Content-Type": "image/jpeg"}, b"fffff\r\n" + jpeg[:50]),
        raw_request("/v1/predict", {"Transfer-Encoding": "chunked",
                                    "Content-Type": "image/jpeg"},
                    b"".join(b"%x\r\n%s\r\n" % (len(jpeg[i:i + 999]), jpeg[i:i + 999])
                             for i in range(0, len(jpeg), 999)) + b"0\r\n\r\n"),
        raw_request("/v1/explain", {"Content-Length": "20", "Content-Type":
                                    "multipart/form-data; boundary=zz"}, b"--zz\r\n" + b"a" * 14),
    ]
    rng = np.random.default_rng(3)
    # random bytes, ended like a request head so the server answers rather than waits
    cases += [bytes(rng.integers(0, 256, int(rng.integers(1, 3000)), dtype=np.uint8))
              + b"\r\n\r\n" for _ in range(16)]
    cases += [raw_request("/v1/predict", {"Content-Length": str(len(body)),
                                          "Content-Type": "image/jpeg"}, body)
              for body in (bytes(rng.integers(0, 256, 2000, dtype=np.uint8)),
                           jpeg[:len(jpeg) // 2], jpeg)]
    statuses = []
    with background_server(create_app(config), config) as url:
        for case in cases:
            answer = exchange(config.port, case)
            status = answer.split(b" ", 2)[1:2]
            statuses.append(int(status[0]) if status and status[0].isdigit() else None)
            assert statuses[-1] is None or statuses[-1] < 500, (case[:80], answer[:200])
        # the well-formed requests at the end were answered: a 400 for random bytes, a 400 for
        # the cut JPEG, and the whole noise JPEG has no face (422)
        assert statuses[-3:] == [415, 400, 422], statuses[-3:]
        assert statuses.count(400) >= 5, statuses
        import httpx
        assert httpx.get(f"{url}/v1/health", timeout=10).status_code == 200
