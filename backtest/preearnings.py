"""Pre-earnings analysis: how a ticker runs into and reacts to its reports, split by whether
a Chinese efficiency launch (or a policy event) landed in the sessions just before.

Everything is computed *as of* a day: the catalog as known then (``evbt.data.catalog.as_of``, applied by the application)
and prices up to that day only. Past reports are those whose whole window (run-up and the
five sessions after the reaction) ended on or before the as-of day.

Windows, in sessions relative to the report's reaction session (day 0; for an after-close
report the report day is day -1):

- run-up: ``[-N, -1]`` (entry N sessions before, out at the last close before the news);
- reaction: day 0, and ``[0, +5]``.

Returns are compounded simple returns; abnormal returns come from the event study
(:func:`evbt.backtest.study.run_study`: market model on the benchmark, estimation window
ending before the run-up, leaving out the sessions that lie in the windows of the ticker's
earlier reports). A benchmark that holds the ticker (SMH and NVDA) gets a warning note. A
launch "lands before" a report when its reaction session is one of the N sessions before
the report's reaction session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evbt.errors import InputError

REPORT_COLUMNS = [
    "event_id",
    "ticker",
    "report_date",
    "time",
    "reaction_session",
    "runup_ret",
    "runup_ar",
    "react0_ret",
    "react0_ar",
    "react5_ret",
    "react5_car",
    "launch_before",
    "launch_ids",
    "policy_before",
    "policy_ids",
]
TEST_COLUMNS = [
    "window",
    "split",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "diff",
    "stat",
    "pvalue",
    "test",
]
NEXT_COLUMNS = [
    "role",
    "event_id",
    "name",
    "kind",
    "status",
    "date",
    "time",
    "window_start",
    "window_end",
    "reaction_session",
    "sessions_before_report",
    "known_at",
]
WINDOWS = {"runup": "runup_ar", "react0": "react0_ar", "react5": "react5_car"}
REACT_DAYS = 5


@dataclass(frozen=True)
class PreEarnings:
    """What :func:`pre_earnings` returns: the three tables of contract C4 and the inputs."""

    reports: pd.DataFrame
    tests: pd.DataFrame
    next: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _launch_mask(cat: pd.DataFrame) -> pd.Series:
    from evbt.signals.select import tag_mask

    return (cat["kind"] == "model_launch") & tag_mask(cat, all_of=("china", "efficiency"))


def _before(
    events: pd.DataFrame, react: pd.Timestamp, sessions: pd.DatetimeIndex, n: int
) -> list[str]:
    pos = sessions.get_indexer([react])[0]
    if pos < 0:
        return []
    lo = sessions[max(pos - n, 0)]
    hit = events[(events["reaction_session"] >= lo) & (events["reaction_session"] < react)]
    return hit["id"].astype(str).tolist()


def pre_earnings(
    prices: pd.DataFrame,
    known: pd.DataFrame,
    *,
    sessions: pd.DatetimeIndex,
    ticker: str = "NVDA",
    asof: Any,
    lookback: int = 10,
    benchmark: str = "SMH",
    estimation: int = 120,
    gap: int = 10,
) -> PreEarnings:
    """The pre-earnings tables of ``ticker`` as of ``asof`` (see the module docstring).

    ``prices``: the long contract table (``date, ticker, close`` at least) with ``ticker``
    and ``benchmark``; rows after ``asof`` are dropped first. ``known``: the catalog as known
    on ``asof``; ``sessions``: the NYSE sessions (the application checks ``asof`` and
    ``lookback`` and loads both; :func:`evbt.api.pre_earnings`).
    """
    from evbt.backtest.study import run_study
    from evbt.backtest.study_run import benchmark_holds_note

    n = int(lookback)
    tk = str(ticker).strip().upper()
    day = pd.Timestamp(asof).normalize()

    px = prices[pd.to_datetime(prices["date"]) <= day]
    for t in (tk, benchmark):
        if not (px["ticker"] == t).any():
            raise InputError(
                f"prices: no rows for {t} on or before {day:%Y-%m-%d}: "
                "use a price file that holds the ticker and the benchmark"
            )
    close = px.pivot_table(index="date", columns="ticker", values="close", aggfunc="last")
    close.index = pd.DatetimeIndex(pd.to_datetime(close.index))
    close = close.sort_index()
    rets = close[[tk]].pct_change(fill_method=None).iloc[1:]
    bench = close[benchmark].pct_change(fill_method=None).iloc[1:]
    idx = rets.index
    cal = (
        sessions[(sessions >= idx[0]) & (sessions <= day + pd.Timedelta(days=400))]
        if len(idx)
        else idx
    )

    earn = known[
        (known["kind"] == "earnings")
        & known["tickers"].map(lambda s: tk in str(s).split(";"))
        & known["reaction_session"].notna()
    ]
    launches = known[_launch_mask(known) & known["reaction_session"].notna()]
    policy = known[(known["kind"] == "policy") & known["reaction_session"].notna()]

    # past reports: the whole window [-N, +5] inside the price data up to the as-of day
    rows = []
    for _, ev in earn[earn["status"] == "confirmed"].iterrows():
        react = pd.Timestamp(ev["reaction_session"])
        pos = idx.get_indexer([react])[0]
        if pos < 0 or pos - n < 0 or pos + REACT_DAYS >= len(idx):
            continue
        r = rets[tk].to_numpy()
        la, po = _before(launches, react, cal, n), _before(policy, react, cal, n)
        rows.append(
            {
                "event_id": str(ev["id"]),
                "ticker": tk,
                "report_date": pd.Timestamp(ev["date"]),
                "time": str(ev["time"]),
                "reaction_session": react,
                "runup_ret": float(np.prod(1 + r[pos - n : pos]) - 1),
                "react0_ret": float(r[pos]),
                "react5_ret": float(np.prod(1 + r[pos : pos + REACT_DAYS + 1]) - 1),
                "launch_before": bool(la),
                "launch_ids": ";".join(la),
                "policy_before": bool(po),
                "policy_ids": ";".join(po),
            }
        )
    reports = pd.DataFrame(rows)
    notes: list[str] = []
    held = benchmark_holds_note(benchmark, [tk], fix="--benchmark, or [data] benchmark")
    if held:
        notes.append(held)
    if len(reports):
        evs = pd.DataFrame(
            {
                "event_id": reports["event_id"],
                "ticker": tk,
                "reaction_session": reports["reaction_session"],
                "tags": np.where(reports["launch_before"], "launch_before", "no_launch"),
            }
        )
        res = run_study(
            rets,
            bench,
            evs,
            window=(-n, REACT_DAYS),
            model="market_model",
            estimation=estimation,
            gap=gap,
            bootstrap=0,
            placebo=0,
            car_windows=[(-n, -1), (0, 0), (0, REACT_DAYS)],
        )
        notes.extend(res.notes)
        notes.extend(f"{e}: left out of the study ({why})" for e, _t, why in res.skipped)
        p = res.panel
        ar = {
            "runup_ar": p[p["day"] < 0].groupby("event_id")["ar"].sum(),
            "react0_ar": p[p["day"] == 0].groupby("event_id")["ar"].sum(),
            "react5_car": p[p["day"] >= 0].groupby("event_id")["ar"].sum(),
        }
        for col, s in ar.items():
            reports[col] = reports["event_id"].map(s).astype("float64")
    reports = reports.reindex(columns=REPORT_COLUMNS)
    reports = reports.sort_values("reaction_session", kind="stable").reset_index(drop=True)
    tests = _tests(reports)
    nxt = _next(known, earn, launches, policy, day, cal, n)
    return PreEarnings(
        reports=reports,
        tests=tests,
        next=nxt,
        params={
            "ticker": tk,
            "asof": f"{day:%Y-%m-%d}",
            "lookback": n,
            "benchmark": benchmark,
            "estimation": estimation,
            "gap": gap,
            "react_days": REACT_DAYS,
        },
        notes=tuple(notes),
    )


def _tests(reports: pd.DataFrame) -> pd.DataFrame:
    """Difference of mean abnormal returns between reports with and without a launch (and a
    policy event) before them: Welch t and Mann-Whitney U. One report is one ticker on one
    date, so the reports are independent clusters (no shared-date adjustment needed)."""
    from scipy import stats

    out = []
    for split, col in (("launch", "launch_before"), ("policy", "policy_before")):
        if col not in reports or reports[col].isna().all():
            continue
        flag = reports[col].astype(bool)
        for window, val in WINDOWS.items():
            a = reports.loc[flag, val].dropna().to_numpy()
            b = reports.loc[~flag, val].dropna().to_numpy()
            base = {
                "window": window,
                "split": split,
                "group_a": f"{split}_before",
                "group_b": f"no_{split}",
                "n_a": len(a),
                "n_b": len(b),
            }
            mean_a = float(a.mean()) if len(a) else np.nan
            mean_b = float(b.mean()) if len(b) else np.nan
            base.update(mean_a=mean_a, mean_b=mean_b, diff=mean_a - mean_b)
            if len(a) >= 2 and len(b) >= 2:
                t = stats.ttest_ind(a, b, equal_var=False)
                out.append(
                    {
                        **base,
                        "stat": float(t.statistic),
                        "pvalue": float(t.pvalue),
                        "test": "welch_t",
                    }
                )
                u = stats.mannwhitneyu(a, b, alternative="two-sided")
                out.append(
                    {
                        **base,
                        "stat": float(u.statistic),
                        "pvalue": float(u.pvalue),
                        "test": "mann_whitney_u",
                    }
                )
            else:
                out.append(
                    {
                        **base,
                        "stat": np.nan,
                        "pvalue": np.nan,
                        "test": "too_few (need >= 2 per group)",
                    }
                )
    return pd.DataFrame(out, columns=TEST_COLUMNS)


def _next(
    known: pd.DataFrame,
    earn: pd.DataFrame,
    launches: pd.DataFrame,
    policy: pd.DataFrame,
    day: pd.Timestamp,
    cal: pd.DatetimeIndex,
    n: int,
) -> pd.DataFrame:
    """The next report known on ``day`` and what is expected (or known) in its run-up."""
    ahead = earn[earn["reaction_session"] >= day].sort_values("reaction_session", kind="stable")
    if not len(ahead):
        return pd.DataFrame(columns=NEXT_COLUMNS)
    rep = ahead.iloc[0]
    react = pd.Timestamp(rep["reaction_session"])
    pos = cal.get_indexer([react])[0]
    lo = cal[max(pos - n, 0)]

    def row(r: pd.Series, role: str) -> dict[str, Any]:
        rs = pd.Timestamp(r["reaction_session"])
        before = int(pos - cal.get_indexer([rs])[0]) if rs in cal else None
        return {
            "role": role,
            "event_id": str(r["id"]),
            "name": str(r["name"]),
            "kind": str(r["kind"]),
            "status": str(r["status"]),
            "date": r["date"],
            "time": str(r["time"]),
            "window_start": r["window_start"],
            "window_end": r["window_end"],
            "reaction_session": rs,
            "sessions_before_report": before,
            "known_at": r["known_at"],
        }

    out = [row(rep, "next_report")]
    end = known["date"].fillna(known["window_end"])
    start = known["date"].fillna(known["window_start"])
    span = (start <= react) & (end >= lo)
    for role, frame in (("launch", launches), ("policy", policy)):
        hit = frame[span.reindex(frame.index, fill_value=False)]
        for _, r in hit.iterrows():
            out.append(row(r, f"expected_{role}" if r["status"] == "expected" else role))
    df = pd.DataFrame(out, columns=NEXT_COLUMNS)
    df["sessions_before_report"] = df["sessions_before_report"].astype("Int64")
    return df
