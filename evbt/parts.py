"""A sweep's part files in its run folder (contract C2): the layout the report reads.

``<run folder>/sweep/parts/part-00000.parquet`` holds one row per (combo_id, scope) of
metrics; ``sweep/blocks/part-00000.parquet`` one row per combo_id of time- and event-block
sums. A part is written under a temporary name and renamed, blocks first, so a part file
that exists is complete: ``--resume`` computes only the chunks whose part is missing.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PART_DIGITS = 5
_PART_RE = re.compile(rf"part-[0-9]{{{PART_DIGITS},}}\.parquet")


def part_name(i: int) -> str:
    return f"part-{i:0{PART_DIGITS}d}.parquet"


def _to_parquet(frame: pd.DataFrame, dest) -> None:
    """``frame.to_parquet(dest)`` with dictionary pages only for the columns that repeat
    (the parameters and the scope): Arrow's default tries a dictionary for every column
    and falls back page by page, which doubled the encoding time of a part (0.093 against
    0.046 s of CPU for 110,000 rows, 2026-12-04) for files 10% smaller. Identifiers,
    metrics and the blocks' lists are written plain; the values read back are the same."""
    from evbt.backtest.sweep import METRIC_COLUMNS

    plain = {"combo_id", *METRIC_COLUMNS}
    repeat = [c for c in frame.columns if c not in plain and frame[c].dtype != object]
    frame.to_parquet(dest, index=False, use_dictionary=repeat or False)


def encode(part: pd.DataFrame, blocks: pd.DataFrame) -> tuple[bytes, bytes]:
    """A chunk's ``(part, blocks)`` tables as the bytes of their Parquet files (the bytes
    ``to_parquet(path)`` writes). A Dask task encodes its tables where it computed them: a
    third of the pickled frames' size travels, and the client only writes bytes."""
    import io

    out = []
    for frame in (part, blocks):
        buf = io.BytesIO()
        _to_parquet(frame, buf)
        out.append(buf.getvalue())
    return out[0], out[1]


def _write_atomic(data: pd.DataFrame | bytes, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(4)}")
    try:
        if isinstance(data, bytes):
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            _to_parquet(data, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_part(
    folder: Path, i: int, part: pd.DataFrame | bytes, blocks: pd.DataFrame | bytes
) -> Path:
    """Write part ``i`` under ``folder/sweep``: blocks first, then the part (the marker).
    Each is a table or the Parquet bytes :func:`encode` made of it."""
    sweep = Path(folder) / "sweep"
    (sweep / "parts").mkdir(parents=True, exist_ok=True)
    (sweep / "blocks").mkdir(parents=True, exist_ok=True)
    _write_atomic(blocks, sweep / "blocks" / part_name(i))
    out = sweep / "parts" / part_name(i)
    _write_atomic(part, out)
    return out


def _readable(path: Path) -> bool:
    """True when ``path`` is a Parquet file whose footer reads (not truncated or foreign)."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any unreadable file is a part to compute again
        return False
    return True


def done_parts(folder: Path) -> set[int]:
    """Indices of the complete parts in ``folder`` (temporary files are never read). A part
    counts when its part and blocks files both exist and read as Parquet: one damaged after
    it was written (truncated, replaced) is computed again by ``--resume``."""
    sweep = Path(folder) / "sweep"
    out = set()
    for p in (sweep / "parts").glob("part-*.parquet"):
        if not _PART_RE.fullmatch(p.name):
            continue  # not a name evbt writes
        i = int(p.stem.split("-")[1])
        blocks = sweep / "blocks" / part_name(i)
        if blocks.is_file() and _readable(p) and _readable(blocks):
            out.add(i)
    return out


def clean_tmp(folder: Path) -> None:
    """Remove the temporary files a killed writer left in ``folder``'s part folders."""
    for sub in ("parts", "blocks"):
        for p in (Path(folder) / "sweep" / sub).glob(".tmp-*"):
            p.unlink(missing_ok=True)


def part_files(folder: Path, what: str) -> list[Path]:
    """The part files (``parts`` or ``blocks``) of a sweep folder, in order; names evbt did
    not write (``part-x.parquet``) are not parts."""
    found = (Path(folder) / "sweep" / what).glob("part-*.parquet")
    return sorted(p for p in found if _PART_RE.fullmatch(p.name))


def read_table(run_folder: str | os.PathLike[str], what: str = "parts") -> pd.DataFrame:
    """All parts (``"parts"``) or block sums (``"blocks"``) of a sweep folder, in order."""
    files = part_files(Path(run_folder), what)
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


Decoded = dict[str, Any]
"""What the summary reads of one part: ``{"totals": Arrow table of its total-scope rows,
"ids": combo ids, "blocks": {name: 2-D array}}`` (:func:`decode`)."""


def _source(x: bytes | Path) -> Any:
    import pyarrow as pa

    return pa.BufferReader(x) if isinstance(x, bytes) else x


BLOCK_SUMS = ("tb_sum", "tb_sumsq", "tb_n", "eb_ret", "eb_n")
"""The blocks table's columns the summary reads, each a list of equal length per row."""


def pack(part: pd.DataFrame, blocks: pd.DataFrame) -> tuple[bytes, bytes, bytes]:
    """A chunk as the sweep's sink takes it: the bytes of its two files (:func:`encode`)
    and its total-scope rows as an Arrow IPC stream (LZ4), made where the chunk was
    computed (a Dask worker, or the local writer thread). :func:`unpack` reads what the
    summary needs from the last two without a scan of the part: decoding the part files'
    bytes took 0.5 s of the client's CPU for S2's 32 parts while its workers computed,
    unpacking takes 0.1 s; the IPC stream adds about 0.4 MB to a task's 2.7 MB of Parquet
    (S2, tasks of 3,168 combinations, 2026-12-05)."""
    import pyarrow as pa

    totals = pa.Table.from_pandas(part[part["scope"] == "total"], preserve_index=False)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, totals.schema, options=options) as writer:
        writer.write_table(totals)
    return (*encode(part, blocks), sink.getvalue().to_pybytes())


