"""Typed, frozen run configuration decoded from TOML (house style: nautilus_trader).

Tables and keys::

    [data]      source, prices, events, start, end, benchmark
    [strategy]  name, tickers, select, direction, entry_offset, hold, exit_anchor,
                exit_offset, stop_loss, take_profit, price, stop_on, weight, overlap,
                skip_if_earnings_within, allow_lookahead
    [costs]     fees, slippage             (fractions per side)
    [portfolio] init_cash, mode, size_type, size, max_gross
    [study]     window, model, estimation, gap, bootstrap, placebo, seed, benchmark
    [sweep]     lists or {start, stop, step} ranges per [strategy]/[costs] parameter
    [output]    dir

Every table checks its values on construction (``__post_init__``), so a value is checked
whether it comes from TOML, the Python API or a sweep; allowed words are ``Literal`` types
spelled as in TOML. An unknown key gets a "did you mean" hint; a bad value a one-line error
naming the file (or, built in Python, the dataclass) and the field::

    >>> from evbt.strategies.config import PortfolioConfig
    >>> PortfolioConfig(size=5)
    Traceback (most recent call last):
    ...
    evbt.errors.FieldError: PortfolioConfig: [portfolio] size = 5: use a fraction of equity in (0, 1] (no leverage; size_type = "notional" for cash amounts)

``Config.id`` hashes the canonical form (relative paths as written, not where they point),
so a rerun of the same work is recognised.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evbt.errors import FieldError, InputError, unknown_key, unknown_table
from evbt.strategies.fields import bad, check_fields
from evbt.strategies.fields import table as config_table
from evbt.strategies.grid import decode_sweep
from evbt.strategies.presets import Select, StrategyParams, get_preset

Source = Literal["sample", "file", "yfinance"]
Mode = Literal["per_ticker", "shared_cash"]
SizeType = Literal["fraction", "notional"]
Model = Literal["market_model", "market_adjusted"]

#: Documented bounds: costs per side as fractions of traded value, below 10%.
MAX_COST = 0.1


@config_table("data")
@dataclass(frozen=True)
class DataConfig:
    """``[data]``: where prices and events come from, and the benchmark.

    ``source``: ``"sample"`` (bundled SYNTHETIC prices), ``"file"`` (``prices`` = a Parquet
    or CSV in the contract format) or ``"yfinance"``. ``events``: a catalog CSV (None: the
    bundled catalog). ``start``/``end``: ISO dates bounding the sessions used.

    >>> DataConfig(source="file", prices="prices.parquet").source
    'file'
    """

    source: Source = "sample"
    prices: str | None = None  # path for source = "file"
    events: str | None = None  # catalog path; None = bundled catalog
    start: str | None = None
    end: str | None = None
    benchmark: str | None = "SMH"

    def __post_init__(self) -> None:
        for f in ("start", "end"):  # a TOML date (start = 2024-01-02) is a date object
            v = getattr(self, f)
            if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                object.__setattr__(self, f, v.isoformat())
        check_fields(self, "data")
        for f in ("start", "end"):
            v = getattr(self, f)
            if v is not None:
                try:
                    dt.date.fromisoformat(v)
                except ValueError:
                    raise bad(self, "data", f, "write YYYY-MM-DD") from None
        if self.start and self.end and self.start > self.end:
            raise bad(self, "data", "end", f"use a date on or after start ({self.start})")
        if self.source == "file" and not self.prices:
            raise FieldError(
                type(self).__name__,
                '[data] source = "file" needs prices = "path/to/prices.parquet"',
            )


@config_table("costs")
@dataclass(frozen=True)
class CostsConfig:
    """``[costs]``: fees and slippage, fractions of traded value per side, in [0, 0.1).

    >>> CostsConfig(fees=0.001).slippage
    0.0005
    """

    fees: float = 0.0005
    slippage: float = 0.0005

    def __post_init__(self) -> None:
        check_fields(self, "costs")
        for f in ("fees", "slippage"):
            if not 0 <= getattr(self, f) < MAX_COST:
                raise bad(self, "costs", f, "use a fraction per side in [0, 0.1), e.g. 0.0005")


@config_table("portfolio")
@dataclass(frozen=True)
class PortfolioConfig:
    """``[portfolio]``: starting cash, account mode and position sizing. No leverage.

    ``mode``: ``"per_ticker"`` (each ticker its own account with ``init_cash``) or
    ``"shared_cash"`` (one account, gross exposure capped at ``max_gross`` x equity).
    ``size_type``: ``"fraction"`` (``size`` in (0, 1] of equity) or ``"notional"``
    (``size`` in cash, > 0).

    >>> PortfolioConfig(mode="shared_cash", size=0.5).max_gross
    1.0
    """

    init_cash: float = 100_000.0
    mode: Mode = "per_ticker"
    size_type: SizeType = "fraction"
    size: float = 1.0
    max_gross: float = 1.0

    def __post_init__(self) -> None:
        check_fields(self, "portfolio")
        if not self.init_cash > 0:
            raise bad(self, "portfolio", "init_cash", "use an amount > 0, e.g. 100000")
        if self.size_type == "fraction" and not 0 < self.size <= 1:
            raise bad(
                self,
                "portfolio",
                "size",
                "use a fraction of equity in (0, 1] (no leverage; "
                'size_type = "notional" for cash amounts)',
            )
        if self.size_type == "notional" and not self.size > 0:
            raise bad(self, "portfolio", "size", "use a cash amount > 0")
        if not 0 < self.max_gross <= 1:
            raise bad(
                self, "portfolio", "max_gross", "use a fraction of equity in (0, 1] (no leverage)"
            )


@config_table("study")
@dataclass(frozen=True)
class StudyConfig:
    """``[study]``: the event study beside every backtest (see ``backtest/study.py``).

    ``window`` = ``(-a, b)`` sessions around the reaction session (day 0); ``model``:
    ``"market_model"`` (OLS over ``estimation`` sessions ending ``gap`` before the window)
    or ``"market_adjusted"``; ``bootstrap``/``placebo`` resamples (0 skips); ``benchmark``
    None = ``[data] benchmark``.

    >>> StudyConfig(window=[-3, 5]).window
    (-3, 5)
    """

    enabled: bool = True
    window: tuple[int, int] = (-5, 10)
    model: Model = "market_model"
    estimation: int = 120
    gap: int = 10
    bootstrap: int = 2000
    placebo: int = 1000
    seed: int = 0
    benchmark: str | None = None  # None = [data] benchmark

    def __post_init__(self) -> None:
        check_fields(self, "study")
        a, b = self.window
        if a > 0 or b < 0:
            raise bad(self, "study", "window", "use [-a, b] with a, b >= 0, e.g. [-5, 10]")
        if self.estimation < 30:
            raise bad(self, "study", "estimation", "use at least 30 sessions")
        for f in ("gap", "bootstrap", "placebo", "seed"):
            if getattr(self, f) < 0:
                raise bad(self, "study", f, "use a whole number >= 0")

    def run_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of backtest.study.run_study taken from this table."""
        return {
            "window": self.window,
            "model": self.model,
            "estimation": self.estimation,
            "gap": self.gap,
            "bootstrap": self.bootstrap,
            "placebo": self.placebo,
            "seed": self.seed,
        }


