"""The HTML tearsheet (evbt.report): sections, banners, offline, size, sweeps, missing tables.

The backtest folder is a real one: the sample config run through the engine and written
by the store. Sweep and pre-earnings folders are built here to contracts C2 and C4.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.errors import InputError
from evbt.report import write_report
from evbt.report.sections import MAX_BYTES, describe_config, report_frames

ROOT = Path(__file__).resolve().parents[1]
BACKTEST_SECTIONS = [
    "summary",
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


def make_sweep_folder(folder: Path, *, seed: int = 7) -> Path:
    """A sweep run folder laid out as contract C2 says (parts in two files, summary, manifest).

    Grid: entry_offset {0, 1, 2} x hold {3, 5, 10} x stop_loss {0.05, 0.1}: 18 combinations,
    so the report should draw one heatmap per stop_loss value.
    """
    rng = np.random.default_rng(seed)
    grid = [
        (e, h, s) for s in (0.05, 0.1) for h in (3, 5, 10) for e in (0, 1, 2)
    ]  # fmt: skip
    rows = []
    for cid, (e, h, s) in enumerate(grid):
        for scope in ("total", "NVDA", "AMD"):
            rows.append(
                {
                    "combo_id": cid, "entry_offset": e, "hold": h, "stop_loss": s,
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
    summary = total[["combo_id", "entry_offset", "hold", "stop_loss", "sharpe"]].copy()
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
            "sweep": {"entry_offset": [0, 1, 2], "hold": [3, 5, 10], "stop_loss": [0.05, 0.1]},
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


def traces(text: str) -> list[dict]:
    """The data traces of every Plotly.newPlot call on the page."""
    out: list[dict] = []
    dec = json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', text):
        data, _ = dec.raw_decode(text, m.end())
        out.extend(data)
    return out


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
    assert text.count("Plotly.newPlot(") == n_figures(text)
    assert text.count("Plotly.newPlot") - text.count("Plotly.newPlot(") <= 2  # plotly.js itself


def test_report_is_self_contained_and_under_6_mb(bt_report):
    assert bt_report.stat().st_size < MAX_BYTES
    refs = parse(bt_report)
    loads = [r for r in refs.refs if not r[2].startswith("#")]
    assert loads == [], f"the report refers to outside resources: {loads[:5]}"
    assert "link" not in refs.tags and "iframe" not in refs.tags and "img" not in refs.tags
    # plotly.js is embedded once, inline
    text = bt_report.read_text(encoding="utf-8")
    assert text.count("<script") == 1 + n_figures(text)
    assert len(re.findall(r"<script[^>]*\bsrc=", text)) == 0


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
    assert out.stat().st_size < MAX_BYTES
    assert "later trades of T00 not drawn" in text
    assert f"of {len(big):,} rows" in text  # the per-event table says it is cut


def test_missing_optional_tables_leave_sections_out_with_a_note(tmp_path, bt_folder):
    folder = shutil.copytree(bt_folder, tmp_path / "run")
    for name in ("event_study", "study_summary", "equity", "skipped", "prices_window"):
        (folder / f"{name}.parquet").unlink()
    out = write_report(folder)
    refs = parse(out)
    # no event study and no prices_window.parquet: no price paths either
    assert refs.sections == ["summary", "events", "returns", "about"]
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


def test_study_only_folder(tmp_path, bt_folder):
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("event_study", "study_summary"):
        shutil.copy(bt_folder / f"{name}.parquet", folder)
    shutil.copy(bt_folder / "manifest.json", folder)
    out = write_report(folder)
    assert parse(out).sections == ["summary", "study", "about"]
    assert "Event study" in out.read_text(encoding="utf-8")


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
    assert "sweep" in parse(out).sections
    # one heatmap per stop_loss value, over entry_offset x hold
    assert [t["type"] for t in traces(text)].count("heatmap") == 2
    assert "stop_loss=0.05" in text and "stop_loss=0.1" in text
    assert "sharpe over entry_offset x hold" in text
    assert "0.438" in text  # PBO 0.4375 to three places
    summary = pd.read_parquet(folder / "sweep_summary.parquet")
    n_bh = int(summary["bh_reject"].sum())
    assert f"{n_bh:,} of {len(summary):,}" in text
    assert "Walk-forward: in-sample vs out-of-sample" in text
    assert "the manifest has no walk_forward result" not in text
    assert out.stat().st_size < MAX_BYTES


def test_sweep_metric_choice_and_more_slices_than_drawn(tmp_path):
    folder = make_sweep_folder(tmp_path / "sweep-run")
    out = write_report(folder, tmp_path / "r.html", metric="total_return")
    assert "total_return over entry_offset x hold" in out.read_text(encoding="utf-8")
    out = write_report(folder, tmp_path / "r2.html", metric="nonsense")
    assert "metric &#x27;nonsense&#x27; is not a column" in out.read_text(encoding="utf-8")


def test_preearnings_section(tmp_path):
    folder = tmp_path / "pre-run"
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps({"kind": "pre", "run_id": "pre-x-0123456789ab", "data": {"synthetic": False}})
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
        {"window": ["runup"], "group_a": ["launch"], "group_b": ["none"], "n_a": [2], "n_b": [2],
         "diff": [0.025], "stat": [1.2], "pvalue": [0.31], "test": ["welch_t"]}
    ).to_parquet(folder / "preearnings_tests.parquet", index=False)  # fmt: skip
    out = write_report(folder)
    text = out.read_text(encoding="utf-8")
    assert parse(out).sections == ["summary", "preearnings", "about"]
    assert "welch_t" in text and "nvda-q3" in text
    assert "not in the folder: preearnings_next.parquet" in text
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
