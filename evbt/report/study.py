"""The event study: CAAR with its band, the tests in words and numbers, and (on a study's
own page) CAR per event and ticker, CAAR per ticker and per group, price around each event.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evbt.report.folder import Page, RunFolder
from evbt.report.html import esc, note, para, pval, spct, table

if TYPE_CHECKING:
    from evbt.report.figures import Figure

SUMMARY_LABELS = {
    "group_type": "grouped by", "group": "group", "car_window": "CAR window",
    "n": "event × ticker rows", "caar": "CAAR", "boot_lo": "bootstrap 95% low",
    "boot_hi": "bootstrap 95% high", "placebo_p": "placebo p", "n_overlap": "overlapping rows",
    "n_thin": "thinly traded rows", "n_skipped": "rows skipped", "n_events": "events",
    "rbar": "mean correlation of ARs",
    "rbar_kp": "correlation KP uses (rbar floored at 0)", "n_shared": "rows sharing a day 0",
    "headline": "headline test", "p_headline": "headline p",
    "t_cs": "cross-sectional t", "p_cs": "p (t)", "patell_z": "Patell Z", "p_patell": "p (Patell)",
    "bmp_z": "BMP Z", "p_bmp": "p (BMP)", "corrado_z": "Corrado rank Z", "p_corrado": "p (rank)",
    "gsign_z": "generalized sign Z", "p_gsign": "p (sign)", "bmp_kp_z": "BMP-KP Z",
    "p_bmp_kp": "p (BMP-KP)", "patell_kp_z": "Patell-KP Z", "p_patell_kp": "p (Patell-KP)",
}  # fmt: skip
TEST_NAMES = {
    "t_cs": "cross-sectional t (Brown-Warner)", "patell_z": "Patell Z", "bmp_z": "BMP Z",
    "corrado_z": "Corrado rank", "gsign_z": "generalized sign", "bmp_kp_z": "BMP-KP Z",
    "patell_kp_z": "Patell-KP Z",
}  # fmt: skip
HEADLINES = {"bmp": "BMP", "bmp_kp": "BMP-KP (corrects for rows sharing a day 0)"}


def parse_window(w: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"\[\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*\]", str(w))
    return (int(m.group(1)), int(m.group(2))) if m else None


def caar_path(es: pd.DataFrame) -> pd.DataFrame:
    """CAAR per event day with a 95% t band from the cross-section of CARs."""
    from scipy.special import stdtrit  # t quantile; scipy.stats costs a second to import

    g = es.groupby("day")
    n = g["car"].count()
    caar = g["car"].mean()
    se = g["car"].std(ddof=1) / np.sqrt(n)
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
    return path.fillna({"lo": path["caar"], "hi": path["caar"]})


def collapse_groups(summ: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop groups identical to an earlier one (same windows, same n and CAAR): a group of
    every event (kind=model_launch when all are launches) repeats "all". Returns the kept
    rows and a note per collapsed set."""
    if not {"group_type", "group", "car_window", "n", "caar"} <= set(summ.columns):
        return summ, []
    seen: dict[tuple, str] = {}
    dropped: dict[str, list[str]] = {}
    keep = []
    for (gt, g), part in summ.groupby(["group_type", "group"], sort=False):
        sig = tuple(
            (str(w), int(n), round(float(c), 12) if pd.notna(c) else None)
            for w, n, c in part[["car_window", "n", "caar"]].itertuples(index=False)
        )
        name = "all events" if gt == "all" else f"{gt} {g}"
        if sig in seen:
            dropped.setdefault(seen[sig], []).append(name)
            continue
        seen[sig] = name
        keep.append(part)
    out = pd.concat(keep, ignore_index=True) if keep else summ.iloc[:0]
    notes = [
        f"{', '.join(v)}: the same rows as {k} (same n and CAAR in every window), shown once as {k}"
        for k, v in dropped.items()
    ]
    return out, notes


