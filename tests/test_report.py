"""The HTML tearsheet (evbt.report): sections, banners, offline, size, sweeps, missing tables.

The backtest folder is a real one: the sample config run through the engine and written
by the store. Sweep and pre-earnings folders are built here to contracts C2 and C4.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.errors import InputError
from evbt.report import write_report
from evbt.report.sections import describe_config, report_frames

ROOT = Path(__file__).resolve().parents[1]
BACKTEST_SECTIONS = [
    "summary",
    "config",
    "equity",
    "events",
    "study",
    "windows",
    "returns",
    "skipped",
    "about",
]


# ------------------------------------------------------------------------------ helpers


def sample_backtest(root: Path, *, extras: bool) -> Path:
    """The sample backtest's folder, written by the store; ``extras`` adds report_frames."""
    from evbt.api import run
    from evbt.store import write_result
    from evbt.strategies.config import load_config

    result = run(load_config(ROOT / "examples" / "launch_shock.toml"))
    folder = Path(write_result(result, root))
    if extras:
        for name, frame in report_frames(result).items():
            if not (folder / f"{name}.parquet").exists():
                frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def make_sweep_folder(
    folder: Path,
    *,
    seed: int = 7,
    stops: tuple = (0.05, 0.1),
    directions: tuple = ("short",),
) -> Path:
    """A sweep run folder laid out as contract C2 says (parts in two files, summary, manifest).

    Grid: entry_offset {0, 1, 2} x hold {3, 5, 10} x ``stops`` x ``directions`` (by default
    18 combinations, so the report should draw one heatmap per stop_loss value). A stop of
    None is stored as NaN, as the sweep stores "none".
    """
    rng = np.random.default_rng(seed)
    grid = [
        (e, h, s, d) for d in directions for s in stops for h in (3, 5, 10) for e in (0, 1, 2)
    ]  # fmt: skip
    rows = []
    for cid, (e, h, s, d) in enumerate(grid):
        for scope in ("total", "NVDA", "AMD"):
            rows.append(
                {
                    "combo_id": cid, "entry_offset": e, "hold": h,
                    "stop_loss": np.nan if s is None else s, "direction": d,
                    "scope": scope, "total_return": rng.normal(0.05, 0.1),
                    "cagr": rng.normal(0.01, 0.02), "volatility": 0.1 + rng.random() * 0.1,
                    "sharpe": rng.normal(0.3, 0.5), "sortino": rng.normal(0.4, 0.6),
                    "max_drawdown": -rng.random() * 0.3, "calmar": rng.normal(0.2, 0.3),
                    "hit_rate": rng.random(), "profit_factor": 0.5 + rng.random() * 2,
                    "avg_trade": rng.normal(0.0, 0.01), "exposure": rng.random() * 0.1,
                    "n_trades": int(rng.integers(5, 20)), "n_skipped": int(rng.integers(0, 3)),
                    "n_obs": 2000, "skew": rng.normal(0, 0.3), "kurt": 3 + rng.random(),
                }
            )  # fmt: skip
    parts = pd.DataFrame(rows)
    (folder / "sweep" / "parts").mkdir(parents=True)
    half = len(parts) // 2
    parts.iloc[:half].to_parquet(folder / "sweep" / "parts" / "part-00000.parquet", index=False)
    parts.iloc[half:].to_parquet(folder / "sweep" / "parts" / "part-00001.parquet", index=False)
    total = parts[parts["scope"] == "total"]
    summary = total[["combo_id", "entry_offset", "hold", "stop_loss", "direction", "sharpe"]].copy()
    summary["dsr"] = rng.random(len(summary))
    summary["psr_pvalue"] = rng.random(len(summary)) * 0.2
    summary["bh_reject"] = summary["psr_pvalue"] < 0.03
    summary["by_reject"] = summary["psr_pvalue"] < 0.01
    summary.to_parquet(folder / "sweep_summary.parquet", index=False)
    manifest = {
        "run_id": "sweep-launch_shock-0123456789ab",
        "kind": "sweep",
        "config": {
            "strategy": {"name": "launch_shock", "direction": "short", "tickers": ["NVDA", "AMD"]},
            "sweep": {
                "entry_offset": [0, 1, 2],
                "hold": [3, 5, 10],
                "stop_loss": list(stops),
                **({"direction": list(directions)} if len(directions) > 1 else {}),
            },
        },
        "config_id": "abc",
        "data": {"source": "sample (SYNTHETIC)", "synthetic": True, "data_hash": "ff"},
        "lookahead": False,
        "ruined": False,
        "grid_size": len(grid),
        "parts": 2,
        "overfit": {
            "pbo": 0.4375,
            "n_trials": len(grid),
            "sr_var": 0.21,
            "walk_forward": [
                {"fold": f, "is_combo": f + 3, "is_score": 0.01 * f, "oos_score": -0.002 * f}
                for f in range(5)
            ],
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


class _Refs(HTMLParser):
    """Every src/href/action attribute, every <link> and <iframe>, and the section ids."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.sections: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        for k in ("src", "href", "action", "data", "poster", "srcset"):
            if a.get(k):
                self.refs.append((tag, k, a[k]))
        if tag == "section":
            self.sections.append(a.get("id", ""))


def parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def n_figures(text: str) -> int:
    return len(re.findall(r'class="plotly-graph-div"', text))


def figures(text: str) -> list[dict]:
    """Every figure the page draws ({"data", "layout"}), from its JSON at the end of the body."""
    m = re.search(r'<script type="application/json" id="evbt-figs"[^>]*>(.*?)</script>', text, re.S)
    return [] if m is None else [f for _, f in json.loads(m.group(1))]


def arr(v) -> np.ndarray:
    """A trace's array: a list, or Plotly's typed-array encoding ({"dtype", "bdata", "shape"})."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        if shape:
            a = a.reshape([int(x) for x in str(shape).split(",")])
        return a.astype(float)
    return np.asarray(v, dtype=float)


def traces(text: str) -> list[dict]:
    """The data traces of every figure on the page."""
    return [t for f in figures(text) for t in f["data"]]


@pytest.fixture(scope="module")
def bt_folder(tmp_path_factory) -> Path:
    return sample_backtest(tmp_path_factory.mktemp("results"), extras=False)


@pytest.fixture(scope="module")
def bt_report(bt_folder, tmp_path_factory) -> Path:
    return write_report(bt_folder, tmp_path_factory.mktemp("out") / "report.html")


# -------------------------------------------------------------------------------- tests


def test_backtest_report_has_every_section_and_the_synthetic_banner(bt_folder, bt_report):
    text = bt_report.read_text(encoding="utf-8")
    assert parse(bt_report).sections == BACKTEST_SECTIONS
    assert 'class="banner synthetic"' in text and "SYNTHETIC DATA" in text
    assert "LOOKAHEAD" not in text and "RUINED" not in text
    trades = pd.read_parquet(bt_folder / "trades.parquet")
    for event_id in trades["event_id"]:
        assert f">{event_id}<" in text  # a row of the per-event table
    skipped = pd.read_parquet(bt_folder / "skipped.parquet")
    for reason in skipped["reason"]:
        assert reason in text
    # equity, CAAR, one small-multiples figure per traded ticker, histogram, and the
    # breakdown by kind/org/tag (the store writes events.parquet with each backtest)
    assert (bt_folder / "events.parquet").exists()
    assert n_figures(text) == 4 + trades["ticker"].nunique()
    assert len(figures(text)) == n_figures(text)


def test_report_is_small_and_loads_the_roots_one_plotly(bt_folder, bt_report):
    """Finding 2: plotly.js was inline in every report (4.8 MB each, 5 GB for 1,000 runs)."""
    text = bt_report.read_text(encoding="utf-8")
    refs = parse(bt_report)
    loads = [r for r in refs.refs if not r[2].startswith("#")]
    assert loads == [], f"the report refers to outside resources: {loads[:5]}"
    assert "link" not in refs.tags and "iframe" not in refs.tags and "img" not in refs.tags
    # the shared, versioned asset of the results root, by a relative path
    from evbt.report.assets import plotly_name

    asset = bt_folder.parent / ".assets" / plotly_name()
    assert asset.is_file() and asset.stat().st_size > 3_000_000
    m = re.search(r"var SRC=(\"[^\"]*\")", text)
    assert m is not None
    assert (bt_report.parent / json.loads(m.group(1))).resolve() == asset.resolve()
    assert "Plotly.register" not in text  # no library text in the page itself


def test_first_paint_text_before_any_script_and_quick_start_under_300_kb(bt_folder):
    """Finding 2: the page's text, banners, cards and tables come before every script."""
    out = write_report(bt_folder)
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 300_000, out.stat().st_size
    first_script = text.index("<script")
    for marker in ('class="banner synthetic"', 'class="cards"', "<table", "</main>"):
        assert text.index(marker) < first_script, marker
    assert "<head>" in text and "<script" not in text[: text.index("</head>")]


def test_standalone_report_is_one_file_with_plotly_inside(tmp_path, bt_folder):
    out = write_report(bt_folder, tmp_path / "mail" / "x.html", standalone=True)
    text = out.read_text(encoding="utf-8")
    assert 'id="plotlyjs"' in text and len(text) > 3_000_000
    assert 'var SRC=""' in text
    assert not (tmp_path / "mail" / ".assets").exists()


def test_removing_or_gcing_runs_keeps_other_reports_working(tmp_path):
    """The asset is not inside a run folder: deleting one run leaves the others' charts."""
    from evbt.report.assets import plotly_name
    from evbt.store import remove_run

    root = tmp_path / "results"
    a = sample_backtest(root, extras=False)
    b = make_sweep_folder(root / "sweep-launch_shock-0123456789ab")
    ra, rb = write_report(a), write_report(b)
    remove_run(root, a.name)
    assert not ra.exists()
    src = re.search(r"var SRC=(\"[^\"]*\")", rb.read_text(encoding="utf-8"))
    assert src is not None
    assert (rb.parent / json.loads(src.group(1))).resolve().is_file()
    assert (root / ".assets" / plotly_name()).is_file()


def test_default_output_is_report_html_in_the_run_folder(tmp_path, bt_folder):
    folder = shutil.copytree(bt_folder, tmp_path / bt_folder.name)
    assert write_report(folder) == folder / "report.html"
    assert (folder / "report.html").stat().st_size > 0
    assert not list(folder.glob(".report-*")), "temporary file left behind"


def test_report_frames_fill_org_kind_benchmark_and_real_price_windows(tmp_path):
    folder = sample_backtest(tmp_path / "results", extras=True)
    text = write_report(folder).read_text(encoding="utf-8")
    events = pd.read_parquet(folder / "events.parquet")
    trades = pd.read_parquet(folder / "trades.parquet")
    assert set(trades["event_id"]) <= set(events["event_id"])
    assert "DeepSeek" in set(events["org"])
    assert ">DeepSeek<" in text and ">model_launch<" in text  # per-event org and kind
    assert "SMH buy and hold" in text
    assert "no benchmark.parquet" not in text
    assert "no prices_window.parquet" not in text  # price windows from real prices
    assert "by kind, org and tag: the folder has no event attributes" not in text
    pw = pd.read_parquet(folder / "prices_window.parquet")
    # every trade's entry and exit session is in its ticker's window
    for tr in trades.itertuples():
        dates = set(pw.loc[pw["ticker"] == tr.ticker, "date"])
        assert tr.entry_session in dates and tr.exit_session in dates


def test_a_large_run_stays_under_6_mb_with_caps_noted(tmp_path):
    """12 tickers x 13 events x 40 repeats (6,240 trades): panels and rows are capped."""
    folder = sample_backtest(tmp_path / "results", extras=True)
    trades = pd.read_parquet(folder / "trades.parquet")
    pw = pd.read_parquet(folder / "prices_window.parquet")
    tickers = [f"T{i:02d}" for i in range(12)]
    big = pd.concat(
        [
            trades.assign(ticker=t, event_id=trades["event_id"] + f"-{k}")
            for t in tickers
            for k in range(40)
        ],
        ignore_index=True,
    )
    big.to_parquet(folder / "trades.parquet", index=False)
    pd.concat([pw.assign(ticker=t) for t in tickers], ignore_index=True).to_parquet(
        folder / "prices_window.parquet", index=False
    )
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 3_000_000
    assert "later trades of T00 not drawn" in text
    assert f"of {len(big):,} rows" in text  # the per-event table says it is cut


def test_missing_optional_tables_leave_sections_out_with_a_note(tmp_path, bt_folder):
    folder = shutil.copytree(bt_folder, tmp_path / "run")
    for name in ("event_study", "study_summary", "equity", "skipped", "prices_window"):
        (folder / f"{name}.parquet").unlink()
    out = write_report(folder)
    refs = parse(out)
    # no event study and no prices_window.parquet: no price paths either
    assert refs.sections == ["summary", "config", "events", "returns", "about"]
    text = out.read_text(encoding="utf-8")
    assert "<h3>Left out</h3>" in text
    for title in (
        "Equity and drawdown",
        "Event study",
        "Price around each event",
        "Skipped signals",
    ):
        assert f"<li><b>{title}</b>" in text
    assert "AR and CAR: no event_study.parquet in the folder" in text


def test_study_page_has_its_own_header_and_per_event_views(tmp_path, bt_folder):
    """Findings 3 and 4: a study page said "no metrics.parquet" and described costs and an
    account for a study that trades nothing; it had no per-event view."""
    folder = tmp_path / "study-launch_shock-0123456789ab"
    folder.mkdir()
    for name in ("event_study", "study_summary"):
        shutil.copy(bt_folder / f"{name}.parquet", folder)
    man = json.loads((bt_folder / "manifest.json").read_text())
    man["kind"] = "study"
    man["run_id"] = folder.name
    (folder / "manifest.json").write_text(json.dumps(man))
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert parse(out).sections == ["summary", "config", "study", "cars", "paths", "about"]
    assert "<h1>Event study: launch_shock</h1>" in text
    assert "no metrics.parquet" not in text
    assert "Costs per side" not in text and "account of" not in text
    assert "Abnormal returns of NVDA around" in text
    es = pd.read_parquet(folder / "event_study.parquet")
    for eid in es["event_id"].unique():
        assert f">{eid}<" in text  # a row of the CAR per event and ticker table
    assert n_figures(text) == 2  # CAAR, price around each event


def test_identical_study_groups_are_collapsed_with_a_note():
    from evbt.report.study import collapse_groups

    summ = pd.DataFrame(
        {
            "group_type": ["all", "all", "kind", "kind", "tag", "tag"],
            "group": ["all", "all", "model_launch", "model_launch", "ascend", "ascend"],
            "car_window": ["[0,0]", "[0,+1]"] * 3,
            "n": [14, 14, 14, 14, 1, 1],
            "caar": [0.01, 0.02, 0.01, 0.02, -0.03, 0.04],
        }
    )
    kept, notes = collapse_groups(summ)
    assert list(kept["group"].unique()) == ["all", "ascend"]
    assert notes == [
        "kind model_launch: the same rows as all events (same n and CAAR in every window), "
        "shown once as all events"
    ]


def test_lookahead_and_ruined_banners_and_escaping(tmp_path, bt_folder):
    folder = shutil.copytree(bt_folder, tmp_path / "run")
    man = json.loads((folder / "manifest.json").read_text())
    man["data"]["synthetic"] = False
    man["lookahead"] = True
    man["ruined"] = True
    (folder / "manifest.json").write_text(json.dumps(man))
    sk = pd.read_parquet(folder / "skipped.parquet")
    sk.loc[0, "reason"] = '<img src="https://evil.example/x.png"> & more'
    sk.to_parquet(folder / "skipped.parquet", index=False)
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert "LOOKAHEAD ALLOWED" in text and "RUINED" in text
    assert "SYNTHETIC DATA" not in text
    assert "&lt;img src=&quot;https://evil.example/x.png&quot;&gt; &amp; more" in text
    assert [r for r in parse(out).refs if not r[2].startswith("#")] == []


def test_sweep_folder_renders_heatmaps_and_statistics(tmp_path):
    folder = make_sweep_folder(tmp_path / "sweep-run")
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert parse(out).sections == [
        "summary",
        "heatmaps",
        "overfit",
        "walkforward",
        "config",
        "about",
    ]
    # one heatmap per stop_loss value, over entry_offset x hold
    assert [t["type"] for t in traces(text)].count("heatmap") == 2
    titles = [a["text"] for f in figures(text) for a in f["layout"].get("annotations", [])]
    assert "stop loss: 5%" in titles and "stop loss: 10%" in titles
    assert "Sharpe ratio over entry offset (sessions from the reaction session) × hold" in text
    assert "(PBO): 0.44" in text  # PBO 0.4375 to two places
    summary = pd.read_parquet(folder / "sweep_summary.parquet")
    n_bh = int(summary["bh_reject"].sum())
    assert f"{n_bh:,} of {len(summary):,}" in text
    assert "Walk-forward: in-sample vs out-of-sample" in text
    assert "the manifest has no walk_forward result" not in text
    assert "no metrics.parquet" not in text and "Event study over" not in text
    assert "<li>stop loss: 5%, 10%</li>" in text  # swept values in words, not [0.05, 0.1]
    # finding 5: units on every axis (the walk-forward's was "score"), percent in the tables
    for f in figures(text):
        for ax in ("xaxis", "yaxis"):
            assert f["layout"].get(ax, {}).get("title", {}).get("text"), (f["data"][0]["type"], ax)
    wf = [f for f in figures(text) if "fold" in f["layout"]["xaxis"]["title"]["text"]]
    assert len(wf) == 1 and wf[0]["layout"]["yaxis"]["title"]["text"] == "mean trade return (%)"
    top = text.split("Top combinations by Sharpe")[1].split("</table>")[0]
    assert not re.search(r">−?0\.\d{4}<", top)  # no bare fractions like 0.4037


def test_sweep_metric_choice_and_more_slices_than_drawn(tmp_path):
    folder = make_sweep_folder(tmp_path / "sweep-run")
    out = write_report(folder, tmp_path / "r.html", metric="total_return")
    assert "total return over entry offset" in out.read_text(encoding="utf-8")
    out = write_report(folder, tmp_path / "r2.html", metric="nonsense")
    assert "metric &#x27;nonsense&#x27; is not a column" in out.read_text(encoding="utf-8")


def test_preearnings_section(tmp_path):
    folder = tmp_path / "pre-run"
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "kind": "pre",
                "run_id": "pre-x-0123456789ab",
                "data": {"synthetic": False},
                "config": {"ticker": "NVDA", "asof": "2025-06-01", "lookback": 10},
            }
        )
    )
    rep = pd.DataFrame(
        {
            "event_id": ["nvda-q1", "nvda-q2", "nvda-q3", "nvda-q4"],
            "ticker": "NVDA",
            "report_date": pd.to_datetime(["2024-05-22", "2024-08-28", "2024-11-20", "2025-02-26"]),
            "reaction_session": pd.to_datetime(
                ["2024-05-23", "2024-08-29", "2024-11-21", "2025-02-27"]
            ),
            "runup_ret": [0.05, -0.02, 0.03, 0.01],
            "runup_ar": [0.02, -0.03, 0.01, 0.0],
            "react0_ret": [0.09, -0.06, 0.005, -0.08],
            "react0_ar": [0.07, -0.05, 0.0, -0.07],
            "react5_ret": [0.1, -0.1, 0.02, -0.1],
            "react5_car": [0.08, -0.08, 0.01, -0.09],
            "launch_before": [True, False, True, False],
            "launch_ids": ["a", "", "b", ""],
            "policy_before": [False, False, True, False],
        }
    )
    rep.to_parquet(folder / "preearnings_reports.parquet", index=False)
    pd.DataFrame(
        {"window": ["runup", "react0"], "split": "launch", "group_a": "launch_before",
         "group_b": "no_launch", "n_a": [2, 1], "n_b": [2, 3], "diff": [0.025, 0.01],
         "stat": [1.2, np.nan], "pvalue": [0.31, np.nan],
         "test": ["welch_t", "too_few (need >= 2 per group)"]}
    ).to_parquet(folder / "preearnings_tests.parquet", index=False)  # fmt: skip
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert parse(out).sections == ["summary", "tests", "reports", "config", "about"]
    assert "Welch&#x27;s t" in text and "nvda-q3" in text
    # finding 8: words, not the tests table's code names
    assert "run-up, with a launch before vs without: +2.50% (Welch&#x27;s t, p = 0.310)" in text
    assert (
        "day-0 reaction, with a launch before vs without: +1.00%: too few reports to test" in text
    )
    for code in ("launch_before", "no_launch", "too_few", ">runup<", ">react0<"):
        assert code not in text.split("<h2")[2], code  # the tests section
    assert "not in the folder: preearnings_next.parquet" in text
    assert "<h1>Pre-earnings: NVDA into and out of its reports, as of 2025-06-01</h1>" in text
    assert "no metrics.parquet" not in text
    assert n_figures(text) == 1


