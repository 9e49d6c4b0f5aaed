"""Every kind of report in a real browser: headless Chromium driven by Playwright.

Playwright's own browser download is not possible here, so it drives the system Chromium
(Debian package ``chromium``; path from ``EVBT_CHROMIUM``, else ``/usr/bin/chromium`` or
``chromium`` on PATH). Skipped, with the reason, where either is missing.

One results root holds a backtest, a ruined backtest with lookahead allowed, a sweep with
"none" in its grid, an event study, a pre-earnings run, a comparison and the index; each page
is opened at 1440x900 and at 390x844 (a phone) in one browser for the module. Checked: no
request leaves the results root (plotly.js is its shared file), no console or page error,
every figure drawn, the page no wider than the screen, the heatmaps' cells, the banners.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.report import CHROMIUM_ARGS, find_chromium, write_report

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (apt-get install chromium, or set EVBT_CHROMIUM to its path)",
)
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
KINDS = ["backtest", "ruined", "sweep", "study", "pre", "compare", "index"]
SWEEP_COMBOS = 3 * 3 * 3 * 2  # entry_offset x hold x stop_loss {none, 5%, 10%} x direction


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    from test_report import make_sweep_folder, sample_backtest

    from evbt.report import write_compare, write_index

    root = tmp_path_factory.mktemp("results")
    bt = sample_backtest(root, extras=True)
    out = {"backtest": write_report(bt)}
    # a ruined run with lookahead allowed: the same folder, equity below zero at the end
    ruined = shutil.copytree(bt, root / "bt-ruined-0123456789ab")
    man = json.loads((ruined / "manifest.json").read_text())
    man |= {"run_id": ruined.name, "ruined": True, "lookahead": True}
    man["signals"]["n_lookahead_signals"] = 1
    (ruined / "manifest.json").write_text(json.dumps(man))
    eq = pd.read_parquet(ruined / "equity.parquet")
    eq.loc[eq.index[-30:], ["NVDA", "total"]] = -8231.0
    eq.to_parquet(ruined / "equity.parquet", index=False)
    out["ruined"] = write_report(ruined)
    sweep = make_sweep_folder(
        root / "sweep-launch_shock-0123456789ab",
        stops=(None, 0.05, 0.1),
        directions=("long", "short"),
    )
    out["sweep"] = write_report(sweep)
    study = root / "study-launch_shock-0123456789ab"
    study.mkdir()
    for name in ("event_study", "study_summary"):
        shutil.copy(bt / f"{name}.parquet", study)
    (study / "manifest.json").write_text(
        json.dumps(
            {
                **json.loads((bt / "manifest.json").read_text()),
                "kind": "study",
                "run_id": study.name,
            }
        )
    )
    out["study"] = write_report(study)
    pre = root / "pre-nvda-0123456789ab"
    pre.mkdir()
    (pre / "manifest.json").write_text(
        json.dumps(
            {
                "kind": "pre",
                "run_id": pre.name,
                "data": {"synthetic": True},
                "config": {"ticker": "NVDA", "asof": "2025-06-01", "lookback": 10},
            }
        )  # fmt: skip
    )
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "event_id": [f"nvda-q{i}" for i in range(8)], "ticker": "NVDA",
            "report_date": pd.bdate_range("2023-01-02", periods=8, freq="63B"),
            "runup_ret": rng.normal(0, 0.05, 8), "runup_ar": rng.normal(0, 0.03, 8),
            "react0_ar": rng.normal(0, 0.05, 8), "launch_before": [True, False] * 4,
        }
    ).to_parquet(pre / "preearnings_reports.parquet", index=False)  # fmt: skip
    out["pre"] = write_report(pre)
    out["compare"] = write_compare(root, [bt.name, ruined.name])
    out["index"] = write_index(root)
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, html: Path, size: tuple[int, int]) -> dict:
    """Load ``html`` from file://, refuse every request outside its results root, wait for
    the charts; return what was seen."""
    root = html.resolve().parents[1]
    seen: dict = {"refused": [], "loaded": [], "errors": []}

    def route(r):
        u = r.request.url
        if u.startswith("file://") and Path(u[7:]).resolve().is_relative_to(root):
            seen["loaded"].append(u)
            r.continue_()
        else:
            seen["refused"].append(u)
            r.abort()

    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        page = ctx.new_page()
        page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.route("**/*", route)
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.wait_for_function(
            "document.documentElement.getAttribute('data-charts')", polling=100, timeout=0
        )
        seen |= page.evaluate(
            """() => ({
            state: document.documentElement.getAttribute('data-charts'),
            width: document.documentElement.scrollWidth,
            result_cols: Array.from(document.querySelectorAll('#events th'))
                .filter(th => ["position's return", 'P&L'].includes(th.textContent.trim()))
                .map(th => th.getBoundingClientRect().right),
            banners: Array.from(document.querySelectorAll('.banner')).map(b => b.className),
            charts: Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => ({
                svg: d.querySelectorAll('svg.main-svg').length,
                traces: (d.data || []).length,
                height: d.getBoundingClientRect().height,
                cells: (d._fullData || []).filter(t => t.type === 'heatmap').reduce((n, t) =>
                    n + Array.from(t.z).flatMap(r => Array.from(r)).filter(v =>
                        v !== null && v !== undefined && !Number.isNaN(v)).length, 0),
            })),
        })"""
        )
    finally:
        ctx.close()
    return seen


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_report_in_chromium(pages, browser, kind, size):
    width, height = SIZES[size]
    seen = open_page(browser, pages[kind], (width, height))
    assert seen["refused"] == [], f"the report tried to load: {seen['refused'][:5]}"
    assert seen["errors"] == [], seen["errors"]
    assert seen["state"] == "drawn"
    assert seen["width"] <= width, f"{kind} is {seen['width']} px wide at {width} px"
    for c in seen["charts"]:
        assert c["traces"] > 0 and c["svg"] > 0 and c["height"] > 100, c
    n_charts = len(seen["charts"])
    assert n_charts > 0 if kind != "index" else n_charts == 0
    if kind != "index":  # plotly.js: the results root's one shared file, nothing else
        assert [u for u in seen["loaded"] if ".assets" in u] and all(
            u.endswith(".html") or "/.assets/plotly-" in u for u in seen["loaded"]
        ), seen["loaded"]
    banners = {b.split()[-1] for b in seen["banners"]}
    expect = {"synthetic"} | ({"ruined", "lookahead"} if kind in ("ruined",) else set())
    if kind == "compare":
        expect |= {"ruined", "lookahead"}
    if kind == "index":
        expect = set()
    assert banners == expect
    if kind == "sweep":
        assert sum(c["cells"] for c in seen["charts"]) == SWEEP_COMBOS
    if kind in ("backtest", "ruined"):
        # finding 6: the position's return and P&L show without scrolling the table
        assert len(seen["result_cols"]) == 2
        assert max(seen["result_cols"]) <= width, seen["result_cols"]
