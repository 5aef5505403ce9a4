"""Times and durations as users type them on a command line.

Strict on purpose: only the forms below, ASCII digits only (Python's int() and
datetime.fromisoformat() also take '٣', '2026-W01' and '20261126'), and every time within
TIME_RANGE once converted to UTC, so that no later arithmetic can overflow and nothing the
database cannot hand back is ever written. One clock reading per command: the root callback
calls start_clock(), and utcnow() returns that reading until the next command starts.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

from aibridge_cli.errors import BadInput

TIME_FORMS = ("RFC 3339 (2026-11-26T09:30:00Z, 2026-11-26 09:30+02:00; no offset means UTC), "
              "YYYY-MM-DD, a duration ago (90m, 24h, 7d, 2w, 1mo), now, today or yesterday")
DURATION_FORMS = "a number with a unit: 500ms, 30s, 90m, 24h, 7d, 2w, 1mo (or combined, like 1h30m)"
# The times aibridge reads from users and writes to the database, in UTC. PostgreSQL takes more
# (4713 BC to 294276 AD) but Python, psycopg and every renderer stop at year 9999; 1970 keeps
# clear of clock-less defaults (0001-01-01 is the SQL's "no filter" value).
MIN_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
TIME_RANGE = "1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
# Milliseconds for the timeouts (--timeout, --lock-timeout); "ms" and "mo" are tried before "m".
# A month (mo) is 30 days, not a calendar month: a duration is a fixed length, so `--since 1mo`
# covers the same span whatever the day.
# In whole milliseconds: float seconds lose the millisecond of "1ms99421d".
_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000,
          "mo": 30 * 86_400_000}
_DURATION = re.compile(r"(?:[0-9]{1,15}[ \t]*(?:ms|mo|[smhdw])[ \t]*)+", re.ASCII)
_PART = re.compile(r"([0-9]+)[ \t]*(ms|mo|[smhdw])", re.ASCII)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"[ \t]*(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?", re.ASCII)
_DATE_OR_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

_clock: datetime | None = None


def start_clock() -> datetime:
    """Take this command's one reading of the clock; utcnow() returns it from now on."""
    global _clock
    _clock = datetime.now(timezone.utc)
    return _clock


def utcnow() -> datetime:
    return _clock if _clock is not None else datetime.now(timezone.utc)


def _bad(option: str, value: str, what: str, forms: str) -> BadInput:
    return BadInput(f"{option}: {what}" if not value else f"{option}: {value!r} {what}", hint=f"use {forms}")


def parse_duration(value: str, option: str) -> timedelta:
    text = value.strip(" \t").lower()
    if not text:
        raise _bad(option, "", "must not be empty", DURATION_FORMS)
    if not _DURATION.fullmatch(text):
        raise BadInput(f"{option}: cannot read {value!r} as a duration", hint=f"use {DURATION_FORMS}")
    try:
        return timedelta(milliseconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(text)))
    except OverflowError:
        raise _bad(option, value, "is too long a duration (at most 999,999,999 days)", DURATION_FORMS) from None


# PostgreSQL's statement_timeout and lock_timeout are ints of milliseconds (about 24.8 days).
MAX_TIMEOUT_MS = 2**31 - 1


def parse_timeout(value: str, option: str, zero_is_off: bool = False) -> int:
    """Milliseconds for a PostgreSQL timeout setting: more than zero (or 0, off, where
    zero_is_off), at most MAX_TIMEOUT_MS."""
    if zero_is_off and value.strip(" \t") == "0":
        return 0
    ms = parse_duration(value, option) // timedelta(milliseconds=1)
    if ms == 0 and zero_is_off:
        return 0
    if ms <= 0:
        raise BadInput(f"{option} must be longer than zero", hint="use e.g. 30s, 2m, 500ms")
    if ms > MAX_TIMEOUT_MS:
        raise BadInput(f"{option}: {value!r} is longer than PostgreSQL allows (about 24 days)",
                       hint="use e.g. 30s, 2m, 24h")
    return ms


def ago(now: datetime, span: timedelta) -> datetime:
    """now - span, stopping at the first representable instant instead of overflowing."""
    floor = datetime(1, 1, 1, tzinfo=timezone.utc)
    return floor if span >= now - floor else now - span


def in_range(t: datetime) -> bool:
    """Whether an aware time lies within TIME_RANGE (comparison converts; it cannot overflow)."""
    return MIN_TIME <= t <= MAX_TIME


def check_range(t: datetime, option: str, value: str) -> datetime:
    if not in_range(t):
        raise BadInput(f"{option}: {value!r} is out of range", hint=f"times run from {TIME_RANGE}")
    return t


def parse_time(value: str, option: str, now: datetime | None = None) -> datetime:
    """An aware datetime within TIME_RANGE; times without an offset, and plain dates, are UTC."""
    now = now or utcnow()
    text = value.strip(" \t")
    low = text.lower()
    if not text:
        raise _bad(option, "", "must not be empty", TIME_FORMS)
    if low == "now":
        return now
    if low in ("today", "yesterday"):
        day = now.astimezone(timezone.utc).date() - timedelta(days=1 if low == "yesterday" else 0)
        return datetime.combine(day, time(), timezone.utc)
    if _DURATION.fullmatch(low):
        span = parse_duration(low, option)
        if span > now - MIN_TIME:
            raise BadInput(f"{option}: {value!r} reaches back before 1970", hint=f"times run from {TIME_RANGE}")
        return now - span
    parsed = parse_rfc3339(text)
    if parsed is None:
        if _DATE_OR_TIME.match(text):
            raise _bad(option, value, "is not a valid date or time", TIME_FORMS)
        raise BadInput(f"{option}: cannot read {value!r} as a time", hint=f"use {TIME_FORMS}")
    return check_range(parsed, option, value)


def parse_rfc3339(text: str) -> datetime | None:
    """YYYY-MM-DD or RFC 3339 in ASCII digits, as an aware datetime (no offset: UTC); None for
    anything else, an impossible date included. Offsets up to ±23:59; a fraction is cut to
    microseconds. Python's fromisoformat also reads 2026-W01, 20261126 and '٢٠٢٦-...'."""
    m = _DATE.fullmatch(text)
    if m:
        g = m.groups()
        hh = mi = ss = frac = z = sign = oh = om = None
    else:
        m = _TIME.fullmatch(text)
        if m is None:
            return None
        g = m.groups()
        hh, mi, ss, frac, z, sign, oh, om = g[3:]
    try:
        tz = timezone.utc
        if sign:
            offset = timedelta(hours=int(oh), minutes=int(om or 0))
            if offset >= timedelta(hours=24) or int(om or 0) >= 60:
                return None
            tz = timezone(-offset if sign == "-" else offset)
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return datetime(int(g[0]), int(g[1]), int(g[2]), int(hh or 0), int(mi or 0), int(ss or 0), micro, tzinfo=tz)
    except ValueError:
        return None


def rfc3339(value: datetime) -> str:
    return value.isoformat()
