"""The ``evbt`` command line: decodes arguments and TOML configs, calls the Python API.

No logic of its own. Exit codes: 0 success, 2 bad input (one line, no traceback unless
``--debug``), 1 internal error.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

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


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
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
    except click.ClickException as e:
        e.show()
        return EXIT_INPUT
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
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
