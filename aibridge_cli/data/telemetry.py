"""Telemetry summaries: which query shape a window takes, and running it.

Knows psycopg and the named queries; never prints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional
from uuid import UUID

from aibridge_cli.db import query
from aibridge_cli.errors import BadInput

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

SHAPE_FEW = "SummarizeAIBridgeInterceptionsTelemetryFewInterceptions"
SHAPE_MANY = "SummarizeAIBridgeInterceptionsTelemetry"


def check_bucket(value: Optional[str]) -> Optional[str]:
    if value is None:  # an empty --by is an error, not "no buckets"
        return None
    v = value.strip().lower()
    if v not in BUCKETS:
        raise BadInput(f"--by: unknown bucket {value!r}", hint="use --by day or --by hour")
    return v


def resolve_tz(conn, tz: str) -> str:
    """The server's spelling of an IANA zone name; BadInput for a zone it does not know."""
    name = tz.strip()
    if name.upper() == "UTC":
        return "UTC"
    row = query.one(conn, "ResolveTimeZone", tz=name) if name else None
    if row is None:
        raise BadInput(f"--tz: unknown time zone {tz!r}",
                       hint="use an IANA zone name such as UTC, Europe/Berlin or America/New_York")
    return row["name"]


def zone(name: str):
    """The zone to show buckets in; PostgreSQL computed them, Python only labels them.
    Without Python's tz database the instant stays right, shown in UTC."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, or no tzdata on this system
        from datetime import timezone

        return timezone.utc


def summary_query(conn, start: datetime, end: datetime) -> str:
    """The name of the query shape that suits the window [start, end), from the planner's estimate."""
    plan = query.one(conn, "EstimateTelemetryWindowRows", ended_at_after=start, ended_at_before=end)["QUERY PLAN"]
    estimate = plan[0]["Plan"]["Plan Rows"]
    few = estimate <= FEW_INTERCEPTIONS
    if few:
        changed = query.one(conn, "TelemetryRowsChangedSinceAnalyze")["changed"]
        few = estimate + changed <= FEW_INTERCEPTIONS_AT_WORST
    return SHAPE_FEW if few else SHAPE_MANY


def summary(conn, start: datetime, end: datetime, *, provider: str = "", model: str = "", client: str = "",
            initiator_id: Optional[UUID] = None, bucket: Optional[str] = None, tz: str = "UTC",
            provider_name: str = "", exact: bool = False, on_note=lambda text: None) -> list[dict]:
    """One row per group (and bucket) of the interceptions that ended in [start, end); buckets
    are shown in `tz` (a name resolve_tz returned). The window's whole hours that history holds
    are read from it, unless `exact` (data/telemetry_history.py)."""
    from aibridge_cli.data import history
    from aibridge_cli.data import telemetry_history as th

    query.run(conn, "SetTelemetryWorkMem", work_mem=WORK_MEM)
    cov = history.coverage(conn)
    if exact:
        th.check_exact(cov, start)
    if not exact and th.history_applies(cov, start, end):
        rows = th.summarize_with_history(conn, cov, dict(
            ended_at_after=start, ended_at_before=end, provider=provider, model=model, client=client,
            initiator_id=initiator_id, bucket=bucket or "", tz=tz, provider_name=provider_name))
        edge = th.edge_note(cov, start, end)
        if edge:
            on_note(edge)
    else:
        rows = query.many(conn, summary_query(conn, start, end),
                          ended_at_after=start, ended_at_before=end, provider=provider, model=model,
                          client=client, initiator_id=initiator_id, bucket=bucket or "", tz=tz,
                          provider_name=provider_name)
    if bucket:
        shown_in = zone(tz)
        for r in rows:
            r["bucket"] = r["bucket"].astimezone(shown_in)
    return rows


def machine_rows(rows: list[dict], bucket: Optional[str], start: datetime, end: datetime, failed: bool = False):
    """(columns, rows) of the machine formats: the reference's columns, the failed count where the
    layout has error_type (2026-08), then the window."""
    keys = (["provider", "model", "client"] + (["bucket"] if bucket else []) + list(STAT_COLUMNS)
            + (["interception_failed_count"] if failed else []) + list(WINDOW_COLUMNS))
    out = ({**{k: r[k] for k in keys if k in r}, "ended_at_after": start, "ended_at_before": end} for r in rows)
    return keys, out
