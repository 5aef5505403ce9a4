"""Hardening of the write paths: single records and import lines agree on every rule (a missing
thread parent, the time range, the text limits), and a refused record writes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from factories import add_interception, add_user, at


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def import_lines(cli, tmp_path, recs):
    path = tmp_path / "in.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return cli("record", "import", str(path))


def test_record_interception_refuses_a_missing_thread_parent(cli, conn):
    add_user(conn, "alice")
    missing = uuid.uuid4()
    r = cli("record", "interception", "-u", "alice", "--provider", "p", "--model", "m",
            "--thread-parent-id", str(missing))
    assert r.exit_code == 1, r.stderr
    assert f"--thread-parent-id: no interception {missing}" in r.stderr
    assert count(conn, "aibridge_interceptions") == 0


def test_record_interception_takes_an_existing_parent_and_its_root(cli, conn):
    alice = add_user(conn, "alice")
    root = add_interception(conn, alice, started_at=at(0))
    child = add_interception(conn, alice, started_at=at(1), thread_parent_id=root["id"], thread_root_id=root["id"])
    r = cli("record", "interception", "-u", "alice", "--provider", "p", "--model", "m",
            "--thread-parent-id", str(child["id"]))
    assert r.exit_code == 0, r.stderr
    new = uuid.UUID(r.stdout.strip())
    got = conn.execute("SELECT thread_parent_id, thread_root_id FROM aibridge_interceptions WHERE id = %s",
                       (new,)).fetchone()
    assert got == (child["id"], root["id"])


def test_import_refuses_a_missing_thread_parent_and_writes_nothing(cli, conn, tmp_path):
    missing = str(uuid.uuid4())
    recs = [{"type": "user", "username": "bo"},
            {"type": "interception", "id": str(uuid.uuid4()), "initiator": "bo", "provider": "p", "model": "m",
             "started_at": "2026-11-01T10:00:00Z"},
            {"type": "interception", "id": str(uuid.uuid4()), "initiator": "bo", "provider": "p", "model": "m",
             "started_at": "2026-11-01T10:00:00Z", "thread_parent_id": missing}]
    r = import_lines(cli, tmp_path, recs)
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"error: line 3: interception: thread_parent_id {missing}"), r.stderr
    assert count(conn, "aibridge_interceptions") == 0 and count(conn, "users") == 0


# A time each write path must refuse: stored, it would be year 10000 or BC (or before 1970).
OUT_OF_RANGE = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z"]


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_record_and_import_agree_on_the_time_range(cli, conn, tmp_path, when):
    add_user(conn, "alice")
    r = cli("record", "interception", "-u", "alice", "--provider", "p", "--model", "m", "--started-at", when)
    assert r.exit_code == 2, r.stderr
    assert "out of range" in r.stderr and "1970-01-01" in r.stderr
    recs = [{"type": "interception", "id": str(uuid.uuid4()), "initiator": "alice", "provider": "p", "model": "m",
             "started_at": when}]
    r = import_lines(cli, tmp_path, recs)
    assert r.exit_code == 2, r.stderr
    assert "line 1: interception: started_at:" in r.stderr and "out of range" in r.stderr
    assert count(conn, "aibridge_interceptions") == 0


def test_the_edges_of_the_time_range_are_taken(cli, conn, tmp_path):
    add_user(conn, "alice")
    recs = [{"type": "interception", "id": str(uuid.uuid4()), "initiator": "alice", "provider": "p", "model": "m",
             "started_at": "1970-01-01T00:00:00Z", "ended_at": "9999-12-31T23:59:59.999999Z"},
            {"type": "interception", "id": str(uuid.uuid4()), "initiator": "alice", "provider": "p", "model": "m",
             "started_at": "1970-01-01T02:00:00+02:00"}]
    r = import_lines(cli, tmp_path, recs)
    assert r.exit_code == 0, r.stderr
    r = cli("interceptions", "list", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert "9999-12-31T23:59:59.999999+00:00" in r.stdout


# (field, a value one byte over the limit) for every limited text of a tool usage
LONG_NAME = "é" * 512 + "x"  # 1025 bytes of UTF-8 in 513 characters: the limit counts bytes
LONG_TEXT = "x" * (16 * 1024 * 1024 + 1)


@pytest.mark.parametrize("field, value", [
    ("provider_response_id", LONG_NAME), ("tool_call_id", LONG_NAME), ("tool", LONG_NAME),
    ("server_url", LONG_NAME), ("invocation_error", LONG_TEXT),
])
def test_import_refuses_texts_over_the_limit_before_the_database(cli, conn, tmp_path, field, value):
    alice = add_user(conn, "alice")
    inter = add_interception(conn, alice)
    rec = {"type": "tool_usage", "id": str(uuid.uuid4()), "interception_id": str(inter["id"]), "tool": "t",
           "created_at": "2026-11-01T10:00:00Z", field: value}
    r = import_lines(cli, tmp_path, [rec])
    assert r.exit_code == 2, r.stderr
    assert f"line 1: tool_usage: {field}: longer than" in r.stderr
    assert count(conn, "aibridge_tool_usages") == 0
    # one byte less is stored
    rec[field] = value[:-1]
    r = import_lines(cli, tmp_path, [rec])
    assert r.exit_code == 0, r.stderr
    assert count(conn, "aibridge_tool_usages") == 1


@pytest.mark.parametrize("option", ["--provider-response-id", "--tool-call-id", "--server-url"])
def test_record_refuses_a_name_over_the_limit(cli, conn, option):
    alice = add_user(conn, "alice")
    inter = add_interception(conn, alice)
    r = cli("record", "tool-usage", str(inter["id"]), "--tool", "t", option, "k" * 1025)
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"error: {option}: longer than 1,024 bytes"), r.stderr
    assert count(conn, "aibridge_tool_usages") == 0


def test_a_20kb_random_id_is_bad_input_not_a_lost_connection(cli, conn):
    import secrets

    alice = add_user(conn, "alice")
    inter = add_interception(conn, alice)
    r = cli("record", "token-usage", str(inter["id"]), "--provider-response-id", secrets.token_hex(10_000))
    assert r.exit_code == 2, r.stderr
    assert "connection" not in r.stderr


@pytest.mark.parametrize("depth", [65, 5000])
def test_deep_json_is_one_line_of_error(cli, conn, tmp_path, depth):
    alice = add_user(conn, "alice")
    inter = add_interception(conn, alice)
    doc = '{"a":' * depth + "1" + "}" * depth
    r = cli("record", "token-usage", str(inter["id"]), "--metadata", doc)
    assert r.exit_code == 2, r.stderr
    assert "nested deeper than 64 levels" in r.stderr
    line = ('{"type": "token_usage", "id": "%s", "interception_id": "%s", "metadata": %s}'
            % (uuid.uuid4(), inter["id"], doc))
    path = tmp_path / "deep.ndjson"
    path.write_text(line + "\n")
    r = cli("record", "import", str(path))
    assert r.exit_code == 2, r.stderr
    assert "line 1: nested deeper than 64 levels" in r.stderr
    assert count(conn, "aibridge_token_usages") == 0


def test_metadata_64_deep_is_stored(cli, conn):
    alice = add_user(conn, "alice")
    inter = add_interception(conn, alice)
    doc = '{"a":' * 63 + "1" + "}" * 63
    r = cli("record", "token-usage", str(inter["id"]), "--metadata", doc)
    assert r.exit_code == 0, r.stderr
