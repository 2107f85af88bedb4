"""The annotation page (``xfas annotate``): its HTTP API through the ASGI app (the data set,
saving and loading polygons, bad requests as 4xx with a message, names that are not images
of the data set), the model's view with the real MiniFASNets, and end to end in headless
Chromium: a polygon drawn with the mouse and saved is a mask file with the expected pixels;
dragging its points and saving again moves them; the page resumes at the first image not
yet annotated. The screenshot goes to docs/images/annotate.png when XFAS_UPDATE_DOCS=1."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the page is part of the service extra (xfas[serve])")
from fastapi.testclient import TestClient  # noqa: E402

from xfas.data.benchmark_layout import BenchmarkLayout, read_mask  # noqa: E402
from xfas.serve import ServiceConfig  # noqa: E402
from xfas.serve.annotate import create_annotation_app  # noqa: E402
from xfas.serve.server import background_server, free_port  # noqa: E402

from helpers.annotation_files import block  # noqa: E402
from helpers.assets import ASSETS, asset  # noqa: E402
from helpers.browser import chromium  # noqa: E402

SIZE = (30, 40)
DOCS_IMAGE = Path(__file__).resolve().parents[1] / "docs" / "images" / "annotate.png"


def data_set(root: Path) -> BenchmarkLayout:
    """Two images to annotate and a manifest saying they are spoofs without evidence yet."""
    layout = BenchmarkLayout(root)
    layout.images_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("img_a", "img_b"):
        pixels = rng.integers(60, 200, (*SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(layout.images_dir / f"{name}.png")
    layout.write_manifest({"images": {name: {"label": "spoof", "attack": "print",
                                             "evidence": []} for name in ("img_a", "img_b")}})
    return layout


@pytest.fixture()
def client(tmp_path):
    data_set(tmp_path / "data")
    with TestClient(create_annotation_app(tmp_path / "data")) as test_client:
        yield test_client


def test_the_dataset_lists_images_types_and_colours(client) -> None:
    body = client.get("/api/dataset").json()
    assert [i["name"] for i in body["images"]] == ["img_a", "img_b"]
    assert [e["name"] for e in body["evidence"]] == ["clutching_hand", "cut_hole",
                                                     "ipad_border", "photo_edge"]
    assert body["evidence"][3]["colour"] == "#eb1e1e"  # photo_edge, the plots' colour table
    assert body["methods"] == []
    page = client.get("/")
    assert page.status_code == 200 and "static/annotate.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_saving_and_loading_through_the_api(client, tmp_path) -> None:
    square = [[10, 5], [20, 5], [20, 15], [10, 15]]
    reply = client.put("/api/annotations/img_a", json={"polygons": {"cut_hole": [square]}})
    assert reply.status_code == 200, reply.text
    assert reply.json()["pixels"] == {"cut_hole": 100}
    layout = BenchmarkLayout(tmp_path / "data")
    assert np.array_equal(read_mask(layout.mask_path("cut_hole", "img_a")),
                          block((5, 15), (10, 20), SIZE))
    loaded = client.get("/api/annotations/img_a").json()
    assert loaded["polygons"] == {"cut_hole": [square]} and loaded["width"] == 40
    assert json.loads(layout.manifest_path.read_text())["images"]["img_a"]["evidence"] == [
        "cut_hole"]
    assert [i["annotated"] for i in client.get("/api/dataset").json()["images"]] == [True, False]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("put", "/api/annotations/img_a", {"polygons": {"cut_hole": [[[0, 0], [9, 9], [9, 0],
                                                                   [0, 9]]]}},
     400, "image 'img_a', cut_hole polygon 1: self-intersecting polygon"),
    ("put", "/api/annotations/img_a", {"polygons": {"cut_hole": "square"}}, 400,
     "bad request parameters"),
    ("get", "/api/annotations/..%2Fmanifest.json", None, 404, "Not Found"),
    ("get", "/api/images/manifest", None, 400, "image 'manifest': not in"),
    ("get", "/api/images/nope", None, 400, "image 'nope': not in"),
    ("get", "/api/explain/img_a", None, 400, "no model: start xfas annotate with --model"),
])
def test_bad_requests_get_a_message(client, method, path, body, status, message) -> None:
    reply = client.request(method.upper(), path, json=body)
    assert reply.status_code == status
    assert reply.json()["error"].startswith(message), reply.json()


@pytest.mark.slow
def test_the_models_view_with_the_real_minifasnets(tmp_path) -> None:
    from xfas.serve.engine import Engine

    sample = asset("images/image_F2.jpg")
    asset("models/2.7_80x80_MiniFASNetV2.pth")
    layout = data_set(tmp_path / "data")
    shutil.copyfile(sample, layout.images_dir / "image_F2.jpg")
    engine = Engine.from_config(ServiceConfig(model="minifasnet-v2", assets=ASSETS))
    try:
        with TestClient(create_annotation_app(tmp_path / "data", engine)) as test_client:
            assert test_client.get("/api/dataset").json()["methods"] == ["gradcam"]
            body = test_client.get("/api/explain/image_F2?method=gradcam").json()
            assert body["verdict"] == "spoof" and body["sentence"].startswith("spoof (")
            heat = Image.open(io.BytesIO(base64.b64decode(body["maps"]["gradcam"]["heatmap_png"])))
            assert list(heat.size) == body["heatmap_size"] == [480, 640]
            assert np.asarray(heat)[..., 3].max() > 0
            reply = test_client.get("/api/explain/image_F2?method=concepts")
            assert reply.status_code == 400 and "no concept bank" in reply.json()["error"]
    finally:
        engine.close()


# --- in the browser -------------------------------------------------------------------------------

def click_at(page, box: dict, points: list[tuple[float, float]]) -> None:
    """Click at image coordinates on the canvas whose bounding box is ``box``."""
    scale = box["width"] / SIZE[1]
    for x, y in points:
        page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)


@pytest.mark.slow
def test_a_polygon_drawn_with_the_mouse_is_saved_as_the_mask(tmp_path) -> None:
    layout = data_set(tmp_path / "data")
    config = ServiceConfig(port=free_port())
    with chromium() as browser, \
            background_server(create_annotation_app(tmp_path / "data"), config) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{url}/")
        page.wait_for_selector("#image-list li.current")
        assert page.inner_text("#image-name") == "img_a"
        assert page.inner_text("#progress") == "0 of 2 images annotated"
        page.check('input[name="evidence"][value="photo_edge"]')
        box = page.locator("#canvas").bounding_box()
        assert box["width"] >= 4 * SIZE[1]  # a small image is drawn enlarged
        # four corners, then a click on the first corner closes the polygon
        click_at(page, box, [(10, 8), (30, 8), (30, 20), (10, 20), (10, 8)])
        page.click("#save")
        page.wait_for_selector("#status[data-saved='img_a']")
        mask_path = layout.mask_path("photo_edge", "img_a")
        assert np.array_equal(read_mask(mask_path), block((8, 20), (10, 30), SIZE))
        assert page.inner_text("#status") == "Saved img_a: photo_edge 240 px."

        # edit: drag the right-hand corners four pixels to the right, save again
        page.check('input[name="mode"][value="edit"]')
        box = page.locator("#canvas").bounding_box()
        scale = box["width"] / SIZE[1]
        for y in (8, 20):
            page.mouse.move(box["x"] + 30 * scale, box["y"] + y * scale)
            page.mouse.down()
            page.mouse.move(box["x"] + 34 * scale, box["y"] + y * scale, steps=4)
            page.mouse.up()
        page.click("#save")
        page.wait_for_selector("#status[data-saved='img_a']")
        assert np.array_equal(read_mask(mask_path), block((8, 20), (10, 34), SIZE))
        manifest = json.loads(layout.manifest_path.read_text())["images"]
        assert manifest["img_a"] == {"label": "spoof", "attack": "print",
                                     "evidence": ["photo_edge"]}

        # a new visit resumes at the first image not yet annotated
        page.goto(f"{url}/")
        page.wait_for_selector("#image-list li.current")
        assert page.inner_text("#image-name") == "img_b"
        assert page.inner_text("#progress") == "1 of 2 images annotated"
        page.click("#image-list li[data-name='img_a']")
        page.wait_for_selector("#image-list li.current[data-name='img_a']")
        assert page.evaluate("state.polygons.photo_edge.length") == 1
        assert not errors, errors
        page.close()


@pytest.mark.slow
def test_the_models_view_beside_the_image_in_the_browser(tmp_path) -> None:
    """A print attack of the Silent-Face samples: the photo's top edge drawn as a band, the
    model's Grad-CAM shown beside it on request."""
    from xfas.serve.engine import Engine

    sample = asset("images/image_F1.jpg")
    asset("models/2.7_80x80_MiniFASNetV2.pth")
    layout = BenchmarkLayout(tmp_path / "data")
    layout.images_dir.mkdir(parents=True)
    shutil.copyfile(sample, layout.images_dir / "image_F1.jpg")
    config = ServiceConfig(model="minifasnet-v2", assets=ASSETS, port=free_port())
    engine = Engine.from_config(config)
    band = [(0, 56), (479, 33), (479, 45), (0, 68)]  # the paper's top edge (x, y)
    try:
        with chromium() as browser, \
                background_server(create_annotation_app(tmp_path / "data", engine),
                                  config) as url:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{url}/")
            page.wait_for_selector("#image-list li.current[data-name='image_F1']")
            page.check('input[name="evidence"][value="photo_edge"]')
            box = page.locator("#canvas").bounding_box()
            scale = box["width"] / 480
            for x, y in [*band, band[0]]:
                page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
            page.click("#save")
            page.wait_for_selector("#status[data-saved='image_F1']")
            page.click("#explain")
            page.wait_for_selector("#model-view:not([hidden])", timeout=60_000)
            assert page.inner_text("#model-sentence").startswith("spoof (")
            assert page.evaluate("[document.querySelector('#model-view').width, "
                                 "document.querySelector('#model-view').height]") == [480, 640]
            if os.environ.get("XFAS_UPDATE_DOCS") == "1":
                page.screenshot(path=str(DOCS_IMAGE), full_page=True)
            page.close()
    finally:
        engine.close()
    mask = read_mask(layout.mask_path("photo_edge", "image_F1"))
    rows, cols = np.nonzero(mask)
    assert mask.shape == (640, 480) and cols.min() == 0 and cols.max() == 478
    assert rows.min() >= 32 and rows.max() <= 68 and 10 * 480 < mask.sum() < 14 * 480