def test_not_a_run_folder_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        write_report(tmp_path)


def test_describe_config_says_what_the_run_does():
    cfg = {
        "strategy": {
            "direction": "long", "tickers": ["reporter"], "entry_offset": -5,
            "exit_anchor": "next_earnings", "exit_offset": 0, "price": "next_open",
            "select": {"kind": ["earnings"], "org": ["NVIDIA"]}, "stop_loss": 0.05,
            "stop_on": "high_low", "overlap": "merge",
        },
        "costs": {"fees": 0.001, "slippage": 0.0},
        "portfolio": {"mode": "shared_cash", "init_cash": 50000, "size": 0.5, "max_gross": 0.8},
    }  # fmt: skip
    words = " ".join(describe_config(cfg))
    assert "Long the reporting company" in words
    assert "5 sessions before the reaction session" in words
    assert "the next session's open" in words
    assert "by NVIDIA" in words and "earnings event" in words
    assert "Stop-loss at 5% from the entry price, checked intrabar (high/low)." in words
    assert "merged" in words
    assert "One shared account of 50,000" in words and "capped at 80%" in words


def test_cli_report_by_folder_and_by_run_id(tmp_path, bt_folder):
    from evbt.cli import main

    root = tmp_path / "root"
    folder = shutil.copytree(bt_folder, root / bt_folder.name)
    out = tmp_path / "x.html"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["report", folder.name, "--root", str(root)]) == 0
    assert (folder / "report.html").is_file()
    assert main(["report", "../" + folder.name, "--root", str(root)]) == 2
    assert main(["report", "no-such-run", "--root", str(root)]) == 2


