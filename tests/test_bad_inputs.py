"""A corpus of bad and suspicious inputs run through the CLI, in-process (``evbt.cli.main``).

Contract (README "exit codes"): a bad input exits 2 with exactly one line on stderr that
names the input and the fix, no traceback, and writes nothing; a legal but suspicious input
exits 0 with a visible ``warning:`` line. None ends in exit 1 (a bug). An existing result
folder under the results root is never damaged: every test hashes the whole working folder
(configs, price files, catalogs, results) before and after.

Inputs are built in ``tmp_path`` from a small synthetic price table (a seeded random walk,
not market data) or read from ``tests/bad_inputs/``. Faults of the environment that root
cannot provoke with ``chmod`` (a folder that is not writable, a full disk) are simulated by
making writes under one folder raise the ``OSError`` the system would raise.
"""

from __future__ import annotations

import builtins
import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evbt.cli import main
from evbt.data.calendar import sessions

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "bad_inputs"
TICKERS = ("NVDA", "SMH", "SPY")


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def price_table(tickers=TICKERS, start="2024-06-03", end="2026-09-30", seed=7) -> pd.DataFrame:
    """A valid long price table on NYSE sessions: seeded random walks (SYNTHETIC)."""
    rng = np.random.default_rng(seed)
    days = sessions(start, end)
    rows = []
    for k, t in enumerate(tickers):
        close = 100.0 * (1 + k) * np.exp(np.cumsum(rng.normal(0.0003, 0.015, len(days))))
        open_ = close * np.exp(rng.normal(0, 0.004, len(days)))
        high = np.maximum(open_, close) * 1.004
        low = np.minimum(open_, close) * 0.996
        rows.append(
            pd.DataFrame(
                {
                    "date": days.strftime("%Y-%m-%d"),
                    "ticker": t,
                    "open": open_.round(4),
                    "high": high.round(4),
                    "low": low.round(4),
                    "close": close.round(4),
                    "volume": rng.integers(1_000_000, 5_000_000, len(days)),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


BASE_CONFIG = """\
[data]
source = "file"
prices = "prices.csv"
benchmark = "SMH"

[strategy]
name = "launch_shock"
tickers = ["NVDA"]

[study]
bootstrap = 50
placebo = 20
"""


def write(tmp: Path, name: str, text: str | bytes) -> str:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return str(p)


def config(tmp: Path, body: str, name: str = "run.toml") -> str:
    return write(tmp, name, body)


def edit(old: str, new: str) -> str:
    assert old in BASE_CONFIG
    return BASE_CONFIG.replace(old, new)


def prices_csv(tmp: Path, df: pd.DataFrame, name: str = "bad.csv", **kw) -> str:
    p = tmp / name
    df.to_csv(p, index=False, **kw)
    return str(p)


def mutate(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], str]:
    """A price file: the valid table changed by ``fn``."""

    def build(tmp: Path) -> str:
        return prices_csv(tmp, fn(price_table(("NVDA", "SMH"), "2025-01-02", "2025-03-31")))

    return build


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def deny_writes_under(monkeypatch, root: Path, code: int) -> None:
    """Writes under ``root`` fail with ``OSError(code)`` (a read-only folder, a full disk)."""
    root = Path(root).resolve()
    msg = os.strerror(code)

    def under(path) -> bool:
        try:
            return Path(os.fspath(path)).resolve().is_relative_to(root)
        except (TypeError, ValueError):
            return False

    def guard(name, real, path_args=(0,)):
        def wrapped(*args, **kwargs):
            for i in path_args:
                if i < len(args) and under(args[i]):
                    raise OSError(code, msg, os.fspath(args[i]))
            return real(*args, **kwargs)

        monkeypatch.setattr(*name, wrapped)

    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and under(file):
            raise OSError(code, msg, os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    guard((os, "mkdir"), os.mkdir)
    guard((os, "replace"), os.replace, (0, 1))
    guard((os, "rename"), os.rename, (0, 1))
    real_parquet = pd.DataFrame.to_parquet

    def fake_parquet(self, path=None, *args, **kwargs):
        if path is not None and under(path):
            raise OSError(code, msg, os.fspath(path))
        return real_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fake_parquet)


# --------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]
    match: str  # a regex the stderr line must contain (the input it names)
    expect: str = "error"  # or "warn": exit 0 with a warning line
    fault: Callable | None = None  # (monkeypatch, tmp) -> None, before the run
    awaiting: str | None = None  # "<role>: what" while another helper's fix is pending
    prepare: Callable[[list[str]], None] | None = None  # (argv) -> None, before the hashes
    check: Callable[[Path, str, str], None] | None = None  # expect="ok": (tmp, out, err)


def bt(body: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["backtest", config(tmp, body), "--out", str(tmp / "results")]


def st(body: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["study", config(tmp, body), "--out", str(tmp / "results")]


def validate(build: Callable[[Path], str]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["data", "validate", build(tmp)]


def fixture(name: str) -> Callable[[Path], str]:
    def build(tmp: Path) -> str:
        dst = tmp / name
        shutil.copy(FIXTURES / name, dst)
        return str(dst)

    return build


def signals(*opts: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["signals", "--strategy", "launch_shock", *opts]


def _dup_row(df):
    return pd.concat([df, df.iloc[[3]]]).sort_values(["ticker", "date"], kind="stable")


def _swap_rows(df):
    df = df.copy()
    df.iloc[[3, 4]] = df.iloc[[4, 3]].to_numpy()
    return df


def _set(col, row, value):
    def fn(df):
        df = df.copy()
        df[col] = df[col].astype(object)
        df.iloc[row, df.columns.get_loc(col)] = value
        return df

    return fn


def _add_bar(date):
    def fn(df):
        extra = df.iloc[[0]].copy()
        extra["date"] = date
        return pd.concat([df, extra]).sort_values(["ticker", "date"], kind="stable")

    return fn


def _lower_copy(df):
    low = df[df["ticker"] == "NVDA"].copy()
    low["ticker"] = "nvda"
    return pd.concat([df, low])


def _halve_from(day):
    def fn(df):
        df = df.copy()
        m = (df["ticker"] == "NVDA") & (df["date"] >= day)
        for c in ("open", "high", "low", "close"):
            df.loc[m, c] = df.loc[m, c] / 2
        return df

    return fn


def _int_dates(df):
    df = df.copy()
    df["date"] = df["date"].str.replace("-", "").astype(int)
    return df


def _day_first(df):
    df = df.copy()
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y")
    return df


def _catalog_row(**kw) -> str:
    cols = (
        "id,name,org,kind,tags,date,time,tz,tickers,scheduled,status,window_start,"
        "window_end,known_since,fiscal_period,source,confidence,supersedes"
    )
    row = {
        "id": "x-launch",
        "name": "X model",
        "org": "X",
        "kind": "model_launch",
        "tags": "china",
        "date": "2025-03-03",
        "time": "unknown",
        "tz": "Asia/Shanghai",
        "tickers": "NVDA",
        "scheduled": "false",
        "status": "confirmed",
        "source": "test",
        "confidence": "confirmed",
    } | kw
    return cols + "\n" + ",".join(str(row.get(c, "")) for c in cols.split(",")) + "\n"


def catalog(**kw) -> Callable[[Path], str]:
    return lambda tmp: write(tmp, "catalog.csv", _catalog_row(**kw))


def _short_bench(tmp: Path) -> list[str]:
    df = price_table()
    df = df[(df["ticker"] != "SMH") | (df["date"] >= "2025-06-02")]
    prices_csv(tmp, df, "prices.csv")
    return ["backtest", config(tmp, BASE_CONFIG), "--out", str(tmp / "results")]


def _add_events(catalog_path: str) -> list[str]:
    return [
        "events",
        "add",
        "--catalog",
        catalog_path,
        "--id",
        "y-launch",
        "--name",
        "Y",
        "--org",
        "Y",
        "--kind",
        "model_launch",
        "--date",
        "2025-04-01",
        "--tz",
        "UTC",
        "--source",
        "test",
        "--confidence",
        "confirmed",
        "--unscheduled",
    ]


def _ro_catalog(tmp: Path) -> list[str]:
    return _add_events(write(tmp, "ro/catalog.csv", _catalog_row()))


def _deny(code: int, folder: str):
    return lambda mp, tmp: deny_writes_under(mp, tmp / folder, code)


CONFIGS = [
    Case("config-empty", bt(""), r"run\.toml: the config is empty"),
    Case("config-comments-only", bt("# nothing\n\n"), r"run\.toml: the config is empty"),
    Case(
        "config-not-utf8",
        lambda tmp: ["backtest", write(tmp, "run.toml", b'[strategy]\nname = "caf\xe9"\n')],
        r"run\.toml: not UTF-8",
    ),
    Case("config-bad-toml", bt("[strategy\nname = 1\n"), r"run\.toml: not valid TOML"),
    Case("config-unknown-table", bt("[strateg]\nname = 'launch_shock'\n"), r"strateg"),
    Case("config-unknown-key", bt(edit("[strategy]", "[strategy]\nhold_days = 3")), r"hold_days"),
    Case("config-unknown-strategy", bt(edit("launch_shock", "launch_shok")), r"launch_sho"),
    Case("config-hold-negative", bt(edit("[strategy]", "[strategy]\nhold = -1")), r"hold"),
    Case("config-hold-text", bt(edit("[strategy]", "[strategy]\nhold = 'five'")), r"hold"),
    Case("config-direction", bt(edit("[strategy]", "[strategy]\ndirection = 'up'")), r"direction"),
    Case("config-price", bt(edit("[strategy]", "[strategy]\nprice = 'vwap'")), r"price"),
    Case("config-size-5", bt(BASE_CONFIG + "[portfolio]\nsize = 5\n"), r"size"),
    Case("config-weight-1e9", bt(edit("[strategy]", "[strategy]\nweight = 1e9")), r"weight"),
    Case(
        "config-max-gross-3",
        bt(BASE_CONFIG + "[portfolio]\nmode = 'shared_cash'\nmax_gross = 3\n"),
        r"max_gross",
    ),
    Case("config-init-cash-inf", bt(BASE_CONFIG + "[portfolio]\ninit_cash = inf\n"), r"init_cash"),
    Case("config-init-cash-zero", bt(BASE_CONFIG + "[portfolio]\ninit_cash = 0\n"), r"init_cash"),
    Case("config-mode", bt(BASE_CONFIG + "[portfolio]\nmode = 'shared'\n"), r"mode"),
    Case("config-fees-negative", bt(BASE_CONFIG + "[costs]\nfees = -0.5\n"), r"fees"),
    Case("config-source", bt(edit('source = "file"', 'source = "csv"')), r"csv"),
    Case(
        "config-file-without-prices",
        bt(edit('prices = "prices.csv"\n', "")),
        r"(prices|price file)",
    ),
    Case("config-prices-missing", bt(edit("prices.csv", "nowhere.csv")), r"nowhere\.csv"),
    Case(
        "config-start-after-end",
        bt(edit("[data]", "[data]\nstart = '2026-01-01'\nend = '2025-01-01'")),
        r"start",
    ),
    Case("config-start-unreadable", bt(edit("[data]", "[data]\nstart = 'soon'")), r"start"),
    Case("config-no-tickers", bt(edit('tickers = ["NVDA"]', "tickers = []")), r"tickers"),
    Case("config-study-window", bt(edit("[study]", "[study]\nwindow = [3, 1]")), r"window"),
    Case("config-study-model", bt(edit("[study]", "[study]\nmodel = 'market-model'")), r"model"),
    Case("config-study-estimation", bt(edit("[study]", "[study]\nestimation = 5")), r"estimation"),
    Case(
        "config-sweep-in-backtest",
        bt(BASE_CONFIG + "[sweep]\nhold = [3, 5]\n"),
        r"evbt sweep .*run\.toml",
    ),
    Case("config-missing", lambda tmp: ["backtest", str(tmp / "absent.toml")], r"absent\.toml"),
    Case("config-is-folder", lambda tmp: ["backtest", str(tmp)], r"(folder|directory|Directory)"),
    Case(
        "config-unknown-ticker",
        bt(edit('tickers = ["NVDA"]', 'tickers = ["NVDAX"]')),
        r"NVDAX",
    ),
]

PRICE_FILES = [
    Case("prices-semicolons", validate(fixture("prices_semicolon.csv")), r"semicolons"),
    Case("prices-tabs", validate(fixture("prices_tab.csv")), r"tabs"),
    Case("prices-day-first", validate(fixture("prices_day_first.csv")), r"day-first"),
    Case("prices-day-first-built", validate(mutate(_day_first)), r"day-first|ambiguous"),
    Case("prices-int-dates", validate(fixture("prices_int_dates.csv")), r"integers like 20250102"),
    Case("prices-int-dates-built", validate(mutate(_int_dates)), r"integers"),
    Case(
        "prices-int-dates-parquet",
        validate(
            lambda tmp: _parquet(
                tmp, _int_dates(price_table(("NVDA",), "2025-01-02", "2025-02-03"))
            )
        ),
        r"integers",
    ),
    Case(
        "prices-weekend-bar",
        validate(fixture("prices_weekend.csv")),
        r"NVDA.*2025-01-04.*not an NYSE session",
    ),
    Case(
        "prices-holiday-bar",
        validate(mutate(_add_bar("2025-01-20"))),
        r"2025-01-20.*not an NYSE session",
    ),
    Case("prices-ticker-case", validate(fixture("prices_case.csv")), r"differ only in case"),
    Case(
        "prices-ticker-case-built", validate(mutate(_lower_copy)), r"'NVDA'.*'nvda'|'nvda'.*'NVDA'"
    ),
    Case("prices-missing-close", validate(mutate(lambda d: d.drop(columns="close"))), r"close"),
    Case("prices-negative", validate(mutate(_set("close", 5, -1.0))), r"finite and > 0"),
    Case("prices-zero", validate(mutate(_set("open", 5, 0.0))), r"finite and > 0"),
    Case("prices-high-below-close", validate(mutate(_set("high", 5, 1.0))), r"high below"),
    Case("prices-low-above-open", validate(mutate(_set("low", 5, 1e6))), r"low above"),
    Case("prices-duplicate-date", validate(mutate(_dup_row)), r"duplicate date"),
    Case("prices-unsorted", validate(mutate(_swap_rows)), r"not sorted"),
    Case(
        "prices-partial-nan", validate(mutate(_set("high", 5, ""))), r"some of open/high/low/close"
    ),
    Case("prices-text-number", validate(mutate(_set("close", 5, "12,5"))), r"not a number"),
    Case("prices-unreadable-date", validate(mutate(_set("date", 5, "yesterday"))), r"yesterday"),
    Case(
        "prices-time-of-day", validate(mutate(_set("date", 0, "2025-01-02 15:30"))), r"time of day"
    ),
    Case("prices-no-ticker", validate(mutate(_set("ticker", 2, ""))), r"no ticker"),
    Case("prices-negative-volume", validate(mutate(_set("volume", 2, -5))), r"volume"),
    Case("prices-empty-file", validate(lambda tmp: write(tmp, "empty.csv", "")), r"empty"),
    Case(
        "prices-header-only",
        validate(lambda tmp: write(tmp, "head.csv", "date,ticker,open,high,low,close,volume\n")),
        r"no rows",
    ),
    Case(
        "prices-corrupt-parquet",
        validate(lambda tmp: write(tmp, "broken.parquet", b"PAR1 this is not parquet")),
        r"broken\.parquet: not a readable Parquet",
    ),
    Case("prices-xlsx", validate(lambda tmp: write(tmp, "prices.xlsx", "x")), r"unknown file type"),
    Case(
        "prices-folder", lambda tmp: ["data", "validate", str(tmp)], r"folder|directory|Directory"
    ),
    Case("prices-absent", validate(lambda tmp: str(tmp / "absent.csv")), r"absent\.csv"),
    Case(
        "prices-latin1",
        validate(
            lambda tmp: write(
                tmp,
                "l1.csv",
                b"date,ticker,open,high,low,close,volume\n2025-01-02,CAF\xc9,1,1,1,1,1\n",
            )
        ),
        r"l1\.csv",
    ),
    Case(
        "prices-split-like-jump",
        validate(mutate(_halve_from("2025-02-03"))),
        r"NVDA 2025-02-03.*unadjusted split",
        expect="warn",
    ),
]

CLI_OPTIONS = [
    Case("cli-unknown-command", lambda tmp: ["bactest"], r"No such command"),
    Case("cli-missing-argument", lambda tmp: ["data", "show"], r"Missing argument"),
    Case("cli-bad-integer", signals("--asof", "2025-03-03", "--horizon", "abc"), r"--horizon"),
    Case("cli-unknown-option", lambda tmp: ["data", "show", "NVDA", "--frobnicate"], r"frobnicate"),
    Case(
        "cli-bad-source-choice", lambda tmp: ["data", "show", "NVDA", "--source", "csv"], r"source"
    ),
    Case("cli-show-unknown-ticker", lambda tmp: ["data", "show", "NVDAX"], r"NVDAX"),
    Case(
        "cli-show-file-without-path",
        lambda tmp: ["data", "show", "NVDA", "--source", "file"],
        r"price file",
    ),
    Case(
        "cli-show-bad-start",
        lambda tmp: ["data", "show", "NVDA", "--start", "yesterdayish"],
        r"start",
    ),
    Case("cli-asof-empty", signals("--asof", ""), r"--asof"),
    Case(
        "cli-asof-1990",
        signals("--asof", "1990-01-01"),
        r"1990-01-01",
    ),
    Case(
        "cli-asof-2100",
        signals("--asof", "2100-01-01"),
        r"2100-01-01",
    ),
    Case(
        "cli-asof-timezone",
        signals("--asof", "2025-01-01T00:00+02:00"),
        r"--asof",
    ),
    Case(
        "cli-horizon-huge",
        signals("--asof", "2025-03-03", "--horizon", "100000"),
        r"horizon",
    ),
    Case(
        "cli-study-prices-absent",
        lambda tmp: ["study", config(tmp, BASE_CONFIG), "--prices", str(tmp / "nope.csv")],
        r"nope\.csv",
    ),
    Case(
        "cli-study-only-benchmark",
        st(edit('tickers = ["NVDA"]', 'tickers = ["SMH"]')),
        r"SMH.*study benchmark",
    ),
]

CATALOGS = [
    Case("catalog-absent", lambda tmp: ["events", "validate", str(tmp / "none.csv")], r"none\.csv"),
    Case(
        "catalog-bad-date",
        lambda tmp: ["events", "validate", catalog(date="2025-13-40")(tmp)],
        r"date",
    ),
    Case(
        "catalog-bad-kind",
        lambda tmp: ["events", "validate", catalog(kind="launchy")(tmp)],
        r"kind",
    ),
    Case(
        "catalog-bad-tz",
        lambda tmp: ["events", "validate", catalog(tz="Mars/Base")(tmp)],
        r"Mars/Base",
    ),
    Case(
        "catalog-before-2000",
        lambda tmp: ["events", "validate", catalog(date="1995-05-05")(tmp)],
        r"1995",
    ),
    Case(
        "catalog-far-future",
        lambda tmp: ["events", "validate", catalog(date="2150-01-01")(tmp)],
        r"2150",
    ),
    Case(
        "catalog-control-chars",
        lambda tmp: ["events", "validate", catalog(name="X\x07model")(tmp)],
        r"control",
    ),
    Case(
        "catalog-for-study",
        lambda tmp: ["study", config(tmp, BASE_CONFIG), "--events", catalog(kind="launchy")(tmp)],
        r"kind",
    ),
    Case(
        "catalog-read-only-folder",
        _ro_catalog,
        r"catalog\.csv",
        fault=_deny(errno.EACCES, "ro"),
    ),
]

OUTPUT_FAULTS = [
    Case(
        "out-is-a-file",
        lambda tmp: ["study", config(tmp, BASE_CONFIG), "--out", write(tmp, "afile", "x")],
        r"afile",
    ),
    Case(
        "out-under-a-file",
        lambda tmp: [
            "study",
            config(tmp, BASE_CONFIG),
            "--out",
            str(Path(write(tmp, "afile", "x")) / "sub"),
        ],
        r"afile",
    ),
    Case("out-not-writable", st(BASE_CONFIG), r"results", fault=_deny(errno.EACCES, "results")),
    Case("out-read-only-fs", st(BASE_CONFIG), r"results", fault=_deny(errno.EROFS, "results")),
    Case("out-disk-full", st(BASE_CONFIG), r"(space|disk)", fault=_deny(errno.ENOSPC, "results")),
    Case(
        "out-disk-full-backtest",
        bt(BASE_CONFIG),
        r"(space|disk)",
        fault=_deny(errno.ENOSPC, "results"),
    ),
]


def _run_first(argv: list[str]) -> None:
    """Run the same command once, fault-free, on a sibling config (another run id): the
    faulty run after it must leave that real result as it was."""
    cfg = Path(argv[1])
    first = cfg.with_name("first.toml")
    first.write_text(edit("[strategy]", "[strategy]\nhold = 3"))
    assert main([argv[0], str(first), *argv[2:]]) == 0


OUTPUT_FAULTS += [
    Case(
        "out-disk-full-after-a-study",
        st(BASE_CONFIG),
        r"(space|disk)",
        fault=_deny(errno.ENOSPC, "results"),
        prepare=_run_first,
    ),
    Case(
        "out-not-writable-after-a-backtest",
        bt(BASE_CONFIG),
        r"results",
        fault=_deny(errno.EACCES, "results"),
        prepare=_run_first,
    ),
]

DATA_FAULTS = [
    Case("bench-short-history", _short_bench, r"SMH", expect="error-or-warn"),
]

CORPUS = CONFIGS + PRICE_FILES + CLI_OPTIONS + CATALOGS + OUTPUT_FAULTS + DATA_FAULTS
N_BEFORE_ISSUE_19 = len(CORPUS)

# --------------------------------------------------------------------------------------
# Issue 19: safe under abuse (links, read-only queries, damaged runs, alerts, text, API)
# --------------------------------------------------------------------------------------

RID = "bt-launch_shock-0123456789ab"
RID2 = "bt-launch_shock-ba9876543210"


def _run(tmp: Path, rid: str = RID, **tables: pd.DataFrame) -> Path:
    """A small backtest-shaped run written through the store (hashes recorded)."""
    from evbt import store

    metrics = pd.DataFrame({"scope": ["total"], "sharpe": [1.0], "total_return": [0.1]})
    frames = {"metrics": metrics, "trades": pd.DataFrame({"ret": [0.01, 0.02]}), **tables}
    man = {"kind": "bt", "created_utc": "2026-11-23T10:00:00Z", "lineage": rid}
    return store.write_run(tmp / "results", rid, frames, man)


def runs(*args: str, setup: Callable[[Path], None] | None = None):
    def build(tmp: Path) -> list[str]:
        if setup is not None:
            setup(tmp)
        return ["runs", *(a.replace("{tmp}", str(tmp)) for a in args), "--root", "results"]

    return build


def _link_run(tmp: Path) -> None:
    _run(tmp)
    (tmp / "results" / RID2).symlink_to(tmp / "projects" / RID2, target_is_directory=True)


def _link_partial(tmp: Path) -> None:
    (tmp / "results" / ".partial").symlink_to(tmp / "projects", target_is_directory=True)


def _partial_entry_link(tmp: Path) -> None:
    (tmp / "results" / ".partial").mkdir()
    (tmp / "results" / ".partial" / RID).symlink_to(tmp / "projects" / "thesis")


def _debris_link(tmp: Path) -> None:
    (tmp / "results" / f".tmp-{RID}-rm-0123abcd").symlink_to(tmp / "projects" / "photos")


def _truncated(name: str) -> Callable[[Path], None]:
    def fn(tmp: Path) -> None:
        _run(tmp)
        _run(tmp, RID2)
        p = tmp / "results" / RID / name
        p.write_bytes(p.read_bytes()[:60])

    return fn


def _manifest(text: str | None) -> Callable[[Path], None]:
    def fn(tmp: Path) -> None:
        _run(tmp)
        _run(tmp, RID2)
        m = tmp / "results" / RID / "manifest.json"
        if text is None:
            m.unlink()
        else:
            m.write_text(text)

    return fn


def _changed(tmp: Path) -> None:
    _run(tmp)
    pd.DataFrame({"ret": [9.0]}).to_parquet(tmp / "results" / RID / "trades.parquet")


def _gone(*rel: str) -> Callable[[Path, str, str], None]:
    def check(tmp: Path, out: str, err: str) -> None:
        for r in rel:
            assert not os.path.lexists(tmp / r), r

    return check


def _says(*needles: str, gone: tuple[str, ...] = ()) -> Callable[[Path, str, str], None]:
    def check(tmp: Path, out: str, err: str) -> None:
        for n in needles:
            assert n in out + err, (n, out, err)
        _gone(*gone)(tmp, out, err)

    return check


def _no_debris(tmp: Path, out: str, err: str) -> None:
    assert not [p for p in (tmp / "results").iterdir() if p.name.startswith(".tmp-")]


LINKS = [
    Case(
        "link-gc-partial-into-user-files",
        runs("gc", "--partial", setup=_link_partial),
        r"\.partial is a symbolic link",
    ),
    Case(
        "link-gc-partial-dry-run",
        runs("gc", "--partial", "--dry-run", setup=_link_partial),
        r"\.partial is a symbolic link",
    ),
    Case(
        "link-gc-partial-entry",
        runs("gc", "--partial", setup=_partial_entry_link),
        r"",
        expect="ok",
        check=_says("a link; its target is untouched", gone=("results/.partial",)),
    ),
    Case(
        "link-rm-run",
        runs("rm", RID2, setup=_link_run),
        r"",
        expect="ok",
        check=_says(f"removed link {RID2}", gone=(f"results/{RID2}",)),
    ),
    Case(
        "link-rm-run-no-debris",
        runs("rm", RID2, setup=_link_run),
        r"",
        expect="ok",
        check=_no_debris,
    ),
    Case(
        "link-rm-run-by-prefix",
        runs("rm", "bt-launch_shock-ba98", setup=_link_run),
        r"",
        expect="ok",
        check=_says("removed link", gone=(f"results/{RID2}",)),
    ),
    Case(
        "link-gc-damaged-removes-the-link",
        runs("gc", "--damaged", "--keep-superseded", setup=_link_run),
        r"",
        expect="ok",
        check=_says(f"removed damaged: {RID2}", gone=(f"results/{RID2}",)),
    ),
    Case(
        "link-gc-keeps-and-names-the-link",
        runs("gc", "--keep-superseded", setup=_link_run),
        r"",
        expect="ok",
        check=_says(RID2, "--damaged"),
    ),
    Case(
        "link-list",
        runs("list", setup=_link_run),
        r"",
        expect="ok",
        check=_says("link: a symbolic link to", RID),
    ),
    Case("link-show", runs("show", RID2, setup=_link_run), r"is a link"),
    Case("link-compare", runs("compare", RID, RID2, setup=_link_run), r"is a link"),
    Case(
        "link-query-skips-it",
        runs("query", "select count(*) as n from metrics", setup=_link_run),
        r"",
        expect="ok",
        check=_says("1"),
    ),
    Case(
        "link-verify",
        runs("verify", setup=_link_run),
        r"",
        expect="ok",
        check=_says(f"{RID2}: link", f"{RID}: ok"),
    ),
    Case(
        "link-debris-from-old-rm",
        runs("gc", "--keep-superseded", setup=_debris_link),
        r"",
        expect="ok",
        check=_says("removed debris", gone=(f"results/.tmp-{RID}-rm-0123abcd",)),
    ),
    Case("link-rm-parent-path", runs("rm", "../projects"), r"not a run id"),
    Case("link-rm-absolute-path", runs("rm", "{tmp}/projects"), r"not a run id"),
    Case("link-rm-dot-dot", runs("rm", ".."), r"not a run id"),
    Case("link-rm-unknown", runs("rm", "bt-nosuch-000000000000"), r"no run"),
]

QUERIES = [
    Case("query-copy-to-file", runs("query", "COPY (select 42) TO 'leak.csv'"), r"COPY"),
    Case("query-copy-into-root", runs("query", "COPY (select 1) TO 'results/x.csv'"), r"COPY"),
    Case("query-attach", runs("query", "ATTACH 'new.duckdb'"), r"ATTACH"),
    Case("query-attach-memory", runs("query", "ATTACH ':memory:' AS m"), r"ATTACH"),
    Case("query-create-table", runs("query", "CREATE TABLE t AS SELECT 1"), r"CREATE"),
    Case("query-install", runs("query", "INSTALL httpfs"), r"INSTALL"),
    Case("query-load", runs("query", "LOAD httpfs"), r"LOAD"),
    Case("query-set", runs("query", "SET enable_external_access = true"), r"SET"),
    Case("query-export", runs("query", "EXPORT DATABASE 'dump'"), r"EXPORT"),
    Case("query-pragma", runs("query", "PRAGMA database_list"), r"PRAGMA"),
    Case("query-second-statement", runs("query", "select 1; COPY (select 2) TO 'x.csv'"), r"COPY"),
    Case("query-read-etc", runs("query", "select * from read_csv('/etc/passwd')"), r"Permission"),
    Case("query-read-prices", runs("query", "select * from read_csv('prices.csv')"), r"Permission"),
    Case("query-empty", runs("query", ""), r"empty"),
    Case("query-blank", runs("query", "   "), r"empty"),
    Case("query-semicolon", runs("query", ";"), r"empty"),
    Case("query-comment", runs("query", "/* nothing */"), r"empty"),
    Case("query-bad-sql", runs("query", "selec 1"), r"query failed"),
    Case("query-unknown-view", runs("query", "select * from nosuch"), r"nosuch"),
]

DAMAGED = [
    Case(
        "damaged-list-truncated-metrics",
        runs("list", "--json", setup=_truncated("metrics.parquet")),
        r"",
        expect="ok",
        check=_says('"status": "damaged"', "metrics.parquet unreadable", RID2),
    ),
    Case(
        "damaged-list-truncated-trades",
        runs("list", setup=_truncated("trades.parquet")),
        r"",
        expect="ok",
        check=_says("DAMAGED", RID2),
    ),
    Case("damaged-show", runs("show", RID, setup=_truncated("metrics.parquet")), r"damaged"),
    Case(
        "damaged-compare",
        runs("compare", RID, RID2, setup=_truncated("metrics.parquet")),
        r"damaged",
    ),
    Case(
        "damaged-query-skips-it",
        runs("query", "select run_id from metrics", setup=_truncated("metrics.parquet")),
        r"",
        expect="ok",
        check=_says(RID2),
    ),
    Case(
        "damaged-rm",
        runs("rm", RID, setup=_truncated("metrics.parquet")),
        r"",
        expect="ok",
        check=_says(f"removed {RID}", gone=(f"results/{RID}",)),
    ),
    Case(
        "damaged-gc-damaged",
        runs("gc", "--damaged", "--keep-superseded", setup=_truncated("trades.parquet")),
        r"",
        expect="ok",
        check=_says(f"removed damaged: {RID}", gone=(f"results/{RID}",)),
    ),
    Case(
        "damaged-no-manifest-list",
        runs("list", setup=_manifest(None)),
        r"",
        expect="ok",
        check=_says("no manifest.json"),
    ),
    Case("damaged-no-manifest-show", runs("show", RID, setup=_manifest(None)), r"no manifest"),
    Case(
        "damaged-no-manifest-rm",
        runs("rm", RID, setup=_manifest(None)),
        r"",
        expect="ok",
        check=_says(f"removed {RID}", gone=(f"results/{RID}",)),
    ),
    Case("damaged-corrupt-manifest", runs("show", RID, setup=_manifest("{x")), r"unreadable"),
    Case("damaged-array-manifest", runs("show", RID, setup=_manifest("[1]")), r"not a JSON"),
    Case("damaged-verify-changed", runs("verify", setup=_changed), r"failed verification"),
    Case(
        "damaged-verify-no-hashes",
        runs("verify"),
        r"",
        expect="ok",
        check=_says("bt-earlier-000000000000: no hashes", "no hashes recorded"),
    ),
    Case(
        "damaged-report",
        lambda tmp: (_truncated("trades.parquet")(tmp), ["report", RID, "--root", "results"])[1],
        r"damaged",
    ),
    Case(
        "damaged-report-ambiguous-prefix",
        lambda tmp: (_manifest(None)(tmp), ["report", "bt-launch_shock", "--root", "results"])[1],
        r"matches 2 runs",
    ),
]


def alerts(*args: str, state: str | None = None):
    def build(tmp: Path) -> list[str]:
        argv = ["alerts", "--asof", "2026-02-10", *args]
        if state is not None:
            write(tmp, "s.json", state)
            argv += ["--state", str(tmp / "s.json")]
        return argv

    return build


def _state(items) -> str:
    return json.dumps({"version": 1, "asof": "2026-02-01", "items": items})


def _full_stdout(mp, tmp: Path) -> None:
    class Full:
        def write(self, s):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self):
            pass

    mp.setattr("sys.stdout", Full())


def _closed_stdout(mp, tmp: Path) -> None:
    class Closed:
        def write(self, s):
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

        def flush(self):
            pass

        def fileno(self):
            raise ValueError("no file")

    mp.setattr("sys.stdout", Closed())


ALERTS = [
    Case("alerts-entry-empty", alerts(state=_state({"k|e|T": {}})), r"s\.json.*entry 'k\|e\|T'"),
    Case("alerts-entry-list", alerts(state=_state({"k": []})), r"s\.json.*not an object"),
    Case("alerts-entry-text", alerts(state=_state({"k": "x"})), r"s\.json.*not an object"),
    Case(
        "alerts-entry-number-field",
        alerts(state=_state({"k": dict.fromkeys(("strategy", "action"), 1)})),
        r"s\.json.*lacks",
    ),
    Case("alerts-state-not-json", alerts(state="{nope"), r"s\.json: corrupt"),
    Case("alerts-state-version", alerts(state='{"version": 9, "items": {}}'), r"s\.json"),
    Case("alerts-state-items-list", alerts(state='{"version": 1, "items": []}'), r"s\.json"),
    Case(
        "alerts-state-folder",
        lambda tmp: ["alerts", "--asof", "2026-02-10", "--state", str(tmp / "results")],
        r"--state.*results.*directory",
    ),
    Case(
        "alerts-full-disk-keeps-state",
        alerts(state=_state({})),
        r"stdout: cannot write the alerts",
        fault=_full_stdout,
    ),
    Case(
        "alerts-closed-pipe-keeps-state",
        alerts(state=_state({})),
        r"closed early",
        fault=_closed_stdout,
    ),
    Case(
        "alerts-full-disk-without-state",
        alerts(),
        r"stdout: cannot write the alerts",
        fault=_full_stdout,
    ),
    Case(
        "alerts-nothing-to-report",
        alerts("--horizon", "3", "--catalog", "{catalog}"),
        r"",
        expect="ok",
        check=_says("nothing in the next 3 sessions"),
    ),
]


def _with_catalog(case: Case) -> Case:
    build = case.argv

    def argv(tmp: Path) -> list[str]:
        path = write(tmp, "old.csv", _catalog_row(date="2025-03-03"))
        return [a.replace("{catalog}", path) for a in build(tmp)]

    return dataclasses.replace(case, argv=argv)


ALERTS = [_with_catalog(c) if c.id == "alerts-nothing-to-report" else c for c in ALERTS]

MARKUP = "[/x] Labs :x: [bold]b[/bold]"


def _markup_study(tmp: Path) -> list[str]:
    cat = write(
        tmp,
        "markup.csv",
        _catalog_row(org=MARKUP, tags="china;efficiency", date="2025-03-03"),
    )
    return ["study", config(tmp, BASE_CONFIG), "--events", cat, "--out", str(tmp / "results")]


TEXT = [
    Case(
        "text-events-list-markup-org",
        lambda tmp: ["events", "list", "--catalog", write(tmp, "m.csv", _catalog_row(org=MARKUP))],
        r"",
        expect="ok",
        check=_says("[/x]", ":x:"),
    ),
    Case(
        "text-events-list-markup-name",
        lambda tmp: [
            "events",
            "list",
            "--json",
            "--catalog",
            write(tmp, "m.csv", _catalog_row(name="[bold]b[/bold] :x:")),
        ],
        r"",
        expect="ok",
        check=_says("[bold]b[/bold] :x:"),
    ),
    Case(
        "text-study-markup-org",
        _markup_study,
        r"",
        expect="ok",
        check=_says("org:[/x]"),
    ),
    Case(
        "text-query-markup-and-control",
        runs("query", f"select '{MARKUP}' || chr(27) as v", setup=_run),
        r"",
        expect="ok",
        check=_says(MARKUP + "\\x1b"),
    ),
]


def _user_catalog(mp, tmp: Path) -> None:
    mp.setenv("EVBT_CATALOG", str(tmp / "user" / "catalog.csv"))


def _add_bundled(*extra: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        argv = _add_events("unused")
        argv = argv[:2] + argv[4:]  # no --catalog: the user catalog over the bundled one
        argv[argv.index("y-launch")] = "deepseek-r1"
        return [*argv, *extra]

    return build


SMALLER = [
    Case(
        "events-add-bundled-id",
        _add_bundled(),
        r"--id deepseek-r1: a bundled event.*--replace",
        fault=_user_catalog,
    ),
    Case(
        "events-add-error-names-no-temp-file",
        _ro_catalog,
        r"ro/catalog\.csv: ",
        fault=_deny(errno.EACCES, "ro"),
    ),
    Case(
        "events-add-suggests-no-out",
        _ro_catalog,
        r"^(?!.*--out).*$",
        fault=_deny(errno.ENOSPC, "ro"),
    ),
    Case(
        "report-unknown-prefix",
        lambda tmp: ["report", "bt-nosuch", "--root", "results"],
        r"bt-nosuch",
    ),
]

ISSUE_19 = LINKS + QUERIES + DAMAGED + ALERTS + TEXT + SMALLER
CORPUS += ISSUE_19


# ------------------------------------- sweeps: every grid fault before work, resume (issue 19)

SWEEP_BASE = BASE_CONFIG.replace(
    "[study]\nbootstrap = 50\nplacebo = 20\n", "[study]\nenabled = false\n"
)


def sw(sweep: str, *extra: str, base: str = SWEEP_BASE) -> Callable[[Path], list[str]]:
    """``evbt sweep`` of the base config with ``sweep`` as its [sweep] table."""
    return lambda tmp: [
        "sweep",
        config(tmp, base + "[sweep]\n" + sweep + "\n"),
        "--out",
        str(tmp / "results"),
        "--no-report",
        *extra,
    ]


BIG = "entry_offset = { start = 0, stop = 999 }\nhold = { start = 1, stop = 1000 }\n"
BIG += "fees = { start = 0.0, stop = 0.0999, step = 0.0001 }"  # 10^9 combinations


def _interrupted(edit_manifest: Callable[[dict], object], parts_too: bool = True):
    """``evbt sweep --resume`` over a partial folder of this run id whose manifest
    ``edit_manifest`` changed (it returns the text to write, or a dict to dump)."""

    def build(tmp: Path) -> list[str]:
        from evbt import api, store
        from evbt.strategies.config import load_config

        path = config(tmp, SWEEP_BASE + "[sweep]\nhold = [3, 5]\n")
        head = api.sweep_inputs(load_config(path)).head
        man = json.loads(json.dumps({**head, "chunk_size": 1}, default=str))
        partial = store.partial_dir(tmp / "results", head["run_id"])
        (partial / "sweep" / "parts").mkdir(parents=True)
        if parts_too:
            (partial / "sweep" / "parts" / "part-00000.parquet").write_bytes(b"PAR1")
        text = edit_manifest(man)
        if isinstance(text, bytes):
            (partial / store.PARTIAL_MANIFEST).write_bytes(text)
        elif text is not None:
            text = text if isinstance(text, str) else json.dumps(text)
            (partial / store.PARTIAL_MANIFEST).write_text(text)
        return ["sweep", path, "--out", str(tmp / "results"), "--resume", "--no-report"]

    return build


def _other_config(man: dict) -> dict:
    """The manifest of another sweep (hold = [3, 5, 8]) moved under this run id."""
    from evbt import api
    from evbt.strategies.config import from_dict

    raw = {
        "data": {"source": "file", "prices": str(Path.cwd() / "prices.csv")},
        "strategy": {"name": "launch_shock", "tickers": ["NVDA"]},
        "study": {"enabled": False},
        "sweep": {"hold": [3, 5, 8]},
    }
    other = api.sweep_inputs(from_dict(raw)).head
    return json.loads(json.dumps({**other, "chunk_size": 1}, default=str))


def _with(path: tuple[str, ...], value) -> Callable[[dict], dict]:
    def fn(man: dict) -> dict:
        at = man
        for k in path[:-1]:
            at = at[k]
        at[path[-1]] = value
        return man

    return fn


def _without(key: str) -> Callable[[dict], dict]:
    return lambda man: {k: v for k, v in man.items() if k != key}


SWEEP_FAULTS = [
    Case("sweep-blocks-odd", sw("hold = [3, 5]\nblocks = 15"), r"\[sweep\] blocks = 15: .*even"),
    Case("sweep-blocks-huge", sw("hold = [3, 5]\nblocks = 100000"), r"blocks = 100000.*2 to 20"),
    Case("sweep-blocks-one", sw("hold = [3, 5]\nblocks = 1"), r"blocks = 1\b"),
    Case("sweep-blocks-float", sw("hold = [3, 5]\nblocks = 8.0"), r"blocks = 8\.0"),
    Case("sweep-blocks-text", sw("hold = [3, 5]\nblocks = 'many'"), r"blocks = 'many'"),
    Case(
        "sweep-blocks-beyond-data",
        sw(
            "hold = [3, 5]\nblocks = 20",
            base=SWEEP_BASE.replace("[data]", "[data]\nstart = '2025-01-21'\nend = '2025-02-10'"),
        ),
        r"blocks = 20: the prices hold only \d+ daily returns",
    ),
    Case("sweep-wf-blocks-huge", sw("hold = [3, 5]\nwf_blocks = 100000"), r"wf_blocks = 100000"),
    Case("sweep-wf-blocks-one", sw("hold = [3, 5]\nwf_blocks = 1"), r"wf_blocks = 1\b"),
    Case("sweep-samples-zero", sw("hold = [3, 5]\nmethod = 'random'\nsamples = 0"), r"samples = 0"),
    Case(
        "sweep-samples-above-grid",
        sw("hold = [3, 5]\nmethod = 'random'\nsamples = 10"),
        r"samples = 10: the grid has only 2 combinations",
    ),
    Case("sweep-samples-without-random", sw("hold = [3, 5]\nsamples = 1"), r"samples needs method"),
    Case("sweep-random-without-samples", sw("hold = [3, 5]\nmethod = 'random'"), r"needs samples"),
    Case("sweep-method-unknown", sw("hold = [3, 5]\nmethod = 'bayes'"), r"method = 'bayes'"),
    Case(
        "sweep-seed-negative",
        sw("hold = [3, 5]\nmethod = 'random'\nsamples = 1\nseed = -1"),
        r"seed = -1",
    ),
    Case("sweep-only-settings", sw("blocks = 8"), r"names no parameter to vary"),
    Case("sweep-empty-list", sw("hold = []"), r"\[sweep\] hold = \[\]: use a non-empty list"),
    Case("sweep-duplicate", sw("hold = [3, 5, 3]"), r"hold: value 3 is listed twice"),
    Case(
        "sweep-duplicate-none",
        sw("stop_loss = ['none', 'None']"),
        r"stop_loss: value none is listed twice",
    ),
    Case("sweep-hold-zero", sw("hold = [0, 5]"), r"\[sweep\] hold = 0"),
    Case(
        "sweep-hold-negative-range", sw("hold = { start = -2, stop = 3 }"), r"\[sweep\] hold = -2"
    ),
    Case("sweep-hold-fraction", sw("hold = [2.5]"), r"hold = 2\.5: use whole numbers"),
    Case("sweep-hold-text", sw("hold = ['five']"), r"hold = 'five'"),
    Case("sweep-hold-bool", sw("hold = [true]"), r"hold = True"),
    Case("sweep-hold-table-in-list", sw("hold = [[3]]"), r"hold = \[3\]"),
    Case("sweep-stop-zero", sw("stop_loss = [0]"), r"stop_loss = 0\b"),
    Case("sweep-stop-too-large", sw("stop_loss = [50]"), r"stop_loss = 50"),
    Case("sweep-stop-percent-text", sw("stop_loss = ['5%']"), r"stop_loss = '5%'.*\"none\""),
    Case("sweep-take-profit-negative", sw("take_profit = [-0.1]"), r"take_profit = -0\.1"),
    Case("sweep-fees-above-bound", sw("fees = [0.5]"), r"fees = 0\.5"),
    Case("sweep-direction-unknown", sw("direction = ['up']"), r"direction = 'up'"),
    Case(
        "sweep-range-step-zero",
        sw("entry_offset = { start = 0, stop = 5, step = 0 }"),
        r"step must move",
    ),
    Case("sweep-range-backwards", sw("entry_offset = { start = 5, stop = 0 }"), r"step must move"),
    Case(
        "sweep-range-unknown-key",
        sw("hold = { start = 1, stop = 5, by = 1 }"),
        r"unknown range key 'by'",
    ),
    Case("sweep-range-no-stop", sw("hold = { start = 1 }"), r"needs start and stop"),
    Case("sweep-range-text", sw("hold = { start = 1, stop = 'ten' }"), r"must be numbers"),
    Case(
        "sweep-range-million-values",
        sw("hold = { start = 1, stop = 10000000 }"),
        r"has 10000000 values",
    ),
    Case("sweep-unknown-parameter", sw("holds = [3, 5]"), r"holds.*did you mean 'hold'"),
    Case(
        "sweep-grid-beyond-numbering",
        sw(
            "\n".join(
                f"{k} = {{ start = 0, stop = 999999 }}" for k in ("entry_offset", "exit_offset")
            )
            + "\nhold = { start = 1, stop = 999999 }\nfees = { start = 0.0, stop = 0.099, step = 0.000001 }\nslippage = { start = 0.0, stop = 0.099, step = 0.000001 }"
        ),
        r"more than any sweep can number",
    ),
    Case(
        "sweep-a-billion-combinations",
        sw(BIG),
        r"1,000,000,000 combinations, above the limit of 5,000,000.*--max-combos",
    ),
    Case(
        "sweep-max-combos-below-grid",
        sw("hold = [3, 5, 8]", "--max-combos", "2"),
        r"3 combinations, above the limit of 2",
    ),
    Case("sweep-max-combos-zero", sw("hold = [3, 5]", "--max-combos", "0"), r"--max-combos 0"),
    Case("sweep-max-combos-text", sw("hold = [3, 5]", "--max-combos", "lots"), r"--max-combos"),
    Case(
        "sweep-yes-and-max-combos",
        sw("hold = [3, 5]", "--yes", "--max-combos", "5"),
        r"--yes and --max-combos",
    ),
    Case(
        "strategy-stop-word",
        bt(edit("[strategy]", "[strategy]\nstop_loss = 'off'")),
        r'stop_loss = "off".*"none"',
    ),
    Case(
        "strategy-take-profit-word",
        bt(edit("[strategy]", "[strategy]\ntake_profit = 'never'")),
        r'take_profit = "never".*"none"',
    ),
    Case(
        "resume-moved-partial-of-another-config",
        _interrupted(_other_config),
        r"the config changed since the interrupted sweep.*--force",
    ),
    Case(
        "resume-other-price-data",
        _interrupted(_with(("data", "data_hash"), "0" * 64)),
        r"the price data changed.*hash 000000000000\.\. vs",
    ),
    Case(
        "resume-other-catalog",
        _interrupted(_with(("catalog", "sha256"), "1" * 64)),
        r"the catalog changed since the interrupted sweep \(hash 111111111111\.\. vs",
    ),
    Case(
        "resume-other-code-version",
        _interrupted(_with(("code_version",), "0.0.1+old")),
        r"the code version changed.*0\.0\.1\+old vs",
    ),
    Case(
        "resume-other-run-id",
        _interrupted(_with(("run_id",), "sweep-launch_shock-000000000000")),
        r"holds sweep sweep-launch_shock-000000000000",
    ),
    Case(
        "resume-manifest-truncated",
        _interrupted(lambda man: json.dumps(man)[:40]),
        r"manifest\.partial\.json: damaged \(JSONDecodeError\)",
    ),
    Case(
        "resume-manifest-array",
        _interrupted(lambda man: "[1, 2]"),
        r"damaged \(not a JSON object\)",
    ),
    Case(
        "resume-manifest-no-catalog",
        _interrupted(_without("catalog")),
        r"damaged \(no 'catalog' entry\)",
    ),
    Case("resume-manifest-data-text", _interrupted(_with(("data",), "x")), r"damaged .*malformed"),
    Case(
        "resume-manifest-chunk-text",
        _interrupted(_with(("chunk_size",), "ten")),
        r"chunk_size = 'ten'",
    ),
    Case(
        "resume-manifest-missing",
        _interrupted(lambda man: None),
        r"manifest\.partial\.json: missing",
    ),
    Case(
        "resume-manifest-binary",
        _interrupted(lambda man: b'{"run_id": "\xff\xfe"}'),
        r"damaged \(UnicodeDecodeError\)",
    ),
]
SWEEP_FAULTS += [
    Case(
        "sweep-out-not-writable",
        sw("hold = [3, 5]", "--json"),  # --json: the estimate goes to stdout
        r"results/\.partial/sweep-launch_shock-[0-9a-f]{12}: no permission",
        fault=_deny(errno.EACCES, "results"),
    ),
    Case(
        "sweep-out-disk-full",
        sw("hold = [3, 5]", "--json"),  # --json: the estimate goes to stdout
        r"results/\.partial/sweep-launch_shock-[0-9a-f]{12}: disk full",
        fault=_deny(errno.ENOSPC, "results"),
    ),
]
CORPUS += SWEEP_FAULTS


def test_the_sweep_corpus_covers_every_grid_and_resume_fault():
    assert len(SWEEP_FAULTS) >= 20
    assert sum(c.id.startswith("resume-") for c in SWEEP_FAULTS) >= 10


def _parquet(tmp: Path, df: pd.DataFrame) -> str:
    p = tmp / "prices.parquet"
    df.to_parquet(p, index=False)
    return str(p)


def _param(c: Case):
    marks = [pytest.mark.xfail(strict=True, reason=f"awaiting {c.awaiting}")] if c.awaiting else []
    return pytest.param(c, id=c.id, marks=marks)


def test_corpus_is_large_and_ids_unique():
    ids = [c.id for c in CORPUS]
    assert len(ids) == len(set(ids))
    assert len(CORPUS) >= 60
    n_new = len(ISSUE_19) + len(API_CASES) + len(READ_ONLY_FS)
    assert n_new >= 60, n_new


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder with valid prices, and an earlier result that must stay intact."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVBT_RESULTS", raising=False)
    monkeypatch.setenv("EVBT_CACHE", str(tmp_path / "cache"))
    prices_csv(tmp_path, price_table(), "prices.csv")
    for name in ("thesis", "photos", RID2):  # the user's own files, outside the results root
        write(tmp_path, f"projects/{name}/notes.txt", f"{name}: keep me\n")
    old = tmp_path / "results" / "bt-earlier-000000000000"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"run_id": old.name}))
    price_table(("NVDA",), "2025-01-02", "2025-01-31").to_parquet(old / "trades.parquet")
    return tmp_path


@pytest.mark.parametrize("case", [_param(c) for c in CORPUS])
def test_bad_input(case: Case, workdir: Path, capsys, monkeypatch):
    argv = case.argv(workdir)
    if case.prepare is not None:
        case.prepare(argv)
        capsys.readouterr()
    before = tree(workdir)
    if case.fault is not None:
        case.fault(monkeypatch, workdir)
    code = main(argv)
    monkeypatch.undo()  # writes work again for the checks below
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert code != 1, out.err
    assert "Traceback" not in out.err and "internal error" not in out.err
    after = tree(workdir)
    earlier = {k: v for k, v in before.items() if k.startswith("results/bt-earlier")}
    assert {k: after.get(k) for k in earlier} == earlier  # the earlier result is intact
    mine = {k: v for k, v in before.items() if k.startswith("projects")}
    assert {k: after.get(k) for k in mine} == mine  # nothing outside the root deleted
    outside = {k for k in set(after) - set(before) if not k.startswith(("results", "cache"))}
    assert not outside, outside  # nothing written outside the root
    expect = case.expect
    if expect == "ok":
        assert code == 0, out.err
        if case.check is not None:
            case.check(workdir, out.out, out.err)
        return
    if expect == "error-or-warn":
        expect = "error" if code == 2 else "warn"
    if expect == "error":
        assert code == 2, out.err
        assert len(lines) == 1, out.err
        assert lines[0].startswith("error: "), out.err
        assert re.search(case.match, lines[0]), lines[0]
        assert after == before  # nothing written, nothing left behind
    else:
        assert code == 0, out.err
        warn = [ln for ln in lines if ln.startswith("warning: ")]
        assert warn, out.err
        assert any(re.search(case.match, ln) for ln in warn), out.err


def test_the_valid_base_runs(workdir: Path, capsys):
    """The control: the corpus's base config and prices are fine, so each case fails for
    the one thing it changes."""
    for cmd in ("study", "backtest"):
        code = main([cmd, config(workdir, BASE_CONFIG), "--out", str(workdir / "results")])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "warning" not in out.err, out.err
    code = main(["data", "validate", str(workdir / "prices.csv")])
    out = capsys.readouterr()
    assert code == 0 and out.out.startswith("ok:"), out.err


def test_warnings_reach_the_manifest(workdir: Path, capsys):
    """A legal but suspicious input is said on stderr and recorded with the result."""
    argv = _short_bench(workdir) + ["--json"]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    warned = [w for w in doc["manifest"]["warnings"] if "SMH has" in w]
    assert warned and warned[0] in out.err
    on_disk = json.loads((Path(doc["results"]) / "manifest.json").read_text())
    assert on_disk["warnings"] == doc["manifest"]["warnings"]


# ------------------------------------------------------------- the Python API (issue 19)

EXAMPLE = HERE.parent / "examples" / "launch_shock.toml"


def _cfg_obj(tmp: Path):
    import evbt

    return evbt.load_config(tmp / "run.toml")


API_CASES = [
    ("api-run-none", lambda tmp: __import__("evbt").run(None), r"not NoneType"),
    ("api-study-none", lambda tmp: __import__("evbt").study(None), r"not NoneType"),
    ("api-sweep-none", lambda tmp: __import__("evbt").sweep(None), r"not NoneType"),
    ("api-run-int", lambda tmp: __import__("evbt").run(3), r"not int"),
    ("api-run-absent-path", lambda tmp: __import__("evbt").run("absent.toml"), r"absent\.toml"),
    ("api-study-bad-toml", lambda tmp: __import__("evbt").study(tmp / "bad.toml"), r"TOML"),
    (
        "api-sweep-workers-text",
        lambda tmp: __import__("evbt").sweep(_cfg_obj(tmp), workers="2"),
        r"--workers '2'",
    ),
    (
        "api-sweep-workers-zero",
        lambda tmp: __import__("evbt").sweep(_cfg_obj(tmp), workers=0),
        r"--workers 0",
    ),
    (
        "api-sweep-chunk-float",
        lambda tmp: __import__("evbt").sweep(_cfg_obj(tmp), chunk_size=2.5),
        r"--chunk-size 2\.5",
    ),
]


@pytest.mark.parametrize(("call", "match"), [pytest.param(c, m, id=i) for i, c, m in API_CASES])
def test_bad_api_argument(call, match, workdir: Path):
    import evbt

    config(workdir, BASE_CONFIG)
    config(workdir, "[x", "bad.toml")
    before = tree(workdir)
    with pytest.raises(evbt.InputError) as e:
        call(workdir)
    assert re.search(match, str(e.value)) and "\n" not in str(e.value), str(e.value)
    assert tree(workdir) == before


def test_a_path_string_is_loaded(workdir: Path):
    import evbt

    res = evbt.run(config(workdir, BASE_CONFIG), study=False)
    assert res.manifest["run_id"].startswith("bt-launch_shock-")


# ------------------------------------------- a real read-only file system (issue 19)


@pytest.fixture
def ro_mount(workdir: Path):
    """``workdir/romount``: a read-only tmpfs holding a run and a catalog (root cannot be
    stopped by chmod, but a read-only mount stops it)."""
    import subprocess

    from evbt import store

    stage = workdir / "stage"
    _run(workdir, RID)
    shutil.copytree(workdir / "results", stage / "results")
    write(stage, "catalog.csv", _catalog_row())
    mnt = workdir / "romount"
    mnt.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=False)
    if ok.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        shutil.copytree(stage, mnt, dirs_exist_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        assert store._read_only_fs(mnt)
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


READ_ONLY_FS = [
    ("ro-backtest", lambda m: ["backtest", "run.toml", "--out", str(m / "results")]),
    ("ro-study", lambda m: ["study", "run.toml", "--out", str(m / "results")]),
    ("ro-runs-rm", lambda m: ["runs", "rm", RID, "--root", str(m / "results")]),
    ("ro-runs-gc-damaged", lambda m: ["runs", "gc", "--damaged", "--root", str(m / "results")]),
    ("ro-events-add", lambda m: _add_events(str(m / "catalog.csv"))),
    (
        "ro-alerts-state",
        lambda m: ["alerts", "--asof", "2026-02-10", "--state", str(m / "s.json")],
    ),
]


@pytest.mark.parametrize(("build"), [pytest.param(b, id=i) for i, b in READ_ONLY_FS])
def test_read_only_file_system(build, ro_mount: Path, workdir: Path, capsys):
    config(workdir, BASE_CONFIG)
    before = tree(ro_mount)
    code = main(build(ro_mount))
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert tree(ro_mount) == before
    if code == 0:  # nothing to write (gc with nothing to remove): fine, nothing changed
        return
    assert code == 2 and len(lines) == 1, out.err
    assert "read-only file system" in lines[0].lower(), lines[0]
    assert ".tmp" not in lines[0], lines[0]
