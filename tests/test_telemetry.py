"""`aibridge telemetry summary` and its queries, against statistics computed here in Python
from the same fixture data (and, where the spec is at hand, against the reference's own SQL)."""

from __future__ import annotations

import json
import math
import os
import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from factories import add_interception, add_prompt, add_token_usage, add_tool_usage, add_user

from aibridge_cli.data.telemetry import STAT_COLUMNS
from aibridge_cli.db import query
from aibridge_cli.sqlc import registry

W0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)  # the tests' window: [W0, W1)
W1 = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
WINDOW = ("--since", W0.isoformat(), "--until", W1.isoformat())
# The specification beside the project (CI has it); AIBRIDGE_SPEC_DIR points elsewhere.
SPEC_DIR = Path(os.environ.get("AIBRIDGE_SPEC_DIR") or Path(__file__).resolve().parents[2] / "shared" / "spec")
REFERENCE = SPEC_DIR / "aibridge.sql"


# ---------------------------------------------------------------- the statistics, in Python

def percentile_cont(sorted_values, fraction):
    """PostgreSQL's continuous percentile: linear interpolation between the closest ranks."""
    if not sorted_values:
        return 0.0
    pos = fraction * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return sorted_values[lo]
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _meta_int(meta, key):
    return int(meta[key]) if meta and meta.get(key) is not None else 0


def cached(tu, with_columns):
    """Cached tokens of one token usage row: the column when above zero, else the metadata."""
    meta = tu.get("metadata")
    read = _meta_int(meta, "cache_read_input") + _meta_int(meta, "prompt_cached")
    written = _meta_int(meta, "cache_creation_input")
    if with_columns:
        if (tu.get("cache_read_input_tokens") or 0) > 0:
            read = tu["cache_read_input_tokens"]
        if (tu.get("cache_write_input_tokens") or 0) > 0:
            written = tu["cache_write_input_tokens"]
    return read, written


def expected_summary(data, after, before, *, with_columns=False, keep=lambda i: True):
    """{(provider, model, client): {column: value}} for interceptions ended in [after, before)."""
    groups = defaultdict(list)
    for i in data["interceptions"]:
        if i["ended_at"] is not None and after <= i["ended_at"] < before and keep(i):
            groups[(i["provider"], i["model"], i["client"] or "Unknown")].append(i)
    out = {}
    for key, members in groups.items():
        ids = {i["id"] for i in members}
        seconds = sorted((i["ended_at"] - i["started_at"]).total_seconds() for i in members)
        toks = [t for t in data["tokens"] if t["interception_id"] in ids]
        tools = [t for t in data["tools"] if t["interception_id"] in ids]
        reads_writes = [cached(t, with_columns) for t in toks]
        stats = {
            "interception_count": len(members),
            "unique_initiator_count": len({i["initiator_id"] for i in members}),
            "user_prompts_count": sum(1 for p in data["prompts"] if p["interception_id"] in ids),
            "token_usages_count": len(toks),
            "token_count_input": sum(t["input_tokens"] for t in toks),
            "token_count_output": sum(t["output_tokens"] for t in toks),
            "token_count_cached_read": sum(r for r, _ in reads_writes),
            "token_count_cached_written": sum(w for _, w in reads_writes),
            "tool_calls_count_injected": sum(1 for t in tools if t["injected"]),
            "tool_calls_count_non_injected": sum(1 for t in tools if not t["injected"]),
            "injected_tool_call_error_count": sum(1 for t in tools if t["injected"] and t["invocation_error"] is not None),
        }
        for pct in (50, 90, 95, 99):
            # PostgreSQL's float8 -> bigint rounds half to even, like Python's round().
            stats[f"interception_duration_p{pct}_millis"] = round(percentile_cont(seconds, pct / 100) * 1000)
        out[key] = stats
    return out


# The two shapes of the one-pass summary (the command picks one by the window's estimated size);
# every agreement test below holds for both.
SHAPES = ("SummarizeAIBridgeInterceptionsTelemetry", "SummarizeAIBridgeInterceptionsTelemetryFewInterceptions")


def summary_rows(conn, after, before, shape=SHAPES[0], **params):
    rows = query.many(conn, shape, ended_at_after=after, ended_at_before=before, **params)
    return {(r["provider"], r["model"], r["client"]): {c: r[c] for c in STAT_COLUMNS} for r in rows}


