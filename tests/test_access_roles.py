"""`db grant`/`db revoke`: login roles whose reach PostgreSQL enforces, checked through raw SQL
as each role (the CLI checks per read command are in test_access_cli.py)."""

import base64
import hashlib
import hmac
import json
import os
import stat
import uuid

import psycopg
import pytest
from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user, at
from psycopg.conninfo import make_conninfo

TABLES = ("aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
          "aibridge_model_thoughts")


@pytest.fixture
def world(conn, dsn):
    """Three users with interceptions and every child record; unique usernames because
    PostgreSQL roles are shared by every database of the test server."""
    tag = uuid.uuid4().hex[:8]
    users = {k: add_user(conn, f"{k}{tag}", roles=r) for k, r in
             (("alice", []), ("bob", []), ("audrey", ["auditor"]), ("gw", []))}
    ids = {}
    for who, n in (("alice", 2), ("bob", 3)):
        ids[who] = []
        for i in range(n):
            ic = add_interception(conn, users[who], started_at=at(i), model="gpt-5" if who == "bob" else "claude-sonnet-4",
                                  provider="openai" if who == "bob" else "anthropic")
            add_token_usage(conn, ic)
            add_prompt(conn, ic, f"{who} secret prompt {i}")
            add_tool_usage(conn, ic, input=f'{{"who": "{who}"}}', provider_tool_call_id=f"call_{who}_{i}")
            add_thought(conn, ic, f"{who} thinks {i}")
            ids[who].append(ic["id"])
    yield {"tag": tag, "users": users, "ids": ids}
    for u in users.values():
        role = f"aibridge_{u['username']}"
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def grant(cli, tmp_path, user, level, *extra):
    pw = tmp_path / f"{user}.pw"
    r = cli("db", "grant", user, "--role", level, "--password-file", pw, "-f", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return pw


def as_role(dsn, username):
    return psycopg.connect(make_conninfo(dsn, user=f"aibridge_{username}"), autocommit=True)


def count(c, sql, *args):
    return c.execute(sql, args).fetchone()[0]


def denied(c, sql, *args):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute(sql, args)


def test_member_sees_only_own_rows_in_every_table(cli, conn, dsn, tmp_path, world):
    alice = world["users"]["alice"]
    grant(cli, tmp_path, alice["username"], "member")
    mine = world["ids"]["alice"]
    with as_role(dsn, alice["username"]) as c:
        assert {r[0] for r in c.execute("SELECT id FROM aibridge_interceptions")} == set(mine)
        for t in TABLES[1:]:
            got = {r[0] for r in c.execute(f"SELECT interception_id FROM {t}")}
            assert got == set(mine), t
            assert count(c, f"SELECT count(*) FROM {t}") == count(conn, f"SELECT count(*) FROM {t} WHERE interception_id = ANY(%s)", mine)
        prompts = [r[0] for r in c.execute("SELECT prompt FROM aibridge_user_prompts")]
        assert prompts and all(p.startswith(alice["username"][:5]) for p in prompts)
        # even asking for bob's rows by id finds nothing
        assert count(c, "SELECT count(*) FROM aibridge_interceptions WHERE id = ANY(%s)", world["ids"]["bob"]) == 0
        assert [r[0] for r in c.execute("SELECT id FROM users")] == [alice["id"]]
        # the deployment's visible_users lists every user's public name, as for any member
        assert count(c, "SELECT count(*) FROM visible_users") == count(conn, "SELECT count(*) FROM users")
        denied(c, "DELETE FROM aibridge_interceptions")
        denied(c, "UPDATE aibridge_interceptions SET model = 'x'")
        denied(c, "INSERT INTO aibridge_user_prompts (id, interception_id, provider_response_id, prompt, created_at) "
                  "VALUES (gen_random_uuid(), %s, 'r', 'p', now())", mine[0])
        denied(c, "SELECT * FROM aibridge_access_roles")
        denied(c, "CREATE TABLE aibridge_sneaky (id int)")


def test_auditor_reads_everything_and_changes_nothing(cli, conn, dsn, tmp_path, world):
    audrey = world["users"]["audrey"]
    grant(cli, tmp_path, audrey["username"], "auditor")
    with as_role(dsn, audrey["username"]) as c:
        for t in TABLES + ("users",):
            assert count(c, f"SELECT count(*) FROM {t}") == count(conn, f"SELECT count(*) FROM {t}"), t
        for sql in ("DELETE FROM aibridge_interceptions", "DELETE FROM aibridge_model_thoughts",
                    "UPDATE aibridge_interceptions SET ended_at = now()", "TRUNCATE aibridge_token_usages",
                    "INSERT INTO aibridge_model_thoughts (interception_id, content, created_at) VALUES (gen_random_uuid(), 'x', now())",
                    "UPDATE users SET rbac_roles = '{owner}'"):
            denied(c, sql)
    assert count(conn, "SELECT count(*) FROM aibridge_model_thoughts") == 5


def test_recorder_writes_and_ends_but_cannot_read_content(cli, conn, dsn, tmp_path, world):
    gw, alice = world["users"]["gw"], world["users"]["alice"]
    grant(cli, tmp_path, gw["username"], "recorder")
    new_id = uuid.uuid4()
    with as_role(dsn, gw["username"]) as c:
        # the lineage lookup: newest tool usage with the call id -> its interception and root
        parent = c.execute(
            "SELECT i.id, COALESCE(i.thread_root_id, i.id) FROM aibridge_interceptions i WHERE i.id = "
            "(SELECT interception_id FROM aibridge_tool_usages WHERE provider_tool_call_id = %s ORDER BY created_at DESC LIMIT 1)",
            ["call_alice_1"]).fetchone()
        assert parent == (world["ids"]["alice"][1], world["ids"]["alice"][1])
        c.execute("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, thread_parent_id, thread_root_id) "
                  "VALUES (%s, %s, 'openai', 'gpt-5', now(), %s, %s)", [new_id, alice["id"], parent[0], parent[1]])
        c.execute("INSERT INTO aibridge_user_prompts (id, interception_id, provider_response_id, prompt, created_at) "
                  "VALUES (gen_random_uuid(), %s, 'r', 'new prompt', now())", [new_id])
        c.execute("INSERT INTO aibridge_tool_usages (id, interception_id, provider_response_id, tool, input, created_at) "
                  "VALUES (gen_random_uuid(), %s, 'r', 'bash', '{}', now())", [new_id])
        c.execute("INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, output_tokens, created_at) "
                  "VALUES (gen_random_uuid(), %s, 'r', 1, 2, now())", [new_id])
        c.execute("INSERT INTO aibridge_model_thoughts (interception_id, content, created_at) VALUES (%s, 'hm', now())", [new_id])
        assert c.execute("UPDATE aibridge_interceptions SET ended_at = now() WHERE id = %s AND ended_at IS NULL RETURNING id",
                         [new_id]).fetchone() == (new_id,)
        denied(c, "SELECT prompt FROM aibridge_user_prompts")
        denied(c, "SELECT input FROM aibridge_tool_usages")
        denied(c, "SELECT * FROM aibridge_tool_usages")
        denied(c, "SELECT content FROM aibridge_model_thoughts")
        denied(c, "SELECT * FROM aibridge_user_prompts")
        denied(c, "SELECT * FROM aibridge_model_thoughts")
        assert count(c, "SELECT count(*) FROM aibridge_user_prompts") == 6  # rows, not their text
        assert count(c, "SELECT sum(input_tokens) FROM aibridge_token_usages") == \
            count(conn, "SELECT sum(input_tokens) FROM aibridge_token_usages")
        denied(c, "UPDATE aibridge_interceptions SET model = 'x' WHERE id = %s", new_id)
        denied(c, "DELETE FROM aibridge_interceptions WHERE id = %s", new_id)
        denied(c, "DELETE FROM aibridge_user_prompts")
    assert count(conn, "SELECT count(*) FROM aibridge_user_prompts WHERE interception_id = %s", new_id) == 1
    assert count(conn, "SELECT count(*) FROM aibridge_interceptions WHERE id = %s AND ended_at IS NOT NULL", new_id) == 1


def test_migrate_is_refused_to_every_granted_role(cli, conn, dsn, tmp_path, world):
    from conftest import make_cli

    conn.execute("DELETE FROM aibridge_schema_migrations WHERE version = (SELECT max(version) FROM aibridge_schema_migrations)")
    left = count(conn, "SELECT count(*) FROM aibridge_schema_migrations")
    for who, level in (("alice", "member"), ("audrey", "auditor"), ("gw", "recorder")):
        name = world["users"][who]["username"]
        grant(cli, tmp_path, name, level)
        r = make_cli(make_conninfo(dsn, user=f"aibridge_{name}"))("db", "migrate")
        assert r.exit_code == 1, (who, r.stdout)
        assert r.stderr.startswith(f"error: permission denied: role 'aibridge_{name}' lacks the"), r.stderr
        assert len(r.stderr.strip().splitlines()) == 2 and "Traceback" not in r.stderr
    assert count(conn, "SELECT count(*) FROM aibridge_schema_migrations") == left


def test_other_roles_keep_their_access(cli, conn, dsn, tmp_path, world):
    """Row-level security is enabled on the tables, but a role aibridge did not create
    (say a deployment's reporting role) reads exactly what it read before."""
    other = f"report_{world['tag']}"
    conn.execute(f'CREATE ROLE "{other}" LOGIN')
    try:
        conn.execute(f'GRANT SELECT ON aibridge_interceptions, aibridge_user_prompts, users TO "{other}"')
        grant(cli, tmp_path, world["users"]["alice"]["username"], "member")
        with psycopg.connect(make_conninfo(dsn, user=other), autocommit=True) as c:
            for t in ("aibridge_interceptions", "aibridge_user_prompts", "users"):
                assert count(c, f"SELECT count(*) FROM {t}") == count(conn, f"SELECT count(*) FROM {t}")
        assert count(conn, "SELECT count(*) FROM pg_class WHERE relname = 'aibridge_interceptions' AND relrowsecurity") == 1
    finally:
        conn.execute(f'DROP OWNED BY "{other}"')
        conn.execute(f'DROP ROLE "{other}"')


def _scram_matches(verifier: str, password: str) -> bool:
    mech, rest = verifier.split("$", 1)
    iter_salt, keys = rest.split("$")
    iterations, salt = iter_salt.split(":")
    stored_key, server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return mech == "SCRAM-SHA-256" and base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def test_password_file_is_private_and_matches_the_role(cli, conn, tmp_path, world):
    name = world["users"]["alice"]["username"]
    pw = tmp_path / "pw"
    r = cli("db", "grant", name, "--role", "member", "--password-file", pw)
    assert r.exit_code == 0, r.stderr
    assert stat.S_IMODE(os.stat(pw).st_mode) == 0o600
    secret = pw.read_text().strip()
    assert len(secret) >= 24 and secret not in r.stdout + r.stderr
    verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [f"aibridge_{name}"]).fetchone()[0]
    assert _scram_matches(verifier, secret) and not _scram_matches(verifier, secret + "x")
    # an existing file is never overwritten
    r = cli("db", "grant", name, "--role", "member", "--password-file", pw)
    assert r.exit_code == 2 and "already exists" in r.stderr and pw.read_text().strip() == secret


