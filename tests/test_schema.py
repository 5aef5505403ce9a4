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


def test_migrate_keeps_every_column_and_index_of_the_seed_layout(empty_dsn):
    """The embedded database is at 2026-08 (test_migrations_give_the_2026_08_layout); every
    column and index of the seed's layout is still there, unchanged."""
    r = make_cli(empty_dsn)("db", "migrate")
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(empty_dsn) as conn:
        for table, expected in EXPECTED.items():
            got = columns(conn, table)
            assert {c: got.get(c) for c in expected} == expected, table
        for table, expected in EXPECTED_INDEXES.items():
            assert expected <= index_shapes(conn, table), table
        gen = conn.execute(
            "SELECT is_generated, generation_expression FROM information_schema.columns "
            "WHERE table_name = 'aibridge_interceptions' AND column_name = 'session_id'").fetchone()
        assert gen[0] == "ALWAYS" and "client_session_id" in gen[1] and "thread_root_id" in gen[1]
        assert conn.execute("SELECT column_default FROM information_schema.columns WHERE table_name = 'aibridge_interceptions' "
                            "AND column_name = 'client'").fetchone()[0].startswith("'Unknown'")
        view_cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'visible_users' ORDER BY ordinal_position")]
        assert view_cols == ["id", "username", "name", "avatar_url"]
        fks = conn.execute("SELECT table_name FROM information_schema.table_constraints "
                           "WHERE constraint_type = 'FOREIGN KEY' AND table_name LIKE 'aibridge_%'").fetchall()
        assert fks == [("aibridge_interceptions",)]  # the initiator's; child tables have none
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


# ---- the 2026-08 layout ------------------------------------------------------------------
# The oracle is a database built from the spec's schema-2026-08.sql (conftest's deploy_dsn):
# after all migrations, the embedded database's AI Bridge, firewall and spend tables must match
# it column for column (type, nullability, default), check for check, index for index.
TABLES_2026_08 = ["aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
                  "aibridge_model_thoughts", "boundary_logs", "ai_model_prices", "ai_providers",
                  "ai_user_daily_spend", "groups", "group_ai_budgets", "user_ai_budget_overrides"]
# Foreign keys to tables outside AI Bridge that the embedded database does not have.
FOREIGN_KEYS_LEFT_OUT = {"groups_organization_id_fkey", "ai_providers_settings_key_id_fkey"}


def column_layout(conn, table):
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
        "       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, a.attgenerated "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", [table]).fetchall()
    return {r[0]: r[1:] for r in rows}


def constraints(conn, table, kinds="cpuf"):
    rows = conn.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = ANY(%s)", [table, list(kinds)]).fetchall()
    return dict(rows)


def enum_labels(conn, typ):
    return [r[0] for r in conn.execute("SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype ORDER BY enumsortorder", [typ])]


def test_migrations_give_the_2026_08_layout(dsn, deploy_dsn):
    with psycopg.connect(dsn) as ours, psycopg.connect(deploy_dsn) as theirs:
        for table in TABLES_2026_08:
            assert column_layout(ours, table) == column_layout(theirs, table), table
            want = {k: v for k, v in constraints(theirs, table).items() if k not in FOREIGN_KEYS_LEFT_OUT}
            assert constraints(ours, table) == want, table
            assert index_shapes(ours, table) == index_shapes(theirs, table), table
        for typ in ("credential_kind", "aibridge_interception_error_type", "ai_provider_type", "group_source"):
            assert enum_labels(ours, typ) == enum_labels(theirs, typ), typ
        # The embedded users table stays the part the queries read, each column as Coder has it.
        our_users, their_users = column_layout(ours, "users"), column_layout(theirs, "users")
        assert set(our_users) < set(their_users)
        assert {c: v[:2] for c, v in our_users.items()} == {c: their_users[c][:2] for c in our_users}
        fk = constraints(ours, "aibridge_interceptions", "f")
        assert fk == {"aibridge_interceptions_initiator_id_fkey": "FOREIGN KEY (initiator_id) REFERENCES users(id)"}