def study_section(pg: Page, run: RunFolder, *, own_page: bool = False) -> None:
    from evbt.report.figures import caar_figure

    es = run.get("event_study")
    summ = run.get("study_summary")
    if es is None and summ is None:
        if run.kind in ("bt", "study"):
            pg.skip("Event study", "no event_study.parquet or study_summary.parquet in the folder")
        return
    body = []
    if es is not None and len(es):
        n_ev = es[["event_id", "ticker"]].drop_duplicates().shape[0]
        body.append(
            para(
                f"Average cumulative abnormal return (CAAR, the stock's return minus what the "
                f"benchmark model expected) across {n_ev} event × ticker windows, with a 95% band "
                "from the cross-section of CARs (t quantiles; rows of one event share a date and "
                "are treated as independent here: see the bootstrap and placebo columns)."
            )
        )
        body.append(pg.fig(caar_figure(caar_path(es))))
    if summ is not None and len(summ):
        shown, notes = collapse_groups(summ)
        allrows = summ[summ["group_type"] == "all"] if "group_type" in summ.columns else summ
        if len(allrows) and "caar" in allrows.columns:
            body.append(_reading(allrows))
        fmt: dict[str, Any] = {
            c: "p" for c in summ.columns if c.startswith("p_") or c.endswith("_p")
        }
        fmt |= {
            "caar": "spct",
            "boot_lo": "spct",
            "boot_hi": "spct",
            "rbar": "num",
            "rbar_kp": "num",
        }
        for c in summ.columns:
            if c.endswith("_z") or c == "t_cs":
                fmt[c] = "num"
        key = [c for c in ("group_type", "group", "car_window", "n") if c in summ.columns]
        stats_cols = [c for c in summ.columns if c.startswith(("t_", "p_")) or c.endswith("_z")]
        main = [
            c
            for c in ("caar", "boot_lo", "boot_hi", "placebo_p", "headline", "p_headline")
            if c in summ.columns
        ]
        rest = [c for c in summ.columns if c not in key and c not in stats_cols and c not in main]
        body.append("<h3>CAAR by group, bootstrap interval and placebo</h3>")
        body.append(
            table(
                shown[key + main],
                fmt | {"headline": lambda v: HEADLINES.get(v, v)},
                labels=SUMMARY_LABELS,
            )
        )
        body.extend(note(n) for n in notes)
        if stats_cols:
            body.append("<h3>Test statistics and p-values (all events)</h3>")
            body.append(_tests_by_window(summ, stats_cols))
            body.append(
                "<details><summary>every group and statistic</summary>"
                f"{table(shown[key + stats_cols + rest], fmt, labels=SUMMARY_LABELS)}</details>"
            )
        body.append(
            note(
                "cross-sectional t: Brown-Warner; Patell and BMP standardise each AR by its "
                "estimation-window error; Corrado: ranks; generalized sign: share of positive "
                "ARs; bootstrap: whole events resampled; placebo p: how often random non-event "
                "sessions give a CAAR as far from zero."
            )
        )
    if own_page:
        pg.add("study", "CAAR and its tests", "".join(body))
    else:
        pg.add("study", "Event study", "".join(body))


def _reading(allrows: pd.DataFrame) -> str:
    """One plain sentence per CAR window: the CAAR, its headline p-value and what it means."""
    out = []
    for _, r in allrows.iterrows():
        p = r.get("p_headline", np.nan)
        test = HEADLINES.get(str(r.get("headline", "")), str(r.get("headline", "")))
        reading = (
            "unlikely to be chance at the 5% level"
            if pd.notna(p) and float(p) < 0.05
            else "within what chance gives (not evidence of an effect)"
        )
        out.append(
            f"<li>CAR {esc(r['car_window'])}: CAAR {esc(spct(r['caar']))} over {int(r['n'])} "
            f"rows; {esc(test)} p = {esc(pval(p))}: {esc(reading)}.</li>"
        )
    return "<ul>" + "".join(out) + "</ul>"


def _tests_by_window(summ: pd.DataFrame, stats_cols: list[str]) -> str:
    """All-events rows, one row per test: its statistic and p-value in each CAR window."""
    from evbt.report.html import num

    rows = summ[summ["group_type"] == "all"] if "group_type" in summ.columns else summ
    pairs = []
    for c in stats_cols:
        if c.startswith("p_"):
            continue
        name = c[2:] if c.startswith("t_") else c.removesuffix("_z")
        pairs.append((c, f"p_{name}" if f"p_{name}" in summ.columns else None))
    out = []
    for stat, pcol in pairs:
        rec = {"test": TEST_NAMES.get(stat, stat)}
        for _, r in rows.iterrows():
            w = str(r.get("car_window", ""))
            rec[f"{w} statistic"] = num(r[stat])
            rec[f"{w} p"] = pval(r[pcol]) if pcol else "–"
        out.append(rec)
    return table(pd.DataFrame(out), max_rows=None, css="num")


