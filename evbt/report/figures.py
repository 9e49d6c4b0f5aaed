"""Plotly figures of the tearsheet, built as plain dicts. Each function takes plain frames
and returns a :class:`Figure`; :func:`spec` turns one into the JSON the page draws after its
first paint.

No ``plotly.graph_objects`` here: a ``go.Figure`` validates every property it is given, and
again on each ``update_layout``; for the demo backtest that was ~37,000 property sets, most of
the report's time. The dicts hold what those objects held after validation; what validation
did on the way, this module does itself: a named colour scale becomes its list of colours
(:func:`_colorscale`), ``template="plotly_white"`` becomes the template's JSON
(:func:`_template`), numeric arrays become Plotly's typed-array spec (:func:`_typed`), and
``make_subplots``' axes and panel titles are laid out by :func:`_grid` with its arithmetic.
:func:`to_json` writes the JSON as ``plotly.io`` does. Plotly.js still coerces every
attribute when it draws a figure.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

GREEN, RED, BLUE, GREY, ORANGE = "#1a9850", "#d73027", "#2857a4", "#8c96a6", "#e08214"
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}
#: one date format on every hover: year included
DATE_HOVER = "%{x|%Y-%m-%d}"
TEMPLATE = "plotly_white"


class _View:
    """Read-only attribute access to a dict of Plotly properties, as a ``go.Figure`` gives it
    (``fig.layout.yaxis.type``; ``None`` where a property is unset)."""

    __slots__ = ("_d",)

    def __init__(self, d: dict) -> None:
        self._d = d

    def __getitem__(self, key: str) -> Any:
        v = self._d.get(key)
        return _View(v) if isinstance(v, dict) else v

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]


class Figure:
    """A figure as plain dicts: ``traces`` (one dict per trace, with its ``type``) and
    ``layout_dict``. ``data`` and ``layout`` read them as a ``go.Figure`` would."""

    def __init__(self, traces: list[dict], layout: dict) -> None:
        self.traces = traces
        self.layout_dict = layout

    @property
    def data(self) -> tuple[_View, ...]:
        return tuple(_View(t) for t in self.traces)

    @property
    def layout(self) -> _View:
        return _View(self.layout_dict)


@functools.cache
def _template() -> dict:
    """The ``plotly_white`` template as ``update_layout(template=...)`` stored it: the JSON
    file plotly's template registry reads."""
    import pkgutil

    raw = pkgutil.get_data("plotly", f"package_data/templates/{TEMPLATE}.json")
    if raw is None:  # pragma: no cover - a plotly that keeps its templates elsewhere
        import plotly.io as pio

        return dict(pio.templates[TEMPLATE].to_plotly_json())
    return dict(json.loads(raw))


def _colorscale(name: str) -> list[list]:
    """A named colour scale as Plotly's validator expands it: [[i / (n - 1), colour], ...]."""
    import plotly.colors

    scales = {"rdbu": plotly.colors.diverging.RdBu, "viridis": plotly.colors.sequential.Viridis}
    colors = scales[name.lower()]
    d = len(colors) - 1
    return [[(1.0 * i) / (1.0 * d), c] for i, c in enumerate(colors)]


_TYPED = {
    "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
    "uint32": "u4", "float32": "f4", "float64": "f8",
}  # fmt: skip
_NARROW = (np.int8, np.int16, np.int32), (np.uint8, np.uint16, np.uint32)


def _typed(a: np.ndarray) -> Any:
    """A numeric array as plotly.js's typed-array spec ({"dtype", "bdata"[, "shape"]}), as
    ``go.Figure.to_dict`` writes it: 64-bit integers narrowed to the smallest type that holds
    them; other dtypes, and empty arrays, are left for the JSON encoder (a list)."""
    if a.size == 0:
        return a
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        lo, hi = a.min(), a.max()
        for t in _NARROW[a.dtype.kind == "u"]:
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                a = a.astype(t)
                break
        else:
            return a
    code = _TYPED.get(str(a.dtype))
    if code is None:
        return a
    out = {"dtype": code, "bdata": base64.b64encode(a.tobytes()).decode("ascii")}
    if a.ndim > 1:
        out["shape"] = str(a.shape)[1:-1]
    return out


_UNTYPED_KEYS = frozenset({"geojson", "layer", "layers", "range"})  # as plotly leaves them


