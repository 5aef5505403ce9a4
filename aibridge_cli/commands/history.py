"""`aibridge history refresh|status`: hourly rollups that outlive prune (docs/history.md)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from aibridge_cli.options import FormatOpt, emit, note, parse_time, profile_default, read_db, settings

app = typer.Typer(help="History: hourly rollups of telemetry and spend that outlive prune.", no_args_is_help=True)


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _profile_prices(ctx: typer.Context, param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    return profile_default(ctx, param, value, "prices")


@app.command("refresh")
def refresh_cmd(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(
        None, "--since", help="Rebuild from this hour on (default: 3 hours before the watermark; the first run: "
                              "all raw rows). Hours prune has deleted from are never rebuilt."),
    until: Optional[str] = typer.Option(None, "--until", help="Stop before this hour (default: the current, open hour)."),
    prices: Optional[str] = typer.Option(
        None, "--prices", envvar="AIBRIDGE_PRICES", metavar="FILE", callback=_profile_prices,
        help="The price overrides spend uses (TOML); costs in history are priced with them at refresh time."),
    batch_hours: int = typer.Option(24 * 31, "--batch-hours", min=1, max=24 * 366,
                                    help="Hours per transaction (each batch commits with the watermark)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
):
    """Roll the raw rows up into hourly history, from the watermark to the last closed hour,
    one transaction per batch of hours. For cron; exit code 3: another refresh is running.

    Examples:

    \b
      aibridge history refresh
      aibridge history refresh --since 2026-01-01 --quiet
    """
    from aibridge_cli.data import history

    start = parse_time(since, "--since")
    end = parse_time(until, "--until")
    progress = not quiet
    with _write_conn(ctx) as conn:
        history.require(conn)
        history.acquire_lock(conn)
        try:
            out = run_refresh(conn, prices, since=start, until=end, progress=progress, batch_hours=batch_hours)
        finally:
            history.release_lock(conn)
    if not quiet:
        sys.stdout.write(describe(out) + "\n")


def _write_conn(ctx):
    from aibridge_cli.db.connect import connect

    return connect(settings(ctx), read_only=False, autocommit=True)


def run_refresh(conn, prices: Optional[str], *, since=None, until=None, progress: bool = False, batch_hours: int = 24 * 31):
    """A refresh on a connection that already holds the history lock (also used by prune)."""
    from aibridge_cli.data import history, spend
    from aibridge_cli.views.progress import ProgressBar

    pricer = spend.make_pricer(conn, "auto", prices, spend.layout(conn))
    label = history.prices_label(prices)
    bar = ProgressBar("rolling up hours", unit="hours", enabled=progress)
    if bar.shown:
        first, last = history.plan(conn, since, until)
        bar.total = max(int((last - first) / history.HOUR), 1) if first is not None and first < last else 1
    with bar:
        return history.refresh(conn, pricer, label, since=since, until=until, batch_hours=batch_hours,
                               on_batch=lambda out: bar.update(completed=out.hours))


def describe(out) -> str:
    if out.from_hour is None or out.from_hour >= out.to_hour:
        return "history is up to date: no closed hour to roll up"
    return (f"rolled up {out.hours:,} hours [{out.from_hour.isoformat()}, {out.to_hour.isoformat()}) in "
            f"{out.batches:,} batches: {out.interception_rows:,} interception-hour rows, "
            f"{out.usage_rows:,} usage-hour rows, {out.elapsed_s:.1f}s")


STATUS_COLUMNS = ("first_hour", "watermark", "frozen_before", "hours", "interception_hour_rows", "usage_hour_rows",
                  "size_bytes", "prices", "refreshed_at")


@app.command("status")
def status_cmd(ctx: typer.Context, fmt: str = FormatOpt):
    """The hours history covers, its watermark, the hours prune froze, its rows and size.

    Examples:

    \b
      aibridge history status
      aibridge history status -f json
    """
    from aibridge_cli.data import history

    with read_db(ctx) as conn:
        history.require(conn)
        row = history.status(conn)
    row["hours"] = max(row["interception_hours"], row["usage_hours"])
    emit(ctx, [{k: row[k] for k in STATUS_COLUMNS}], fmt, columns=list(STATUS_COLUMNS))
    if row["watermark"] is None:
        note("history is empty: run 'aibridge history refresh'")
