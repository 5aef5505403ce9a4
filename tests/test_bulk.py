import uuid

from aibridge_cli import bulk
from factories import T0


def test_copy_rows_loads_users_and_interceptions(conn):
    uid = uuid.uuid4()
    assert bulk.copy_rows(conn, "users", [(uid, "bob", "Bob", "", "bob@example.com", ["auditor"], False, T0, T0)]) == 1
    iid = uuid.uuid4()
    row = dict(zip(bulk.columns("aibridge_interceptions"), [None] * 12))
    row.update(id=iid, initiator_id=uid, provider="openai", model="gpt-5", started_at=T0, metadata={"a": 1}, client="Codex")
    bulk.copy_rows(conn, "aibridge_interceptions", [tuple(row.values())])
    got = conn.execute("SELECT initiator_id, metadata, session_id FROM aibridge_interceptions").fetchone()
    assert got == (uid, {"a": 1}, str(iid))
    assert conn.execute("SELECT rbac_roles FROM users").fetchone()[0] == ["auditor"]


def test_every_table_has_a_copy_query_with_its_columns():
    assert bulk.columns("aibridge_model_thoughts") == ["interception_id", "content", "metadata", "created_at"]
    assert len(bulk.columns("aibridge_tool_usages")) == 11