def _encode(obj: Any) -> Any:
    """``obj`` with every NumPy array in a dict value turned into :func:`_typed`'s spec (a
    copy: the figure keeps its arrays)."""
    if isinstance(obj, dict):
        return {
            k: v if k in _UNTYPED_KEYS else _typed(v) if isinstance(v, np.ndarray) else _encode(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple) and any(isinstance(v, dict | list | tuple) for v in obj):
        return [_encode(v) for v in obj]
    return obj  # a list of dates or labels as it is


_LISTS = frozenset({"shapes", "annotations", "updatemenus"})


def _plain(o: Any) -> Any:
    """What the JSON encoder cannot write itself: NumPy arrays and scalars, as lists and
    Python numbers (anything else is an error, not a guess)."""
    if isinstance(o, np.ndarray | np.generic):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} in a figure is not JSON serialisable")


#: plotly.io's JSON escapes these, so the text is safe inside HTML
_HTML_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"))


def to_json(obj: Any) -> str:
    """Compact JSON as ``plotly.io.to_json(..., validate=False, engine="json")`` writes it:
    NaN and infinities as null, "<", ">" and "/" escaped. The standard library's encoder:
    plotly's imports its validators (and narwhals), about 0.06 s."""
    text = json.dumps(obj, separators=(",", ":"), default=_plain)
    if "NaN" in text or "Infinity" in text:  # a label may hold the word: decoding tells
        text = json.dumps(json.loads(text, parse_constant=lambda _: None), separators=(",", ":"))
    for char, escaped in _HTML_SAFE:
        text = text.replace(char, escaped)
    return text


def spec(fig: Figure) -> str:
    """The figure as compact JSON ({"data", "layout"}) for ``Plotly.newPlot``."""
    # an empty list of shapes or annotations is left out, as go.Figure left it out
    layout = {k: v for k, v in fig.layout_dict.items() if k not in _LISTS or v}
    out = _encode({"data": fig.traces, "layout": layout})
    out["layout"] |= {"template": _template(), "font": {"size": 11}}
    return to_json(out)


def _grid(
    rows: int,
    cols: int,
    *,
    titles: Sequence[str] = (),
    horizontal_spacing: float | None = None,
    vertical_spacing: float | None = None,
    row_heights: Sequence[float] | None = None,
    shared_xaxes: bool = False,
) -> dict:
    """The layout ``plotly.subplots.make_subplots`` starts a grid with (top-left first, one
    x and y axis per cell, row by row): each axis's domain and anchor, the panel titles as
    annotations and, with ``shared_xaxes``, every column's x axes matched to its bottom one
    (tick labels on the bottom only). Same arithmetic, so the same domains to the last bit."""
    hs = horizontal_spacing if horizontal_spacing is not None else 0.2 / cols
    vs = vertical_spacing if vertical_spacing is not None else (0.5 if titles else 0.3) / rows
    widths = [(1.0 - hs * (cols - 1)) / cols] * cols
    if row_heights is None:
        heights = [(1.0 - vs * (rows - 1)) / rows] * rows
    else:
        total = float(sum(row_heights))
        heights = [(1.0 - vs * (rows - 1)) * (h / total) for h in reversed(row_heights)]
    layout: dict[str, Any] = {}
    domains: list[tuple[list[float], list[float]]] = []
    for r in range(rows):
        y0 = sum(heights[: rows - 1 - r]) + (rows - 1 - r) * vs
        y_s, y_e = y0, y0 + heights[-1 - r]
        y_s = 0.0 if -0.01 < y_s < 0.0 else 1.0 if 1.0 < y_s < 1.01 else y_s
        y_e = 0.0 if -0.01 < y_e < 0.0 else 1.0 if 1.0 < y_e < 1.01 else y_e
        for c in range(cols):
            x0 = sum(widths[:c]) + c * hs
            xd = [max(0.0, x0), min(1.0, x0 + widths[c])]
            yd = [max(0.0, y_s), min(1.0, y_e)]
            k = len(domains) + 1
            s = "" if k == 1 else str(k)
            layout[f"xaxis{s}"] = {"domain": xd, "anchor": f"y{s}"}
            layout[f"yaxis{s}"] = {"domain": yd, "anchor": f"x{s}"}
            domains.append((xd, yd))
    if shared_xaxes:
        for c in range(cols):
            bottom = (rows - 1) * cols + c + 1
            for r in range(rows - 1):
                ax = layout[f"xaxis{'' if r * cols + c == 0 else r * cols + c + 1}"]
                ax["matches"] = f"x{'' if bottom == 1 else bottom}"
                ax["showticklabels"] = False
    layout["annotations"] = [
        {
            "y": yd[1],
            "xref": "paper",
            "x": sum(xd) / 2.0,
            "yref": "paper",
            "text": t,
            "showarrow": False,
            "font": {"size": 16},
            "xanchor": "center",
            "yanchor": "bottom",
        }
        for t, (xd, yd) in zip(titles, domains, strict=False)
        if t
    ]
    return layout