# ------------------------------------------------------------ issue 16: heatmaps and labels


def test_every_combination_is_on_the_heatmaps_none_included(tmp_path):
    """Finding 1: with stop_loss in {none, 5%, 10%} x direction {long, short}, the "none"
    slices were dropped (NaN never equals NaN): 2 of 6 heatmaps and a third of the grid lost.
    """
    folder = make_sweep_folder(
        tmp_path / "sweep-run", stops=(None, 0.05, 0.1), directions=("long", "short")
    )
    n_combos = 3 * 3 * 3 * 2
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    heat = [t for t in traces(text) if t["type"] == "heatmap"]
    assert len(heat) == 6
    cells = sum(int(np.isfinite(arr(t["z"])).sum()) for t in heat)
    assert cells == n_combos
    layout = [f for f in figures(text) if f["data"][0]["type"] == "heatmap"][0]["layout"]
    titles = [a["text"] for a in layout["annotations"]]
    assert titles[:6] == [
        f"stop loss: {stop} · direction: {d}"
        for stop in ("none", "5%", "10%")
        for d in ("long", "short")
    ]
    assert f"{n_combos} of the sweep&#x27;s {n_combos} combinations drawn" in text
    assert "9 combinations each" in text
    # the best cell is marked where it is
    parts = pd.concat(pd.read_parquet(p) for p in (folder / "sweep" / "parts").glob("*.parquet"))
    tot = parts[parts["scope"] == "total"].reset_index(drop=True)
    best = tot.loc[tot["sharpe"].idxmax()]
    stars = [a for a in layout["annotations"] if a["text"].startswith("★ best")]
    assert len(stars) == 1 and stars[0]["text"] == f"★ best +{best['sharpe']:.2f}"
    assert stars[0]["x"] == (f"+{int(best['entry_offset'])}" if best["entry_offset"] else "0")
    assert stars[0]["y"] == str(int(best["hold"]))
    assert "<li>stop loss: none, 5%, 10%</li>" in text


