"""The manifest of a run: code version, config, data and what happened to every signal."""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evbt.config import Config

if TYPE_CHECKING:
    from evbt.backtest.engine import BacktestResult
    from evbt.backtest.market import Market


def code_version() -> str:
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


def manifest_head(cfg: Config, market: Market, *, benchmark: str | None = None) -> dict[str, Any]:
    """What every manifest says first: code, config, and the data (SYNTHETIC or not)."""
    data: dict[str, Any] = {
        "source": market.source,
        "synthetic": market.synthetic,
        "data_hash": market.data_hash,
        "tickers": market.tickers,
        "first_session": f"{market.index[0]:%Y-%m-%d}",
        "last_session": f"{market.index[-1]:%Y-%m-%d}",
        "filled_cells": market.filled,
    }
    if benchmark is not None:
        data["benchmark"] = benchmark
    return {
        "evbt_version": code_version(),
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config_id": cfg.id,
        "config_origin": cfg.origin,
        "config": cfg.canonical(),
        "data": data,
    }


def make_manifest(
    result: BacktestResult, market: Market, *, n_kernel_skips: int = 0
) -> dict[str, Any]:
    cfg = result.config
    reasons = result.skipped["code"].value_counts().to_dict() if len(result.skipped) else {}
    return {
        **manifest_head(cfg, market),
        "signals": {
            "n_signals": int(len(result.signals.table)),
            "n_trades": int(len(result.trades)),
            "n_skipped": int(len(result.skipped)),
            "n_skipped_in_kernel": int(n_kernel_skips),
            "skipped_by_reason": {str(k): int(v) for k, v in reasons.items()},
            "allow_lookahead": bool(result.signals.allow_lookahead),
            "n_lookahead_signals": result.signals.n_lookahead,
        },
    }
