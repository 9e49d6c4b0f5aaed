"""The one copy of plotly.js a results root shares: ``<root>/.assets/plotly-<version>.min.js``.

Reports in the store load it by a relative path (``../.assets/plotly-<version>.min.js``),
which works from ``file://`` with no network. It lives outside every run folder, so removing
or gc-ing runs never breaks another run's report, and its name carries plotly.js's version,
so a report written by another plotly keeps the file it was written against.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from evbt.errors import InputError

ASSETS = ".assets"


def plotly_version() -> str:
    import plotly.offline

    return str(plotly.offline.get_plotlyjs_version())


def plotly_name() -> str:
    return f"plotly-{plotly_version()}.min.js"


def plotly_text() -> str:
    import plotly.offline

    return str(plotly.offline.get_plotlyjs())


def _plotly_file() -> Path | None:
    """plotly.min.js as the installed plotly ships it (the file ``get_plotlyjs`` reads and
    decodes), or None when plotly's package data is not a plain file (a zipped install)."""
    from importlib import resources

    try:
        path = Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
    except (ImportError, TypeError, ValueError):  # pragma: no cover - an unusual install
        return None
    return path if path.is_file() else None


def _copy(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy ``src`` into the empty file ``dst``: in the kernel (``copy_file_range``; a
    copy-on-write file system can share the blocks), else by reads and writes."""
    left = os.fstat(src.fileno()).st_size
    with contextlib.suppress(AttributeError, OSError):  # none here, or not between these
        while left > 0:
            n = os.copy_file_range(src.fileno(), dst.fileno(), left)
            if n == 0:
                break
            left -= n
    if left == 0:
        return
    src.seek(0)
    dst.seek(0)
    dst.truncate()
    shutil.copyfileobj(src, dst)


def ensure_plotly(root: str | os.PathLike[str]) -> Path:
    """The shared plotly.js under ``root`` (written atomically if it is missing or short).

    A copy of the installed plotly's own file, made by the kernel where it can: reading and
    decoding 4.8 MB to write them back cost every new results root about 30 ms. Nothing is
    written outside ``root``: a ``.assets`` that is a symbolic link is read through but never
    written through, and a link in the asset's place is replaced by the file."""
    folder = Path(root) / ASSETS
    target = folder / plotly_name()
    src = _plotly_file()
    size = src.stat().st_size if src is not None else None
    data = b""
    if size is None:
        data = plotly_text().encode("utf-8")
        size = len(data)
    if folder.is_symlink():  # read through, as before; never written through
        if target.is_file() and target.stat().st_size == size:
            return target
        raise InputError(
            f"{folder} is a symbolic link to {os.readlink(folder)}: evbt does not write "
            "through it; remove or rename it yourself"
        )
    with contextlib.suppress(FileNotFoundError):
        st = os.lstat(target)
        if stat.S_ISREG(st.st_mode) and st.st_size == size:
            return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plotly-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if src is None:
                f.write(data)
            else:
                with open(src, "rb") as s:
                    _copy(s, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