def _axis(k: int) -> str:
    """The suffix of the ``k``-th (0-based) subplot's axes: "", "2", "3", ..."""
    return "" if k == 0 else str(k + 1)


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
) -> Figure:
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
    layout = _grid(2, 1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    top = {"xaxis": "x", "yaxis": "y"}
    traces = [
        {
            "type": "scatter",
            "x": days,
            "y": np.round(cum.to_numpy(), 3),
            "name": "strategy",
            "line": {"color": BLUE, "width": 1.8},
            "hovertemplate": "strategy %{y:+.2f}%<extra></extra>",
            **top,
        }
    ]
    if bench is not None and len(bench):
        b = bench.reindex(eq.index).ffill().bfill()
        if b.notna().all() and b.iloc[0] > 0:
            bc = (b / b.iloc[0] - 1.0) * 100
            traces.append(
                {
                    "type": "scatter",
                    "x": days,
                    "y": np.round(bc.to_numpy(), 3),
                    "name": f"{bench_name or 'benchmark'} buy and hold",
                    "line": {"color": GREY, "width": 1.2},
                    "hovertemplate": f"{bench_name or 'benchmark'} %{{y:+.2f}}%<extra></extra>",
                    **top,
                }
            )
    if len(events):
        ev = events.dropna(subset=["session"]).copy()
        ev = ev[(ev["session"] >= eq.index[0]) & (ev["session"] <= eq.index[-1])]
        y = cum.reindex(ev["session"], method="ffill").to_numpy()
        traces.append(
            {
                "type": "scatter",
                "x": _day(ev["session"]),
                "y": np.round(y, 3),
                "mode": "markers",
                "name": "event (reaction session)",
                "marker": {"symbol": "diamond", "size": 8, "color": ORANGE},
                "text": ev["label"].tolist(),
                "hovertemplate": "%{text}<extra></extra>",
                **top,
            }
        )
    peak = eq.cummax()
    dd = np.where(peak > 0, eq / peak - 1.0, -1.0) * 100
    traces.append(
        {
            "type": "scatter",
            "x": days,
            "y": np.round(dd, 3),
            "name": "drawdown",
            "fill": "tozeroy",
            "line": {"color": RED, "width": 1},
            "hovertemplate": "drawdown %{y:.2f}%<extra></extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        }
    )
    layout["xaxis"]["hoverformat"] = "%Y-%m-%d"
    layout["xaxis2"]["hoverformat"] = "%Y-%m-%d"
    layout["yaxis"] |= {
        "title": {"text": "cumulative return (%)"},
        "ticksuffix": "%",
        "zeroline": True,
    }
    layout["yaxis2"] |= {"title": {"text": "drawdown (%)"}, "ticksuffix": "%"}
    layout |= {
        "shapes": [_vrect(_d1(a), _d1(b), BLUE, 0.12) for a, b in _merge(positions)[:max_shades]],
        "height": 470,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 30},
        "legend": _legend(),
        "hovermode": "x unified",
        "updatemenus": [
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
    }
    return Figure(traces, layout)


def caar_figure(path: pd.DataFrame, *, title: str | None = None, height: int = 360) -> Figure:
    """``path``: columns day, caar, lo, hi, aar, n (one row per event day); the band is a
    hoverable pair of lines (lo, hi) filled between."""
    d = path["day"].to_numpy()
    hover = "day %{x:+d}: %{y:+.2f}%<extra>%{fullData.name}</extra>"
    band = {"width": 0.5, "color": "rgba(40,87,164,0.4)"}

    def pct(col: str) -> np.ndarray:
        return np.round(path[col].to_numpy() * 100, 4)

    traces = [
        {
            "type": "bar",
            "x": d,
            "y": pct("aar"),
            "name": "average AR (%)",
            "marker": {"color": GREY},
            "opacity": 0.55,
            "hovertemplate": hover,
        },
        {
            "type": "scatter",
            "x": d,
            "y": pct("lo"),
            "name": "95% band, low",
            "line": band,
            "showlegend": False,
            "hovertemplate": hover,
        },
        {
            "type": "scatter",
            "x": d,
            "y": pct("hi"),
            "name": "95% band",
            "fill": "tonexty",
            "fillcolor": "rgba(40,87,164,0.15)",
            "line": dict(band),
            "hovertemplate": hover,
        },
        {
            "type": "scatter",
            "x": d,
            "y": pct("caar"),
            "name": "CAAR (%)",
            "mode": "lines+markers",
            "line": {"color": BLUE, "width": 2},
            "hovertemplate": hover,
        },
    ]
    layout = {
        "shapes": [_vline(0), _hline(0)],
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40 if title else 30, "b": 40},
        "xaxis": {"title": {"text": "sessions from the reaction session (day 0)"}, "dtick": 1},
        "yaxis": {"title": {"text": "abnormal return (%)"}, "ticksuffix": "%"},
        "legend": _legend(),
        "hovermode": "x unified",
    }
    if title:
        layout["title"] = {"text": title, "font": {"size": 12}}
    return Figure(traces, layout)


def windows_figure(panels: list[dict], *, cols: int = 4, rebased: bool) -> Figure:
    """Small multiples: one panel per trade with its price path, entry and exit marked.

    Each panel: ``title``, ``x`` (dates), ``y`` (price), ``entry`` and ``exit``
    (date, price) or None, ``win`` (bool), ``event`` (the reaction session) or None, and
    ``short`` (bool: the entry is a sell, drawn as a red down-triangle, the exit a buy).
    """
    cols = max(1, min(cols, len(panels)))
    rows = math.ceil(len(panels) / cols)
    layout = _grid(
        rows,
        cols,
        titles=[p["title"] for p in panels],
        horizontal_spacing=0.05,
        vertical_spacing=min(0.12, 0.5 / max(rows, 1)),
    )
    traces: list[dict] = []
    shapes: list[dict] = []
    unit = "rebased, 100 = before the window" if rebased else "price"
    for i, p in enumerate(panels):
        k = _axis(i)
        xa, ya = f"x{k}", f"y{k}"
        x = _day(p["x"])
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": np.round(np.asarray(p["y"], dtype=float), 4),
                "mode": "lines",
                "line": {"color": BLUE, "width": 1.3},
                "showlegend": False,
                "xaxis": xa,
                "yaxis": ya,
                "hovertemplate": f"{DATE_HOVER}: %{{y:.2f}} ({unit})<extra></extra>",
            }
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
                {
                    "type": "scatter",
                    "x": [_d1(pt[0])],
                    "y": [round(float(pt[1]), 4)],
                    "mode": "markers",
                    "showlegend": False,
                    "xaxis": xa,
                    "yaxis": ya,
                    "marker": {
                        "symbol": sym,
                        "size": 10,
                        "color": color,
                        "line": {"width": 1, "color": "#333"},
                    },
                    "hovertemplate": f"{label} {DATE_HOVER}: %{{y:.2f}}<extra></extra>",
                }
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
    layout["annotations"] = [dict(a, font={"size": 10}) for a in layout["annotations"]]
    for i in range(len(panels)):
        k = _axis(i)
        layout[f"xaxis{k}"] |= {"tickformat": "%b %d\n%Y", "nticks": 3, "tickfont": {"size": 9}}
        layout[f"yaxis{k}"] |= {"tickfont": {"size": 9}}
    layout |= {
        "shapes": shapes,
        "height": max(240, 210 * rows),
        "margin": {"l": 40, "r": 10, "t": 40, "b": 25},
    }
    return Figure(traces, layout)


