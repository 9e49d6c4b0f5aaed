"""Plotly figures of the tearsheet. Each function takes plain frames and returns a figure;
:func:`spec` turns one into the JSON the page draws after its first paint.

Each figure sets its shapes and annotations in one ``update_layout`` call: adding them one by
one (``add_vrect``, ``add_vline``) validates the whole layout each time, which made a
40-panel figure cost seconds of CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

GREEN, RED, BLUE, GREY, ORANGE = "#1a9850", "#d73027", "#2857a4", "#8c96a6", "#e08214"
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}
#: one date format on every hover: year included
DATE_HOVER = "%{x|%Y-%m-%d}"


def spec(fig: go.Figure) -> str:
    """The figure as compact JSON ({"data", "layout"}) for ``Plotly.newPlot``."""
    fig.update_layout(template="plotly_white", font={"size": 11})
    return pio.to_json(fig, validate=False, pretty=False, engine="json")


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


def _vrect(x0: str, x1: str, color: str, opacity: float, xref: str = "x", yref: str = "paper"):
    return {
        "type": "rect", "xref": xref, "yref": yref, "x0": x0, "x1": x1, "y0": 0, "y1": 1,
        "fillcolor": color, "opacity": opacity, "line": {"width": 0}, "layer": "below",
    }  # fmt: skip


def _vline(x: Any, xref: str = "x", yref: str = "paper", color: str = ORANGE, dash: str = "dot"):
    return {
        "type": "line", "xref": xref, "yref": yref, "x0": x, "x1": x, "y0": 0, "y1": 1,
        "line": {"color": color, "width": 1, "dash": dash},
    }  # fmt: skip


def _hline(y: float, xref: str = "paper", yref: str = "y"):
    return {
        "type": "line", "xref": xref, "yref": yref, "x0": 0, "x1": 1, "y0": y, "y1": y,
        "line": {"color": "#999", "width": 1},
    }  # fmt: skip


def _legend() -> dict:
    # above the plot, left: Plotly's mode bar (top right, on hover only) never covers it
    return {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}


def equity_figure(
    equity: pd.DataFrame,
    *,
    positions: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    events: pd.DataFrame,
    bench: pd.Series | None,
    bench_name: str | None,
    max_shades: int = 400,
) -> go.Figure:
    """Cumulative return of the strategy (and of the benchmark bought and held from the same
    day) in percent on a linear axis, over the drawdown in percent.

    A ruined run (equity at or below zero) is drawn down to where it ended: a linear axis
    has room for -100% and below, where a log axis of dollars lost it. A button switches the
    top panel to log(1 + return). ``events``: columns ``session`` and ``label``, marked on
    the line. Positions (entry to exit sessions, overlapping ones merged) are shaded.
    """
    eq = equity.set_index("date")["total"].astype(float)
    days = _day(eq.index)
    start = float(eq.iloc[0]) if len(eq) else 1.0
    cum = (eq / start - 1.0) * 100
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    traces = [
        go.Scatter(
            x=days,
            y=np.round(cum.to_numpy(), 3),
            name="strategy",
            line={"color": BLUE, "width": 1.8},
            hovertemplate="strategy %{y:+.2f}%<extra></extra>",
        )
    ]
    if bench is not None and len(bench):
        b = bench.reindex(eq.index).ffill().bfill()
        if b.notna().all() and b.iloc[0] > 0:
            bc = (b / b.iloc[0] - 1.0) * 100
            traces.append(
                go.Scatter(
                    x=days,
                    y=np.round(bc.to_numpy(), 3),
                    name=f"{bench_name or 'benchmark'} buy and hold",
                    line={"color": GREY, "width": 1.2},
                    hovertemplate=f"{bench_name or 'benchmark'} %{{y:+.2f}}%<extra></extra>",
                )
            )
    if len(events):
        ev = events.dropna(subset=["session"]).copy()
        ev = ev[(ev["session"] >= eq.index[0]) & (ev["session"] <= eq.index[-1])]
        y = cum.reindex(ev["session"], method="ffill").to_numpy()
        traces.append(
            go.Scatter(
                x=_day(ev["session"]),
                y=np.round(y, 3),
                mode="markers",
                name="event (reaction session)",
                marker={"symbol": "diamond", "size": 8, "color": ORANGE},
                text=ev["label"],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for t in traces:
        fig.add_trace(t, row=1, col=1)
    peak = eq.cummax()
    dd = np.where(peak > 0, eq / peak - 1.0, -1.0) * 100
    fig.add_trace(
        go.Scatter(
            x=days,
            y=np.round(dd, 3),
            name="drawdown",
            fill="tozeroy",
            line={"color": RED, "width": 1},
            hovertemplate="drawdown %{y:.2f}%<extra></extra>",
        ),
        row=2,
        col=1,
    )
    shapes = [
        _vrect(_d1(a), _d1(b), BLUE, 0.12, "x", "paper") for a, b in _merge(positions)[:max_shades]
    ]
    fig.update_layout(
        shapes=shapes,
        height=470,
        margin={"l": 60, "r": 20, "t": 40, "b": 30},
        legend=_legend(),
        hovermode="x unified",
        xaxis={"hoverformat": "%Y-%m-%d"},
        xaxis2={"hoverformat": "%Y-%m-%d"},
        yaxis={"title": {"text": "cumulative return (%)"}, "ticksuffix": "%", "zeroline": True},
        yaxis2={"title": {"text": "drawdown (%)"}, "ticksuffix": "%"},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 1,
                "xanchor": "right",
                "y": 1.02,
                "yanchor": "bottom",
                "showactive": True,
                "pad": {"r": 0, "t": 0},
                "font": {"size": 10},
                "buttons": [
                    {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ],
    )
    return fig


def caar_figure(path: pd.DataFrame, *, title: str | None = None, height: int = 360) -> go.Figure:
    """``path``: columns day, caar, lo, hi, aar, n (one row per event day); the band is a
    hoverable pair of lines (lo, hi) filled between."""
    d = path["day"].to_numpy()
    hover = "day %{x:+d}: %{y:+.2f}%<extra>%{fullData.name}</extra>"
    traces = [
        go.Bar(
            x=d,
            y=np.round(path["aar"] * 100, 4),
            name="average AR (%)",
            marker_color=GREY,
            opacity=0.55,
            hovertemplate=hover,
        ),
        go.Scatter(
            x=d,
            y=np.round(path["lo"] * 100, 4),
            name="95% band, low",
            line={"width": 0.5, "color": "rgba(40,87,164,0.4)"},
            showlegend=False,
            hovertemplate=hover,
        ),
        go.Scatter(
            x=d,
            y=np.round(path["hi"] * 100, 4),
            name="95% band",
            fill="tonexty",
            fillcolor="rgba(40,87,164,0.15)",
            line={"width": 0.5, "color": "rgba(40,87,164,0.4)"},
            hovertemplate=hover,
        ),
        go.Scatter(
            x=d,
            y=np.round(path["caar"] * 100, 4),
            name="CAAR (%)",
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            hovertemplate=hover,
        ),
    ]
    fig = go.Figure(traces)
    fig.update_layout(
        shapes=[_vline(0), _hline(0)],
        height=height,
        margin={"l": 60, "r": 20, "t": 40 if title else 30, "b": 40},
        title={"text": title, "font": {"size": 12}} if title else None,
        xaxis={"title": {"text": "sessions from the reaction session (day 0)"}, "dtick": 1},
        yaxis={"title": {"text": "abnormal return (%)"}, "ticksuffix": "%"},
        legend=_legend(),
        hovermode="x unified",
    )
    return fig


def windows_figure(panels: list[dict], *, cols: int = 4, rebased: bool) -> go.Figure:
    """Small multiples: one panel per trade with its price path, entry and exit marked.

    Each panel: ``title``, ``x`` (dates), ``y`` (price), ``entry`` and ``exit``
    (date, price) or None, ``win`` (bool), ``event`` (the reaction session) or None, and
    ``short`` (bool: the entry is a sell, drawn as a red down-triangle, the exit a buy).
    Traces, shapes and annotations are set in one call each.
    """
    cols = max(1, min(cols, len(panels)))
    rows = math.ceil(len(panels) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[p["title"] for p in panels],
        horizontal_spacing=0.05,
        vertical_spacing=min(0.12, 0.5 / max(rows, 1)),
    )
    traces: list[go.Scatter] = []
    shapes: list[dict] = []
    unit = "rebased, 100 = before the window" if rebased else "price"
    for i, p in enumerate(panels):
        k = "" if i == 0 else str(i + 1)
        xa, ya = f"x{k}", f"y{k}"
        x = _day(p["x"])
        traces.append(
            go.Scatter(
                x=x,
                y=np.round(np.asarray(p["y"], dtype=float), 4),
                mode="lines",
                line={"color": BLUE, "width": 1.3},
                showlegend=False,
                xaxis=xa,
                yaxis=ya,
                hovertemplate=f"{DATE_HOVER}: %{{y:.2f}} ({unit})<extra></extra>",
            )
        )
        short = bool(p.get("short"))
        marks = (
            ("entry", "sell (short entry)" if short else "buy (entry)", "triangle-down" if short else "triangle-up", RED if short else GREEN),
            ("exit", "buy to cover (exit)" if short else "sell (exit)", "x", "#333"),
        )  # fmt: skip
        for key, label, sym, color in marks:
            pt = p.get(key)
            if pt is None:
                continue
            traces.append(
                go.Scatter(
                    x=[_d1(pt[0])],
                    y=[round(float(pt[1]), 4)],
                    mode="markers",
                    showlegend=False,
                    xaxis=xa,
                    yaxis=ya,
                    marker={
                        "symbol": sym,
                        "size": 10,
                        "color": color,
                        "line": {"width": 1, "color": "#333"},
                    },
                    hovertemplate=f"{label} {DATE_HOVER}: %{{y:.2f}}<extra></extra>",
                )
            )
        if p.get("entry") and p.get("exit"):
            shapes.append(
                _vrect(
                    _d1(p["entry"][0]),
                    _d1(p["exit"][0]),
                    GREEN if p.get("win") else RED,
                    0.10,
                    xa,
                    f"{ya} domain",
                )
            )
        ev = p.get("event")
        if ev is not None and not pd.isna(ev) and x and x[0] <= _d1(ev) <= x[-1]:
            shapes.append(_vline(_d1(ev), xa, f"{ya} domain"))
    fig.add_traces(traces)
    annotations = [dict(a.to_plotly_json(), font={"size": 10}) for a in fig.layout.annotations]
    axes: dict[str, Any] = {}
    for i in range(len(panels)):
        k = "" if i == 0 else str(i + 1)
        axes[f"xaxis{k}"] = {"tickformat": "%b %d\n%Y", "nticks": 3, "tickfont": {"size": 9}}
        axes[f"yaxis{k}"] = {"tickfont": {"size": 9}}
    fig.update_layout(
        shapes=shapes,
        annotations=annotations,
        height=max(240, 210 * rows),
        margin={"l": 40, "r": 10, "t": 40, "b": 25},
        **axes,
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
                x=np.round((edges[:-1] + edges[1:]) / 2, 4),
                y=counts,
                width=np.diff(edges),
                name=name,
                marker_color=color,
                opacity=0.8,
                hovertemplate="%{x:+.2f}%: %{y} trade(s)<extra></extra>",
            )
        )
    shapes, ann = [], []
    if len(r):
        m = float(r.mean())
        shapes.append(_vline(m, color="#333", dash="dash"))
        ann.append(
            {"x": m, "y": 1, "yref": "paper", "text": f"mean {m:+.2f}%", "showarrow": False,
             "xanchor": "left", "font": {"size": 10}}
        )  # fmt: skip
    fig.update_layout(
        shapes=shapes,
        annotations=ann,
        barmode="overlay",
        height=300,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        xaxis={"title": {"text": "position's return per trade (%)"}, "ticksuffix": "%"},
        yaxis={"title": {"text": "trades"}},
        legend=_legend(),
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
                y=np.round(t["mean_ret"] * 100, 4),
                marker_color=[GREEN if v >= 0 else RED for v in t["mean_ret"].fillna(0)],
                showlegend=False,
                text=t["n_trades"].astype(str),
                textposition="outside",
                hovertemplate="%{x}: %{y:+.2f}% (n=%{text})<extra></extra>",
            ),
            row=1,
            col=i,
        )
    fig.update_yaxes(title_text="mean trade return (%)", ticksuffix="%", row=1, col=1)
    fig.update_layout(height=300, margin={"l": 50, "r": 20, "t": 40, "b": 60})
    return fig


def heatmap_figure(
    slices: list[tuple[str, pd.DataFrame]],
    *,
    x: str,
    y: str,
    metric: str,
    percent: bool = False,
    best: tuple[int, str, str, float] | None = None,
    cols: int = 2,
) -> go.Figure:
    """One heatmap per slice (a pivot with ``y`` labels as index, ``x`` labels as columns;
    the labels are strings, so "none" is a category like any other).

    ``best``: (slice index, x label, y label, value) of the best combination: a star and its
    value are written in that cell. ``percent``: values are fractions, shown in percent.
    """
    cols = max(1, min(cols, len(slices)))
    rows = math.ceil(len(slices) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[t for t, _ in slices],
        horizontal_spacing=0.1,
        vertical_spacing=min(0.15, 0.6 / max(rows, 1)),
    )
    k = 100.0 if percent else 1.0
    vals = np.concatenate([p.to_numpy(dtype=float).ravel() * k for _, p in slices])
    finite = vals[np.isfinite(vals)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0 < hi:
        m = max(-lo, hi)
        lo, hi, scale = -m, m, "RdBu"
    else:
        scale = "Viridis"
    unit = "%" if percent else ""
    label = f"{metric} (%)" if percent else metric
    traces = []
    for i, (_, p) in enumerate(slices):
        s = "" if i == 0 else str(i + 1)
        z = p.to_numpy(dtype=float) * k
        z = np.where(np.isfinite(z), np.round(z, 4), np.nan)
        traces.append(
            go.Heatmap(
                x=[str(v) for v in p.columns],
                y=[str(v) for v in p.index],
                z=z,
                zmin=lo,
                zmax=hi,
                colorscale=scale,
                showscale=i == 0,
                colorbar={"title": {"text": label}, "ticksuffix": unit, "thickness": 12},
                xaxis=f"x{s}",
                yaxis=f"y{s}",
                hovertemplate=f"{x} %{{x}}<br>{y} %{{y}}<br>{metric} %{{z:+.2f}}{unit}<extra></extra>",
            )
        )
    fig.add_traces(traces)
    annotations = [dict(a.to_plotly_json(), font={"size": 11}) for a in fig.layout.annotations]
    if best is not None:
        i, bx, by, bv = best
        s = "" if i == 0 else str(i + 1)
        annotations.append(
            {
                "x": bx, "y": by, "xref": f"x{s}", "yref": f"y{s}",
                "text": f"★ best {bv * k:+.2f}{unit}", "showarrow": True, "arrowhead": 0,
                "ax": 0, "ay": -22, "font": {"size": 11, "color": "#000"},
                "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#000",
            }
        )  # fmt: skip
    axes: dict[str, Any] = {}
    for i in range(len(slices)):
        s = "" if i == 0 else str(i + 1)
        axes[f"xaxis{s}"] = {"title": {"text": x}, "type": "category"}
        axes[f"yaxis{s}"] = {"title": {"text": y}, "type": "category"}
    fig.update_layout(
        annotations=annotations,
        height=max(320, 300 * rows),
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        **axes,
    )
    return fig


def sharpe_histogram(sharpe: pd.Series, best: float | None) -> go.Figure:
    # binned here, not in the browser: a sweep has up to millions of combinations, and a
    # Histogram trace would carry every one of them into the page
    x = sharpe.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(dtype=float)
    counts, edges = np.histogram(x, bins=40) if len(x) else (np.zeros(0), np.zeros(1))
    fig = go.Figure(
        go.Bar(
            x=np.round((edges[:-1] + edges[1:]) / 2, 4),
            y=counts,
            width=np.diff(edges),
            marker_color=BLUE,
            opacity=0.8,
            hovertemplate="Sharpe %{x:.2f}: %{y} combination(s)<extra></extra>",
        )
    )
    shapes, ann = [], []
    if best is not None and np.isfinite(best):
        shapes.append(_vline(best, color=RED, dash="dash"))
        ann.append(
            {"x": best, "y": 1, "yref": "paper", "text": f"best {best:.2f}", "showarrow": False,
             "xanchor": "right", "font": {"size": 10}}
        )  # fmt: skip
    fig.update_layout(
        shapes=shapes,
        annotations=ann,
        height=280,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        xaxis={"title": {"text": "annualised Sharpe ratio of each combination"}},
        yaxis={"title": {"text": "combinations"}},
    )
    return fig


def walk_forward_figure(wf: pd.DataFrame) -> go.Figure:
    """In-sample and out-of-sample mean trade return of each fold's choice, in percent."""
    fold = wf["fold"].astype(str)
    hover = "fold %{x}: %{y:+.2f}%<extra>%{fullData.name}</extra>"
    fig = go.Figure(
        [
            go.Bar(
                x=fold,
                y=np.round(wf["is_score"] * 100, 4),
                name="in-sample (the fold's best combination)",
                marker_color=GREY,
                hovertemplate=hover,
            ),
            go.Bar(
                x=fold,
                y=np.round(wf["oos_score"] * 100, 4),
                name="out-of-sample (same combination, next block)",
                marker_color=BLUE,
                hovertemplate=hover,
            ),
        ]
    )
    fig.update_layout(
        shapes=[_hline(0)],
        barmode="group",
        height=300,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        xaxis={"title": {"text": "fold (block of events, in time order)"}},
        yaxis={"title": {"text": "mean trade return (%)"}, "ticksuffix": "%"},
        legend=_legend(),
    )
    return fig


