"""`aibridge telemetry summary`: usage, latency, cache and tool statistics per
(provider, model, client), optionally per day or hour, over interceptions that ended in a window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

import typer

from aibridge_cli.options import (
    TzOpt,
    ClientOpt, FormatOpt, InitiatorOpt, ModelOpt, ProviderOpt, emit, note, parse_time, read_db, resolve_user,
)
from aibridge_cli.errors import BadInput

app = typer.Typer(help="Telemetry summaries: usage, latency, cache and tool statistics.", no_args_is_help=True)

DEFAULT_SPAN = timedelta(hours=24)
BUCKETS = ("day", "hour")
# The per-group duration and initiator lists of a 30-day window over a million interceptions
# (about 12 bytes each) hash in memory with this (times hash_mem_multiplier) instead of
# spilling; it lasts for the command's own read-only transaction only.
WORK_MEM = "32MB"
# The reference's result columns, in its order; machine formats carry exactly these numbers.
STAT_COLUMNS = (
    "interception_count",
    "interception_duration_p50_millis",
    "interception_duration_p90_millis",
    "interception_duration_p95_millis",
    "interception_duration_p99_millis",
    "unique_initiator_count",
    "user_prompts_count",
    "token_usages_count",
    "token_count_input",
    "token_count_output",
    "token_count_cached_read",
    "token_count_cached_written",
    "tool_calls_count_injected",
    "tool_calls_count_non_injected",
    "injected_tool_call_error_count",
)
WINDOW_COLUMNS = ("ended_at_after", "ended_at_before")


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


def _check_by(value: Optional[str]) -> Optional[str]:
    if value is None or value == "":
        return None
    v = value.strip().lower()
    if v not in BUCKETS:
        raise BadInput(f"--by: unknown bucket {value!r}", hint="use --by day or --by hour")
    return v


def _resolve_tz(conn, tz: str) -> str:
    from aibridge_cli.db import query

    name = tz.strip()
    if name.upper() == "UTC":
        return "UTC"
    row = query.one(conn, "ResolveTimeZone", tz=name) if name else None
    if row is None:
        raise BadInput(f"--tz: unknown time zone {tz!r}",
                       hint="use an IANA zone name such as UTC, Europe/Berlin or America/New_York")
    return row["name"]


def _zone(name: str):
    """The zone to show buckets in; PostgreSQL computed them, Python only labels them.
    Without Python's tz database the instant stays right, shown in UTC."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, or no tzdata on this system
        from datetime import timezone

        return timezone.utc


# Up to about this many interceptions in the window (the planner's estimate), reading the window
# once and probing the child tables' indexes per interception beats reading it twice and hashing
# every child row; measured crossover on 1,000,000 interceptions: about 50,000, and index probes
# suffer more from a cold cache, hence the margin.
FEW_INTERCEPTIONS = 20_000
# Statistics lag behind writes (a fresh bulk import is not in them until autovacuum analyzes the
# table), and probing by index gets ever worse with the rows it was not told about: at 100,000
# interceptions both shapes take about as long, at 220,000 the probing takes three times as long.
# So the few-rows shape also needs the estimate plus every row written since to stay below this.
FEW_INTERCEPTIONS_AT_WORST = 100_000


def summary_query(conn, start, end) -> str:
    from aibridge_cli.db import query

    plan = query.one(conn, "EstimateTelemetryWindowRows", ended_at_after=start, ended_at_before=end)["QUERY PLAN"]
    estimate = plan[0]["Plan"]["Plan Rows"]
    few = estimate <= FEW_INTERCEPTIONS
    if few:
        changed = query.one(conn, "TelemetryRowsChangedSinceAnalyze")["changed"]
        few = estimate + changed <= FEW_INTERCEPTIONS_AT_WORST
    return "SummarizeAIBridgeInterceptionsTelemetry" + ("FewInterceptions" if few else "")


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
    by: Optional[str] = typer.Option(None, "--by", help="Also group by time bucket of ended_at: day or hour."),
    tz: str = TzOpt,
    fmt: str = FormatOpt,
):
    """Per (provider, model, client): requests, unique users, prompts, tokens (input, output,
    cached read and written), duration percentiles and tool calls, over interceptions that
    ended in [--ended-after, --ended-before). In-flight interceptions never count.

    Examples:

    \b
      aibridge telemetry summary --since 7d
      aibridge telemetry summary --since 30d --by day --tz Europe/Berlin -f csv
      aibridge telemetry summary --provider anthropic -u alice-haddad
    """
    from aibridge_cli.db import query

    bucket = _check_by(by)
    start, end = resolve_window(ended_after, ended_before)
    with read_db(ctx) as conn:
        zone = _resolve_tz(conn, tz)
        initiator_id = resolve_user(conn, initiator)
        query.run(conn, "SetTelemetryWorkMem", work_mem=WORK_MEM)
        rows = query.many(conn, summary_query(conn, start, end),
                       ended_at_after=start, ended_at_before=end, provider=provider or "", model=model or "",
                       client=client or "", initiator_id=initiator_id, bucket=bucket or "", tz=zone)

    if bucket:
        shown_in = _zone(zone)
        for r in rows:
            r["bucket"] = r["bucket"].astimezone(shown_in)
    window = f"[{start.isoformat()}, {end.isoformat()})"
    if fmt == "table":
        _print_table(rows, bucket, window)
        return
    keys = ["provider", "model", "client"] + (["bucket"] if bucket else []) + list(STAT_COLUMNS) + list(WINDOW_COLUMNS)
    out = ({**{k: r[k] for k in keys if k in r}, "ended_at_after": start, "ended_at_before": end} for r in rows)
    emit(ctx, out, fmt, columns=keys)
    if fmt == "markdown":
        note(f"window: interceptions ended in {window}")
    if not rows:
        note(f"no interceptions ended in {window}")


def _print_table(rows, bucket, window) -> None:
    from aibridge_cli.views.formats import console
    from aibridge_cli.views.telemetry import summary_table

    note(f"window: interceptions ended in {window}" + (f", by {bucket}" if bucket else ""))
    if not rows:
        note("no interceptions ended in this window")
        return
    con = console()
    con.print(summary_table(rows, by=bucket, width=con.width))
