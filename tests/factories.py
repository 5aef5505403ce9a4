"""Test data written straight into the tables, so query tests do not depend on the
record commands. Every helper returns the row it wrote."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from psycopg.types.json import Jsonb

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(minutes: float = 0, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes)


def _insert(conn, table: str, row: dict) -> dict:
    if table == "aibridge_interceptions" and _fk_blocks(conn, row["initiator_id"]):
        # An initiator without a users row: a row written before the initiator's foreign key
        # (a seed-layout deployment, or an embedded database upgraded with the key NOT VALID).
        # The test server's superuser writes it with the key's triggers off, as such rows came.
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            return _insert_row(conn, table, row)
    return _insert_row(conn, table, row)


def _fk_blocks(conn, initiator_id) -> bool:
    return conn.execute(
        "SELECT to_regclass('users') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_constraint "
        "WHERE conname = 'aibridge_interceptions_initiator_id_fkey') "
        "AND NOT EXISTS (SELECT 1 FROM users WHERE id = %s)", [initiator_id]).fetchone()[0]


def _insert_row(conn, table: str, row: dict) -> dict:
    cols = list(row)
    values = [Jsonb(v) if isinstance(v, (dict, list)) and not (table == "users" and c == "rbac_roles") else v
              for c, v in row.items()]
    placeholders = ", ".join(["%s"] * len(cols))
    conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})", values)
    return row


def add_user(conn, username: str, *, name: str = "", roles: list[str] | None = None, id=None,
             email: str | None = None, avatar_url: str = "", deleted: bool = False) -> dict:
    return _insert(conn, "users", {
        "id": id or uuid.uuid4(), "username": username, "name": name or username.title(),
        "avatar_url": avatar_url, "email": email or f"{username}@example.com", "rbac_roles": roles or [],
        "deleted": deleted, "created_at": T0, "updated_at": T0,
    })


def add_interception(conn, initiator, *, id=None, provider="anthropic", model="claude-sonnet-4",
                     started_at=None, ended_at="auto", client="Claude Code", client_session_id=None,
                     thread_parent_id=None, thread_root_id=None, metadata=None, api_key_id=None) -> dict:
    started_at = started_at or T0
    if ended_at == "auto":
        ended_at = started_at + timedelta(seconds=2)
    initiator_id = initiator["id"] if isinstance(initiator, dict) else initiator
    return _insert(conn, "aibridge_interceptions", {
        "id": id or uuid.uuid4(), "initiator_id": initiator_id, "provider": provider, "model": model,
        "started_at": started_at, "ended_at": ended_at, "client": client,
        "client_session_id": client_session_id, "thread_parent_id": thread_parent_id,
        "thread_root_id": thread_root_id, "metadata": metadata, "api_key_id": api_key_id,
    })


def add_token_usage(conn, interception, *, input_tokens=100, output_tokens=50, metadata=None,
                    created_at=None, id=None, provider_response_id="resp_1") -> dict:
    return _insert(conn, "aibridge_token_usages", {
        "id": id or uuid.uuid4(), "interception_id": interception["id"], "provider_response_id": provider_response_id,
        "input_tokens": input_tokens, "output_tokens": output_tokens, "metadata": metadata,
        "created_at": created_at or interception["started_at"],
    })


def add_prompt(conn, interception, prompt: str, *, created_at=None, id=None, metadata=None) -> dict:
    return _insert(conn, "aibridge_user_prompts", {
        "id": id or uuid.uuid4(), "interception_id": interception["id"], "provider_response_id": "resp_1",
        "prompt": prompt, "metadata": metadata, "created_at": created_at or interception["started_at"],
    })


def add_tool_usage(conn, interception, tool: str = "bash", *, injected=False, invocation_error=None,
                   server_url=None, input='{"cmd": "ls"}', provider_tool_call_id=None, created_at=None,
                   id=None, metadata=None) -> dict:
    return _insert(conn, "aibridge_tool_usages", {
        "id": id or uuid.uuid4(), "interception_id": interception["id"], "provider_response_id": "resp_1",
        "server_url": server_url, "tool": tool, "input": input, "injected": injected,
        "invocation_error": invocation_error, "metadata": metadata,
        "created_at": created_at or interception["started_at"], "provider_tool_call_id": provider_tool_call_id,
    })


def add_thought(conn, interception, content: str, *, source="thinking", created_at=None) -> dict:
    return _insert(conn, "aibridge_model_thoughts", {
        "interception_id": interception["id"], "content": content, "metadata": {"source": source},
        "created_at": created_at or interception["started_at"],
    })
