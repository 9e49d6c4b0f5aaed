"""The sweep page: every combination on the heatmaps ("none" a category of its own, the best
cell marked), the overfitting statistics in words, and the walk-forward explained."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from evbt.report.folder import Page, RunFolder, cards
from evbt.report.html import esc, note, num, para, pct, pval, spct, table
from evbt.report.words import param_name, value_words

#: swept columns that are results, not parameters (C2)
SWEEP_RESULT_COLUMNS = frozenset(
    {
        "combo_id", "scope", "total_return", "cagr", "volatility", "ann_vol", "sharpe",
        "sortino", "max_drawdown", "calmar", "hit_rate", "profit_factor", "avg_trade",
        "exposure", "n_trades", "n_skipped", "n_obs", "skew", "kurt", "avg_win", "avg_loss",
        "benchmark_return", "excess_return", "dsr", "psr_pvalue", "bh_reject", "by_reject",
        "n_signals", "ruined", "n_events", "n_active_days", "event_pnl_mean", "event_pnl_sd",
        "event_t", "event_p", "event_bh_reject", "event_by_reject",
    }
)  # fmt: skip
#: metrics that are fractions: shown in percent
PCT_METRICS = frozenset(
    {
        "total_return", "cagr", "volatility", "ann_vol", "max_drawdown", "hit_rate",
        "avg_trade", "exposure", "excess_return", "benchmark_return",
    }
)  # fmt: skip
METRIC_NAMES = {
    "sharpe": "Sharpe ratio", "sortino": "Sortino ratio", "calmar": "Calmar ratio",
    "total_return": "total return", "cagr": "CAGR", "volatility": "volatility",
    "max_drawdown": "max drawdown", "hit_rate": "hit rate", "profit_factor": "profit factor",
    "avg_trade": "average trade return", "exposure": "exposure", "n_trades": "trades",
    "dsr": "deflated Sharpe (probability)", "psr_pvalue": "p (Sharpe > 0, PSR)",
    "bh_reject": "survives BH (PSR)", "by_reject": "survives BY (PSR)", "combo_id": "combination",
    "n_events": "events", "n_active_days": "non-zero days", "event_p": "p (mean event P&L > 0)",
    "event_bh_reject": "survives BH (events)", "event_by_reject": "survives BY (events)",
}  # fmt: skip


def _fdr_column(summ: pd.DataFrame) -> str:
    """The false-discovery decision the page reads: the event-level one (the test counts
    events, not mostly-zero days) where the sweep has it, else the PSR's (older runs)."""
    return "event_bh_reject" if "event_bh_reject" in summ.columns else "bh_reject"


def sweep_params(run: RunFolder, sweep: pd.DataFrame) -> list[str]:
    declared = [k for k in (run.config.get("sweep") or {}) if k in sweep.columns]
    if declared:
        return declared
    return [c for c in sweep.columns if c not in SWEEP_RESULT_COLUMNS]


def _order(run: RunFolder, sweep: pd.DataFrame, p: str) -> list[str]:
    """The labels of parameter ``p`` in reading order: "none" first, numbers ascending,
    words in the order the config lists them."""
    declared = (run.config.get("sweep") or {}).get(p)
    vals = list(sweep[p].drop_duplicates())
    has_none = any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals)
    real = [v for v in vals if not (v is None or (isinstance(v, float) and math.isnan(v)))]
    if isinstance(declared, list):
        pos = {value_words(p, v): i for i, v in enumerate(declared)}
        labels = sorted({value_words(p, v) for v in real}, key=lambda s: (pos.get(s, 1e9), s))
    else:
        try:
            real = sorted(real)
        except TypeError:
            real = sorted(real, key=str)
        labels = list(dict.fromkeys(value_words(p, v) for v in real))
    return (["none"] if has_none else []) + [lab for lab in labels if lab != "none"]


