"""The tearsheet in a real browser: headless Chromium driven by Playwright, network refused.

Playwright's own browser download is not possible here, so it drives the system Chromium
(Debian package ``chromium``; path from ``EVBT_CHROMIUM``, else ``/usr/bin/chromium`` or
``chromium`` on PATH). Skipped, with the reason, where either is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evbt.report import write_report
from evbt.report.sections import CHROMIUM_ARGS, find_chromium

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (apt-get install chromium, or set EVBT_CHROMIUM to its path)",
)


def open_in_browser(html: Path, png: Path) -> dict:
    """Load ``html`` from file://, refuse every other request, wait for the charts, screenshot.

    Returns what was seen: refused requests, console errors, page errors, and per Plotly div
    whether it was drawn (has its SVG, or a canvas for WebGL traces).
    """
    url = html.resolve().as_uri()
    seen: dict = {"refused": [], "console_errors": [], "page_errors": []}

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            seen["refused"].append(r.request.url)
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console: list[str] = []
            seen["console_errors"] = console
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
            page.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(d => d._fullLayout !== undefined)",
                timeout=0,
            )
            seen["charts"] = page.evaluate(
                """Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => ({
                    id: d.id,
                    svg: d.querySelectorAll('svg.main-svg').length,
                    canvas: d.querySelectorAll('canvas').length,
                    traces: (d.data || []).length,
                    height: d.getBoundingClientRect().height,
                }))"""
            )
            seen["sections"] = page.evaluate(
                "Array.from(document.querySelectorAll('section')).map(s => s.id)"
            )
            page.screenshot(path=str(png), full_page=True)
            seen["console_errors"] = list(seen["console_errors"])  # the report's own, frozen
            # The guard itself works: a request from the page is seen and refused (evaluate
            # waits for the fetch promise, so the route has run when it returns).
            seen["probe"] = page.evaluate(
                "fetch('https://example.com/probe').then(() => 'loaded', () => 'refused')"
            )
        finally:
            browser.close()
    return seen


def _check(seen: dict, n_divs: int) -> None:
    probe = "https://example.com/probe"
    assert seen["probe"] == "refused" and probe in seen["refused"], "the request guard failed"
    others = [u for u in seen["refused"] if u != probe]
    assert others == [], f"the report tried to load: {others[:5]}"
    assert seen["page_errors"] == [], seen["page_errors"]
    assert seen["console_errors"] == [], seen["console_errors"]
    assert len(seen["charts"]) == n_divs > 0
    for c in seen["charts"]:
        assert c["traces"] > 0 and (c["svg"] > 0 or c["canvas"] > 0), c
        assert c["height"] > 100, c


def test_backtest_report_in_chromium(tmp_path):
    from test_report import sample_backtest

    folder = sample_backtest(tmp_path / "results", extras=True)
    html = write_report(folder)
    png = tmp_path / "report.png"
    seen = open_in_browser(html, png)
    print(f"screenshot: {png}")
    _check(seen, html.read_text(encoding="utf-8").count('class="plotly-graph-div"'))
    assert seen["sections"][:2] == ["summary", "equity"]
    assert png.stat().st_size > 50_000


def test_sweep_report_in_chromium(tmp_path):
    from test_report import make_sweep_folder

    html = write_report(make_sweep_folder(tmp_path / "sweep-run"))
    png = tmp_path / "sweep.png"
    seen = open_in_browser(html, png)
    print(f"screenshot: {png}")
    _check(seen, html.read_text(encoding="utf-8").count('class="plotly-graph-div"'))
    assert "sweep" in seen["sections"]