def car_table(es: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """CAR over ``window`` per event (rows, with day 0's date) and ticker (columns)."""
    a, b = window
    w = es[(es["day"] >= a) & (es["day"] <= b)]
    car = w.groupby(["event_id", "ticker"], sort=False)["ar"].sum(min_count=1)
    d0 = es[es["day"] == 0].drop_duplicates("event_id").set_index("event_id")["session"]
    wide = car.unstack("ticker")
    wide.insert(0, "day 0", pd.to_datetime(wide.index.map(d0)))
    return wide.sort_values("day 0").reset_index()


def _heat(v: object) -> str:
    """A CAR cell coloured by sign and size (up to ±10% full colour)."""
    if v is None or pd.isna(v):
        return "<span>–</span>"
    x = float(v)  # type: ignore[arg-type]
    a = min(abs(x) / 0.10, 1.0) * 0.55
    rgb = "26,152,80" if x > 0 else "215,48,39"
    return f'<span style="display:block;background:rgba({rgb},{a:.2f})">{esc(spct(x, 1))}</span>'


def study_extras(pg: Page, run: RunFolder) -> None:
    """A study's own sections: CAR per event and ticker, CAAR per ticker and group, price
    around each event."""
    from evbt.report.backtest import grid_meta
    from evbt.report.figures import windows_figure

    es = run.get("event_study")
    summ = run.get("study_summary")
    if es is None or es.empty:
        return
    wins = []
    if summ is not None and "car_window" in summ.columns:
        wins = [w for w in dict.fromkeys(summ["car_window"].astype(str)) if parse_window(w)]
    main = parse_window(wins[-1]) if wins else (int(es["day"].min()), int(es["day"].max()))
    assert main is not None
    wide = car_table(es, main)
    tick = [c for c in wide.columns if c not in ("event_id", "day 0")]
    shown = wide.copy()
    for c in tick:
        shown[c] = shown[c].map(_heat)
    body = [
        para(
            f"The stock's cumulative abnormal return over sessions [{main[0]}, {main[1]:+d}] "
            "around each event's reaction session (day 0), one column per ticker: green above "
            "what the benchmark model expected, red below."
        ),
        table(
            shown,
            {"day 0": "date"},
            labels={"event_id": "event"},
            raw=tuple(tick),
            max_rows=pg.rows,
        ),
    ]
    pg.add("cars", "CAR per event and ticker", "".join(body))

    # CAAR per ticker (t band) and per group (bootstrap interval)
    from evbt.report.figures import caar_figure

    body = []
    tickers = sorted(es["ticker"].unique())
    if len(tickers) > 1:
        for t in tickers[: pg.panels]:
            body.append(
                pg.fig(caar_figure(caar_path(es[es["ticker"] == t]), title=f"{t}", height=280))
            )
    if summ is not None and len(summ) and {"boot_lo", "boot_hi"} <= set(summ.columns):
        shown_g, notes = collapse_groups(summ)
        g = shown_g[shown_g["car_window"].astype(str) == (wins[-1] if wins else "")]
        if len(g) > 1:
            body.append(pg.fig(_group_figure(g, wins[-1])))
            body.extend(note(n) for n in notes)
    if body:
        intro = para(
            "CAAR per ticker (95% t band) and per group of events (the bootstrap's 95% interval "
            "of whole events) for the main window."
        )
        pg.add("groups", "CAAR per ticker and group", intro + "".join(body))

    # price around each event (rebased from the panel's daily returns)
    panels: list[dict] = []
    for (eid, t), w in es.sort_values("day").groupby(["event_id", "ticker"], sort=False):
        if len(panels) >= pg.panels_total:
            break
        level = 100.0 * np.cumprod(1.0 + w["ret"].fillna(0.0).to_numpy(dtype=float))
        d0 = w.loc[w["day"] == 0, "session"]
        panels.append(
            {
                "title": f"{eid} {t}",
                "x": pd.to_datetime(w["session"]).to_numpy(),
                "y": level,
                "entry": None,
                "exit": None,
                "event": d0.iloc[0] if len(d0) else None,
            }
        )
    if panels:
        fig = windows_figure(panels, rebased=True)
        n_all = es[["event_id", "ticker"]].drop_duplicates().shape[0]
        pg.add(
            "paths",
            "Price around each event",
            para(
                "The stock's price over the study window (100 = the close before it); the "
                "dotted line is day 0."
            )
            + pg.fig(grid_meta(fig, len(panels), min(4, len(panels)), 220))
            + (note(f"first {len(panels)} of {n_all} drawn") if len(panels) < n_all else ""),
        )


def _group_figure(g: pd.DataFrame, window: str) -> Figure:
    from evbt.report.figures import Figure

    names = [
        "all events" if gt == "all" else f"{gt}: {gr}"
        for gt, gr in g[["group_type", "group"]].itertuples(index=False)
    ]
    c = g["caar"].to_numpy(dtype=float) * 100
    lo = g["boot_lo"].to_numpy(dtype=float) * 100
    hi = g["boot_hi"].to_numpy(dtype=float) * 100
    trace = {
        "type": "scatter",
        "x": np.round(c, 4),
        "y": names,
        "mode": "markers",
        "marker": {"size": 9, "color": "#2857a4"},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": np.round(np.nan_to_num(hi - c), 4),
            "arrayminus": np.round(np.nan_to_num(c - lo), 4),
        },
        "customdata": np.stack([np.round(lo, 2), np.round(hi, 2), g["n"].to_numpy()], axis=1),
        "hovertemplate": "%{y}: CAAR %{x:+.2f}% (95%: %{customdata[0]:+.2f}% to "
        "%{customdata[1]:+.2f}%, n=%{customdata[2]})<extra></extra>",
    }
    layout = {
        "height": max(220, 36 * len(names) + 80),
        "margin": {"l": 150, "r": 20, "t": 40, "b": 40},
        "title": {"text": f"CAAR {window} by group, bootstrap 95% interval", "font": {"size": 12}},
        "xaxis": {"title": {"text": "CAAR (%)"}, "ticksuffix": "%", "zeroline": True},
        "yaxis": {"autorange": "reversed", "automargin": True},
    }
    return Figure([trace], layout)
