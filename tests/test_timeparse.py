from datetime import datetime, timedelta, timezone

import pytest

from aibridge_cli.errors import BadInput
from aibridge_cli.timeparse import parse_duration, parse_time

NOW = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T09:30:00Z", datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)),
    ("2026-11-20T09:30:00+02:00", datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc)),
    ("2026-11-20 09:30:00.250+00", datetime(2026, 11, 20, 9, 30, 0, 250000, tzinfo=timezone.utc)),
    ("2026-11-20T09:30:00", datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)),
    ("2026-11-20", datetime(2026, 11, 20, tzinfo=timezone.utc)),
    ("now", NOW),
    ("today", datetime(2026, 11, 26, tzinfo=timezone.utc)),
    ("Yesterday", datetime(2026, 11, 25, tzinfo=timezone.utc)),
    ("90m", NOW - timedelta(minutes=90)),
    ("24h", NOW - timedelta(hours=24)),
    ("7d", NOW - timedelta(days=7)),
    ("2w", NOW - timedelta(weeks=2)),
    ("1h30m", NOW - timedelta(minutes=90)),
])
def test_accepted_forms(text, expected):
    got = parse_time(text, "--since", now=NOW)
    assert got == expected
    assert got.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday-ish", "2026-13-01", "12/11/2026", "7 days", "", "2026-11-20T25:00"])
def test_rejected_forms_name_the_option(text):
    with pytest.raises(BadInput) as e:
        parse_time(text, "--started-after", now=NOW)
    assert "--started-after" in e.value.message
    assert "RFC 3339" in e.value.hint


def test_durations():
    assert parse_duration("60d", "--older-than") == timedelta(days=60)
    assert parse_duration("1h 30m", "--older-than") == timedelta(minutes=90)
    assert parse_duration("500ms", "--lock-timeout") == timedelta(milliseconds=500)
    assert parse_duration("1s250ms", "--timeout") == timedelta(milliseconds=1250)
    assert parse_duration("1m5s", "--timeout") == timedelta(seconds=65)  # "m" is still minutes
    with pytest.raises(BadInput, match="--max-duration"):
        parse_duration("soon", "--max-duration")


def test_a_month_is_thirty_days_and_m_stays_minutes():
    """`mo` is a fixed 30 days (documented in docs/terminal.md), not a calendar month."""
    assert parse_duration("1mo", "--older-than") == timedelta(days=30)
    assert parse_duration("2mo1d", "--older-than") == timedelta(days=61)
    assert parse_duration("1mo30m", "--older-than") == timedelta(days=30, minutes=30)
    assert parse_time("1mo", "--since", now=NOW) == datetime(2026, 10, 27, 15, 30, tzinfo=timezone.utc)
    with pytest.raises(BadInput):
        parse_duration("1month", "--older-than")
