"""Our own indexes: built by `db migrate` only on a fresh database, else concurrently by `db optimize`."""

import json

import psycopg
from conftest import make_cli

from aibridge_cli.db import optimize


def index_names(dsn):
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'aibridge_interceptions'")}


def test_a_fresh_database_gets_them_from_migrate(empty_dsn):
    run = make_cli(empty_dsn)
    migrated = run("db", "migrate")
    assert migrated.exit_code == 0 and migrated.stdout == ""  # the table format reports on stderr only
    assert "not built" not in migrated.stderr
    ours = {i.name for i in optimize.indexes()}
    assert ours == {"idx_aibridge_interceptions_ended_at", "idx_aibridge_interceptions_session_pairs"}
    assert ours <= index_names(empty_dsn)
    status = json.loads(run("db", "status", "--format", "jsonl").stdout)
    assert {i["state"] for i in status["indexes"]} == {"valid"}


def test_migration_and_optimize_build_the_same_indexes(empty_dsn, dsn):
    """0003's plain CREATE INDEX and sql/optimize's concurrent one must not drift apart."""
    assert make_cli(empty_dsn)("db", "migrate").exit_code == 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        optimize.drop(conn)
        optimize.create(conn)
        by_optimize = index_defs(conn)
    with psycopg.connect(empty_dsn) as conn:
        assert index_defs(conn) == by_optimize
        assert len(by_optimize) == len(optimize.indexes())


def index_defs(conn):
    names = [i.name for i in optimize.indexes()]
    return {r[0]: r[1] for r in conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [names])}


def deployment_tables(dsn, *, with_row=False, coder=False):
    """The tables as a deployment has them before aibridge ever migrates: schema 0001-0002 only."""
    from aibridge_cli.sqlc.registry import sql_dir

    with psycopg.connect(dsn, autocommit=True) as conn:
        for f in ("0001_users.sql", "0002_aibridge.sql"):
            conn.execute((sql_dir() / "schema" / f).read_text())
        if coder:
            conn.execute("CREATE TABLE workspaces (id uuid); CREATE TABLE templates (id uuid)")
        if with_row:
            conn.execute("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at) "
                         "VALUES (gen_random_uuid(), gen_random_uuid(), 'anthropic', 'm', now())")


def test_migrate_never_builds_them_on_a_table_with_rows_and_optimize_does(empty_dsn):
    deployment_tables(empty_dsn, with_row=True)
    run = make_cli(empty_dsn)
    migrated = run("db", "migrate")
    assert migrated.exit_code == 0, migrated.stderr
    assert "0003_aibridge_indexes" in migrated.stderr
    assert "not built" in migrated.stderr and "aibridge db optimize" in migrated.stderr
    ours = {i.name for i in optimize.indexes()}
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


def test_migrate_reports_in_every_format_beside_the_index_hint(empty_dsn):
    deployment_tables(empty_dsn, with_row=True)
    run = make_cli(empty_dsn)
    migrated = run("db", "migrate", "--format", "json")
    assert migrated.exit_code == 0, migrated.stderr
    assert {r["version"] for r in json.loads(migrated.stdout)} >= {"0003_aibridge_indexes"}
    assert "aibridge db optimize" in migrated.stderr
    again = run("db", "migrate")
    assert again.stdout == "" and "nothing to do" in again.stderr and "aibridge db optimize" in again.stderr


def test_migrate_never_builds_them_on_a_coder_deployment(empty_dsn):
    deployment_tables(empty_dsn, coder=True)
    assert make_cli(empty_dsn)("db", "migrate").exit_code == 0
    assert not {i.name for i in optimize.indexes()} & index_names(empty_dsn)


def test_an_invalid_leftover_is_rebuilt(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        optimize.drop(conn)
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
