"""Study wiring: the event study of a config's events, or of the windows a backtest traded."""

from __future__ import annotations

import pandas as pd

from evbt.backtest.manifest import manifest_head
from evbt.backtest.market import Market, load_market
from evbt.backtest.result import StudyRun
from evbt.config import Config
from evbt.errors import InputError


def run_study_for(config: Config, market: Market, events: pd.DataFrame):
    """The event study of the windows a backtest traded (same events, same sessions)."""
    from evbt.backtest.study import run_study

    st = config.study
    bench_t = st.benchmark or config.data.benchmark
    if not bench_t or bench_t not in market.tickers:
        return None
    close = pd.DataFrame(market.close, index=market.index, columns=market.tickers)
    rets = close.pct_change().iloc[1:]
    bench = rets[bench_t]
    tick = [t for t in events["ticker"].unique() if t in rets.columns and t != bench_t]
    ev = events[events["ticker"].isin(tick)]
    ev = ev[ev["reaction_session"].isin(rets.index)]
    if ev.empty:
        return None
    return run_study(
        rets[tick],
        bench,
        ev[["event_id", "ticker", "reaction_session"]].drop_duplicates().reset_index(drop=True),
        **st.run_kwargs(),
    )


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
    market = load_market(
        config, tickers + ([bench_t] if bench_t not in tickers else []), prices_path=prices_path
    )
    from evbt.backtest.study import run_study

    close = pd.DataFrame(market.close, index=market.index, columns=market.tickers)
    rets = close.pct_change().iloc[1:]
    outside = ~events["reaction_session"].isin(rets.index)
    skipped = events[outside]
    events = events[~outside].reset_index(drop=True)
    if events.empty:
        raise InputError(
            f"no selected event reacts inside the price data ({market.index[0]:%Y-%m-%d} to "
            f"{market.index[-1]:%Y-%m-%d}): widen [data] start/end"
        )
    st = config.study
    res = run_study(
        rets[[t for t in tickers if t != bench_t]],
        rets[bench_t],
        events,
        **st.run_kwargs(),
    )
    manifest = manifest_head(config, market, benchmark=bench_t)
    manifest |= {
        "events": {
            "n_event_tickers": int(len(events)),
            "n_outside_data": int(len(skipped)),
            "skipped_outside_data": skipped["event_id"].tolist(),
            "n_skipped_by_study": len(getattr(res, "skipped", [])),
        },
    }
    return StudyRun(config=config, study=res, events=events, manifest=manifest)
