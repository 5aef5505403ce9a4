"""History (issue 17): hourly rollups that outlive prune. The oracle is the raw path itself
(`telemetry summary --exact`, spend on raw rows) asked before the raw rows go, and PostgreSQL's
percentile_cont reimplemented in Python for the histogram."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from factories import add_interception, add_prompt, add_token_usage, add_tool_usage, add_user

from aibridge_cli.data.history import percentile_from_histogram

D0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
PCT = ("interception_duration_p50_millis", "interception_duration_p90_millis",
       "interception_duration_p95_millis", "interception_duration_p99_millis")
KEYS = ("provider", "model", "client", "bucket")


def build(conn, n=160, base=D0, hours=48, seed=7):
    rnd = random.Random(seed)
    users = [add_user(conn, f"user{k}") for k in range(6)]
    rows = []
    for k in range(n):
        started = base + timedelta(minutes=rnd.uniform(0, hours * 60 - 30))
        seconds = rnd.choice([0.0, 0.0004]) if k % 37 == 0 else math.exp(rnd.uniform(math.log(0.05), math.log(600)))
        ended = None if k % 23 == 0 else started + timedelta(seconds=seconds)
        i = add_interception(conn, rnd.choice(users), provider=rnd.choice(["anthropic", "openai"]),
                             model=rnd.choice(["claude-sonnet-4-5", "gpt-4.1", "claude-haiku-4-5"]),
                             client=rnd.choice(["Claude Code", "Cursor", None]), started_at=started, ended_at=ended)
        for j in range(rnd.randint(0, 3)):
            meta = rnd.choice([None, {"cache_read_input": rnd.randint(0, 5000)},
                               {"prompt_cached": rnd.randint(0, 900), "cache_creation_input": rnd.randint(0, 300)},
                               {"input_cached": rnd.randint(1, 4000)},  # OpenAI Responses, as Codex writes it
                               {"cache_read_input": rnd.randint(1, 700), "prompt_cached": rnd.randint(1, 700)}])
            add_token_usage(conn, i, input_tokens=rnd.randint(1, 20000), output_tokens=rnd.randint(1, 3000),
                            metadata=meta, created_at=started + timedelta(seconds=j))
        for _ in range(rnd.randint(0, 2)):
            add_prompt(conn, i, "hello")
        for _ in range(rnd.randint(0, 3)):
            injected = rnd.random() < 0.4
            add_tool_usage(conn, i, injected=injected, invocation_error="boom" if injected and rnd.random() < 0.3 else None)
        rows.append(i)
    return users, rows


def summary(cli, *args):
    r = cli("telemetry", "summary", "-f", "json", *args)
    assert r.exit_code == 0, r.stderr
    return {tuple(row.get(k) for k in KEYS): row for row in json.loads(r.stdout)}


def assert_same(got: dict, want: dict):
    assert set(got) == set(want) and want
    for key, w in want.items():
        g = got[key]
        for col, value in w.items():
            if col in PCT:
                assert abs(g[col] - value) <= 0.01 * value + 1, (key, col, g[col], value)
            else:
                assert g[col] == value, (key, col, g[col], value)


SPEND_ASKS = [
    (),
    ("--by", "user,model"),
    ("--by", "day,provider", "--tz", "America/New_York"),
    ("--by", "month,client"),
    ("--by", "week", "--tz", "Asia/Tokyo"),
    ("--by", "user", "--provider", "anthropic"),
]
SPEND_EDGES = [("--by", "day", "--tz", z) for z in ("Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham")]
SPEND_WINDOW = ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z")


def spend(cli, *args):
    r = cli("spend", *SPEND_WINDOW, "-f", "json", *args)
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    number = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "unpriced_tokens")
    out = {}
    for row in rows:
        key = tuple((k, v) for k, v in row.items() if k not in number + ("cost_usd", "price_source"))
        out[key] = ({k: row[k] for k in number}, Decimal(str(row["cost_usd"])), row["price_source"])
    return out


def refresh(cli, *args):
    r = cli("history", "refresh", *args)
    assert r.exit_code == 0, r.stderr
    return r


WINDOWS = [
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z"),
    ("--since", "2026-11-01T05:17:00Z", "--until", "2026-11-02T13:42:30Z"),  # partial hours at both ends
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "hour"),
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "day", "--tz", "America/New_York"),
    # Offsets that are not whole hours: the hours cut by a local midnight are read raw.
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "day", "--tz", "Asia/Kolkata"),
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "day", "--tz", "Asia/Kathmandu"),
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "day", "--tz", "Pacific/Chatham"),
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "hour", "--tz", "Asia/Kolkata"),
    ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--provider", "openai", "--client", "Cursor"),
]


def test_history_agrees_with_raw_rows(conn, cli):
    build(conn)
    exact = [summary(cli, *w, "--exact") for w in WINDOWS]
    spend_exact = [spend(cli, *a, "--exact") for a in SPEND_ASKS + SPEND_EDGES]
    refresh(cli)
    for a, want in zip(SPEND_ASKS + SPEND_EDGES, spend_exact):
        got = spend(cli, *a)
        assert got == want and want, a
    rolled = conn.execute("SELECT count(*) FROM aibridge_history_interception_hours").fetchone()[0]
    assert rolled > 0
    for w, want in zip(WINDOWS, exact):
        assert_same(summary(cli, *w), want)
    # History is really what answers: hours thinned behind the raw path's back still count.
    conn.execute("DELETE FROM aibridge_tool_usages")
    got = summary(cli, *WINDOWS[0])
    assert sum(r["tool_calls_count_non_injected"] for r in got.values()) == \
        sum(r["tool_calls_count_non_injected"] for r in exact[0].values()) > 0


def test_prune_then_ask_again(conn, cli):
    users, _ = build(conn)
    asks = [WINDOWS[0], WINDOWS[2], WINDOWS[3], WINDOWS[8],
            ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--initiator", "user3"),
            ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "day", "--tz", "Asia/Tokyo")]
    before = [summary(cli, *a, "--exact") for a in asks]
    spend_before = [spend(cli, *a, "--exact") for a in SPEND_ASKS]
    r = cli("prune", "--before", "2026-11-02T06:00:00Z")  # prune refreshes history first, in the same run
    assert r.exit_code == 0, r.stderr
    assert "history:" in r.stderr
    left = conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE started_at < '2026-11-02T06:00Z'").fetchone()[0]
    assert left == 0
    for a, want in zip(asks, before):
        assert_same(summary(cli, *a), want)
    for a, want in zip(SPEND_ASKS, spend_before):
        got = spend(cli, *a)
        assert got == want and want, a
    r = cli("spend", *SPEND_WINDOW, "--exact")
    assert r.exit_code == 2 and "prune" in r.stderr
    # History has no sessions: --by session says the pruned hours are missing, never silently.
    r = cli("spend", *SPEND_WINDOW, "--by", "session", "-f", "json")
    assert r.exit_code == 0 and "history not used (--by session)" in r.stderr
    # --as: a member sees only their own interceptions, from history too.
    mine = summary(cli, "--as", "user3", *WINDOWS[0])
    assert sum(r["interception_count"] for r in mine.values()) == \
        sum(r["interception_count"] for r in before[4].values()) > 0
    # --exact now reaches pruned hours: an error, not a smaller answer.
    r = cli("telemetry", "summary", *WINDOWS[0], "--exact")
    assert r.exit_code == 2 and "--exact" in r.stderr and "prune" in r.stderr
    # A refresh never rebuilds the pruned hours from what is left.
    refresh(cli, "--since", "2026-11-01T00:00:00Z")
    assert_same(summary(cli, *WINDOWS[0]), before[0])


def test_usage_hours_cost_equals_spend(conn, cli):
    build(conn)
    refresh(cli)
    r = cli("spend", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--by", "user,model",
            "-f", "json")
    assert r.exit_code == 0, r.stderr
    want = {(row["initiator_id"], row["model"]): row for row in json.loads(r.stdout)}
    got = conn.execute(
        "SELECT initiator_id::text, model, sum(cost_micros), sum(input_tokens), sum(cache_read_tokens), "
        "sum(unpriced_tokens), bit_or(sources) FROM aibridge_history_usage_hours "
        "WHERE hour >= '2026-11-01' AND hour < '2026-11-03' GROUP BY 1, 2").fetchall()
    assert len(got) == len(want) > 0
    for uid, model, micros, inp, cread, unpriced, _sources in got:
        w = want[(uid, model)]
        assert Decimal(micros) / 1_000_000 == Decimal(str(w["cost_usd"]))
        assert (inp, cread, unpriced) == (w["input_tokens"], w["cache_read_tokens"], w["unpriced_tokens"])


def test_late_writes_are_picked_up(conn, cli):
    now = datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)  # closed, within the lookback
    u = add_user(conn, "late")
    add_interception(conn, u, started_at=hour + timedelta(minutes=5), ended_at=hour + timedelta(minutes=6))
    refresh(cli)
    window = ("--since", (hour - timedelta(hours=1)).isoformat(), "--until", (hour + timedelta(hours=1)).isoformat())
    assert sum(r["interception_count"] for r in summary(cli, *window).values()) == 1
    add_interception(conn, u, started_at=hour + timedelta(minutes=7), ended_at=hour + timedelta(minutes=50))
    refresh(cli)
    assert sum(r["interception_count"] for r in summary(cli, *window).values()) == 2
    # Older hours than the lookback: `--since` rebuilds them.
    old = hour - timedelta(days=2)
    add_interception(conn, u, started_at=old + timedelta(minutes=1), ended_at=old + timedelta(minutes=2))
    refresh(cli, "--since", (old - timedelta(hours=1)).isoformat())
    w2 = ("--since", (old - timedelta(hours=1)).isoformat(), "--until", (hour + timedelta(hours=1)).isoformat())
    assert sum(r["interception_count"] for r in summary(cli, *w2).values()) == 3


def test_kill_9_during_refresh_loses_and_doubles_nothing(conn, cli, dsn):
    build(conn, n=120)
    env = {**os.environ, "AIBRIDGE_DSN": dsn}
    proc = subprocess.Popen([sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "history", "refresh",
                             "--batch-hours", "1", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    watermark = None
    while time.monotonic() < deadline and proc.poll() is None:
        watermark = conn.execute("SELECT watermark FROM aibridge_history_state").fetchone()[0]
        if watermark is not None and watermark > D0 + timedelta(hours=12):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the refresh ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wm = conn.execute("SELECT watermark FROM aibridge_history_state").fetchone()[0]
    # Every hour before the watermark is complete, none after it was written half.
    raw = conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE ended_at < %s", [wm]).fetchone()[0]
    rolled, after = conn.execute(
        "SELECT COALESCE(sum(interceptions) FILTER (WHERE hour < %s), 0), count(*) FILTER (WHERE hour >= %s) "
        "FROM aibridge_history_interception_hours", [wm, wm]).fetchone()
    assert rolled == raw and after == 0
    refresh(cli)
    raw_all = conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE ended_at IS NOT NULL").fetchone()[0]
    tokens = conn.execute("SELECT count(*) FROM aibridge_token_usages").fetchone()[0]
    assert conn.execute("SELECT sum(interceptions) FROM aibridge_history_interception_hours").fetchone()[0] == raw_all
    assert conn.execute("SELECT sum(token_usages) FROM aibridge_history_usage_hours").fetchone()[0] == tokens
    dupes = conn.execute("SELECT count(*) FROM (SELECT 1 FROM aibridge_history_interception_hours GROUP BY hour, "
                         "initiator_id, provider, model, client, provider_name HAVING count(*) > 1) d").fetchone()[0]
    assert dupes == 0


def test_one_refresh_at_a_time(conn, cli, dsn):
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended('aibridge_history', 0))")
        r = cli("history", "refresh")
        assert r.exit_code == 3 and "another" in r.stderr
        r = cli("prune", "--before", "2026-11-02T00:00:00Z")
        assert r.exit_code == 3
    refresh(cli)


def test_status_and_without_history_tables(conn, cli):
    build(conn, n=30)
    refresh(cli)
    r = cli("history", "status", "-f", "json")
    assert r.exit_code == 0, r.stderr
    st = json.loads(r.stdout)[0]
    assert st["interception_hour_rows"] == conn.execute(
        "SELECT count(*) FROM aibridge_history_interception_hours").fetchone()[0] > 0
    first = conn.execute("SELECT date_trunc('hour', least(min(i.ended_at), min(t.created_at)), 'UTC') "
                         "FROM aibridge_interceptions i FULL JOIN aibridge_token_usages t ON false").fetchone()[0]
    assert datetime.fromisoformat(st["first_hour"]) == first and st["size_bytes"] > 0
    want = summary(cli, *WINDOWS[0], "--exact")
    conn.execute("DROP TABLE aibridge_history_interception_hours, aibridge_history_usage_hours, aibridge_history_state")
    assert summary(cli, *WINDOWS[0]) == want  # raw rows, as before history
    r = cli("history", "refresh")
    assert r.exit_code != 0 and "db migrate" in r.stderr and "Traceback" not in r.stderr


def percentile_cont(values, p):
    values = sorted(values)
    pos = p * (len(values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


@pytest.mark.parametrize("seed", range(5))
def test_histogram_percentiles_within_one_percent(seed):
    rnd = random.Random(seed)
    values = [math.exp(rnd.uniform(math.log(1e-5), math.log(3600))) for _ in range(rnd.randint(1, 400))]
    hist: dict[int, int] = {}
    for v in values:  # the bucket rule of 0007_history.sql
        b = math.floor(math.log(v * 1_000_000) / math.log(1.02))
        hist[b] = hist.get(b, 0) + 1
    buckets = sorted(hist)
    for p in (0.5, 0.9, 0.95, 0.99, 0.0, 1.0):
        exact = percentile_cont(values, p)
        got = percentile_from_histogram(buckets, [hist[b] for b in buckets], p)
        assert abs(got - exact) <= 0.01 * exact, (p, got, exact)