def test_password_from_stdin(cli, conn, world):
    name = world["users"]["bob"]["username"]
    r = cli("db", "grant", name, "--role", "auditor", "--password-stdin", input="correct horse battery\n")
    assert r.exit_code == 0, r.stderr
    verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [f"aibridge_{name}"]).fetchone()[0]
    assert _scram_matches(verifier, "correct horse battery")
    r = cli("db", "grant", name, "--role", "auditor", "--password-stdin", input="\n")
    assert r.exit_code == 2 and "empty" in r.stderr


def test_regrant_changes_the_level_and_revoke_drops_the_role(cli, conn, dsn, tmp_path, world):
    name = world["users"]["alice"]["username"]
    grant(cli, tmp_path, name, "member")
    r = cli("db", "grant", name, "--role", "auditor", "-f", "json")
    assert r.exit_code == 0 and '"created": false' in r.stdout and '"password": "unchanged"' in r.stdout
    with as_role(dsn, name) as c:
        assert count(c, "SELECT count(*) FROM aibridge_interceptions") == count(conn, "SELECT count(*) FROM aibridge_interceptions")
    assert conn.execute("SELECT access FROM aibridge_access_roles WHERE role_name = %s", [f"aibridge_{name}"]).fetchone() == ("auditor",)
    r = cli("db", "revoke", name, "-f", "json")
    assert r.exit_code == 0 and '"dropped": true' in r.stdout, r.stderr
    assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", f"aibridge_{name}") == 0
    assert count(conn, "SELECT count(*) FROM aibridge_access_roles") == 0
    assert count(conn, "SELECT count(*) FROM pg_policy WHERE polname LIKE 'aibridge_member_%%'") == 0
    r = cli("db", "revoke", name)
    assert r.exit_code == 1 and "no login role" in r.stderr


