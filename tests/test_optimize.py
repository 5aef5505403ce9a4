"""`db optimize`: our own indexes, built concurrently on request and never by `db migrate`."""

import json

import psycopg

from aibridge_cli import optimize
from conftest import make_cli


def index_names(dsn):
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'aibridge_interceptions'")}


def test_migrate_does_not_build_them_and_optimize_does(empty_dsn):
    run = make_cli(empty_dsn)
    assert run("db", "migrate").exit_code == 0
    ours = {i.name for i in optimize.indexes()}
    assert ours == {"idx_aibridge_interceptions_ended_at", "idx_aibridge_interceptions_session_pairs"}
    assert not ours & index_names(empty_dsn)

    status = run("db", "status")
    assert "aibridge's own indexes not built: idx_aibridge_interceptions_ended_at" in status.stderr
    dry = run("db", "optimize", "--dry-run", "--format", "json")
    assert dry.exit_code == 0
    assert {r["state"] for r in json.loads(dry.stdout)} == {"missing"}
    assert not ours & index_names(empty_dsn)

    built = run("db", "optimize")
    assert built.exit_code == 0, built.stderr
    assert "built 2 index(es)" in built.stderr
    assert ours <= index_names(empty_dsn)
    again = run("db", "optimize", "--format", "json")
    assert {r["state"] for r in json.loads(again.stdout)} == {"valid"}
    status = json.loads(run("db", "status", "--format", "jsonl").stdout)
    assert {i["state"] for i in status["indexes"]} == {"valid"}

    dropped = run("db", "optimize", "--drop")
    assert dropped.exit_code == 0 and "dropped 2" in dropped.stderr
    assert not ours & index_names(empty_dsn)


def test_an_invalid_leftover_is_rebuilt(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX idx_aibridge_interceptions_ended_at ON aibridge_interceptions (ended_at)")
        conn.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_aibridge_interceptions_ended_at'::regclass")
        assert optimize.status(conn)[0]["state"] == "invalid"
        assert "idx_aibridge_interceptions_ended_at" in optimize.create(conn)
        assert {r["state"] for r in optimize.status(conn)} == {"valid"}


def test_the_indexes_are_what_the_queries_use(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        optimize.create(conn)
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT count(*) FROM aibridge_interceptions WHERE ended_at >= now() - interval '1 hour'"))
        assert "idx_aibridge_interceptions_ended_at" in plan