def group_box_figure(
    df: pd.DataFrame, *, value: str, group: str, title: str, names: dict | None = None
) -> go.Figure:
    fig = go.Figure()
    for g, part in df.groupby(group, sort=True):
        fig.add_trace(
            go.Box(
                y=np.round(part[value].astype(float) * 100, 4),
                name=(names or {}).get(g, f"{group}={g}"),
                boxpoints="all",
                jitter=0.3,
                pointpos=0,
                hovertemplate="%{y:+.2f}%<extra></extra>",
            )
        )
    fig.update_layout(
        height=300,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        yaxis={"title": {"text": "abnormal return (%)"}, "ticksuffix": "%"},
        title={"text": title, "font": {"size": 12}},
        showlegend=False,
    )
    return fig


def compare_equity_figure(curves: list[tuple[str, pd.Series]]) -> go.Figure:
    """Cumulative returns (%) of several runs overlaid; each series is indexed by date."""
    fig = go.Figure()
    for name, s in curves:
        s = s.astype(float)
        cum = (s / float(s.iloc[0]) - 1.0) * 100 if len(s) else s
        fig.add_trace(
            go.Scatter(
                x=_day(s.index),
                y=np.round(cum.to_numpy(), 3),
                name=name,
                hovertemplate=f"{name} %{{y:+.2f}}%<extra></extra>",
            )
        )
    fig.update_layout(
        height=380,
        margin={"l": 60, "r": 20, "t": 40, "b": 30},
        legend=_legend(),
        hovermode="x unified",
        xaxis={"hoverformat": "%Y-%m-%d"},
        yaxis={"title": {"text": "cumulative return (%)"}, "ticksuffix": "%"},
    )
    return fig
