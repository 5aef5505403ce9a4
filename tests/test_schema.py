"""Migrations create exactly the deployment's layout, once, and leave existing tables alone."""

import os
import re
from pathlib import Path

import psycopg
import pytest
from conftest import make_cli

from aibridge_cli.db import migrate

# The specification beside the project (CI has it); AIBRIDGE_SPEC_DIR points elsewhere.
SPEC_DIR = Path(os.environ.get("AIBRIDGE_SPEC_DIR") or Path(__file__).resolve().parents[2] / "shared" / "spec")
SPEC = SPEC_DIR / "schema.md"

# The deployment's layout as schema.md gives it: column -> (type, nullable).
EXPECTED = {
    "aibridge_interceptions": {
        "id": ("uuid", "NO"), "initiator_id": ("uuid", "NO"), "provider": ("text", "NO"), "model": ("text", "NO"),
        "started_at": ("timestamp with time zone", "NO"), "metadata": ("jsonb", "YES"),
        "ended_at": ("timestamp with time zone", "YES"), "api_key_id": ("text", "YES"),
        "client": ("character varying(64)", "YES"), "thread_parent_id": ("uuid", "YES"),
        "thread_root_id": ("uuid", "YES"), "client_session_id": ("character varying(256)", "YES"),
        "session_id": ("text", "NO"),
    },
    "aibridge_token_usages": {
        "id": ("uuid", "NO"), "interception_id": ("uuid", "NO"), "provider_response_id": ("text", "NO"),
        "input_tokens": ("bigint", "NO"), "output_tokens": ("bigint", "NO"), "metadata": ("jsonb", "YES"),
        "created_at": ("timestamp with time zone", "NO"),
    },
    "aibridge_user_prompts": {
        "id": ("uuid", "NO"), "interception_id": ("uuid", "NO"), "provider_response_id": ("text", "NO"),
        "prompt": ("text", "NO"), "metadata": ("jsonb", "YES"), "created_at": ("timestamp with time zone", "NO"),
    },
    "aibridge_tool_usages": {
        "id": ("uuid", "NO"), "interception_id": ("uuid", "NO"), "provider_response_id": ("text", "NO"),
        "server_url": ("text", "YES"), "tool": ("text", "NO"), "input": ("text", "NO"), "injected": ("boolean", "NO"),
        "invocation_error": ("text", "YES"), "metadata": ("jsonb", "YES"),
        "created_at": ("timestamp with time zone", "NO"), "provider_tool_call_id": ("text", "YES"),
    },
    "aibridge_model_thoughts": {
        "interception_id": ("uuid", "NO"), "content": ("text", "NO"), "metadata": ("jsonb", "YES"),
        "created_at": ("timestamp with time zone", "NO"),
    },
    "users": {
        "id": ("uuid", "NO"), "username": ("text", "NO"), "name": ("text", "NO"), "avatar_url": ("text", "NO"),
        "email": ("text", "NO"), "rbac_roles": ("text[]", "NO"), "deleted": ("boolean", "NO"),
        "created_at": ("timestamp with time zone", "NO"), "updated_at": ("timestamp with time zone", "NO"),
    },
}

# Indexed column lists from schema.md (btree), with partial predicates where it gives them.
EXPECTED_INDEXES = {
    "aibridge_interceptions": {
        "(client)", "(client_session_id) WHERE (client_session_id IS NOT NULL)", "(initiator_id)", "(model)",
        "(provider)", "(session_id) WHERE (ended_at IS NOT NULL)",
        "(initiator_id, started_at DESC, id DESC) WHERE (ended_at IS NOT NULL)", "(started_at DESC, id DESC)",
        "(thread_parent_id)", "(thread_root_id)", "(id)",
    },
    "aibridge_token_usages": {"(id)", "(interception_id)", "(provider_response_id)"},
    "aibridge_user_prompts": {"(id)", "(interception_id, created_at DESC, id DESC)", "(interception_id)", "(provider_response_id)"},
    "aibridge_tool_usages": {"(id)", "(interception_id)", "(provider_tool_call_id)", "(provider_response_id)"},
    "aibridge_model_thoughts": {"(interception_id)"},
}


def columns(conn, table):
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.is_nullable "
        "FROM pg_attribute a JOIN information_schema.columns c ON c.table_name = %s AND c.column_name = a.attname "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", [table, table]).fetchall()
    return {name: (typ, nullable) for name, typ, nullable in rows}


