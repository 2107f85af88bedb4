"""Draw docs/images/report.png: the top of a benchmark run's HTML report (Table I and its notes).

    python docs/screenshot_report.py runs/demo/benchmark

Renders the run's report again (`xfas benchmark report`) and photographs its first screen in
Debian's Chromium (/usr/bin/chromium) with Playwright.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright
from screenshot_service import ARGS, CHROMIUM, ROOT  # the same browser, run the same way

from xfas.benchmark import render_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "report.png")
    args = parser.parse_args()
    report = render_report(args.run)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(report.resolve().as_uri())
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
