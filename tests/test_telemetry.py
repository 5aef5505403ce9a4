"""`aibridge telemetry summary` and its queries, against statistics computed here in Python
from the same fixture data: hand-checked groups, the window, buckets, errors, --as."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from factories import add_interception, add_token_usage, add_user
from telemetry_data import (
    SHAPES,
    W0,
    W1,
    WINDOW,
    expected_summary,
    known_data,
    per_group_rows,
    summary_rows,
)

from aibridge_cli.data.telemetry import STAT_COLUMNS
from aibridge_cli.db import query


@pytest.fixture
def known(conn):
    return known_data(conn)


def test_known_groups_match_hand_checked_values(conn, known):
    got = summary_rows(conn, W0, W1)
    sonnet = got[("anthropic", "claude-sonnet-4", "Claude Code")]
    # Durations 1, 2 and 4.5 s: p50 = 2 s; p90 = 2 + 0.8 * 2.5 s; p95 = 2 + 0.9 * 2.5 s; p99 = 2 + 0.98 * 2.5 s.
    assert (sonnet["interception_duration_p50_millis"], sonnet["interception_duration_p90_millis"],
            sonnet["interception_duration_p95_millis"], sonnet["interception_duration_p99_millis"]) == (2000, 4000, 4250, 4450)
    assert sonnet["interception_count"] == 3 and sonnet["unique_initiator_count"] == 2
    assert sonnet["token_usages_count"] == 4 and sonnet["token_count_input"] == 1000 and sonnet["token_count_output"] == 100
    assert sonnet["token_count_cached_read"] == 1500 and sonnet["token_count_cached_written"] == 50
    assert sonnet["user_prompts_count"] == 3
    assert (sonnet["tool_calls_count_injected"], sonnet["tool_calls_count_non_injected"],
            sonnet["injected_tool_call_error_count"]) == (2, 3, 1)

    unknown = got[("openai", "gpt-5", "Unknown")]
    assert unknown["interception_count"] == 2 and unknown["unique_initiator_count"] == 2
    assert unknown["token_count_cached_read"] == 700 + 5  # the greater of prompt_cached and cache_read_input
    assert unknown["interception_duration_p50_millis"] == 500  # halfway between 250 and 750 ms
    assert unknown["tool_calls_count_injected"] == unknown["tool_calls_count_non_injected"] == 0

    bare = got[("openai", "gpt-5", "Codex")]
    assert bare == {**{c: 0 for c in STAT_COLUMNS}, "interception_count": 1, "unique_initiator_count": 1,
                    **{f"interception_duration_p{p}_millis": 10000 for p in (50, 90, 95, 99)}}

    opus = got[("anthropic", "claude-opus-4", "Cursor")]
    assert opus["token_count_cached_written"] == 7 and opus["tool_calls_count_non_injected"] == 1
    assert opus["injected_tool_call_error_count"] == 0

    assert set(got) == {("anthropic", "claude-sonnet-4", "Claude Code"), ("openai", "gpt-5", "Unknown"),
                        ("openai", "gpt-5", "Codex"), ("anthropic", "claude-opus-4", "Cursor")}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_statistic_matches_python_and_the_per_group_queries(conn, known, shape):
    want = expected_summary(known, W0, W1)
    assert summary_rows(conn, W0, W1, shape) == want
    assert per_group_rows(conn, W0, W1) == want


def test_cli_json_has_the_reference_columns_and_the_window(cli, known):
    r = cli("telemetry", "summary", *WINDOW, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    want = expected_summary(known, W0, W1)
    assert {(x["provider"], x["model"], x["client"]): {c: x[c] for c in STAT_COLUMNS} for x in rows} == want
    for x in rows:
        # interception_failed_count: the 2026-08 layout's error_type (none of these failed).
        assert set(x) == {"provider", "model", "client", *STAT_COLUMNS, "interception_failed_count",
                          "ended_at_after", "ended_at_before"}
        assert x["interception_failed_count"] == 0
        assert datetime.fromisoformat(x["ended_at_after"]) == W0 and datetime.fromisoformat(x["ended_at_before"]) == W1
        assert all(type(x[c]) is int for c in STAT_COLUMNS)
    assert [(x["provider"], x["model"], x["client"]) for x in rows] == sorted(want)


def test_csv_carries_numbers_only(cli, known):
    r = cli("telemetry", "summary", *WINDOW, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    header, *lines = r.stdout.strip().splitlines()
    cols = header.split(",")
    assert len(lines) == 4
    for line in lines:
        cells = dict(zip(cols, line.split(",")))
        assert all(cells[c].isdigit() for c in STAT_COLUMNS)


def test_table_shows_window_totals_bars_and_cache_ratio(cli, known):
    r = cli("telemetry", "summary", *WINDOW)
    assert r.exit_code == 0, r.stderr
    assert W0.isoformat() in r.stderr and W1.isoformat() in r.stderr
    lines = r.stdout.splitlines()
    total = next(line for line in lines if line.startswith("total"))
    assert "8" in total.split()  # interceptions in the window: 3 + 2 + 1 + 2
    sonnet = next(line for line in lines if "claude-sonnet-4" in line)
    # 3 of 8 requests -> 38%; cache read 1500 / (1000 + 1500) -> 60%.
    assert "38%" in sonnet and "60%" in sonnet and "█" in sonnet
    unknown = next(line for line in lines if "gpt-5" in line and "Unknown" in line)
    assert f"{706 / (1010 + 706):.0%}" in unknown


def test_filters_narrow_the_groups(cli, conn, known):
    users = {u: query.one(conn, "GetUserByUsername", username=u)["id"] for u in ("alice", "bob")}
    cases = [
        (("--provider", "openai"), lambda i: i["provider"] == "openai"),
        (("--model", "claude-opus-4"), lambda i: i["model"] == "claude-opus-4"),
        (("--client", "Unknown"), lambda i: (i["client"] or "Unknown") == "Unknown"),
        (("--initiator", "alice"), lambda i: i["initiator_id"] == users["alice"]),
        (("--initiator", str(users["bob"])), lambda i: i["initiator_id"] == users["bob"]),
        (("--provider", "anthropic", "--client", "Claude Code", "--initiator", "bob"),
         lambda i: i["provider"] == "anthropic" and i["client"] == "Claude Code" and i["initiator_id"] == users["bob"]),
    ]
    for args, keep in cases:
        r = cli("telemetry", "summary", *WINDOW, *args, "-f", "json")
        assert r.exit_code == 0, (args, r.stderr)
        got = {(x["provider"], x["model"], x["client"]): {c: x[c] for c in STAT_COLUMNS} for x in json.loads(r.stdout)}
        want = expected_summary(known, W0, W1, keep=keep)
        assert got == want and want, args


# ---------------------------------------------------------------- the window

def test_window_is_closed_at_the_start_and_open_at_the_end(cli, conn):
    u = add_user(conn, "edge")
    tick = timedelta(microseconds=1)
    for ended, model in ((W0 - tick, "before-start"), (W0, "at-start"), (W1 - tick, "just-before-end"), (W1, "at-end")):
        add_interception(conn, u, model=model, started_at=ended - timedelta(seconds=1), ended_at=ended)
    r = cli("telemetry", "summary", *WINDOW, "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert sorted(x["model"] for x in json.loads(r.stdout)) == ["at-start", "just-before-end"]
    per_group = per_group_rows(conn, W0, W1)
    assert sorted(m for _, m, _ in per_group) == ["at-start", "just-before-end"]


def test_default_window_is_the_last_24_hours(cli, conn):
    u = add_user(conn, "recent")
    now = datetime.now(timezone.utc)
    for hours, model in ((1, "1h-ago"), (23, "23h-ago"), (25, "25h-ago")):
        add_interception(conn, u, model=model, started_at=now - timedelta(hours=hours, seconds=5),
                         ended_at=now - timedelta(hours=hours))
    add_interception(conn, u, model="in-flight", started_at=now - timedelta(minutes=5), ended_at=None)
    r = cli("telemetry", "summary", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert sorted(x["model"] for x in rows) == ["1h-ago", "23h-ago"]
    after, before = (datetime.fromisoformat(rows[0][k]) for k in ("ended_at_after", "ended_at_before"))
    assert before - after == timedelta(hours=24) and abs((before - now).total_seconds()) < 60
    # One end given: the other follows (24 h before --until, or now after --since).
    r = cli("telemetry", "summary", "--until", "24h", "-f", "json")
    assert sorted(x["model"] for x in json.loads(r.stdout)) == ["25h-ago"]
    r = cli("telemetry", "summary", "--since", "24h", "-f", "json")
    assert sorted(x["model"] for x in json.loads(r.stdout)) == ["1h-ago", "23h-ago"]


def test_empty_window_says_so(cli):
    r = cli("telemetry", "summary", *WINDOW, "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert "no interceptions ended in" in r.stderr and W0.isoformat() in r.stderr
    r = cli("telemetry", "summary", *WINDOW)
    assert r.exit_code == 0 and r.stdout == "" and "no interceptions" in r.stderr


# ---------------------------------------------------------------- time buckets

def test_buckets_by_day_and_hour_follow_the_time_zone(cli, conn):
    u = add_user(conn, "night")
    # 23:30 UTC on 1 Nov is 00:30 on 2 Nov in Berlin (UTC+1 in November).
    late = datetime(2026, 11, 1, 23, 30, tzinfo=timezone.utc)
    early = datetime(2026, 11, 1, 10, 15, tzinfo=timezone.utc)
    for ended, secs in ((late, 2), (late + timedelta(minutes=10), 4), (early, 1)):
        add_interception(conn, u, started_at=ended - timedelta(seconds=secs), ended_at=ended)
    span = ("--since", "2026-10-31", "--until", "2026-11-03")

    r = cli("telemetry", "summary", *span, "--by", "day", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert [(x["bucket"], x["interception_count"]) for x in json.loads(r.stdout)] == [("2026-11-01T00:00:00+00:00", 3)]

    r = cli("telemetry", "summary", *span, "--by", "day", "--tz", "Europe/Berlin", "-f", "json")
    rows = json.loads(r.stdout)
    assert [(x["bucket"], x["interception_count"]) for x in rows] == [
        ("2026-11-01T00:00:00+01:00", 1), ("2026-11-02T00:00:00+01:00", 2)]
    assert rows[1]["interception_duration_p50_millis"] == 3000 and set(rows[1]) >= {"bucket", *STAT_COLUMNS}

    r = cli("telemetry", "summary", *span, "--by", "HOUR", "--tz", "america/new_york", "-f", "json")
    assert [(x["bucket"], x["interception_count"]) for x in json.loads(r.stdout)] == [
        ("2026-11-01T05:00:00-05:00", 1), ("2026-11-01T18:00:00-05:00", 2)]  # EST since 06:00 UTC that day

    r = cli("telemetry", "summary", *span, "--by", "day", "--tz", "Europe/Berlin")
    assert r.exit_code == 0 and "2026-11-02" in r.stdout and "total" in r.stdout


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("args, fragment", [
    (("--tz", "Mars/Olympus_Mons", "--by", "day"), "--tz"),
    (("--tz", "Mars/Olympus_Mons"), "--tz"),
    (("--by", "week"), "--by"),
    (("--since", "2026-11-02", "--until", "2026-11-01"), "--ended-after"),
    (("--since", "2026-11-01", "--until", "2026-11-01"), "--ended-after"),
    (("--since", "last tuesday"), "--ended-after"),
    (("--until", "nope"), "--ended-before"),
    (("--initiator", "not-a-user"), "--initiator"),
    (("--format", "yaml"), "--format"),
])
def test_bad_input_is_one_line_without_output(cli, known, args, fragment):
    r = cli("telemetry", "summary", *args)
    assert r.exit_code in (1, 2)
    assert r.exit_code == (1 if fragment == "--initiator" else 2)
    assert r.stdout == ""
    assert r.stderr.startswith("error: ") and fragment in r.stderr.splitlines()[0]
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------- cache columns of newer deployments

def test_newer_layout_prefers_the_cache_columns_when_above_zero(cli, conn):
    # The embedded layout (0004) has the columns already, as a 2026-08 deployment does.
    u = add_user(conn, "newer")
    i = add_interception(conn, u, started_at=W0 + timedelta(hours=1))
    rows = [  # (metadata, read column, write column) -> counted (read, written)
        ({"cache_read_input": 11, "cache_creation_input": 3}, 0, 0),        # old rows: metadata (11, 3)
        ({"cache_read_input": 50, "cache_creation_input": 20}, 50, 20),     # both: counted once (50, 20)
        (None, 700, 0),                                                     # column only (700, 0)
        ({"prompt_cached": 9}, 0, 40),                                      # mixed (9, 40)
    ]
    for meta, read, write in rows:
        tu = add_token_usage(conn, i, metadata=meta)
        conn.execute("UPDATE aibridge_token_usages SET cache_read_input_tokens = %s, cache_write_input_tokens = %s "
                     "WHERE id = %s", (read, write, tu["id"]))
    got = summary_rows(conn, W0, W1)[("anthropic", "claude-sonnet-4", "Claude Code")]
    assert (got["token_count_cached_read"], got["token_count_cached_written"]) == (11 + 50 + 700 + 9, 3 + 20 + 0 + 40)
    assert per_group_rows(conn, W0, W1)[("anthropic", "claude-sonnet-4", "Claude Code")] == got
    r = cli("telemetry", "summary", *WINDOW, "-f", "json")
    assert json.loads(r.stdout)[0]["token_count_cached_read"] == 770


# ---------------------------------------------------------------- --as

def test_as_a_member_summarizes_only_their_own_interceptions(cli, conn, known):
    add_user(conn, "olive", roles=["owner"])
    alice = query.one(conn, "GetUserByUsername", username="alice")["id"]
    for who, keep in (("alice", lambda i: i["initiator_id"] == alice), ("olive", lambda i: True)):
        r = cli("--as", who, "telemetry", "summary", *WINDOW, "-f", "json")
        assert r.exit_code == 0, r.stderr
        got = {(x["provider"], x["model"], x["client"]): {c: x[c] for c in STAT_COLUMNS} for x in json.loads(r.stdout)}
        assert got == expected_summary(known, W0, W1, keep=keep), who
