"""Enums, simulation parameters and record layouts of the backtest core.

House style (vectorbt ``portfolio/enums.py``): every enum is a ``NamedTuple`` class whose one
instance holds the integer codes, so Numba kernels read them as compile-time constants
(``ExitReason.STOP_LOSS``) and Python code can list them (``ExitReason._fields``).

The kernels in :mod:`backtest.nb` take one :class:`SimParams`; build it with
:func:`sim_params`, which fills defaults, coerces types (so the kernels compile once) and
checks every value with a message that says how to fix it. :func:`params_from_config` is
the one place where the config's TOML words (``fraction``, ``shared_cash``, ``high_low``,
``next_open``) become the kernel's codes; the engine and the sweep both go through it.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "MIN_ORDER_FRAC",
    "CashMode",
    "Combos",
    "Direction",
    "ExitReason",
    "PriceMode",
    "SignalStatus",
    "SimParams",
    "SizeType",
    "StopOn",
    "SweepBase",
    "CAP_TOL",
    "EXIT_REASON_NAMES",
    "STATUS_NAMES",
    "TOML_WORDS",
    "params_from_config",
    "sim_params",
    "trade_dt",
]


class DirectionT(NamedTuple):
    """Direction of a signal (``sig_direction``) and of a trade record."""

    LONG: int = 1
    SHORT: int = -1


Direction = DirectionT()


class ExitReasonT(NamedTuple):
    """Why a trade ended (``trade_dt['exit_reason']``)."""

    TIME: int = 0
    """The signal's time exit (``sig_exit``) was reached."""
    STOP_LOSS: int = 1
    TAKE_PROFIT: int = 2
    OPEN: int = 3
    """Still open at the ticker's last real bar (the last session, or earlier when the
    ticker's data ends first): valued at that close, no exit fee or slippage."""
    RUINED: int = 4
    """The account's equity reached <= 0 at this session's close: the position is closed
    there, valued at that close (the marked price), no exit fee or slippage."""


ExitReason = ExitReasonT()


class SignalStatusT(NamedTuple):
    """What the kernel did with each signal (``status[k]``, int8, one per signal). Contract C1."""

    TRADED: int = 0
    """Taken: it has a trade record."""
    OVERLAP: int = 1
    """Its entry is at or before the exit session of the last trade taken on its ticker, or
    an earlier signal of the same ticker enters on the same session."""
    NO_CASH: int = 2
    """The account's cash could not fund a position worth more than dust."""
    GROSS_CAP: int = 3
    """Shared cash: the gross-exposure cap left no room for it."""
    NO_BAR_ENTRY: int = 4
    """The ticker has no real bar at the entry fill session (or it lies past the data)."""
    NO_BAR_EXIT: int = 5
    """The ticker has no real bar at the time-exit fill session, which lies within its data."""
    RUINED: int = 6
    """Its account was ruined (equity <= 0) before the entry."""
    BAD_PRICE: int = 7
    """The fill price is not finite and > 0."""


SignalStatus = SignalStatusT()

STATUS_NAMES: tuple[str, ...] = tuple(f.lower() for f in SignalStatus._fields)
"""``STATUS_NAMES[code]`` is the skip code written to ``skipped.parquet``."""

EXIT_REASON_NAMES: tuple[str, ...] = tuple(f.lower() for f in ExitReason._fields)
"""``EXIT_REASON_NAMES[code]`` is the ``exit_reason`` written to ``trades.parquet``."""


class PriceModeT(NamedTuple):
    """Which price a signal at session ``i`` fills at."""

    CLOSE: int = 0
    """The close of session ``i``."""
    NEXT_OPEN: int = 1
    """The open of session ``i + 1``; an entry at the last session is not taken, an exit at
    the last session falls back to its close."""


PriceMode = PriceModeT()


class StopOnT(NamedTuple):
    """What the stop-loss / take-profit are checked against, from the bar after the entry fill."""

    CLOSE: int = 0
    """Each close; the stop fills at that close (vectorbt when only ``close`` is given)."""
    INTRABAR: int = 1
    """High and low; the stop fills at the stop price, or at the open when the bar gaps
    through it (vectorbt when ``open``/``high``/``low`` are given)."""


