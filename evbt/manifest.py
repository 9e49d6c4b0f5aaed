"""The manifest of a run: its id, code version, config, data, catalog, and what happened to
every signal.

Every manifest has (contract C3): ``run_id``, ``kind``, ``config`` (canonical), ``config_id``,
``data`` {source, synthetic, data_hash, ...}, ``catalog`` {path (relative to the config's
folder where the catalog lies under it; ``<bundled>`` for the bundled catalog), sha256 (of the
loaded catalog's content, see ``evbt.store.catalog_digest``), rows}, ``code_version``,
``created_utc``, ``lookahead`` and ``ruined``; plus ``lineage`` (which runs supersede each
other, see ``evbt runs gc``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evbt.strategies.config import Config

if TYPE_CHECKING:
    import pandas as pd

    from evbt.backtest.market import Market
    from evbt.result import BacktestResult


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus the git commit of the source tree when there is one."""
    try:
        version = metadata.version("evbt")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "0+unknown"
    try:
        here = Path(__file__).resolve().parents[1]
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


_code_version = code_version

KINDS = ("bt", "study", "sweep", "pre")  # run id prefixes: backtest, study, sweep, pre-earnings


def _canon_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


def config_key(config: Config) -> dict[str, Any]:
    """The config's canonical form without the price and catalog paths (their contents are
    hashed instead, so moving a file does not change a run id, and editing it does)."""
    d = json.loads(_canon_json(config.canonical()))
    for table in ("origin", "output"):
        d.pop(table, None)
    data = d.get("data")
    if isinstance(data, dict):
        for k in ("prices", "events"):
            if k in data:
                data[k] = None
    return d


def catalog_digest(catalog: pd.DataFrame | None) -> str | None:
    """sha256 of the loaded catalog's content: column names, dtypes and every cell (pandas'
    ``hash_pandas_object`` of each column, columns in sorted order). The frame as loaded, so
    a user overlay or an edit of any field counts; the file's path and formatting do not."""
    if catalog is None:
        return None
    import pandas as pd

    cols = sorted(map(str, catalog.columns))
    frame = catalog.copy()
    frame.columns = [str(c) for c in catalog.columns]
    frame = frame[cols]
    h = hashlib.sha256()
    h.update(_canon_json([[c, str(frame[c].dtype)] for c in cols]).encode())
    for c in cols:
        try:
            hashed = pd.util.hash_pandas_object(frame[c], index=False)
        except TypeError:  # unhashable cells (lists): hash their text
            hashed = pd.util.hash_pandas_object(frame[c].astype(str), index=False)
        h.update(hashed.to_numpy().tobytes())
    return h.hexdigest()


