"""Study wiring: the event study of given (event, ticker, reaction session) rows on a market.

The application (:mod:`evbt.api`) picks the rows (a config's events, or the windows a
backtest traded) and loads the prices; this module computes.

A study is never dropped silently: whatever is left out (the benchmark's own rows, events
outside the data, a benchmark that cannot be loaded) is said in one line in
``StudyResult.notes``, in the summary's ``note`` column and in the manifest's ``study``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evbt.backtest.market import Market
from evbt.strategies.config import Config


def _returns(market: Market) -> pd.DataFrame:
    """Daily simple returns of the market's closes; NaN where a bar is not real (a filled
    cell must not look like a flat day), when the market says which cells are real."""
    close = pd.DataFrame(market.close, index=market.index, columns=market.tickers)
    real = getattr(market, "real", None)
    if real is not None:
        close = close.where(np.asarray(real, dtype=bool))
    else:  # before a ticker's first bar and after its last, cells are fills
        pos = np.arange(len(market.index))[:, None]
        inside = (pos >= np.asarray(market.first_bar)[None, :]) & (
            pos <= np.asarray(market.last_bar)[None, :]
        )
        close = close.where(inside)
    return close.pct_change(fill_method=None).iloc[1:]


def benchmark_holds_note(benchmark: str | None, tickers: Any, *, fix: str) -> str:
    """One warning line when ``benchmark`` holds any of ``tickers`` (the table
    :data:`evbt.strategies.presets.BENCHMARK_HOLDS`), naming the broad basket instead and
    ``fix`` (where to set the benchmark); "" otherwise."""
    from evbt.strategies.presets import BASKETS, BENCHMARK_HOLDS

    held = set(BENCHMARK_HOLDS.get(str(benchmark), ()))
    hit = [t for t in dict.fromkeys(tickers) if t in held]
    if not hit:
        return ""
    broad = " or ".join(sorted(BASKETS["broad"], reverse=True))
    return (
        f"warning: benchmark {benchmark} holds {', '.join(hit)}: their abnormal returns net "
        "out part of their own move and same-date residuals can correlate negatively; "
        f"use a broad benchmark such as {broad} ({fix})"
    )


def study_for_events(
    config: Config,
    market: Market,
    events: pd.DataFrame,
    *,
    bench: pd.Series | None = None,
    bench_error: str | None = None,
) -> Any:
    """The event study of ``events`` (event_id, ticker, reaction_session, optional kind,
    org, tags) on ``market``. Always a :class:`StudyResult`: an empty one whose note says
    why when nothing can be studied.

    The benchmark is ``[study] benchmark`` or ``[data] benchmark``: its returns come from
    ``market`` when it holds the ticker, else from ``bench`` (the application loads them);
    ``bench_error`` is why they could not be loaded."""
    from evbt.backtest.study import empty_study, run_study, with_notes

    st = config.study
    kw = st.run_kwargs()
    bench_t = st.benchmark or config.data.benchmark
    if not bench_t:
        return empty_study(
            "no benchmark: set [study] benchmark or [data] benchmark to run the study", **kw
        )
    if bench_t in market.tickers:
        bench = _returns(market)[bench_t]
    elif bench_error is not None or bench is None:
        why = bench_error or "no returns were given"
        return empty_study(f"study benchmark {bench_t} could not be loaded ({why})", **kw)
    notes: list[str] = []
    rets = _returns(market)
    own = events["ticker"] == bench_t
    if own.any():
        notes.append(
            f"{int(own.sum())} row(s) of {bench_t} left out: it is the study benchmark, so its "
            "abnormal return is zero by construction (set [study] benchmark to another ticker)"
        )
    ev = events[~own & events["ticker"].isin(rets.columns)]
    outside = ~ev["reaction_session"].isin(rets.index)
    if outside.any():
        notes.append(
            f"{int(outside.sum())} event row(s) react outside the price data "
            f"({market.index[0]:%Y-%m-%d} to {market.index[-1]:%Y-%m-%d}): left out"
        )
    ev = ev[~outside]
    cols = ["event_id", "ticker", "reaction_session"] + [
        c for c in ("kind", "org", "tags") if c in ev.columns
    ]
    ev = ev[cols].drop_duplicates(["event_id", "ticker"]).reset_index(drop=True)
    if ev.empty:
        return empty_study("; ".join(notes) or "no event row to study", **kw)
    tick = list(dict.fromkeys(ev["ticker"]))
    notes.append(benchmark_holds_note(bench_t, tick, fix="set [study] benchmark"))
    return with_notes(run_study(rets[tick], bench, ev, **kw), notes)


def study_manifest(res: Any) -> dict[str, Any]:
    """The manifest's ``study`` entry: did it run, on how many rows, and what was left out."""
    n = int(len(res.events))
    return {"ran": n > 0, "n_event_rows": n, "notes": list(res.notes)}