def test_windows_figure_of_40_panels():
    """Finding (CPU): shapes added one by one to a ``go.Figure`` cost 9 s for 40 panels; the
    figures are plain dicts now (Plotly's validators were most of the report's time), and
    the 40 panels keep their spans, event lines, titles, markers and dated axes."""
    from evbt.report.figures import windows_figure

    x = pd.date_range("2024-01-01", periods=30)
    panels = [
        {"title": f"e{i}", "x": x, "y": np.arange(30.0), "entry": (x[10], 10.0),
         "exit": (x[15], 15.0), "win": i % 2 == 0, "event": x[10], "short": i % 3 == 0}
        for i in range(40)
    ]  # fmt: skip
    fig = windows_figure(panels, rebased=False)
    assert len(fig.layout.shapes) == 80  # a span and an event line per panel
    assert len(fig.layout.annotations) == 40  # panel titles
    symbols = [t.marker.symbol for t in fig.data if t.mode == "markers"]
    assert symbols.count("triangle-down") == 14  # shorts drawn as sells
    assert symbols.count("triangle-up") == 26
    # finding 9: panel dates carry their year (ticks and hover)
    for k in range(1, 41):
        ax = fig.layout[f"xaxis{k if k > 1 else ''}"]
        assert "%Y" in ax.tickformat, k


