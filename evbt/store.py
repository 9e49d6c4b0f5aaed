"""The result store: one folder per run under a results root, written atomically.

Layout of a results root (``--out``, else ``$EVBT_RESULTS``, else ``[output] dir``, else
``./results``)::

    <root>/<run id>/manifest.json        one folder per run; only complete runs live here
    <root>/<run id>/<table>.parquet      trades, equity, metrics, ... (whatever the run made)
    <root>/<run id>/sweep/parts/...      extra folders (sweeps)
    <root>/.partial/<run id>/            a streamed run being written (kept for --resume)
    <root>/.tmp-<run id>-<token>/        a write in progress, or debris of a killed one

Run id: ``<kind>-<strategy>-<12 hex>`` (kind ``bt``, ``study``, ``sweep``, ``pre``). The hash
covers what decides the result: the config's canonical form with the price and catalog
*paths* left out, the price data hash, the event catalog content hash and the code version
(plus the kind and anything else the caller names, e.g. whether the study ran). So the same
work gets the same id (and is reused unless ``force``), and an edited catalog, new prices or
new code get a new id instead of silently replacing an earlier result.

Atomic writes: tables and the manifest go to a hidden ``.tmp-*`` folder next to the final
one; it then takes the final name in one step. On Linux the step is ``renameat2``: with
``RENAME_NOREPLACE`` when the run is new, with ``RENAME_EXCHANGE`` when it replaces an
earlier folder of the same id, so the name always holds a complete run, old or new, and never
nothing. Elsewhere (no ``renameat2``, or a file system without it) the old folder is renamed
away first, which leaves a gap of two renames. A writer holds an ``flock`` on its ``.tmp-*``
folder; a folder whose lock is free and that is older than ``STALE_AFTER`` seconds belongs to
a killed writer and is removed by the next write into the root and by ``evbt runs gc``.
A fresh write removes its own temporary folder in every case short of being killed.

Folders and files follow the user's umask. Faults of the output location (a file where the
root should be, a root under a file, no permission, a full disk, a read-only file system)
raise ``InputError`` with one line naming the path and the fix; an earlier result of the same
run is left as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import json
import os
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evbt.errors import InputError

# the run id is computed where the manifest is made (backtest layer); re-exported here
from evbt.manifest import KINDS, catalog_digest, config_key, make_run_id

if TYPE_CHECKING:
    from evbt.result import BacktestResult, StudyRun
    from evbt.strategies.config import Config

__all__ = [
    "KINDS",
    "RUN_ID_RE",
    "StoredRun",
    "begin_run",
    "catalog_digest",
    "check_run",
    "check_run_id",
    "clean_debris",
    "config_key",
    "finish_run",
    "gc",
    "list_runs",
    "make_run_id",
    "open_run",
    "partial_dir",
    "prepare_root",
    "remove_run",
    "resolve_run",
    "result_frames",
    "results_root",
    "run_dir",
    "run_exists",
    "scan_runs",
    "verify_run",
    "write_result",
    "write_run",
    "write_study",
]

RUN_ID_RE = re.compile(r"^(bt|study|sweep|pre)-[A-Za-z0-9_]+-[0-9a-f]{12}$")
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"  # written only by the non-Linux fallback swap
PARTIAL = ".partial"
STALE_AFTER = 60.0  # seconds: an unlocked temporary folder older than this is debris
MANIFEST = "manifest.json"
PARTIAL_MANIFEST = "manifest.partial.json"

# ------------------------------------------------------------------------- the results root


def results_root(out: str | os.PathLike[str] | None = None, config: Config | None = None) -> Path:
    """``out`` (``--out``/``--root``), else ``$EVBT_RESULTS``, else ``[output] dir``, else ./results."""
    if out:
        return Path(out)
    env = os.environ.get("EVBT_RESULTS")
    if env:
        return Path(env)
    if config is not None and getattr(config.output, "dir", None):
        return Path(config.output.dir)
    return Path("results")


def _fault(path: Path, e: OSError, doing: str) -> InputError:
    """An OSError of the output location as a one-line InputError naming the path and fix."""
    code = e.errno
    text = str(e)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text or "quota" in text.lower():
        return InputError(
            f"{path}: disk full while {doing}: free some space or choose another results root "
            "(--out or EVBT_RESULTS); any earlier result is unchanged"
        )
    if code == errno.EROFS:
        return InputError(
            f"{path}: read-only file system: choose a writable results root (--out or EVBT_RESULTS)"
        )
    if code in (errno.EACCES, errno.EPERM):
        return InputError(
            f"{path}: no permission to write: choose another results root (--out or "
            "EVBT_RESULTS) or make it writable"
        )
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(path)
        if blocker is not None:
            return InputError(
                f"{blocker} is a file, not a folder: choose another results root (--out or "
                "EVBT_RESULTS) or move the file away"
            )
    return InputError(
        f"{path}: cannot write results ({e.strerror or text}): choose another results root "
        "(--out or EVBT_RESULTS)"
    )


def _file_in_the_way(path: Path) -> Path | None:
    """The first component of ``path`` (from the top) that exists and is not a folder."""
    p = Path(os.path.abspath(path))
    for part in [*reversed(p.parents), p]:
        if part.exists() and not part.is_dir():
            return part
    return None


def _read_only_fs(path: Path) -> bool:
    """True when ``path`` lies on a file system mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # pragma: no cover - no statvfs
        return False