def _decoded(totals: Any, blocks: Any) -> Decoded:
    """The summary's inputs from the total-scope rows and the blocks table (Arrow)."""
    n = blocks.num_rows
    arrays = {
        name: blocks.column(name).combine_chunks().flatten().to_numpy().reshape(n, -1)
        for name in BLOCK_SUMS
    }
    return {"totals": totals, "ids": blocks.column("combo_id").to_numpy(), "blocks": arrays}


def unpack(blocks: bytes, totals: bytes) -> Decoded:
    """What :func:`decode` reads of a part's files, from the blocks file's bytes and the
    total-scope rows :func:`pack` streamed: the same tables and arrays (tests/test_sweep.py
    compares the two), without reading the part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return _decoded(pa.ipc.open_stream(totals).read_all(), pq.read_table(_source(blocks)))


def decode(part: bytes | Path, blocks: bytes | Path) -> Decoded:
    """What the summary reads of one part, from its files or the bytes written to them:
    for the parts a resumed sweep finds done (the chunks it computes come with
    :func:`pack`'s total-scope rows: :func:`unpack`)."""
    import pyarrow.parquet as pq

    totals = pq.read_table(_source(part), filters=[("scope", "==", "total")])
    return _decoded(totals, pq.read_table(_source(blocks)))


def read_summary_inputs(
    folder: Path, have: Mapping[str, Decoded] | None = None
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The total-scope rows of every part of ``folder`` (by combo id) and the block sums as
    2-D arrays (combinations x blocks) in the same order. ``have``: what the summary reads
    of the parts this run computed, by file name (:func:`unpack`); the others are read from
    their files (:func:`decode`)."""
    import pyarrow as pa

    have = have or {}
    got = [
        have[f.name] if f.name in have else decode(f, f.parent.parent / "blocks" / f.name)
        for f in part_files(folder, "parts")
    ]
    total = pa.concat_tables([g["totals"] for g in got]).to_pandas().drop(columns=["scope"])
    total = total.sort_values("combo_id", kind="stable").reset_index(drop=True)
    pos = pd.Index(np.concatenate([g["ids"] for g in got])).get_indexer(
        total["combo_id"].to_numpy()
    )
    names = got[0]["blocks"] if got else {}
    blocks = {k: np.concatenate([g["blocks"][k] for g in got])[pos] for k in names}
    return total, blocks


def any_ruined(folder: Path) -> bool:
    import pyarrow.parquet as pq

    return any(
        bool(pq.read_table(f, columns=["ruined"]).column("ruined").to_numpy().any())
        for f in part_files(folder, "parts")
    )
