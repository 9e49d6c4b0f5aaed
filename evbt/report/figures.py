"""Plotly figures of the tearsheet. Each function takes plain frames and returns a figure;
:func:`div` turns one into an HTML div that draws with the page's single embedded plotly.js.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

GREEN, RED, BLUE, GREY, ORANGE = "#1a9850", "#d73027", "#2857a4", "#8c96a6", "#e08214"
_CONFIG = {"displaylogo": False, "responsive": True}


def div(fig: go.Figure, div_id: str) -> str:
    """The figure as a div plus its Plotly.newPlot call (no plotly.js, no MathJax)."""
    fig.update_layout(template="plotly_white", font={"size": 11})
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config=_CONFIG,
        default_width="100%",
    )


def _day(x) -> list[str]:
    """Dates as "YYYY-MM-DD" strings: half the bytes of ISO timestamps, same axis."""
    return list(pd.DatetimeIndex(pd.to_datetime(x)).strftime("%Y-%m-%d"))


def _d1(ts) -> str:
    return f"{pd.Timestamp(ts):%Y-%m-%d}"


def _merge(intervals: Sequence[tuple[pd.Timestamp, pd.Timestamp]]) -> list[list[pd.Timestamp]]:
    out: list[list[pd.Timestamp]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def equity_figure(
    equity: pd.DataFrame,
    *,
    positions: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    events: pd.DataFrame,
    bench: pd.Series | None,
    bench_name: str | None,
    max_shades: int = 400,
) -> go.Figure:
    """Total equity (and the benchmark's buy and hold from the same start) over drawdown.

    ``events``: columns ``session`` and ``label``, marked on the equity line. Positions
    (entry to exit sessions of every trade, overlapping ones merged) are shaded.
    """
    eq = equity.set_index("date")["total"].astype(float)
    days = _day(eq.index)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    fig.add_trace(
        go.Scatter(x=days, y=eq.values, name="strategy", line={"color": BLUE, "width": 1.6}),
        row=1,
        col=1,
    )
    if bench is not None and len(bench):
        b = bench.reindex(eq.index).ffill().bfill()
        if b.notna().all() and b.iloc[0] > 0:
            b = b / b.iloc[0] * eq.iloc[0]
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=b.values,
                    name=f"{bench_name or 'benchmark'} buy and hold",
                    line={"color": GREY, "width": 1.2},
                ),
                row=1,
                col=1,
            )
    if len(events):
        ev = events.dropna(subset=["session"]).copy()
        ev = ev[(ev["session"] >= eq.index[0]) & (ev["session"] <= eq.index[-1])]
        y = eq.reindex(ev["session"], method="ffill").to_numpy()
        fig.add_trace(
            go.Scatter(
                x=_day(ev["session"]),
                y=y,
                mode="markers",
                name="event (reaction session)",
                marker={"symbol": "diamond", "size": 8, "color": ORANGE},
                text=ev["label"],
                hovertemplate="%{text}<br>%{x|%Y-%m-%d}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    merged = _merge(positions)
    for a, b in merged[:max_shades]:
        fig.add_vrect(
            x0=_d1(a), x1=_d1(b), fillcolor=BLUE, opacity=0.12, line_width=0, row="all", col=1
        )
    dd = eq / eq.cummax() - 1.0
    fig.add_trace(
        go.Scatter(
            x=days,
            y=dd.values * 100,
            name="drawdown %",
            fill="tozeroy",
            line={"color": RED, "width": 1},
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="equity (log scale)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(
        height=470,
        margin={"l": 60, "r": 20, "t": 30, "b": 30},
        legend={"orientation": "h", "y": 1.06, "x": 0},
        hovermode="x unified",
    )
    return fig


def caar_figure(path: pd.DataFrame) -> go.Figure:
    """``path``: columns day, caar, lo, hi, aar, n (one row per event day)."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=path["day"], y=path["aar"] * 100, name="AAR %", marker_color=GREY, opacity=0.55)
    )
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([path["day"], path["day"][::-1]]),
            y=np.concatenate([path["hi"], path["lo"][::-1]]) * 100,
            fill="toself",
            fillcolor="rgba(40,87,164,0.15)",
            line={"width": 0},
            name="95% band",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=path["day"],
            y=path["caar"] * 100,
            name="CAAR %",
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color=ORANGE)
    fig.add_hline(y=0, line_color="#999", line_width=1)
    fig.update_layout(
        height=360,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        xaxis_title="sessions from the reaction session (day 0)",
        yaxis_title="%",
        legend={"orientation": "h", "y": 1.1, "x": 0},
    )
    return fig