def test_equity_in_percent_and_a_ruined_run_drawn_where_it_ends():
    """Finding 7: dollars on a log axis hid a low-exposure strategy and dropped a ruined
    run's negative equity; now the cumulative return in percent on a linear axis."""
    from evbt.report.figures import equity_figure

    d = pd.bdate_range("2024-01-01", periods=6)
    eq = pd.DataFrame({"date": d, "total": [100_000.0, 101_000, 99_000, 50_000, -8_231, -8_231]})
    ev = pd.DataFrame({"session": [d[4]], "label": ["x"]})
    fig = equity_figure(eq, positions=[], events=ev, bench=None, bench_name=None)
    strat = fig.data[0]
    assert list(strat.y) == [0.0, 1.0, -1.0, -50.0, -108.231, -108.231]
    assert fig.layout.yaxis.type in (None, "linear")
    assert fig.layout.yaxis.ticksuffix == "%"
    assert list(fig.data[1].y) == [-108.231]  # the event marker on the ruined line


def test_drawdown_table_depth_valley_recovery():
    from evbt.report.backtest import drawdown_table

    d = pd.bdate_range("2024-01-01", periods=8)
    eq = pd.Series([100.0, 110, 99, 88, 110, 120, 108, 115], index=d)
    dd = drawdown_table(eq)
    assert dd["depth"].round(4).tolist() == [-0.2, -0.1]
    first = dd.iloc[0]
    assert (first["start"], first["valley"], first["recovery"]) == (d[1], d[3], d[4])
    assert first["sessions"] == 3  # peak 2024-01-02 to recovery 2024-01-05
    assert pd.isna(dd.iloc[1]["recovery"])


