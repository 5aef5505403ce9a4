"""The terminal view of a telemetry summary: one line per group, totals, share bars.

Pure: rows in, a Rich renderable out; never touches the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

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


def percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "–"
    value = 100.0 * part / whole
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:
        return ">99%"
    return f"{value:.0f}%"


def cache_read_ratio(row: dict) -> str:
    """Cached-read tokens as a share of all prompt tokens (uncached input plus cache reads):
    the bridge stores input_tokens without the cached part, for Anthropic and OpenAI alike."""
    read = row["token_count_cached_read"]
    return percent(read, row["token_count_input"] + read)


def tokens_of(row: dict) -> int:
    return row["token_count_input"] + row["token_count_output"]


def compact(n: Optional[int]) -> str:
    """12,345 -> 12.3k; numbers under 10,000 stay whole so small groups read exactly."""
    if n is None:
        return ""
    for unit, suffix, floor in ((10**9, "G", 10**9), (10**6, "M", 10**6), (10**3, "k", 10**4)):
        if abs(n) >= floor:
            return f"{n / unit:.1f}{suffix}"
    return f"{n:,}"


def bucket_label(value: Optional[datetime], by: Optional[str]) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%d %H:00")


def totals(rows: Sequence[dict]) -> dict:
    keys = ("interception_count", "user_prompts_count", "token_usages_count", "token_count_input",
            "token_count_output", "token_count_cached_read", "token_count_cached_written",
            "tool_calls_count_injected", "tool_calls_count_non_injected", "injected_tool_call_error_count")
    return {k: sum(r[k] for r in rows) for k in keys}


def millis(ms: Optional[int]) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms}ms"
    if ms < 100_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


# Optional columns, dropped in this order while the table is wider than the terminal.
DROP_ORDER = ("p99", "mcp err", "tok share", "req share", "output", "users")


def summary_table(rows: Sequence[dict], by: Optional[str] = None, title: Optional[str] = None,
                  width: Optional[int] = None):
    """A Rich table: the groups, then a totals footer. Unique users and percentiles do not add
    up across groups, so the footer leaves them blank rather than print a wrong number. On a
    narrow terminal the optional columns go (bars first) before any number is cut."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    tot = totals(rows)
    all_tokens = tokens_of(tot)

    def share_cell(part: int, whole: int) -> str:
        return f"{bar(part / whole if whole else 0.0)} {percent(part, whole):>4}"

    # (header, footer, cell of a row, left-aligned, may shrink)
    spec = []
    if by:
        spec.append(("bucket", "total", lambda r: bucket_label(r.get("bucket"), by), True, False))
    spec += [
        ("provider", "" if by else "total", lambda r: r["provider"], True, False),
        ("model", "", lambda r: r["model"], True, True),
        ("client", "", lambda r: r["client"], True, True),
        ("requests", f"{tot['interception_count']:,}", lambda r: f"{r['interception_count']:,}", False, False),
        ("req share", "", lambda r: share_cell(r["interception_count"], tot["interception_count"]), True, False),
        ("users", "", lambda r: f"{r['unique_initiator_count']:,}", False, False),
        ("prompts", compact(tot["user_prompts_count"]), lambda r: compact(r["user_prompts_count"]), False, False),
        ("input", compact(tot["token_count_input"]), lambda r: compact(r["token_count_input"]), False, False),
        ("output", compact(tot["token_count_output"]), lambda r: compact(r["token_count_output"]), False, False),
        ("tok share", "", lambda r: share_cell(tokens_of(r), all_tokens), True, False),
        ("cached", cache_read_ratio(tot), cache_read_ratio, False, False),
        ("p50", "", lambda r: millis(r["interception_duration_p50_millis"]), False, False),
        ("p95", "", lambda r: millis(r["interception_duration_p95_millis"]), False, False),
        ("p99", "", lambda r: millis(r["interception_duration_p99_millis"]), False, False),
        ("tools", compact(tot["tool_calls_count_non_injected"]),
         lambda r: compact(r["tool_calls_count_non_injected"]), False, False),
        ("mcp", compact(tot["tool_calls_count_injected"]), lambda r: compact(r["tool_calls_count_injected"]), False, False),
        ("mcp err", compact(tot["injected_tool_call_error_count"]),
         lambda r: compact(r["injected_tool_call_error_count"]), False, False),
    ]
    columns = []
    for header, footer, cell, left, shrink in spec:
        cells = [cell(r) for r in rows]
        natural = max([len(header), len(footer)] + [len(c) for c in cells])
        columns.append([header, footer, cells, left, shrink, natural])

    def total_width():
        # Shrinkable text columns count at up to 14 cells; two spaces between columns.
        return sum(min(c[5], 14) if c[4] else c[5] for c in columns) + 2 * (len(columns) - 1)

    if width:
        for name in DROP_ORDER:
            if total_width() <= width:
                break
            columns = [c for c in columns if c[0] != name]

    # One space of padding plus the box's blank divider: two spaces between columns.
    table = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False,
                  padding=(0, 1, 0, 0), show_footer=True, footer_style="bold")
    for header, footer, _cells, left, shrink, natural in columns:
        table.add_column(header, footer=footer, justify="left" if left else "right", no_wrap=True,
                         overflow="ellipsis", min_width=min(natural, 8) if shrink else natural)
    for i in range(len(rows)):
        table.add_row(*[Text(c[2][i]) for c in columns])  # Text: no markup from data
    return table


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
