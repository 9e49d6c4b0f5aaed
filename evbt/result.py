"""What a run returns: :class:`BacktestResult` (a backtest) and :class:`StudyRun` (an event
study), with typed fields and the few methods a notebook needs.

>>> import evbt
>>> result = evbt.run(evbt.Config(strategy=evbt.presets()["launch_shock"]), study=False)
>>> result.manifest["data"]["synthetic"]  # the bundled sample: invented prices
True
>>> list(result.stats().columns)
['strategy', 'benchmark']
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # annotations only: importing the result type loads no calendar, no Numba
    import plotly.graph_objects as go

    from evbt.backtest.market import Market
    from evbt.backtest.study import StudyResult
    from evbt.signals.rules import SignalArrays, SignalSet
    from evbt.strategies.config import Config

#: Rows of :meth:`BacktestResult.stats`, in order (names as in ``metrics.parquet``).
STATS_ROWS = (
    "total_return",
    "cagr",
    "ann_vol",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "exposure",
    "n_trades",
    "hit_rate",
    "profit_factor",
)
# Trade statistics say nothing about a buy and hold: NaN in its column.
_TRADE_ROWS = ("n_trades", "hit_rate", "avg_win", "avg_loss", "profit_factor")


@dataclass(frozen=True, repr=False)
class BacktestResult:
    """One backtest: the tables a run writes, the inputs the kernel saw, and the manifest.

    Fields:
        config: the :class:`~evbt.strategies.config.Config` that was run.
        signals: the signal table (and the signals skipped before the kernel).
        trades: one row per trade (entry/exit session and price, size, fees, P&L, ``ret``,
            ``exit_reason``, ``lookahead``).
        equity: daily equity per account (each ticker, or ``"portfolio"`` in shared-cash
            mode) and ``"total"``.
        position: daily position per ticker.
        metrics: one row per scope (``"total"``, then each ticker in per-ticker mode).
        pnl_by_event: P&L per event.
        skipped: every skipped signal with its reason.
        manifest: config, data source and hash, SYNTHETIC flag, counts, run id.
        study: the event study of the traded windows (None with ``study=False``).
        benchmark: the benchmark's closes on the run's sessions (None without one).
        market: the aligned prices the kernel saw (trade tickers only).
        arrays: the signal arrays the kernel saw.

    >>> import evbt
    >>> result = evbt.run(evbt.Config(strategy=evbt.presets()["launch_shock"]), study=False)
    >>> result  # doctest: +ELLIPSIS
    <BacktestResult launch_shock: ... trades, total return ..., config ..., SYNTHETIC>
    >>> int(result.summary()["n_trades"]) == len(result.trades)
    True
    >>> float(result.stats().loc["exposure", "benchmark"])  # buy and hold is always in
    1.0
    >>> type(result.plot()).__name__
    'Figure'
    """

    config: Config
    signals: SignalSet
    trades: pd.DataFrame
    equity: pd.DataFrame
    position: pd.DataFrame
    metrics: pd.DataFrame
    pnl_by_event: pd.DataFrame
    skipped: pd.DataFrame
    manifest: dict[str, Any]
    study: StudyResult | None = None
    benchmark: pd.Series | None = None
    market: Market | None = None
    arrays: SignalArrays | None = None
    events: pd.DataFrame | None = None  # the catalog rows of the events the run signalled

    def __repr__(self) -> str:
        m = self.summary()
        flags = [
            f
            for f, on in (("SYNTHETIC", self._synthetic()), ("ruined", self.manifest.get("ruined")))
            if on
        ]
        return (
            f"<BacktestResult {self.config.strategy.name}: {len(self.trades)} trades, "
            f"total return {m['total_return']:+.2%}, config {self.config.id}"
            + (f", {', '.join(flags)}" if flags else "")
            + ">"
        )

    def _repr_html_(self) -> str:  # a notebook shows the header and the stats table
        import html

        return f"<p>{html.escape(repr(self))}</p>" + self.stats().to_html(
            float_format="{:.4g}".format
        )

    def _synthetic(self) -> bool:
        return bool(self.manifest.get("data", {}).get("synthetic"))

    def summary(self) -> pd.Series:
        """The strategy's metrics over the whole run (the ``"total"`` row of ``metrics``)."""
        return self.metrics.set_index("scope").loc["total"]

    @functools.cached_property
    def _bench_metrics(self) -> pd.Series | None:
        if self.benchmark is None:
            return None
        from evbt.backtest.metrics import compute_metrics

        b = self.benchmark.dropna()
        if len(b) < 2:
            return None
        eq = b / b.iloc[0]
        no_trades = pd.DataFrame({"pnl": [], "ret": [], "exit_reason": []})
        m = compute_metrics(eq, no_trades, position=pd.Series(1.0, index=eq.index))
        for k in _TRADE_ROWS:
            if k in m.index:
                m[k] = float("nan")
        return m

    def benchmark_metrics(self) -> pd.Series | None:
        """The benchmark's buy and hold over the run's sessions, in the strategy's metrics
        (trade statistics NaN, exposure 1); None when the run has no benchmark."""
        return self._bench_metrics

    def stats(self) -> pd.DataFrame:
        """The strategy beside its benchmark's buy and hold, one row per metric
        (:data:`STATS_ROWS`), columns ``strategy`` and ``benchmark`` (its ticker in
        ``attrs["benchmark"]``). Fractions stay fractions: 0.05 is 5%."""
        strat = self.summary().reindex(list(STATS_ROWS)).astype("float64")
        bench = self.benchmark_metrics()
        out = pd.DataFrame(
            {
                "strategy": strat,
                "benchmark": (
                    bench.reindex(list(STATS_ROWS)).astype("float64")
                    if bench is not None
                    else float("nan")
                ),
            }
        )
        out.index.name = "metric"
        out.attrs["benchmark"] = str(self.benchmark.name) if self.benchmark is not None else None
        return out

    def plot(self) -> go.Figure:
        """A Plotly figure: total equity (and the benchmark's buy and hold scaled to the same
        start), entries and exits marked on the curve, events as dotted lines."""
        import plotly.graph_objects as go

        eq = self.equity["total"]
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=eq.index, y=eq.to_numpy(), mode="lines", name="strategy"))
        if self.benchmark is not None and self.benchmark.notna().any():
            b = self.benchmark.dropna()
            fig.add_trace(
                go.Scatter(
                    x=b.index,
                    y=(b / b.iloc[0] * eq.iloc[0]).to_numpy(),
                    mode="lines",
                    line={"dash": "dash", "width": 1},
                    name=f"{b.name} buy & hold",
                )
            )
        tr = self.trades
        for col, label, symbol in (
            ("entry_session", "entry", "triangle-up"),
            ("exit_session", "exit", "x"),
        ):
            if len(tr):
                x = pd.DatetimeIndex(tr[col])
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=eq.reindex(x).to_numpy(),
                        mode="markers",
                        marker={"symbol": symbol, "size": 9},
                        name=label,
                        text=[
                            f"{e} {t} {d}"
                            for e, t, d in zip(
                                tr["event_id"], tr["ticker"], tr["direction"], strict=True
                            )
                        ],
                        hovertemplate="%{text}<br>%{x|%Y-%m-%d}<extra>" + label + "</extra>",
                    )
                )
        events = self.signals.table.drop_duplicates("event_id")
        for day, eid in zip(events["reaction_session"], events["event_id"], strict=True):
            fig.add_vline(x=pd.Timestamp(day), line={"dash": "dot", "width": 1, "color": "grey"})
            fig.add_annotation(
                x=pd.Timestamp(day),
                y=1,
                yref="paper",
                text=str(eid),
                showarrow=False,
                textangle=-90,
                xanchor="right",
                yanchor="top",
                font={"size": 9},
            )
        title = f"{self.config.strategy.name}: equity"
        if self._synthetic():
            title += " (SYNTHETIC DATA)"
        fig.update_layout(title=title, xaxis_title="session", yaxis_title="equity")
        return fig

    def to_vectorbt(self) -> Any:
        """A ``vectorbt.Portfolio`` of the same trades (per-ticker mode), for vectorbt's
        analytics and plots; see the README for the deliberate differences."""
        from evbt.backtest.engine import to_vectorbt

        return to_vectorbt(self)

    def tables(self, *, pad: int = 10) -> dict[str, pd.DataFrame]:
        """Every table of the run folder, by file name (see README: what a run gives you).

        Besides the results: ``events`` (id, name, org, kind, tags, date of each event the
        run signalled), ``prices_window`` (the real OHLC of each traded ticker ``pad``
        sessions around each trade, for the report's small multiples) and ``benchmark``
        (date, ticker, close).
        """
        frames = {
            "trades": self.trades,
            "equity": self.equity.reset_index(),
            "metrics": self.metrics,
            "pnl_by_event": self.pnl_by_event,
            "skipped": self.skipped,
            "signals": self.signals.table,
        }
        if self.study is not None:
            frames |= {"event_study": self.study.panel, "study_summary": self.study.summary}
        if self.events is not None:
            events = self.events.reset_index(drop=True)
            # the catalog named as the manifest names it (relative to the config, or
            # "<bundled>"), not by this machine's absolute path: a shared run folder does not
            # carry the user's folders, and two checkouts write the same bytes
            where = self.manifest.get("catalog", {}).get("path")
            if where is not None and "origin" in events.attrs:
                events.attrs = {**events.attrs, "origin": str(where)}
            frames["events"] = events
        windows = self._price_windows(pad)
        if windows is not None:
            frames["prices_window"] = windows
        if self.benchmark is not None:
            b = self.benchmark
            frames["benchmark"] = pd.DataFrame(
                {"date": b.index, "ticker": str(b.name), "close": b.to_numpy(dtype=float)}
            )
        return frames

    def _price_windows(self, pad: int) -> pd.DataFrame | None:
        """Real bars only (a filled cell is no price), ``pad`` sessions around each trade."""
        import numpy as np

        mk = self.market
        if mk is None or not len(self.trades):
            return None
        idx = mk.index
        rows = []
        for t, tr in self.trades.groupby("ticker", sort=True):
            j = mk.tickers.index(t)
            keep = np.zeros(len(idx), dtype=bool)
            a = idx.searchsorted(pd.to_datetime(tr["entry_session"]).to_numpy())
            b = idx.searchsorted(pd.to_datetime(tr["exit_session"]).to_numpy())
            for lo, hi in zip(a, b, strict=True):
                keep[max(lo - pad, 0) : min(hi + pad + 1, len(idx))] = True
            keep &= np.asarray(mk.real[:, j], dtype=bool)
            rows.append(
                pd.DataFrame(
                    {
                        "date": idx[keep],
                        "ticker": t,
                        "open": mk.open[keep, j],
                        "high": mk.high[keep, j],
                        "low": mk.low[keep, j],
                        "close": mk.close[keep, j],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def write(self, root: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
        """Write the run folder (Parquet tables + manifest) under ``root`` (default: the
        results root: ``EVBT_RESULTS``, else ``[output] dir``); returns the folder."""
        from evbt.store import write_result

        return write_result(self, root, force=force)


@dataclass(frozen=True, repr=False)
class StudyRun:
    """An event study of the events a config selects (``evbt.study(config)``).

    Fields: ``config``; ``study`` (the :class:`~evbt.backtest.study.StudyResult`: ``panel``
    event x ticker x day, ``summary`` per group and window with every test); ``events`` (the
    event x ticker rows studied); ``manifest``.
    """

    config: Config
    study: StudyResult
    events: pd.DataFrame
    manifest: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"<StudyRun {self.config.strategy.name}: {len(self.events)} event x ticker rows, "
            f"config {self.config.id}>"
        )

    def summary(self) -> pd.DataFrame:
        """CAAR and its tests per group and window (``study_summary.parquet``)."""
        return self.study.summary

    def write(self, root: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
        """Write the run folder (event_study, study_summary, manifest); returns it."""
        from evbt.store import write_study

        return write_study(self, root, force=force)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its folder, manifest, summary table and overfitting figures."""

    run_dir: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    reused: bool = False

    def table(self) -> pd.DataFrame:
        """Every (combo_id, scope) row of the parts."""
        from evbt.parts import read_table

        return read_table(self.run_dir, "parts")

    def blocks(self) -> pd.DataFrame:
        from evbt.parts import read_table

        return read_table(self.run_dir, "blocks")
