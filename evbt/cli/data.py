"""``evbt data``: fetch, show and validate prices."""

from __future__ import annotations

from typing import Any

import click

from evbt.cli._common import emit_json, frame_records


@click.group("data")
def data_group() -> None:
    """Prices: fetch, show and validate."""


@data_group.command("fetch")
@click.argument("tickers", nargs=-1, required=True)
@click.option("--start", default="2018-01-01", show_default=True)
@click.option("--end", default=None, help="Last date (default: today).")
@click.option(
    "--cache-dir", default=None, help="Cache folder (default: $EVBT_CACHE or the user cache dir)."
)
@click.option("--json", "as_json", is_flag=True)
def data_fetch(
    tickers: tuple[str, ...], start: str, end: str | None, cache_dir: str | None, as_json: bool
) -> None:
    """Download daily prices from Yahoo (yfinance) into the cache; only missing sessions."""
    from evbt.data.sources import load_prices

    df = load_prices(list(tickers), start, end, source="yfinance", cache_dir=cache_dir)
    summary = _summary(df)
    if as_json:
        emit_json(summary)
    else:
        for s in summary:
            click.echo(f"{s['ticker']}: {s['first']} to {s['last']}, {s['rows']} sessions (cached)")


def _summary(df) -> list[dict[str, Any]]:
    g = df.groupby("ticker")
    return [
        {
            "ticker": t,
            "first": f"{x['date'].min():%Y-%m-%d}",
            "last": f"{x['date'].max():%Y-%m-%d}",
            "rows": len(x),
            "last_close": float(x["close"].iloc[-1]),
            "source": df.attrs.get("source", ""),
            "synthetic": bool(df.attrs.get("synthetic", False)),
        }
        for t, x in g
    ]


@data_group.command("show")
@click.argument("ticker")
@click.option(
    "--source",
    type=click.Choice(["sample", "yfinance", "file"]),
    default="sample",
    show_default=True,
)
@click.option("--prices", "path", default=None, help="Price file for --source file.")
@click.option("--start", default=None)
@click.option("--end", default=None)
@click.option("--tail", default=5, show_default=True, help="Rows to print.")
@click.option("--json", "as_json", is_flag=True)
def data_show(
    ticker: str,
    source: str,
    path: str | None,
    start: str | None,
    end: str | None,
    tail: int,
    as_json: bool,
) -> None:
    """Print a ticker's date range and last rows, and whether the data is SYNTHETIC."""
    from evbt.data.sources import load_prices

    df = load_prices([ticker], start, end, source=source, path=path, offline=True)
    s = _summary(df)[0]
    if as_json:
        s["tail"] = frame_records(df.tail(tail))
        emit_json(s)
        return
    flag = "  SYNTHETIC: invented prices, not market data" if s["synthetic"] else ""
    click.echo(
        f"{ticker}: {s['first']} to {s['last']}, {s['rows']} sessions, source {s['source']}{flag}"
    )
    click.echo(df.tail(tail).to_string(index=False))


@data_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def data_validate(file: str) -> None:
    """Check a price file (Parquet or CSV) against the price contract."""
    from evbt.data.files import read_prices

    df = read_prices(file)
    halts = df.attrs.get("dropped_halts", 0)
    click.echo(
        f"ok: {file}: {df['ticker'].nunique()} tickers, {len(df)} rows, "
        f"{df['date'].min():%Y-%m-%d} to {df['date'].max():%Y-%m-%d}, {halts} halted rows dropped"
    )


COMMANDS = (data_group,)
