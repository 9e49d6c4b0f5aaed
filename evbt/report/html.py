"""HTML building blocks of the tearsheet: escaped tables, number formats, the page shell.

Nothing here knows what a run is; :mod:`evbt.report` decides what goes on the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Formatter = Callable[[Any], str]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def pct(v: Any, digits: int = 2) -> str:
    if _missing(v):
        return "–"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v * 100:.{digits}f}%"


def num(v: Any, digits: int = 2) -> str:
    if _missing(v):
        return "–"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:,.{digits}f}"


def gnum(v: Any) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:.4g}"


def pval(v: Any) -> str:
    if _missing(v):
        return "–"
    v = float(v)
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def day(v: Any) -> str:
    if _missing(v):
        return "–"
    try:
        return f"{pd.Timestamp(v):%Y-%m-%d}"
    except (TypeError, ValueError):
        return str(v)


FORMATS: dict[str, Formatter] = {
    "pct": pct,
    "pct1": lambda v: pct(v, 1),
    "money": lambda v: num(v, 0),
    "num": num,
    "num3": lambda v: num(v, 3),
    "g": gnum,
    "p": pval,
    "date": day,
    "int": lambda v: "–" if _missing(v) else f"{int(v):,}",
    "text": lambda v: "–" if _missing(v) else str(v),
}


def _auto(series: pd.Series) -> Formatter:
    if pd.api.types.is_datetime64_any_dtype(series):
        return day
    if pd.api.types.is_bool_dtype(series):
        return gnum
    if pd.api.types.is_numeric_dtype(series):
        return gnum
    return FORMATS["text"]


def table(
    df: pd.DataFrame,
    fmt: Mapping[str, str | Formatter] | None = None,
    *,
    max_rows: int | None = 200,
    labels: Mapping[str, str] | None = None,
    css: str = "",
) -> str:
    """A plain HTML table of ``df`` (every cell escaped), numbers right-aligned.

    ``fmt`` maps a column to a format name of :data:`FORMATS` or a callable; other columns are
    formatted by dtype. Beyond ``max_rows`` rows the rest is counted in a caption.
    """
    fmt = dict(fmt or {})
    labels = dict(labels or {})
    shown = df if max_rows is None else df.head(max_rows)
    funcs: dict[str, Formatter] = {}
    for c in shown.columns:
        f = fmt.get(c)
        funcs[c] = FORMATS[f] if isinstance(f, str) else (f or _auto(shown[c]))
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])}
    head = "".join(
        f'<th class="{"n" if c in numeric else ""}">{esc(labels.get(c, c))}</th>'
        for c in shown.columns
    )
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="{"n" if c in numeric else ""}">{esc(funcs[c](v))}</td>'
            for c, v in zip(shown.columns, rec, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    more = ""
    if len(df) > len(shown):
        more = f"<caption>first {len(shown):,} of {len(df):,} rows</caption>"
    body = "".join(rows) if rows else f'<tr><td colspan="{len(shown.columns)}">none</td></tr>'
    return (
        f'<div class="tw"><table class="{esc(css)}">{more}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="tw"><table class="kv"><tbody>{body}</tbody></table></div>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def para(text: str) -> str:
    return f"<p>{esc(text)}</p>"


@dataclass
class Section:
    anchor: str
    title: str
    body: str

    def render(self) -> str:
        return (
            f'<section id="{esc(self.anchor)}"><h2><a href="#{esc(self.anchor)}">'
            f"{esc(self.title)}</a></h2>{self.body}</section>"
        )


CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#fff;--alt:#f6f7f9;--acc:#2857a4}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{padding:18px 28px 8px;border-bottom:1px solid var(--line)}
header h1{margin:0 0 4px;font-size:22px}
header .sub{color:var(--muted);font-size:13px}
nav{position:sticky;top:0;z-index:5;background:#fffffff2;border-bottom:1px solid var(--line);
padding:6px 28px;font-size:13px}
nav a{color:var(--acc);text-decoration:none;margin-right:14px;white-space:nowrap}
main{padding:4px 28px 40px;max-width:1280px}
section{margin-top:22px}
h2{font-size:18px;margin:0 0 8px;border-bottom:2px solid var(--line);padding-bottom:3px}
h2 a{color:inherit;text-decoration:none}
h3{font-size:15px;margin:16px 0 6px}
.banner{margin:10px 28px 0;padding:9px 14px;border-radius:4px;font-weight:600}
.banner.synthetic{background:#fde8e8;color:#8a1212;border:1px solid #f1b4b4}
.banner.lookahead{background:#fff4d6;color:#6b4b00;border:1px solid #f0d48a}
.banner.ruined{background:#3a0d0d;color:#fff}
.tw{overflow-x:auto;margin:6px 0 10px}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{padding:3px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--alt);position:sticky;top:0}
td.n,th.n,table.num td+td,table.num th+th{text-align:right}
tbody tr:nth-child(even) td{background:#fafbfc}
table.kv th{font-weight:600;background:var(--alt);white-space:nowrap}
caption{caption-side:bottom;text-align:left;color:var(--muted);font-size:12px;padding-top:4px}
.note{color:var(--muted);font-style:italic;margin:4px 0}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:130px}
.card .v{font-size:18px;font-weight:600}
.card .k{color:var(--muted);font-size:12px}
details{margin:6px 0}
pre{background:var(--alt);padding:8px;overflow-x:auto;font-size:12px}
footer{color:var(--muted);font-size:12px;padding:10px 28px 30px;border-top:1px solid var(--line)}
"""


def page(
    *,
    title: str,
    subtitle: str,
    banners: list[tuple[str, str]],
    sections: list[Section],
    plotly_js: str,
    footer: str,
) -> str:
    nav = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    bans = "".join(f'<div class="banner {esc(k)}">{esc(t)}</div>' for k, t in banners)
    body = "".join(s.render() for s in sections)
    # The script is embedded as-is: "</script>" never occurs in plotly.min.js; checked here.
    if "</script" in plotly_js.lower():  # pragma: no cover - guards a future plotly build
        raise RuntimeError("plotly.js contains a closing script tag; cannot embed it inline")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{plotly_js}</script></head><body>'
        f'<header><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
        f"{bans}<nav>{nav}</nav><main>{body}</main><footer>{footer}</footer></body></html>\n"
    )
