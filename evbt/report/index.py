"""The index of a results root: ``<root>/index.html``, every run with its kind, strategy,
creation time, headline numbers and a link to its report; sortable by any column, offline
(no script but a few lines that sort the table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evbt.report.folder import KIND_NAMES
from evbt.report.html import Section, esc, page, para, stamp, table


def _headline(path: Path, kind: str) -> dict[str, Any]:
    """A run's headline numbers, read from its small tables (never the sweep parts)."""
    out: dict[str, Any] = {}
    m = path / "metrics.parquet"
    if m.is_file():
        df = pd.read_parquet(m)
        if "scope" in df.columns:
            df = df[df["scope"] == "total"]
        if len(df):
            r = df.iloc[0]
            for k in ("total_return", "sharpe", "max_drawdown", "n_trades"):
                if k in r.index:
                    out[k] = r[k]
    s = path / "sweep_summary.parquet"
    if kind == "sweep" and s.is_file():
        df = pd.read_parquet(s, columns=None)
        if "sharpe" in df.columns and len(df):
            b = df.loc[df["sharpe"].idxmax()]
            out["sharpe"] = b["sharpe"]
            if "total_return" in b.index:
                out["total_return"] = b["total_return"]
            out["note"] = f"{len(df):,} combinations; best shown"
    st = path / "study_summary.parquet"
    if kind in ("study", "bt") and st.is_file():
        df = pd.read_parquet(st)
        if "group_type" in df.columns:
            a = df[df["group_type"] == "all"]
            if len(a):
                out["caar"] = a.iloc[-1]["caar"]
                out.setdefault("note", f"CAAR {a.iloc[-1]['car_window']}")
    pr = path / "preearnings_reports.parquet"
    if kind == "pre" and pr.is_file():
        out["note"] = f"{len(pd.read_parquet(pr))} past reports"
    return out


def index_frame(root: str | Path) -> pd.DataFrame:
    from evbt.store import list_runs

    rows = []
    for r in list_runs(root):
        man = r.manifest
        kind = str(man.get("kind") or r.run_id.split("-", 1)[0])
        cfg = man.get("config") or {}
        strategy = (cfg.get("strategy") or {}).get("name") or cfg.get("ticker") or ""
        has = (r.path / "report.html").is_file()
        link = (
            f'<a href="{esc(r.run_id)}/report.html">report</a>'
            if has
            else f'<span title="evbt report {esc(r.run_id)}">none yet</span>'
        )
        flags = [
            f
            for f, on in (
                ("SYNTHETIC", (man.get("data") or {}).get("synthetic")),
                ("LOOKAHEAD", man.get("lookahead")),
                ("RUINED", man.get("ruined")),
            )
            if on
        ]
        rows.append(
            {
                "run": esc(r.run_id),
                "kind": KIND_NAMES.get(kind, kind),
                "strategy": strategy,
                "created": stamp(man.get("created_utc")),
                **{
                    k: v
                    for k, v in _headline(r.path, kind).items()
                    if k in ("total_return", "sharpe", "max_drawdown", "n_trades", "caar", "note")
                },
                "flags": " ".join(flags),
                "report": link,
            }
        )
    cols = [
        "run", "kind", "strategy", "created", "total_return", "sharpe", "max_drawdown",
        "n_trades", "caar", "note", "flags", "report",
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    for c in cols:
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), dtype=object if c in ("note", "flags") else float)
    return df[cols]


LABELS = {
    "total_return": "total return", "sharpe": "Sharpe ratio", "max_drawdown": "max drawdown",
    "n_trades": "trades", "caar": "CAAR", "note": "what the numbers are",
}  # fmt: skip


def write_index(root: str | Path) -> Path:
    """Write ``<root>/index.html`` listing every run of the results root; return its path."""
    from evbt.report.html import PlotlyJS
    from evbt.report.sections import write_html

    root = Path(root)
    df = index_frame(root)
    for c in ("total_return", "sharpe", "max_drawdown", "n_trades", "caar"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    body = para(
        f"{len(df)} run(s), newest first. Click a column head to sort. Sweeps show their best "
        "combination by Sharpe ratio; studies their CAAR over the main window."
    ) + table(
        df,
        {
            "total_return": "spct",
            "sharpe": "num",
            "max_drawdown": "spct",
            "n_trades": "int",
            "caar": "spct",
            "note": "text",
            "flags": "text",
        },  # fmt: skip
        labels=LABELS,
        max_rows=None,
        sortable=True,
        raw=("run", "report"),
        tone=("total_return", "caar"),
    )
    text = page(
        title=f"Runs in {root.resolve().name}",
        subtitle=str(root.resolve()),
        banners=[],
        sections=[Section("runs", "Runs", body)],
        figures=[],
        plotly=PlotlyJS(),
        footer=esc("Written by evbt runs index; works offline."),
    )
    return write_html(root / "index.html", text)