def prepare_root(root: str | os.PathLike[str]) -> Path:
    """Create the results root if needed; a file in the way or no permission -> InputError."""
    root = Path(root)
    blocker = _file_in_the_way(root)
    if blocker is not None:
        raise InputError(
            f"{blocker} is a file, not a folder: choose another results root (--out or "
            "EVBT_RESULTS) or move the file away"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _fault(root, e, "creating the results root") from None
    if not os.access(root, os.W_OK | os.X_OK):
        if _read_only_fs(root):
            raise _fault(root, OSError(errno.EROFS, os.strerror(errno.EROFS)), "writing")
        raise InputError(
            f"{root}: no permission to write: choose another results root (--out or "
            "EVBT_RESULTS) or make it writable"
        )
    return root


# ----------------------------------------------------------------------------- run ids


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a run id (never a path); else InputError."""
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise InputError(
            f"{run_id!r} is not a run id (like bt-launch_shock-0123456789ab): "
            "use a name from `evbt runs list`, not a path"
        )
    return run_id


def run_dir(root: str | os.PathLike[str], run_id: str) -> Path:
    """Where the run ``run_id`` lives under ``root`` (the id is checked: no paths)."""
    return Path(root) / check_run_id(run_id)


# -------------------------------------------------------------------- atomic swap machinery

_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


def _load_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - old glibc
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2(src, dst, flags); False when the system or file system lacks it."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _swap_into_place(src: Path, final: Path) -> Path | None:
    """Move the complete folder ``src`` to ``final`` in one step. Returns where the folder
    that held ``final`` before now is (to be removed by the caller), or None."""
    for _ in range(100):
        try:
            if _rename2(src, final, _RENAME_NOREPLACE):
                return None
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise
            try:
                if _rename2(src, final, _RENAME_EXCHANGE):
                    return src  # src now names the previous folder
            except FileNotFoundError:
                continue  # removed meanwhile: try a plain move again
        # fallback without renameat2: rename away, then into place (a gap of two renames)
        try:
            os.rename(src, final)  # succeeds when final is absent (or an empty folder)
            return None
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                raise
        old = final.parent / f"{OLD_PREFIX}{final.name}-{secrets.token_hex(4)}"
        try:
            os.rename(final, old)
        except FileNotFoundError:
            continue  # another writer moved it meanwhile: try again
        try:
            os.rename(src, final)
        except OSError:
            with contextlib.suppress(OSError):
                os.rename(old, final)
            raise
        return old
    raise OSError(errno.EBUSY, "could not move the run into place", str(final))


def _lock_dir(path: Path, *, block: bool = False) -> int | None:
    """Open ``path`` and take an exclusive flock on it; the fd, or None when someone holds it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locks, age alone decides
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _age(path: Path) -> float:
    """Seconds since ``path`` was made or last had an entry added (a live writer holds its
    lock anyway; the age only covers the instant between its mkdir and its lock)."""
    return time.time() - path.stat().st_mtime


def _debris(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.name.startswith((TMP_PREFIX, OLD_PREFIX)) and p.is_dir() and not p.is_symlink():
            yield p


def _debris_links(root: Path) -> list[Path]:
    """Symbolic links with a temporary name (left by older versions of ``runs rm``)."""
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.name.startswith((TMP_PREFIX, OLD_PREFIX)) and p.is_symlink()
    )


def clean_debris(root: str | os.PathLike[str], *, min_age: float = STALE_AFTER) -> list[Path]:
    """Remove temporary folders of writers that are gone (lock free, older than ``min_age``
    seconds). Returns what was removed. Safe while other writers run."""
    removed = []
    for p in _debris(Path(root)):
        try:
            if _age(p) < min_age:
                continue
            fd = _lock_dir(p)
        except FileNotFoundError:
            continue
        if fd is None:
            continue  # a live writer holds it
        try:
            shutil.rmtree(p, ignore_errors=True)
        finally:
            os.close(fd)
        if not p.exists():
            removed.append(p)
    return removed


def _fsync_tree(path: Path) -> None:
    for dirpath, _, files in os.walk(path):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _json_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, default=str)


