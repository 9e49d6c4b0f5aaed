"""The pre-earnings page: a ticker into and out of its reports, with and without a launch
(or a policy event) in the sessions before."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evbt.report.folder import Page, RunFolder, cards
from evbt.report.html import esc, note, para, pval, spct, table

REPORT_LABELS = {
    "event_id": "report", "ticker": "ticker", "report_date": "report date", "time": "time",
    "reaction_session": "reaction session", "runup_ret": "run-up return",
    "runup_ar": "run-up AR", "react0_ret": "day-0 return", "react0_ar": "day-0 AR",
    "react5_ret": "return [0,+5]", "react5_car": "CAR [0,+5]",
    "launch_before": "launch before", "launch_ids": "launches", "policy_before": "policy before",
    "policy_ids": "policy events",
}  # fmt: skip
TEST_LABELS = {
    "window": "window", "split": "split by", "group_a": "group A", "group_b": "group B",
    "n_a": "reports in A", "n_b": "reports in B", "mean_a": "mean A", "mean_b": "mean B",
    "diff": "A − B", "stat": "statistic", "pvalue": "p-value", "test": "test",
}  # fmt: skip
NEXT_LABELS = {
    "role": "role", "event_id": "event", "name": "name", "kind": "kind", "status": "status",
    "date": "date", "time": "time", "window_start": "window from", "window_end": "window to",
    "reaction_session": "reaction session", "sessions_before_report": "sessions before the report",
    "known_at": "known at",
}  # fmt: skip
TESTS = {"welch_t": "Welch's t", "mann_whitney": "Mann-Whitney U", "mannwhitney": "Mann-Whitney U"}
#: The tests table's code words as a reader says them (issue 16, finding 8).
WORDS = {
    "runup": "run-up", "react0": "day-0 reaction", "react5": "reaction, days 0 to +5",
    "launch": "launch", "policy": "policy event",
    "launch_before": "with a launch before", "no_launch": "without",
    "policy_before": "with a policy event before", "no_policy": "without",
}  # fmt: skip


def word(v: Any) -> str:
    """A code word of the tests table in words; others as they are."""
    return WORDS.get(str(v), str(v))


def test_words(v: Any) -> str:
    """The test's name, or why there was none ("too_few (need >= 2 per group)")."""
    t = str(v)
    if t.startswith("too_few"):
        return "none: too few reports (2 per group needed)"
    return TESTS.get(t, t)


def title(run: RunFolder) -> str:
    p = run.config
    t = p.get("ticker") or "?"
    asof = f", as of {p['asof']}" if p.get("asof") else ""
    return f"Pre-earnings: {t} into and out of its reports{asof}"


def preearnings_page(pg: Page, run: RunFolder) -> None:
    from evbt.report.figures import group_box_figure

    names = ("preearnings_reports", "preearnings_tests", "preearnings_next")
    if not any(n in run.tables for n in names):
        pg.skip("Before earnings", "no preearnings_*.parquet in the folder")
        return
    p = run.config
    rep = run.get("preearnings_reports")
    tests = run.get("preearnings_tests")
    nxt = run.get("preearnings_next")
    n = int(p.get("lookback") or 10)
    bench = (
        p.get("benchmark") or (run.manifest.get("data") or {}).get("benchmark") or "the benchmark"
    )
    items = []
    if rep is not None:
        items.append((f"{len(rep)}", "past reports"))
        if "launch_before" in rep.columns:
            k = int(rep["launch_before"].fillna(False).astype(bool).sum())
            items.append((f"{k}", f"with a launch in the {n} sessions before"))
        if "runup_ar" in rep.columns and len(rep):
            items.append((spct(rep["runup_ar"].mean()), "mean run-up AR"))
        if "react0_ar" in rep.columns and len(rep):
            items.append((spct(rep["react0_ar"].mean()), "mean day-0 AR"))
    body = [
        cards(items),
        para(
            f"For each past report: the run-up (the {n} sessions before the reaction session) "
            "and the reaction (day 0, and days 0 to +5), as returns and as abnormal returns "
            f"(AR: the stock's return minus what a market model on {bench} expected); each report "
            "is flagged when a launch or a policy event came in the run-up."
        ),
    ]
    pg.add("summary", "Summary", "".join(body))
    body = []
    if nxt is not None:
        if len(nxt):
            body.append(table(nxt, {"sessions_before_report": "int"}, labels=NEXT_LABELS))
        else:
            body.append(
                para(
                    f"No report of {p.get('ticker', '?')} is known after {p.get('asof', 'the as-of date')}."
                )
            )
        pg.add("next", "Next report", "".join(body))
    body = []
    if tests is not None and len(tests):
        lines = []
        for _, r in tests.iterrows():
            pv = r.get("pvalue")
            reading = (
                "a difference unlikely to be chance at 5%"
                if pd.notna(pv) and float(pv) < 0.05
                else "no difference beyond chance"
            )
            test = str(r.get("test"))
            if test.startswith("too_few"):
                n_a, n_b = r.get("n_a"), r.get("n_b")
                counts = f"{n_a} vs {n_b} reports" if pd.notna(n_a) and pd.notna(n_b) else ""
                reading = f"too few reports to test ({counts}; 2 per group needed)".replace(
                    "(; ", "("
                )
                how = ""
            else:
                how = f" ({test_words(test)}, p = {pval(pv)})"
            lines.append(
                f"<li>{esc(word(r.get('window', '')))}, {esc(word(r.get('group_a', 'A')))} vs "
                f"{esc(word(r.get('group_b', 'B')))}: {esc(spct(r.get('diff')))}"
                f"{esc(how)}: {esc(reading)}.</li>"
            )
        body.append("<ul>" + "".join(lines) + "</ul>")
        fmt: dict[str, Any] = {"diff": "spct", "mean_a": "spct", "mean_b": "spct", "pvalue": "p", "stat": "num",
               "test": test_words, "window": word, "split": word, "group_a": word,
               "group_b": word}  # fmt: skip
        body.append(table(tests, fmt, labels=TEST_LABELS))
    if rep is not None and len(rep) and {"runup_ar", "launch_before"} <= set(rep.columns):
        body.append(
            pg.fig(
                group_box_figure(
                    rep.assign(launch_before=rep["launch_before"].fillna(False).astype(bool)),
                    value="runup_ar",
                    group="launch_before",
                    title=f"abnormal run-up before each report ({n} sessions)",
                    names={True: "launch before", False: "no launch before"},
                )
            )
        )
    if body:
        pg.add("tests", "Does a launch before the report change the run-up?", "".join(body))
    if rep is not None and len(rep):
        fmt2: dict[str, Any] = {
            c: "spct" for c in rep.columns if c.endswith(("_ret", "_ar", "_car"))
        }
        fmt2 |= {
            "launch_before": "yesno",
            "policy_before": "yesno",
            "report_date": "date",
            "reaction_session": "date",
        }
        tone = tuple(c for c in rep.columns if c.endswith(("_ar", "_car")))
        pg.add("reports", "Past reports", table(rep, fmt2, labels=REPORT_LABELS, tone=tone))
    missing = [m for m in names if m not in run.tables]
    if missing:
        pg.skip(
            "Before earnings", f"not in the folder: {', '.join(m + '.parquet' for m in missing)}"
        )
    notes = run.manifest.get("notes") or []
    if notes:
        pg.add("notes", "Notes", "".join(note(str(x)) for x in notes))
