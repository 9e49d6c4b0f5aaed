"""Error types shared by every layer.

``InputError`` is bad input from the user (a file, a config field, a flag): the CLI prints
its message on one line and exits with code 2. Anything else is an internal error (exit 1).
Messages say what is wrong, where (file, line, field, ticker, date) and how to fix it.
"""

from __future__ import annotations

from evbt.hints import nearest


class InputError(ValueError):
    """Bad user input. The message is one line: what, where, and the fix."""


class OfflineError(InputError):
    """Data was needed from the network and the network could not be reached."""


def unknown_key(where: str, table: str, key: str, known: list[str]) -> InputError:
    """The error for a key a TOML table does not have, with a "did you mean" hint."""
    near = nearest(key, known)
    hint = f"did you mean {near!r}? " if near else ""
    return FieldError(where, f"unknown key [{table}] {key}: {hint}known keys: {', '.join(known)}")


def unknown_table(where: str, table: str, known: list[str]) -> InputError:
    """The error for a table a config does not have, with a "did you mean" hint."""
    near = nearest(table, known)
    hint = f"did you mean [{near}]? " if near else ""
    return FieldError(where, f"unknown table [{table}]: {hint}known tables: {', '.join(known)}")


class FieldError(InputError):
    """A bad value in a config table: ``"<where>: [table] field = value: fix"``, one line.

    ``where`` is the config file when the value came from TOML, else the dataclass that was
    built (``"PortfolioConfig"``); :meth:`at` puts the file in its place, so TOML and Python
    give the same message after the prefix.
    """

    def __init__(self, where: str, body: str) -> None:
        self.where, self.body = where, body
        super().__init__(f"{where}: {body}")

    def at(self, where: str) -> FieldError:
        """The same error, said of ``where`` (the config file) instead."""
        return FieldError(where, self.body)