def windows_figure(panels: list[dict], *, cols: int = 4, rebased: bool) -> go.Figure:
    """Small multiples: one panel per trade with its price path, entry and exit marked.

    Each panel: ``title``, ``x`` (dates), ``y`` (price), ``entry`` and ``exit``
    (date, price) or None, ``win`` (bool), ``event`` (the reaction session) or None.
    """
    rows = math.ceil(len(panels) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[p["title"] for p in panels],
        horizontal_spacing=0.05,
        vertical_spacing=min(0.12, 0.5 / max(rows, 1)),
    )
    for i, p in enumerate(panels):
        r, c = i // cols + 1, i % cols + 1
        x = _day(p["x"])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=p["y"],
                mode="lines",
                line={"color": BLUE, "width": 1.3},
                showlegend=False,
                hovertemplate="%{x|%Y-%m-%d}: %{y:.2f}<extra></extra>",
            ),
            row=r,
            col=c,
        )
        for key, sym, color in (("entry", "triangle-up", GREEN), ("exit", "x", RED)):
            pt = p.get(key)
            if pt is None:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[_d1(pt[0])],
                    y=[pt[1]],
                    mode="markers",
                    showlegend=False,
                    marker={
                        "symbol": sym,
                        "size": 10,
                        "color": color,
                        "line": {"width": 1, "color": "#333"},
                    },
                    hovertemplate=f"{key} %{{x|%Y-%m-%d}}: %{{y:.2f}}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        if p.get("entry") and p.get("exit"):
            fig.add_vrect(
                x0=_d1(p["entry"][0]),
                x1=_d1(p["exit"][0]),
                row=r,
                col=c,
                line_width=0,
                fillcolor=GREEN if p.get("win") else RED,
                opacity=0.10,
            )
        ev = p.get("event")
        if ev is not None and not pd.isna(ev) and x and x[0] <= _d1(ev) <= x[-1]:
            fig.add_vline(x=_d1(ev), row=r, col=c, line_dash="dot", line_color=ORANGE, line_width=1)
    fig.update_annotations(font_size=10)
    fig.update_xaxes(tickformat="%b %d", nticks=4, tickfont={"size": 9})
    fig.update_yaxes(tickfont={"size": 9})
    fig.update_layout(
        height=max(220, 190 * rows),
        margin={"l": 40, "r": 10, "t": 40, "b": 25},
    )
    return fig


def returns_histogram(ret: pd.Series) -> go.Figure:
    r = ret.dropna().astype(float) * 100
    fig = go.Figure()
    lo, hi = (float(r.min()), float(r.max())) if len(r) else (0.0, 1.0)
    bins = {"start": lo, "end": hi + 1e-9, "size": max((hi - lo) / 30, 1e-6)}
    edges = np.arange(bins["start"], bins["end"] + bins["size"], bins["size"])
    for name, part, color in (("win", r[r >= 0], GREEN), ("loss", r[r < 0], RED)):
        # binned here so the page does not grow with the number of trades
        counts, _ = np.histogram(part.to_numpy(), bins=edges)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=np.diff(edges),
                name=name,
                marker_color=color,
                opacity=0.8,
            )
        )
    if len(r):
        fig.add_vline(
            x=float(r.mean()),
            line_dash="dash",
            line_color="#333",
            annotation_text=f"mean {r.mean():.2f}%",
            annotation_font_size=10,
        )
    fig.update_layout(
        barmode="overlay",
        height=300,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        xaxis_title="trade return %",
        yaxis_title="trades",
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return fig


def breakdown_figure(tables: dict[str, pd.DataFrame]) -> go.Figure:
    """Mean trade return by group, one panel per breakdown (kind, org, tag)."""
    names = list(tables)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[f"by {n}" for n in names])
    for i, n in enumerate(names, start=1):
        t = tables[n]
        fig.add_trace(
            go.Bar(
                x=t["group"].astype(str),
                y=t["mean_ret"] * 100,
                marker_color=[GREEN if v >= 0 else RED for v in t["mean_ret"].fillna(0)],
                showlegend=False,
                text=t["n_trades"].astype(str),
                textposition="outside",
                hovertemplate="%{x}: %{y:.2f}% (n=%{text})<extra></extra>",
            ),
            row=1,
            col=i,
        )
    fig.update_yaxes(title_text="mean trade return %", row=1, col=1)
    fig.update_layout(height=300, margin={"l": 50, "r": 20, "t": 40, "b": 60})
    return fig