def test_labels_signs_and_shorts(bt_report):
    """Findings 8, 9, 11: readable names, signed percent, the stock's AR vs the position's
    return, one minus sign, timestamps to the minute."""
    from evbt.report.html import money, spct, stamp

    text = bt_report.read_text(encoding="utf-8")
    assert "position&#x27;s return" in text and "stock&#x27;s AR day 0" in text
    assert "stock&#x27;s CAR [-5, +10]" in text
    assert spct(0.1234) == "+12.34%" and spct(-0.05) == "\u22125.00%" and spct(0.0) == "0.00%"
    assert money(-8231.4) == "\u2212$8,231" and money(12, sign=True) == "+$12"
    assert stamp("2026-12-02T18:54:13.123456+00:00") == "2026-12-02 18:54 UTC"
    for code in ("boot_lo", "placebo_p", "psr_pvalue", "car_window<"):
        assert f">{code}" not in text


def test_ruined_and_lookahead_banners_say_what_happened(tmp_path, bt_folder):
    """Finding 11: RUINED said "reached zero" at -8,231; LOOKAHEAD said skipped signals
    "entered"."""
    folder = shutil.copytree(bt_folder, tmp_path / "run")
    man = json.loads((folder / "manifest.json").read_text())
    man["ruined"] = True
    man["lookahead"] = True
    man["signals"]["n_lookahead_signals"] = 2
    (folder / "manifest.json").write_text(json.dumps(man))
    eq = pd.read_parquet(folder / "equity.parquet")
    eq.loc[eq.index[-5:], ["NVDA", "total"]] = -8231.0
    eq.to_parquet(folder / "equity.parquet", index=False)
    text = write_report(folder).read_text(encoding="utf-8")
    assert "fell to \u2212$8,231" in text and "zero or below" in text
    assert "2 signal(s) were dated before their event could be known; 0 of them traded" in text


def test_swept_values_in_words():
    from evbt.report.words import swept_words

    assert swept_words(
        {"stop_loss": [None, 0.05, 0.1], "entry_offset": [0, 1, -2], "hold": [1, 5], "blocks": 16}
    ) == [
        "stop loss: none, 5%, 10%",
        "entry offset (sessions from the reaction session): 0, +1, -2",
        "hold (sessions): 1, 5",
    ]


def test_to_vectorbt_stats_match_ours_and_plot_works_for_one_ticker():
    """Finding 10: stats() annualised over 365 days (Sharpe -0.100 vs our -0.083) and plot()
    raised "Only one column is allowed" on a one-ticker run."""
    from evbt.api import run
    from evbt.strategies.config import load_config

    result = run(load_config(ROOT / "examples" / "launch_shock.toml"))
    pf = result.to_vectorbt()
    assert list(pf.wrapper.columns) == ["NVDA"]
    st = pf.stats()
    ours = result.summary()
    assert st["Sharpe Ratio"] == pytest.approx(ours["sharpe"], rel=1e-9)
    assert st["Sortino Ratio"] == pytest.approx(ours["sortino"], rel=1e-9)
    assert st["Calmar Ratio"] == pytest.approx(ours["calmar"], rel=1e-9)
    assert st["Benchmark Return [%]"] == pytest.approx(100 * ours["benchmark_return"], rel=1e-9)
    fig = pf.plot()
    assert len(fig.data) > 0


def test_compare_html_and_index_of_the_root(tmp_path, bt_folder):
    """Compare and browse: `evbt runs compare A B --html` and `evbt runs index`."""
    from evbt.cli import main

    root = tmp_path / "results"
    a = shutil.copytree(bt_folder, root / bt_folder.name)
    b = make_sweep_folder(root / "sweep-launch_shock-0123456789ab")
    c = shutil.copytree(bt_folder, root / "bt-other-0123456789ab")
    man = json.loads((c / "manifest.json").read_text()) | {"run_id": c.name}
    (c / "manifest.json").write_text(json.dumps(man))
    t = pd.read_parquet(c / "trades.parquet")
    t["ret"] = t["ret"] + 0.01
    t.to_parquet(c / "trades.parquet", index=False)
    write_report(a)
    assert main(["runs", "compare", a.name, c.name, "--root", str(root), "--html"]) == 0
    cmp = root / "compare" / f"{a.name}_vs_{c.name}.html"
    text = cmp.read_text(encoding="utf-8")
    assert '<h2><a href="#metrics">Metrics side by side</a></h2>' in text
    assert "B − A return" in text and "+1.00%" in text  # per-event difference, signed
    assert len(figures(text)) == 1  # the equity curves overlaid
    assert main(["runs", "index", "--root", str(root)]) == 0
    idx = (root / "index.html").read_text(encoding="utf-8")
    for run in (a.name, b.name, c.name):
        assert f">{run}<" in idx
    assert f'<a href="{a.name}/report.html">report</a>' in idx
    assert 'class="sortable"' in idx and "<script" in idx and ".assets" not in idx


