"""What every command module shares: JSON output and the common options."""

from __future__ import annotations

import json
from typing import Any

import click


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def frame_records(df) -> list[dict[str, Any]]:
    """DataFrame -> JSON-ready records with ISO dates and no NaN."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", date_format="iso"))


_COMMON = {
    "prices": click.option(
        "--prices", default=None, help="Price file (contract format); overrides [data]."
    ),
    "events": click.option(
        "--events", default=None, help="Event catalog CSV; overrides [data] events."
    ),
    "out": click.option("--out", default=None, help="Results root (default [output] dir)."),
    "json": click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables."),
}


def common_options(*names: str):
    """Decorator adding the shared options by name: prices, events, out, json."""

    def wrap(f):
        for name in reversed(names):
            f = _COMMON[name](f)
        return f

    return wrap