def _write_tables(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"table name {name!r}: use letters, digits and _")
        frame.to_parquet(folder / f"{name}.parquet", index=False)


def _copy_extra(folder: Path, extra_dirs: dict[str, str | os.PathLike[str]] | None) -> None:
    for name, src in (extra_dirs or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"folder name {name!r}: use letters, digits and _")
        shutil.copytree(src, folder / name)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file of a run folder but its manifests (recorded
    in the manifest at write time; ``evbt runs verify`` checks them)."""
    out = {}
    for dirpath, dirs, names in os.walk(folder):
        dirs.sort()
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(dirpath, n), folder).replace(os.sep, "/")
            if rel in (MANIFEST, PARTIAL_MANIFEST) or n.startswith(TMP_PREFIX):
                continue
            out[rel] = _sha256(Path(dirpath) / n)
    return out


def verify_run(run: StoredRun) -> tuple[str, list[str]]:
    """Check a run's files against the hashes in its manifest: (``ok``, ``changed``,
    ``no hashes``, ``damaged`` or ``link``; one line per problem or note)."""
    if run.status != "ok" and not (run.status == "damaged" and run.manifest):
        return run.status, [run.reason]
    recorded = run.manifest.get("files")
    if not isinstance(recorded, dict):
        return "no hashes", ["no hashes recorded (written before evbt recorded them)"]
    problems = []
    for rel, digest in sorted(recorded.items()):
        f = run.path / rel
        if f.is_symlink() or not f.is_file():
            problems.append(f"{rel}: missing")
        elif _sha256(f) != digest:
            problems.append(f"{rel}: changed since it was written (sha256 differs)")
    notes = [
        f"{rel}: not recorded (added later)"
        for rel in sorted(set(file_hashes(run.path)) - set(recorded))
    ]
    return ("changed" if problems else "ok"), problems + notes


def _drop(root: Path, old: Path) -> None:
    """Remove a replaced run (a folder in the root, or a link: the link only)."""
    with contextlib.suppress(OSError, InputError):
        _remove_entry(root, old)


def run_exists(root: str | os.PathLike[str], run_id: str) -> bool:
    """True when ``root`` holds the complete run ``run_id`` (its folder and manifest)."""
    try:
        man = json.loads((run_dir(root, run_id) / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(man, dict) and man.get("run_id", run_id) == run_id


def write_run(
    root: str | os.PathLike[str],
    run_id: str,
    frames: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    extra_dirs: dict[str, str | os.PathLike[str]] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write a run folder ``<root>/<run_id>`` atomically: all of it or nothing.

    ``frames`` become ``<name>.parquet``; ``extra_dirs`` maps a folder name in the run to a
    folder whose contents are copied there; ``manifest`` becomes manifest.json (written last).
    If the complete run is already there it is the same work: it is kept and its path
    returned, unless ``force``, which replaces it (the name never goes empty on Linux).
    """
    check_run_id(run_id)
    root = prepare_root(root)
    final = root / run_id
    if not force and run_exists(root, run_id):
        return final
    clean_debris(root)
    tmp = root / f"{TMP_PREFIX}{run_id}-{secrets.token_hex(4)}"
    try:
        os.mkdir(tmp)  # mode 0o777 less the umask (tempfile.mkdtemp would force 0o700)
    except OSError as e:
        raise _fault(root, e, "creating a run folder") from None
    fd = _lock_dir(tmp, block=True)
    try:
        try:
            _write_tables(tmp, frames)
            _copy_extra(tmp, extra_dirs)
            files = {"files": file_hashes(tmp)}
            (tmp / MANIFEST).write_text(_json_text({**manifest, **files, "run_id": run_id}))
            _fsync_tree(tmp)
            old = _swap_into_place(tmp, final)
        except OSError as e:
            raise _fault(final, e, "writing the run") from None
        if old is not None:
            _drop(root, old)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


