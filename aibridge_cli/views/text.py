"""Values as text: numbers, times, durations, JSON-ready values and shortened text, one
function for each, used by every format and renderer.

A leaf module (standard library only), so that any renderer, and the cursor's error message in
data/sessions.py, can shorten text the same way without pulling in Rich.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Optional
from uuid import UUID

ELLIPSIS = "…"


def cut(text: str, width: int) -> str:
    """At most `width` characters; a cut shows as a trailing ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def fold(text: Any) -> str:
    """Whitespace (newlines included) as single spaces: a table row stays one row."""
    return " ".join(str(text).split())


def one_line(text: Any, width: int = 100) -> str:
    """Folded, then cut."""
    return cut(fold(text), width)


def clip(text: str, limit: int) -> str:
    """Long text on a page of its own: cut, saying how much is left out and where to find it."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"{ELLIPSIS} ({len(text) - limit:,} more characters; --format json shows all)"


def when(value: datetime) -> str:
    """A time in UTC to the second: wide enough to tell rows apart, short enough for a column."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def clock(value: datetime, day: Optional[datetime] = None) -> str:
    """UTC; the time of day alone when it falls on the same UTC day as `day`."""
    if day is not None and value.astimezone(timezone.utc).date() == day.astimezone(timezone.utc).date():
        return value.astimezone(timezone.utc).strftime("%H:%M:%S")
    return when(value)


def number(n: int) -> str:
    return f"{n:,}"


def compact(n: Optional[int]) -> str:
    """12,345 -> 12.3k; numbers under 10,000 stay whole so small groups read exactly."""
    if n is None:
        return ""
    for unit, suffix, floor in ((10**9, "G", 10**9), (10**6, "M", 10**6), (10**3, "k", 10**4)):
        if abs(n) >= floor:
            return f"{n / unit:.1f}{suffix}"
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "–"
    value = 100.0 * part / whole
    # Rounding must not make a small share vanish or a large one look like everything.
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:
        return ">99%"
    return f"{value:.0f}%"


def duration(seconds: Optional[float], missing: str = "") -> str:
    """1.5s, 2m05s, 1h02m: tenths only while they still matter."""
    if seconds is None:
        return missing
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def span(start: Any, end: Any, missing: str = "") -> str:
    """The duration between two times, or `missing` when either is not a time (still in flight)."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return missing
    return duration((end - start).total_seconds())


def millis(ms: Optional[int]) -> str:
    """A latency given in milliseconds: 250ms, 4.2s, 1.7m (percentile columns stay narrow)."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms}ms"
    if ms < 100_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cell(value: Any, width: int = 60) -> str:
    """Any value as one terminal cell: times in UTC, counts with separators, lists joined,
    objects as JSON, newlines folded, long text cut."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return number(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        return one_line(", ".join(str(v) for v in value), width)
    return one_line(cell_text(value), width)


def to_json_value(value: Any) -> Any:
    """A JSON-ready value: RFC 3339 times with an offset, UUIDs and decimals as plain values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_json_value(value), ensure_ascii=False)


def cell_text(value: Any) -> str:
    """A value as one cell of csv/tsv/markdown text: lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return dumps(value)
    v = to_json_value(value)
    return v if isinstance(v, str) else str(v)
