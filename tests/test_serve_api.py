"""The explanation service's HTTP API, end to end through the ASGI app: verdicts on the real
samples agree with the Silent-Face table and with FusedPredictor image by image, every class
of bad input gets its 4xx and a message, API keys, uploads kept only when asked, heat maps
and boxes agree with each other, SPED concepts, and sixteen concurrent clients against a real
uvicorn server."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

# the service is an optional extra: without FastAPI these tests skip, and only then
fastapi_testclient = pytest.importorskip("fastapi.testclient")
TestClient = fastapi_testclient.TestClient

from xfas.data.image_io import load_image  # noqa: E402
from xfas.errors import XfasError  # noqa: E402
from xfas.models import build_model, load_model, save_model  # noqa: E402
from xfas.serve import ServiceConfig, create_app  # noqa: E402
from xfas.serve.batcher import Batcher  # noqa: E402
from xfas.serve.engine import Engine  # noqa: E402
from xfas.serve.security import load_api_keys  # noqa: E402
from xfas.serve.server import background_server, free_port  # noqa: E402
from xfas.sped import SPED  # noqa: E402

from helpers.assets import ASSETS, asset  # noqa: E402
from helpers.image_bytes import encode, png_header_only  # noqa: E402
from helpers.tolerance import assert_close  # noqa: E402

# Silent-Face's own run on the upright samples (assets README): face box and fused softmax
# (V2 + V1SE) / 2 -> spoof = 1 - fused[live = 1].
TABLE = {"image_F1.jpg": ((178, 136, 223, 225), "spoof", 1 - (0.00 + 0.14) / 2),
         "image_F2.jpg": ((120, 252, 252, 256), "spoof", 1 - (0.00 + 0.36) / 2),
         "image_T1.jpg": ((106, 147, 207, 213), "live", 1 - (0.99 + 1.00) / 2)}


def sample_bytes(name: str) -> bytes:
    return asset(f"images/{name}").read_bytes()


def upload(data: bytes, name: str = "face.png", kind: str = "image/png") -> dict:
    return {"file": (name, data, kind)}


def iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0, min(ax1, bx1) - max(a[0], b[0])) * max(0, min(ay1, by1) - max(a[1], b[1]))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def decode_png(b64: str) -> np.ndarray:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGBA"))


def alpha_box(alpha: np.ndarray, level: float) -> list[int]:
    """[x, y, w, h] of the pixels whose opacity is above ``level`` x the maximum (0: > 0)."""
    peak = alpha.max()
    rows, cols = np.nonzero(alpha > level * peak if level > 0 else alpha > 0)
    return [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1),
            int(rows.max() - rows.min() + 1)]


# --- engines and clients ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_engine():
    for name in TABLE:
        asset(f"images/{name}")
    asset("models/2.7_80x80_MiniFASNetV2.pth"), asset("models/4_0_0_80x80_MiniFASNetV1SE.pth")
    asset("detector/Widerface-RetinaFace.caffemodel")
    engine = Engine.from_config(ServiceConfig(assets=ASSETS))
    yield engine
    engine.close()


def engine_for(base: Engine, config: ServiceConfig, sped=None) -> Engine:
    """An engine for ``config`` sharing ``base``'s loaded models."""
    return Engine(config, base.predictor, base.explain_model, sped=sped if sped else base.sped)