def test_cli_report_standalone(tmp_path, bt_folder):
    from evbt.cli import main

    out = tmp_path / "one.html"
    assert main(["report", str(bt_folder), "--out", str(out), "--standalone"]) == 0
    assert 'id="plotlyjs"' in out.read_text(encoding="utf-8")


def test_study_and_preearnings_write_their_report_by_default(tmp_path, capsys):
    """Finding 3: `evbt study` and `evbt preearnings` wrote no report and printed no path."""
    from evbt.cli import main

    root = tmp_path / "results"
    cfg = str(ROOT / "examples" / "launch_shock.toml")
    assert main(["study", cfg, "--out", str(root)]) == 0
    assert main(["preearnings", "NVDA", "--asof", "2026-06-01", "--out", str(root)]) == 0
    printed = capsys.readouterr().out
    reports = sorted(root.glob("*/report.html"))
    assert [p.parent.name.split("-")[0] for p in reports] == ["pre", "study"]
    for p in reports:
        assert f"report: {p}" in printed
    text = reports[0].read_text(encoding="utf-8")
    assert "<h1>Pre-earnings: NVDA into and out of its reports, as of 2026-06-01</h1>" in text
    assert main(["study", cfg, "--out", str(tmp_path / "r2"), "--no-report"]) == 0
    assert not list((tmp_path / "r2").glob("*/report.html"))


# ------------------------------------- `evbt report` on runs it cannot read (exit 2, one line)


def _edit_table(folder: Path, name: str, fn) -> None:
    path = folder / f"{name}.parquet"
    fn(pd.read_parquet(path)).to_parquet(path, index=False)


def _report_cli(folder: Path, capsys) -> tuple[int, str]:
    from evbt.cli import main

    capsys.readouterr()
    code = main(["report", str(folder), "--out", str(folder.parent / "out.html")])
    err = capsys.readouterr().err.strip()
    return code, err


def _no_trades(f: Path) -> None:
    _edit_table(f, "trades", lambda t: t.iloc[:0])
    _edit_table(f, "pnl_by_event", lambda t: t.iloc[:0])


def _no_pnl_no_paths(f: Path) -> None:
    # the "KeyError: 'pnl'" of the bug: a trades table without pnl in a folder without
    # prices_window or event_study (so the first page to read pnl is the breakdowns)
    _edit_table(f, "trades", lambda t: t.drop(columns=["pnl"]))
    for name in ("prices_window", "event_study", "study_summary"):
        (f / f"{name}.parquet").unlink(missing_ok=True)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (_no_pnl_no_paths, "trades.parquet has no column 'pnl'"),
        (lambda f: _edit_table(f, "trades", lambda t: t.drop(columns=["pnl"])), "column 'pnl'"),
        (
            lambda f: _edit_table(f, "trades", lambda t: t.drop(columns=["entry_session"])),
            "trades.parquet has no column 'entry_session'",
        ),
        (
            lambda f: _edit_table(f, "event_study", lambda t: t.drop(columns=["day"])),
            "event_study.parquet has no column 'day'",
        ),
        (
            lambda f: _edit_table(f, "signals", lambda t: t.drop(columns=["event_id"])),
            "signals.parquet has no column 'event_id'",
        ),
    ],
    ids=["trades-no-pnl-no-paths", "trades-no-pnl", "trades-no-entry", "study-no-day", "signals"],
)
def test_report_on_a_run_whose_tables_lack_a_column_exits_2(
    tmp_path, bt_folder, capsys, edit, needle
):
    """Issue 16 follow-up: `evbt report` died with "internal error: KeyError: 'pnl'" (exit 1)
    on a folder whose trades table lacked pnl; each such table is now named, exit 2."""
    folder = shutil.copytree(bt_folder, tmp_path / bt_folder.name)
    edit(folder)
    code, err = _report_cli(folder, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(folder) in err and needle in err and "internal error" not in err


def test_report_on_a_run_with_a_malformed_manifest_exits_2(tmp_path, bt_folder, capsys):
    """manifest.json's data as a string raised AttributeError: 'str' object has no 'get'."""
    folder = shutil.copytree(bt_folder, tmp_path / bt_folder.name)
    man = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(man | {"data": "sample"}))
    code, err = _report_cli(folder, capsys)
    assert code == 2 and str(folder) in err and "'data' is a str" in err


@pytest.mark.parametrize("empty", ["schema", "no-columns"])
def test_report_on_a_backtest_with_no_trades(tmp_path, bt_folder, capsys, empty):
    """A backtest that traded nothing is a run like any other: exit 0, its page says so."""
    folder = shutil.copytree(bt_folder, tmp_path / bt_folder.name)
    _no_trades(folder)
    if empty == "no-columns":
        pd.DataFrame().to_parquet(folder / "trades.parquet", index=False)
    code, err = _report_cli(folder, capsys)
    assert code == 0, err
    text = (folder.parent / "out.html").read_text(encoding="utf-8")
    assert "<li><b>Price around each event</b>: no trades in the folder</li>" in text