@config_table("output")
@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: the results root (``--out`` and ``EVBT_RESULTS`` override it)."""

    dir: str = "results"

    def __post_init__(self) -> None:
        check_fields(self, "output")


#: Sweepable parameters live in these tables (the sweep checks each value on them).
_SWEEP_TABLES = ("strategy", "costs", "portfolio")


def _values_to_check(values: list[Any]) -> list[Any]:
    """The swept values whose check decides all of them. Every numeric field's rule is an
    interval (``hold >= 1``, ``0 < stop_loss``, ``0 <= fees < MAX_COST``, ...), so for values
    of one numeric type the smallest and the largest decide; a range of a million holds is
    then two checks, not a million (each check builds a table). When either fails, the
    caller checks every value in order, so the error names the first bad one as written."""
    kinds = {type(v) for v in values}
    if len(values) > 2 and len(kinds) == 1 and kinds <= {int, float}:
        lo, hi = min(values), max(values)
        if math.isfinite(lo) and math.isfinite(hi):
            return [lo, hi]
    return list(values)


@config_table("", hidden=("origin", "written"))
@dataclass(frozen=True)
class Config:
    """A whole run: one frozen, typed object per TOML table, checked on construction.

    Build it from a file with :func:`load_config` (``evbt.load_config``) or in Python; a
    table left out takes its defaults (``strategy``: the generic ``event_window`` rule).

    >>> from evbt.strategies.presets import get_preset
    >>> cfg = Config(strategy=get_preset("launch_shock").replace(hold=3))
    >>> cfg.strategy.direction, cfg.strategy.hold, len(cfg.id)
    ('short', 3, 12)
    >>> Config(costs=CostsConfig(fees=-0.5))
    Traceback (most recent call last):
    ...
    evbt.errors.FieldError: CostsConfig: [costs] fees = -0.5: use a fraction per side in [0, 0.1), e.g. 0.0005

    ``origin`` names where it came from (the TOML file) in messages; ``written`` keeps the
    data paths as the file wrote them (``(resolved, as written)`` pairs) so ``id`` does not
    depend on where the checkout lives. Neither is part of the canonical form.
    """

    data: DataConfig = field(default_factory=DataConfig)
    strategy: StrategyParams = field(default_factory=StrategyParams)
    costs: CostsConfig = field(default_factory=CostsConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    sweep: dict[str, Any] = field(default_factory=dict)  # decoded by evbt.strategies.grid
    origin: str = "Config"
    written: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name, cls in _TABLES.items():
            if not isinstance(getattr(self, name), cls):
                raise bad(self, "config", name, f"use a {cls.__name__}(...)")
        if not isinstance(self.sweep, dict):
            raise bad(self, "config", "sweep", "use a dict {parameter: (values, ...)}")
        self._check_sweep()

    def _check_sweep(self) -> None:
        """Decode ``[sweep]`` (evbt.strategies.grid: lists, ranges, settings) and check every swept
        value where it lands, by replacing it into its table. Idempotent, so a decoded sweep
        (from TOML or built in Python) passes through unchanged."""
        raw = {k: list(v) if isinstance(v, tuple) else v for k, v in self.sweep.items()}
        decoded = decode_sweep(self.origin, raw)
        for key, values in decoded.items():
            tables = [getattr(self, t) for t in _SWEEP_TABLES]
            obj = next((o for o in tables if key in {f.name for f in dataclasses.fields(o)}), None)
            if obj is None:  # a sweep setting (method, samples, seed, ...)
                continue
            try:
                for v in _values_to_check(values):
                    dataclasses.replace(obj, **{key: v})
            except FieldError:
                for v in values:  # name the first bad value as written
                    try:
                        dataclasses.replace(obj, **{key: v})
                    except FieldError as e:
                        head, _, fix = e.body.partition(": ")
                        shown = head.split("] ", 1)[-1]
                        raise FieldError(self.origin, f"[sweep] {shown}: {fix}") from None
                raise  # pragma: no cover - the shortcut and the full check agree
        if decoded != self.sweep:
            object.__setattr__(self, "sweep", decoded)

    def canonical(self) -> dict[str, Any]:
        """What decides the result, as plain data: every table but ``output``, with data
        paths as the config file wrote them."""
        d = dataclasses.asdict(self)
        for k in ("origin", "output", "written"):
            d.pop(k)
        as_written = dict(self.written)
        for key in ("prices", "events"):
            v = d["data"][key]
            if v in as_written:
                d["data"][key] = as_written[v]
        return d

    @property
    def id(self) -> str:
        """12 hex digits of the SHA-256 of :meth:`canonical` (key order does not matter)."""
        blob = json.dumps(self.canonical(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


_TABLES = {
    "data": DataConfig,
    "strategy": StrategyParams,
    "costs": CostsConfig,
    "portfolio": PortfolioConfig,
    "study": StudyConfig,
    "output": OutputConfig,
}


def _decode_table(where: str, table: str, cls: type, raw: dict[str, Any], base: Any = None) -> Any:
    """One TOML table -> its dataclass (``base`` for defaults); the dataclass checks values."""
    fields = [f.name for f in dataclasses.fields(cls)]
    obj = base if base is not None else cls()
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise unknown_key(where, table, key, fields)
        if key == "select" and cls is StrategyParams:
            if not isinstance(value, dict):
                raise InputError(
                    f'{where}: [strategy] select: use a table, e.g. select = {{ kind = ["earnings"] }}'
                )
            kw[key] = _decode_table(where, "strategy.select", Select, value)
            continue
        kw[key] = value
    try:
        return dataclasses.replace(obj, **kw)
    except FieldError as e:
        raise e.at(where) from None


def from_dict(raw: dict[str, Any], *, origin: str = "<config>") -> Config:
    """A config from the tables of a parsed TOML file (``origin`` names it in errors).

    >>> from_dict({"strategy": {"name": "launch_shock", "hold": 3}}).strategy.hold
    3
    """
    known = list(_TABLES) + ["sweep"]
    for table, val in raw.items():
        if table not in known:
            raise unknown_table(origin, table, known)
        if not isinstance(val, dict):
            raise InputError(f"{origin}: {table} must be a table, e.g. [{table}]")
    strat_raw = dict(raw.get("strategy", {}))
    try:
        base = get_preset(str(strat_raw.get("name", "event_window")))
    except FieldError as e:
        raise e.at(origin) from None
    parts: dict[str, Any] = {}
    for table, cls in _TABLES.items():
        if table in raw:
            parts[table] = _decode_table(
                origin, table, cls, raw[table], base if cls is StrategyParams else None
            )
        elif cls is StrategyParams:
            parts[table] = base
    return Config(**parts, sweep=raw.get("sweep", {}), origin=origin)


def load_config(path: str | Path) -> Config:
    """Read and check a TOML config; InputError names the file, line and field.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
    >>> _ = path.write_text('[strategy]\\nname = "launch_shock"\\nhold = 3\\n')
    >>> load_config(path).strategy.hold
    3
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such config file: check the path") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read config ({e.strerror}): check the path") from None
    except UnicodeDecodeError as e:
        raise InputError(
            f"{p}: not UTF-8 text (byte {e.start}): save the config as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML ({e}): fix the syntax there") from None
    if not raw:  # empty or comments only: an error, not a silent default strategy
        raise InputError(
            f'{p}: the config is empty: write at least [strategy] name = "..." '
            "(see examples/launch_shock.toml)"
        )
    cfg = from_dict(raw, origin=str(p))
    # relative data paths are read from the config file's folder, not the current directory;
    # the canonical form (and so the id) keeps them as written
    fixes: dict[str, Any] = {}
    written: list[tuple[str, str]] = []
    for key in ("prices", "events"):
        val = getattr(cfg.data, key)
        if val and not Path(val).is_absolute():
            fixes[key] = str((p.parent / val).resolve())
            written.append((fixes[key], val))
    if not fixes:
        return cfg
    return dataclasses.replace(
        cfg, data=dataclasses.replace(cfg.data, **fixes), written=tuple(written)
    )