def returns_histogram(ret: pd.Series) -> Figure:
    r = ret.dropna().astype(float) * 100
    lo, hi = (float(r.min()), float(r.max())) if len(r) else (0.0, 1.0)
    bins = {"start": lo, "end": hi + 1e-9, "size": max((hi - lo) / 30, 1e-6)}
    edges = np.arange(bins["start"], bins["end"] + bins["size"], bins["size"])
    traces = []
    for name, part, color in (("win", r[r >= 0], GREEN), ("loss", r[r < 0], RED)):
        # binned here so the page does not grow with the number of trades
        counts, _ = np.histogram(part.to_numpy(), bins=edges)
        traces.append(
            {
                "type": "bar",
                "x": np.round((edges[:-1] + edges[1:]) / 2, 4),
                "y": counts,
                "width": np.diff(edges),
                "name": name,
                "marker": {"color": color},
                "opacity": 0.8,
                "hovertemplate": "%{x:+.2f}%: %{y} trade(s)<extra></extra>",
            }
        )
    shapes, ann = [], []
    if len(r):
        m = float(r.mean())
        shapes.append(_vline(m, color="#333", dash="dash"))
        ann.append(
            {"x": m, "y": 1, "yref": "paper", "text": f"mean {m:+.2f}%", "showarrow": False,
             "xanchor": "left", "font": {"size": 10}}
        )  # fmt: skip
    layout = {
        "shapes": shapes,
        "annotations": ann,
        "barmode": "overlay",
        "height": 300,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "position's return per trade (%)"}, "ticksuffix": "%"},
        "yaxis": {"title": {"text": "trades"}},
        "legend": _legend(),
    }
    return Figure(traces, layout)