def make_run_id(
    kind: str,
    config: Config,
    *,
    data_hash: str | None,
    catalog_sha256: str | None,
    code_version: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """``<kind>-<strategy>-<12 hex>`` of everything that decides the result (module doc)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: use one of {', '.join(KINDS)}")
    if code_version is None:
        code_version = _code_version()
    blob = _canon_json(
        {
            "kind": kind,
            "config": config_key(config),
            "data_hash": data_hash,
            "catalog_sha256": catalog_sha256,
            "code_version": code_version,
            "extra": extra or {},
        }
    )
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(config.strategy.name)) or "run"
    return f"{kind}-{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def relative_to_config(path: str | os.PathLike[str] | None, cfg: Config) -> str | None:
    """``path`` relative to the config file's folder when it lies under it, else as given."""
    if path is None:
        return None
    p = Path(path)
    origin = Path(str(cfg.origin))
    if origin.is_file():
        try:
            return p.resolve().relative_to(origin.parent.resolve()).as_posix()
        except ValueError:
            pass
    return str(p)


def catalog_info(
    cfg: Config, catalog: pd.DataFrame | None, path: str | os.PathLike[str] | None
) -> dict[str, Any]:
    """The manifest's ``catalog`` entry: where it was read and a hash of its content."""
    if catalog is None:  # a caller that did not hand the catalog over: load it the same way
        from evbt.data.catalog import load_catalog

        catalog = load_catalog(path)
    return {
        "path": relative_to_config(path, cfg) if path is not None else "<bundled>",
        "sha256": catalog_digest(catalog),
        "rows": int(len(catalog)),
    }


def _lineage(
    kind: str, cfg: Config, catalog_path: Any, prices_path: Any, source: str, extra: Any
) -> str:
    """Runs of one lineage ask the same question of the same files (config with its paths);
    they differ only in what those files held, or in the code. The newest supersedes the rest."""
    blob = json.dumps(
        [kind, cfg.canonical(), str(catalog_path), str(prices_path), source, extra or {}],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def manifest_head(
    cfg: Config,
    market: Market,
    *,
    benchmark: str | None = None,
    kind: str = "study",
    catalog: pd.DataFrame | None = None,
    catalog_path: str | os.PathLike[str] | None = None,
    prices_path: str | os.PathLike[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What every manifest says first: run id, code, config, the data (SYNTHETIC or not) and
    the event catalog. ``extra`` enters the run id (e.g. whether a backtest ran its study)."""
    data: dict[str, Any] = {
        "source": market.source,
        "synthetic": market.synthetic,
        "data_hash": market.data_hash,
        "tickers": market.tickers,
        "first_session": f"{market.index[0]:%Y-%m-%d}",
        "last_session": f"{market.index[-1]:%Y-%m-%d}",
        "filled_cells": market.filled,
    }
    prices = prices_path if prices_path is not None else cfg.data.prices
    if prices is not None:
        data["prices"] = relative_to_config(prices, cfg)
    if benchmark is not None:
        data["benchmark"] = benchmark
    events = catalog_path if catalog_path is not None else cfg.data.events
    cat = catalog_info(cfg, catalog, events)
    version = code_version()
    run_id = make_run_id(
        kind,
        cfg,
        data_hash=market.data_hash,
        catalog_sha256=cat["sha256"],
        code_version=version,
        extra=extra,
    )
    return {
        "run_id": run_id,
        "kind": kind,
        "code_version": version,
        "evbt_version": version,  # older name of code_version, kept for readers of old runs
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "config_id": cfg.id,
        "config_origin": cfg.origin,
        "config": cfg.canonical(),
        "data": data,
        "catalog": cat,
        "lineage": _lineage(kind, cfg, events, prices, str(market.source), extra),
        "lookahead": bool(cfg.strategy.allow_lookahead),
        "ruined": False,
    }


def make_manifest(
    result: BacktestResult,
    market: Market,
    *,
    catalog: pd.DataFrame | None = None,
    catalog_path: str | os.PathLike[str] | None = None,
    prices_path: str | os.PathLike[str] | None = None,
    ruined: bool = False,
) -> dict[str, Any]:
    """The manifest of a backtest (kind ``bt``); ``catalog`` is the loaded catalog frame and
    ``catalog_path``/``prices_path`` the files read (None: the config's, or the bundled ones).

    Every signal is accounted for (contract C1): ``n_signals = n_trades + n_skipped``, each
    skip counted under its reason."""
    cfg = result.config
    skipped = result.skipped
    reasons = skipped["code"].value_counts().sort_index() if len(skipped) else {}
    head = manifest_head(
        cfg,
        market,
        kind="bt",
        catalog=catalog,
        catalog_path=catalog_path,
        prices_path=prices_path,
        extra={"study": result.study is not None},
    )
    head["lookahead"] = bool(result.signals.allow_lookahead)
    head["ruined"] = bool(ruined)
    return {
        **head,
        "signals": {
            "n_signals": int(len(result.trades) + len(skipped)),
            "n_trades": int(len(result.trades)),
            "n_skipped": int(len(skipped)),
            "skipped_by_reason": {str(k): int(v) for k, v in dict(reasons).items()},
            "allow_lookahead": bool(result.signals.allow_lookahead),
            "n_lookahead_signals": result.signals.n_lookahead,
        },
        "study": _study_entry(result.study),
    }


def _study_entry(study: Any) -> dict[str, Any]:
    """Did the event study run, and what did it leave out (never dropped silently)."""
    if study is None:
        return {"ran": False, "notes": ["turned off ([study] enabled = false or --no-study)"]}
    from evbt.backtest.study_run import study_manifest

    return study_manifest(study)
