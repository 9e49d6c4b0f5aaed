"""The backtest page: headline metrics beside the benchmark, equity in percent, worst
drawdowns and returns by year, one row per trade, price around each trade, breakdowns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evbt.backtest import metrics
from evbt.report.folder import (
    WINDOW_PAD,
    Page,
    RunFolder,
    bench_series,
    buy_and_hold,
    cards,
    events_of,
    per_event,
    session_sort,
)
from evbt.report.html import FORMATS, esc, note, para, pct, spct, table

if TYPE_CHECKING:
    from evbt.report.figures import Figure

PPY = 252  # sessions per year: evbt.backtest.metrics.PERIODS_PER_YEAR

METRIC_ROWS = [  # the registry's report table: (name, label, format)
    (n, metrics.metric(n).label, metrics.metric(n).fmt) for n in metrics.columns("report")
]


def relative_stats(equity: pd.Series, bench: pd.Series) -> dict[str, float]:
    """Beta, annual alpha and information ratio of the strategy's daily returns against the
    benchmark's, on the sessions both have (annualised with 252 sessions)."""
    b = bench.reindex(equity.index).ffill()
    df = pd.DataFrame({"s": equity.pct_change(), "b": b.pct_change()}).dropna()
    df = df[np.isfinite(df).all(axis=1)]
    if len(df) < 3 or df["b"].var() == 0:
        return {}
    beta = float(df["s"].cov(df["b"]) / df["b"].var())
    alpha = float((df["s"].mean() - beta * df["b"].mean()) * PPY)
    act = df["s"] - df["b"]
    sd = float(act.std(ddof=1))
    ir = float(act.mean() / sd * np.sqrt(PPY)) if sd > 0 else float("nan")
    return {"beta": beta, "alpha": alpha, "information_ratio": ir}


def summary(pg: Page, run: RunFolder) -> None:
    body = []
    metrics = run.get("metrics")
    bench, bname = bench_series(run)
    bcol = f"{bname or 'benchmark'} buy and hold"
    if metrics is not None and "scope" in metrics.columns and (metrics["scope"] == "total").any():
        tot = metrics.set_index("scope").loc["total"]
        bh = buy_and_hold(bench) if bench is not None and len(bench) > 1 else {}
        if not bh and pd.notna(tot.get("benchmark_return")):
            bh = {"total_return": tot.get("benchmark_return")}
        items = []
        for key, label, f in METRIC_ROWS[:8]:
            if key in tot.index:
                v = tot[key]
                tone = ""
                if key in ("total_return", "sharpe") and pd.notna(v):
                    tone = "good" if float(v) > 0 else "bad" if float(v) < 0 else ""
                items.append((FORMATS[f](v), label, tone))
        body.append(cards(items))
        rows = []
        for key, label, f in METRIC_ROWS:
            if key not in tot.index:
                continue
            b = bh.get(key, np.nan)
            rows.append({"metric": label, "strategy": FORMATS[f](tot[key]), "bh": FORMATS[f](b)})
        eq = run.get("equity")
        if bench is not None and eq is not None and {"date", "total"} <= set(eq.columns):
            rel = relative_stats(
                eq.set_index(pd.to_datetime(eq["date"]))["total"].astype(float), bench
            )
            if rel:
                rows += [
                    {"metric": f"beta to {bname}", "strategy": FORMATS["num"](rel["beta"]), "bh": "1.00"},
                    {"metric": "alpha (annual)", "strategy": spct(rel["alpha"]), "bh": "0.00%"},
                    {"metric": f"information ratio vs {bname}",
                     "strategy": FORMATS["num"](rel["information_ratio"]), "bh": "–"},
                ]  # fmt: skip
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
            fmt: dict[str, Any] = {k: f for k, _, f in METRIC_ROWS}
            fmt["benchmark_return"] = "spct"
            labels = {k: lab for k, lab, _ in METRIC_ROWS}
            labels |= {"scope": "ticker", "benchmark_return": "benchmark return"}
            body.append(table(per, fmt, labels=labels))
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
    pg.add("summary", "Summary", "".join(body))


