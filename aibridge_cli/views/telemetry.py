"""The terminal view of a telemetry summary: one line per group, totals, share bars.

Pure: rows in, a Rich renderable out; never touches the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from aibridge_cli.views.table import Column, FitTable
from aibridge_cli.views.text import millis, number, percent

BLOCKS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 8


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """A left-aligned bar of `width` cells for a share in [0, 1], in eighths of a cell."""
    share = min(max(share, 0.0), 1.0)
    eighths = round(share * width * 8)
    if share > 0 and eighths == 0:
        eighths = 1  # a group that exists never looks empty
    full, part = divmod(eighths, 8)
    text = "█" * full + (BLOCKS[part] if part else "")
    return text.ljust(width)


def cache_read_ratio(row: dict) -> str:
    """Cached-read tokens as a share of all prompt tokens (uncached input plus cache reads):
    the bridge stores input_tokens without the cached part, for Anthropic and OpenAI alike."""
    read = row["token_count_cached_read"]
    return percent(read, row["token_count_input"] + read)


def tokens_of(row: dict) -> int:
    return row["token_count_input"] + row["token_count_output"]


def bucket_label(value: Optional[datetime], by: Optional[str]) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%d %H:00")


def totals(rows: Sequence[dict]) -> dict:
    keys = ("interception_count", "user_prompts_count", "token_usages_count", "token_count_input",
            "token_count_output", "token_count_cached_read", "token_count_cached_written",
            "tool_calls_count_injected", "tool_calls_count_non_injected", "injected_tool_call_error_count")
    return {k: sum(r[k] for r in rows) for k in keys}


# Every column but the group keys and the request count, dropped in this order while the table
# is wider than the terminal (bars and tails first; the tokens last). A group key (model, client)
# is a name a user copies into --model/--client: never cut, dropped only when nothing else fits.
DROP_ORDER = ("p99", "mcp err", "tok share", "req share", "p95", "mcp", "users", "cached", "p50", "tools",
              "prompts", "failed", "output", "provider", "input")


def summary_table(rows: Sequence[dict], by: Optional[str] = None, title: Optional[str] = None) -> FitTable:
    """The groups, then a totals footer. Unique users and percentiles do not add up across
    groups, so the footer leaves them blank rather than print a wrong number. Counts are whole
    (with separators) in every column; on a narrow terminal columns go by DROP_ORDER, and no
    number or name is ever cut."""
    tot = totals(rows)
    all_tokens = tokens_of(tot)

    def share_cell(part: int, whole: int) -> str:
        return f"{bar(part / whole if whole else 0.0)} {percent(part, whole):>4}"

    # (header, footer, cell of a row, numeric)
    spec = []
    if by:
        spec.append(("bucket", "total", lambda r: bucket_label(r.get("bucket"), by), False))
    spec += [
        ("provider", "" if by else "total", lambda r: r["provider"], False),
        ("model", "", lambda r: r["model"], False),
        ("client", "", lambda r: r["client"] or "Unknown", False),
        ("requests", number(tot["interception_count"]), lambda r: number(r["interception_count"]), True),
        ("req share", "", lambda r: share_cell(r["interception_count"], tot["interception_count"]), False),
    ]
    if rows and "interception_failed_count" in rows[0]:  # the 2026-08 layout: failed interceptions
        spec.append(("failed", number(sum(r["interception_failed_count"] for r in rows)),
                     lambda r: number(r["interception_failed_count"]), True))
    spec += [
        ("users", "", lambda r: number(r["unique_initiator_count"]), True),
        ("prompts", number(tot["user_prompts_count"]), lambda r: number(r["user_prompts_count"]), True),
        ("input", number(tot["token_count_input"]), lambda r: number(r["token_count_input"]), True),
        ("output", number(tot["token_count_output"]), lambda r: number(r["token_count_output"]), True),
        ("tok share", "", lambda r: share_cell(tokens_of(r), all_tokens), False),
        ("cached", cache_read_ratio(tot), cache_read_ratio, True),
        ("p50", "", lambda r: millis(r["interception_duration_p50_millis"]), True),
        ("p95", "", lambda r: millis(r["interception_duration_p95_millis"]), True),
        ("p99", "", lambda r: millis(r["interception_duration_p99_millis"]), True),
        ("tools", number(tot["tool_calls_count_non_injected"]),
         lambda r: number(r["tool_calls_count_non_injected"]), True),
        ("mcp", number(tot["tool_calls_count_injected"]), lambda r: number(r["tool_calls_count_injected"]), True),
        ("mcp err", number(tot["injected_tool_call_error_count"]),
         lambda r: number(r["injected_tool_call_error_count"]), True),
    ]
    columns = []
    for header, footer, cell, numeric in spec:
        columns.append(Column(header, [cell(r) for r in rows], numeric=numeric, footer=footer,
                              drop=DROP_ORDER.index(header) + 1 if header in DROP_ORDER else None))
    # Two spaces between columns, not three: this table is wide.
    return FitTable(columns, title=title, dense=True, footer=True)


CHART_METRICS = {
    "requests": lambda r: r["interception_count"],
    "tokens": lambda r: r["token_count_input"] + r["token_count_output"] + r["token_count_cached_read"]
    + r["token_count_cached_written"],
}


def buckets(start: datetime, end: datetime, by: str, zone) -> list[str]:
    """The labels of every bucket of [start, end) in the zone, empty ones included."""
    from datetime import timedelta

    labels: list[str] = []
    if by == "day":
        day, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
        while day <= last:
            labels.append(day.isoformat())
            day += timedelta(days=1)
        return labels
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        label = bucket_label(hour.astimezone(zone), by)
        if not labels or labels[-1] != label:
            labels.append(label)
        hour += timedelta(hours=1)
    return labels


def chart(rows: Sequence[dict], by: str, metric: str, width: int = 80, periods: Sequence[str] = ()):
    """`--chart`: the metric per bucket, stacked by model."""
    from aibridge_cli.views.chart import bar_chart

    ordered = sorted(rows, key=lambda r: r["bucket"])
    points = [{"bucket": bucket_label(r["bucket"], by), "model": r["model"], "value": CHART_METRICS[metric](r)}
              for r in ordered]
    return bar_chart(points, "bucket", "value", "model", width=width, title=f"{metric} per {by}, by model",
                     periods=periods)