def per_group_rows(conn, after, before, queries_by_name=None):
    """Our reference-named queries, run the reference's way: list the groups, then one query each."""
    run_many, run_one = _runner(conn, queries_by_name)
    groups = run_many("ListAIBridgeInterceptionsTelemetrySummaries", ended_at_after=after, ended_at_before=before)
    out = {}
    for g in groups:
        row = run_one("CalculateAIBridgeInterceptionsTelemetrySummary", provider=g["provider"], model=g["model"],
                      client=g["client"], ended_at_after=after, ended_at_before=before)
        out[(g["provider"], g["model"], g["client"])] = {c: row[c] for c in STAT_COLUMNS}
    return out


def _runner(conn, queries_by_name):
    if queries_by_name is None:
        return (lambda name, **p: query.many(conn, name, **p)), (lambda name, **p: query.one(conn, name, **p))

    def execute(name, p):
        q = queries_by_name[name]
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        cur.execute(q.sql, registry.bind(q, p))
        return cur

    return (lambda name, **p: execute(name, p).fetchall()), (lambda name, **p: execute(name, p).fetchone())


# ---------------------------------------------------------------- known data

def _record(data, kind, row):
    data[kind].append(row)
    return row


@pytest.fixture
def known(conn):
    """Five groups with hand-picked values, plus rows that must not count."""
    data = {"interceptions": [], "tokens": [], "prompts": [], "tools": []}
    alice, bob, carol = add_user(conn, "alice"), add_user(conn, "bob"), add_user(conn, "carol")
    base = W0 + timedelta(hours=6)

    def icpt(user, seconds, *, provider="anthropic", model="claude-sonnet-4", client="Claude Code", start=base, ended=True):
        row = add_interception(conn, user, provider=provider, model=model, client=client, started_at=start,
                               ended_at=start + timedelta(seconds=seconds) if ended else None)
        return _record(data, "interceptions", row)

    def tok(i, inp, out, metadata=None):
        return _record(data, "tokens", add_token_usage(conn, i, input_tokens=inp, output_tokens=out, metadata=metadata))

    def prompt(i):
        return _record(data, "prompts", add_prompt(conn, i, "hello"))

    def tool(i, injected=False, error=None):
        return _record(data, "tools", add_tool_usage(conn, i, injected=injected, invocation_error=error))

    # anthropic / sonnet / Claude Code: three interceptions of 1 s, 2 s and 4.5 s by two users.
    a1, a2, a3 = icpt(alice, 1), icpt(alice, 2), icpt(bob, 4.5)
    tok(a1, 100, 10, {"cache_read_input": 1000, "cache_creation_input": 50, "cache_ephemeral_5m_input": 50})
    tok(a1, 200, 20, {"cache_read_input": 500})
    tok(a2, 300, 30, None)  # NULL metadata counts input and output, no cache
    tok(a3, 400, 40, {})
    prompt(a1), prompt(a1), prompt(a3)
    tool(a1, injected=True, error="timeout"), tool(a1, injected=True), tool(a2), tool(a2), tool(a3)
    # openai / gpt-5 / NULL client and literal 'Unknown': one group, 'Unknown'.
    o1 = icpt(carol, 0.25, provider="openai", model="gpt-5", client=None)
    o2 = icpt(alice, 0.75, provider="openai", model="gpt-5", client="Unknown")
    tok(o1, 1000, 100, {"prompt_cached": 700, "completion_reasoning": 30})
    tok(o2, 10, 1, {"prompt_cached": 5, "cache_read_input": 1})
    prompt(o2)
    # openai / gpt-5 / Codex: no token usage, no tool calls, no prompts.
    icpt(bob, 10, provider="openai", model="gpt-5", client="Codex")
    # anthropic / opus / Cursor: token usage but no tool calls; only injected tools failing elsewhere.
    c1 = icpt(bob, 3, model="claude-opus-4", client="Cursor")
    tok(c1, 5, 6, {"cache_creation_input": 7})
    # A non-injected tool call with an error does not count as an injected failure.
    c2 = icpt(carol, 3, model="claude-opus-4", client="Cursor")
    tool(c2, injected=False, error="client-side")
    # Never counted: in flight, ended before the window, ended at its end, another window's child rows.
    inflight = icpt(alice, 0, ended=False)
    tok(inflight, 9999, 9999), prompt(inflight), tool(inflight, injected=True, error="x")
    early = icpt(alice, 1, start=W0 - timedelta(hours=2))
    tok(early, 9999, 9999)
    late = icpt(bob, 0, start=W1)
    tool(late)
    return data


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
    assert unknown["token_count_cached_read"] == 700 + 5 + 1  # prompt_cached plus cache_read_input
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
        assert set(x) == {"provider", "model", "client", *STAT_COLUMNS, "ended_at_after", "ended_at_before"}
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
    conn.execute("ALTER TABLE aibridge_token_usages ADD COLUMN cache_read_input_tokens bigint NOT NULL DEFAULT 0, "
                 "ADD COLUMN cache_write_input_tokens bigint NOT NULL DEFAULT 0")
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