def test_deployment_database_needs_confirmation(cli, conn, tmp_path, world):
    conn.execute("DELETE FROM aibridge_schema_migrations")
    name = world["users"]["alice"]["username"]
    r = cli("db", "grant", name, "--role", "member", "--password-file", tmp_path / "pw")
    assert r.exit_code == 2 and "--confirm-deployment" in r.stderr
    assert not (tmp_path / "pw").exists()
    assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", f"aibridge_{name}") == 0
    assert count(conn, "SELECT count(*) FROM pg_class WHERE relrowsecurity") == 0
    grant(cli, tmp_path, name, "member", "--confirm-deployment")
    assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", f"aibridge_{name}") == 1


def test_bad_input_changes_nothing(cli, conn, world, tmp_path):
    name = world["users"]["alice"]["username"]
    for args, code, text in ((("--role", "admin"), 2, "unknown access level"),
                             (("--role", "member", "--password-stdin", "--password-file", tmp_path / "x"), 2, "exclude"),
                             (("--role", "member", "--password-file", tmp_path / "nodir" / "x"), 2, "no directory")):
        r = cli("db", "grant", name, *args)
        assert r.exit_code == code and text in r.stderr, r.stderr
    r = cli("db", "grant", "nobody-here", "--role", "member")
    assert r.exit_code == 1 and "no user named 'nobody-here'" in r.stderr
    assert count(conn, "SELECT count(*) FROM pg_class WHERE relrowsecurity") == 0
    assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", f"aibridge_{name}") == 0