def heatmap_figure(
    slices: list[tuple[str, pd.DataFrame]], *, x: str, y: str, metric: str, cols: int = 3
) -> go.Figure:
    """One heatmap per slice (a pivot with ``y`` values as index and ``x`` as columns)."""
    rows = math.ceil(len(slices) / cols)
    cols = min(cols, len(slices))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[t for t, _ in slices],
        horizontal_spacing=0.08,
        vertical_spacing=min(0.15, 0.6 / max(rows, 1)),
    )
    vals = np.concatenate([p.to_numpy(dtype=float).ravel() for _, p in slices])
    finite = vals[np.isfinite(vals)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0 < hi:
        m = max(-lo, hi)
        lo, hi, scale = -m, m, "RdBu"
    else:
        scale = "Viridis"
    for i, (_, p) in enumerate(slices):
        z = p.to_numpy(dtype=float)
        z = np.where(np.isfinite(z), z, np.nan)
        fig.add_trace(
            go.Heatmap(
                x=[str(v) for v in p.columns],
                y=[str(v) for v in p.index],
                z=np.round(z, 4),
                zmin=lo,
                zmax=hi,
                colorscale=scale,
                showscale=i == 0,
                colorbar={"title": {"text": metric}},
                hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.3f}}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=y, type="category")
    fig.update_annotations(font_size=11)
    fig.update_layout(height=max(320, 300 * rows), margin={"l": 60, "r": 20, "t": 40, "b": 40})
    return fig


def sharpe_histogram(sharpe: pd.Series, best: float | None) -> go.Figure:
    # binned here, not in the browser: a sweep has up to millions of combinations, and a
    # Histogram trace would carry every one of them into the page
    x = sharpe.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(dtype=float)
    counts, edges = np.histogram(x, bins=40) if len(x) else (np.zeros(0), np.zeros(1))
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=np.diff(edges),
            marker_color=BLUE,
            opacity=0.8,
        )
    )
    if best is not None and np.isfinite(best):
        fig.add_vline(
            x=best,
            line_dash="dash",
            line_color=RED,
            annotation_text="best",
            annotation_font_size=10,
            annotation_position="top left",
        )
    fig.update_layout(
        height=280,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        xaxis_title="annualised Sharpe of each combination",
        yaxis_title="combinations",
    )
    return fig


def walk_forward_figure(wf: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fold = wf["fold"].astype(str)
    fig.add_trace(
        go.Bar(x=fold, y=wf["is_score"], name="in-sample (best combo)", marker_color=GREY)
    )
    fig.add_trace(
        go.Bar(x=fold, y=wf["oos_score"], name="out-of-sample (same combo)", marker_color=BLUE)
    )
    fig.add_hline(y=0, line_color="#999", line_width=1)
    fig.update_layout(
        barmode="group",
        height=300,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        xaxis_title="fold",
        yaxis_title="score",
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return fig


def group_box_figure(df: pd.DataFrame, *, value: str, group: str, title: str) -> go.Figure:
    fig = go.Figure()
    for g, part in df.groupby(group, sort=True):
        fig.add_trace(
            go.Box(
                y=part[value].astype(float) * 100,
                name=f"{group}={g}",
                boxpoints="all",
                jitter=0.3,
                pointpos=0,
            )
        )
    fig.update_layout(
        height=300,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        yaxis_title=f"{value} %",
        title={"text": title, "font": {"size": 12}},
        showlegend=False,
    )
    return fig
