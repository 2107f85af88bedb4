"""The web page in a real browser: headless Chromium (Debian's package, driven by Playwright
with the system executable; never `playwright install`) loads the page from a real uvicorn
server, uploads a real sample through the file input, and reads the verdict, the concept
names and the sentence off the page; toggling a concept changes the picture. The screenshot
goes to docs/images/service.png when XFAS_UPDATE_DOCS=1."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("fastapi", reason="the service is an optional extra (pip install xfas[serve])")

from xfas.data.image_io import load_image  # noqa: E402
from xfas.serve import ServiceConfig, create_app  # noqa: E402
from xfas.serve.server import background_server, free_port  # noqa: E402

from helpers.assets import ASSETS, asset  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DOCS_IMAGE = Path(__file__).resolve().parents[1] / "docs" / "images" / "service.png"
F2_BOX = (120, 252, 252, 256)  # Silent-Face's face box on image_F2.jpg (assets README)

pytestmark = pytest.mark.slow


def spoof_crops(model) -> torch.Tensor:
    """Preprocessed crops of the attack samples around their face boxes, shifted a little."""
    crops = []
    for name, box in (("image_F1.jpg", (178, 136, 223, 225)), ("image_F2.jpg", F2_BOX)):
        image = load_image(asset(f"images/{name}"))
        for dx, dy in ((0, 0), (12, 0), (-12, 8), (0, -10), (8, 8), (-8, -8)):
            crops.append(model.preprocess(image, (box[0] + dx, box[1] + dy, *box[2:]))[0])
    return torch.stack(crops)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A real uvicorn server with the fused MiniFASNets and a small concept bank."""
    for name in ("images/image_F1.jpg", "images/image_F2.jpg", "images/image_T1.jpg",
                 "models/2.7_80x80_MiniFASNetV2.pth", "models/4_0_0_80x80_MiniFASNetV1SE.pth"):
        asset(name)
    from xfas.models import load_model
    from xfas.sped import SPED

    model = load_model("minifasnet-v2", assets=ASSETS)
    sped = SPED(model, n_concepts=3, seed=0, n_designs=8, batch_size=32, progress=False)
    bank = sped.fit(spoof_crops(model)).save(tmp_path_factory.mktemp("bank") / "bank.safetensors")
    config = ServiceConfig(assets=ASSETS, concepts=bank, port=free_port())
    with background_server(create_app(config), config) as url:
        yield url


def canvas_png(page) -> bytes:
    data_url = page.evaluate("document.querySelector('#view').toDataURL('image/png')")
    return base64.b64decode(data_url.split(",", 1)[1])


def test_upload_shows_verdict_concepts_and_sentence(browser, service, tmp_path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{service}/")
    assert page.inner_text("#model-line") == "Model minifasnet, with a SPED concept bank"
    page.set_input_files("#file", str(asset("images/image_F2.jpg")))
    page.wait_for_selector("#verdict[data-verdict]", timeout=60_000)
    assert page.inner_text("#verdict").strip().lower() == "spoof"
    names = [name.strip() for name in page.locator(".concept-name").all_inner_texts()]
    assert names, page.inner_text("#sentence")
    assert set(names) <= {"concept 1", "concept 2", "concept 3"}  # the bank's default names
    sentence = page.inner_text("#sentence")
    assert sentence.startswith("spoof (") and all(name in sentence for name in names)
    # the canvas shows the upright image at its own size
    assert page.evaluate("[document.querySelector('#view').width, "
                         "document.querySelector('#view').height]") == [480, 640]
    screenshot = tmp_path / "service.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("XFAS_UPDATE_DOCS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, DOCS_IMAGE)
    # switching a concept's layer off changes the picture, switching it on restores it
    shown = canvas_png(page)
    page.locator(".concept-toggle").first.uncheck()
    hidden = canvas_png(page)
    page.locator(".concept-toggle").first.check()
    assert hidden != shown and canvas_png(page) == shown
    assert not errors, errors
    page.close()


def test_live_face_and_bad_file(browser, service, tmp_path) -> None:
    page = browser.new_page()
    page.goto(f"{service}/")
    page.set_input_files("#file", str(asset("images/image_T1.jpg")))
    page.wait_for_selector("#verdict[data-verdict]", timeout=60_000)
    assert page.inner_text("#verdict").strip().lower() == "live"
    assert page.locator(".concept-name").count() == 0
    assert page.inner_text("#sentence").startswith("live (")

    fake = tmp_path / "notes.jpg"
    fake.write_text("not a picture")
    page.set_input_files("#file", str(fake))
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "not a JPEG, PNG or WebP image" in page.inner_text("#error")
    page.close()
