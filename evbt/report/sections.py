"""The tearsheet of a run folder: one page made for each kind of run.

:func:`write_report` reads only the run folder and writes one HTML file. A backtest, an
event study, a sweep and a pre-earnings run each get their own header and sections
(:mod:`evbt.report.backtest`, :mod:`~evbt.report.study`, :mod:`~evbt.report.sweep`,
:mod:`~evbt.report.preearnings`); a section whose table is absent is left out and listed,
with the reason, under "About this run".

The page paints its text, banners, cards and tables first; plotly.js and the figures come
at the end of the body and are drawn after the first paint. In the store, plotly.js is one
shared file of the results root (``<root>/.assets/plotly-<version>.min.js``, loaded by a
relative path, offline from ``file://``); ``standalone=True`` writes one self-contained file
with plotly.js inside, to mail or archive.

:func:`report_frames` builds the small extra tables the report uses when the writer of a
backtest folder adds them (``events``, ``prices_window``, ``benchmark``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evbt.report.folder import (
    KIND_NAMES,
    WINDOW_PAD,
    Page,
    RunFolder,
    banners,
    load_run,
)
from evbt.report.html import PlotlyJS, esc, kv_table, page, para, stamp
from evbt.report.words import describe_config, swept_words

if TYPE_CHECKING:
    from evbt.result import BacktestResult

__all__ = [
    "CHROMIUM_ARGS",
    "MAX_BYTES",
    "describe_config",
    "find_chromium",
    "load_run",
    "render_report",
    "report_frames",
    "write_report",
]

#: a page's own bytes (plotly.js aside) above this shrink the caps on panels and rows
MAX_BYTES = 3_000_000


def _config_words(pg: Page, run: RunFolder) -> None:
    words = describe_config(run.config, run.kind)
    body = [para(w) for w in words]
    sw = swept_words(run.config.get("sweep") or {})
    if run.kind == "sweep" and sw:
        body.append(
            "<h3>What was swept</h3><ul>" + "".join(f"<li>{esc(s)}</li>" for s in sw) + "</ul>"
        )
    if run.kind == "pre":
        p = run.config
        if p:
            body.append(
                para(
                    f"{p.get('ticker', '?')} against {p.get('benchmark', '?')}: run-up over the "
                    f"{p.get('lookback', '?')} sessions before each report's reaction session, "
                    f"reaction over days 0 and 0 to +{p.get('react_days', 5)}; market model "
                    f"estimated over {p.get('estimation', '?')} sessions ending "
                    f"{p.get('gap', '?')} sessions before the run-up; as known on "
                    f"{p.get('asof', '?')}."
                )
            )
    if run.config:
        body.append(
            "<details><summary>canonical config</summary><pre>"
            f"{esc(json.dumps(run.config, indent=2, default=str))}</pre></details>"
        )
    if body:
        pg.add("config", "The run in words", "".join(body))


def _about(pg: Page, run: RunFolder) -> str:
    m = run.manifest
    rows = [
        ("run id", str(m.get("run_id") or run.path.name)),
        ("kind", KIND_NAMES.get(run.kind, run.kind)),
        ("created", stamp(m.get("created_utc"))),
        ("code version", str(m.get("code_version") or m.get("evbt_version") or "?")),
        ("config id", str(m.get("config_id", "?"))),
        (
            "data",
            f"{(m.get('data') or {}).get('source', '?')}, hash {(m.get('data') or {}).get('data_hash', '?')}",
        ),
    ]
    cat = m.get("catalog") or {}
    if cat:
        rows.append(
            ("event catalog", f"{cat.get('path', '?')} (sha256 {str(cat.get('sha256', '?'))[:12]})")
        )
    files = sorted(run.tables) + (["sweep/parts"] if run.sweep is not None else [])
    rows.append(("tables read", ", ".join(files) or "none"))
    body = kv_table(rows)
    if pg.left_out:
        body += (
            "<h3>Left out</h3><ul>"
            + "".join(f"<li><b>{esc(t)}</b>: {esc(w)}</li>" for t, w in pg.left_out)
            + "</ul>"
        )
    return body


# ---------------------------------------------------------------------------- the page


def _title(run: RunFolder) -> str:
    if run.kind == "pre":
        from evbt.report.preearnings import title

        return title(run)
    strategy = (run.config.get("strategy") or {}).get("name", "")
    return f"{KIND_NAMES.get(run.kind, run.kind)}: {strategy}".rstrip(": ")


def _subtitle(run: RunFolder) -> str:
    d = run.manifest.get("data") or {}
    bits = [f"run {run.manifest.get('run_id') or run.path.name}"]
    if d.get("source"):
        span = f" {d['first_session']} to {d['last_session']}" if d.get("first_session") else ""
        bits.append(f"data {d['source']}{span}")
    if run.manifest.get("created_utc"):
        bits.append(f"created {stamp(run.manifest['created_utc'])}")
    return " · ".join(bits)


def build_page(run: RunFolder, *, metric: str = "sharpe", scale: float = 1.0) -> Page:
    """The sections and figures of a run's page, chosen by its kind."""
    from evbt.report import backtest as bt
    from evbt.report.study import study_extras, study_section

    pg = Page(scale)
    kind = run.kind
    if kind == "sweep":
        from evbt.report.sweep import sweep_page

        sweep_page(pg, run, metric)
        _config_words(pg, run)
    elif kind == "pre":
        from evbt.report.preearnings import preearnings_page

        preearnings_page(pg, run)
        _config_words(pg, run)
    elif kind == "study":
        _study_summary(pg, run)
        _config_words(pg, run)
        study_section(pg, run, own_page=True)
        study_extras(pg, run)
    else:
        bt.summary(pg, run)
        _config_words(pg, run)
        bt.equity(pg, run)
        bt.per_event_section(pg, run)
        study_section(pg, run)
        if "trades" in run.tables:
            bt.windows(pg, run)
            bt.distribution(pg, run)
            bt.skipped(pg, run)
        else:
            for t in ("Price around each event", "Trade returns and breakdowns", "Skipped signals"):
                pg.skip(t, "no trades.parquet in the folder")
    pg.add("about", "About this run", _about(pg, run))
    return pg


