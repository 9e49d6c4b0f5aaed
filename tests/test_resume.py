"""``--resume`` finishes only its own sweep, and grid faults come before any work (issue 19).

An interrupted sweep is made by stopping the chunk loop after two parts (an exception in
the sink, as a kill would leave it: the parts written, the partial manifest in place). Each
test then changes one thing that decides the result (the config, the price data, the
catalog, the code version) or damages the partial manifest, and checks that ``--resume``
refuses in one line naming what differs and leaves the partial folder byte for byte as it
was; the unchanged run resumes to the table of an uninterrupted one.

Prices: the bundled SYNTHETIC sample, written to a CSV so a test can edit it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from evbt import api, parts, store
from evbt.errors import InputError
from evbt.strategies.config import from_dict, load_config
from evbt.strategies.grid import MAX_COMBOS, Grid, check_size, sweep_spec

CATALOG = Path(api.__file__).resolve().parents[1] / "data" / "events" / "catalog.csv"

CONFIG = """\
[data]
source = "file"
prices = "prices.csv"
events = "catalog.csv"
start = "2024-06-03"
end = "2025-12-31"

[strategy]
name = "launch_shock"
tickers = ["NVDA", "AMD"]

[study]
enabled = false

[sweep]
entry_offset = [0, 1, 2]
hold = [1, 3, 5, 8]
stop_loss = ["none", 0.05]
direction = ["long", "short"]
blocks = 8
wf_blocks = 3
"""
CHUNK = 10  # 48 combinations in 5 parts


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A config, its prices (the sample's, as a file) and its catalog (the bundled one)."""
    from evbt.data.sources import load_prices

    monkeypatch.setenv("EVBT_CATALOG", str(tmp_path / "no-user-catalog.csv"))
    monkeypatch.delenv("EVBT_RESULTS", raising=False)
    prices = load_prices(["NVDA", "AMD", "SMH"], "2024-06-03", "2025-12-31", source="sample")
    prices.to_csv(tmp_path / "prices.csv", index=False)
    shutil.copy(CATALOG, tmp_path / "catalog.csv")
    (tmp_path / "run.toml").write_text(CONFIG)
    return tmp_path


class Stop(Exception):
    """Stands for a kill: raised by the sink after some parts."""


