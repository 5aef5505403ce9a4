"""`--as USER`: the row filter injected where queries say `-- @authorize_filter`."""

import uuid

import pytest
from factories import add_interception, add_user, at

from aibridge_cli.db import query
from aibridge_cli.db.connect import Settings, connect
from aibridge_cli.policy import access
from aibridge_cli.sqlc import registry
from aibridge_cli.sqlc.translate import parse_text

PROBE = """
-- name: ProbeAuthzList :many
SELECT aibridge_interceptions.id
FROM aibridge_interceptions
WHERE aibridge_interceptions.provider != @provider::text
-- @authorize_filter
ORDER BY aibridge_interceptions.id
"""


@pytest.fixture
def probe(monkeypatch):
    """A marked list query, registered for the test's duration."""
    q = parse_text(PROBE, "probe.sql")[0]
    reg = dict(registry.registry())
    reg[q.name] = q
    monkeypatch.setattr(registry, "registry", lambda: reg)
    return q.name


@pytest.fixture
def people(conn):
    owner = add_user(conn, "olive", roles=["owner"])
    auditor = add_user(conn, "audrey", roles=["auditor"])
    alice = add_user(conn, "alice")
    bob = add_user(conn, "bob", roles=["template-admin"])
    rows = {u["username"]: [add_interception(conn, u, started_at=at(i))["id"] for i in range(n)]
            for u, n in ((owner, 1), (auditor, 1), (alice, 3), (bob, 2))}
    return {"users": {u["username"]: u for u in (owner, auditor, alice, bob)}, "ids": rows}


def _read_as(dsn, who, name):
    with connect(Settings(dsn=dsn, as_user=who)) as c:
        return {r["id"] for r in query.many(c, name)}, {r["id"] for r in query.stream(c, name)}


def test_members_see_only_their_own_and_owners_auditors_everything(dsn, people, probe):
    everything = {i for ids in people["ids"].values() for i in ids}
    for who, expected in (("alice", people["ids"]["alice"]), ("bob", people["ids"]["bob"]),
                          ("olive", everything), ("audrey", everything)):
        listed, streamed = _read_as(dsn, who, probe)
        assert listed == set(expected) == streamed, who
    # by UUID as well as by name
    listed, _ = _read_as(dsn, str(people["users"]["bob"]["id"]), probe)
    assert listed == set(people["ids"]["bob"])


def test_without_as_or_without_marker_nothing_changes(dsn, people, probe):
    everything = {i for ids in people["ids"].values() for i in ids}
    listed, _ = _read_as(dsn, None, probe)
    assert listed == everything
    with connect(Settings(dsn=dsn, as_user="alice")) as c:
        # AuthorizeFilter itself has no marker: it runs as written
        rows = query.many(c, "AuthorizeFilter", authz_user_id=people["users"]["bob"]["id"])
    assert {r["id"] for r in rows} == set(people["ids"]["bob"])


def test_the_filter_is_in_the_sql(dsn, people, probe):
    q = registry.get(probe)
    with connect(Settings(dsn=dsn, as_user="alice")) as c:
        sql, params = access.authorize(c.subject, q, q.sql, registry.bind(q, {}))
    assert "-- @authorize_filter" not in sql
    assert "AND (aibridge_interceptions.initiator_id = %(authz_user_id)s::uuid)" in sql
    assert params["authz_user_id"] == people["users"]["alice"]["id"]


def test_a_marker_right_after_where(dsn, people, monkeypatch):
    q = parse_text("-- name: ProbeFirst :many\nSELECT aibridge_interceptions.id FROM aibridge_interceptions\n"
                   "WHERE\n    -- @authorize_filter\n    aibridge_interceptions.provider != 'x'\n", "p.sql")[0]
    reg = {**registry.registry(), q.name: q}
    monkeypatch.setattr(registry, "registry", lambda: reg)
    listed, _ = _read_as(dsn, "bob", q.name)
    assert listed == set(people["ids"]["bob"])


def test_unknown_user_is_an_error(cli, people):
    r = cli("--as", "nobody", "db", "status")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: --as: no user named 'nobody'") and "Traceback" not in r.stderr
    r = cli("--as", str(uuid.uuid4()), "db", "status")
    assert r.exit_code == 1 and "no user with id" in r.stderr


def test_deleted_user_is_an_error(cli, conn):
    gone = add_user(conn, "gone", deleted=True)
    r = cli("--as", str(gone["id"]), "db", "status")
    assert r.exit_code == 1 and "is deleted" in r.stderr


def test_env_var_works_like_the_option(cli, people):
    r = cli("db", "status", env={"AIBRIDGE_AS": "nobody"})
    assert r.exit_code == 1 and "no user named 'nobody'" in r.stderr


def test_writing_as_a_restricted_user_is_refused(cli, conn, people):
    before = conn.execute("SELECT count(*) FROM aibridge_schema_migrations").fetchone()[0]
    conn.execute("DELETE FROM aibridge_schema_migrations")
    r = cli("--as", "alice", "db", "migrate")
    assert r.exit_code == 1 and "may only read" in r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_schema_migrations").fetchone()[0] == 0
    r = cli("--as", "olive", "db", "migrate")
    assert r.exit_code == 0, r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_schema_migrations").fetchone()[0] == before
