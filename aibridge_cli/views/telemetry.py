"""The terminal view of a telemetry summary: one line per group, totals, share bars.

Pure: rows in, a Rich renderable out; never touches the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from aibridge_cli.views.table import Column, FitTable
from aibridge_cli.views.text import compact, millis, number, percent

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


# Optional columns, dropped in this order while the table is wider than the terminal.
DROP_ORDER = ("p99", "mcp err", "tok share", "req share", "output", "users")


def summary_table(rows: Sequence[dict], by: Optional[str] = None, title: Optional[str] = None) -> FitTable:
    """The groups, then a totals footer. Unique users and percentiles do not add up across
    groups, so the footer leaves them blank rather than print a wrong number. On a narrow
    terminal the optional columns go (bars first) before any number is cut."""
    tot = totals(rows)
    all_tokens = tokens_of(tot)

    def share_cell(part: int, whole: int) -> str:
        return f"{bar(part / whole if whole else 0.0)} {percent(part, whole):>4}"

    # (header, footer, cell of a row, numeric, may shrink)
    spec = []
    if by:
        spec.append(("bucket", "total", lambda r: bucket_label(r.get("bucket"), by), False, False))
    spec += [
        ("provider", "" if by else "total", lambda r: r["provider"], False, False),
        ("model", "", lambda r: r["model"], False, True),
        ("client", "", lambda r: r["client"], False, True),
        ("requests", number(tot["interception_count"]), lambda r: number(r["interception_count"]), True, False),
        ("req share", "", lambda r: share_cell(r["interception_count"], tot["interception_count"]), False, False),
    ]
    if rows and "interception_failed_count" in rows[0]:  # the 2026-08 layout: failed interceptions
        spec.append(("failed", compact(sum(r["interception_failed_count"] for r in rows)),
                     lambda r: compact(r["interception_failed_count"]), True, False))
    spec += [
        ("users", "", lambda r: number(r["unique_initiator_count"]), True, False),
        ("prompts", compact(tot["user_prompts_count"]), lambda r: compact(r["user_prompts_count"]), True, False),
        ("input", compact(tot["token_count_input"]), lambda r: compact(r["token_count_input"]), True, False),
        ("output", compact(tot["token_count_output"]), lambda r: compact(r["token_count_output"]), True, False),
        ("tok share", "", lambda r: share_cell(tokens_of(r), all_tokens), False, False),
        ("cached", cache_read_ratio(tot), cache_read_ratio, True, False),
        ("p50", "", lambda r: millis(r["interception_duration_p50_millis"]), True, False),
        ("p95", "", lambda r: millis(r["interception_duration_p95_millis"]), True, False),
        ("p99", "", lambda r: millis(r["interception_duration_p99_millis"]), True, False),
        ("tools", compact(tot["tool_calls_count_non_injected"]),
         lambda r: compact(r["tool_calls_count_non_injected"]), True, False),
        ("mcp", compact(tot["tool_calls_count_injected"]), lambda r: compact(r["tool_calls_count_injected"]), True, False),
        ("mcp err", compact(tot["injected_tool_call_error_count"]),
         lambda r: compact(r["injected_tool_call_error_count"]), True, False),
    ]
    columns = []
    for header, footer, cell, numeric, shrink in spec:
        col = Column(header, [cell(r) for r in rows], numeric=numeric, footer=footer,
                     drop=DROP_ORDER.index(header) + 1 if header in DROP_ORDER else None)
        natural = col.natural()
        # A name may shrink to 8 cells (counted at up to 14 when choosing what to drop); a number never.
        col.fit, col.min_width = (14, min(natural, 8)) if shrink else (None, natural)
        columns.append(col)
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
