"""Error types shared by every layer.

``InputError`` is bad input from the user (a file, a config field, a flag): the CLI prints
its message on one line and exits with code 2. Anything else is an internal error (exit 1).
Messages say what is wrong, where (file, line, field, ticker, date) and how to fix it.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message is one line: what, where, and the fix."""


class OfflineError(InputError):
    """Data was needed from the network and the network could not be reached."""
