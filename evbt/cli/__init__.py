"""The ``evbt`` command line: decodes arguments and TOML configs, calls the Python API.

No logic of its own. Exit codes: 0 success, 2 bad input or a fault of the environment (a
path that cannot be read or written, a full disk: one line, no traceback unless
``--debug``), 1 internal error (a bug).
"""

from __future__ import annotations

import errno
import importlib
import logging
import pkgutil
import sys

import click

from evbt.cli._common import leaving, own_process
from evbt.errors import InputError

EXIT_INPUT, EXIT_INTERNAL = 2, 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="evbt")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """evbt: event-driven backtests of AI launches and earnings on NVDA and the semis."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    """Attach every command module of this package (each lists its commands in COMMANDS).

    Eager, so ``from evbt.cli import cli`` has every command; modules import only click at
    the top and load pandas, Numba and the rest inside their commands.
    """
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for cmd in getattr(module, "COMMANDS", ()):
            cli.add_command(cmd)


_register()


_OS_FIX = {
    getattr(errno, name, -1): fix
    for name, fix in (
        ("ENOSPC", "no space left on the device: free disk space or write elsewhere"),
        ("EDQUOT", "disk quota exceeded: free space or write elsewhere"),
        (
            "EACCES",
            "permission denied: choose a folder you can write or fix its permissions",
        ),
        ("EPERM", "operation not permitted: choose a folder you can write"),
        ("EROFS", "read-only file system: write elsewhere"),
        ("ENOTDIR", "a part of the path is a file, not a folder: choose another path"),
        ("EISDIR", "is a folder, not a file: give a file path"),
        ("EEXIST", "already exists and is in the way: remove it or choose another path"),
        ("ENOENT", "no such file or folder: check the path"),
        ("ENAMETOOLONG", "file name too long: choose a shorter path"),
    )
}


def _shown(name: object) -> str:
    """A path for an error line: a temporary file (``.x.csv.abc.tmp``, ``.tmp-...``) is
    named by its folder, which is what the user chose; the temporary name means nothing."""
    import os
    import re

    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    folder, base = os.path.split(text)
    meant = re.fullmatch(r"\.(.+)\.[^.]+\.tmp", base)  # atomic_write's ".<name>.<rnd>.tmp"
    if meant:
        return os.path.join(folder, meant.group(1))
    if base.startswith(".tmp-"):
        return folder or "."
    return text


def os_error_line(e: OSError) -> str:
    """One line for an error of the environment: the path, what happened, the fix."""
    where = _shown(e.filename) if e.filename is not None else "a file"
    if e.filename2 is not None:
        where = f"{where} -> {_shown(e.filename2)}"
    fix = _OS_FIX.get(e.errno, "check the path, its permissions and free disk space")
    what = e.strerror or type(e).__name__
    return f"{where}: {what}: {fix}"


class _WarningLine(logging.Handler):
    """Log records of WARNING and above from evbt, printed as one ``warning:`` line on
    stderr (suspicious but legal input: the run goes on and says so), and kept for the
    run's manifest (:func:`warnings_seen`)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        self.seen.append(msg)
        click.echo(f"warning: {msg}", err=True)


def _warning_handler() -> _WarningLine:
    logger = logging.getLogger("evbt")
    for h in logger.handlers:
        if isinstance(h, _WarningLine):
            return h
    handler = _WarningLine()
    logger.addHandler(handler)
    return handler


def _show_warnings() -> None:
    _warning_handler().seen.clear()


def warnings_seen() -> list[str]:
    """The warnings printed so far by this command (a run records them in its manifest)."""
    return list(_warning_handler().seen)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and map errors to exit codes. With no ``argv`` (the
    ``evbt`` command, ``python -m evbt.cli``) this interpreter is the command's own, and its
    cyclic collector is tuned for a short process (:mod:`evbt.cli._common`, ``loading``)."""
    if argv is not None:
        return _main(argv)
    own_process()
    try:
        return _main(sys.argv[1:])
    finally:
        leaving()


def _main(args: list[str]) -> int:
    debug = "--debug" in args
    _show_warnings()
    try:
        cli.main(args=args, prog_name="evbt", standalone_mode=False)
    except InputError as e:
        if debug:
            raise
        click.echo(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", err=True)
        return EXIT_INPUT
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INPUT
    except click.ClickException as e:  # a usage error: one line, and where to read more
        ctx = getattr(e, "ctx", None)
        where = ctx.command_path if ctx is not None else "evbt"
        msg = " ".join(e.format_message().split())
        click.echo(f"error: {msg} (see `{where} --help`)", err=True)
        return EXIT_INPUT
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except OSError as e:  # the environment: a path, a permission, a full disk
        if debug:
            raise
        click.echo(f"error: {os_error_line(e)}", err=True)
        return EXIT_INPUT
    except Exception as e:  # internal error: one line, traceback with --debug
        if debug:
            raise
        click.echo(
            f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)",
            err=True,
        )
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
