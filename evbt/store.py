"""The result store: one folder per run under a results root, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from evbt.backtest.engine import BacktestResult, StudyRun


def result_dir_name(result: BacktestResult) -> str:
    return f"{result.config.strategy.name}-{result.config.id}-{result.manifest['data']['data_hash'][:8]}"


def write_folder(final: Path, frames: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> Path:
    """Write Parquet files and manifest.json into ``final`` atomically: all or nothing.

    Everything goes to a temporary sibling folder first, which then replaces ``final`` by
    rename; a failure leaves no half-written folder and an earlier result untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        for name, frame in frames.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        if final.exists():
            old = final.parent / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_result(result: BacktestResult, out: str | Path) -> Path:
    """Write the result folder (see README: what a run gives you)."""
    frames = {
        "trades": result.trades,
        "equity": result.equity.reset_index(),
        "metrics": result.metrics,
        "pnl_by_event": result.pnl_by_event,
        "skipped": result.skipped,
        "signals": result.signals.table,
    }
    if result.study is not None:
        frames |= {"event_study": result.study.panel, "study_summary": result.study.summary}
    return write_folder(Path(out) / result_dir_name(result), frames, result.manifest)


def write_study(run_: StudyRun, out: str | Path) -> Path:
    """Write event_study.parquet, study_summary.parquet and manifest.json atomically."""
    name = f"study-{run_.config.strategy.name}-{run_.config.id}-{run_.manifest['data']['data_hash'][:8]}"
    frames = {"event_study": run_.study.panel, "study_summary": run_.study.summary}
    return write_folder(Path(out) / name, frames, run_.manifest)
