"""`aibridge telemetry summary`: usage, latency, cache and tool statistics per
(provider, model, client), optionally per day or hour, over interceptions that ended in a window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

import typer

from aibridge_cli.errors import BadInput
from aibridge_cli.options import (
    ClientOpt,
    FormatOpt,
    InitiatorOpt,
    ModelOpt,
    ProviderNameOpt,
    ProviderOpt,
    TzOpt,
    emit,
    note,
    parse_time,
    read_db,
    resolve_user,
)

app = typer.Typer(help="Telemetry summaries: usage, latency, cache and tool statistics.", no_args_is_help=True)

DEFAULT_SPAN = timedelta(hours=24)


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def resolve_window(after: Optional[str], before: Optional[str], now: Optional[datetime] = None):
    """[after, before): the last 24 hours by default; one end alone keeps a 24-hour span
    ending at --ended-before, or ends now after --ended-after."""
    from aibridge_cli.timeparse import utcnow

    now = now or utcnow()
    end = parse_time(before, "--ended-before") or now
    start = parse_time(after, "--ended-after")
    if start is None:
        start = end - DEFAULT_SPAN
    if start >= end:
        raise BadInput(f"--ended-after ({start.isoformat()}) must be earlier than --ended-before ({end.isoformat()})",
                       hint="the window is [ended-after, ended-before); e.g. --since 7d --until 1d")
    return start, end


CHARTS = ("requests", "tokens")


def _check_chart(chart: Optional[str], bucket: Optional[str], fmt: str) -> None:
    if chart is None:
        return
    if chart not in CHARTS:
        raise BadInput(f"--chart: unknown series {chart!r}", hint=f"use one of {', '.join(CHARTS)}")
    if bucket is None:
        raise BadInput("--chart needs --by day or --by hour", hint="e.g. --since 14d --by day --chart requests")
    if fmt != "table":
        raise BadInput(f"--chart draws on a terminal; it does not go with --format {fmt}",
                       hint="leave out --chart for machine formats")


@app.command("summary")
def summary_cmd(
    ctx: typer.Context,
    ended_after: Optional[str] = typer.Option(
        None, "--ended-after", "--since",
        help="Only interceptions that ended at or after this time (default: 24 hours before --ended-before)."),
    ended_before: Optional[str] = typer.Option(
        None, "--ended-before", "--until", help="Only interceptions that ended before this time (default: now)."),
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider_name: Optional[str] = ProviderNameOpt,
    by: Optional[str] = typer.Option(None, "--by", help="Also group by time bucket of ended_at: day or hour."),
    tz: str = TzOpt,
    exact: bool = typer.Option(False, "--exact", help="Read raw rows only, never history (an error where prune "
                                                        "has deleted rows of the window)."),
    chart: Optional[str] = typer.Option(None, "--chart", help="Draw requests or tokens per --by bucket as bars "
                                        "stacked by model (with --by; table format)."),
    fmt: str = FormatOpt,
):
    """Per (provider, model, client): requests, unique users, prompts, tokens (input, output,
    cached read and written), duration percentiles and tool calls, over interceptions that
    ended in [--ended-after, --ended-before). In-flight interceptions never count. Whole UTC hours
    that 'history refresh' rolled up are read from history (percentiles within 1 %).

    Examples:

    \b
      aibridge telemetry summary --since 7d
      aibridge telemetry summary --since 30d --by day --tz Europe/Berlin -f csv
      aibridge telemetry summary --provider anthropic -u alice-haddad
      aibridge telemetry summary --since 14d --by day --chart tokens
    """
    from aibridge_cli.data import telemetry

    bucket = telemetry.check_bucket(by)
    _check_chart(chart, bucket, fmt)
    start, end = resolve_window(ended_after, ended_before)
    with read_db(ctx) as conn:
        zone = telemetry.resolve_tz(conn, tz)
        initiator_id = resolve_user(conn, initiator)
        from aibridge_cli.data.layout import detect, newer_filters

        layout = detect(conn)
        rows = telemetry.summary(conn, start, end, provider=provider or "", model=model or "", client=client or "",
                                 initiator_id=initiator_id, bucket=bucket, tz=zone,
                                 exact=exact, on_note=note, **newer_filters(layout, provider_name))
    # The failed count exists on the 2026-08 layout (error_type); on the seed's it is left out.
    if not layout.interception_columns:
        for r in rows:
            r.pop("interception_failed_count", None)

    window = f"[{start.isoformat()}, {end.isoformat()})"
    if fmt == "table":
        note(f"window: interceptions ended in {window}" + (f", by {bucket}" if bucket else ""))
        if not rows:
            note("no interceptions ended in this window")
            return
        from aibridge_cli.views.formats import console
        from aibridge_cli.views.telemetry import summary_table

        con = console()
        if chart:
            from aibridge_cli.views.telemetry import buckets
            from aibridge_cli.views.telemetry import chart as chart_view

            periods = buckets(start, end, bucket, telemetry.zone(zone))
            con.print(chart_view(rows, bucket, chart, width=con.width, periods=periods))
            return
        con.print(summary_table(rows, by=bucket))
        return
    keys, out = telemetry.machine_rows(rows, bucket, start, end, failed=layout.interception_columns)
    emit(ctx, out, fmt, columns=keys)
    if fmt == "markdown":
        note(f"window: interceptions ended in {window}")
    if not rows:
        note(f"no interceptions ended in {window}")
