"""Ground file-system helper: write a file all or nothing, with one durability and mode policy.

:func:`atomic_writer` (a context manager handing out the open file) and :func:`atomic_write`
(for content already in memory) write through a hidden temporary sibling and ``os.replace``,
so a reader sees the old file or the new one, never a part of either; a crash or an error
leaves the old file untouched and no temporary file behind (a ``kill -9`` may leave a
``.<name>.<token>.tmp`` sibling: the writer never reuses one).

The policy, the same for every writer:

- **durability**: the data are flushed and ``fsync``-ed before the rename, and the folder is
  ``fsync``-ed after it, so the rename itself survives a power cut (where the file system can
  sync a folder at all);
- **mode**: a new file gets ``0o666`` less the process umask, as ``open()`` would make it (the
  kernel applies the umask; no thread-unsafe umask read); a file that is replaced keeps its
  permission bits.

Nothing here imports pandas or any evbt module above the ground: every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _temp_sibling(path: Path) -> tuple[int, Path]:
    """Create ``.<name>.<token>.tmp`` beside ``path`` (exclusive, mode 0o666 less the umask)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def temp_debris(folder: str | os.PathLike[str]) -> list[Path]:
    """The temporary siblings a killed writer left in ``folder`` (``.<name>.<token>.tmp``)."""
    return sorted(p for p in Path(folder).glob(".*.*.tmp") if p.is_file())


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """``fsync`` a folder, so that a rename into it is durable. File systems that cannot sync
    a folder (some network mounts) refuse it; that costs durability, not correctness."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit of the ``with`` block,
    flush, ``fsync``, rename it over ``path`` and ``fsync`` the folder. On an error, remove
    it and leave ``path`` as it was. ``mode`` is ``"wb"`` or ``"w"`` (text: ``encoding``
    defaults to UTF-8). The folder must exist.

    >>> with atomic_writer("a.txt", "w") as f:
    ...     _ = f.write("hello\\n")
    >>> Path("a.txt").read_text(), temp_debris(".")
    ('hello\\n', [])
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    fd, tmp = _temp_sibling(target)
    try:
        try:
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(fd, stat.S_IMODE(os.stat(target).st_mode))  # a replaced file keeps it
            if mode == "w":
                fh: IO[Any] = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
            else:
                fh = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)  # fdopen did not take it over
            raise
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` (bytes, or text encoded as ``encoding``) to ``path`` all or nothing,
    by :func:`atomic_writer`'s policy. Returns the path written.

    >>> atomic_write("state.json", '{"a": 1}').read_text()
    '{"a": 1}'
    """
    blob = data.encode(encoding) if isinstance(data, str) else data
    with atomic_writer(path, "wb") as fh:
        fh.write(blob)
    return Path(path)
