"""HTML building blocks of the tearsheet: escaped tables, number formats, the page shell.

Nothing here knows what a run is; :mod:`evbt.report` decides what goes on the page.
"""

from __future__ import annotations

import html
import json
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


MINUS = "\u2212"  # the minus sign Plotly's axes and hovers use: one sign on the page


def _signed(text: str) -> str:
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


def pct(v: Any, digits: int = 2, *, sign: bool = False) -> str:
    """A fraction in percent: ``0.0123`` -> "1.23%" (``sign``: "+1.23%")."""
    if _missing(v):
        return "–"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else f"{MINUS}∞"
    text = f"{v * 100:+.{digits}f}%" if sign else f"{v * 100:.{digits}f}%"
    if text.lstrip("+-").rstrip("%").strip("0.") == "":  # -0.00% and +0.00% are 0.00%
        text = text.lstrip("+-")
    return _signed(text)


def spct(v: Any, digits: int = 2) -> str:
    """Signed percent: gains with "+", losses with "−"."""
    return pct(v, digits, sign=True)


def num(v: Any, digits: int = 2, *, sign: bool = False) -> str:
    if _missing(v):
        return "–"
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else f"{MINUS}∞"
    return _signed(f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}")


def money(v: Any, currency: str = "$", *, sign: bool = False) -> str:
    """Money with its currency: "$1,234", "−$8,231" (``sign``: "+$1,234")."""
    if _missing(v):
        return "–"
    v = float(v)
    body = f"{currency}{abs(v):,.0f}"
    if v < 0 and f"{abs(v):,.0f}" != "0":
        return MINUS + body
    return ("+" + body) if sign and v > 0 else body


def gnum(v: Any) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return _signed(f"{int(v):,}")
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else f"{MINUS}∞"
    if v == int(v) and abs(v) < 1e15:
        return _signed(f"{int(v):,}")
    return _signed(f"{v:.4g}")


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


def stamp(v: Any) -> str:
    """A timestamp to the minute, UTC: "2026-12-02 18:54 UTC" (no microseconds)."""
    if _missing(v) or v == "":
        return "–"
    try:
        t = pd.Timestamp(v)
    except (TypeError, ValueError):
        return str(v)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return f"{t:%Y-%m-%d %H:%M} UTC"


FORMATS: dict[str, Formatter] = {
    "pct": pct,
    "pct1": lambda v: pct(v, 1),
    "spct": spct,
    "spct1": lambda v: spct(v, 1),
    "money": money,
    "smoney": lambda v: money(v, sign=True),
    "num2s": lambda v: num(v, 2, sign=True),
    "num": num,
    "num3": lambda v: num(v, 3),
    "g": gnum,
    "p": pval,
    "date": day,
    "int": lambda v: "–" if _missing(v) else f"{int(v):,}",
    "yesno": lambda v: "–" if _missing(v) else ("yes" if bool(v) else "no"),
    "text": lambda v: "–" if _missing(v) else str(v),
}


def _auto(dtype: Any) -> Formatter:
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return day
    if pd.api.types.is_bool_dtype(dtype):
        return gnum
    if pd.api.types.is_numeric_dtype(dtype):
        return gnum
    return FORMATS["text"]


