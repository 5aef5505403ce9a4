import uuid

from factories import T0

from aibridge_cli.db import copy_format


def test_copy_rows_loads_users_and_interceptions(conn):
    uid = uuid.uuid4()
    assert copy_format.copy_rows(conn, "users", [(uid, "bob", "Bob", "", "bob@example.com", ["auditor"], False, T0, T0)]) == 1
    iid = uuid.uuid4()
    row = dict(zip(copy_format.columns("aibridge_interceptions"), [None] * 12))
    row.update(id=iid, initiator_id=uid, provider="openai", model="gpt-5", started_at=T0, metadata={"a": 1}, client="Codex")
    copy_format.copy_rows(conn, "aibridge_interceptions", [tuple(row.values())])
    got = conn.execute("SELECT initiator_id, metadata, session_id FROM aibridge_interceptions").fetchone()
    assert got == (uid, {"a": 1}, str(iid))
    assert conn.execute("SELECT rbac_roles FROM users").fetchone()[0] == ["auditor"]


def test_every_table_has_a_copy_query_with_its_columns():
    assert copy_format.columns("aibridge_model_thoughts") == ["interception_id", "content", "metadata", "created_at"]
    assert len(copy_format.columns("aibridge_tool_usages")) == 11


def test_copy_statements_name_the_columns_demo_and_import_format():
    assert set(copy_format.COPY_COLUMNS) == set(copy_format.COPY_QUERIES)
    for table, cols in copy_format.COPY_COLUMNS.items():
        assert copy_format.columns(table) == cols, table


def test_copy_text_escaping_round_trips(conn):
    text = "tab\there\nnew line\r\\back slash \\N not null"
    row = "\t".join(["00000000-0000-0000-0000-000000000001", copy_format.esc(text), copy_format.NULL, "2026-11-01T00:00:00Z"]) + "\n"
    copy_format.copy_text(conn, "aibridge_model_thoughts", [row])
    assert conn.execute("SELECT content, metadata FROM aibridge_model_thoughts").fetchone() == (text, None)
