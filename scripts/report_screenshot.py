"""Screenshot the tearsheet of the sample backtest to docs/report.png (1440 px wide) and
docs/report_phone.png (390 px).

Runs examples/launch_shock.toml (bundled SYNTHETIC data) into a temporary results root,
writes its report, opens it in headless Chromium (Playwright driving /usr/bin/chromium,
every network request refused) and saves a full-page screenshot.

    python scripts/report_screenshot.py [--out docs/report.png] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sample_run(root: Path) -> Path:
    """The sample backtest's run folder under ``root``."""
    from evbt.api import run
    from evbt.store import write_result
    from evbt.strategies.config import load_config

    result = run(load_config(ROOT / "examples" / "launch_shock.toml"))
    return Path(write_result(result, root))


def screenshot(
    html: Path, png: Path, *, chromium: str, width: int = 1440, height: int = 900
) -> list[str]:
    """Full-page PNG of ``html``; returns the URLs of any request that left the results root
    (all refused; the root's shared plotly.js is allowed)."""
    from playwright.sync_api import sync_playwright

    from evbt.report import CHROMIUM_ARGS

    root = html.resolve().parents[1]
    refused: list[str] = []

    def route(r):
        u = r.request.url
        if u.startswith("file://") and Path(u[7:]).resolve().is_relative_to(root):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", route)
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.documentElement.getAttribute('data-charts')")
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    return refused


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "report.png"))
    ap.add_argument(
        "--phone", default=str(ROOT / "docs" / "report_phone.png"), help="the page at 390x844"
    )
    ap.add_argument("--chromium", default=None, help="default: EVBT_CHROMIUM or /usr/bin/chromium")
    args = ap.parse_args(argv)
    from evbt.report import find_chromium, write_report

    chromium = args.chromium or find_chromium()
    if chromium is None:
        print("no Chromium found: apt-get install chromium, or set EVBT_CHROMIUM", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="evbt-report-") as tmp:
        folder = sample_run(Path(tmp))
        html = write_report(folder)
        refused = screenshot(html, Path(args.out), chromium=chromium)
        refused += screenshot(html, Path(args.phone), chromium=chromium, width=390, height=844)
    if refused:
        print(f"the report tried {len(refused)} network request(s): {refused[:3]}", file=sys.stderr)
        return 1
    print(args.out)
    print(args.phone)
    return 0


if __name__ == "__main__":
    sys.exit(main())
