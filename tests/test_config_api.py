"""Configs built in Python are checked like TOML ones: same one-line InputError, same words.

Every bad config of tests/test_config.py is built here through the Python API (the table
dataclasses, ``get_preset``, ``Config``) and must fail with the same message after the
prefix: TOML names the file (``cfg.toml: ...``), Python the dataclass (``PortfolioConfig: ...``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_config import BAD_CONFIGS

from evbt.errors import InputError
from evbt.strategies.config import (
    Config,
    CostsConfig,
    DataConfig,
    OutputConfig,
    PortfolioConfig,
    StudyConfig,
    from_dict,
)
from evbt.strategies.presets import Select, StrategyParams, get_preset

TABLES: dict[str, type] = {
    "data": DataConfig,
    "costs": CostsConfig,
    "portfolio": PortfolioConfig,
    "study": StudyConfig,
    "output": OutputConfig,
}


def _build(raw: dict[str, Any]) -> Config:
    """What a notebook user would write for the tables of ``raw``."""
    parts: dict[str, Any] = {}
    for table, kw in raw.items():
        if table == "sweep":
            continue
        kw = dict(kw)
        if table == "strategy":
            base = get_preset(kw.pop("name")) if "name" in kw else StrategyParams()
            if "select" in kw:
                kw["select"] = Select(**kw["select"])
            parts[table] = dataclasses.replace(base, **kw)
        elif table in TABLES:
            parts[table] = TABLES[table](**kw)
        else:
            parts[table] = kw  # an unknown table is an unknown Config keyword
    return Config(**parts, sweep=raw.get("sweep", {}))


WHERE = {"Config", "get_preset", "StrategyParams", "Select", *(c.__name__ for c in TABLES.values())}


@pytest.mark.parametrize(("raw", "needle"), BAD_CONFIGS, ids=[repr(r) for r, _ in BAD_CONFIGS])
def test_python_api_refuses_what_toml_refuses(raw, needle):
    with pytest.raises(InputError) as toml:
        from_dict(raw, origin="cfg.toml")
    with pytest.raises(InputError) as api:
        _build(raw)
    t, a = str(toml.value), str(api.value)
    assert "\n" not in a and "\n" not in t
    where, _, body = a.partition(": ")
    assert where in WHERE  # Python names the dataclass (or function) that refused it
    assert t == f"cfg.toml: {body}"  # and says the same as TOML, field and fix
    assert needle in a


def test_python_names_the_dataclass_and_field():
    with pytest.raises(InputError) as e:
        PortfolioConfig(size_type="equity_fraction", mode="shared")
    assert str(e.value).startswith('PortfolioConfig: [portfolio] mode = "shared": use')
    with pytest.raises(InputError, match=r"^CostsConfig: \[costs\] fees = -0.5: "):
        Config(costs=CostsConfig(fees=-0.5))


def test_values_are_normalised_so_equal_configs_hash_equal():
    a = Config(
        portfolio=PortfolioConfig(size=1, init_cash=100_000),
        strategy=StrategyParams(tickers=["NVDA"]),
    )
    b = Config(strategy=StrategyParams(tickers="NVDA"))
    assert a.portfolio.size == 1.0 and isinstance(a.portfolio.size, float)
    assert a.strategy.tickers == ("NVDA",)
    assert a.id == b.id == Config().id
    assert a.id == from_dict({"portfolio": {"size": 1}}).id


def test_a_sweep_is_checked_value_by_value():
    cfg = Config(sweep={"hold": [1, 3], "fees": (0.0, 0.001)})
    assert cfg.sweep == {"hold": (1, 3), "fees": (0.0, 0.001)}
    with pytest.raises(InputError, match=r"^Config: \[sweep\] fees = 0.5: use a fraction per side"):
        Config(sweep={"fees": (0.0, 0.5)})  # the [costs] bound holds for swept values too


def test_notional_size_is_cash_not_a_fraction():
    assert PortfolioConfig(size_type="notional", size=25_000).size == 25_000.0
    with pytest.raises(InputError, match="use a cash amount > 0"):
        PortfolioConfig(size_type="notional", size=0)


def test_config_id_ignores_where_the_checkout_lives(tmp_path):
    from evbt.strategies.config import load_config

    ids = []
    for sub in ("a", "b"):
        d = tmp_path / sub
        d.mkdir()
        (d / "c.toml").write_text('[data]\nsource = "file"\nprices = "p.parquet"\n')
        cfg = load_config(d / "c.toml")
        assert cfg.data.prices == str((d / "p.parquet").resolve())  # read from the file's folder
        assert cfg.canonical()["data"]["prices"] == "p.parquet"  # hashed as written
        ids.append(cfg.id)
    assert ids[0] == ids[1]
    moved = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, prices="/elsewhere.csv"))
    assert moved.canonical()["data"]["prices"] == "/elsewhere.csv" and moved.id != ids[0]


def test_toml_nan_and_inf_are_refused():
    for raw in ({"costs": {"slippage": math.nan}}, {"portfolio": {"max_gross": math.inf}}):
        with pytest.raises(InputError, match="cfg.toml: "):
            from_dict(raw, origin="cfg.toml")


# ----------------------------------------------------------------- properties (hypothesis)
ANY_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**6), 10**6))
BOUNDS = [  # (table class, field, accepted(x)) - the documented bounds, stated again
    (PortfolioConfig, "size", lambda x: 0 < x <= 1),
    (PortfolioConfig, "max_gross", lambda x: 0 < x <= 1),
    (PortfolioConfig, "init_cash", lambda x: x > 0),
    (CostsConfig, "fees", lambda x: 0 <= x < 0.1),
    (CostsConfig, "slippage", lambda x: 0 <= x < 0.1),
    (StrategyParams, "weight", lambda x: 0 < x <= 1),
    (StrategyParams, "stop_loss", lambda x: x > 0),
]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(x=ANY_NUMBER, case=st.sampled_from(BOUNDS))
def test_a_number_is_accepted_exactly_within_its_bounds(x, case):
    cls, name, ok = case
    expected = math.isfinite(x) and ok(x)
    try:
        obj = cls(**{name: x})
    except InputError as e:
        assert not expected, f"{cls.__name__}.{name} = {x!r} refused: {e}"
        assert str(e).startswith(f"{cls.__name__}: [") and "\n" not in str(e)
    else:
        assert expected, f"{cls.__name__}.{name} = {x!r} accepted"
        assert getattr(obj, name) == x and isinstance(getattr(obj, name), float)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(word=st.one_of(st.text(max_size=12), st.sampled_from(["long", "short", "Long", ""])))
def test_a_word_is_accepted_exactly_when_toml_would(word):
    python_ok = toml_ok = True
    try:
        StrategyParams(direction=word)
    except InputError:
        python_ok = False
    try:
        from_dict({"strategy": {"direction": word}})
    except InputError:
        toml_ok = False
    assert python_ok == toml_ok == (word in ("long", "short"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    hold=st.integers(1, 60),
    fees=st.floats(0, 0.099),
    size=st.floats(0.01, 1.0),
    mode=st.sampled_from(["per_ticker", "shared_cash"]),
)
def test_toml_and_python_build_the_same_config(hold, fees, size, mode):
    raw = {
        "strategy": {"name": "launch_shock", "hold": hold},
        "costs": {"fees": fees},
        "portfolio": {"size": size, "mode": mode},
    }
    assert from_dict(raw).id == _build(raw).id