# ------------------------------------------------------------------- streamed runs (sweeps)

_PARTIAL_LOCKS: dict[Path, int] = {}


def partial_dir(root: str | os.PathLike[str], run_id: str) -> Path:
    """Where the streamed run ``run_id`` is written before it is finished."""
    return Path(root) / PARTIAL / check_run_id(run_id)


def begin_run(root: str | os.PathLike[str], run_id: str, manifest: dict[str, Any]) -> Path:
    """Start (or resume) a streamed run: returns ``<root>/.partial/<run_id>/`` for its parts.

    What is already in the folder is kept (``--resume`` reads it); ``manifest`` is written as
    manifest.partial.json. The folder is locked by this process until ``finish_run`` (or the
    process ends); a second writer of the same run gets an InputError.
    """
    check_run_id(run_id)
    root = prepare_root(root)
    _partial_base(root)  # a linked .partial is refused: nothing is written outside the root
    p = partial_dir(root, run_id)
    if p.is_symlink():
        raise InputError(f"{p} is a symbolic link: evbt does not follow it; remove it yourself")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _fault(p, e, "creating a partial run folder") from None
    key = p.resolve()
    if key not in _PARTIAL_LOCKS:
        fd = _lock_dir(p)
        if fd is None:
            raise InputError(
                f"{p}: run {run_id} is being written by another process: wait for it to finish"
            )
        _PARTIAL_LOCKS[key] = fd
    try:
        _replace_text(p / PARTIAL_MANIFEST, _json_text({**manifest, "run_id": run_id}))
    except OSError as e:
        raise _fault(p, e, "writing the partial manifest") from None
    return p


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def finish_run(
    root: str | os.PathLike[str],
    run_id: str,
    *,
    manifest: dict[str, Any] | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Finish a streamed run: write ``frames`` and the manifest (``manifest``, else the one
    ``begin_run`` wrote) into it and move it to ``<root>/<run_id>`` in one step (an earlier
    run of the same id is replaced without a gap). Returns the run folder."""
    root = Path(root)
    _partial_base(root)
    p = partial_dir(root, run_id)
    if p.is_symlink() or not p.is_dir():
        raise InputError(f"{p}: no partial run {run_id} to finish: start it with begin_run")
    key = p.resolve()
    fd = _PARTIAL_LOCKS.pop(key, None)
    if fd is None:
        fd = _lock_dir(p)
        if fd is None:
            raise InputError(f"{p}: run {run_id} is being written by another process")
    final = root / run_id
    tmp = root / f"{TMP_PREFIX}{run_id}-{secrets.token_hex(4)}"
    try:
        try:
            _write_tables(p, frames or {})
            if manifest is None:
                manifest = json.loads((p / PARTIAL_MANIFEST).read_text())
            files = {"files": file_hashes(p)}
            (p / MANIFEST).write_text(_json_text({**manifest, **files, "run_id": run_id}))
            (p / PARTIAL_MANIFEST).unlink(missing_ok=True)
            _fsync_tree(p)
            os.rename(p, tmp)  # the locked folder, now hidden debris until it is in place
            old = _swap_into_place(tmp, final)
        except OSError as e:
            raise _fault(final, e, "finishing the run") from None
        if old is not None:
            _drop(root, old)
    finally:
        os.close(fd)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        (root / PARTIAL).rmdir()  # only when empty
    return final


# ------------------------------------------------------------------- reading runs back


@dataclasses.dataclass(frozen=True)
class StoredRun:
    """A run in a results root: its id, folder and manifest. ``status`` is ``ok`` (a complete
    run), ``damaged`` (its manifest or a table cannot be read: ``reason`` says which) or
    ``link`` (the name is a symbolic link, never followed: ``reason`` names the target)."""

    run_id: str
    path: Path
    manifest: dict[str, Any]
    status: str = "ok"
    reason: str = ""

    def tables(self) -> list[str]:
        """Names of the run's top-level tables (``<name>.parquet``)."""
        return sorted(p.stem for p in self.path.glob("*.parquet"))

    def read(self, table: str) -> pd.DataFrame:
        """One table of the run as a DataFrame."""
        p = self.path / f"{table}.parquet"
        if not re.fullmatch(r"[A-Za-z0-9_]+", table) or not p.is_file():
            raise InputError(
                f"run {self.run_id} has no table {table!r}: it has {', '.join(self.tables())}"
            )
        return pd.read_parquet(p)


def check_run(p: Path) -> StoredRun:
    """The run folder ``p`` as a StoredRun: ``ok``, ``damaged`` (with the reason) or ``link``."""
    if p.is_symlink():
        return StoredRun(p.name, p, {}, "link", f"a symbolic link to {os.readlink(p)}")
    try:
        man = json.loads((p / MANIFEST).read_text())
    except FileNotFoundError:
        return StoredRun(p.name, p, {}, "damaged", "no manifest.json")
    except (OSError, ValueError) as e:
        why = getattr(e, "strerror", None) or type(e).__name__
        return StoredRun(p.name, p, {}, "damaged", f"manifest.json unreadable ({why})")
    if not isinstance(man, dict):
        return StoredRun(p.name, p, {}, "damaged", "manifest.json is not a JSON object")
    if man.get("run_id", p.name) != p.name:
        return StoredRun(p.name, p, man, "damaged", f"manifest.json is of run {man['run_id']}")
    import pyarrow.parquet as pq

    for t in sorted(p.glob("*.parquet")):
        try:
            pq.read_metadata(t)
        except Exception as e:  # noqa: BLE001 - any unreadable table marks the run damaged
            why = " ".join(str(e).split(".")[0].split())[:80] or type(e).__name__
            return StoredRun(p.name, p, man, "damaged", f"{t.name} unreadable ({why})")
    return StoredRun(p.name, p, man)


def scan_runs(root: str | os.PathLike[str]) -> list[StoredRun]:
    """Every run-named entry of ``root``: complete runs newest first, then damaged runs and
    symbolic links (by name). Nothing here raises for one bad run."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [
        check_run(p)
        for p in root.iterdir()
        if RUN_ID_RE.match(p.name) and (p.is_symlink() or p.is_dir())
    ]
    good = [r for r in found if r.status == "ok"]
    good.sort(key=lambda r: (str(r.manifest.get("created_utc", "")), r.run_id), reverse=True)
    return good + sorted((r for r in found if r.status != "ok"), key=lambda r: r.run_id)


def list_runs(root: str | os.PathLike[str]) -> list[StoredRun]:
    """Every complete, readable run in ``root`` (not damaged, not a link), newest first."""
    return [r for r in scan_runs(root) if r.status == "ok"]


def resolve_run(root: str | os.PathLike[str], run: str) -> str:
    """The run id ``run`` names in ``root``: itself, or the one run whose id starts with it.
    Paths (``../x``, ``/abs``, ``a/b``) and names not in the root are refused (InputError).
    Damaged runs and links are found too (so that ``runs rm`` can remove them)."""
    if (
        not isinstance(run, str)
        or not run
        or not re.fullmatch(r"[A-Za-z0-9_-]+", run)
        or run.startswith("-")
    ):
        raise InputError(
            f"{run!r} is not a run id: use a name from `evbt runs list` (no paths or slashes)"
        )
    root = Path(root)
    if RUN_ID_RE.match(run) and os.path.lexists(root / run):
        return run
    ids = [r.run_id for r in scan_runs(root)]
    hits = [i for i in ids if i.startswith(run)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(f"{run!r} matches {len(hits)} runs in {root}: give more of the id")
    raise InputError(f"no run {run!r} in {root}: `evbt runs list --root {root}` shows the runs")


def open_run(root: str | os.PathLike[str], run_id: str) -> StoredRun:
    """The complete run ``run_id`` in ``root`` (an id or a unique prefix; never a path).
    A damaged run or a link is an InputError naming the reason."""
    rid = resolve_run(root, run_id)
    run = check_run(run_dir(root, rid))
    if run.status != "ok":
        raise InputError(
            f"run {rid} in {root} is {'damaged' if run.status == 'damaged' else 'a link'}: "
            f"{run.reason}: `evbt runs rm {rid}` removes it"
        )
    return run


def _inside(root: Path, path: Path) -> bool:
    """True when ``path`` (followed to its real place) lies under the real ``root``."""
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def _remove_entry(root: Path, path: Path) -> str:
    """Remove the entry ``path`` of ``root`` without following links: a symbolic link is
    unlinked (its target untouched), a folder is removed only when it really lies inside the
    root. Returns what was done: ``link`` or ``folder``."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
        os.unlink(path)
        return "link" if stat.S_ISLNK(mode) else "file"
    if not _inside(root, path):  # pragma: no cover - a bind mount or a moved root
        raise InputError(f"{path}: lies outside the results root {root}: not removing it")
    shutil.rmtree(path)  # rmtree never follows links inside the tree
    return "folder"


def remove_run(root: str | os.PathLike[str], run_id: str) -> Path:
    """Delete a run: renamed to hidden debris first (gone from the root in one step), then
    removed. A run name that is a symbolic link loses the link itself, never its target.
    Returns the path it had."""
    root = Path(root)
    rid = resolve_run(root, run_id)
    final = run_dir(root, rid)
    try:
        if final.is_symlink():
            os.unlink(final)
            return final
        tmp = root / f"{TMP_PREFIX}{rid}-rm-{secrets.token_hex(4)}"
        os.rename(final, tmp)
    except OSError as e:
        raise _fault(final, e, "removing the run") from None
    shutil.rmtree(tmp, ignore_errors=True)
    return final


def superseded(runs: list[StoredRun]) -> list[StoredRun]:
    """Runs replaced by a newer run of the same lineage (same kind, same config with the same
    data and catalog paths) made on other data, catalog or code: all but the newest."""
    seen: set[str] = set()
    out = []
    for r in runs:  # newest first
        lin = r.manifest.get("lineage")
        if not lin:
            continue
        if lin in seen:
            out.append(r)
        seen.add(lin)
    return out


def _partial_base(root: Path) -> Path | None:
    """``<root>/.partial`` when it is a real folder in the root; None when absent. A link
    (or anything leading outside the root) is refused in one line: never followed."""
    base = root / PARTIAL
    if not os.path.lexists(base):
        return None
    if base.is_symlink() or not base.is_dir() or not _inside(root, base):
        what = f"a symbolic link to {os.readlink(base)}" if base.is_symlink() else "not a folder"
        raise InputError(f"{base} is {what}: evbt does not follow it; remove or rename it yourself")
    return base


def partial_runs(root: str | os.PathLike[str]) -> list[Path]:
    """The entries of ``<root>/.partial`` (folders and links, never followed)."""
    base = _partial_base(Path(root))
    if base is None:
        return []
    return sorted(p for p in base.iterdir() if p.is_symlink() or p.is_dir())


def gc(
    root: str | os.PathLike[str],
    *,
    superseded_runs: bool = True,
    partial: bool = False,
    dry_run: bool = False,
    min_age: float = STALE_AFTER,
    damaged: bool = False,
) -> dict[str, list[str]]:
    """Remove debris of killed writers, superseded runs, (``partial``) unlocked partial runs
    and (``damaged``) damaged runs and run-named links. Returns the names removed (or, with
    ``dry_run``, that would be) by category. Links are removed themselves, never followed."""
    root = Path(root)
    out: dict[str, list[str]] = {"debris": [], "superseded": [], "partial": [], "damaged": []}
    bases = _partial_base(root) if partial else None  # a linked .partial fails before work
    if dry_run:
        for p in _debris(root):
            if _age(p) >= min_age:
                fd = _lock_dir(p)
                if fd is not None:
                    os.close(fd)
                    out["debris"].append(p.name)
    else:
        out["debris"] = [p.name for p in clean_debris(root, min_age=min_age)]
    for p in _debris_links(root):
        if not dry_run:
            os.unlink(p)
        out["debris"].append(p.name)
    if superseded_runs:
        for r in superseded(list_runs(root)):
            if not dry_run:
                remove_run(root, r.run_id)
            out["superseded"].append(r.run_id)
    if damaged:
        for r in scan_runs(root):
            if r.status == "ok":
                continue
            if not dry_run:
                remove_run(root, r.run_id)
            out["damaged"].append(f"{r.run_id} ({r.reason})")
    if partial and bases is not None:
        for p in partial_runs(root):
            if p.is_symlink():
                if not dry_run:
                    os.unlink(p)
                out["partial"].append(f"{p.name} (a link; its target is untouched)")
                continue
            fd = _lock_dir(p)
            if fd is None:
                continue
            try:
                if not dry_run:
                    _remove_entry(root, p)
            finally:
                os.close(fd)
            out["partial"].append(p.name)
        if not dry_run:
            with contextlib.suppress(OSError):
                bases.rmdir()
    return out


# --------------------------------------------------------- backtest and study results


def result_frames(result: BacktestResult) -> dict[str, pd.DataFrame]:
    """The tables of a backtest (see README: what a run gives you)."""
    return result.tables()


def write_result(
    result: BacktestResult, root: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Path:
    """Write a backtest's run folder under ``root`` (default: ``results_root``); the same
    run already there is kept (``force`` rewrites it). Returns the folder."""
    root = results_root(root, result.config)
    return write_run(
        root, result.manifest["run_id"], result_frames(result), result.manifest, force=force
    )


def write_study(
    run_: StudyRun, root: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Path:
    """Write an event study's run folder (event_study, study_summary, manifest)."""
    root = results_root(root, run_.config)
    frames = {"event_study": run_.study.panel, "study_summary": run_.study.summary}
    return write_run(root, run_.manifest["run_id"], frames, run_.manifest, force=force)
