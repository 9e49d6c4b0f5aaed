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

An unknown key gets a "did you mean" hint; a bad value a one-line error naming the file and
field. ``Config.id`` hashes the canonical form, so a rerun of the same work is recognised.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evbt.errors import InputError, unknown_key
from evbt.grid import decode_sweep
from evbt.strategies.presets import Select, StrategyParams, get_preset


@dataclass(frozen=True)
class DataConfig:
    source: str = "sample"  # sample | file | yfinance
    prices: str | None = None  # path for source = "file"
    events: str | None = None  # catalog path; None = bundled catalog
    start: str | None = None
    end: str | None = None
    benchmark: str | None = "SMH"


@dataclass(frozen=True)
class CostsConfig:
    fees: float = 0.0005
    slippage: float = 0.0005


@dataclass(frozen=True)
class PortfolioConfig:
    init_cash: float = 100_000.0
    mode: str = "per_ticker"  # per_ticker | shared_cash
    size_type: str = "fraction"  # fraction (of equity) | notional (cash)
    size: float = 1.0
    max_gross: float = 1.0


@dataclass(frozen=True)
class StudyConfig:
    enabled: bool = True
    window: tuple[int, int] = (-5, 10)
    model: str = "market_model"
    estimation: int = 120
    gap: int = 10
    bootstrap: int = 2000
    placebo: int = 1000
    seed: int = 0
    benchmark: str | None = None  # None = [data] benchmark

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


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "results"


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    strategy: StrategyParams = field(default_factory=StrategyParams)
    costs: CostsConfig = field(default_factory=CostsConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    sweep: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    origin: str = "<config>"

    def canonical(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("origin")
        d.pop("output")
        return d

    @property
    def id(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def check(self) -> Config:
        where = self.origin
        if self.data.source not in ("sample", "file", "yfinance"):
            raise InputError(
                f"{where}: [data] source = {self.data.source!r}: use sample, file or yfinance"
            )
        if self.data.source == "file" and not self.data.prices:
            raise InputError(
                f'{where}: [data] source = "file" needs prices = "path/to/prices.parquet"'
            )
        if not (0 <= self.costs.fees < 1):
            raise InputError(
                f"{where}: [costs] fees = {self.costs.fees}: use a fraction in [0, 1), e.g. 0.0005"
            )
        if not (0 <= self.costs.slippage < 1):
            raise InputError(
                f"{where}: [costs] slippage = {self.costs.slippage}: use a fraction in [0, 1)"
            )
        if not (self.portfolio.init_cash > 0):
            raise InputError(
                f"{where}: [portfolio] init_cash = {self.portfolio.init_cash}: use an amount > 0"
            )
        if self.portfolio.mode not in ("per_ticker", "shared_cash"):
            raise InputError(
                f"{where}: [portfolio] mode = {self.portfolio.mode!r}: use per_ticker or shared_cash"
            )
        if self.portfolio.size_type not in ("fraction", "notional"):
            raise InputError(
                f"{where}: [portfolio] size_type = {self.portfolio.size_type!r}: use fraction or notional"
            )
        if not (self.portfolio.size > 0):
            raise InputError(f"{where}: [portfolio] size = {self.portfolio.size}: use a number > 0")
        if not (self.portfolio.max_gross > 0):
            raise InputError(
                f"{where}: [portfolio] max_gross = {self.portfolio.max_gross}: use a number > 0"
            )
        a, b = self.study.window
        if a > 0 or b < 0:
            raise InputError(f"{where}: [study] window = [{a}, {b}]: use [-a, +b] with a, b >= 0")
        try:
            self.strategy.check()
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
        return self


_TABLES = {
    "data": DataConfig,
    "strategy": StrategyParams,
    "costs": CostsConfig,
    "portfolio": PortfolioConfig,
    "study": StudyConfig,
    "output": OutputConfig,
}


def _coerce(where: str, table: str, key: str, value: Any, default: Any, hint: Any) -> Any:
    """Check a TOML value against the field's type, with a one-line error."""
    name = f"{where}: [{table}] {key} = {value!r}"
    hint_s = str(hint)
    if "tuple" in hint_s:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise InputError(f'{name}: use a list, e.g. ["NVDA", "AMD"]')
        return tuple(value)
    if hint_s in ("bool",) or isinstance(default, bool):
        if not isinstance(value, bool):
            raise InputError(f"{name}: use true or false")
        return value
    if hint_s == "int" or (
        isinstance(default, int) and "float" not in hint_s and "None" not in hint_s
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name}: use a whole number")
        return value
    if "float" in hint_s:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{name}: use a number")
        return float(value)
    if "int" in hint_s:  # int | None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name}: use a whole number")
        return value
    if "str" in hint_s:
        if not isinstance(value, str):
            raise InputError(f"{name}: use a string in quotes")
        return value
    return value


def _decode_table(where: str, table: str, cls: type, raw: dict[str, Any], base: Any = None) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    obj = base if base is not None else cls()
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise unknown_key(where, table, key, list(fields))
        default = getattr(obj, key)
        if key == "select" and cls is StrategyParams:
            if not isinstance(value, dict):
                raise InputError(
                    f'{where}: [strategy] select: use a table, e.g. select = {{ kind = ["earnings"] }}'
                )
            kw[key] = _decode_table(where, "strategy.select", Select, value)
            continue
        if key == "window" and cls is StudyConfig:
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, int) for v in value)
            ):
                raise InputError(f"{where}: [study] window = {value!r}: use [-a, b], e.g. [-5, 10]")
            kw[key] = (value[0], value[1])
            continue
        kw[key] = _coerce(where, table, key, value, default, fields[key].type)
    return dataclasses.replace(obj, **kw)


def from_dict(raw: dict[str, Any], *, origin: str = "<config>") -> Config:
    known = list(_TABLES) + ["sweep"]
    for table, val in raw.items():
        if table not in known:
            near = difflib.get_close_matches(table, known, n=1)
            hint = f"did you mean [{near[0]}]? " if near else ""
            raise InputError(
                f"{origin}: unknown table [{table}]: {hint}known tables: {', '.join(known)}"
            )
        if not isinstance(val, dict):
            raise InputError(f"{origin}: {table} must be a table, e.g. [{table}]")
    strat_raw = dict(raw.get("strategy", {}))
    try:
        base = get_preset(str(strat_raw.get("name", "event_window")))
    except InputError as e:
        raise InputError(f"{origin}: {e}") from None
    parts: dict[str, Any] = {}
    for table, cls in _TABLES.items():
        if table in raw:
            parts[table] = _decode_table(
                origin, table, cls, raw[table], base if cls is StrategyParams else None
            )
        elif cls is StrategyParams:
            parts[table] = base
    cfg = Config(**parts, sweep=decode_sweep(origin, raw.get("sweep", {})), origin=origin)
    return cfg.check()


def load_config(path: str | Path) -> Config:
    """Read and check a TOML config; InputError names the file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such config file: check the path") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read config ({e.strerror}): check the path") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML ({e}): fix the syntax there") from None
    cfg = from_dict(raw, origin=str(p))
    # relative data paths are read from the config file's folder, not the current directory
    fixes = {}
    for key in ("prices", "events"):
        val = getattr(cfg.data, key)
        if val and not Path(val).is_absolute():
            fixes[key] = str((p.parent / val).resolve())
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **fixes)) if fixes else cfg
