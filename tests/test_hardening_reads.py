"""One bad row must never break reads: times PostgreSQL stores but Python cannot hold (year
10000, BC, infinity), inserted by SQL as a deployment might hold them, are listed, shown,
counted in sessions and pruned."""

from __future__ import annotations

import json
import uuid

import pytest
from factories import add_interception, add_user, at

# What each stored time prints as: PostgreSQL's own text of it, in UTC, in RFC 3339's shape.
STORED = [
    ("9999-12-31T23:59:59-14:00", "10000-01-01T13:59:59+00:00"),
    ("0001-01-01T00:00:00+14:00", "0001-12-31T10:00:00+00:00 BC"),
    ("4713-01-01T00:00:00Z BC", "4713-01-01T00:00:00+00:00 BC"),
    ("infinity", "infinity"),
]


@pytest.fixture
def odd(conn):
    conn.execute("SET TIME ZONE 'UTC'")
    alice = add_user(conn, "alice")
    normal = add_interception(conn, alice, started_at=at(0), ended_at=at(1))
    ids = []
    for stored, _ in STORED:
        iid = uuid.uuid4()
        # started and ended the same odd instant (ended_at >= started_at holds)
        conn.execute("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, ended_at, "
                     "metadata, client) VALUES (%s, %s, 'p', 'm', %s::timestamptz, %s::timestamptz, '{}', 'c')",
                     (iid, alice["id"], stored, stored))
        ids.append(iid)
    return normal, ids


def test_interceptions_list_renders_every_stored_time(cli, odd):
    normal, ids = odd
    r = cli("interceptions", "list", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {str(normal["id"]), *map(str, ids)}
    for iid, (_, shown) in zip(ids, STORED):
        assert rows[str(iid)]["started_at"] == shown
    # the table renders too (no overflow converting to UTC)
    r = cli("interceptions", "list")
    assert r.exit_code == 0, r.stderr
    assert "10000-01-01" in r.stdout


@pytest.mark.parametrize("i", range(len(STORED)))
def test_show_renders_an_out_of_range_time(cli, odd, i):
    _, ids = odd
    r = cli("interceptions", "show", str(ids[i]), "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert STORED[i][1] in r.stdout
    r = cli("interceptions", "show", str(ids[i]))
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_sessions_list_survives_out_of_range_times(cli, odd, fmt):
    r = cli("sessions", "list", "-f", fmt)
    assert r.exit_code == 0, r.stderr
    if fmt == "json":
        assert len(json.loads(r.stdout)) == 1 + len(STORED)


def test_prune_removes_bc_rows_and_keeps_year_10000(cli, conn, odd):
    normal, ids = odd
    r = cli("prune", "--older-than", "1d", "-f", "json")
    assert r.exit_code == 0, r.stderr
    left = {row[0] for row in conn.execute("SELECT id FROM aibridge_interceptions")}
    # BC and 2026-11-01 are older than a day; year 10000 and infinity are not
    assert left == {ids[0], ids[3]}
