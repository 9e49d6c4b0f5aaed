"""A run folder as the report reads it, and what every page shares: the page being built
(:class:`Page`), banners, event attributes, the benchmark.

:func:`load_run` reads only the run folder (``manifest.json``, every top-level Parquet table
and the sweep parts' "total" rows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evbt.errors import InputError
from evbt.report.html import Section, esc, money

WINDOW_PAD = 10  # sessions of price shown before the entry and after the exit
# Caps that keep a page small; all scale down together when a page would still be too big
# (see write_report).
MAX_PANELS = 40  # small multiples per ticker
MAX_PANELS_TOTAL = 120  # small multiples over all tickers
MAX_SLICES = 12  # sweep heatmaps
MAX_ROWS = 500  # rows of a long table (per-event, skipped)
KIND_NAMES = {
    "bt": "Backtest", "study": "Event study", "sweep": "Sweep", "pre": "Pre-earnings",
}  # fmt: skip


#: Columns the report reads from each table without a fallback. A table that lacks one (a
#: folder written by another tool or by hand, or edited) makes the run unsupported: exit 2
#: naming the folder, not a KeyError deep in a page. An empty table (a backtest with no
#: trades) may lack them: it has nothing to misread.
NEEDS: dict[str, tuple[str, ...]] = {
    "trades": (
        "event_id", "ticker", "entry_session", "exit_session", "entry_price", "exit_price",
        "pnl", "ret",
    ),
    "signals": ("event_id", "ticker"),
    "event_study": ("event_id", "ticker", "day", "session", "ret", "ar", "car"),
    "study_summary": ("car_window", "caar"),
    "skipped": ("event_id",),
}  # fmt: skip
#: Manifest fields the report reads as tables (JSON objects) when present.
MANIFEST_OBJECTS = ("config", "data", "signals", "events", "catalog", "overfit")


def unsupported(path: Path, what: str) -> InputError:
    """The one-line error for a run folder the report cannot read."""
    return InputError(
        f"{path}: cannot write its report: {what}; rerun the run with this evbt "
        "(or remove it: evbt runs rm RUN)"
    )


def check_tables(run: RunFolder) -> None:
    """Refuse, naming the folder, a table or manifest field the report cannot read;
    give an empty table the columns it lacks."""
    for key in MANIFEST_OBJECTS:
        v = run.manifest.get(key)
        if v is not None and not isinstance(v, dict):
            raise unsupported(
                run.path, f"manifest.json's {key!r} is a {type(v).__name__}, not an object"
            )
    for key in ("strategy", "data", "sweep", "study", "portfolio", "costs"):
        v = run.config.get(key)
        if v is not None and not isinstance(v, dict):
            raise unsupported(
                run.path, f"manifest.json's config.{key} is a {type(v).__name__}, not a table"
            )
    for name, cols in NEEDS.items():
        df = run.tables.get(name)
        if df is None:
            continue
        missing = [c for c in cols if c not in df.columns]
        if not missing:
            continue
        if df.empty:
            run.tables[name] = df.assign(**{c: pd.Series(dtype=object) for c in missing})
            continue
        raise unsupported(run.path, f"{name}.parquet has no column {', '.join(map(repr, missing))}")


@dataclass
class RunFolder:
    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sweep: pd.DataFrame | None = None  # "total" rows of sweep/parts
    #: tables derived from the others, built once per folder (see :func:`per_event`)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def kind(self) -> str:
        k = self.manifest.get("kind")
        if k:
            return str(k)
        if self.sweep is not None:
            return "sweep"
        if "preearnings_reports" in self.tables:
            return "pre"
        if "trades" in self.tables:
            return "bt"
        return "study"

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.manifest.get("config")
        return cfg if isinstance(cfg, dict) else {}


def load_run(run_dir: str | Path) -> RunFolder:
    """Read a run folder: its manifest, every top-level table and the sweep parts."""
    path = Path(run_dir)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise InputError(
            f"{path}: not a run folder (no manifest.json): pass a run folder or a run id "
            "(evbt runs list shows them)"
        )
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{mpath}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(manifest, dict):
        raise unsupported(path, "manifest.json is not a JSON object")
    run = RunFolder(path=path, manifest=manifest)
    sweep_dir = path / "sweep"
    f = mpath
    try:
        for f in sorted(path.glob("*.parquet")):
            run.tables[f.stem] = pd.read_parquet(f)
        f = sweep_dir / "sweep_summary.parquet"
        if "sweep_summary" not in run.tables and f.is_file():
            run.tables["sweep_summary"] = pd.read_parquet(f)
        parts = sorted((sweep_dir / "parts").glob("*.parquet"))
        frames = []
        for f in parts:
            frames.append(pd.read_parquet(f, filters=[("scope", "==", "total")]))
        if frames:
            run.sweep = pd.concat(frames, ignore_index=True)
    except (OSError, ValueError, KeyError) as e:  # pyarrow's errors are OSError/ValueError
        why = " ".join(str(e).split())[:120] or type(e).__name__
        raise unsupported(path, f"{f.relative_to(path)} unreadable ({why})") from e
    check_tables(run)
    return run


def flag(run: RunFolder, *keys: str) -> bool:
    m: Any = run.manifest
    for k in keys:
        if not isinstance(m, dict):
            return False
        m = m.get(k)
    return bool(m)


def banners(run: RunFolder) -> list[tuple[str, str]]:
    out = []
    if flag(run, "data", "synthetic"):
        out.append(
            (
                "synthetic",
                "SYNTHETIC DATA: these prices are the bundled simulated sample. The results "
                "show the workflow, not an edge.",
            )
        )
    n_la = (run.manifest.get("signals") or {}).get("n_lookahead_signals")
    if (
        flag(run, "lookahead")
        or flag(run, "signals", "allow_lookahead")
        or flag(run, "config", "strategy", "allow_lookahead")
    ):
        extra = ""
        if n_la:
            tr = run.get("trades")
            n_tr = (
                int(tr["lookahead"].astype(bool).sum())
                if tr is not None and "lookahead" in tr.columns
                else None
            )
            extra = f" {n_la} signal(s) were dated before their event could be known"
            extra += f"; {n_tr} of them traded." if n_tr is not None else "."
        out.append(
            (
                "lookahead",
                f"LOOKAHEAD ALLOWED: this run may use information before it was known.{extra}",
            )
        )
    if flag(run, "ruined"):
        low = ""
        eq = run.get("equity")
        if eq is not None and "date" in eq.columns:
            accts = [c for c in eq.columns if c not in ("date", "total", "benchmark")] or ["total"]
            vals = eq[accts].astype(float)
            col = vals.min().idxmin()
            at = vals[col].idxmin()
            low = (
                f" ({col}'s equity fell to {money(vals[col].min())} on "
                f"{pd.Timestamp(eq['date'].iloc[at]):%Y-%m-%d})"
            )
        out.append(
            (
                "ruined",
                f"RUINED: an account's equity fell to zero or below{low}; its position was "
                "closed there and its later signals were skipped.",
            )
        )
    return out


def events_of(run: RunFolder) -> pd.DataFrame | None:
    """Event attributes (event_id, name, org, kind, tags) from the folder, if it has them."""
    cols = ["name", "org", "kind", "tags"]
    ev = run.get("events")
    if ev is not None and "event_id" not in ev.columns and "id" in ev.columns:
        ev = ev.rename(columns={"id": "event_id"})
    if ev is not None and "event_id" in ev.columns:
        return ev[["event_id", *[c for c in cols if c in ev.columns]]].drop_duplicates("event_id")
    sig = run.get("signals")
    if sig is not None and any(c in sig.columns for c in cols):
        keep = ["event_id", *[c for c in cols if c in sig.columns]]
        return sig[keep].drop_duplicates("event_id")
    return None


def per_event(run: RunFolder) -> pd.DataFrame | None:
    """One row per trade with its event's reaction session, attributes, AR on day 0 and CAR.

    Built once per run folder (three sections and every retry of a smaller page read it);
    each call returns its own copy."""
    if "per_event" not in run.derived:
        run.derived["per_event"] = _per_event(run)
    t = run.derived["per_event"]
    return None if t is None else t.copy()


def _per_event(run: RunFolder) -> pd.DataFrame | None:
    trades = run.get("trades")
    if trades is None:
        return None
    t = trades.copy()
    sig = run.get("signals")
    if sig is not None and "reaction_session" in sig.columns:
        rs = sig[["event_id", "ticker", "reaction_session"]].drop_duplicates(["event_id", "ticker"])
        t = t.merge(rs, on=["event_id", "ticker"], how="left")
    ev = events_of(run)
    if ev is not None:
        t = t.merge(ev, on="event_id", how="left")
    es = run.get("event_study")
    if es is not None and len(es):
        ar0 = es[es["day"] == 0][["event_id", "ticker", "ar"]].rename(columns={"ar": "ar0"})
        last = es.sort_values("day").groupby(["event_id", "ticker"], sort=False).tail(1)
        car = last[["event_id", "ticker", "car"]]
        t = t.merge(
            ar0.drop_duplicates(["event_id", "ticker"]), on=["event_id", "ticker"], how="left"
        )
        t = t.merge(
            car.drop_duplicates(["event_id", "ticker"]), on=["event_id", "ticker"], how="left"
        )
    return t


def session_sort(df: pd.DataFrame) -> pd.DataFrame:
    key = "entry_session" if "entry_session" in df.columns else df.columns[0]
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def bench_series(run: RunFolder) -> tuple[pd.Series | None, str | None]:
    name = (run.manifest.get("data") or {}).get("benchmark") or (
        (run.config.get("data") or {}).get("benchmark")
    )
    b = run.get("benchmark")
    if b is None or not {"date", "close"} <= set(b.columns):
        return None, name
    if "ticker" in b.columns and b["ticker"].nunique() > 1 and name:
        b = b[b["ticker"] == name]
    if "ticker" in b.columns and not name and len(b):
        name = str(b["ticker"].iloc[0])
    s = b.set_index(pd.to_datetime(b["date"]))["close"].astype(float).sort_index()
    return s, name


def buy_and_hold(close: pd.Series) -> dict[str, float]:
    """The benchmark's buy and hold in the engine's conventions (evbt.backtest.metrics)."""
    from evbt.backtest import metrics as m

    e = close.to_numpy(dtype=float)
    r = m.simple_returns(e)
    cagr = m.cagr(e, close.index.to_numpy())
    mdd = m.max_drawdown(e)
    return {
        "total_return": m.total_return(e),
        "cagr": cagr,
        "ann_vol": m.ann_vol(r),
        "sharpe": m.sharpe(r),
        "sortino": m.sortino(r),
        "max_drawdown": mdd,
        "calmar": m.calmar(cagr, mdd),
        "exposure": 1.0,
    }


class Page:
    """The page being built: its sections, the figures to draw, what was left out."""

    def __init__(self, scale: float = 1.0) -> None:
        self.sections: list[Section] = []
        self.left_out: list[tuple[str, str]] = []
        self.figures: list[tuple[str, str]] = []
        self.panels = max(4, int(MAX_PANELS * scale))
        self.panels_total = max(8, int(MAX_PANELS_TOTAL * scale))
        self.slices = max(2, int(MAX_SLICES * scale))
        self.rows = max(50, int(MAX_ROWS * scale))

    def fig(self, fig: Any) -> str:
        """A placeholder div of the figure's height; the figure is drawn after first paint."""
        from evbt.report.figures import spec

        fid = f"fig-{len(self.figures) + 1}"
        self.figures.append((fid, spec(fig)))
        h = int(fig.layout.height or 450)
        return (
            f'<div class="fig"><div id="{fid}" class="plotly-graph-div" style="height:{h}px">'
            '<div class="wait">chart: drawn once the page has loaded</div></div></div>'
        )

    def add(self, anchor: str, title: str, body: str) -> None:
        self.sections.append(Section(anchor, title, body))

    def skip(self, title: str, why: str) -> None:
        self.left_out.append((title, why))


def cards(items: Sequence[tuple[str, ...]]) -> str:
    """Headline cards: (value, label[, "good" | "bad"])."""
    out = []
    for it in items:
        v, k = it[0], it[1]
        tone = f" {it[2]}" if len(it) > 2 and it[2] else ""
        out.append(
            f'<div class="card{tone}"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'
