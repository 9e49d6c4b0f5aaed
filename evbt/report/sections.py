"""The tearsheet: one self-contained, offline HTML file per run folder.

:func:`write_report` reads only the run folder (``manifest.json`` and whichever Parquet
tables are there: backtest, event study, sweep, pre-earnings) and writes one HTML file with
Plotly's JavaScript embedded once and every figure as a div. Nothing on the page loads
anything from the network. A section whose table is absent is left out and listed, with
the reason, under "About this run".

:func:`report_frames` builds the small extra tables the report uses when the writer of a
backtest folder adds them (``events``: the catalog rows of the run's events;
``prices_window``: prices of the traded windows; ``benchmark``: the benchmark's closes).
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evbt.errors import InputError
from evbt.report.html import Section, esc, kv_table, note, page, para, pct, table

if TYPE_CHECKING:
    from evbt.result import BacktestResult

MAX_BYTES = 6_000_000
#: swept columns that are results, not parameters (C2)
SWEEP_RESULT_COLUMNS = frozenset(
    {
        "combo_id", "scope", "total_return", "cagr", "volatility", "ann_vol", "sharpe",
        "sortino", "max_drawdown", "calmar", "hit_rate", "profit_factor", "avg_trade",
        "exposure", "n_trades", "n_skipped", "n_obs", "skew", "kurt", "avg_win", "avg_loss",
        "benchmark_return", "excess_return", "dsr", "psr_pvalue", "bh_reject", "by_reject",
    }
)  # fmt: skip
WINDOW_PAD = 10  # sessions of price shown before the entry and after the exit
# Caps that keep a page well under MAX_BYTES (plotly.js alone is about 4.8 MB); all scale
# down together when a page would still be too big (see write_report).
MAX_PANELS = 40  # small multiples per ticker
MAX_PANELS_TOTAL = 120  # small multiples over all tickers
MAX_SLICES = 12  # sweep heatmaps
MAX_ROWS = 500  # rows of a long table (per-event, skipped)


# ----------------------------------------------------------------------------- loading


@dataclass
class RunFolder:
    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sweep: pd.DataFrame | None = None  # "total" rows of sweep/parts

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def kind(self) -> str:
        k = self.manifest.get("kind")
        if k:
            return str(k)
        if self.sweep is not None:
            return "sweep"
        if "preearnings_reports" in self.tables:
            return "pre"
        if "trades" in self.tables:
            return "bt"
        return "study"

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.manifest.get("config")
        return cfg if isinstance(cfg, dict) else {}


def load_run(run_dir: str | Path) -> RunFolder:
    """Read a run folder: its manifest, every top-level table and the sweep parts."""
    path = Path(run_dir)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise InputError(
            f"{path}: not a run folder (no manifest.json): pass a run folder or a run id "
            "(evbt runs list shows them)"
        )
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{mpath}: not valid JSON ({e.msg} at line {e.lineno})") from None
    run = RunFolder(path=path, manifest=manifest)
    for f in sorted(path.glob("*.parquet")):
        run.tables[f.stem] = pd.read_parquet(f)
    sweep_dir = path / "sweep"
    if "sweep_summary" not in run.tables and (sweep_dir / "sweep_summary.parquet").is_file():
        run.tables["sweep_summary"] = pd.read_parquet(sweep_dir / "sweep_summary.parquet")
    parts = sorted((sweep_dir / "parts").glob("*.parquet"))
    if parts:
        frames = [pd.read_parquet(p, filters=[("scope", "==", "total")]) for p in parts]
        run.sweep = pd.concat(frames, ignore_index=True)
    return run


# ----------------------------------------------------------------------- config in words


def _join(items: list[Any], word: str = "or") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _frac(v: Any) -> str:
    return pct(v, 2).replace(".00%", "%")


def describe_config(cfg: dict[str, Any]) -> list[str]:
    """The config as a few plain sentences (what a trader would say the run does)."""
    out: list[str] = []
    s = cfg.get("strategy") or {}
    if s:
        direction = "Short" if s.get("direction") == "short" else "Long"
        tickers = s.get("tickers") or []
        tick = _join(["the reporting company" if t == "reporter" else t for t in tickers], "and")
        sel = s.get("select") or {}
        what = _join(sel.get("kind") or [], "or") or "selected"
        bits = [f"{_join(sel['status'])} " if sel.get("status") else "", f"{what} event"]
        if sel.get("org"):
            bits.append(f" by {_join(sel['org'])}")
        if sel.get("tags"):
            bits.append(f" tagged {_join(sel['tags'], 'and')}")
        if sel.get("tags_any"):
            bits.append(f" tagged any of {_join(sel['tags_any'])}")
        if sel.get("ids"):
            bits.append(f" (ids {_join(sel['ids'], 'and')})")
        if sel.get("confidence"):
            bits.append(f" with confidence {_join(sel['confidence'])}")
        off = int(s.get("entry_offset") or 0)
        when = (
            "on the reaction session"
            if off == 0
            else f"{abs(off)} session{'s' if abs(off) != 1 else ''} "
            f"{'after' if off > 0 else 'before'} the reaction session"
        )
        fill = "the next session's open" if s.get("price") == "next_open" else "the close"
        if s.get("exit_anchor") == "next_earnings":
            hold = (
                f"until {abs(int(s.get('exit_offset') or 0))} session(s) "
                f"{'before' if int(s.get('exit_offset') or 0) < 0 else 'after'} "
                "the next earnings reaction session"
            )
        elif s.get("hold") is not None:
            hold = f"for {s.get('hold')} sessions"
        else:
            hold = ""
        out.append(
            f"{direction} {tick or 'the selected tickers'}{' ' + hold if hold else ''}, "
            f"entering at {fill} "
            f"{when} of each {''.join(bits)}."
        )
        risk = []
        if s.get("stop_loss") is not None:
            risk.append(f"stop-loss at {_frac(s['stop_loss'])}")
        if s.get("take_profit") is not None:
            risk.append(f"take-profit at {_frac(s['take_profit'])}")
        if risk:
            where = "intrabar (high/low)" if s.get("stop_on") == "high_low" else "at each close"
            out.append(f"{_join(risk, 'and').capitalize()} from the entry price, checked {where}.")
        rules = []
        if s.get("weight") not in (None, 1, 1.0):
            rules.append(f"signal weight {s['weight']}")
        if s.get("overlap"):
            rules.append(
                f"overlapping windows are {'merged' if s['overlap'] == 'merge' else 'skipped'}"
            )
        if s.get("skip_if_earnings_within") is not None:
            rules.append(
                f"signals within {s['skip_if_earnings_within']} sessions of the ticker's own "
                "earnings are skipped"
            )
        if rules:
            out.append(_join(rules, "and").capitalize() + ".")
        if s.get("allow_lookahead"):
            out.append("Lookahead was ALLOWED: entries may precede what the market could know.")
    c = cfg.get("costs") or {}
    if c:
        out.append(
            f"Costs per side: fees {_frac(c.get('fees', 0))}, slippage {_frac(c.get('slippage', 0))}."
        )
    p = cfg.get("portfolio") or {}
    if p:
        cash = f"{float(p.get('init_cash', 0)):,.0f}"
        size = p.get("size", 1)
        sized = (
            f"{_frac(size)} of equity"
            if p.get("size_type", "fraction") == "fraction"
            else f"{float(size):,.0f} notional"
        )
        if p.get("mode") == "shared_cash":
            out.append(
                f"One shared account of {cash}; each entry takes {sized} times its weight, "
                f"gross exposure capped at {_frac(p.get('max_gross', 1))} of equity."
            )
        else:
            out.append(f"Each ticker trades its own account of {cash}; each entry takes {sized}.")
    d = cfg.get("data") or {}
    if d:
        span = f"{d.get('start') or 'the first session'} to {d.get('end') or 'the last'}"
        bench = f", benchmark {d['benchmark']}" if d.get("benchmark") else ""
        out.append(f"Prices: {d.get('source', '?')} data, {span}{bench}.")
    st = cfg.get("study") or {}
    if st and st.get("enabled", True) and st.get("window"):
        w = st["window"]
        model = "market model" if st.get("model") == "market_model" else "market-adjusted returns"
        out.append(
            f"Event study over sessions [{w[0]}, +{w[1]}] around the reaction session, "
            f"{model}, {st.get('bootstrap', 0):,} bootstrap draws, {st.get('placebo', 0):,} "
            "placebo dates."
        )
    sw = cfg.get("sweep") or {}
    if sw:
        parts = [f"{k} in {v}" for k, v in sw.items() if k not in ("blocks", "wf_blocks")]
        if parts:
            out.append(f"Swept: {'; '.join(parts)}.")
    return out


# ------------------------------------------------------------------------------ helpers


def _flag(run: RunFolder, *keys: str) -> bool:
    m: Any = run.manifest
    for k in keys:
        if not isinstance(m, dict):
            return False
        m = m.get(k)
    return bool(m)


def _banners(run: RunFolder) -> list[tuple[str, str]]:
    out = []
    if _flag(run, "data", "synthetic"):
        out.append(
            (
                "synthetic",
                "SYNTHETIC DATA: these prices are the bundled simulated sample. The results "
                "show the workflow, not an edge.",
            )
        )
    n_la = (run.manifest.get("signals") or {}).get("n_lookahead_signals")
    if (
        _flag(run, "lookahead")
        or _flag(run, "signals", "allow_lookahead")
        or _flag(run, "config", "strategy", "allow_lookahead")
    ):
        extra = f" ({n_la} signal(s) entered before the event could be known)" if n_la else ""
        out.append(
            (
                "lookahead",
                f"LOOKAHEAD ALLOWED: this run may use information before it was known{extra}.",
            )
        )
    if _flag(run, "ruined"):
        out.append(
            (
                "ruined",
                "RUINED: an account's equity reached zero; its position was closed there and "
                "its later signals were skipped.",
            )
        )
    return out


def _events(run: RunFolder) -> pd.DataFrame | None:
    """Event attributes (event_id, name, org, kind, tags) from the folder, if it has them."""
    cols = ["name", "org", "kind", "tags"]
    ev = run.get("events")
    if ev is not None and "event_id" not in ev.columns and "id" in ev.columns:
        ev = ev.rename(columns={"id": "event_id"})
    if ev is not None and "event_id" in ev.columns:
        return ev[["event_id", *[c for c in cols if c in ev.columns]]].drop_duplicates("event_id")
    sig = run.get("signals")
    if sig is not None and any(c in sig.columns for c in cols):
        keep = ["event_id", *[c for c in cols if c in sig.columns]]
        return sig[keep].drop_duplicates("event_id")
    return None


def _per_event(run: RunFolder) -> pd.DataFrame | None:
    trades = run.get("trades")
    if trades is None:
        return None
    t = trades.copy()
    sig = run.get("signals")
    if sig is not None and "reaction_session" in sig.columns:
        rs = sig[["event_id", "ticker", "reaction_session"]].drop_duplicates(["event_id", "ticker"])
        t = t.merge(rs, on=["event_id", "ticker"], how="left")
    ev = _events(run)
    if ev is not None:
        t = t.merge(ev, on="event_id", how="left")
    es = run.get("event_study")
    if es is not None and len(es):
        ar0 = es[es["day"] == 0][["event_id", "ticker", "ar"]].rename(columns={"ar": "ar0"})
        last = es.sort_values("day").groupby(["event_id", "ticker"], sort=False).tail(1)
        car = last[["event_id", "ticker", "car"]]
        t = t.merge(
            ar0.drop_duplicates(["event_id", "ticker"]), on=["event_id", "ticker"], how="left"
        )
        t = t.merge(
            car.drop_duplicates(["event_id", "ticker"]), on=["event_id", "ticker"], how="left"
        )
    return t


def _session_sort(df: pd.DataFrame) -> pd.DataFrame:
    key = "entry_session" if "entry_session" in df.columns else df.columns[0]
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def _bench_series(run: RunFolder) -> tuple[pd.Series | None, str | None]:
    name = (run.manifest.get("data") or {}).get("benchmark") or (
        (run.config.get("data") or {}).get("benchmark")
    )
    b = run.get("benchmark")
    if b is None or not {"date", "close"} <= set(b.columns):
        return None, name
    if "ticker" in b.columns and b["ticker"].nunique() > 1 and name:
        b = b[b["ticker"] == name]
    if "ticker" in b.columns and not name and len(b):
        name = str(b["ticker"].iloc[0])
    s = b.set_index(pd.to_datetime(b["date"]))["close"].astype(float).sort_index()
    return s, name


def _buy_and_hold(close: pd.Series) -> dict[str, float]:
    """The benchmark's buy and hold in the engine's conventions (evbt.backtest.metrics)."""
    from evbt.backtest import metrics as m

    e = close.to_numpy(dtype=float)
    r = m.simple_returns(e)
    cagr = m.cagr(e, close.index.to_numpy())
    mdd = m.max_drawdown(e)
    return {
        "total_return": m.total_return(e),
        "cagr": cagr,
        "ann_vol": m.ann_vol(r),
        "sharpe": m.sharpe(r),
        "sortino": m.sortino(r),
        "max_drawdown": mdd,
        "calmar": m.calmar(cagr, mdd),
        "exposure": 1.0,
    }


# ----------------------------------------------------------------------------- sections


class _Page:
    def __init__(self, scale: float = 1.0) -> None:
        self.sections: list[Section] = []
        self.left_out: list[tuple[str, str]] = []
        self.n_fig = 0
        self.panels = max(4, int(MAX_PANELS * scale))
        self.panels_total = max(8, int(MAX_PANELS_TOTAL * scale))
        self.slices = max(2, int(MAX_SLICES * scale))
        self.rows = max(50, int(MAX_ROWS * scale))

    def fig(self, fig: Any) -> str:
        from evbt.report.figures import div

        self.n_fig += 1
        return f'<div class="fig">{div(fig, f"fig-{self.n_fig}")}</div>'

    def add(self, anchor: str, title: str, body: str) -> None:
        self.sections.append(Section(anchor, title, body))

    def skip(self, title: str, why: str) -> None:
        self.left_out.append((title, why))


_METRIC_ROWS = [
    ("total_return", "total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("ann_vol", "volatility (annual)", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "max drawdown", "pct"),
    ("calmar", "Calmar", "num"),
    ("exposure", "exposure", "pct"),
    ("n_trades", "trades", "int"),
    ("hit_rate", "hit rate", "pct"),
    ("avg_win", "average win", "money"),
    ("avg_loss", "average loss", "money"),
    ("profit_factor", "profit factor", "num"),
    ("excess_return", "excess return over benchmark", "pct"),
]


def _summary(pg: _Page, run: RunFolder) -> None:
    from evbt.report.html import FORMATS

    body = []
    metrics = run.get("metrics")
    bench, bname = _bench_series(run)
    if metrics is not None and "scope" in metrics.columns and (metrics["scope"] == "total").any():
        tot = metrics.set_index("scope").loc["total"]
        bh = _buy_and_hold(bench) if bench is not None and len(bench) > 1 else {}
        if not bh and pd.notna(tot.get("benchmark_return")):
            bh = {"total_return": tot.get("benchmark_return")}
        cards = []
        for key, label, f in _METRIC_ROWS[:7]:
            if key in tot.index:
                cards.append(
                    f'<div class="card"><div class="v">{esc(FORMATS[f](tot[key]))}</div>'
                    f'<div class="k">{esc(label)}</div></div>'
                )
        body.append(f'<div class="cards">{"".join(cards)}</div>')
        rows = []
        for key, label, f in _METRIC_ROWS:
            if key not in tot.index:
                continue
            b = bh.get(key, np.nan)
            rows.append({"metric": label, "strategy": FORMATS[f](tot[key]), "bh": FORMATS[f](b)})
        bcol = f"{bname or 'benchmark'} buy and hold"
        df = pd.DataFrame(rows).rename(columns={"bh": bcol})
        body.append(table(df, max_rows=None, css="num"))
        if bench is None:
            body.append(
                note(
                    "The folder has no benchmark.parquet: only the benchmark's total return is "
                    "shown beside the strategy."
                )
            )
        per = metrics[metrics["scope"] != "total"]
        if len(per) > 1:
            body.append("<h3>Per ticker</h3>")
            fmt = {k: f for k, _, f in _METRIC_ROWS}
            fmt["benchmark_return"] = "pct"
            body.append(table(per, fmt))
    else:
        body.append(note("no metrics.parquet in this run folder: no headline metrics"))
    sig = run.manifest.get("signals") or {}
    if sig:
        reasons = sig.get("skipped_by_reason") or {}
        why = ", ".join(f"{k}: {v}" for k, v in reasons.items())
        body.append(
            para(
                f"Signals: {sig.get('n_signals', '?')}; traded {sig.get('n_trades', '?')}; "
                f"skipped {sig.get('n_skipped', '?')}{f' ({why})' if why else ''}."
            )
        )
    words = describe_config(run.config)
    if words:
        body.append("<h3>The config in words</h3>")
        body.append("".join(para(w) for w in words))
    if run.config:
        body.append(
            "<details><summary>canonical config</summary><pre>"
            f"{esc(json.dumps(run.config, indent=2, default=str))}</pre></details>"
        )
    pg.add("summary", "Summary", "".join(body))


def _equity(pg: _Page, run: RunFolder) -> None:
    from evbt.report.figures import equity_figure

    eq = run.get("equity")
    if eq is None or "total" not in eq.columns or "date" not in eq.columns:
        pg.skip("Equity and drawdown", "no equity.parquet (with date and total) in the folder")
        return
    trades = run.get("trades")
    positions = []
    if trades is not None and len(trades):
        positions = list(
            zip(
                pd.to_datetime(trades["entry_session"]),
                pd.to_datetime(trades["exit_session"]),
                strict=True,
            )
        )
    events = pd.DataFrame({"session": pd.Series(dtype="datetime64[ns]"), "label": []})
    sig = run.get("signals")
    if sig is not None and "reaction_session" in sig.columns:
        e = sig.groupby("reaction_session", as_index=False)["event_id"].agg(
            lambda s: ", ".join(dict.fromkeys(s))
        )
        events = pd.DataFrame(
            {"session": pd.to_datetime(e["reaction_session"]), "label": e["event_id"]}
        )
    bench, bname = _bench_series(run)
    fig = equity_figure(
        eq.assign(date=pd.to_datetime(eq["date"])),
        positions=positions,
        events=events,
        bench=bench,
        bench_name=bname,
    )
    pg.add(
        "equity",
        "Equity and drawdown",
        para(
            "Total equity; diamonds mark each event's reaction session, shaded spans are "
            "times in a position. The grey line is the benchmark bought and held with the "
            "same starting equity."
        )
        + pg.fig(fig),
    )


def _per_event_section(pg: _Page, run: RunFolder) -> None:
    t = _per_event(run)
    if t is None:
        pg.skip("Per event", "no trades.parquet in the folder")
        return
    t = _session_sort(t)
    window = ((run.config.get("study") or {}).get("window")) or None
    car_label = f"CAR [{window[0]}, +{window[1]}]" if window else "CAR"
    cols = [
        ("event_id", "event"), ("org", "org"), ("kind", "kind"), ("ticker", "ticker"),
        ("direction", "side"), ("reaction_session", "reaction session"),
        ("entry_session", "entry"), ("exit_session", "exit"), ("exit_reason", "exit reason"),
        ("ret", "return"), ("pnl", "P&L"), ("ar0", "AR day 0"), ("car", car_label),
    ]  # fmt: skip
    for c, _ in cols:
        if c not in t.columns:
            t[c] = np.nan
    show = t[[c for c, _ in cols]]
    body = table(
        show,
        {"ret": "pct", "pnl": "money", "ar0": "pct", "car": "pct"},
        labels=dict(cols),
        max_rows=pg.rows,
    )
    notes = []
    if _events(run) is None:
        notes.append(
            "org and kind: the folder has no events.parquet (and the signal table has no "
            "event attributes), so they are blank"
        )
    if run.get("event_study") is None:
        notes.append("AR and CAR: no event_study.parquet in the folder")
    pg.add("events", "Per event", body + "".join(note(n) for n in notes))


def _study(pg: _Page, run: RunFolder) -> None:
    from evbt.report.figures import caar_figure

    es = run.get("event_study")
    summ = run.get("study_summary")
    if es is None and summ is None:
        if run.kind in ("bt", "study"):
            pg.skip("Event study", "no event_study.parquet or study_summary.parquet in the folder")
        return
    body = []
    if es is not None and len(es):
        g = es.groupby("day")
        n = g["car"].count()
        caar = g["car"].mean()
        se = g["car"].std(ddof=1) / np.sqrt(n)
        from scipy.special import stdtrit  # t quantile; scipy.stats costs a second to import

        tq = pd.Series(stdtrit(np.maximum(n - 1, 1), 0.975), index=n.index)
        path = pd.DataFrame(
            {
                "day": caar.index.to_numpy(),
                "caar": caar.to_numpy(),
                "lo": (caar - tq * se).to_numpy(),
                "hi": (caar + tq * se).to_numpy(),
                "aar": g["ar"].mean().to_numpy(),
                "n": n.to_numpy(),
            }
        )
        n_ev = es[["event_id", "ticker"]].drop_duplicates().shape[0]
        body.append(
            para(
                f"Average cumulative abnormal return across {n_ev} event x ticker windows, with "
                "a 95% band from the cross-section of CARs (t quantiles; rows of one event "
                "share a date and are treated as independent here: see the bootstrap and "
                "placebo columns below)."
            )
        )
        body.append(pg.fig(caar_figure(path.fillna({"lo": 0.0, "hi": 0.0}))))
    if summ is not None and len(summ):
        fmt = {c: "p" for c in summ.columns if c.startswith("p_") or c.endswith("_p")}
        fmt |= {"caar": "pct", "boot_lo": "pct", "boot_hi": "pct"}
        for c in ("t_cs", "patell_z", "bmp_z", "corrado_z", "gsign_z"):
            fmt[c] = "num"
        key = [c for c in ("group_type", "group", "car_window", "n") if c in summ.columns]
        stats_cols = [c for c in summ.columns if c.startswith(("t_", "p_")) or c.endswith("_z")]
        rest = [c for c in summ.columns if c not in key and c not in stats_cols]
        body.append("<h3>CAAR, bootstrap interval and placebo</h3>")
        body.append(table(summ[key + rest], fmt))
        if stats_cols:
            body.append("<h3>Test statistics and p-values</h3>")
            body.append(_tests_by_window(summ, stats_cols))
            body.append(
                "<details><summary>every group and statistic</summary>"
                f"{table(summ[key + stats_cols], fmt)}</details>"
            )
        body.append(
            note(
                "t_cs: cross-sectional t (Brown-Warner); Patell Z; BMP; Corrado rank; "
                "generalized sign; boot_lo/hi: bootstrap interval of CAAR (whole events); "
                "placebo_p: empirical p-value on random non-event sessions."
            )
        )
    pg.add("study", "Event study", "".join(body))


def _tests_by_window(summ: pd.DataFrame, stats_cols: list[str]) -> str:
    """All-events rows, one row per test: its statistic and p-value in each CAR window."""
    rows = summ[summ["group_type"] == "all"] if "group_type" in summ.columns else summ
    pairs = []
    for c in stats_cols:
        if c.startswith("p_"):
            continue
        name = c[2:] if c.startswith("t_") else c.removesuffix("_z")
        pairs.append((c, f"p_{name}" if f"p_{name}" in summ.columns else None))
    from evbt.report.html import num, pval

    out = []
    for stat, pcol in pairs:
        rec = {"test": stat}
        for _, r in rows.iterrows():
            w = str(r.get("car_window", ""))
            rec[f"{w} stat"] = num(r[stat])
            rec[f"{w} p"] = pval(r[pcol]) if pcol else "–"
        out.append(rec)
    if "p_headline" in rows.columns:
        label = rows["headline"].iloc[0] if "headline" in rows.columns and len(rows) else ""
        rec = {"test": f"headline test ({label})" if label else "headline test"}
        for _, r in rows.iterrows():
            w = str(r.get("car_window", ""))
            rec[f"{w} stat"] = "–"
            rec[f"{w} p"] = pval(r["p_headline"])
        out.append(rec)
    return table(pd.DataFrame(out), max_rows=None, css="num")


def _window_panels(run: RunFolder, ticker: str, trades: pd.DataFrame) -> tuple[list[dict], bool]:
    pw = run.get("prices_window")
    panels: list[dict] = []
    if pw is not None and {"date", "ticker", "close"} <= set(pw.columns):
        px = pw[pw["ticker"] == ticker].assign(date=lambda d: pd.to_datetime(d["date"]))
        px = px.sort_values("date").drop_duplicates("date")
        dates = px["date"].to_numpy()
        close = px["close"].to_numpy(dtype=float)
        for tr in trades.itertuples(index=False):
            en, ex = pd.Timestamp(tr.entry_session), pd.Timestamp(tr.exit_session)
            i0 = max(int(np.searchsorted(dates, en.to_datetime64())) - WINDOW_PAD, 0)
            i1 = int(np.searchsorted(dates, ex.to_datetime64(), side="right")) + WINDOW_PAD
            sl = slice(i0, i1)
            panels.append(
                {
                    "title": f"{tr.event_id}",
                    "x": dates[sl],
                    "y": close[sl],
                    "entry": (en, float(tr.entry_price)),
                    "exit": (ex, float(tr.exit_price)),
                    "win": float(tr.pnl) > 0,
                    "event": tr.reaction_session,
                }
            )
        return panels, False
    es = run.get("event_study")
    if es is None:
        return [], False
    es = es[es["ticker"] == ticker]
    for tr in trades.itertuples(index=False):
        w = es[es["event_id"] == tr.event_id].sort_values("day")
        if w.empty:
            continue
        level = 100.0 * np.cumprod(1.0 + w["ret"].fillna(0.0).to_numpy(dtype=float))
        x = pd.to_datetime(w["session"]).to_numpy()
        lv = pd.Series(level, index=x)

        def at(ts: Any, lv: pd.Series = lv) -> tuple[pd.Timestamp, float] | None:
            ts = pd.Timestamp(ts)
            return (ts, float(lv.loc[ts])) if ts in lv.index else None

        panels.append(
            {
                "title": f"{tr.event_id}",
                "x": x,
                "y": level,
                "entry": at(tr.entry_session),
                "exit": at(tr.exit_session),
                "win": float(tr.pnl) > 0,
                "event": tr.reaction_session,
            }
        )
    return panels, True


def _windows(pg: _Page, run: RunFolder) -> None:
    from evbt.report.figures import windows_figure

    trades = _per_event(run)
    if trades is None or trades.empty:
        pg.skip("Price around each event", "no trades in the folder")
        return
    if "reaction_session" not in trades.columns:
        trades["reaction_session"] = pd.NaT
    if run.get("prices_window") is None and run.get("event_study") is None:
        pg.skip(
            "Price around each event",
            "neither prices_window.parquet nor event_study.parquet is in the folder",
        )
        return
    body = []
    rebased_any = False
    cap = max(1, min(pg.panels, pg.panels_total // max(trades["ticker"].nunique(), 1)))
    for ticker, tt in trades.groupby("ticker", sort=True):
        tt = _session_sort(tt)
        more = len(tt) - cap
        panels, rebased = _window_panels(run, str(ticker), tt.head(cap))
        if not panels:
            continue
        rebased_any |= rebased
        body.append(f"<h3>{esc(ticker)}</h3>")
        body.append(pg.fig(windows_figure(panels, rebased=rebased)))
        if more > 0:
            body.append(note(f"{more} later trades of {ticker} not drawn (first {cap} shown)"))
    if not body:
        pg.skip("Price around each event", "no price path for any traded window")
        return
    intro = para(
        "Each panel is one trade: the price around it, entry (green triangle) and exit "
        "(red cross), the holding span shaded green for a win and red for a loss; the dotted "
        "line is the event's reaction session."
    )
    if rebased_any:
        intro += note(
            "The folder has no prices_window.parquet: paths are rebuilt from the event study's "
            "daily returns (100 = the close before the study window) and only cover that window; "
            "an entry or exit outside it is not marked."
        )
    pg.add("windows", "Price around each event", intro + "".join(body))


def _group_stats(df: pd.DataFrame, by: str) -> pd.DataFrame:
    g = df.groupby(by, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_trades": g.size(),
            "hit_rate": g["pnl"].apply(lambda s: float((s > 0).mean())),
            "mean_ret": g["ret"].mean(),
            "median_ret": g["ret"].median(),
            "total_pnl": g["pnl"].sum(),
        }
    )
    return out.reset_index().rename(columns={by: "group"}).sort_values("total_pnl", ascending=False)


def _distribution(pg: _Page, run: RunFolder) -> None:
    from evbt.report.figures import breakdown_figure, returns_histogram

    t = _per_event(run)
    if t is None or t.empty or "ret" not in t.columns:
        pg.skip("Trade returns and breakdowns", "no trades in the folder")
        return
    body = [pg.fig(returns_histogram(t["ret"]))]
    r = t["ret"].astype(float)
    body.append(
        para(
            f"{len(r)} trades: mean {pct(r.mean())}, median {pct(r.median())}, "
            f"best {pct(r.max())}, worst {pct(r.min())}, hit rate {pct((t['pnl'] > 0).mean(), 1)}."
        )
    )
    fmt = {"hit_rate": "pct1", "mean_ret": "pct", "median_ret": "pct", "total_pnl": "money"}
    groups: dict[str, pd.DataFrame] = {}
    for col in ("kind", "org"):
        if col in t.columns and t[col].notna().any():
            groups[col] = _group_stats(t, col)
    if "tags" in t.columns and t["tags"].notna().any():
        tg = t.assign(tag=t["tags"].fillna("").astype(str).str.split(";")).explode("tag")
        tg = tg[tg["tag"].str.strip() != ""]
        if len(tg):
            groups["tag"] = _group_stats(tg, "tag")
    if groups:
        body.append(pg.fig(breakdown_figure(groups)))
    else:
        body.append(
            note("by kind, org and tag: the folder has no event attributes (events.parquet)")
        )
    for extra in ("ticker", "exit_reason", "direction"):
        if extra in t.columns and t[extra].nunique() > 0:
            groups[extra] = _group_stats(t, extra)
    body.append('<div class="grid2">')
    for name, g in groups.items():
        body.append(f"<div><h3>By {esc(name)}</h3>{table(g, fmt, labels={'group': name})}</div>")
    body.append("</div>")
    pg.add("returns", "Trade returns and breakdowns", "".join(body))


def _skipped(pg: _Page, run: RunFolder) -> None:
    sk = run.get("skipped")
    if sk is None:
        pg.skip("Skipped signals", "no skipped.parquet in the folder")
        return
    if sk.empty:
        pg.add("skipped", "Skipped signals", para("No signal was skipped."))
        return
    code = "code" if "code" in sk.columns else sk.columns[0]
    counts = (
        sk.groupby(code)
        .size()
        .rename("signals")
        .reset_index()
        .sort_values("signals", ascending=False)
    )
    pg.add(
        "skipped",
        "Skipped signals",
        para(f"{len(sk)} signal(s) were not traded. By reason:")
        + table(counts, max_rows=None)
        + table(sk, max_rows=pg.rows),
    )


# ---------------------------------------------------------------------------- sweep


def _sweep_params(run: RunFolder, sweep: pd.DataFrame) -> list[str]:
    declared = [k for k in (run.config.get("sweep") or {}) if k in sweep.columns]
    if declared:
        return declared
    return [c for c in sweep.columns if c not in SWEEP_RESULT_COLUMNS]


def _sweep(pg: _Page, run: RunFolder, metric: str) -> None:
    from evbt.report.figures import heatmap_figure, sharpe_histogram, walk_forward_figure

    sweep = run.sweep
    if sweep is None:
        if run.kind == "sweep":
            pg.skip("Sweep", "no sweep/parts/*.parquet in the folder")
        return
    params = _sweep_params(run, sweep)
    body = []
    n = sweep["combo_id"].nunique() if "combo_id" in sweep.columns else len(sweep)
    body.append(para(f"{n:,} parameter combinations over {_join(params, 'and')}."))
    if metric not in sweep.columns:
        body.append(note(f"metric {metric!r} is not a column of the sweep parts; using sharpe"))
        metric = "sharpe"
    if metric in sweep.columns and params:
        x, y = (
            ("entry_offset", "hold")
            if {"entry_offset", "hold"} <= set(params)
            else (params[0], params[1] if len(params) > 1 else None)
        )
        others = [p for p in params if p not in (x, y)]
        data = sweep.assign(_one="all") if y is None else sweep
        yy = y or "_one"
        slices: list[tuple[str, pd.DataFrame]] = []
        combos = (
            list(itertools.product(*[sorted(data[o].dropna().unique()) for o in others]))
            if others
            else [()]
        )
        for vals in combos:
            part = data
            for o, v in zip(others, vals, strict=True):
                part = part[part[o] == v]
            if part.empty:
                continue
            piv = part.pivot_table(index=yy, columns=x, values=metric, aggfunc="mean")
            title = ", ".join(f"{o}={v}" for o, v in zip(others, vals, strict=True)) or "all"
            slices.append((title, piv))
        total = len(slices)
        if total > pg.slices:
            slices.sort(key=lambda s: -np.nanmax(s[1].to_numpy(dtype=float), initial=-np.inf))
            slices = slices[: pg.slices]
        body.append(f"<h3>{esc(metric)} over {esc(x)} x {esc(y or '-')}</h3>")
        if others:
            body.append(para(f"One heatmap per value of {_join(others, 'and')}."))
        body.append(pg.fig(heatmap_figure(slices, x=x, y=y or "-", metric=metric)))
        if total > pg.slices:
            body.append(note(f"{pg.slices} of {total} slices drawn: those with the best {metric}"))
    of = run.manifest.get("overfit") or {}
    summ = run.get("sweep_summary")
    body.append("<h3>Is the best combination more than luck?</h3>")
    rows = []
    if of:
        if of.get("pbo") is not None:
            rows.append(
                ("probability of backtest overfitting (PBO, CSCV)", f"{float(of['pbo']):.3f}")
            )
        if of.get("n_trials") is not None:
            rows.append(("trials (combinations) counted", f"{int(of['n_trials']):,}"))
        if of.get("sr_var") is not None:
            rows.append(("variance of the trials' Sharpe ratios", f"{float(of['sr_var']):.4g}"))
    if summ is not None and len(summ) and "sharpe" in summ.columns:
        best = summ.loc[summ["sharpe"].idxmax()]
        rows.append(("best Sharpe", f"{best['sharpe']:.3f}"))
        if "dsr" in summ.columns:
            rows.append(("deflated Sharpe probability of the best", f"{best['dsr']:.3f}"))
        for col, name in (
            ("bh_reject", "Benjamini-Hochberg"),
            ("by_reject", "Benjamini-Yekutieli"),
        ):
            if col in summ.columns:
                rows.append(
                    (
                        f"combinations surviving {name} (5%)",
                        f"{int(summ[col].sum()):,} of {len(summ):,}",
                    )
                )
    if rows:
        body.append(kv_table(rows))
    else:
        body.append(note("no sweep_summary.parquet and no overfit statistics in the manifest"))
    if summ is not None and len(summ):
        fmt = {"sharpe": "num3", "dsr": "num3", "psr_pvalue": "p"}
        if "dsr" in summ.columns:
            top = summ.sort_values("dsr", ascending=False)
            body.append("<h3>Top combinations by deflated Sharpe</h3>")
            body.append(table(top, fmt, max_rows=15))
        surv_col = "bh_reject" if "bh_reject" in summ.columns else None
        if surv_col:
            surv = summ[summ[surv_col].astype(bool)]
            body.append("<h3>What survives false-discovery control</h3>")
            if surv.empty:
                body.append(para("No combination survives Benjamini-Hochberg at 5%."))
            else:
                body.append(table(surv.sort_values("sharpe", ascending=False), fmt, max_rows=50))
        if "sharpe" in summ.columns:
            body.append(pg.fig(sharpe_histogram(summ["sharpe"], float(summ["sharpe"].max()))))
    wf = of.get("walk_forward")
    body.append("<h3>Walk-forward: in-sample vs out-of-sample</h3>")
    if wf:
        wfd = pd.DataFrame(wf)
        body.append(
            para(
                "Each fold picks the best combination on the other event blocks (in-sample) and "
                "scores it on the held-out block (out-of-sample)."
            )
        )
        if {"fold", "is_score", "oos_score"} <= set(wfd.columns):
            body.append(pg.fig(walk_forward_figure(wfd)))
        body.append(table(wfd, {"is_score": "num3", "oos_score": "num3", "oos_rank_pct": "pct1"}))
    else:
        body.append(note("the manifest has no walk_forward result"))
    pg.add("sweep", "Sweep", "".join(body))


# ------------------------------------------------------------------------ pre-earnings


def _preearnings(pg: _Page, run: RunFolder) -> None:
    from evbt.report.figures import group_box_figure

    names = ("preearnings_reports", "preearnings_tests", "preearnings_next")
    if not any(n in run.tables for n in names):
        if run.kind == "pre":
            pg.skip("Before earnings", "no preearnings_*.parquet in the folder")
        return
    body = []
    rep = run.get("preearnings_reports")
    tests = run.get("preearnings_tests")
    nxt = run.get("preearnings_next")
    if nxt is not None:
        body.append("<h3>Next report</h3>" + table(nxt))
    if tests is not None:
        body.append(
            "<h3>Does a launch before the report change the run-up?</h3>"
            + table(tests, {"diff": "pct", "pvalue": "p", "stat": "num"})
        )
    if rep is not None and len(rep):
        if {"runup_ar", "launch_before"} <= set(rep.columns):
            body.append(
                pg.fig(
                    group_box_figure(
                        rep,
                        value="runup_ar",
                        group="launch_before",
                        title="abnormal run-up before each report, with and without a launch",
                    )
                )
            )
        fmt = {c: "pct" for c in rep.columns if c.endswith(("_ret", "_ar", "_car"))}
        body.append("<h3>Past reports</h3>" + table(rep, fmt))
    missing = [n for n in names if n not in run.tables]
    if missing:
        body.append(note(f"not in the folder: {', '.join(m + '.parquet' for m in missing)}"))
    pg.add("preearnings", "Before earnings", "".join(body))


# ------------------------------------------------------------------------------ footer


def _about(pg: _Page, run: RunFolder) -> str:
    m = run.manifest
    rows = [
        ("run id", str(m.get("run_id") or run.path.name)),
        ("kind", run.kind),
        ("created (UTC)", str(m.get("created_utc", "?"))),
        ("code version", str(m.get("code_version") or m.get("evbt_version") or "?")),
        ("config id", str(m.get("config_id", "?"))),
        (
            "data",
            f"{(m.get('data') or {}).get('source', '?')}, hash {(m.get('data') or {}).get('data_hash', '?')}",
        ),
    ]
    cat = m.get("catalog") or {}
    if cat:
        rows.append(
            ("event catalog", f"{cat.get('path', '?')} (sha256 {str(cat.get('sha256', '?'))[:12]})")
        )
    files = sorted(run.tables) + (["sweep/parts"] if run.sweep is not None else [])
    rows.append(("tables read", ", ".join(files) or "none"))
    body = kv_table(rows)
    if pg.left_out:
        body += (
            "<h3>Left out</h3><ul>"
            + "".join(f"<li><b>{esc(t)}</b>: {esc(w)}</li>" for t, w in pg.left_out)
            + "</ul>"
        )
    return body


# ---------------------------------------------------------------------------- the page


def render_report(run: RunFolder, *, metric: str = "sharpe", scale: float = 1.0) -> str:
    """The whole HTML page of a loaded run folder (``scale`` shrinks the caps on panels,
    heatmaps and table rows)."""
    import plotly.offline

    pg = _Page(scale)
    _summary(pg, run)
    if run.kind != "sweep" or "equity" in run.tables:
        _equity(pg, run)
        _per_event_section(pg, run)
    _study(pg, run)
    if "trades" in run.tables:
        _windows(pg, run)
        _distribution(pg, run)
        _skipped(pg, run)
    elif run.kind == "bt":
        for title in ("Price around each event", "Trade returns and breakdowns", "Skipped signals"):
            pg.skip(title, "no trades.parquet in the folder")
    elif "skipped" in run.tables:
        _skipped(pg, run)
    _sweep(pg, run, metric)
    _preearnings(pg, run)
    pg.add("about", "About this run", _about(pg, run))
    strategy = (run.config.get("strategy") or {}).get("name", "")
    kinds = {"bt": "Backtest", "study": "Event study", "sweep": "Sweep", "pre": "Pre-earnings"}
    title = f"{kinds.get(run.kind, run.kind)}: {strategy}".rstrip(": ")
    d = run.manifest.get("data") or {}
    bits = [f"run {run.manifest.get('run_id') or run.path.name}"]
    if d.get("source"):
        span = f" {d['first_session']} to {d['last_session']}" if d.get("first_session") else ""
        bits.append(f"data {d['source']}{span}")
    if run.manifest.get("created_utc"):
        bits.append(f"created {run.manifest['created_utc']}")
    sub = " · ".join(bits)
    footer = "Written by evbt report; self-contained: works offline, loads nothing."
    return page(
        title=title,
        subtitle=sub,
        banners=_banners(run),
        sections=pg.sections,
        plotly_js=plotly.offline.get_plotlyjs(),
        footer=esc(footer),
    )


def write_report(
    run_dir: str | Path, out: str | Path | None = None, *, metric: str = "sharpe"
) -> Path:
    """Write the tearsheet of a run folder; return its path (default ``<run_dir>/report.html``).

    The file is written to a temporary sibling and renamed into place: never half-written.
    """
    import os
    import tempfile

    run = load_run(run_dir)
    for scale in (1.0, 0.5, 0.25, 0.1):
        data = render_report(run, metric=metric, scale=scale).encode("utf-8")
        if len(data) <= MAX_BYTES:
            break
    else:  # pragma: no cover - the smallest caps keep any page far below
        # say so, but keep the report: a long sweep must not end in an error over its size
        logging.getLogger(__name__).warning(
            "report is %s bytes, above the %s-byte budget even with the smallest caps",
            f"{len(data):,}",
            f"{MAX_BYTES:,}",
        )
    target = Path(out) if out is not None else run.path / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# ---------------------------------------------------------- tables for a backtest folder


def report_frames(
    result: BacktestResult,
    *,
    catalog: pd.DataFrame | None = None,
    events_path: str | None = None,
    pad: int = WINDOW_PAD,
) -> dict[str, pd.DataFrame]:
    """The small extra tables a backtest folder carries for its report: ``events``,
    ``prices_window`` and ``benchmark`` (see :meth:`BacktestResult.tables`, which the store
    writes). ``catalog`` or ``events_path`` re-reads the events from another catalog."""
    tables = result.tables(pad=pad)
    out: dict[str, pd.DataFrame] = {
        k: tables[k] for k in ("events", "prices_window", "benchmark") if k in tables
    }
    if catalog is not None or events_path is not None or "events" not in out:
        if catalog is None:
            from evbt.data.catalog import load_catalog

            catalog = load_catalog(events_path or result.config.data.events)
        ids = set(result.signals.table["event_id"]) | set(result.skipped.get("event_id", []))
        ev = catalog[catalog["id"].isin(ids)]
        out["events"] = (
            ev[["id", "name", "org", "kind", "tags", "date"]]
            .rename(columns={"id": "event_id"})
            .reset_index(drop=True)
        )
    return out


#: How evbt starts Debian's Chromium for the browser test and the screenshot script: headless
#: as root, and none of the background connections this closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """The Chromium to drive with Playwright: ``EVBT_CHROMIUM``, /usr/bin/chromium, or PATH."""
    import os
    import shutil

    for cand in (os.environ.get("EVBT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None