def breakdown_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    """Mean trade return by group, one panel per breakdown (kind, org, tag)."""
    names = list(tables)
    layout = _grid(1, len(names), titles=[f"by {n}" for n in names])
    traces = []
    for i, n in enumerate(names):
        t = tables[n]
        traces.append(
            {
                "type": "bar",
                "x": t["group"].astype(str).tolist(),
                "y": np.round(t["mean_ret"].to_numpy() * 100, 4),
                "marker": {"color": [GREEN if v >= 0 else RED for v in t["mean_ret"].fillna(0)]},
                "showlegend": False,
                "text": t["n_trades"].astype(str).tolist(),
                "textposition": "outside",
                "hovertemplate": "%{x}: %{y:+.2f}% (n=%{text})<extra></extra>",
                "xaxis": f"x{_axis(i)}",
                "yaxis": f"y{_axis(i)}",
            }
        )
    layout["yaxis"] |= {"title": {"text": "mean trade return (%)"}, "ticksuffix": "%"}
    layout |= {"height": 300, "margin": {"l": 50, "r": 20, "t": 40, "b": 60}}
    return Figure(traces, layout)


def heatmap_figure(
    slices: list[tuple[str, pd.DataFrame]],
    *,
    x: str,
    y: str,
    metric: str,
    percent: bool = False,
    best: tuple[int, str, str, float] | None = None,
    cols: int = 2,
) -> Figure:
    """One heatmap per slice (a pivot with ``y`` labels as index, ``x`` labels as columns;
    the labels are strings, so "none" is a category like any other).

    ``best``: (slice index, x label, y label, value) of the best combination: a star and its
    value are written in that cell. ``percent``: values are fractions, shown in percent.
    """
    cols = max(1, min(cols, len(slices)))
    rows = math.ceil(len(slices) / cols)
    layout = _grid(
        rows,
        cols,
        titles=[t for t, _ in slices],
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
    colorscale = _colorscale(scale)
    unit = "%" if percent else ""
    label = f"{metric} (%)" if percent else metric
    traces = []
    for i, (_, p) in enumerate(slices):
        s = _axis(i)
        z = p.to_numpy(dtype=float) * k
        z = np.where(np.isfinite(z), np.round(z, 4), np.nan)
        traces.append(
            {
                "type": "heatmap",
                "x": [str(v) for v in p.columns],
                "y": [str(v) for v in p.index],
                "z": z,
                "zmin": lo,
                "zmax": hi,
                "colorscale": colorscale,
                "showscale": i == 0,
                "colorbar": {"title": {"text": label}, "ticksuffix": unit, "thickness": 12},
                "xaxis": f"x{s}",
                "yaxis": f"y{s}",
                "hovertemplate": f"{x} %{{x}}<br>{y} %{{y}}<br>{metric} %{{z:+.2f}}{unit}<extra></extra>",
            }
        )
    # Panel titles at 11 px, but at make_subplots' 16 px when a cell is starred: that is what
    # the page has shown since the figure was built with go.Figure, whose update_layout merged
    # a longer annotation list (titles + star) without the titles' new font.
    annotations = [
        dict(a, font={"size": 11 if best is None else 16}) for a in layout["annotations"]
    ]
    if best is not None:
        i, bx, by, bv = best
        s = _axis(i)
        annotations.append(
            {
                "x": bx, "y": by, "xref": f"x{s}", "yref": f"y{s}",
                "text": f"★ best {bv * k:+.2f}{unit}", "showarrow": True, "arrowhead": 0,
                "ax": 0, "ay": -22, "font": {"size": 11, "color": "#000"},
                "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#000",
            }
        )  # fmt: skip
    for i in range(len(slices)):
        s = _axis(i)
        layout[f"xaxis{s}"] |= {"title": {"text": x}, "type": "category"}
        layout[f"yaxis{s}"] |= {"title": {"text": y}, "type": "category"}
    layout |= {
        "annotations": annotations,
        "height": max(320, 300 * rows),
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    }
    return Figure(traces, layout)


def sharpe_histogram(sharpe: pd.Series, best: float | None) -> Figure:
    # binned here, not in the browser: a sweep has up to millions of combinations, and a
    # Histogram trace would carry every one of them into the page
    x = sharpe.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(dtype=float)
    counts, edges = np.histogram(x, bins=40) if len(x) else (np.zeros(0), np.zeros(1))
    traces = [
        {
            "type": "bar",
            "x": np.round((edges[:-1] + edges[1:]) / 2, 4),
            "y": counts,
            "width": np.diff(edges),
            "marker": {"color": BLUE},
            "opacity": 0.8,
            "hovertemplate": "Sharpe %{x:.2f}: %{y} combination(s)<extra></extra>",
        }
    ]
    shapes, ann = [], []
    if best is not None and np.isfinite(best):
        shapes.append(_vline(best, color=RED, dash="dash"))
        ann.append(
            {"x": best, "y": 1, "yref": "paper", "text": f"best {best:.2f}", "showarrow": False,
             "xanchor": "right", "font": {"size": 10}}
        )  # fmt: skip
    layout = {
        "shapes": shapes,
        "annotations": ann,
        "height": 280,
        "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
        "xaxis": {"title": {"text": "annualised Sharpe ratio of each combination"}},
        "yaxis": {"title": {"text": "combinations"}},
    }
    return Figure(traces, layout)


def walk_forward_figure(wf: pd.DataFrame) -> Figure:
    """In-sample and out-of-sample mean trade return of each fold's choice, in percent."""
    fold = wf["fold"].astype(str).tolist()
    hover = "fold %{x}: %{y:+.2f}%<extra>%{fullData.name}</extra>"
    traces = [
        {
            "type": "bar",
            "x": fold,
            "y": np.round(wf["is_score"].to_numpy() * 100, 4),
            "name": "in-sample (the fold's best combination)",
            "marker": {"color": GREY},
            "hovertemplate": hover,
        },
        {
            "type": "bar",
            "x": list(fold),
            "y": np.round(wf["oos_score"].to_numpy() * 100, 4),
            "name": "out-of-sample (same combination, next block)",
            "marker": {"color": BLUE},
            "hovertemplate": hover,
        },
    ]
    layout = {
        "shapes": [_hline(0)],
        "barmode": "group",
        "height": 300,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
        "xaxis": {"title": {"text": "fold (block of events, in time order)"}},
        "yaxis": {"title": {"text": "mean trade return (%)"}, "ticksuffix": "%"},
        "legend": _legend(),
    }
    return Figure(traces, layout)


def group_box_figure(
    df: pd.DataFrame, *, value: str, group: str, title: str, names: dict | None = None
) -> Figure:
    traces = [
        {
            "type": "box",
            "y": np.round(part[value].to_numpy(dtype=float) * 100, 4),
            "name": (names or {}).get(g, f"{group}={g}"),
            "boxpoints": "all",
            "jitter": 0.3,
            "pointpos": 0,
            "hovertemplate": "%{y:+.2f}%<extra></extra>",
        }
        for g, part in df.groupby(group, sort=True)
    ]
    layout = {
        "height": 300,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
        "yaxis": {"title": {"text": "abnormal return (%)"}, "ticksuffix": "%"},
        "title": {"text": title, "font": {"size": 12}},
        "showlegend": False,
    }
    return Figure(traces, layout)


def compare_equity_figure(curves: list[tuple[str, pd.Series]]) -> Figure:
    """Cumulative returns (%) of several runs overlaid; each series is indexed by date."""
    traces = []
    for name, s in curves:
        s = s.astype(float)
        cum = (s / float(s.iloc[0]) - 1.0) * 100 if len(s) else s
        traces.append(
            {
                "type": "scatter",
                "x": _day(s.index),
                "y": np.round(cum.to_numpy(), 3),
                "name": name,
                "hovertemplate": f"{name} %{{y:+.2f}}%<extra></extra>",
            }
        )
    layout = {
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 30},
        "legend": _legend(),
        "hovermode": "x unified",
        "xaxis": {"hoverformat": "%Y-%m-%d"},
        "yaxis": {"title": {"text": "cumulative return (%)"}, "ticksuffix": "%"},
    }
    return Figure(traces, layout)