def test_migrate_leaves_a_2026_08_deployment_untouched(deploy_dsn):
    """The deployment's template already went through `db migrate` (conftest): every table
    still has exactly the spec's layout, and aibridge added only its bookkeeping table and its
    own history tables (0007: the reason to migrate a deployment at all, docs/history.md)."""
    from conftest import SCHEMA_2026_08

    with open(SCHEMA_2026_08, encoding="utf-8") as f:
        spec_tables = set(re.findall(r"^CREATE TABLE (\w+)", f.read(), re.M))
    with psycopg.connect(deploy_dsn) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        stubs = {"workspaces", "templates", "organizations", "dbcrypt_keys"}
        history = {"aibridge_history_state", "aibridge_history_interception_hours", "aibridge_history_usage_hours"}
        assert tables == spec_tables | stubs | {"aibridge_schema_migrations"} | history
        from aibridge_cli.db import optimize

        ours = {i.name for i in optimize.indexes()}
        present = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
        assert not (ours & present)
        users = column_layout(conn, "users")
        assert users["hashed_password"][:2] == ("bytea", False)


def test_migrate_leaves_a_seed_deployment_on_the_seed_layout(seed_dsn):
    """A Coder deployment not yet at 2026-08: no column, type or table of the newer layout appears."""
    with psycopg.connect(seed_dsn) as conn:
        for table, expected in EXPECTED.items():
            assert columns(conn, table) == expected, table
        for name in ("boundary_logs", "ai_model_prices", "groups", "credential_kind", "aibridge_interception_error_type"):
            assert conn.execute("SELECT to_regclass(%s) IS NULL AND to_regtype(%s) IS NULL", [name, name]).fetchone()[0], name
        assert constraints(conn, "aibridge_interceptions", "f") == {}


def test_upgrade_fills_the_cache_columns_by_the_deployment_backfill_rule(empty_dsn):
    """An embedded database written on the seed's layout, then migrated: each row's cache columns
    are the greatest of its metadata keys (non-numbers ignored), and orphan rows keep the key NOT VALID."""
    from datetime import datetime, timezone

    from psycopg.types.json import Jsonb

    with psycopg.connect(empty_dsn, autocommit=True) as conn:
        for _, path in migrate.migration_files()[:3]:
            conn.execute(path.read_text())
        t = datetime(2026, 8, 1, tzinfo=timezone.utc)
        conn.execute("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at) "
                     "VALUES (gen_random_uuid(), gen_random_uuid(), 'openai', 'gpt-5', %s)", [t])
        metas = [{"input_cached": 300, "prompt_cached": 20}, {"cache_read_input": 5, "cache_creation_input": 7},
                 {"prompt_cached": "x", "input_cached": 9}, None, {"other": 1}]
        for m in metas:
            conn.execute("INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, "
                         "output_tokens, metadata, created_at) VALUES (gen_random_uuid(), gen_random_uuid(), 'r', 1, 1, %s, %s)",
                         [Jsonb(m) if m is not None else None, t])
    assert make_cli(empty_dsn)("db", "migrate").exit_code == 0
    with psycopg.connect(empty_dsn) as conn:
        got = conn.execute("SELECT metadata, cache_read_input_tokens, cache_write_input_tokens FROM aibridge_token_usages").fetchall()
        for meta, read, write in got:
            m = meta or {}
            nums = [v for k, v in m.items() if k in ("cache_read_input", "input_cached", "prompt_cached") and isinstance(v, int)]
            assert read == max(nums, default=0)
            assert write == (m.get("cache_creation_input") if isinstance(m.get("cache_creation_input"), int) else 0)
        assert sorted(r for _, r, _ in got) == [0, 0, 5, 9, 300]
        assert conn.execute("SELECT convalidated FROM pg_constraint WHERE conname = 'aibridge_interceptions_initiator_id_fkey'"
                            ).fetchone()[0] is False
