"""`evbt events watch` / `crosscheck` (issue 20): the Hub replayed without the network.

tests/fixtures/hub/replay_2026.json holds the Hub's answers at instants from 2026-01-20 to
2026-04-24, built from the catalog's sourced launch days (see make_replay.py there).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import httpx2
import pandas as pd
import pytest
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import ModelInfo
from hypothesis import given, settings
from hypothesis import strategies as st

from evbt.cli import main
from evbt.data import hub
from evbt.data.calendar import info_instant
from evbt.data.catalog import COLUMNS

FIX = Path(__file__).resolve().parent / "fixtures" / "hub" / "replay_2026.json"
LISTINGS: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(FIX.read_text())["listings"]
ORGS = ["deepseek-ai", "Qwen", "moonshotai", "zai-org", "ByteDance-Seed"]


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


class Replay:
    """The network seam: the recorded answer at ``at``, or ``fail`` (an exception or a
    list of them, one per call)."""

    def __init__(self) -> None:
        self.at = next(iter(LISTINGS))
        self.fail: dict[str, list[BaseException | None]] = {}
        self.calls: list[str] = []

    def __call__(self, org: str, token: str | None) -> list[ModelInfo]:
        self.calls.append(org)
        plan = self.fail.get(org)
        if plan:
            e = plan.pop(0) if len(plan) > 1 else plan[0]
            if e is not None:
                raise e
        return [ModelInfo(**d) for d in LISTINGS[self.at][org]]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    user = tmp_path / "user.csv"
    user.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    monkeypatch.setenv("EVBT_CATALOG", str(user))
    replay = Replay()
    sleeps: list[float] = []
    monkeypatch.setattr(hub, "_list_models", replay)
    monkeypatch.setattr(hub, "_sleep", sleeps.append)
    monkeypatch.setattr(hub, "_now", lambda: pd.Timestamp(replay.at))
    # two strategies: the launch_shock preset as shipped (china AND efficiency), and the
    # same preset selecting Chinese open-weights launches (the February wave's labs)
    shock = tmp_path / "launch_shock.toml"
    shock.write_text(f'[data]\nevents = "{user}"\n[strategy]\nname = "launch_shock"\n')
    wave = tmp_path / "launch_shock_open_weights.toml"
    wave.write_text(
        f'[data]\nevents = "{user}"\n[strategy]\nname = "launch_shock"\n'
        "hold = 2\n"  # GLM-5's position is out before Qwen3.5 (overlap = "skip" otherwise)
        '[strategy.select]\nkind = ["model_launch"]\ntags = ["china", "open_weights"]\n'
    )
    return {
        "user": user,
        "state": tmp_path / "watch.json",
        "alerts": tmp_path / "alerts.json",
        "replay": replay,
        "sleeps": sleeps,
        "configs": [shock, wave],
    }


def _watch(env: dict[str, Any], *extra: str) -> tuple[int, str, str]:
    orgs = [a for o in ORGS for a in ("--org", o)]
    return run("events", "watch", *orgs, "--state", str(env["state"]), *extra)


def _cron(env: dict[str, Any], at: str) -> tuple[list[dict], list[dict]]:
    """One cron run at ``at``: watch, then alerts --state; (rows added, new alerts)."""
    env["replay"].at = at
    code, out, err = _watch(env, "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    asof = pd.Timestamp(at).tz_convert("America/New_York").strftime("%Y-%m-%d")
    cfg = [a for c in env["configs"] for a in ("--config", str(c))]
    code, out, err = run("alerts", "--asof", asof, *cfg, "--state", str(env["alerts"]), "--format", "json")  # fmt: skip
    assert code == 0, err
    changes = json.loads(out)["changes"] if out else []
    return rows, [c for c in changes if c["change"] == "new"]


def test_february_replay_adds_each_launch_at_the_first_listing_after_it(env) -> None:
    added: dict[str, list[dict]] = {}
    alerts: dict[str, list[dict]] = {}
    for at in [a for a in LISTINGS if a <= "2026-03-06T23:59:59Z"]:
        added[at], alerts[at] = _cron(env, at)
    got = {at: [(r["id"], r["date"], r["time"], r["known_since"], r["tags"], r["source"])
                for r in rows] for at, rows in added.items() if rows}  # fmt: skip
    assert got == {
        "2026-01-27T14:00:00Z": [
            ("hub-moonshotai-kimi-k2.5-20260127", "2026-01-27", "14:00", "2026-01-27",
             "china;open_weights", "https://huggingface.co/moonshotai/Kimi-K2.5"),
        ],
        "2026-02-11T14:00:00Z": [
            ("hub-zai-org-glm-5-20260211", "2026-02-11", "14:00", "2026-02-11",
             "china;open_weights", "https://huggingface.co/zai-org/GLM-5"),
        ],
        "2026-02-16T14:00:00Z": [
            ("hub-qwen-qwen3.5-20260216", "2026-02-16", "14:00", "2026-02-16",
             "china;open_weights", "https://huggingface.co/Qwen/Qwen3.5-397B-A17B"),
        ],
    }  # fmt: skip
    for rows in added.values():
        for r in rows:
            assert (r["kind"], r["status"], r["confidence"], r["tz"], r["tickers"]) == (
                "model_launch", "confirmed", "single", "UTC", "",
            )  # fmt: skip
    # grouping: GLM-5 + FP8 one row; Qwen3.5's 397B + FP8 one row, its GGUF a day later none
    state = json.loads(env["state"].read_text())
    assert state["events"]["hub-zai-org-glm-5-20260211"]["repos"] == [
        "zai-org/GLM-5", "zai-org/GLM-5-FP8"]  # fmt: skip
    assert state["events"]["hub-qwen-qwen3.5-20260216"]["repos"] == [
        "Qwen/Qwen3.5-397B-A17B", "Qwen/Qwen3.5-397B-A17B-FP8", "Qwen/Qwen3.5-397B-A17B-GGUF"]  # fmt: skip
    # GLM-5 was created private on 02-04: createdAt kept for review, not the knowledge time
    assert state["repos"]["zai-org/GLM-5"]["created_at"] == "2026-02-04T08:00:00Z"
    assert state["repos"]["zai-org/GLM-5"]["first_seen"] == "2026-02-11T14:00:00Z"
    # alerts: a NEW ENTER in the same cron run, on the reaction session
    news = {at: [(a["strategy"], a["action"], a["event_id"], a["direction"], a["ticker"],
                  a["entry_session"]) for a in cs] for at, cs in alerts.items() if cs}  # fmt: skip
    assert news == {
        "2026-01-27T14:00:00Z": [("launch_shock_open_weights", "enter",
            "hub-moonshotai-kimi-k2.5-20260127", "short", "NVDA", "2026-01-27")],
        "2026-02-11T14:00:00Z": [("launch_shock_open_weights", "enter",
            "hub-zai-org-glm-5-20260211", "short", "NVDA", "2026-02-11")],
        # Presidents' Day: the market is closed, the reaction session is Tuesday
        "2026-02-16T14:00:00Z": [("launch_shock_open_weights", "enter",
            "hub-qwen-qwen3.5-20260216", "short", "NVDA", "2026-02-17")],
    }  # fmt: skip
    # Seedance 2.0 and Doubao 2.0 published no weights: never seen
    assert not any("bytedance" in r["id"] for rows in added.values() for r in rows)
    # the preset as shipped selects china AND efficiency (DeepSeek in the list): April
    rows, new = _cron(env, "2026-04-23T14:00:00Z")
    assert rows == [] and new == []
    rows, new = _cron(env, "2026-04-24T14:00:00Z")
    assert [(r["id"], r["tags"]) for r in rows] == [
        ("hub-deepseek-ai-deepseek-v4-20260424", "china;efficiency;open_weights")
    ]
    assert {(a["strategy"], a["action"], a["entry_session"]) for a in new} == {
        ("launch_shock", "enter", "2026-04-24"),
        ("launch_shock_open_weights", "enter", "2026-04-24"),
    }


def test_first_listing_is_a_baseline_and_reruns_add_nothing(env) -> None:
    env["replay"].at = "2026-02-16T14:00:00Z"
    code, out, _ = _watch(env)
    assert code == 0 and "first listing" in out and "added" not in out
    assert env["user"].read_text().count("\n") == 1  # header only
    code, out, _ = _watch(env)
    assert (code, out) == (0, "")  # quiet for cron
    env["replay"].at = "2026-02-17T14:00:00Z"
    code, out, _ = _watch(env)  # the GGUF of a release first seen in the baseline
    assert code == 0 and "added" in out  # no earlier release to join: a row of its own


def test_dry_run_writes_nothing_and_shows_created_at(env) -> None:
    env["replay"].at = "2026-02-10T14:00:00Z"
    assert _watch(env)[0] == 0
    before = (env["user"].read_bytes(), env["state"].read_bytes())
    env["replay"].at = "2026-02-11T14:00:00Z"
    code, out, _ = _watch(env, "--dry-run", "--json")
    assert code == 0
    res = json.loads(out)
    assert [r["id"] for r in res["rows"]] == ["hub-zai-org-glm-5-20260211"]
    repos = res["releases"][0]["repos"]
    assert repos[0]["created_at"] == "2026-02-04T08:00:00Z"
    assert (env["user"].read_bytes(), env["state"].read_bytes()) == before
    code, out, _ = _watch(env, "--dry-run")
    assert "would add hub-zai-org-glm-5-20260211" in out


def test_interrupted_run_is_repaired_not_added_twice(env, monkeypatch) -> None:
    env["replay"].at = "2026-02-10T14:00:00Z"
    assert _watch(env)[0] == 0
    state_before = env["state"].read_bytes()

    def crash(*a: Any, **k: Any) -> None:
        raise OSError(28, "No space left on device", str(env["state"]))

    env["replay"].at = "2026-02-11T14:00:00Z"
    orig = hub.write_state
    monkeypatch.setattr(hub, "write_state", crash)
    assert _watch(env)[0] == 2  # stopped between the catalog write and the state write
    monkeypatch.setattr(hub, "write_state", orig)
    monkeypatch.setattr(hub, "_now", lambda: pd.Timestamp("2026-02-11T14:20:00Z"))
    assert env["state"].read_bytes() == state_before  # the row is in, the state is not
    assert env["user"].read_text().count("hub-zai-org-glm-5") == 1
    code, out, _ = _watch(env)
    assert code == 0 and "already in the catalog" in out and "added" not in out
    assert env["user"].read_text().count("hub-zai-org-glm-5") == 1
    ev = json.loads(env["state"].read_text())["events"]["hub-zai-org-glm-5-20260211"]
    assert sorted(ev["repos"]) == ["zai-org/GLM-5", "zai-org/GLM-5-FP8"]


def _http(code: int) -> HfHubHTTPError:
    req = httpx2.Request("GET", "https://huggingface.co/api/models")
    return HfHubHTTPError(f"{code} error", response=httpx2.Response(code, request=req))


@pytest.mark.parametrize(
    ("error", "words", "tries"),
    [
        (httpx2.ConnectError("[Errno -2] Name or service not known"), "check the network", 3),
        (_http(429), "rate limited by the Hub (HTTP 429)", 3),
        (_http(503), "the Hub answered HTTP 503", 3),
        (ValueError("Cannot parse 'garbage' as a datetime"), "malformed answer", 3),
        (_http(404), "not found on the Hub", 1),
    ],
    ids=["offline", "429", "503", "malformed", "404"],
)
def test_failures_are_one_line_exit_2_and_touch_nothing(env, error, words, tries) -> None:
    env["replay"].at = "2026-02-10T14:00:00Z"
    assert _watch(env)[0] == 0
    before = (env["user"].read_bytes(), env["state"].read_bytes())
    env["replay"].at = "2026-02-11T14:00:00Z"
    env["replay"].fail["zai-org"] = [error]  # an org listed after others succeeded
    env["replay"].calls.clear()
    code, out, err = _watch(env)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "Hugging Face org zai-org" in err and words in err
    assert "unchanged" in err
    assert env["replay"].calls.count("zai-org") == tries
    assert env["sleeps"][-(tries - 1) or len(env["sleeps"]) :] == [2.0, 4.0][: tries - 1]
    assert (env["user"].read_bytes(), env["state"].read_bytes()) == before


def test_malformed_listing_from_the_library_is_named(env) -> None:
    bad = dict(LISTINGS["2026-02-11T14:00:00Z"]["zai-org"][0], createdAt="garbage")
    env["replay"].at = "2026-02-11T14:00:00Z"
    env["replay"].fail["zai-org"] = [None]
    orig = LISTINGS["2026-02-11T14:00:00Z"]["zai-org"]
    LISTINGS["2026-02-11T14:00:00Z"]["zai-org"] = [bad]
    try:
        code, _, err = _watch(env)
    finally:
        LISTINGS["2026-02-11T14:00:00Z"]["zai-org"] = orig
    assert code == 2 and "malformed answer" in err and not env["state"].exists()


def test_rate_limit_once_then_success_is_retried(env) -> None:
    env["replay"].at = "2026-02-10T14:00:00Z"
    env["replay"].fail["Qwen"] = [_http(429), None]
    code, _, err = _watch(env)
    assert code == 0, err
    assert env["sleeps"] == [2.0] and env["state"].exists()


def test_corrupt_state_fails_before_the_network(env) -> None:
    env["state"].write_text("{oops", encoding="utf-8")
    code, _, err = _watch(env)
    assert code == 2 and "corrupt watch state" in err and env["replay"].calls == []


def test_crosscheck_lists_weights_before_the_announcement(env) -> None:
    env["replay"].at = "2026-03-06T14:00:00Z"
    before = env["user"].read_bytes()
    code, out, err = run("events", "crosscheck", "--org", "deepseek-ai", "--org", "zai-org",
                         "--org", "Qwen", "--org", "moonshotai", "--json")  # fmt: skip
    assert code == 0, err
    by_id = {r["event_id"]: r for r in json.loads(out)}
    v31 = by_id["deepseek-v3.1"]
    assert (v31["first_repo"], v31["days"]) == ("deepseek-ai/DeepSeek-V3.1-Base", -2)
    assert "known_since 2025-08-19" in v31["note"]
    assert by_id["glm-5"]["days"] == -7  # created private a week before: the note says check
    assert by_id["qwen3.5"]["days"] == 0 and by_id["kimi-k2.5"]["days"] == 0
    assert by_id["deepseek-r1-0528"]["first_repo"] == "deepseek-ai/DeepSeek-R1-0528"
    assert by_id["deepseek-v4"]["days"] is None  # not yet on the Hub on 2026-03-06
    code, out, _ = run("events", "crosscheck", "--org", "deepseek-ai")
    assert code == 0 and "deepseek-v3.1 (DeepSeek) catalog 2025-08-21" in out
    assert env["user"].read_bytes() == before  # never edits


def test_release_key_and_grouping_window() -> None:
    k = hub.release_key
    assert k("Qwen3.5-397B-A17B-FP8") == k("Qwen3.5-397B-A17B") == "qwen3.5"
    assert k("DeepSeek-V3.1-Base") == "deepseek-v3.1" != k("DeepSeek-V3.1-Terminus")
    assert k("DeepSeek-R1-0528") == "deepseek-r1" and k("GLM-5-FP8") == "glm-5"
    assert k("DeepSeek-V4-Flash") == k("DeepSeek-V4-Pro") == "deepseek-v4"
    w = hub.WatchedOrg("deepseek-ai", "DeepSeek", True, ("efficiency",))
    orgs = {"deepseek-ai": w}

    def repo(name: str) -> hub.Repo:
        return hub.Repo(f"deepseek-ai/{name}", None, None, "false")

    t0 = pd.Timestamp("2025-01-13T10:00Z")
    s = hub.plan(hub.empty_state(), {"deepseek-ai": []}, orgs, t0).state
    t1 = pd.Timestamp("2025-01-20T10:00Z")
    p1 = hub.plan(s, {"deepseek-ai": [repo("DeepSeek-R1"), repo("DeepSeek-R1-Zero")]}, orgs, t1)
    assert len(p1.rows) == 1  # R1-Zero extends R1: one release
    distill = [repo("DeepSeek-R1-Distill-Qwen-7B")]
    within = hub.plan(p1.state, {"deepseek-ai": distill}, orgs, t1 + pd.Timedelta(days=7))
    assert within.rows == [] and not within.releases[0].new
    later = hub.plan(p1.state, {"deepseek-ai": distill}, orgs, t1 + pd.Timedelta(days=7, seconds=1))
    assert len(later.rows) == 1  # past GROUP_DAYS: a release of its own
    snap = hub.plan(p1.state, {"deepseek-ai": [repo("DeepSeek-R1-0528")]}, orgs,
                    pd.Timestamp("2025-05-28T10:00Z"))  # fmt: skip
    assert [r["id"] for r in snap.rows] == ["hub-deepseek-ai-deepseek-r1-20250528"]


@settings(max_examples=200, deadline=None)
@given(
    seen=st.datetimes(
        min_value=pd.Timestamp("2020-01-02").to_pydatetime(),
        max_value=pd.Timestamp("2026-12-30").to_pydatetime(),
    ),
    names=st.lists(
        st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,6}(-[A-Za-z0-9.]{1,5}){0,3}", fullmatch=True),
        min_size=1,
        max_size=5,
    ),  # fmt: skip
)
def test_rows_never_precede_their_first_sighting(seen, names) -> None:
    w = hub.WatchedOrg("Qwen", "Alibaba", True)
    t = pd.Timestamp(seen).tz_localize("UTC")
    s = hub.plan(hub.empty_state(), {"Qwen": []}, {"Qwen": w}, t - pd.Timedelta(days=1)).state
    repos = [hub.Repo(f"Qwen/{n}", t - pd.Timedelta(days=30), None, "false") for n in names]
    p = hub.plan(s, {"Qwen": repos}, {"Qwen": w}, t)
    assert p.rows  # every new repository is in some release
    for r in p.rows:
        at = pd.Timestamp(f"{r['date']} {r['time']}").tz_localize("UTC")
        assert t <= at < t + pd.Timedelta(minutes=1)
        assert pd.Timestamp(r["known_since"]) >= pd.Timestamp(t.date())
        assert info_instant(r["date"], r["time"], r["tz"]) >= t