def table(
    df: pd.DataFrame,
    fmt: Mapping[str, str | Formatter] | None = None,
    *,
    max_rows: int | None = 200,
    labels: Mapping[str, str] | None = None,
    css: str = "",
    tone: tuple[str, ...] = (),
    sortable: bool = False,
    raw: tuple[str, ...] = (),
) -> str:
    """A plain HTML table of ``df`` (every cell escaped), numbers right-aligned.

    ``fmt`` maps a column to a format name of :data:`FORMATS` or a callable; other columns are
    formatted by dtype. Beyond ``max_rows`` rows the rest is counted in a caption. ``tone``:
    columns coloured green when positive, red when negative. ``sortable``: a click on a column
    head sorts the rows (numbers by value). ``raw``: columns holding HTML already escaped.
    """
    fmt = dict(fmt or {})
    labels = dict(labels or {})
    shown = df if max_rows is None else df.head(max_rows)
    funcs: dict[str, Formatter] = {}
    numeric = set()
    for c, dtype in shown.dtypes.items():  # the dtypes, not a Series per column: 15 tables
        f = fmt.get(c)
        funcs[c] = FORMATS[f] if isinstance(f, str) else (f or _auto(dtype))
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            numeric.add(c)
    head = "".join(
        f'<th class="{"n" if c in numeric else ""}">{esc(labels.get(c, c))}</th>'
        for c in shown.columns
    )
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(shown.columns, rec, strict=True):
            cls = "n" if c in numeric else ""
            if c in tone and not _missing(v):
                cls += " pos" if float(v) > 0 else " neg" if float(v) < 0 else ""
            dv = ""
            if sortable and c in numeric:
                dv = f' data-v="{"" if _missing(v) else float(v)!r}"'
            text = str(v) if c in raw else esc(funcs[c](v))
            cells.append(f'<td class="{cls.strip()}"{dv}>{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = ""
    if len(df) > len(shown):
        more = f"<caption>first {len(shown):,} of {len(df):,} rows</caption>"
    body = "".join(rows) if rows else f'<tr><td colspan="{len(shown.columns)}">none</td></tr>'
    classes = " ".join(x for x in (css, "sortable" if sortable else "") if x)
    return (
        f'<div class="tw"><table class="{esc(classes)}">{more}<thead><tr>{head}</tr></thead>'
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
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
header{padding:18px 28px 8px;border-bottom:1px solid var(--line)}
header h1{margin:0 0 4px;font-size:22px}
header .sub{color:var(--muted);font-size:13px}
nav{position:sticky;top:0;z-index:5;background:#fffffff2;border-bottom:1px solid var(--line);
padding:6px 28px;font-size:13px;display:flex;flex-wrap:wrap;gap:2px 14px}
nav a{color:var(--acc);text-decoration:none;white-space:nowrap}
main{padding:4px 28px 40px;max-width:1280px}
section{margin-top:22px}
h2{font-size:18px;margin:0 0 8px;border-bottom:2px solid var(--line);padding-bottom:3px}
h2 a{color:inherit;text-decoration:none}
h3{font-size:15px;margin:16px 0 6px}
.banner{margin:10px 28px 0;padding:9px 14px;border-radius:4px;font-weight:600}
.banner.synthetic{background:#fde8e8;color:#8a1212;border:1px solid #f1b4b4}
.banner.lookahead{background:#fff4d6;color:#6b4b00;border:1px solid #f0d48a}
.banner.ruined{background:#3a0d0d;color:#fff}
.tw{overflow:auto;max-height:75vh;margin:6px 0 10px;max-width:100%;border:1px solid var(--line);
border-radius:4px;width:fit-content}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{padding:3px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:normal}
table:not(.kv) td{white-space:nowrap}
thead th{background:var(--alt);position:sticky;top:0;z-index:1}
td.n,th.n,table.num td+td,table.num th+th{text-align:right;white-space:nowrap}
td.pos{color:#14723c}td.neg{color:#a61b1b}
tbody tr:nth-child(even) td{background:#fafbfc}
table.kv th{font-weight:600;background:var(--alt)}
caption{caption-side:bottom;text-align:left;color:var(--muted);font-size:12px;padding:4px}
.note{color:var(--muted);font-style:italic;margin:4px 0}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:14px}
.grid2>div{min-width:0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:120px}
.card .v{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:var(--muted);font-size:12px}
.card.good .v{color:#14723c}.card.bad .v{color:#a61b1b}
.fig{min-width:0;max-width:100%;margin:4px 0}
.fig .plotly-graph-div{width:100%}
.fig .wait{color:var(--muted);font-size:12px;padding:8px}
dl.words dt{font-weight:600;margin-top:8px}dl.words dd{margin:2px 0 6px 0}
details{margin:6px 0}
pre{background:var(--alt);padding:8px;overflow-x:auto;font-size:12px;max-width:100%}
footer{color:var(--muted);font-size:12px;padding:10px 28px 30px;border-top:1px solid var(--line)}
th.sort{cursor:pointer}th.sort:after{content:" ⇅";color:var(--muted)}
@media (max-width:640px){
header,nav,main,footer{padding-left:12px;padding-right:12px}
.banner{margin:8px 12px 0}
th,td{padding:3px 6px}
header h1{font-size:19px}
}
"""

#: Draws the figures after the first paint: plotly.js is loaded (or, standalone, run from
#: its inline text) only once the browser has painted the text and tables; figures are then
#: drawn one per task so the page stays responsive. On a narrow screen a grid of panels
#: (layout.meta.grid = [n, cols]) is redrawn in fewer columns.
LOADER = r"""(function(){
var D=document,figs=JSON.parse(D.getElementById('evbt-figs').textContent);
var cfg=JSON.parse(D.getElementById('evbt-figs').dataset.config);
function regrid(L,n,c,W){var k=W<560?1:(W<900?Math.min(c,2):c);if(k>=c)return;
var r=Math.ceil(n/k),gx=0.08,gy=Math.min(0.3/r,0.06),w=(1-gx*(k-1))/k,h=(1-gy*(r-1))/r,pane=(L.meta.pane||200);
for(var i=0;i<n;i++){var s=i?String(i+1):'',col=i%k,row=Math.floor(i/k),x0=col*(w+gx),y1=1-row*(h+gy);
L['xaxis'+s]=Object.assign(L['xaxis'+s]||{},{domain:[x0,x0+w]});
L['yaxis'+s]=Object.assign(L['yaxis'+s]||{},{domain:[y1-h,y1]});
var a=L.annotations&&L.annotations[i];if(a){a.x=x0+w/2;a.y=y1;}}
L.height=Math.max(240,pane*r);}
function done(){D.documentElement.setAttribute('data-charts','drawn');}
function draw(){var i=0;(function next(){if(i>=figs.length){done();return;}
var f=figs[i++],el=D.getElementById(f[0]),L=f[1].layout;
if(L.meta&&L.meta.grid)regrid(L,L.meta.grid[0],L.meta.grid[1],el.clientWidth||window.innerWidth);
if(window.innerWidth<640){L.margin=Object.assign(L.margin||{},{l:45,r:10});}
el.innerHTML='';el.style.height='';
Plotly.newPlot(el,f[1].data,L,cfg).then(function(){setTimeout(next,0);},function(){setTimeout(next,0);});})();}
function fail(){D.querySelectorAll('.fig .wait').forEach(function(e){e.textContent=
'charts need plotly.js ('+SRC+'), which is not next to this report: open it where it was written, or write a standalone copy with evbt report RUN --standalone';});
D.documentElement.setAttribute('data-charts','failed');}
function load(){if(window.Plotly){draw();return;}var s=D.createElement('script'),t=D.getElementById('plotlyjs');
if(t){s.textContent=t.textContent;D.body.appendChild(s);draw();return;}
s.src=SRC;s.onload=draw;s.onerror=fail;D.body.appendChild(s);}
if(!figs.length){done();return;}
requestAnimationFrame(function(){setTimeout(load,0);});
})();"""


def _script_json(text: str) -> str:
    """JSON text safe inside a <script> element (no "</" can close it early)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


@dataclass
class PlotlyJS:
    """Where the page's plotly.js comes from: ``src`` (a relative path to the shared asset)
    or ``inline`` (the library's text, for a standalone file)."""

    src: str | None = None
    inline: str | None = None


def page(
    *,
    title: str,
    subtitle: str,
    banners: list[tuple[str, str]],
    sections: list[Section],
    figures: list[tuple[str, str]],
    plotly: PlotlyJS,
    footer: str,
    config_json: str = "{}",
) -> str:
    """The HTML page: text, banners, cards and tables first; at the end of the body the
    figures' JSON and the loader that draws them once the page has painted."""
    nav = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    bans = "".join(f'<div class="banner {esc(k)}">{esc(t)}</div>' for k, t in banners)
    body = "".join(s.render() for s in sections)
    tail = ""
    if figures:
        figs = "[" + ",".join(f'["{fid}",{js}]' for fid, js in figures) + "]"
        lib = ""
        src = plotly.src or ""
        if plotly.inline is not None:
            # "</script" never occurs in plotly.min.js; checked here
            if "</script" in plotly.inline.lower():  # pragma: no cover - a future plotly build
                raise RuntimeError("plotly.js contains a closing script tag; cannot embed it")
            lib = f'<script type="text/plain" id="plotlyjs">{plotly.inline}</script>'
        tail = (
            f'<script type="application/json" id="evbt-figs" data-config="{esc(config_json)}">'
            f"{_script_json(figs)}</script>{lib}"
            f"<script>var SRC={json.dumps(src)};{LOADER}</script>"
        )
    sort_js = SORT_JS if "sortable" in body else ""
    drawn = "" if figures else ' data-charts="drawn"'
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"{drawn}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
        f"{bans}<nav>{nav}</nav><main>{body}</main><footer>{footer}</footer>"
        f"{tail}{sort_js}</body></html>\n"
    )


#: Click a column head of a ``table.sortable`` to sort by it (numbers by their data-v).
SORT_JS = r"""<script>document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('thead th').forEach(function(th,i){th.classList.add('sort');th.addEventListener('click',function(){
var b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
function key(r){var c=r.cells[i],v=c.dataset.v;return v!==undefined&&v!==''?parseFloat(v):c.textContent;}
rows.sort(function(a,c){var x=key(a),y=key(c);if(typeof x==='number'&&typeof y==='number'){
if(isNaN(x))return 1;if(isNaN(y))return -1;return asc?x-y:y-x;}return asc?String(x).localeCompare(y):String(y).localeCompare(x);});
rows.forEach(function(r){b.appendChild(r);});});});});</script>"""