def interrupted(monkeypatch, cfg_path: Path, root: Path, after: int = 2) -> Path:
    """Run the sweep until ``after`` parts are written, then stop it; the partial folder."""
    import evbt.backtest.executor as ex

    real = ex.run_chunks

    def run_chunks(inp, todo, sink, **kw):
        seen = []

        def stop_after(i, lo, hi, *payload):
            sink(i, lo, hi, *payload)
            seen.append(i)
            if len(seen) == after:
                raise Stop

        return real(inp, todo, stop_after, **kw)

    with monkeypatch.context() as m:
        m.setattr(ex, "run_chunks", run_chunks)
        with pytest.raises(Stop):
            api.sweep(load_config(cfg_path), out=root, progress=False, chunk_size=CHUNK)
    found = list((root / ".partial").iterdir())
    assert len(found) == 1 and len(parts.done_parts(found[0])) == after
    return found[0]


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def refused(cfg, root: Path, partial: Path, *needles: str, **kw) -> str:
    """``--resume`` of ``cfg`` is one InputError line naming ``needles``; the partial
    folder is unchanged."""
    before = tree(partial)
    with pytest.raises(InputError) as e:
        api.sweep(cfg, out=root, progress=False, resume=True, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    for n in needles:
        assert n in msg, msg
    assert tree(partial) == before
    return msg


# ------------------------------------------------------------------ the same run resumes


def test_the_same_run_resumes_to_the_table_of_an_uninterrupted_one(folder, monkeypatch):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    cfg = load_config(folder / "run.toml")
    res = api.sweep(cfg, out=root, progress=False, resume=True)
    assert res.manifest["resumed"] is True and res.run_dir.name == partial.name
    assert res.manifest["estimate"]["n_todo"] == 48 - 2 * CHUNK
    clean = api.sweep(cfg, out=folder / "clean", progress=False, chunk_size=CHUNK)
    pd.testing.assert_frame_equal(res.table(), clean.table())
    pd.testing.assert_frame_equal(res.blocks(), clean.blocks())
    pd.testing.assert_frame_equal(
        res.summary.reset_index(drop=True), clean.summary.reset_index(drop=True)
    )
    assert not (root / ".partial").exists()


def test_a_damaged_part_is_computed_again(folder, monkeypatch):
    """A part file truncated after it was written (or a stray name) does not count as done:
    --resume computes it again and the table is the uninterrupted one."""
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    first = partial / "sweep" / "parts" / parts.part_name(0)
    first.write_bytes(first.read_bytes()[:100])
    (partial / "sweep" / "parts" / "part-x.parquet").write_bytes(b"stray")
    assert parts.done_parts(partial) == {1}
    cfg = load_config(folder / "run.toml")
    res = api.sweep(cfg, out=root, progress=False, resume=True)
    clean = api.sweep(cfg, out=folder / "clean", progress=False, chunk_size=CHUNK)
    pd.testing.assert_frame_equal(res.table(), clean.table())
    pd.testing.assert_frame_equal(res.blocks(), clean.blocks())


# ----------------------------------------------- each thing that differs is refused


def test_a_partial_folder_moved_under_another_config_is_refused(folder, monkeypatch):
    """The issue's case: the parts of one sweep renamed to another config's run id."""
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    other = folder / "other.toml"
    other.write_text(CONFIG.replace("hold = [1, 3, 5, 8]", "hold = [2, 3, 5, 8]"))
    cfg = load_config(other)
    rid = api.sweep_inputs(cfg).head["run_id"]
    moved = partial.parent / rid
    partial.rename(moved)
    msg = refused(cfg, root, moved, "the config changed since the interrupted sweep", "--force")
    assert msg.startswith(str(moved))


def test_changed_prices_are_refused(folder, monkeypatch):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    prices = pd.read_csv(folder / "prices.csv")
    cols = ["open", "high", "low", "close"]
    prices.loc[10, cols] = prices.loc[10, cols] * 1.01  # one bar, still a valid bar
    prices.to_csv(folder / "prices.csv", index=False)
    refused(load_config(folder / "run.toml"), root, partial, "the price data changed")


def test_a_changed_catalog_is_refused(folder, monkeypatch):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    text = (folder / "catalog.csv").read_text()
    (folder / "catalog.csv").write_text(text.replace("DeepSeek-R1", "DeepSeek-R1 (edited)", 1))
    msg = refused(load_config(folder / "run.toml"), root, partial, "the catalog changed")
    assert "hash" in msg and " vs " in msg


def test_a_changed_config_file_is_refused(folder, monkeypatch):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    (folder / "run.toml").write_text(CONFIG.replace("blocks = 8", "blocks = 6"))
    refused(load_config(folder / "run.toml"), root, partial, "the config changed")


def test_another_code_version_is_refused(folder, monkeypatch):
    import evbt.manifest as mf

    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    monkeypatch.setattr(mf, "code_version", lambda: "9.9.9+abcdef0")
    refused(load_config(folder / "run.toml"), root, partial, "code version changed", "9.9.9")


# ------------------------------------------------ a damaged partial manifest is named


def _damage(text: str | None):
    def fn(pm: Path) -> None:
        if text is None:
            pm.unlink()
        else:
            pm.write_text(text)

    return fn


def _drop_key(key: str):
    def fn(pm: Path) -> None:
        man = json.loads(pm.read_text())
        man.pop(key)
        pm.write_text(json.dumps(man))

    return fn


def _set_key(key: str, value):
    def fn(pm: Path) -> None:
        man = json.loads(pm.read_text())
        man[key] = value
        pm.write_text(json.dumps(man))

    return fn


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_damage("{x"), "damaged (JSONDecodeError)"),
        (_damage(""), "damaged"),
        (_damage("[1, 2]"), "not a JSON object"),
        (_damage(None), "missing"),
        (_drop_key("catalog"), "no 'catalog' entry"),
        (_set_key("data", "x"), "malformed"),
        (_set_key("chunk_size", "ten"), "chunk_size = 'ten'"),
        (_set_key("chunk_size", 0), "chunk_size = 0"),
    ],
    ids=[
        "truncated",
        "empty",
        "array",
        "missing",
        "no-catalog",
        "data-text",
        "chunk-text",
        "chunk-0",
    ],
)
def test_a_damaged_partial_manifest_is_named_and_refused(folder, monkeypatch, damage, needle):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    damage(partial / store.PARTIAL_MANIFEST)
    msg = refused(load_config(folder / "run.toml"), root, partial, needle, "--force")
    assert store.PARTIAL_MANIFEST in msg


def test_force_starts_over_after_a_refusal(folder, monkeypatch):
    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    _damage("{x")(partial / store.PARTIAL_MANIFEST)
    cfg = load_config(folder / "run.toml")
    res = api.sweep(cfg, out=root, progress=False, force=True, chunk_size=CHUNK)
    assert res.manifest["resumed"] is False and len(res.summary) == 48


