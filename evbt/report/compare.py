"""A visual comparison of runs: equity curves in percent overlaid, headline metrics side by
side with differences, per-event results joined on event and ticker, and what differs in
their config and inputs. Written to ``<root>/compare/<A>_vs_<B>.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from evbt.report.folder import Page, RunFolder, banners, load_run
from evbt.report.html import FORMATS, esc, note, page, para, table

METRICS = [
    ("total_return", "total return", "spct"),
    ("cagr", "CAGR (annual)", "spct"),
    ("ann_vol", "volatility (annual)", "pct"),
    ("sharpe", "Sharpe ratio", "num"),
    ("sortino", "Sortino ratio", "num"),
    ("max_drawdown", "max drawdown", "spct"),
    ("calmar", "Calmar ratio", "num"),
    ("exposure", "exposure", "pct"),
    ("n_trades", "trades", "int"),
    ("hit_rate", "hit rate", "pct"),
    ("profit_factor", "profit factor", "num"),
]
_DIFF = {"spct": "spct", "pct": "spct", "num": "num2s", "int": "num2s"}


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out |= _flatten(v, key)
        else:
            out[key] = v
    return out


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"R{i + 1}"


def _total(run: RunFolder) -> pd.Series | None:
    m = run.get("metrics")
    if m is None or "scope" not in m.columns or not (m["scope"] == "total").any():
        return None
    return m.set_index("scope").loc["total"]


def build_compare(runs: list[RunFolder]) -> Page:
    from evbt.report.figures import compare_equity_figure

    pg = Page()
    names = [f"{_letter(i)}: {r.manifest.get('run_id') or r.path.name}" for i, r in enumerate(runs)]
    pg.add(
        "runs",
        "Runs",
        "<ul>"
        + "".join(
            f"<li>{esc(n)} ({esc(r.kind)}, strategy "
            f"{esc((r.config.get('strategy') or {}).get('name', '?'))}) · "
            f'<a href="../{esc(r.path.name)}/report.html">its report</a></li>'
            for n, r in zip(names, runs, strict=True)
        )
        + "</ul>",
    )
    curves = []
    for i, r in enumerate(runs):
        eq = r.get("equity")
        if eq is not None and {"date", "total"} <= set(eq.columns):
            s = eq.set_index(pd.to_datetime(eq["date"]))["total"].astype(float)
            curves.append((_letter(i), s))
    if curves:
        pg.add(
            "equity",
            "Equity",
            para("Cumulative return of each run in percent of its starting equity.")
            + pg.fig(compare_equity_figure(curves)),
        )
    totals = [_total(r) for r in runs]
    if sum(t is not None for t in totals) >= 2:
        rows = []
        for key, label, f in METRICS:
            if not any(t is not None and key in t.index for t in totals):
                continue
            rec: dict[str, str] = {"metric": label}
            base = totals[0][key] if totals[0] is not None and key in totals[0].index else None
            for i, t in enumerate(totals):
                v = t[key] if t is not None and key in t.index else None
                rec[_letter(i)] = FORMATS[f](v)
                if i > 0:
                    d = None if v is None or base is None else float(v) - float(base)
                    rec[f"{_letter(i)} − A"] = FORMATS[_DIFF.get(f, "num2s")](d)
            rows.append(rec)
        pg.add(
            "metrics", "Metrics side by side", table(pd.DataFrame(rows), max_rows=None, css="num")
        )
    trades = [r.get("trades") for r in runs]
    if sum(t is not None for t in trades) >= 2:
        joined: pd.DataFrame | None = None
        for i, t in enumerate(trades):
            if t is None:
                continue
            g = t.groupby(["event_id", "ticker"], sort=False)
            part = pd.DataFrame(
                {f"{_letter(i)} return": g["ret"].sum(), f"{_letter(i)} P&L": g["pnl"].sum()}
            )
            joined = part if joined is None else joined.join(part, how="outer")
        assert joined is not None
        cols = [c for c in joined.columns if c.endswith("return")]
        if len(cols) >= 2:
            joined[f"{cols[1][:1]} − A return"] = joined[cols[1]] - joined[cols[0]]
        joined = joined.reset_index()
        fmt = {c: ("spct" if "return" in c else "smoney") for c in joined.columns[2:]}
        pg.add(
            "events",
            "Per event",
            para("Each run's trades joined on event and ticker (“–”: that run did not trade it).")
            + table(
                joined,
                fmt,
                labels={"event_id": "event"},
                max_rows=500,
                tone=tuple(joined.columns[2:]),
            ),
        )
    flat = [_flatten(r.config) for r in runs]
    keys = sorted(set().union(*flat))
    diff = [
        {"key": k, **{_letter(i): json.dumps(f.get(k), default=str) for i, f in enumerate(flat)}}
        for k in keys
        if len({json.dumps(f.get(k), default=str) for f in flat}) > 1
    ]
    body = table(pd.DataFrame(diff), max_rows=None) if diff else para("The configs are the same.")
    inputs = []
    for name, path in (
        ("data", ("data", "data_hash")),
        ("catalog", ("catalog", "sha256")),
        ("code", ("code_version",)),
    ):
        vals = []
        for r in runs:
            x: Any = r.manifest
            for p in path:
                x = x.get(p) if isinstance(x, dict) else None
            vals.append(x)
        if len({str(v) for v in vals}) > 1:
            inputs.append(
                f"{name} differs: " + ", ".join(f"{_letter(i)} {v}" for i, v in enumerate(vals))
            )
    body += "".join(note(x) for x in inputs)
    pg.add("config", "What differs", body)
    return pg


def write_compare(
    root: str | Path,
    run_ids: list[str],
    out: str | Path | None = None,
    *,
    standalone: bool = False,
) -> Path:
    """Write the comparison of ``run_ids`` (two or more runs of the results ``root``) and
    return its path (default ``<root>/compare/<A>_vs_<B>.html``)."""
    from evbt.errors import InputError
    from evbt.report.sections import _figure_config, plotly_for, write_html
    from evbt.store import open_run

    if len(run_ids) < 2:
        raise InputError("compare needs two or more runs: evbt runs compare A B [C ...]")
    root = Path(root)
    stored = [open_run(root, r) for r in run_ids]
    runs = [load_run(s.path) for s in stored]
    target = (
        Path(out)
        if out is not None
        else root / "compare" / ("_vs_".join(s.run_id for s in stored) + ".html")
    )
    pg = build_compare(runs)
    plotly = plotly_for(target, root.resolve(), standalone)
    ban = []
    for i, r in enumerate(runs):
        ban += [(k, f"{_letter(i)}: {t}") for k, t in banners(r)]
    text = page(
        title="Comparison: " + " vs ".join(s.run_id for s in stored),
        subtitle=f"{len(runs)} runs of {root}",
        banners=ban,
        sections=pg.sections,
        figures=pg.figures,
        plotly=plotly,
        footer=esc("Written by evbt runs compare --html; works offline."),
        config_json=json.dumps(_figure_config()),
    )
    return write_html(target, text)