StopOn = StopOnT()


class SizeTypeT(NamedTuple):
    """How ``SimParams.size`` (times the signal's weight) turns into units."""

    EQUITY_FRACTION: int = 0
    """Commit ``size * weight`` of current equity, fees included: units =
    ``size * weight * equity / ((1 + fees) * fill_price)``. 1.0 is all-in (vectorbt
    ``size=np.inf``); below 1 it is vectorbt ``size_type='percent'``."""
    NOTIONAL: int = 1
    """A fixed cash amount ``size * weight`` of position value at the unslipped fill price:
    units = ``size * weight / price`` (vectorbt ``size_type='value'``)."""


SizeType = SizeTypeT()


class CashModeT(NamedTuple):
    """How cash is shared between tickers."""

    PER_TICKER: int = 0
    """Each ticker is its own account holding ``init_cash``; equity has one column per ticker."""
    SHARED: int = 1
    """One account holding ``init_cash`` for all tickers, gross exposure capped at
    ``max_gross * equity``; equity has one column."""


CashMode = CashModeT()


MIN_ORDER_FRAC = 1e-9
"""An entry whose position value is at most this fraction of equity is not taken.

It keeps rounding residue (the 1e-14 of cash left after an all-in buy) from opening
dust positions, so the kernel and the reference agree on which entries are taken."""

CAP_TOL = 1e-9
"""An entry is flagged ``capped`` only when cash or the gross cap cut it by more than this
fraction: an all-in entry whose cost exceeds cash by a rounding error is not "capped"."""


class SimParams(NamedTuple):
    """Parameters of one simulation. Build with :func:`sim_params` (it checks the values)."""

    fees: float = 0.0
    """Fraction of traded value paid on each side (vectorbt ``fees``)."""
    slippage: float = 0.0
    """Buys fill at ``price * (1 + slippage)``, sells at ``price * (1 - slippage)``."""
    sl_stop: float = math.nan
    """Stop-loss as a fraction of the entry price before slippage; NaN is off."""
    tp_stop: float = math.nan
    """Take-profit as a fraction of the entry price before slippage; NaN is off."""
    price_mode: int = PriceMode.CLOSE
    stop_on: int = StopOn.CLOSE
    size_type: int = SizeType.EQUITY_FRACTION
    size: float = 1.0
    """Equity fraction in (0, 1] (no leverage), or a cash amount > 0 for notional sizing."""
    init_cash: float = 100.0
    mode: int = CashMode.PER_TICKER
    max_gross: float = 1.0
    """Shared-cash mode only, in (0, 1]: gross exposure (sum of ``|position value|``) after
    an entry never exceeds ``max_gross * equity``."""


class SweepBase(NamedTuple):
    """What every combination of a sweep shares (``sweep_nb``), from the pandas layer.

    Base signals are the (event, ticker) pairs, sorted by reaction session, ticker and event
    id; the ``[J, B]`` tables hold one row per value of ``entry_offset``.
    """

    ticker: np.ndarray
    """int64 ``[B]``: base signal's ticker (a column of the price arrays)."""
    eblk: np.ndarray
    """int64 ``[B]``: its event block (overfitting statistics)."""
    event: np.ndarray
    """int64 ``[B]``: its event's index, ``0 .. n_events - 1``."""
    ent_cal: np.ndarray
    """int64 ``[J, B]``: entry session on the calendar."""
    ent_mkt: np.ndarray
    """int64 ``[J, B]``: entry session on the price index (< 0: not placed)."""
    pre_skip: np.ndarray
    """uint8 ``[J, B]``: dropped before the signal rules."""
    anchor_cal: np.ndarray
    """int64 ``[J, B]``: next earnings anchor on the calendar (``anchor_mode``)."""
    scale: np.ndarray
    """float64 ``[J, B]``: the ``weight_by`` scale (1.0 without ``weight_by``)."""
    cal2mkt: np.ndarray
    """int64: calendar session -> price-index session."""
    last_real: np.ndarray
    """int64 ``[n_tickers]``: each ticker's last real bar."""
    n_cal: int
    n_events: int
    anchor_mode: bool
    """Exits at the next earnings anchor plus ``exit_offset`` instead of after ``hold``."""
    merge: bool
    """Overlap rule "merge" (else "skip")."""
    weight: float
    """``[strategy] weight``: a signal's weight is ``weight * scale[j, s]``."""