def test_the_cli_refusal_is_one_line_exit_2(folder, monkeypatch, capsys):
    from evbt.cli import main

    root = folder / "results"
    partial = interrupted(monkeypatch, folder / "run.toml", root)
    (folder / "catalog.csv").write_text(
        (folder / "catalog.csv").read_text().replace("DeepSeek-R1", "DeepSeek R1", 1)
    )
    before = tree(partial)
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(["sweep", "run.toml", "--out", "results", "--resume", "--no-report"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "the catalog changed since the interrupted sweep" in err[0]
    assert "run without --resume" in err[0]
    assert tree(partial) == before


# ------------------------------------------------------ grid size: before any work


def test_a_billion_combinations_are_refused_before_anything_is_loaded(folder, monkeypatch):
    """10^9 combinations: refused by the size limit, before the catalog or prices are read
    and without an array sized by the grid (peak memory of the refusal under 20 MB)."""
    big = (
        "[sweep]\nentry_offset = { start = 0, stop = 999 }\nhold = { start = 1, stop = 1000 }\n"
        "fees = { start = 0.0, stop = 0.0999, step = 0.0001 }\n"
    )
    (folder / "big.toml").write_text(CONFIG.split("[sweep]")[0] + big)
    cfg = load_config(folder / "big.toml")
    assert sweep_spec(cfg.sweep).n_combos == 10**9

    def never(*a, **k):
        raise AssertionError("loaded inputs for a refused sweep")

    monkeypatch.setattr(api, "sweep_inputs", never)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as e:
            api.sweep(cfg, out=folder / "results", progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    assert "1,000,000,000 combinations" in msg and f"{MAX_COMBOS:,}" in msg
    assert "--max-combos" in msg and "--yes" in msg
    assert peak < 20e6, peak  # the grid would be 8 GB per column
    assert not (folder / "results").exists()


def test_with_max_combos_a_billion_would_start(folder, monkeypatch):
    """Raised limit: the sweep goes on to load its inputs (stopped right there: not run),
    and the grid makes any chunk of it on demand."""
    big = (
        "[sweep]\nentry_offset = { start = 0, stop = 999 }\nhold = { start = 1, stop = 1000000 }\n"
    )
    (folder / "big.toml").write_text(CONFIG.split("[sweep]")[0] + big)
    cfg = load_config(folder / "big.toml")

    class Started(Exception):
        pass

    def started(*a, **k):
        raise Started

    monkeypatch.setattr(api, "sweep_inputs", started)
    with pytest.raises(Started):
        api.sweep(cfg, out=folder / "results", progress=False, max_combos=10**9)
    spec = sweep_spec(cfg.sweep)
    assert check_size("x", spec, max_combos=10**9) == 10**9
    tail = Grid(spec).rows(10**9 - 2, 10**9)  # the last two, made alone
    assert tail["combo_id"].tolist() == [10**9 - 2, 10**9 - 1]
    assert tail["entry_offset"].tolist() == [999, 999]
    assert tail["hold"].tolist() == [999_999, 1_000_000]


def test_a_random_draw_from_a_huge_grid_holds_only_its_samples():
    raw = {
        "sweep": {
            "entry_offset": {"start": 0, "stop": 999},
            "hold": {"start": 1, "stop": 1000},
            "fees": {"start": 0.0, "stop": 0.0999, "step": 0.0001},
            "method": "random",
            "samples": 1000,
            "seed": 3,
        }
    }
    grid = Grid(sweep_spec(from_dict(raw).sweep))
    ids = grid.ids()
    assert len(ids) == 1000 and len(set(ids.tolist())) == 1000 and ids.max() < 10**9
    assert (ids[1:] > ids[:-1]).all()
    again = Grid(sweep_spec(from_dict(raw).sweep)).rows(0, 5)  # the seed decides the draw
    pd.testing.assert_frame_equal(grid.rows(0, 5), again)


def test_the_sweep_announces_its_size_time_and_output(folder, capsys):
    cfg = load_config(folder / "run.toml")
    res = api.sweep(cfg, out=folder / "results", progress=False, chunk_size=CHUNK)
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("sweep ")]
    assert len(err) == 1 and "48 combinations; estimated" in err[0], err
    est = res.manifest["estimate"]
    assert est["n_combos"] == est["n_todo"] == 48 and est["calibrated_on"] == 48
    written = sum(p.stat().st_size for p in (res.run_dir / "sweep").rglob("*.parquet"))
    # the size estimate extrapolates from the calibration run's own part files: it is of
    # the right order (within a factor of 2 of what was written)
    assert written / 2 < est["bytes"] < written * 2, (est, written)
