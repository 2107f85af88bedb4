"""Draw docs/images/service.png: the web page of `xfas serve --model minifasnet --concepts BANK`
after a real attack photo (Silent-Face's tablet replay, image_F2.jpg) was dropped on it.

    python docs/screenshot_service.py --concepts runs/demo/minifasnet/concepts.safetensors

BANK is MiniFASNetV2's named concept bank, which `make demo` writes. Needs the service extra,
Debian's Chromium (/usr/bin/chromium) and the Silent-Face assets ($XFAS_ASSETS).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from xfas.assets import find_asset
from xfas.serve import ServiceConfig, create_app
from xfas.serve.server import background_server, free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=Path, required=True)
    parser.add_argument("--image", default="images/image_F2.jpg")
    parser.add_argument("--assets", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "service.png")
    args = parser.parse_args()
    image = find_asset(args.image, root=args.assets)
    config = ServiceConfig(assets=args.assets, concepts=args.concepts, port=free_port())
    with background_server(create_app(config), config) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"{url}/")
        page.set_input_files("#file", str(image))
        page.wait_for_selector("#verdict[data-verdict]", timeout=120_000)
        print(page.inner_text("#sentence"))
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