def _study_summary(pg: Page, run: RunFolder) -> None:
    from evbt.report.folder import cards
    from evbt.report.html import pval, spct

    summ = run.get("study_summary")
    es = run.get("event_study")
    items = []
    if es is not None:
        items.append((f"{es['event_id'].nunique()}", "events"))
        items.append((f"{es['ticker'].nunique()}", "tickers"))
    if summ is not None and len(summ) and "group_type" in summ.columns:
        a = summ[summ["group_type"] == "all"]
        if len(a):
            r = a.iloc[-1]
            items.append((spct(r["caar"]), f"CAAR {r['car_window']}"))
            if "p_headline" in a.columns:
                items.append((pval(r["p_headline"]), "headline p-value"))
            if "placebo_p" in a.columns:
                items.append((pval(r["placebo_p"]), "placebo p-value"))
    ev = run.manifest.get("events") or {}
    body = [cards(items)]
    if ev.get("n_outside_data"):
        body.append(
            para(
                f"{ev['n_outside_data']} event x ticker pairs fell outside the data and were skipped."
            )
        )
    pg.add("summary", "Summary", "".join(body))


def render_report(
    run: RunFolder,
    *,
    metric: str = "sharpe",
    scale: float = 1.0,
    plotly: PlotlyJS | None = None,
) -> str:
    """The whole HTML page of a loaded run folder (``scale`` shrinks the caps on panels,
    heatmaps and table rows; ``plotly`` says where plotly.js comes from, default inline)."""
    from evbt.report.assets import plotly_text

    pg = build_page(run, metric=metric, scale=scale)
    if plotly is None:
        plotly = PlotlyJS(inline=plotly_text())
    footer = "Written by evbt report; works offline and loads nothing from the network" + (
        "." if plotly.inline is not None else f" (plotly.js: {plotly.src})."
    )
    return page(
        title=_title(run),
        subtitle=_subtitle(run),
        banners=banners(run),
        sections=pg.sections,
        figures=pg.figures,
        plotly=plotly,
        footer=esc(footer),
        config_json=json.dumps(_figure_config()),
    )