def drawdown_table(eq: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` worst drawdowns of an equity curve: depth, start (the peak), valley,
    recovery (first session back at the peak, or none) and length in sessions."""
    e = eq.astype(float)
    peak = e.cummax()
    dd = np.where(peak > 0, e / peak - 1.0, -1.0)
    under = dd < 0
    rows = []
    i, n = 0, len(e)
    idx = e.index
    while i < n:
        if not under[i]:
            i += 1
            continue
        j = i
        while j < n and under[j]:
            j += 1
        seg = dd[i:j]
        v = i + int(np.argmin(seg))
        rows.append(
            {
                "depth": float(seg.min()),
                "start": idx[i - 1] if i > 0 else idx[i],
                "valley": idx[v],
                "recovery": idx[j] if j < n else pd.NaT,
                "sessions": (j - i + 1) if j < n else (n - i),
            }
        )
        i = j
    out = pd.DataFrame(rows, columns=["depth", "start", "valley", "recovery", "sessions"])
    return out.sort_values("depth").head(top).reset_index(drop=True)


def yearly_returns(eq: pd.Series, bench: pd.Series | None) -> pd.DataFrame:
    """Return of each calendar year (last close of the year over the last of the one before)."""
    e = eq.astype(float)
    last = e.groupby(e.index.year).last()
    prev = last.shift(1)
    prev.iloc[0] = float(e.iloc[0])
    out = pd.DataFrame({"year": last.index, "strategy": (last / prev - 1.0).to_numpy()})
    if bench is not None and len(bench):
        b = bench.reindex(e.index).ffill().bfill()
        bl = b.groupby(b.index.year).last()
        bp = bl.shift(1)
        bp.iloc[0] = float(b.iloc[0])
        out["benchmark"] = (bl / bp - 1.0).to_numpy()
    return out


def equity(pg: Page, run: RunFolder) -> None:
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
    bench, bname = bench_series(run)
    eqd = eq.assign(date=pd.to_datetime(eq["date"]))
    fig = equity_figure(eqd, positions=positions, events=events, bench=bench, bench_name=bname)
    s = eqd.set_index("date")["total"].astype(float)
    body = [
        para(
            "Cumulative return in percent of the starting equity, on a linear scale (the "
            "log button switches it); diamonds mark each event's reaction session, shaded spans "
            "are times in a position. The grey line is the benchmark bought and held from the "
            "same day."
        ),
        pg.fig(fig),
    ]
    if (s <= 0).any():
        body.append(
            note(
                f"The equity fell to zero or below on {s[s <= 0].index[0]:%Y-%m-%d}: the line "
                "ends where the account was ruined (−100% is the whole starting equity)."
            )
        )
    dd = drawdown_table(s)
    body.append('<div class="grid2"><div><h3>Worst drawdowns</h3>')
    if len(dd):
        body.append(
            table(
                dd,
                {
                    "depth": "spct",
                    "start": "date",
                    "valley": "date",
                    "recovery": "date",
                    "sessions": "int",
                },
                labels={
                    "depth": "depth",
                    "start": "start (peak)",
                    "valley": "valley",
                    "recovery": "recovered",
                    "sessions": "length (sessions)",
                },
                max_rows=None,
            )  # fmt: skip
        )
        body.append(note("recovered “–”: not back at its peak by the last session"))
    else:
        body.append(para("No drawdown: the equity never fell below an earlier peak."))
    yr = yearly_returns(s, bench)
    body.append("</div><div><h3>Returns by calendar year</h3>")
    body.append(
        table(
            yr,
            {"year": "text", "strategy": "spct", "benchmark": "spct"},
            labels={"benchmark": f"{bname or 'benchmark'} buy and hold"},
            max_rows=None,
            css="num",
        )
    )
    body.append("</div></div>")
    pg.add("equity", "Equity and drawdown", "".join(body))


def per_event_section(pg: Page, run: RunFolder) -> None:
    t = per_event(run)
    if t is None:
        pg.skip("Per event", "no trades.parquet in the folder")
        return
    t = session_sort(t)
    window = ((run.config.get("study") or {}).get("window")) or None
    car_label = f"stock's CAR [{window[0]}, +{window[1]}]" if window else "stock's CAR"
    cols = [
        # the trade's result right after the event: on a phone it shows without scrolling
        ("event_id", "event"), ("ret", "position's return"), ("pnl", "P&L"),
        ("direction", "side"), ("ticker", "ticker"), ("org", "org"), ("kind", "kind"),
        ("reaction_session", "reaction session"), ("entry_session", "entry"),
        ("exit_session", "exit"), ("exit_reason", "exit reason"),
        ("ar0", "stock's AR day 0"), ("car", car_label),
    ]  # fmt: skip
    for c, _ in cols:
        if c not in t.columns:
            t[c] = np.nan
    show = t[[c for c, _ in cols]]
    body = table(
        show,
        {"ret": "spct", "pnl": "smoney", "ar0": "spct", "car": "spct"},
        labels=dict(cols),
        max_rows=pg.rows,
        tone=("ret", "pnl"),
    )
    notes = [
        "position's return and P&L are the trade's, after costs; the stock's AR and CAR are the "
        "stock's abnormal returns (not the position's): for a short, a negative CAR is a gain."
    ]
    if events_of(run) is None:
        notes.append(
            "org and kind: the folder has no events.parquet (and the signal table has no "
            "event attributes), so they are blank"
        )
    if run.get("event_study") is None:
        notes.append("AR and CAR: no event_study.parquet in the folder")
    pg.add("events", "Per event", body + "".join(note(n) for n in notes))


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
                    "title": f"{tr.event_id} ({en:%Y-%m-%d})",
                    "x": dates[sl],
                    "y": close[sl],
                    "entry": (en, float(tr.entry_price)),
                    "exit": (ex, float(tr.exit_price)),
                    "win": float(tr.pnl) > 0,
                    "event": tr.reaction_session,
                    "short": getattr(tr, "direction", "long") == "short",
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
                "title": f"{tr.event_id} ({pd.Timestamp(tr.entry_session):%Y-%m-%d})",
                "x": x,
                "y": level,
                "entry": at(tr.entry_session),
                "exit": at(tr.exit_session),
                "win": float(tr.pnl) > 0,
                "event": tr.reaction_session,
                "short": getattr(tr, "direction", "long") == "short",
            }
        )
    return panels, True


def grid_meta(fig: Figure, n: int, cols: int, pane: int) -> Figure:
    """Tell the page's loader the figure is a grid of ``n`` panels in ``cols`` columns, so a
    narrow screen redraws it in fewer columns (``pane`` px per row)."""
    fig.layout_dict["meta"] = {"grid": [n, cols], "pane": pane}
    return fig


def windows(pg: Page, run: RunFolder) -> None:
    from evbt.report.figures import windows_figure

    trades = per_event(run)
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
        tt = session_sort(tt)
        more = len(tt) - cap
        panels, rebased = _window_panels(run, str(ticker), tt.head(cap))
        if not panels:
            continue
        rebased_any |= rebased
        body.append(f"<h3>{esc(ticker)}</h3>")
        fig = windows_figure(panels, rebased=rebased)
        body.append(pg.fig(grid_meta(fig, len(panels), min(4, len(panels)), 220)))
        if more > 0:
            body.append(note(f"{more} later trades of {ticker} not drawn (first {cap} shown)"))
    if not body:
        pg.skip("Price around each event", "no price path for any traded window")
        return
    intro = para(
        "Each panel is one trade: the price around it, the entry (a green up-triangle for a "
        "buy, a red down-triangle for a short sale) and the exit (a cross), the holding span "
        "shaded green for a win and red for a loss; the dotted line is the event's reaction "
        "session."
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
    won = (df["pnl"] > 0).groupby(df[by], sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n_trades": g.size(),
            "hit_rate": won.mean(),  # a share of whole counts: exact either way
            "mean_ret": g["ret"].mean(),
            "median_ret": g["ret"].median(),
            "total_pnl": g["pnl"].sum(),
        }
    )
    return out.reset_index().rename(columns={by: "group"}).sort_values("total_pnl", ascending=False)


GROUP_LABELS = {
    "n_trades": "trades", "hit_rate": "hit rate", "mean_ret": "mean return",
    "median_ret": "median return", "total_pnl": "total P&L",
}  # fmt: skip


def distribution(pg: Page, run: RunFolder) -> None:
    from evbt.report.figures import breakdown_figure, returns_histogram

    t = per_event(run)
    if t is None or t.empty or "ret" not in t.columns:
        pg.skip("Trade returns and breakdowns", "no trades in the folder")
        return
    body = [pg.fig(returns_histogram(t["ret"]))]
    r = t["ret"].astype(float)
    body.append(
        para(
            f"{len(r)} trades: mean {spct(r.mean())}, median {spct(r.median())}, "
            f"best {spct(r.max())}, worst {spct(r.min())}, hit rate {pct((t['pnl'] > 0).mean(), 1)}."
        )
    )
    fmt = {"hit_rate": "pct1", "mean_ret": "spct", "median_ret": "spct", "total_pnl": "smoney"}
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
        fig = breakdown_figure(groups)
        body.append(pg.fig(grid_meta(fig, len(groups), len(groups), 300)))
    else:
        body.append(
            note("by kind, org and tag: the folder has no event attributes (events.parquet)")
        )
    for extra in ("ticker", "exit_reason", "direction"):
        if extra in t.columns and t[extra].nunique() > 0:
            groups[extra] = _group_stats(t, extra)
    body.append('<div class="grid2">')
    for name, g in groups.items():
        lab = {"group": name.replace("_", " ")} | GROUP_LABELS
        body.append(
            f"<div><h3>By {esc(name.replace('_', ' '))}</h3>{table(g, fmt, labels=lab)}</div>"
        )
    body.append("</div>")
    pg.add("returns", "Trade returns and breakdowns", "".join(body))


def skipped(pg: Page, run: RunFolder) -> None:
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
        + table(counts, max_rows=None, labels={"code": "reason code"})
        + table(sk, max_rows=pg.rows, labels={"event_id": "event", "code": "reason code"}),
    )
