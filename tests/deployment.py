"""Rows written the way a deployment at 2026-08 writes them: Coder's user rows, and the
AI Bridge rows through the deployment's own insert queries, read at test time from the spec's
aibridge-2026-08.sql and translated by the project's sqlc translator (read, never copied)."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

import pytest
from conftest import AIBRIDGE_2026_08
from factories import T0
from psycopg.rows import dict_row


@functools.cache
def reference() -> dict:
    if not AIBRIDGE_2026_08:
        pytest.skip("the spec's aibridge-2026-08.sql is not present")
    from pathlib import Path

    from aibridge_cli.sqlc.translate import parse_file

    return {q.name: q for q in parse_file(Path(AIBRIDGE_2026_08))}


def run_reference(conn, name: str, **params) -> list[dict]:
    """Run the deployment's query `name` with these parameters (omitted ones at their zero value)."""
    from psycopg.types.json import Jsonb

    q = reference()[name]
    unknown = set(params) - set(q.params)
    assert not unknown, f"{name} has no parameter(s) {unknown}"
    # As the deployment's Go code passes them: every parameter given (NULL where the Go value is
    # NULL), JSON as JSON. bind() would turn a NULL of an uncast parameter into a zero value.
    values = {}
    for pname, param in q.params.items():
        v = params[pname] if pname in params else param.zero()
        values[pname] = Jsonb(v) if isinstance(v, (dict, list)) else v
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.sql, values)
        return cur.fetchall() if cur.description else []


def add_coder_user(conn, username: str, *, roles: list[str] | None = None, id=None, name: str = "",
                   deleted: bool = False) -> dict:
    """A user row as Coder writes it: a hashed password, a login type, a status."""
    row = {"id": id or uuid.uuid4(), "username": username, "name": name or username.title(),
           "email": f"{username}@example.com", "rbac_roles": roles or [], "deleted": deleted,
           "created_at": T0, "updated_at": T0, "avatar_url": ""}
    conn.execute("INSERT INTO users (id, email, username, name, hashed_password, created_at, updated_at, rbac_roles, "
                 "login_type, status, deleted) VALUES (%(id)s, %(email)s, %(username)s, %(name)s, "
                 "'\\x2432612431302461626364'::bytea, %(created_at)s, %(updated_at)s, %(rbac_roles)s, 'password', "
                 "'active', %(deleted)s)", row)
    return row


def add_interception(conn, initiator, *, id=None, provider="anthropic", provider_name=None, model="claude-sonnet-4",
                     started_at=None, ended_at="auto", client="Claude Code", client_session_id=None,
                     thread_parent_id=None, thread_root_id=None, metadata=None, api_key_id=None,
                     credential_kind="centralized", credential_hint="", firewall_session_id=None,
                     firewall_sequence=None, error_type=None, error_message=None) -> dict:
    """InsertAIBridgeInterception, then (unless ended_at is None) UpdateAIBridgeInterceptionEnded."""
    started_at = started_at or T0
    if ended_at == "auto":
        ended_at = started_at + timedelta(seconds=2)
    initiator_id = initiator["id"] if isinstance(initiator, dict) else initiator
    row = run_reference(conn, "InsertAIBridgeInterception", id=id or uuid.uuid4(), api_key_id=api_key_id,
                        initiator_id=initiator_id, provider=provider,
                        provider_name=provider if provider_name is None else provider_name, model=model,
                        metadata=metadata, started_at=started_at, client=client, client_session_id=client_session_id,
                        thread_parent_interception_id=thread_parent_id, thread_root_interception_id=thread_root_id,
                        credential_kind=credential_kind, credential_hint=credential_hint,
                        agent_firewall_session_id=firewall_session_id,
                        agent_firewall_sequence_number=firewall_sequence)[0]
    if ended_at is not None:
        row = run_reference(conn, "UpdateAIBridgeInterceptionEnded", id=row["id"], ended_at=ended_at,
                            credential_hint=credential_hint, error_type=error_type, error_message=error_message)[0]
    return row


def add_token_usage(conn, interception, *, input_tokens=100, output_tokens=50, cache_read=0, cache_write=0,
                    metadata=None, created_at=None, id=None, provider_response_id="resp_1", cost_micros=None) -> dict:
    return run_reference(conn, "InsertAIBridgeTokenUsage", id=id or uuid.uuid4(), interception_id=interception["id"],
                         provider_response_id=provider_response_id, input_tokens=input_tokens,
                         output_tokens=output_tokens, cache_read_input_tokens=cache_read,
                         cache_write_input_tokens=cache_write, metadata=metadata,
                         created_at=created_at or interception["started_at"], effective_group_id=None,
                         input_price_micros=None, output_price_micros=None, cache_read_price_micros=None,
                         cache_write_price_micros=None, cost_micros=cost_micros)[0]


def add_prompt(conn, interception, prompt: str, *, created_at=None, id=None) -> dict:
    return run_reference(conn, "InsertAIBridgeUserPrompt", id=id or uuid.uuid4(), interception_id=interception["id"],
                         provider_response_id="resp_1", prompt=prompt, metadata=None,
                         created_at=created_at or interception["started_at"])[0]


def add_tool_usage(conn, interception, tool="bash", *, injected=False, invocation_error=None, server_url=None,
                   input='{"cmd": "ls"}', provider_tool_call_id=None, provider_item_id=None, created_at=None,
                   id=None) -> dict:
    return run_reference(conn, "InsertAIBridgeToolUsage", id=id or uuid.uuid4(), interception_id=interception["id"],
                         provider_response_id="resp_1", provider_tool_call_id=provider_tool_call_id,
                         provider_item_id=provider_item_id, tool=tool, server_url=server_url, input=input,
                         injected=injected, invocation_error=invocation_error, metadata=None,
                         created_at=created_at or interception["started_at"])[0]


def add_boundary_log(conn, session_id, sequence_number, *, created_at=None, proto="http", method="GET",
                     detail="https://example.com/", matched_rule="domain=example.com", owner_id=None) -> dict:
    """boundary_logs has no insert query in the spec's file; the row's shape is the table's."""
    row = {"id": uuid.uuid4(), "session_id": session_id, "sequence_number": sequence_number,
           "captured_at": (created_at or T0) + timedelta(seconds=1), "created_at": created_at or T0,
           "proto": proto, "method": method, "detail": detail, "matched_rule": matched_rule, "owner_id": owner_id}
    conn.execute("INSERT INTO boundary_logs (id, session_id, sequence_number, captured_at, created_at, proto, method, "
                 "detail, matched_rule, owner_id) VALUES (%(id)s, %(session_id)s, %(sequence_number)s, %(captured_at)s, "
                 "%(created_at)s, %(proto)s, %(method)s, %(detail)s, %(matched_rule)s, %(owner_id)s)", row)
    return row