class Combos(NamedTuple):
    """A sweep's combinations, one element each (``sweep_nb``); the kernel's codes."""

    eo: np.ndarray
    """int64: row of the ``entry_offset`` value in :class:`SweepBase`'s ``[J, B]`` tables."""
    hold: np.ndarray
    xoff: np.ndarray
    """int64: ``exit_offset``."""
    sl: np.ndarray
    """float64: stop-loss, NaN for none."""
    tp: np.ndarray
    """float64: take-profit, NaN for none."""
    direction: np.ndarray
    """int64: +1 long, -1 short."""
    price: np.ndarray
    """int64: a :data:`PriceMode` code."""
    stop_on: np.ndarray
    """int64: a :data:`StopOn` code."""
    fees: np.ndarray
    slip: np.ndarray


_ENUMS: dict[str, Any] = {
    "price_mode": PriceMode,
    "stop_on": StopOn,
    "size_type": SizeType,
    "mode": CashMode,
}
_FLOATS = ("fees", "slippage", "sl_stop", "tp_stop", "size", "init_cash", "max_gross")


def _enum_code(name: str, value: object) -> int:
    enum = _ENUMS[name]
    codes = {field.lower(): getattr(enum, field) for field in enum._fields}
    codes.update(TOML_WORDS[_TOML_FIELD[name]])  # the config's words work too
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in codes:
            hint = difflib.get_close_matches(key, list(codes), n=1)
            fix = f"did you mean {hint[0]!r}? " if hint else ""
            raise ValueError(f"{name}={value!r} is unknown: {fix}use one of {sorted(codes)}")
        return codes[key]
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int code or a name, got {value!r}")
    if int(value) not in codes.values():
        raise ValueError(f"{name}={value} is unknown: use one of {codes}")
    return int(value)


def sim_params(**kwargs: object) -> SimParams:
    """Return checked :class:`SimParams`; unknown names get a "did you mean" hint.

    Enum fields accept the code, the kernel name or the config word, e.g.
    ``price_mode="next_open"``, ``mode="shared_cash"``, ``stop_on="high_low"``.
    """
    fields = SimParams._fields
    for key in kwargs:
        if key not in fields:
            hint = difflib.get_close_matches(key, fields, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known names: {', '.join(fields)}"
            raise TypeError(f"sim_params got an unknown parameter {key!r}: {fix}")
    values = SimParams()._asdict()
    values.update(kwargs)
    for name in _FLOATS:
        try:
            values[name] = float(values[name])
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {values[name]!r}") from None
    for name in _ENUMS:
        values[name] = _enum_code(name, values[name])

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)

    need(
        math.isfinite(values["fees"]) and 0.0 <= values["fees"] < 1.0,
        f"fees={values['fees']} must be a fraction in [0, 1), e.g. 0.001 for 10 bp",
    )
    need(
        math.isfinite(values["slippage"]) and 0.0 <= values["slippage"] < 1.0,
        f"slippage={values['slippage']} must be a fraction in [0, 1), e.g. 0.0005 for 5 bp",
    )
    for name in ("sl_stop", "tp_stop"):
        v = values[name]
        need(
            math.isnan(v) or (math.isfinite(v) and v > 0.0),
            f"{name}={v} must be a positive fraction (0.05 = 5%) or NaN to switch it off",
        )
    need(
        math.isfinite(values["size"]) and values["size"] > 0.0,
        f"size={values['size']} must be positive and finite (1.0 = all-in for equity_fraction)",
    )
    need(
        values["size_type"] != SizeType.EQUITY_FRACTION or values["size"] <= 1.0,
        f"size={values['size']} is a fraction of equity above 1 (leverage): use a value in (0, 1]",
    )
    need(
        math.isfinite(values["init_cash"]) and values["init_cash"] > 0.0,
        f"init_cash={values['init_cash']} must be positive and finite",
    )
    need(
        math.isfinite(values["max_gross"]) and 0.0 < values["max_gross"] <= 1.0,
        f"max_gross={values['max_gross']} must be in (0, 1] (1.0 = fully invested, no leverage)",
    )
    return SimParams(**values)


