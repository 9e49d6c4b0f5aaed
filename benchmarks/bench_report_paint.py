"""How fast a tearsheet shows something, in headless Chromium (issue 16).

Opens report files from ``file://`` (every other request refused) in Debian's Chromium,
driven by Playwright, at 1440x900, and measures per load:

- first contentful paint (``performance.getEntriesByType('paint')``): when the banners,
  headline cards and tables first show;
- all charts drawn: when every ``.plotly-graph-div`` has its SVG (polled each animation frame).

Each file is loaded ``--repeat`` times in a fresh page (new context, so nothing is cached)
and the medians are printed with the file's size. By default it writes the quick start's
report (examples/launch_shock.toml on the bundled sample) into a temporary results root, in
both forms: the store's (plotly.js loaded from ``<root>/.assets``) and ``--standalone``
(plotly.js inline). Other files given on the command line are measured too (e.g. a report
written by an older version, for a before/after).

    python benchmarks/bench_report_paint.py [--repeat 5] [extra.html ...]

Measured, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_DRAWN = (
    "Array.from(document.querySelectorAll('.plotly-graph-div'))"
    ".every(d => d.querySelector('.main-svg'))"
)


def measure(page, html: Path) -> tuple[float, float]:
    """(first contentful paint, all charts drawn) in ms since navigation start."""
    url = html.resolve().as_uri()
    page.goto(url, wait_until="commit")
    page.wait_for_function(_DRAWN, polling="raf", timeout=0)
    drawn = page.evaluate("performance.now()")
    page.wait_for_load_state("load")
    fcp = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    return float(fcp if fcp is not None else float("nan")), float(drawn)


def _guard(allowed: Path):
    """A route handler: files under ``allowed`` load, every other request is refused."""

    def route(r) -> None:
        u = r.request.url
        if u.startswith("file://") and Path(u[7:]).resolve().is_relative_to(allowed):
            r.continue_()
        else:
            r.abort()

    return route


def bench(files: list[Path], repeat: int, chromium: str) -> list[tuple[Path, int, float, float]]:
    from playwright.sync_api import sync_playwright

    from evbt.report import CHROMIUM_ARGS

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for f in files:
                base = f.resolve().parent
                fcps, drawns = [], []
                for _ in range(repeat):
                    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                    page = ctx.new_page()

                    page.route("**/*", _guard(base.parent))
                    fcp, drawn = measure(page, f)
                    fcps.append(fcp)
                    drawns.append(drawn)
                    ctx.close()
                out.append(
                    (f, f.stat().st_size, statistics.median(fcps), statistics.median(drawns))
                )
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-sample", action="store_true", help="only the files given")
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args(argv)
    from evbt.report import find_chromium

    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: apt-get install chromium, or set EVBT_CHROMIUM", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="evbt-paint-") as tmp:
        files = list(args.files)
        if not args.no_sample:
            from evbt.api import run
            from evbt.report import write_report
            from evbt.store import write_result
            from evbt.strategies.config import load_config

            result = run(load_config(ROOT / "examples" / "launch_shock.toml"))
            folder = Path(write_result(result, Path(tmp) / "results"))
            files.append(write_report(folder))
            files.append(write_report(folder, Path(tmp) / "standalone.html", standalone=True))
        rows = bench(files, args.repeat, chromium)
    print(f"median of {args.repeat} loads, headless Chromium 1440x900, file://")
    print(f"{'report':<44} {'bytes':>11} {'first paint':>12} {'all charts':>11}")
    for f, size, fcp, drawn in rows:
        name = f.name if len(str(f)) > 44 else str(f)
        print(f"{name:<44} {size:>11,} {fcp:>9,.0f} ms {drawn:>8,.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