def test_a_foreign_role_with_the_same_name_is_not_touched(cli, conn, world):
    name = world["users"]["bob"]["username"]
    conn.execute(f'CREATE ROLE "aibridge_{name}" NOLOGIN')
    r = cli("db", "grant", name, "--role", "member")
    assert r.exit_code == 1 and "not created by aibridge" in r.stderr
    assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s AND NOT rolcanlogin", f"aibridge_{name}") == 1
    r = cli("db", "revoke", name)
    assert r.exit_code == 1 and "not created by aibridge" in r.stderr


def test_a_role_that_cannot_create_roles_is_told_so(cli, conn, dsn, world):
    from conftest import make_cli

    weak = f"weak_{world['tag']}"
    conn.execute(f'CREATE ROLE "{weak}" LOGIN')
    try:
        conn.execute(f'GRANT SELECT ON users, aibridge_schema_migrations TO "{weak}"')
        r = make_cli(make_conninfo(dsn, user=weak))("db", "grant", world["users"]["alice"]["username"], "--role", "member")
        assert r.exit_code == 1 and "lacks the CREATEROLE privilege" in r.stderr, r.stderr
    finally:
        conn.execute(f'DROP OWNED BY "{weak}"')
        conn.execute(f'DROP ROLE "{weak}"')