# ---------------------------------------------------------------- randomized agreement

def random_data(conn, seed, *, with_columns=False, n=400):
    rnd = random.Random(seed)
    users = [add_user(conn, f"user{seed}_{k}") for k in range(6)]
    data = {"interceptions": [], "tokens": [], "prompts": [], "tools": []}
    if with_columns:
        conn.execute("ALTER TABLE aibridge_token_usages ADD COLUMN cache_read_input_tokens bigint, "
                     "ADD COLUMN cache_write_input_tokens bigint")
    metas = [None, {}, {"cache_read_input": 0}, {"prompt_cached": 1}, {"completion_reasoning": 4}]
    icpt_rows, tok_rows, prompt_rows, tool_rows = [], [], [], []
    for _ in range(n):
        start = W0 + timedelta(seconds=rnd.uniform(-6 * 3600, 26 * 3600), microseconds=rnd.randrange(10**6))
        ended = None if rnd.random() < 0.05 else start + timedelta(microseconds=rnd.choice(
            [rnd.randrange(10**7), rnd.randrange(10**9), 500_000, 1_500, rnd.randrange(3 * 86400 * 10**6)]))
        i = {"id": uuid.uuid4(), "initiator_id": rnd.choice(users)["id"], "provider": rnd.choice(["anthropic", "openai"]),
             "model": rnd.choice(["m1", "m2", "m3"]), "client": rnd.choice(["Claude Code", "Codex", None, "Unknown"]),
             "started_at": start, "ended_at": ended}
        data["interceptions"].append(i)
        icpt_rows.append(i)
        for _ in range(rnd.choice([0, 0, 1, 2, 3])):
            meta = rnd.choice(metas + [{"cache_read_input": rnd.randrange(5000), "cache_creation_input": rnd.randrange(900)},
                                       {"prompt_cached": rnd.randrange(3000)},
                                       {"cache_read_input": rnd.randrange(50), "prompt_cached": rnd.randrange(50)}])
            t = {"id": uuid.uuid4(), "interception_id": i["id"], "input_tokens": rnd.randrange(10**5),
                 "output_tokens": rnd.randrange(10**4), "metadata": meta,
                 "cache_read_input_tokens": rnd.choice([None, 0, rnd.randrange(1, 999)]),
                 "cache_write_input_tokens": rnd.choice([None, 0, rnd.randrange(1, 99)])}
            data["tokens"].append(t)
            tok_rows.append(t)
        for _ in range(rnd.choice([0, 1, 1, 2])):
            p = {"id": uuid.uuid4(), "interception_id": i["id"]}
            data["prompts"].append(p)
            prompt_rows.append(p)
        for _ in range(rnd.choice([0, 0, 1, 3])):
            injected = rnd.random() < 0.4
            t = {"id": uuid.uuid4(), "interception_id": i["id"], "injected": injected,
                 "invocation_error": rnd.choice([None, None, "boom"])}
            data["tools"].append(t)
            tool_rows.append(t)
    from psycopg.types.json import Jsonb

    with conn.cursor() as cur:
        cur.executemany("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, client, started_at, ended_at, metadata) "
                        "VALUES (%(id)s, %(initiator_id)s, %(provider)s, %(model)s, %(client)s, %(started_at)s, %(ended_at)s, '{}')",
                        icpt_rows)
        cols = ", cache_read_input_tokens, cache_write_input_tokens" if with_columns else ""
        vals = ", %(cache_read_input_tokens)s, %(cache_write_input_tokens)s" if with_columns else ""
        cur.executemany(f"INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, "
                        f"output_tokens, metadata, created_at{cols}) VALUES (%(id)s, %(interception_id)s, 'r', "
                        f"%(input_tokens)s, %(output_tokens)s, %(meta)s, now(){vals})",
                        [{**t, "meta": None if t["metadata"] is None else Jsonb(t["metadata"])} for t in tok_rows])
        cur.executemany("INSERT INTO aibridge_user_prompts (id, interception_id, provider_response_id, prompt, created_at) "
                        "VALUES (%(id)s, %(interception_id)s, 'r', 'p', now())", prompt_rows)
        cur.executemany("INSERT INTO aibridge_tool_usages (id, interception_id, provider_response_id, tool, input, injected, "
                        "invocation_error, created_at) VALUES (%(id)s, %(interception_id)s, 'r', 't', '{}', %(injected)s, "
                        "%(invocation_error)s, now())", tool_rows)
    return data


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed, with_columns", [(1, False), (2, False), (3, True), (4, True)])
def test_one_pass_agrees_with_per_group_queries_on_random_data(conn, seed, with_columns, shape):
    data = random_data(conn, seed, with_columns=with_columns)
    windows = [(W0, W1), (W0 + timedelta(hours=3), W0 + timedelta(hours=4)), (W0 - timedelta(days=9), W1 + timedelta(days=9))]
    for after, before in windows:
        one_pass = summary_rows(conn, after, before, shape)
        assert one_pass == per_group_rows(conn, after, before)
        assert one_pass == expected_summary(data, after, before, with_columns=with_columns)
        assert one_pass, "the random data should fill every window"