def test_report_on_study_and_sweep_folders_and_an_unreadable_table(tmp_path, capsys):
    """A study folder (no trades, no metrics) and a sweep folder (parts only, no summary)
    report with exit 0; a table that is not Parquet is a damaged run, exit 2."""
    from evbt.cli import main

    sweep = make_sweep_folder(tmp_path / "sweep-launch_shock-0123456789ab")
    (sweep / "sweep_summary.parquet").unlink()
    assert _report_cli(sweep, capsys)[0] == 0
    root = tmp_path / "results"
    cfg = str(ROOT / "examples" / "launch_shock.toml")
    assert main(["study", cfg, "--out", str(root), "--no-report"]) == 0
    study = next(root.glob("study-*"))
    assert _report_cli(study, capsys)[0] == 0
    (study / "event_study.parquet").write_bytes(b"not parquet")
    code, err = _report_cli(study, capsys)
    assert code == 2 and str(study) in err and "event_study.parquet unreadable" in err


def test_runs_compare_prints_units_not_raw_floats(tmp_path, bt_folder, capsys):
    """Finding 11: `evbt runs compare` printed raw floats (0.335226, 7519.04, 12.7358)."""
    from evbt.cli import main

    root = tmp_path / "results"
    a = shutil.copytree(bt_folder, root / bt_folder.name)
    b = shutil.copytree(bt_folder, root / "bt-other-0123456789ab")
    man = json.loads((b / "manifest.json").read_text()) | {"run_id": b.name}
    (b / "manifest.json").write_text(json.dumps(man))
    m = pd.read_parquet(b / "metrics.parquet")
    m.loc[m["scope"] == "total", ["total_return", "sharpe"]] += [0.0125, -0.5]
    m.to_parquet(b / "metrics.parquet", index=False)
    capsys.readouterr()
    assert main(["runs", "compare", a.name, b.name, "--root", str(root)]) == 0
    out = capsys.readouterr().out
    ours = pd.read_parquet(a / "metrics.parquet").set_index("scope").loc["total"]
    from evbt.report.html import money, spct

    row = next(ln for ln in out.splitlines() if "total_return" in ln)
    # the row reads A, B, B - A in signed percent (the registry's format), ASCII minus
    assert spct(ours["total_return"]).replace("\u2212", "-") in row and "+1.25%" in row
    assert "-0.50" in next(ln for ln in out.splitlines() if " sharpe " in ln)
    win = next(ln for ln in out.splitlines() if "avg_win" in ln)
    assert money(ours["avg_win"], sign=True) in win
    assert not re.search(r"\d\.\d{4,}", out.split("config keys")[0])  # no raw floats


def test_every_trace_has_a_formatted_hover_and_the_caar_band_is_hoverable(bt_report, tmp_path):
    """Finding 11: hovers showed raw tuples ("(1, -1.786229)") and the CAAR band could not
    be hovered; every trace of the backtest and sweep pages now has a hover template."""
    sweep = write_report(make_sweep_folder(tmp_path / "sweep-run", stops=(None, 0.05)))
    for path in (bt_report, sweep):
        for t in traces(path.read_text(encoding="utf-8")):
            assert t.get("hoverinfo") == "skip" or "%{" in t.get("hovertemplate", ""), (
                path.name,
                t.get("type"),
                t.get("name"),
            )
    band = [
        t for t in traces(bt_report.read_text(encoding="utf-8")) if "95% band" in t.get("name", "")
    ]
    assert len(band) >= 2 and all(t.get("hoverinfo") != "skip" for t in band)
    assert all("%{y:+.2f}%" in t["hovertemplate"] for t in band)


def test_sweep_page_reads_event_level_significance(tmp_path):
    """Issue 15, item 5: the false-discovery count is the event-level one where the sweep
    has it (a run before it keeps the PSR's), and the best combination's events, non-zero
    days and event p-value are shown."""
    folder = make_sweep_folder(tmp_path / "sweep-run")
    path = folder / "sweep_summary.parquet"
    summary = pd.read_parquet(path)
    n = len(summary)
    summary["bh_reject"] = False
    summary["n_events"] = 6
    summary["n_active_days"] = 12
    summary["event_p"] = np.linspace(0.001, 0.9, n)
    summary["event_bh_reject"] = np.arange(n) < 3
    summary["event_by_reject"] = np.arange(n) < 1
    summary.to_parquet(path)
    text = write_report(folder).read_text(encoding="utf-8")
    assert f"3 of {n:,}" in text and "(BY: 1)" in text and "per-event p-values" in text
    assert "survive false-discovery control (BH 5%, events)" in text
    assert "traded 6 events and had 12 days with a non-zero return" in text
    top = text.split("Top combinations by Sharpe")[1].split("</table>")[0]
    assert "non-zero days" in top and "survives BH (events)" in top


def test_report_figures_are_built_without_plotly_graph_objects():
    """Building the figures as plain dicts skips Plotly's object model and its validators
    (the demo's report took 1.4 s with them, 0.3 s without); importing it again would bring
    that cost back unnoticed."""
    code = (
        "import sys\nimport numpy as np, pandas as pd\n"
        "from evbt.report.figures import windows_figure\n"
        "x = pd.date_range('2024-01-01', periods=5)\n"
        "windows_figure([{'title': 'e', 'x': x, 'y': np.arange(5.0), 'entry': (x[1], 1.0),"
        " 'exit': (x[3], 3.0), 'win': True, 'event': x[1], 'short': False}], rebased=False)\n"
        "print('plotly.graph_objects' in sys.modules)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"