_TOML_FIELD = {
    "price_mode": "price",
    "stop_on": "stop_on",
    "size_type": "size_type",
    "mode": "mode",
}

TOML_WORDS: dict[str, dict[str, int]] = {
    "price": {"close": PriceMode.CLOSE, "next_open": PriceMode.NEXT_OPEN},
    "stop_on": {"close": StopOn.CLOSE, "high_low": StopOn.INTRABAR},
    "size_type": {"fraction": SizeType.EQUITY_FRACTION, "notional": SizeType.NOTIONAL},
    "mode": {"per_ticker": CashMode.PER_TICKER, "shared_cash": CashMode.SHARED},
}
"""The config's words for each kernel enum: the only place they are mapped to codes."""


def _word(field: str, value: str) -> int:
    words = TOML_WORDS[field]
    if value not in words:
        raise ValueError(f"{field} = {value!r} is unknown: use one of {sorted(words)}")
    return words[value]


def params_from_config(config: Any, **overrides: object) -> SimParams:
    """The checked :class:`SimParams` of an ``evbt.strategies.config.Config`` (TOML words -> codes).

    ``overrides`` replace single kernel fields (by their SimParams names), e.g. a sweep's
    ``sl_stop=0.05``. Raises ``ValueError`` for a value the kernel cannot take.
    """
    s, p, c = config.strategy, config.portfolio, config.costs
    values: dict[str, object] = {
        "fees": c.fees,
        "slippage": c.slippage,
        "sl_stop": math.nan if s.stop_loss is None else s.stop_loss,
        "tp_stop": math.nan if s.take_profit is None else s.take_profit,
        "price_mode": _word("price", s.price),
        "stop_on": _word("stop_on", s.stop_on),
        "size_type": _word("size_type", p.size_type),
        "size": p.size,
        "init_cash": p.init_cash,
        "mode": _word("mode", p.mode),
        "max_gross": p.max_gross,
    }
    values.update(overrides)
    return sim_params(**values)


trade_dt = np.dtype(
    [
        ("ticker", np.int64),
        ("event", np.int64),
        ("signal", np.int64),
        ("direction", np.int64),
        ("entry_idx", np.int64),
        ("exit_idx", np.int64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("size", np.float64),
        ("entry_fees", np.float64),
        ("exit_fees", np.float64),
        ("pnl", np.float64),
        ("ret", np.float64),
        ("exit_reason", np.int64),
        ("capped", np.bool_),
    ],
    align=True,
)
"""Trade record of :func:`backtest.nb.simulate_nb`, one per signal that was taken.

- ``ticker``, ``event``: copied from the signal; ``signal``: its index in the signal arrays.
- ``direction``: +1 long, -1 short (:data:`Direction`).
- ``entry_idx`` / ``exit_idx``: sessions of the entry and exit fills (for
  ``PriceMode.NEXT_OPEN`` the session after the signal; for an open trade the last session).
- ``entry_price`` / ``exit_price``: fill prices with slippage (an open trade's exit price is
  the last close, unslipped).
- ``size``: units, > 0. ``entry_fees`` / ``exit_fees``: cash paid (0 on exit when open).
- ``pnl``: ``direction * size * (exit_price - entry_price) - entry_fees - exit_fees``.
- ``ret``: ``pnl / (size * entry_price)``, exactly vectorbt's trade ``return`` (the entry
  value at the slipped fill price, entry fees not included).
- ``exit_reason``: :data:`ExitReason`.
- ``capped``: the entry was cut by cash or the gross cap (by more than :data:`CAP_TOL`).
"""