@pytest.mark.skipif(not REFERENCE.exists(), reason="the reference query file is not beside the project")
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [5, 6])
def test_one_pass_agrees_with_the_reference_sql_itself(conn, seed, shape):
    """The reference's own queries, read at run time from the spec (never copied here)."""
    from aibridge_cli.sqlc.translate import parse_file

    ref = {q.name: q for q in parse_file(REFERENCE)}
    random_data(conn, seed)
    for after, before in ((W0, W1), (W0 + timedelta(hours=5), W0 + timedelta(hours=7))):
        assert summary_rows(conn, after, before, shape) == per_group_rows(conn, after, before, queries_by_name=ref)


@pytest.mark.parametrize("shape", SHAPES)
def test_by_bucket_rows_add_up_to_the_window_totals(conn, shape):
    data = random_data(conn, 7)
    rows = query.many(conn, shape, ended_at_after=W0, ended_at_before=W1, bucket="hour", tz="UTC")
    additive = [c for c in STAT_COLUMNS if "millis" not in c and c != "unique_initiator_count"]
    sums = defaultdict(lambda: defaultdict(int))
    buckets = defaultdict(dict)
    for r in rows:
        key = (r["provider"], r["model"], r["client"])
        for c in additive:
            sums[key][c] += r[c]
        buckets[r["bucket"]][key] = {c: r[c] for c in STAT_COLUMNS}
    # The buckets of each group add up to the group's totals over the whole window, computed in
    # Python from the rows written.
    whole = expected_summary(data, W0, W1)
    assert {k: dict(v) for k, v in sums.items()} == {k: {c: v[c] for c in additive} for k, v in whole.items()}
    # The buckets are the UTC hours in which interceptions ended, and each is the summary of its hour.
    hours = {i["ended_at"].astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
             for i in data["interceptions"] if i["ended_at"] is not None and W0 <= i["ended_at"] < W1}
    assert len(hours) > 12 and set(buckets) == hours
    for hour, got in buckets.items():
        assert got == expected_summary(data, hour, hour + timedelta(hours=1)), hour


# ---------------------------------------------------------------- --as

def test_as_a_member_summarizes_only_their_own_interceptions(cli, conn, known):
    add_user(conn, "olive", roles=["owner"])
    alice = query.one(conn, "GetUserByUsername", username="alice")["id"]
    for who, keep in (("alice", lambda i: i["initiator_id"] == alice), ("olive", lambda i: True)):
        r = cli("--as", who, "telemetry", "summary", *WINDOW, "-f", "json")
        assert r.exit_code == 0, r.stderr
        got = {(x["provider"], x["model"], x["client"]): {c: x[c] for c in STAT_COLUMNS} for x in json.loads(r.stdout)}
        assert got == expected_summary(known, W0, W1, keep=keep), who