def test_every_role_can_run_db_status(cli, dsn, tmp_path, world):
    from conftest import make_cli

    for who, level in (("alice", "member"), ("audrey", "auditor"), ("gw", "recorder")):
        name = world["users"][who]["username"]
        grant(cli, tmp_path, name, level)
        r = make_cli(make_conninfo(dsn, user=f"aibridge_{name}"))("db", "status", "-f", "json")
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)[0]["user"] == f"aibridge_{name}"


def test_revoke_keeps_a_role_another_database_still_uses(cli, conn, dsn, server_dsn, tmp_path, world):
    from conftest import TEMPLATE, _drop_database, _fresh_database, make_cli

    name = world["users"]["alice"]["username"]
    role = f"aibridge_{name}"
    other = _fresh_database(server_dsn, TEMPLATE)
    other_dsn = make_conninfo(server_dsn, dbname=other)
    try:
        with psycopg.connect(other_dsn, autocommit=True) as c2:
            add_user(c2, name, id=world["users"]["alice"]["id"])
        grant(cli, tmp_path, name, "member")
        assert make_cli(other_dsn)("db", "grant", name, "--role", "auditor").exit_code == 0
        r = cli("db", "revoke", name, "-f", "json")
        assert r.exit_code == 0 and json.loads(r.stdout)[0]["dropped"] is False, r.stderr
        with as_role(dsn, name) as c:
            denied(c, "SELECT count(*) FROM aibridge_interceptions")  # gone here
        with psycopg.connect(make_conninfo(other_dsn, user=role), autocommit=True) as c:
            assert count(c, "SELECT count(*) FROM users") == 1  # still an auditor there
        r = make_cli(other_dsn)("db", "revoke", name, "-f", "json")
        assert r.exit_code == 0 and json.loads(r.stdout)[0]["dropped"] is True, r.stderr
        assert count(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", role) == 0
    finally:
        _drop_database(server_dsn, other)


def test_a_deployments_own_role_is_not_affected(cli, conn, dsn, tmp_path, world):
    """On a deployment the tables belong to the deployment's role: after db grant it still
    reads, writes and deletes everything (row-level security is not forced on owners)."""
    owner = f"deploy_{world['tag']}"
    conn.execute(f'CREATE ROLE "{owner}" LOGIN')
    try:
        for t in TABLES + ("users",):
            conn.execute(f'ALTER TABLE {t} OWNER TO "{owner}"')
        conn.execute("DELETE FROM aibridge_schema_migrations")  # not created by aibridge
        grant(cli, tmp_path, world["users"]["alice"]["username"], "member", "--confirm-deployment")
        with psycopg.connect(make_conninfo(dsn, user=owner), autocommit=True) as c:
            for t in TABLES + ("users",):
                assert count(c, f"SELECT count(*) FROM {t}") == count(conn, f"SELECT count(*) FROM {t}"), t
            bob_first = world["ids"]["bob"][0]
            c.execute("UPDATE aibridge_interceptions SET model = 'changed' WHERE id = %s", [bob_first])
            c.execute("DELETE FROM aibridge_model_thoughts WHERE interception_id = %s", [bob_first])
        assert count(conn, "SELECT count(*) FROM aibridge_interceptions WHERE model = 'changed'") == 1
        with as_role(dsn, world["users"]["alice"]["username"]) as c:
            assert {r[0] for r in c.execute("SELECT id FROM aibridge_interceptions")} == set(world["ids"]["alice"])
    finally:
        for t in TABLES + ("users",):
            conn.execute(f"ALTER TABLE {t} OWNER TO CURRENT_USER")
        conn.execute(f'DROP OWNED BY "{owner}"')
        conn.execute(f'DROP ROLE "{owner}"')