def labelled(run: RunFolder, sweep: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """``sweep`` with each parameter replaced by its label ("none", "5%", "+2", "long")."""
    out = sweep.copy()
    for p in params:
        out[p] = [value_words(p, v) for v in sweep[p]]
    return out


def heatmap_slices(
    run: RunFolder, sweep: pd.DataFrame, params: list[str], metric: str
) -> tuple[str, str | None, list[str], list[tuple[str, pd.DataFrame, int]]]:
    """(x, y, other parameters, slices): one pivot of ``metric`` over x × y per combination
    of the other parameters' values, "none" included; each slice with its number of
    combinations. Together the slices hold every combination of the sweep."""
    x, y = (
        ("entry_offset", "hold")
        if {"entry_offset", "hold"} <= set(params)
        else (params[0], params[1] if len(params) > 1 else None)
    )
    others = [p for p in params if p not in (x, y)]
    lab = labelled(run, sweep, params)
    orders = {p: _order(run, sweep, p) for p in params}
    yy = y or "_one"
    if y is None:
        lab["_one"] = "all"
        orders["_one"] = ["all"]
    slices = []
    for vals in itertools.product(*[orders[o] for o in others]) if others else [()]:
        mask = np.ones(len(lab), dtype=bool)
        for o, v in zip(others, vals, strict=True):
            mask &= (lab[o] == v).to_numpy()
        part = lab[mask]
        if part.empty:
            continue
        piv = part.pivot_table(index=yy, columns=x, values=metric, aggfunc="mean", dropna=False)
        piv = piv.reindex(
            index=[v for v in orders[yy] if v in piv.index],
            columns=[v for v in orders[x] if v in piv.columns],
        )
        title = " · ".join(f"{param_name(o, True)}: {v}" for o, v in zip(others, vals, strict=True))
        slices.append((title or "all combinations", piv, len(part)))
    return x, y, others, slices


def sweep_page(pg: Page, run: RunFolder, metric: str) -> None:
    sweep = run.sweep
    summ = run.get("sweep_summary")
    of = run.manifest.get("overfit") or {}
    if sweep is None:
        pg.skip("Heatmaps", "no sweep/parts/*.parquet in the folder")
        return
    params = sweep_params(run, sweep)
    n = sweep["combo_id"].nunique() if "combo_id" in sweep.columns else len(sweep)
    _headline(pg, run, sweep, summ, of, params, n)
    _heatmaps(pg, run, sweep, params, metric, n)
    _overfit(pg, run, summ, of, params, n)
    _walk_forward(pg, of)


def _best(sweep: pd.DataFrame, metric: str) -> pd.Series | None:
    if metric not in sweep.columns:
        return None
    v = sweep[metric].replace([np.inf, -np.inf], np.nan)
    if v.notna().sum() == 0:
        return None
    return sweep.loc[v.idxmax()]


def _combo_words(row: pd.Series, params: list[str]) -> str:
    return ", ".join(f"{param_name(p, True)} {value_words(p, row[p])}" for p in params)


def _headline(
    pg: Page,
    run: RunFolder,
    sweep: pd.DataFrame,
    summ: pd.DataFrame | None,
    of: dict,
    params: list[str],
    n: int,
) -> None:
    items: list[Any] = [(f"{n:,}", "combinations backtested")]
    best = _best(sweep, "sharpe")
    if best is not None:
        items.append((num(best["sharpe"]), "best Sharpe ratio"))
        if "total_return" in best.index:
            items.append((spct(best["total_return"]), "its total return"))
    if of.get("pbo") is not None:
        p = float(of["pbo"])
        items.append((f"{p:.0%}", "probability of overfitting (PBO)", "bad" if p >= 0.5 else ""))
    if summ is not None and len(summ) and "dsr" in summ.columns and "sharpe" in summ.columns:
        b = summ.loc[summ["sharpe"].idxmax()]
        d = float(b["dsr"])
        items.append((f"{d:.0%}", "deflated Sharpe of the best", "good" if d >= 0.95 else "bad"))
    if summ is not None and _fdr_column(summ) in summ.columns:
        col = _fdr_column(summ)
        k = int(summ[col].astype(bool).sum())
        unit = ", events" if col.startswith("event_") else ""
        items.append((f"{k:,} of {len(summ):,}", f"survive false-discovery control (BH 5%{unit})"))
    body = [cards(items)]
    if best is not None:
        body.append(para(f"Best by Sharpe ratio: {_combo_words(best, params)}."))
    pg.add("summary", "Summary", "".join(body))


def _heatmaps(
    pg: Page, run: RunFolder, sweep: pd.DataFrame, params: list[str], metric: str, n: int
) -> None:
    from evbt.report.backtest import grid_meta
    from evbt.report.figures import heatmap_figure

    body = []
    if metric not in sweep.columns:
        body.append(note(f"metric {metric!r} is not a column of the sweep parts; using sharpe"))
        metric = "sharpe"
    if metric not in sweep.columns or not params:
        pg.skip("Heatmaps", f"no {metric} column or no swept parameter in the sweep parts")
        return
    x, y, others, slices = heatmap_slices(run, sweep, params, metric)
    total = len(slices)
    best_row = _best(sweep, metric)
    if total > pg.slices:
        slices.sort(key=lambda s: -np.nanmax(s[1].to_numpy(dtype=float), initial=-np.inf))
        slices = slices[: pg.slices]
    best = None
    if best_row is not None:
        bl = {p: value_words(p, best_row[p]) for p in params}
        want = " · ".join(f"{param_name(o, True)}: {bl[o]}" for o in others) or "all combinations"
        for i, (title, _, _) in enumerate(slices):
            if title == want:
                best = (i, bl[x], bl[y] if y else "all", float(best_row[metric]))
    mname = METRIC_NAMES.get(metric, metric)
    pct_metric = metric in PCT_METRICS
    body.append(
        f"<h3>{esc(mname)} over {esc(param_name(x))} × {esc(param_name(y) if y else '-')}</h3>"
    )
    drawn = sum(k for _, _, k in slices)
    per = sorted({k for _, _, k in slices})
    each = (
        f"{per[0]:,} combinations each"
        if len(per) == 1
        else "combinations: " + ", ".join(f"{k:,}" for _, _, k in slices)
    )
    text = (
        f"{len(slices)} heatmap{'s' if len(slices) != 1 else ''}"
        + (
            f", one per value of {' and '.join(param_name(o, True) for o in others)}"
            if others
            else ""
        )
        + f" ({each}): {drawn:,} of the sweep's {n:,} combinations drawn"
        + (
            "; “none” is the run without a stop (or that parameter unset)."
            if any("none" in t for t, _, _ in slices)
            else "."
        )
    )
    body.append(para(text))
    if best_row is not None:
        body.append(
            para(
                f"★ marks the best {mname}: {_num_or_pct(best_row[metric], pct_metric)} "
                f"({_combo_words(best_row, params)})."
            )
        )
    fig = heatmap_figure(
        [(t, p) for t, p, _ in slices],
        x=param_name(x, True),
        y=param_name(y, True) if y else "-",
        metric=mname,
        percent=pct_metric,
        best=best,
    )
    cols = min(2, len(slices))
    body.append(pg.fig(grid_meta(fig, len(slices), cols, 300)))
    if total > pg.slices:
        body.append(
            note(f"{len(slices)} of {total} heatmaps drawn (those with the best {mname}); "
                 f"{n - drawn:,} combinations are not drawn")
        )  # fmt: skip
    pg.add("heatmaps", "Heatmaps", "".join(body))


def _num_or_pct(v: Any, as_pct: bool) -> str:
    return spct(v) if as_pct else num(v, 3)


def _overfit(
    pg: Page, run: RunFolder, summ: pd.DataFrame | None, of: dict, params: list[str], n: int
) -> None:
    from evbt.report.figures import sharpe_histogram

    body = [
        para(
            f"Picking the best of {n:,} backtests finds a good-looking combination even when "
            "none has an edge. Each statistic below asks whether the best is more than that "
            "luck, with its number and what it says."
        )
    ]
    items: list[str] = []

    def item(term: str, value: str, meaning: str, reading: str) -> None:
        items.append(
            f"<dt>{esc(term)}: {esc(value)}</dt><dd>{esc(meaning)} <b>{esc(reading)}</b></dd>"
        )

    best = None
    if summ is not None and len(summ) and "sharpe" in summ.columns:
        best = summ.loc[summ["sharpe"].replace([np.inf, -np.inf], np.nan).idxmax()]
    if of.get("pbo") is not None:
        p = float(of["pbo"])
        item(
            "Probability of backtest overfitting (PBO)",
            f"{p:.2f}",
            f"The events were split in halves {int(of.get('pbo_n_splits') or 0):,} ways (CSCV); "
            f"in {p:.0%} of the splits the combination best on one half ranked below the median "
            "on the other.",
            "Above 0.5 the choice is worse than a coin flip: the best combination was most "
            "likely chosen by noise."
            if p >= 0.5
            else "Below 0.5 the in-sample choice tends to carry over; below 0.1 it is robust.",
        )
    if best is not None and summ is not None and "dsr" in summ.columns:
        d = float(best["dsr"])
        sr0 = of.get("sr0_annual")
        bench = (
            f" The best of {n:,} noise strategies would show an annual Sharpe ratio of about "
            f"{float(sr0):.2f}; the best here has {float(best['sharpe']):.2f}."
            if sr0 is not None
            else ""
        )
        item(
            "Deflated Sharpe ratio (DSR) of the best",
            f"{d:.3f}",
            "The probability that the best combination's true Sharpe ratio is above zero, after "
            f"allowing for {n:,} trials, the spread of their Sharpe ratios and the returns' skew "
            f"and fat tails.{bench}",
            "At 0.95 or more the best is unlikely to be luck."
            if d >= 0.95
            else f"Below 0.95: the best combination's Sharpe is what the best of {n:,} noise "
            "strategies would show: not evidence of an edge.",
        )
    if best is not None and summ is not None and "psr_pvalue" in summ.columns:
        pv = float(best["psr_pvalue"])
        item(
            "p-value of the best alone (probabilistic Sharpe ratio)",
            pval(pv),
            "How often a strategy with no skill would show this Sharpe ratio over this many "
            "returns, taken as if it were the only one tried.",
            "Read it beside the DSR: one backtest's p-value ignores the other trials.",
        )
    if best is not None and summ is not None and "event_p" in summ.columns:
        ep = float(best["event_p"])
        ne = int(best["n_events"]) if "n_events" in best.index else 0
        nz = int(best["n_active_days"]) if "n_active_days" in best.index else 0
        item(
            "p-value of the best, counted in events (t-test of its per-event P&L)",
            pval(ep),
            f"The best combination traded {ne:,} events and had {nz:,} days with a non-zero "
            "return: an event strategy's daily returns are mostly zeros, so its evidence is "
            "its events. This tests whether the mean P&L per event is above zero.",
            "The false-discovery control below is based on this p-value."
            if "event_bh_reject" in summ.columns
            else "Read it beside the PSR p-value above.",
        )
    if summ is not None and _fdr_column(summ) in summ.columns:
        col = _fdr_column(summ)
        by_col = col.replace("bh", "by")
        k = int(summ[col].astype(bool).sum())
        ky = int(summ[by_col].astype(bool).sum()) if by_col in summ.columns else None
        q = float(of.get("fdr_q") or 0.05)
        basis = "per-event p-values" if col.startswith("event_") else "PSR p-values"
        item(
            f"False-discovery control (Benjamini-Hochberg, Benjamini-Yekutieli; {basis})",
            f"{k:,} of {len(summ):,}" + (f" (BY: {ky:,})" if ky is not None else ""),
            f"Combinations whose p-value stays significant when the share of false discoveries "
            f"among all {len(summ):,} is held at {q:.0%} (BY also allows for correlated tests).",
            "None survives: no combination stands out from the rest."
            if k == 0
            else f"{k:,} survive: they are candidates, still to be checked on new events.",
        )
    if items:
        body.append(f'<dl class="words">{"".join(items)}</dl>')
    else:
        body.append(note("no sweep_summary.parquet and no overfit statistics in the manifest"))
    if summ is not None and len(summ):
        ps = [prm for prm in params if prm in summ.columns]
        lab = summ.copy()
        for prm in ps:
            lab[prm] = [value_words(prm, v) for v in summ[prm]]
        cols = ps + [
            c
            for c in (
                "sharpe",
                "total_return",
                "max_drawdown",
                "n_trades",
                "dsr",
                "psr_pvalue",
                "n_events",
                "n_active_days",
                "event_p",
                _fdr_column(summ),
            )
            if c in lab.columns
        ]
        fmt: dict[str, Any] = {
            "sharpe": "num", "total_return": "spct", "max_drawdown": "spct", "n_trades": "int",
            "dsr": "num3", "psr_pvalue": "p", "bh_reject": "yesno", "n_events": "int",
            "n_active_days": "int", "event_p": "p", "event_bh_reject": "yesno",
        }  # fmt: skip
        labels = {prm: param_name(prm, True) for prm in ps} | METRIC_NAMES
        if "sharpe" in summ.columns:
            body.append("<h3>Top combinations by Sharpe ratio</h3>")
            top = lab.sort_values("sharpe", ascending=False)[cols]
            body.append(table(top, fmt, labels=labels, max_rows=15, tone=("total_return",)))
            body.append(pg.fig(sharpe_histogram(summ["sharpe"], float(summ["sharpe"].max()))))
        if _fdr_column(summ) in summ.columns:
            surv = lab[lab[_fdr_column(summ)].astype(bool)]
            if len(surv):
                body.append("<h3>What survives false-discovery control</h3>")
                body.append(
                    table(
                        surv.sort_values("sharpe", ascending=False)[cols],
                        fmt,
                        labels=labels,
                        max_rows=50,
                    )
                )
    pg.add("overfit", "Is the best combination more than luck?", "".join(body))


def _walk_forward(pg: Page, of: dict) -> None:
    from evbt.report.figures import walk_forward_figure

    wf = of.get("walk_forward")
    if not wf:
        pg.skip("Walk-forward", "the manifest has no walk_forward result")
        return
    wfd = pd.DataFrame(wf)
    m = of.get("walk_forward_mean") or {}
    body = [
        para(
            "The events are cut, in time order, into blocks. Fold k picks the combination with "
            "the best mean trade return on the blocks before k (in-sample) and scores the same "
            "combination on block k, which it has not seen (out-of-sample). Scores are mean "
            "trade returns in percent; the out-of-sample rank is the share of the other "
            "combinations it beats on the new block (50% is what a choice by noise gets)."
        )
    ]
    if m:
        is_s, oos_s, rank = m.get("is_score"), m.get("oos_score"), m.get("oos_rank_pct")
        carried = rank is not None and float(rank) >= 0.7
        body.append(
            para(
                f"Over {int(m.get('n_folds', len(wfd)))} folds: {spct(is_s)} in-sample, "
                f"{spct(oos_s)} out-of-sample, out-of-sample rank {pct(rank, 0)} on average. "
                + (
                    "The choice carries forward: the in-sample winner stays near the top."
                    if carried
                    else "The choice does not carry forward: out of sample the in-sample winner "
                    "does about as well as a combination picked at random."
                )
            )
        )
    if {"fold", "is_score", "oos_score"} <= set(wfd.columns):
        body.append(pg.fig(walk_forward_figure(wfd)))
    labels = {
        "fold": "fold", "is_combo": "combination chosen", "is_score": "in-sample mean trade",
        "oos_score": "out-of-sample mean trade", "oos_rank_pct": "out-of-sample rank",
        "is_n_trades": "in-sample trades", "oos_n_trades": "out-of-sample trades",
        "is_median": "in-sample median of the grid", "oos_median": "out-of-sample median of the grid",
        "n_is_combos": "combinations scored in-sample", "n_oos_combos": "combinations scored out-of-sample",
    }  # fmt: skip
    fmt = {
        "is_score": "spct", "oos_score": "spct", "oos_rank_pct": "pct1", "is_median": "spct",
        "oos_median": "spct",
    }  # fmt: skip
    body.append(table(wfd, fmt, labels=labels, tone=("oos_score",)))
    pg.add("walkforward", "Walk-forward: in-sample vs out-of-sample", "".join(body))