def render_guarded(run: RunFolder, **kw: Any) -> str:
    """:func:`render_report`, where a table of a shape the page does not expect (beyond
    :data:`~evbt.report.folder.NEEDS`: a wrong dtype, an odd value) is an unsupported run
    (exit 2 naming the folder), not an internal error; ``--debug`` shows the cause."""
    from evbt.errors import InputError
    from evbt.report.folder import unsupported

    try:
        return render_report(run, **kw)
    except InputError:
        raise
    except (KeyError, AttributeError, TypeError, ValueError, IndexError) as e:
        raise unsupported(
            run.path, f"its tables are not in the form this evbt reads ({type(e).__name__}: {e})"
        ) from e


def _figure_config() -> dict:
    from evbt.report.figures import CONFIG

    return CONFIG


def write_html(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` through a temporary sibling: never half-written."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def plotly_for(target: Path, root: Path, standalone: bool) -> PlotlyJS:
    """Inline plotly.js (standalone), or the results root's shared copy by a relative path."""
    from evbt.report.assets import ensure_plotly, plotly_text

    if standalone:
        return PlotlyJS(inline=plotly_text())
    asset = ensure_plotly(root)
    rel = os.path.relpath(asset, target.resolve().parent)
    return PlotlyJS(src=Path(rel).as_posix())


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    metric: str = "sharpe",
    standalone: bool = False,
) -> Path:
    """Write the tearsheet of a run folder; return its path (default ``<run_dir>/report.html``).

    The page loads plotly.js from the results root (the run folder's parent):
    ``<root>/.assets/plotly-<version>.min.js``, written there once. ``standalone=True``
    embeds plotly.js instead: one file that works anywhere. Written atomically.
    """
    run = load_run(run_dir)
    target = Path(out) if out is not None else run.path / "report.html"
    plotly = plotly_for(target, run.path.resolve().parent, standalone)
    own = len(plotly.inline or "")
    for scale in (1.0, 0.5, 0.25, 0.1):
        text = render_guarded(run, metric=metric, scale=scale, plotly=plotly)
        if len(text.encode("utf-8")) - own <= MAX_BYTES:
            break
    else:  # pragma: no cover - the smallest caps keep any page far below
        logging.getLogger(__name__).warning(
            "report is %s bytes, above the %s-byte budget even with the smallest caps",
            f"{len(text):,}",
            f"{MAX_BYTES:,}",
        )
    return write_html(target, text)


# ---------------------------------------------------------- tables for a backtest folder


def report_frames(
    result: BacktestResult,
    *,
    catalog: pd.DataFrame | None = None,
    events_path: str | None = None,
    pad: int = WINDOW_PAD,
) -> dict[str, pd.DataFrame]:
    """The small extra tables a backtest folder carries for its report: ``events``,
    ``prices_window`` and ``benchmark`` (see :meth:`BacktestResult.tables`, which the store
    writes). ``catalog`` or ``events_path`` re-reads the events from another catalog."""
    tables = result.tables(pad=pad)
    out: dict[str, pd.DataFrame] = {
        k: tables[k] for k in ("events", "prices_window", "benchmark") if k in tables
    }
    if catalog is not None or events_path is not None or "events" not in out:
        if catalog is None:
            from evbt.data.catalog import load_catalog

            catalog = load_catalog(events_path or result.config.data.events)
        ids = set(result.signals.table["event_id"]) | set(result.skipped.get("event_id", []))
        ev = catalog[catalog["id"].isin(ids)]
        out["events"] = (
            ev[["id", "name", "org", "kind", "tags", "date"]]
            .rename(columns={"id": "event_id"})
            .reset_index(drop=True)
        )
    return out


#: How evbt starts Debian's Chromium for the browser test and the screenshot script: headless
#: as root, and none of the background connections this closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """The Chromium to drive with Playwright: ``EVBT_CHROMIUM``, /usr/bin/chromium, or PATH."""
    import os
    import shutil

    for cand in (os.environ.get("EVBT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None
