"""The CLI contract: help, exit codes (0 ok, 2 bad input, 1 internal), one-line errors,
no traceback without --debug, and nothing half-written on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evbt.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "launch_shock.toml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["backtest"],
        ["signals"],
        ["study"],
        ["data"],
        ["data", "show"],
        ["data", "fetch"],
        ["data", "validate"],
        ["events"],
    ],
)
def test_help_for_every_command(capsys, args):
    code, out, _ = run(capsys, *args, "--help")
    assert code == 0
    assert "Usage: evbt" in out


def test_data_show_sample_says_synthetic(capsys):
    code, out, _ = run(capsys, "data", "show", "NVDA", "--source", "sample")
    assert code == 0
    assert "2018-01-02 to 2026-09-30" in out
    assert "SYNTHETIC" in out


def test_data_show_json(capsys):
    code, out, _ = run(capsys, "data", "show", "NVDA", "--source", "sample", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["synthetic"] is True and d["first"] == "2018-01-02"


def _cfg(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "cfg.toml"
    p.write_text(body)
    return p


BASE = """
[data]
source = "sample"
benchmark = "SMH"
[strategy]
name = "launch_shock"
{strategy}
[costs]
{costs}
[portfolio]
{portfolio}
[study]
placebo = 50
bootstrap = 50
[output]
dir = "{out}"
"""


def _body(tmp_path, strategy="", costs="", portfolio="", data=""):
    body = BASE.format(
        strategy=strategy, costs=costs, portfolio=portfolio, out=(tmp_path / "out").as_posix()
    )
    if data:
        body = body.replace('source = "sample"', data)
    return body


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"strategy": 'tickers = ["NVDX"]'}, "NVDX"),
        ({"strategy": "stop_loss = 0.0"}, "stop_loss"),
        ({"strategy": "stop_loss = -0.05"}, "stop_loss"),
        ({"costs": "fees = 1.0"}, "fees"),
        ({"portfolio": "init_cash = 0"}, "init_cash"),
        ({"portfolio": "init_cash = -5"}, "init_cash"),
        ({"strategy": "hodl = 3"}, "did you mean 'hold'"),
        ({"data": 'source = "sample"\nstart = "2030-01-01"'}, "no NVDA prices"),
        ({"data": 'source = "file"\nprices = "/nonexistent/prices.parquet"'}, "prices.parquet"),
    ],
)
def test_backtest_bad_input_exit_2_one_line_nothing_written(capsys, tmp_path, kw, needle):
    cfg = _cfg(tmp_path, _body(tmp_path, **kw))
    code, out, err = run(capsys, "backtest", str(cfg))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in err
    out_dir = tmp_path / "out"
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_debug_shows_traceback(tmp_path):
    cfg = _cfg(tmp_path, _body(tmp_path, costs="fees = 1.0"))
    from evbt.errors import InputError

    with pytest.raises(InputError):
        main(["--debug", "backtest", str(cfg)])


def test_backtest_writes_results_and_manifest(capsys, tmp_path):
    cfg = _cfg(tmp_path, _body(tmp_path))
    code, out, err = run(capsys, "backtest", str(cfg), "--json")
    assert code == 0, err
    res = json.loads(out)
    folder = Path(res["results"])
    names = {p.name for p in folder.iterdir()}
    assert {"trades.parquet", "equity.parquet", "metrics.parquet", "manifest.json"} <= names
    assert {"event_study.parquet", "study_summary.parquet"} <= names
    man = json.loads((folder / "manifest.json").read_text())
    assert man["data"]["synthetic"] is True
    assert "SYNTHETIC" in man["data"]["source"]
    assert man["signals"]["allow_lookahead"] is False
    trades = pd.read_parquet(folder / "trades.parquet")
    metrics = pd.read_parquet(folder / "metrics.parquet")
    assert (
        int(metrics.set_index("scope").loc["total", "n_trades"])
        == len(trades)
        == man["signals"]["n_trades"]
    )
    # a rerun of the same work lands in the same folder (config id + data hash)
    code2, out2, _ = run(capsys, "backtest", str(cfg), "--json")
    assert code2 == 0 and json.loads(out2)["results"] == res["results"]
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name != ".assets"] == [folder.name]


def test_backtest_summary_flags_synthetic_and_lookahead(capsys, tmp_path):
    cfg = _cfg(tmp_path, _body(tmp_path, strategy="entry_offset = -1\nallow_lookahead = true"))
    code, out, err = run(capsys, "backtest", str(cfg))
    assert code == 0, err
    assert "SYNTHETIC DATA" in out
    assert "LOOKAHEAD ALLOWED" in out


def test_study_command_writes_tables(capsys, tmp_path):
    cfg = _cfg(tmp_path, _body(tmp_path))
    code, out, err = run(capsys, "study", str(cfg), "--json")
    assert code == 0, err
    res = json.loads(out)
    folder = Path(res["results"])
    panel = pd.read_parquet(folder / "event_study.parquet")
    summary = pd.read_parquet(folder / "study_summary.parquet")
    assert {"event_id", "ticker", "day", "ar", "car"} <= set(panel.columns)
    assert {"caar", "p_cs", "p_patell", "p_bmp", "p_corrado", "p_gsign", "placebo_p"} <= set(
        summary.columns
    )
    assert res["manifest"]["data"]["synthetic"] is True


GOOD_ROWS = [
    ("2025-01-21", "NVDA", 140.0, 142.0, 139.0, 141.0, 1e6),
    ("2025-01-22", "NVDA", 141.0, 148.0, 140.5, 147.0, 1e6),
    ("2025-01-23", "NVDA", 147.0, 148.0, 144.0, 147.2, 1e6),
]


def _price_csv(tmp_path: Path, rows, header="date,ticker,open,high,low,close,volume") -> Path:
    p = tmp_path / "prices.csv"
    p.write_text(header + "\n" + "\n".join(",".join(str(x) for x in r) for r in rows) + "\n")
    return p


@pytest.mark.parametrize(
    ("rows", "header", "needles"),
    [
        ([r[:5] + r[6:] for r in GOOD_ROWS], "date,ticker,open,high,low,volume", ["close"]),
        ([*GOOD_ROWS, GOOD_ROWS[-1]], None, ["NVDA", "duplicate", "2025-01-23"]),
        ([GOOD_ROWS[1], GOOD_ROWS[0], GOOD_ROWS[2]], None, ["NVDA", "2025-01-21", "sort"]),
        (
            [GOOD_ROWS[0], ("2025-01-22", "NVDA", 141.0, 140.0, 139.0, 141.5, 1e6)],
            None,
            ["NVDA", "2025-01-22", "high"],
        ),
        (
            [GOOD_ROWS[0], ("2025-01-22", "NVDA", 141.0, 142.0, 141.2, 141.5, 1e6)],
            None,
            ["NVDA", "2025-01-22", "low"],
        ),
        (
            [GOOD_ROWS[0], ("2025-01-22", "NVDA", 0.0, 142.0, 0.0, 141.5, 1e6)],
            None,
            ["NVDA", "2025-01-22", "> 0"],
        ),
        (
            [GOOD_ROWS[0], ("2025-01-22", "NVDA", "", 142.0, 140.0, 141.5, 1e6)],
            None,
            ["NVDA", "2025-01-22", "missing"],
        ),
        (
            [GOOD_ROWS[0], ("22/01/2025x", "NVDA", 141.0, 142.0, 140.0, 141.5, 1e6)],
            None,
            ["NVDA", "date"],
        ),
        (
            [GOOD_ROWS[0], ("2025-01-22", "NVDA", "abc", 142.0, 140.0, 141.5, 1e6)],
            None,
            ["NVDA", "2025-01-22", "open"],
        ),
    ],
    ids=[
        "missing-column",
        "duplicate",
        "unsorted",
        "high",
        "low",
        "non-positive",
        "partial-nan",
        "bad-date",
        "not-a-number",
    ],
)
def test_data_validate_errors_exit_2_one_line(capsys, tmp_path, rows, header, needles):
    path = _price_csv(tmp_path, rows, header or "date,ticker,open,high,low,close,volume")
    before = path.read_bytes()
    code, out, err = run(capsys, "data", "validate", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] or path.name in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert lines[0].count(":") >= 2  # "error: <where>: <what>: <fix>"
    assert out == ""
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.csv"]


def test_data_validate_good_file_and_halts(capsys, tmp_path):
    rows = [*GOOD_ROWS, ("2025-01-24", "NVDA", "", "", "", "", 0)]
    path = _price_csv(tmp_path, rows)
    code, out, _ = run(capsys, "data", "validate", str(path))
    assert code == 0
    assert "1 tickers, 3 rows" in out and "1 halted rows dropped" in out


# ---------------------------------------------------------------- exit codes keep their promise


def test_json_keeps_infinities_as_strings_never_null():
    """Regression: --json turned inf into null silently."""
    import numpy as np

    from evbt.cli._common import frame_records, json_safe

    doc = json_safe({"pf": float("inf"), "x": [np.float64("-inf"), float("nan"), np.int64(2)]})
    assert doc == {"pf": "inf", "x": ["-inf", None, 2]}
    recs = frame_records(pd.DataFrame({"pf": [np.inf, 1.5, np.nan], "n": [1, 2, 3]}))
    assert [r["pf"] for r in recs] == ["inf", 1.5, None]


def test_emit_json_is_strict_json(capsys):
    from evbt.cli._common import emit_json

    emit_json({"a": float("inf"), "b": float("-inf"), "c": float("nan")})
    text = capsys.readouterr().out
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}")) == {
        "a": "inf",
        "b": "-inf",
        "c": None,
    }


@pytest.mark.parametrize(
    "args, needle",
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["data", "show"], "Missing argument 'TICKER'"),
        (["data", "show", "NVDA", "--tail", "x"], "--tail"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "--help" in lines[0]


@pytest.mark.parametrize(
    "code_, needle",
    [
        (28, "no space left on the device"),  # ENOSPC
        (13, "permission denied"),  # EACCES
        (30, "read-only file system"),  # EROFS
        (20, "is a file, not a folder"),  # ENOTDIR
    ],
)
def test_os_errors_exit_2_naming_the_path(capsys, monkeypatch, tmp_path, code_, needle):
    """An environment fault (a full disk, a folder we may not write) is exit 2, not a bug."""
    import os

    from evbt.cli import data as data_cli

    path = _price_csv(tmp_path, GOOD_ROWS)

    def boom(_file):
        raise OSError(code_, os.strerror(code_), str(tmp_path / "x" / "trades.parquet"))

    monkeypatch.setattr("evbt.data.files.read_prices", boom)
    assert data_cli  # the command imports read_prices at call time, so the patch applies
    code, out, err = run(capsys, "data", "validate", str(path))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "x" / "trades.parquet") in lines[0]
    assert needle in lines[0]


def test_backtest_of_a_sweep_config_points_to_evbt_sweep(capsys, tmp_path):
    """Regression: `evbt backtest` on a [sweep] config silently ran one combination."""
    cfg = _cfg(tmp_path, _body(tmp_path) + "\n[sweep]\nhold = [3, 5]\n")
    code, out, err = run(capsys, "backtest", str(cfg))
    assert code == 2
    assert err.count("\n") == 1 and f"evbt sweep {cfg}" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_empty_config_is_an_error_not_a_default_strategy(capsys, tmp_path, text):
    cfg = _cfg(tmp_path, text)
    code, out, err = run(capsys, "backtest", str(cfg))
    assert code == 2 and "the config is empty" in err and err.count("\n") == 1


def test_config_that_is_not_utf8_is_exit_2(capsys, tmp_path):
    p = tmp_path / "cfg.toml"
    p.write_bytes(b'[strategy]\nname = "caf\xe9"\n')
    code, out, err = run(capsys, "backtest", str(p))
    assert code == 2 and "not UTF-8" in err and str(p) in err


def test_suspicious_prices_warn_on_stderr_and_still_exit_0(capsys, tmp_path):
    rows = [
        ("2025-01-21", "NVDA", 140.0, 141.0, 139.0, 140.0, 100),
        ("2025-01-22", "NVDA", 70.0, 71.0, 69.0, 70.5, 100),
    ]
    path = _price_csv(tmp_path, rows)
    code, out, err = run(capsys, "data", "validate", str(path))
    assert code == 0 and out.startswith("ok:")
    assert err.startswith("warning: ") and "NVDA 2025-01-22" in err and "split" in err


# ----------------------------------------------- alerts are delivered at least once (19)

ASOF = ("alerts", "--asof", "2026-02-10")  # a busy day: the February wave and the V4 watch


def _alerts_subprocess(state: Path, stdout) -> tuple[int, str]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "evbt.cli", *ASOF, "--state", str(state)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stderr


def test_alerts_to_a_full_disk_commit_no_state(capsys, tmp_path):
    state = tmp_path / "s.json"
    with open("/dev/full", "w") as full:
        code, err = _alerts_subprocess(state, full)
    assert code == 2 and err.count("\n") == 1, err
    assert "stdout: cannot write the alerts (No space left on device)" in err
    assert not state.exists()  # nothing recorded: the next run reports them all
    code, out, _ = run(capsys, *ASOF)  # without a state: every alert of the day
    n = int(out.split("): ")[1].split(" alerts")[0])
    assert n > 10, out
    code, out, err = run(capsys, *ASOF, "--state", str(state))
    assert code == 0 and f"{n} changes" in out and out.count("\nNEW ") == n, err


def test_alerts_into_a_closed_pipe_commit_no_state(tmp_path):
    import os

    state = tmp_path / "s.json"
    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written
    with os.fdopen(w, "w") as closed:
        code, err = _alerts_subprocess(state, closed)
    assert code == 2 and err.count("\n") == 1, err
    assert "the output was closed early" in err and "Traceback" not in err
    assert not state.exists()


def test_a_failed_print_keeps_the_earlier_state(capsys, tmp_path, monkeypatch):
    state = tmp_path / "s.json"
    code, out, _ = run(capsys, "alerts", "--asof", "2026-02-02", "--state", str(state))
    assert code == 0
    before = state.read_bytes()

    class Full:
        def write(self, s):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", Full())
    code = main([*ASOF, "--state", str(state)])
    monkeypatch.undo()
    assert code == 2 and state.read_bytes() == before
    code, out, _ = run(capsys, *ASOF, "--state", str(state))
    assert code == 0 and "changes" in out  # the news of 02-10 is still news


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ({"k|e|NVDA": {}}, "entry 'k|e|NVDA' lacks strategy"),
        ({"k|e|NVDA": {"strategy": "x"}}, "lacks action"),
        ({"k|e|NVDA": []}, "is list, not an object"),
        ({"k|e|NVDA": "watch"}, "is str, not an object"),
        ({"x": dict.fromkeys(("strategy", "action", "event_id"), 1)}, "lacks status"),
    ],
)
def test_a_malformed_state_entry_is_named_and_changes_nothing(capsys, tmp_path, items, needle):
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"version": 1, "asof": "2026-02-01", "items": items}))
    before = state.read_bytes()
    code, out, err = run(capsys, *ASOF, "--state", str(state))
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert str(state) in err and needle in err
    assert state.read_bytes() == before


def _check_ics(text: str) -> list:
    import datetime as dt

    import icalendar

    raw = text.encode("utf-8")
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in ln for ln in lines)
    assert max(len(ln) for ln in lines) <= 75  # folded at 75 octets
    cal = icalendar.Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    now = dt.datetime.now(dt.UTC)
    for ev in events:
        stamp = ev.decoded("DTSTAMP")
        assert stamp.tzinfo is not None and abs((now - stamp).total_seconds()) < 3600
        assert ev.decoded("DTEND") > ev.decoded("DTSTART")
    return events


def test_ics_with_state_is_the_whole_calendar_every_time(capsys, tmp_path):
    state = tmp_path / "s.json"
    args = (*ASOF, "--state", str(state), "--format", "ics")
    code, first, err = run(capsys, *args)
    assert code == 0, err
    n = len(_check_ics(first))
    assert n > 0
    code, second, err = run(capsys, *args)  # nothing changed: the calendar is still whole
    assert code == 0 and len(_check_ics(second)) == n, err


def test_ics_folds_long_lines_and_escapes_text():
    from evbt.signals.alerts import to_ics

    item = {
        "strategy": "s" * 90 + ";,\\ é😀" * 10,
        "action": "enter",
        "event_id": "e,1",
        "status": "confirmed",
        "ticker": "NVDA",
        "direction": "long",
        "entry_session": "2026-02-10",
        "exit_session": "2026-02-12",
        "window_start": None,
        "window_end": None,
    }
    text = to_ics({"k": item})
    (ev,) = _check_ics(text)
    assert str(ev["SUMMARY"]).startswith(item["strategy"])  # unfolded and unescaped intact


def test_alerts_with_nothing_to_report_say_so_without_state(capsys, tmp_path):
    cat = tmp_path / "c.csv"
    cat.write_text(
        "id,name,org,kind,tags,date,time,tz,tickers,scheduled,status,window_start,window_end,"
        "known_since,fiscal_period,source,confidence,supersedes\n"
        "x-launch,X,X,model_launch,china,2025-03-03,unknown,UTC,NVDA,false,confirmed,,,,,t,"
        "confirmed,\n"
    )
    args = ("alerts", "--asof", "2026-01-05", "--horizon", "7", "--catalog", str(cat))
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert out.strip().endswith("nothing in the next 7 sessions"), out
    code, out, err = run(capsys, *args, "--state", str(tmp_path / "s.json"))
    assert (code, out) == (0, ""), err


# ------------------------------------------------------------- text is text (issue 19)

MARKUP = "[/x] Labs :x: [bold]b[/bold]"
_CAT_HEAD = (
    "id,name,org,kind,tags,date,time,tz,tickers,scheduled,status,window_start,window_end,"
    "known_since,fiscal_period,source,confidence,supersedes\n"
)


def _markup_catalog(tmp_path: Path) -> Path:
    cat = tmp_path / "cat.csv"
    rows = [
        f"x-launch,X [red]model[/red],{MARKUP},model_launch,china;efficiency,2025-03-03,unknown,"
        "UTC,NVDA,false,confirmed,,,,,src [link=x],confirmed,",
        f"y-launch,Y,{MARKUP},model_launch,china;efficiency,2025-06-02,unknown,UTC,NVDA,false,"
        "confirmed,,,,,src,confirmed,",
    ]
    cat.write_text(_CAT_HEAD + "\n".join(rows) + "\n")
    return cat


def test_events_list_prints_markup_like_text_unchanged(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run(capsys, "events", "list", "--catalog", str(_markup_catalog(tmp_path)))
    assert code == 0, err
    assert out.count(MARKUP) == 2 and "❌" not in out


def test_study_prints_an_org_with_markup_unchanged(capsys, tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[data]\nsource = "sample"\nbenchmark = "SMH"\n[strategy]\nname = "launch_shock"\n'
        'tickers = ["NVDA"]\n[study]\nplacebo = 20\nbootstrap = 20\n'
    )
    cat = _markup_catalog(tmp_path)
    out_dir = tmp_path / "res [bold]x[/bold]"
    code, out, err = run(capsys, "study", str(cfg), "--events", str(cat), "--out", str(out_dir))
    assert code == 0, err
    assert "org:[/x]" in out and "Labs :x:" in out and "❌" not in out  # the cell wraps
    assert f"results: {out_dir}" in out.replace("\n", "")


def test_query_values_print_as_written(capsys, tmp_path):
    from test_cli_runs import A, _fake_bt

    root = tmp_path / "results"
    _fake_bt(root, A, hold=1, sharpe=1.0, n_trades=1)
    sql = f"select '{MARKUP}' as v, 'a' || chr(7) || 'b' || chr(27) || '[31mred' as c"
    code, out, err = run(capsys, "runs", "query", sql, "--root", str(root))
    assert code == 0, err
    assert MARKUP in out and "❌" not in out
    assert "a\\x07b\\x1b[31mred" in out and "\x1b" not in out and "\x07" not in out
