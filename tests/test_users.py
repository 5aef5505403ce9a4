"""aibridge users add / list, read back with direct SQL."""

import json
import uuid

from factories import add_user


def _users(conn):
    return conn.execute("SELECT id, username, name, email, avatar_url, rbac_roles, deleted FROM users ORDER BY username").fetchall()


def test_add_stores_every_field_and_prints_the_id(cli, conn):
    r = cli("users", "add", "alice", "--name", "Alice Liddell", "--email", "alice@example.com",
            "--avatar-url", "https://example.com/a.png", "--role", "owner", "--role", "auditor")
    assert r.exit_code == 0, r.stderr
    rows = _users(conn)
    assert len(rows) == 1
    uid, username, name, email, avatar, roles, deleted = rows[0]
    assert r.stdout.strip() == str(uid)
    assert (username, name, email, avatar, deleted) == ("alice", "Alice Liddell", "alice@example.com",
                                                        "https://example.com/a.png", False)
    assert sorted(roles) == ["auditor", "owner"]


def test_add_with_a_given_id_and_json_output(cli, conn):
    uid = uuid.uuid4()
    r = cli("users", "add", "bob", "--id", str(uid), "--format", "json")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["id"] == str(uid) and row["username"] == "bob" and row["rbac_roles"] == []
    assert conn.execute("SELECT id FROM users").fetchone()[0] == uid


def test_duplicate_username_is_refused_and_changes_nothing(cli, conn):
    existing = add_user(conn, "carol")
    r = cli("users", "add", "carol", "--name", "Other")
    assert r.exit_code == 1
    assert "already exists" in r.stderr and str(existing["id"]) in r.stderr
    assert r.stderr.startswith("error: ") and r.stdout == ""
    assert [row[2] for row in _users(conn)] == ["Carol"]


def test_duplicate_id_is_refused(cli, conn):
    existing = add_user(conn, "dave")
    r = cli("users", "add", "erin", "--id", str(existing["id"]))
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert [row[1] for row in _users(conn)] == ["dave"]


def test_a_deleted_user_does_not_block_the_username(cli, conn):
    add_user(conn, "frank", deleted=True)
    r = cli("users", "add", "frank")
    assert r.exit_code == 0, r.stderr
    assert sorted(row[6] for row in _users(conn)) == [False, True]


def test_bad_input_exits_2_and_writes_nothing(cli, conn):
    for args in (["users", "add", "gina", "--role", "admin"],
                 ["users", "add", "has space"],
                 ["users", "add", "gina", "--id", "not-a-uuid"],
                 ["users", "add", "gina", "--email", "nope"],
                 ["users", "list", "--role", "admin"]):
        r = cli(*args)
        assert r.exit_code == 2, (args, r.stderr)
        assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert _users(conn) == []


def test_list_orders_by_username_and_filters(cli, conn):
    add_user(conn, "zed", roles=["auditor"])
    add_user(conn, "amy", roles=["owner"])
    add_user(conn, "max")
    add_user(conn, "old", deleted=True)
    r = cli("users", "list", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert [u["username"] for u in json.loads(r.stdout)] == ["amy", "max", "zed"]
    r = cli("users", "list", "--role", "owner", "--format", "jsonl")
    assert [json.loads(line)["username"] for line in r.stdout.splitlines()] == ["amy"]
    r = cli("users", "list", "--include-deleted", "--format", "csv")
    lines = r.stdout.splitlines()
    assert "deleted" in lines[0].split(",")
    assert [line.split(",")[1] for line in lines[1:]] == ["amy", "max", "old", "zed"]


def test_table_output_lists_usernames(cli, conn):
    add_user(conn, "hank")
    r = cli("users", "list")
    assert r.exit_code == 0 and "hank" in r.stdout and "username" in r.stdout
