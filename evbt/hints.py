"""Ground helper: the "did you mean" hint of a one-line error, from :mod:`difflib`.

>>> did_you_mean("sharp", ["sharpe", "sortino", "calmar"])
"did you mean 'sharpe'?"
>>> did_you_mean("Close", ["open", "close"], ignore_case=True)
"did you mean 'close'?"
>>> did_you_mean("xyz", ["sharpe"], fallback="use one of: sharpe")
'use one of: sharpe'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's own default: how alike a guess must be (0..1)


def nearest(
    word: str, choices: Iterable[str], *, ignore_case: bool = False, cutoff: float = CUTOFF
) -> str | None:
    """The choice most like ``word`` (``difflib.get_close_matches``), spelled as in
    ``choices``; None when none is alike enough. ``ignore_case`` compares in lower case."""
    options = [str(c) for c in choices]
    if not ignore_case:
        near = difflib.get_close_matches(str(word), options, n=1, cutoff=cutoff)
        return near[0] if near else None
    lower = {c.lower(): c for c in options}
    near = difflib.get_close_matches(str(word).lower(), list(lower), n=1, cutoff=cutoff)
    return lower[near[0]] if near else None


def did_you_mean(
    word: str,
    choices: Iterable[str],
    *,
    ignore_case: bool = False,
    cutoff: float = CUTOFF,
    fallback: str = "",
) -> str:
    """``"did you mean 'x'?"`` for the nearest choice, else ``fallback`` (empty by default)."""
    near = nearest(word, choices, ignore_case=ignore_case, cutoff=cutoff)
    return f"did you mean {near!r}?" if near is not None else fallback