@pytest.fixture(scope="module")
def client(real_engine):
    with TestClient(create_app(real_engine.config, real_engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def any_engine(tmp_path_factory):
    """The real engine when the assets are there, else an untrained seed CNN with OpenCV's Haar
    detector: the input checks do not depend on the model."""
    if (ASSETS / "models/2.7_80x80_MiniFASNetV2.pth").is_file():
        engine = Engine.from_config(ServiceConfig(assets=ASSETS))
    else:
        torch.manual_seed(0)
        path = save_model(build_model("cnn"), tmp_path_factory.mktemp("cnn") / "cnn.safetensors")
        engine = Engine.from_config(ServiceConfig(model=str(path)))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def any_client(any_engine):
    with TestClient(create_app(any_engine.config, any_engine)) as test_client:
        yield test_client


# --- verdicts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TABLE))
def test_predict_reproduces_silent_face(client, name: str) -> None:
    box, label, spoof = TABLE[name]
    reply = client.post("/v1/predict", files=upload(sample_bytes(name), name, "image/jpeg"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["verdict"] == label
    assert_close(body["spoof_score"], spoof, rtol=0, atol=0.02)  # the table has two decimals
    assert body["threshold"] == 0.5 and body["model"] == "minifasnet"
    # stored 640x480 with EXIF orientation 6: the box is on the upright 480x640 image
    assert body["image_size"] == [480, 640]
    assert np.all(np.abs(np.subtract(body["face_box"], box)) <= 3), body["face_box"]
    assert set(body["per_model"]) == {"minifasnet-v2", "minifasnet-v1se"}
    assert_close(body["spoof_score"], np.mean(list(body["per_model"].values())))


def test_raw_body_upload_gives_the_same_verdict(client) -> None:
    data = sample_bytes("image_F1.jpg")
    form = client.post("/v1/predict", files=upload(data, "f1.jpg", "image/jpeg")).json()
    raw = client.post("/v1/predict", content=data,
                      headers={"content-type": "image/jpeg"}).json()
    assert_close(raw["spoof_score"], form["spoof_score"])
    assert raw["face_box"] == form["face_box"]


def test_batched_verdicts_equal_the_fused_predictor_one_by_one(real_engine) -> None:
    """Eight concurrent requests are grouped into fewer model batches, and each answer equals
    FusedPredictor.predict on its image alone."""
    config = ServiceConfig(assets=ASSETS, batch_window_ms=300)
    engine = engine_for(real_engine, config)
    app = create_app(config, engine)
    names = sorted(TABLE) * 3
    names = names[:8]
    images = {name: load_image(sample_bytes(name)) for name in TABLE}

    async def run() -> list[dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            replies = await asyncio.gather(*[
                http.post("/v1/predict", files=upload(sample_bytes(n), n, "image/jpeg"))
                for n in names])
        return [r.json() for r in replies]

    try:
        bodies = asyncio.run(run())
        assert engine.batcher.batches < len(names)
    finally:
        engine.close()
    for name, body in zip(names, bodies):
        alone = real_engine.predictor.predict(images[name])
        assert_close(body["spoof_score"], alone.spoof_probability)
        assert tuple(body["face_box"]) == alone.face_box


def test_threshold_decides_the_verdict(real_engine) -> None:
    config = ServiceConfig(assets=ASSETS, threshold=0.95)  # above F2's score in TABLE
    with TestClient(create_app(config, engine_for(real_engine, config))) as http:
        body = http.post("/v1/predict", files=upload(sample_bytes("image_F2.jpg"), "f2.jpg",
                                                     "image/jpeg")).json()
    assert body["threshold"] == 0.95
    assert body["spoof_score"] < 0.95 and body["verdict"] == "live"


# --- explanations without a concept bank ---------------------------------------------------------

def test_explain_gradcam_map_and_box_agree(client) -> None:
    reply = client.post("/v1/explain", params={"methods": "gradcam"},
                        files=upload(sample_bytes("image_F2.jpg"), "f2.jpg", "image/jpeg"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["verdict"] == "spoof" and body["concepts"] == []
    prefix = f"spoof ({body['spoof_score']:.2f}); Grad-CAM evidence: "
    assert body["sentence"].startswith(prefix) and body["sentence"].endswith(" of the image")
    assert body["heatmap_size"] == [480, 640]
    rgba = decode_png(body["maps"]["gradcam"]["heatmap_png"])
    assert rgba.shape == (640, 480, 4)
    # the box is where the map is at least half its maximum, i.e. where the opacity (220 x
    # value²) is at least a quarter of its maximum; the map is zero outside the model's
    # context crop of the face
    box = body["maps"]["gradcam"]["box"]
    assert np.all(np.abs(np.subtract(box, alpha_box(rgba[..., 3], 0.25))) <= 2), box
    support = alpha_box(rgba[..., 3], 0.0)
    face = body["face_box"]
    assert support[0] <= face[0] and support[1] <= face[1]
    assert support[0] + support[2] >= face[0] + face[2]


def test_explain_takes_methods_from_the_form_and_rejects_unknown_ones(client) -> None:
    data = sample_bytes("image_F1.jpg")
    reply = client.post("/v1/explain", data={"methods": "gradcam, eigencam"},
                        files=upload(data, "f1.jpg", "image/jpeg"))
    assert reply.status_code == 200, reply.text
    assert sorted(reply.json()["maps"]) == ["eigencam", "gradcam"]
    bad = client.post("/v1/explain", params={"methods": "gradcam,magic"},
                      files=upload(data, "f1.jpg", "image/jpeg"))
    assert bad.status_code == 400
    assert "'magic'" in bad.json()["error"] and "rise" in bad.json()["error"]


def test_explain_live_has_no_concepts(client) -> None:
    body = client.post("/v1/explain", files=upload(sample_bytes("image_T1.jpg"), "t1.jpg",
                                                   "image/jpeg")).json()
    assert body["verdict"] == "live" and body["concepts"] == [] and body["maps"] == {}
    assert body["sentence"] == f"live ({body['spoof_score']:.2f})"


def test_large_image_maps_are_scaled_and_boxes_stay_in_image_pixels(client) -> None:
    upright = load_image(sample_bytes("image_T1.jpg"))
    big = np.repeat(np.repeat(upright, 4, axis=0), 4, axis=1)  # 1920x2560, face x4
    data = encode(Image.fromarray(big), "JPEG", quality=90)
    body = client.post("/v1/explain", params={"methods": "gradcam"},
                       files=upload(data, "big.jpg", "image/jpeg")).json()
    assert body["image_size"] == [1920, 2560]
    assert body["heatmap_size"] == [768, 1024]  # at most 1024 on the long side
    assert iou(body["face_box"], np.multiply(TABLE["image_T1.jpg"][0], 4)) > 0.8
    rgba = decode_png(body["maps"]["gradcam"]["heatmap_png"])
    assert rgba.shape[:2] == (1024, 768)
    box = body["maps"]["gradcam"]["box"]
    expected = np.multiply(alpha_box(rgba[..., 3], 0.25), 2.5)  # 2560 / 1024
    assert np.all(np.abs(np.subtract(box, expected)) <= 4), (box, expected)


# --- inputs: each class from the issue ------------------------------------------------------------

def test_not_an_image_is_415(any_client) -> None:
    reply = any_client.post("/v1/predict", files=upload(b"hello, world", "a.jpg", "image/jpeg"))
    assert reply.status_code == 415
    assert reply.json()["error"] == "upload 'a.jpg': not a JPEG, PNG or WebP image"


def test_other_formats_and_content_types_are_415(any_client) -> None:
    gif = encode(Image.new("RGB", (64, 64), (90, 90, 90)), "GIF")
    assert any_client.post("/v1/predict", files=upload(gif, "a.gif", "image/gif")
                           ).status_code == 415
    text = any_client.post("/v1/predict", content=b"abc", headers={"content-type": "text/plain"})
    assert text.status_code == 415 and "text/plain" in text.json()["error"]


def test_zero_bytes_is_400(any_client) -> None:
    reply = any_client.post("/v1/predict", files=upload(b"", "empty.png"))
    assert reply.status_code == 400 and "empty (0 bytes)" in reply.json()["error"]
    raw = any_client.post("/v1/predict", content=b"", headers={"content-type": "image/png"})
    assert raw.status_code == 400


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_and_corrupt_files_are_400(any_client, fmt: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    for broken in (data[:len(data) // 2], data[:16] + bytes(len(data) - 16)):
        reply = any_client.post("/v1/predict", files=upload(broken, "broken.img"))
        assert reply.status_code == 400, (fmt, reply.text)
        assert reply.json()["error"].startswith("upload 'broken.img': ")


def test_too_many_bytes_is_413_before_decoding(any_engine) -> None:
    config = replace(any_engine.config, max_bytes=50_000)
    with TestClient(create_app(config, engine_for(any_engine, config))) as http:
        data = b"\xff\xd8\xff" + bytes(60_000)
        raw = http.post("/v1/predict", content=data, headers={"content-type": "image/jpeg"})
        assert raw.status_code == 413 and "over the limit of 50000" in raw.json()["error"]
        form = http.post("/v1/predict", files=upload(data, "big.jpg", "image/jpeg"))
        assert form.status_code == 413
        small = http.post("/v1/predict", files=upload(b"\xff\xd8\xff" + bytes(40_000)))
        assert small.status_code == 400  # under the limit: read, then refused as corrupt


def test_too_many_pixels_and_decompression_bombs_are_413(any_client) -> None:
    for width, height in ((10_000, 5_000), (200_000, 200_000)):
        reply = any_client.post("/v1/predict", files=upload(png_header_only(width, height)))
        assert reply.status_code == 413, reply.text
        assert f"{width}x{height}" in reply.json()["error"] or "bomb" in reply.json()["error"]


@pytest.mark.parametrize("size", [(8, 8), (400, 12), (1000, 40)])
def test_images_too_small_or_too_thin_are_422(any_client, size) -> None:
    data = encode(Image.new("RGB", size, (128, 100, 90)), "PNG")
    reply = any_client.post("/v1/predict", files=upload(data))
    assert reply.status_code == 422 and "cannot hold a face" in reply.json()["error"]


def test_no_face_is_422(any_client) -> None:
    flat = encode(Image.new("RGB", (320, 240), (128, 128, 128)), "PNG")
    for path in ("/v1/predict", "/v1/explain"):
        reply = any_client.post(path, files=upload(flat))
        assert reply.status_code == 422 and "no face found" in reply.json()["error"]


def test_malformed_multipart_is_400(any_client) -> None:
    no_file = any_client.post("/v1/predict", data={"methods": "gradcam"},
                              files={"other": ("x.txt", b"abc", "text/plain")})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    garbage = any_client.post("/v1/predict", content=b"--abc\r\nnot a form", headers=headers)
    assert garbage.status_code == 400
    no_boundary = any_client.post("/v1/predict", content=b"x",
                                  headers={"content-type": "multipart/form-data"})
    assert no_boundary.status_code == 400 and "boundary" in no_boundary.json()["error"]


def test_unknown_paths_and_methods_answer_json(any_client) -> None:
    missing = any_client.get("/v1/nothing")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = any_client.get("/v1/predict")
    assert wrong.status_code == 405 and "error" in wrong.json()


@pytest.fixture(scope="module")
def t1_upright() -> np.ndarray:
    return load_image(sample_bytes("image_T1.jpg"))


@pytest.fixture(scope="module")
def t1_png_reply(client, t1_upright) -> dict:
    return client.post("/v1/predict", files=upload(encode(Image.fromarray(t1_upright), "PNG"))
                       ).json()


def test_exif_rotation_is_applied(client, t1_upright, t1_png_reply) -> None:
    # stored upside down with EXIF orientation 3 (rotate 180 to view): the same upright image
    exif = Image.Exif()
    exif[0x0112] = 3
    stored = encode(Image.fromarray(np.ascontiguousarray(t1_upright[::-1, ::-1])), "PNG",
                    exif=exif)
    body = client.post("/v1/predict", files=upload(stored)).json()
    assert body["image_size"] == t1_png_reply["image_size"] == [480, 640]
    assert body["face_box"] == t1_png_reply["face_box"]
    assert_close(body["spoof_score"], t1_png_reply["spoof_score"])


def test_alpha_channel_fully_opaque_equals_rgb(client, t1_upright, t1_png_reply) -> None:
    rgba = np.dstack([t1_upright, np.full(t1_upright.shape[:2], 255, np.uint8)])
    body = client.post("/v1/predict", files=upload(encode(Image.fromarray(rgba), "PNG"))).json()
    assert_close(body["spoof_score"], t1_png_reply["spoof_score"])
    assert body["face_box"] == t1_png_reply["face_box"]


def test_grayscale_and_sixteen_bit_give_the_same_answer(client, t1_upright) -> None:
    gray = np.asarray(Image.fromarray(t1_upright).convert("L"))
    eight = client.post("/v1/predict", files=upload(encode(Image.fromarray(gray), "PNG")))
    assert eight.status_code == 200, eight.text
    wide = Image.fromarray(gray.astype(np.uint16) * 257)  # 16-bit PNG, v * 257 -> v exactly
    sixteen = client.post("/v1/predict", files=upload(encode(wide, "PNG")))
    assert sixteen.status_code == 200, sixteen.text
    assert_close(sixteen.json()["spoof_score"], eight.json()["spoof_score"])
    assert iou(eight.json()["face_box"], TABLE["image_T1.jpg"][0]) > 0.7


def test_cmyk_jpeg_is_read(client, t1_upright) -> None:
    data = encode(Image.fromarray(t1_upright).convert("CMYK"), "JPEG", quality=95)
    reply = client.post("/v1/predict", files=upload(data, "cmyk.jpg", "image/jpeg"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["verdict"] == "live"
    assert iou(reply.json()["face_box"], TABLE["image_T1.jpg"][0]) > 0.8


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_image_uses_the_first_frame(client, t1_upright, t1_png_reply, fmt) -> None:
    noise = np.random.default_rng(1).integers(0, 256, t1_upright.shape, dtype=np.uint8)
    frames = [Image.fromarray(t1_upright), Image.fromarray(noise)]
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100,
                  **options)
    body = client.post("/v1/predict", files=upload(data)).json()
    assert body["face_box"] == t1_png_reply["face_box"]
    assert_close(body["spoof_score"], t1_png_reply["spoof_score"])


# --- health, model, docs, page -------------------------------------------------------------------

def test_health_and_model(client, real_engine) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["model"] == "minifasnet"
    assert health["auth_required"] is False
    info = client.get("/v1/model").json()
    assert info["explained_model"] == "minifasnet-v2" and info["detector"] == "retinaface"
    fresh = {name: load_model(name, assets=ASSETS).fingerprint()
             for name in ("minifasnet-v2", "minifasnet-v1se")}
    assert {m["name"]: m["fingerprint"] for m in info["models"]} == fresh
    assert info["versions"]["torch"] == torch.__version__
    assert "gradcam" in info["methods"] and "rise" in info["methods"]
    assert info["limits"] == {"max_bytes": 10_000_000, "max_pixels": 40_000_000,
                              "rise_masks": 500}


def test_openapi_docs_describe_the_upload_and_the_reply(any_client) -> None:
    schema = any_client.get("/openapi.json").json()
    body = schema["paths"]["/v1/explain"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    fields = schema["components"]["schemas"]["Explanation"]["properties"]
    assert {"verdict", "spoof_score", "face_box", "threshold", "concepts", "sentence",
            "maps"} <= set(fields)
    docs = any_client.get("/docs")
    assert docs.status_code == 200 and "://" not in docs.text  # offline: no CDN
    for static in ("/swagger/swagger-ui-bundle.js", "/swagger/swagger-ui.css"):
        assert any_client.get(static).status_code == 200, static


def test_page_and_its_files_are_served_without_external_urls(any_client) -> None:
    page = any_client.get("/")
    assert page.status_code == 200 and 'id="verdict"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        reply = any_client.get(f"/static/{name}")
        assert reply.status_code == 200 and kind in reply.headers["content-type"]
        assert "://" not in reply.text, name  # no CDN, no remote resource: the page works offline
    assert "://" not in page.text


# --- API keys ------------------------------------------------------------------------------------

def test_api_keys(any_engine, tmp_path, caplog) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# service keys\nalpha-key-123\n\n  beta-key-456  \n")
    keys = load_api_keys(key_file)
    assert keys == ("alpha-key-123", "beta-key-456")
    config = replace(any_engine.config, api_keys=keys)
    flat = encode(Image.new("RGB", (64, 64), (128, 128, 128)), "PNG")
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(config, engine_for(any_engine, config))) as http:
        assert http.get("/v1/health").json()["auth_required"] is True
        for headers in ({}, {"X-API-Key": "alpha-key-12"}, {"X-API-Key": "alpha-key-1234"},
                        {"Authorization": "Bearer nope"}, {"Authorization": "alpha-key-123"}):
            reply = http.post("/v1/predict", files=upload(flat), headers=headers)
            assert reply.status_code == 401, headers
            assert reply.headers["www-authenticate"] == "Bearer"
            assert "API key" in reply.json()["error"]
        assert http.get("/v1/model").status_code == 401
        # a good key gets past the check: the flat image then has no face (422)
        for headers in ({"X-API-Key": "alpha-key-123"}, {"Authorization": "Bearer beta-key-456"}):
            assert http.post("/v1/predict", files=upload(flat), headers=headers
                             ).status_code == 422
        assert http.get("/v1/model", headers={"x-api-key": "beta-key-456"}).status_code == 200
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "alpha-key" not in logged and "beta-key" not in logged


def test_api_key_file_errors(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(XfasError, match="no API key"):
        load_api_keys(empty)
    with pytest.raises(XfasError, match="cannot read"):
        load_api_keys(tmp_path / "missing.txt")


# --- nothing on disk unless asked ----------------------------------------------------------------

def test_uploads_are_not_written_to_disk_unless_kept(any_engine, tmp_path, monkeypatch) -> None:
    work, spool, kept = tmp_path / "cwd", tmp_path / "spool", tmp_path / "kept"
    work.mkdir(), spool.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where a spooled upload would go
    noise = np.random.default_rng(2).integers(0, 256, (900, 900, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "PNG")  # ~2.4 MB: Starlette would spool it to disk
    assert len(data) > 2_000_000
    with TestClient(create_app(any_engine.config, any_engine)) as http:
        for path in ("/v1/predict", "/v1/explain"):
            assert http.post(path, files=upload(data)).status_code in (200, 422)
    assert list(work.iterdir()) == [] and list(spool.iterdir()) == []

    config = replace(any_engine.config, keep_uploads=kept)
    with TestClient(create_app(config, engine_for(any_engine, config))) as http:
        http.post("/v1/predict", files=upload(data))
        http.post("/v1/predict", files=upload(b"not an image"))  # refused before it is kept
    files = list(kept.iterdir())
    assert len(files) == 1 and files[0].suffix == ".png" and files[0].read_bytes() == data
    assert list(work.iterdir()) == [] and list(spool.iterdir()) == []


# --- files that do not load ----------------------------------------------------------------------

def test_tampered_checkpoint_is_refused_at_start(tmp_path) -> None:
    torch.manual_seed(0)
    path = save_model(build_model("cnn"), tmp_path / "cnn.safetensors")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # a weight byte (the tensors are at the end of the file)
    path.write_bytes(bytes(data))
    with pytest.raises(XfasError, match="digest"):
        create_app(ServiceConfig(model=str(path)))
    from xfas.cli import main
    assert main(["serve", "--model", str(path), "--port", str(free_port())]) == 2


def test_engine_config_must_match(any_engine) -> None:
    with pytest.raises(XfasError, match="another configuration"):
        create_app(replace(any_engine.config, threshold=0.7), any_engine)


# --- the batcher on its own -----------------------------------------------------------------------

def test_batcher_groups_items_and_keeps_errors_per_item() -> None:
    sizes: list[int] = []

    def run(items: list[int]) -> list:
        sizes.append(len(items))
        time.sleep(0.01)
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    async def main() -> list:
        batcher = Batcher(run, pool, max_batch=4, window_s=0.05)
        results = await asyncio.gather(*[batcher.submit(i) for i in range(10)],
                                       return_exceptions=True)
        batcher.close()
        return results

    with ThreadPoolExecutor(1) as pool:
        results = asyncio.run(main())
    assert sum(sizes) == 10 and max(sizes) <= 4 and len(sizes) == 3  # 4 + 4 + 2
    for i, result in enumerate(results):
        if i % 2:
            assert isinstance(result, ValueError) and str(result) == f"odd {i}"
        else:
            assert result == i * 10


# --- SPED concepts --------------------------------------------------------------------------------

def spoof_crops(model, count: int = 12) -> torch.Tensor:
    """Preprocessed crops of the two attack samples, with flips and small shifts."""
    crops = []
    for name in ("image_F1.jpg", "image_F2.jpg"):
        image = load_image(sample_bytes(name))
        box = TABLE[name][0]
        for dx, dy, flip in ((0, 0, False), (12, 0, False), (-12, 8, False), (0, -10, True),
                             (8, 8, True), (-8, -8, True)):
            shifted = (box[0] + dx, box[1] + dy, box[2], box[3])
            picture = image[:, ::-1].copy() if flip else image
            if flip:
                shifted = (picture.shape[1] - shifted[0] - shifted[2], *shifted[1:])
            crops.append(model.preprocess(picture, shifted)[0])
    return torch.stack(crops[:count])


@pytest.fixture(scope="module")
def bank_path(real_engine, tmp_path_factory) -> Path:
    model = real_engine.explain_model
    sped = SPED(model, n_concepts=3, seed=0, n_designs=8, batch_size=32, progress=False)
    sped.fit(spoof_crops(model))
    sped.set_names({0: "first evidence", 1: "second evidence", 2: "third evidence"})
    return sped.save(tmp_path_factory.mktemp("bank") / "bank.safetensors")


@pytest.fixture(scope="module")
def concept_client(real_engine, bank_path):
    config = ServiceConfig(assets=ASSETS, concepts=bank_path)
    sped = SPED.load(bank_path, real_engine.explain_model)
    with TestClient(create_app(config, engine_for(real_engine, config, sped))) as http:
        yield http, sped


def test_explain_lists_activated_concepts_with_their_maps(concept_client) -> None:
    http, sped = concept_client
    reply = http.post("/v1/explain", files=upload(sample_bytes("image_F2.jpg"), "f2.jpg",
                                                  "image/jpeg"))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["verdict"] == "spoof" and body["concepts"], body["sentence"]
    importances = np.asarray(sped.importances_)
    order = [c["importance"] for c in body["concepts"]]
    assert order == sorted(order, reverse=True)
    for concept in body["concepts"]:
        assert concept["name"] == sped.names[concept["index"]]
        assert_close(concept["importance"], importances[concept["index"]])
        assert concept["name"] in body["sentence"]
        assert concept["effect"] > 0  # evidence pushes the image towards spoof
        rgba = decode_png(concept["heatmap_png"])
        assert rgba.shape == (640, 480, 4)
        box = concept["box"]
        assert np.all(np.abs(np.subtract(box, alpha_box(rgba[..., 3], 0.0))) <= 2), box
        assert 0 <= box[0] and box[0] + box[2] <= 480 and box[1] + box[3] <= 640
    for concept in body["against"]:  # activated, pushing towards live: never evidence
        assert concept["effect"] <= 0 and concept["name"] not in body["sentence"]
    assert body["sentence"].startswith(f"spoof ({body['spoof_score']:.2f})")


def test_concepts_are_not_computed_for_live_faces(concept_client) -> None:
    http, _ = concept_client
    body = http.post("/v1/explain", files=upload(sample_bytes("image_T1.jpg"), "t1.jpg",
                                                 "image/jpeg")).json()
    assert body["verdict"] == "live" and body["concepts"] == []


def test_model_lists_the_concept_bank(concept_client, bank_path) -> None:
    http, sped = concept_client
    bank = http.get("/v1/model").json()["concepts"]
    assert bank["bank"] == bank_path.name and bank["names"] == list(sped.names)
    assert http.get("/v1/health").json()["concepts"] is True


def test_tampered_concept_bank_is_refused(real_engine, bank_path, tmp_path) -> None:
    data = bytearray(bank_path.read_bytes())
    data[-3] ^= 0xFF
    tampered = tmp_path / "tampered.safetensors"
    tampered.write_bytes(bytes(data))
    with pytest.raises(XfasError):
        create_app(ServiceConfig(assets=ASSETS, concepts=tampered))
    with pytest.raises(XfasError, match="not found"):
        create_app(ServiceConfig(assets=ASSETS, concepts=tmp_path / "missing.safetensors"))


# --- load -----------------------------------------------------------------------------------------

def rss_mb() -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return next(int(line.split()[1]) / 1024 for line in text.splitlines()
                if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_sixteen_concurrent_clients_all_get_the_right_verdicts(real_engine) -> None:
    """Sixteen clients at once, each sending every sample in its own order: every request is
    answered 200 with its image's verdict, the server still answers afterwards, and its memory
    stays bounded. How fast it answers is a benchmark (benchmarks/load_service.py), not a
    test."""
    config = ServiceConfig(assets=ASSETS, port=free_port())
    app = create_app(config, engine_for(real_engine, config))
    payloads = [(n, sample_bytes(n)) for n in sorted(TABLE)]

    def client(index: int) -> list[tuple[str, str]]:
        """(sample, what went wrong) for each request that failed; empty when all were right."""
        wrong = []
        with httpx.Client(base_url=url, timeout=120.0) as http:
            for step in range(len(payloads)):
                name, data = payloads[(index + step) % len(payloads)]
                try:
                    reply = http.post("/v1/predict", files=upload(data, name, "image/jpeg"))
                except httpx.HTTPError as error:
                    wrong.append((name, repr(error)))
                    continue
                if reply.status_code != 200 or reply.json()["verdict"] != TABLE[name][1]:
                    wrong.append((name, f"{reply.status_code}: {reply.text[:200]}"))
        return wrong

    with background_server(app, config) as url:
        before = rss_mb()
        with ThreadPoolExecutor(16) as pool:
            failures = [failure for wrong in pool.map(client, range(16)) for failure in wrong]
        assert httpx.get(f"{url}/v1/health").status_code == 200
        after = rss_mb()
    assert not failures, failures[:3]
    if before is not None and after is not None:
        assert after - before < 500, (before, after)