def index_shapes(conn, table):
    """The deployment's index shapes; aibridge's own (test_optimize.py covers them) are left out."""
    from aibridge_cli.db import optimize

    ours = [i.name for i in optimize.indexes()]
    rows = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> ALL(%s)", [table, ours]).fetchall()
    shapes = set()
    for (d,) in rows:
        assert " USING btree " in d
        shapes.add(d.split(" USING btree ", 1)[1])
    return shapes


def test_migrate_creates_exactly_the_deployment_layout(empty_dsn):
    r = make_cli(empty_dsn)("db", "migrate")
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn) as conn:
        for table, expected in EXPECTED.items():
            assert columns(conn, table) == expected, table
        for table, expected in EXPECTED_INDEXES.items():
            assert index_shapes(conn, table) == expected, table
        gen = conn.execute(
            "SELECT is_generated, generation_expression FROM information_schema.columns "
            "WHERE table_name = 'aibridge_interceptions' AND column_name = 'session_id'").fetchone()
        assert gen[0] == "ALWAYS" and "client_session_id" in gen[1] and "thread_root_id" in gen[1]
        assert conn.execute("SELECT column_default FROM information_schema.columns WHERE table_name = 'aibridge_interceptions' "
                            "AND column_name = 'client'").fetchone()[0].startswith("'Unknown'")
        view_cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'visible_users' ORDER BY ordinal_position")]
        assert view_cols == ["id", "username", "name", "avatar_url"]
        fks = conn.execute("SELECT count(*) FROM information_schema.table_constraints "
                           "WHERE constraint_type = 'FOREIGN KEY' AND table_name LIKE 'aibridge_%'").fetchone()[0]
        assert fks == 0
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'aibridge_tool_usages'")}
        assert "idx_aibridge_tool_usagesprovider_response_id" in names


def test_session_id_is_generated_from_the_fallback_chain(conn):
    from factories import add_interception, add_user

    u = add_user(conn, "alice")
    a = add_interception(conn, u, client_session_id="cs-1")
    b = add_interception(conn, u, thread_root_id=a["id"])
    c = add_interception(conn, u)
    got = dict(conn.execute("SELECT id, session_id FROM aibridge_interceptions").fetchall())
    assert got[a["id"]] == "cs-1"
    assert got[b["id"]] == str(a["id"])
    assert got[c["id"]] == str(c["id"])


@pytest.mark.skipif(not SPEC.exists(), reason=f"the specification's schema.md is not at {SPEC} (set AIBRIDGE_SPEC_DIR)")
def test_schema_md_tables_are_all_expected():
    tables = set(re.findall(r"^## (\w+)", SPEC.read_text(), re.M)) - {"Lineage"}
    assert tables <= set(EXPECTED)


def test_migrate_twice_changes_nothing_and_status_lists_it(empty_dsn):
    run = make_cli(empty_dsn)
    assert run("db", "migrate").exit_code == 0
    again = run("db", "migrate")
    assert again.exit_code == 0 and "nothing to do" in again.stderr
    status = run("db", "status", "--format", "jsonl")
    assert status.exit_code == 0
    import json

    info = json.loads(status.stdout)
    assert [m["status"] for m in info["migrations"]] == ["applied"] * len(migrate.migration_files())


def test_status_on_an_empty_database_lists_pending(empty_dsn):
    r = make_cli(empty_dsn)("db", "status")
    assert r.exit_code == 0
    assert "pending" in r.stdout
    assert "missing tables" in r.stderr
    with psycopg.connect(empty_dsn) as conn:  # status created nothing
        assert conn.execute("SELECT to_regclass('aibridge_schema_migrations')").fetchone()[0] is None


def test_deployment_database_is_recognised_and_kept(empty_dsn):
    """A deployment's users table has more columns and its own view; migrate keeps both."""
    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id uuid PRIMARY KEY, username text NOT NULL, name text NOT NULL DEFAULT '', "
                     "avatar_url text NOT NULL DEFAULT '', email text NOT NULL, rbac_roles text[] NOT NULL DEFAULT '{}', "
                     "deleted boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, "
                     "updated_at timestamptz NOT NULL, login_type text NOT NULL DEFAULT 'password')")
        conn.execute("CREATE VIEW visible_users AS SELECT id, username, name, avatar_url FROM users WHERE NOT deleted")
    run = make_cli(empty_dsn)
    status = run("db", "status")
    assert "missing tables" in status.stderr
    r = run("db", "migrate")
    assert r.exit_code == 0, r.stderr
    assert "existing tables kept" in r.stderr
    with psycopg.connect(empty_dsn) as conn:
        assert "login_type" in columns(conn, "users")
        view = conn.execute("SELECT pg_get_viewdef('visible_users')").fetchone()[0]
        assert "deleted" in view
