"""Study wiring: the event study of a config's events, or of the windows a backtest traded.

A study is never dropped silently: whatever is left out (the benchmark's own rows, events
outside the data, a benchmark that cannot be loaded) is said in one line in
``StudyResult.notes``, in the summary's ``note`` column and in the manifest's ``study``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evbt.backtest.manifest import manifest_head
from evbt.backtest.market import Market, load_market
from evbt.backtest.result import StudyRun
from evbt.config import Config
from evbt.errors import InputError


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


def _bench_returns(
    config: Config, market: Market, bench_t: str, prices_path: str | None
) -> pd.Series:
    """The benchmark's returns on the market's sessions: from the market when it holds the
    ticker, else loaded from the same source (``[study] benchmark`` may differ from
    ``[data] benchmark``). Raises InputError when it cannot be had."""
    if bench_t in market.tickers:
        return _returns(market)[bench_t]
    from evbt.data.sources import load_prices

    d = config.data
    if prices_path is None and str(market.source).startswith("file:"):
        prices_path = str(market.source)[len("file:") :]  # the file the market came from
    source = "file" if prices_path else d.source
    df = load_prices(
        [bench_t],
        market.index[0],
        market.index[-1],
        source=source,
        path=prices_path or d.prices,
    )
    close = df.set_index("date")["close"].reindex(market.index)
    return close.pct_change(fill_method=None).iloc[1:].rename(bench_t)


def study_for_events(
    config: Config,
    market: Market,
    events: pd.DataFrame,
    *,
    prices_path: str | None = None,
) -> Any:
    """The event study of ``events`` (event_id, ticker, reaction_session, optional kind,
    org, tags) on ``market``. Always a :class:`StudyResult`: an empty one whose note says
    why when nothing can be studied."""
    from evbt.backtest.study import empty_study, run_study, with_notes

    st = config.study
    kw = st.run_kwargs()
    bench_t = st.benchmark or config.data.benchmark
    if not bench_t:
        return empty_study(
            "no benchmark: set [study] benchmark or [data] benchmark to run the study", **kw
        )
    try:
        bench = _bench_returns(config, market, bench_t, prices_path)
    except InputError as e:
        return empty_study(f"study benchmark {bench_t} could not be loaded ({e})", **kw)
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
    return with_notes(run_study(rets[tick], bench, ev, **kw), notes)


def run_study_for(config: Config, market: Market, events: pd.DataFrame):
    """The event study of the windows a backtest traded (same events, same sessions).

    Never None: when nothing can be studied the result is empty and its note says why."""
    return study_for_events(config, market, events)


def study_manifest(res: Any) -> dict[str, Any]:
    """The manifest's ``study`` entry: did it run, on how many rows, and what was left out."""
    n = int(len(res.events))
    return {"ran": n > 0, "n_event_rows": n, "notes": list(res.notes)}


def study(
    config: Config, *, prices_path: str | None = None, events_path: str | None = None
) -> StudyRun:
    """The event study of the events ``[strategy] select`` picks, on ``[strategy] tickers``.

    Day 0 is each event's reaction session; the strategy's entry offset and hold play no
    part. The benchmark is ``[study] benchmark`` or ``[data] benchmark``.
    """
    from evbt.data.catalog import load_catalog
    from evbt.signals.select import select_events
    from evbt.strategies.presets import REPORTER

    catalog = load_catalog(events_path or config.data.events)
    chosen = select_events(catalog, config.strategy)
    rows = []
    for _, ev in chosen.iterrows():
        own = [t.strip() for t in str(ev.get("tickers") or "").split(";") if t.strip()]
        for t in config.strategy.resolved_tickers():
            for tt in own if t == REPORTER else [t]:
                rows.append(
                    {
                        "event_id": ev["id"],
                        "ticker": tt,
                        "reaction_session": ev["reaction_session"],
                        "kind": ev["kind"],
                        "org": ev["org"],
                        "tags": ev["tags"],
                    }
                )
    events = pd.DataFrame(
        rows, columns=["event_id", "ticker", "reaction_session", "kind", "org", "tags"]
    )
    if events.empty:
        raise InputError(
            f"{config.origin}: [strategy] select matches no event: check kind/org/tags"
        )
    bench_t = config.study.benchmark or config.data.benchmark
    if not bench_t:
        raise InputError(
            f"{config.origin}: the study needs a benchmark: set [study] benchmark or [data] benchmark"
        )
    tickers = list(dict.fromkeys(events["ticker"]))
    if tickers == [bench_t]:
        raise InputError(
            f"{config.origin}: the only ticker, {bench_t}, is the study benchmark: its abnormal "
            "return is zero by construction; set [study] benchmark to another ticker"
        )
    market = load_market(
        config, tickers + ([bench_t] if bench_t not in tickers else []), prices_path=prices_path
    )
    inside = events["reaction_session"].isin(market.index[1:])
    skipped = events[~inside]
    if not inside.any():
        raise InputError(
            f"no selected event reacts inside the price data ({market.index[0]:%Y-%m-%d} to "
            f"{market.index[-1]:%Y-%m-%d}): widen [data] start/end"
        )
    res = study_for_events(config, market, events, prices_path=prices_path)
    studied = events[inside & (events["ticker"] != bench_t)].reset_index(drop=True)
    manifest = manifest_head(
        config,
        market,
        benchmark=bench_t,
        kind="study",
        catalog=catalog,
        catalog_path=events_path or config.data.events,
        prices_path=prices_path or config.data.prices,
    )
    manifest |= {
        "events": {
            "n_event_tickers": int(len(studied)),
            "n_outside_data": int(len(skipped)),
            "skipped_outside_data": skipped["event_id"].tolist(),
            "n_skipped_by_study": len(res.skipped),
        },
        "study": study_manifest(res),
    }
    return StudyRun(config=config, study=res, events=studied, manifest=manifest)
