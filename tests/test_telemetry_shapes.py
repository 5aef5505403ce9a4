"""The two shapes of the one-pass telemetry summary on random data: they agree with the
per-group queries, with Python and (where the spec is at hand) with the reference SQL; buckets
add up; and the command picks the shape the window's size calls for."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from datetime import timedelta, timezone

import pytest
from factories import add_interception, add_user
from telemetry_data import (
    REFERENCE,
    SHAPES,
    W0,
    W1,
    WINDOW,
    expected_summary,
    known_data,
    per_group_rows,
    random_data,
    summary_rows,
)

from aibridge_cli.data.telemetry import STAT_COLUMNS
from aibridge_cli.db import query


@pytest.fixture
def known(conn):
    return known_data(conn)


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
    # The cached-token counts depart from the seed's on purpose (the one cache rule, see
    # telemetry.sql): test_deployment.py compares them with aibridge-2026-08.sql's.
    departed = {"token_count_cached_read", "token_count_cached_written"}

    def same(rows):
        return {k: {c: v for c, v in r.items() if c not in departed} for k, r in rows.items()}

    for after, before in ((W0, W1), (W0 + timedelta(hours=5), W0 + timedelta(hours=7))):
        assert same(summary_rows(conn, after, before, shape)) == same(per_group_rows(conn, after, before,
                                                                                     queries_by_name=ref))


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
