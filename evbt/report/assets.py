"""The one copy of plotly.js a results root shares: ``<root>/.assets/plotly-<version>.min.js``.

Reports in the store load it by a relative path (``../.assets/plotly-<version>.min.js``),
which works from ``file://`` with no network. It lives outside every run folder, so removing
or gc-ing runs never breaks another run's report, and its name carries plotly.js's version,
so a report written by another plotly keeps the file it was written against.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ASSETS = ".assets"


def plotly_version() -> str:
    import plotly.offline

    return str(plotly.offline.get_plotlyjs_version())


def plotly_name() -> str:
    return f"plotly-{plotly_version()}.min.js"


def plotly_text() -> str:
    import plotly.offline

    return str(plotly.offline.get_plotlyjs())


def ensure_plotly(root: str | os.PathLike[str]) -> Path:
    """The shared plotly.js under ``root`` (written atomically if it is missing or short)."""
    target = Path(root) / ASSETS / plotly_name()
    data = plotly_text().encode("utf-8")
    if target.is_file() and target.stat().st_size == len(data):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plotly-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