@pytest.mark.parametrize("shape", SHAPES)
def test_unique_initiators_count_each_user_once_per_group_and_bucket(conn, shape):
    """Users with many interceptions, spread over two groups and several hours, count once in each."""
    rng = random.Random(11)
    users = [add_user(conn, f"u{n}")["id"] for n in range(5)]
    made = []  # (model, hour the interception ended in, initiator)
    for _ in range(120):
        who, model = rng.choice(users), rng.choice(["m-a", "m-b"])
        start = W0 + timedelta(minutes=rng.randrange(0, 4 * 60))
        end = start + timedelta(seconds=rng.randrange(1, 90))
        add_interception(conn, who, model=model, started_at=start, ended_at=end)
        made.append((model, end.replace(minute=0, second=0, microsecond=0), who))
    flat = query.many(conn, shape, ended_at_after=W0, ended_at_before=W1)
    assert {r["model"]: r["unique_initiator_count"] for r in flat} == {
        m: len({w for mm, _, w in made if mm == m}) for m in ("m-a", "m-b")}
    hourly = query.many(conn, shape, ended_at_after=W0, ended_at_before=W1, bucket="hour", tz="UTC")
    expected = defaultdict(set)
    for model, hour, who in made:
        expected[(model, hour)].add(who)
    assert {(r["model"], r["bucket"]): r["unique_initiator_count"] for r in hourly} == {
        k: len(v) for k, v in expected.items()}


# ---------------------------------------------------------------- which shape runs

def test_the_window_estimate_picks_the_shape(conn):
    from aibridge_cli.data.telemetry import FEW_INTERCEPTIONS, summary_query

    users = [add_user(conn, f"e{n}")["id"] for n in range(3)]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, ended_at) "
                        "VALUES (%s, %s, 'openai', 'gpt-5', %s, %s)",
                        [(uuid.uuid4(), users[n % 3], W0 + timedelta(seconds=n), W0 + timedelta(seconds=n + 1))
                         for n in range(FEW_INTERCEPTIONS + 5000)])
    conn.execute("ANALYZE aibridge_interceptions")
    # Nearly every row ended in the first window, about a tenth of them in the second.
    assert summary_query(conn, W0, W1) == SHAPES[0]
    tenth = W0 + timedelta(seconds=(FEW_INTERCEPTIONS + 5000) // 10)
    assert summary_query(conn, W0, tenth) == SHAPES[1]
    assert summary_query(conn, W1, W1 + timedelta(days=1)) == SHAPES[1]


def test_rows_written_since_the_statistics_keep_the_hashed_shape(conn, monkeypatch):
    """A bulk write the statistics have not seen yet: the estimate says few, the table says many."""
    from aibridge_cli.data import telemetry

    monkeypatch.setattr(telemetry, "FEW_INTERCEPTIONS_AT_WORST", 300)
    conn.execute("ALTER TABLE aibridge_interceptions SET (autovacuum_enabled = false)")
    user = add_user(conn, "bulk")["id"]
    conn.execute("ANALYZE aibridge_interceptions")
    assert telemetry.summary_query(conn, W0, W1) == SHAPES[1]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, ended_at) "
                        "VALUES (%s, %s, 'openai', 'gpt-5', %s, %s)",
                        [(uuid.uuid4(), user, W0 + timedelta(seconds=n), W0 + timedelta(seconds=n + 1)) for n in range(400)])
    # A backend hands its counters over when idle, at most once a second unless asked to.
    conn.execute("SELECT pg_stat_force_next_flush()")
    changed = query.one(conn, "TelemetryRowsChangedSinceAnalyze")["changed"]
    assert changed >= 400
    assert telemetry.summary_query(conn, W0, W1) == SHAPES[0]
    conn.execute("ANALYZE aibridge_interceptions")
    assert query.one(conn, "TelemetryRowsChangedSinceAnalyze")["changed"] == 0
    assert telemetry.summary_query(conn, W1, W1 + timedelta(days=1)) == SHAPES[1]


def test_the_command_answers_the_same_with_either_shape(cli, known, monkeypatch):
    from aibridge_cli.data import telemetry

    few = cli("telemetry", "summary", *WINDOW, "-f", "json", "--by", "hour")
    monkeypatch.setattr(telemetry, "FEW_INTERCEPTIONS", -1)  # every window counts as large
    many = cli("telemetry", "summary", *WINDOW, "-f", "json", "--by", "hour")
    assert few.exit_code == many.exit_code == 0, few.stderr + many.stderr
    assert json.loads(few.stdout) == json.loads(many.stdout) and json.loads(few.stdout)
