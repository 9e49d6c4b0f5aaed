"""Error types shared by every layer.

``InputError`` is bad input from the user (a file, a config field, a flag): the CLI prints
its message on one line and exits with code 2. Anything else is an internal error (exit 1).
Messages say what is wrong, where (file, line, field, ticker, date) and how to fix it.
"""

from __future__ import annotations

import difflib


class InputError(ValueError):
    """Bad user input. The message is one line: what, where, and the fix."""


class OfflineError(InputError):
    """Data was needed from the network and the network could not be reached."""


def unknown_key(where: str, table: str, key: str, known: list[str]) -> InputError:
    """The error for a key a TOML table does not have, with a "did you mean" hint."""
    near = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return InputError(f"{where}: unknown key [{table}] {key}: {hint}known keys: {', '.join(known)}")
