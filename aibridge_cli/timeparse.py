"""Times and durations as users type them on a command line."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from aibridge_cli.errors import BadInput

TIME_FORMS = "RFC 3339 (2026-11-26T09:30:00Z), YYYY-MM-DD, a duration ago (90m, 24h, 7d, 2w), now, today or yesterday"
DURATION_FORMS = "a number with a unit: 500ms, 30s, 90m, 24h, 7d, 2w (or combined, like 1h30m)"
# Milliseconds for the timeouts (--timeout, --lock-timeout); "ms" is tried before "m".
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(?:(\d+)\s*(ms|[smhdw])\s*)+$")
_PART = re.compile(r"(\d+)\s*(ms|[smhdw])")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_duration(value: str, option: str) -> timedelta:
    text = value.strip().lower()
    if not _DURATION.match(text):
        raise BadInput(f"{option}: cannot read {value!r} as a duration", hint=f"use {DURATION_FORMS}")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    return timedelta(seconds=seconds)


def parse_time(value: str, option: str, now: datetime | None = None) -> datetime:
    """An aware datetime; times without an offset, and plain dates, are read as UTC."""
    now = now or utcnow()
    text = value.strip()
    low = text.lower()
    if low == "now":
        return now
    if low in ("today", "yesterday"):
        day = now.astimezone(timezone.utc).date() - timedelta(days=1 if low == "yesterday" else 0)
        return datetime.combine(day, time(), timezone.utc)
    if _DURATION.match(low):
        try:
            return now - parse_duration(low, option)
        except OverflowError:
            raise BadInput(f"{option}: {value!r} reaches too far back", hint=f"use {TIME_FORMS}") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
        except ValueError:
            raise BadInput(f"{option}: {value!r} is not a valid date", hint=f"use {TIME_FORMS}") from None
    iso = text
    if iso[-1:] in "zZ":
        iso = iso[:-1] + "+00:00"
    iso = re.sub(r"([+-]\d{2})$", r"\1:00", iso)  # '+00' as PostgreSQL prints it
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise BadInput(f"{option}: cannot read {value!r} as a time", hint=f"use {TIME_FORMS}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def rfc3339(value: datetime) -> str:
    return value.isoformat()
