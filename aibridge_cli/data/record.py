"""Writing one AI Bridge record at a time (`aibridge record ...`).

The records arrive already checked by ingest/fields.py (the rules `record import` uses too);
this module finds their lineage and writes them. Knows psycopg and the named queries; never
prints: what the caller should tell the user comes back in the result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from aibridge_cli.data import layout
from aibridge_cli.db import query
from aibridge_cli.errors import AibridgeError, BadInput, NotFound
from aibridge_cli.ingest import lineage

# The option each 2026-08 field comes from, for the seed layout's refusal.
OPTIONS = {"agent_firewall_session_id": "--firewall-session-id", "agent_firewall_sequence_number": "--firewall-sequence",
           "cache_read_input_tokens": "--cache-read-tokens", "cache_write_input_tokens": "--cache-write-tokens"}


def _newer(present: bool, given: list) -> bool:
    """Whether the layout has the columns; a 2026-08 field given where it has not: refused."""
    if given and not present:
        option = OPTIONS.get(given[0], "--" + given[0].replace("_", "-"))
        raise BadInput(f"{option}: this database has the seed's layout, without the column",
                       hint="the field exists on the 2026-08 layout (docs/deployment.md); leave the option out")
    return present


@dataclass
class Written:
    row: dict
    # The tool call id the interception named when no tool usage carried it: no lineage.
    unknown_tool_call: Optional[str] = None


def _new_id(rec: dict) -> str:
    return rec["id"] or str(uuid.uuid4())


def _already(what: str, rid: str) -> AibridgeError:
    return AibridgeError(f"{what} {rid} already exists", hint="leave out --id for a new random id")


def _rfc3339(t: datetime) -> str:
    return (t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)).isoformat()


def require_interception(conn, iid: str) -> None:
    if not query.one(conn, "RecordInterceptionExists", id=iid)["found"]:
        raise NotFound(f"no interception {iid}", hint="record it first with 'aibridge record interception'")


def interception(conn, rec: dict, initiator_id) -> Written:
    """Write a checked interception record for the user `initiator_id`, its thread found as the import finds it."""
    if query.one(conn, "GetUserByID", id=initiator_id) is None:
        raise NotFound(f"--initiator: no user with id {initiator_id}",
                       hint="add the user with 'aibridge users add', or pass an existing username")
    parent, root = rec["thread_parent_id"], rec["thread_root_id"]
    unknown_call = None
    if rec["tool_call_id"] is not None:
        found = query.one(conn, "GetAIBridgeInterceptionLineageByToolCallID", tool_call_id=rec["tool_call_id"])
        if found is None:
            unknown_call = rec["tool_call_id"]
        else:
            parent, root = found["thread_parent_id"], found["thread_root_id"]
    else:
        # The parent must exist (as record import requires): a missing one would become a root
        # that no interception has.
        if parent is not None and not query.one(conn, "RecordInterceptionExists", id=parent)["found"]:
            raise NotFound(f"--thread-parent-id: no interception {parent}",
                           hint="record the parent first, or leave --thread-parent-id out")

        def root_of(pid: str) -> Optional[str]:
            row = query.one(conn, "GetRecordInterceptionRoot", id=pid)
            return row["thread_root_id"] if row else None

        parent, root = lineage.thread(parent, root, root_of)
    iid = _new_id(rec)
    if _newer(layout.detect(conn).interception_columns, rec.get("given", [])):
        row = query.one(conn, "InsertAIBridgeInterceptionV2026", id=iid, api_key_id=rec["api_key_id"],
                        initiator_id=initiator_id, provider=rec["provider"], model=rec["model"],
                        metadata=rec["metadata"], started_at=rec["started_at"], client=rec["client"],
                        client_session_id=rec["client_session_id"], thread_parent_interception_id=parent,
                        thread_root_interception_id=root, provider_name=rec["provider_name"],
                        credential_kind=rec["credential_kind"], credential_hint=rec["credential_hint"],
                        agent_firewall_session_id=rec["agent_firewall_session_id"],
                        agent_firewall_sequence_number=rec["agent_firewall_sequence_number"])
    else:
        row = query.one(conn, "InsertAIBridgeInterception", id=iid, api_key_id=rec["api_key_id"],
                        initiator_id=initiator_id, provider=rec["provider"], model=rec["model"],
                        metadata=rec["metadata"], started_at=rec["started_at"], client=rec["client"],
                        client_session_id=rec["client_session_id"], thread_parent_interception_id=parent,
                        thread_root_interception_id=root)
    if row is None:
        raise _already("interception", rec["id"])
    return Written(row, unknown_call)


def end(conn, iid: str, when: datetime, err: Optional[dict] = None) -> dict:
    """Mark an in-flight interception ended (on the 2026-08 layout with its error and credential
    hint, `err` as fields.newer_interception_fields gives them); says why not when it cannot."""
    err = err or {"given": []}
    if _newer(layout.detect(conn).interception_columns, err["given"]):
        row = query.one(conn, "UpdateAIBridgeInterceptionEndedV2026", id=iid, ended_at=when,
                        error_type=err.get("error_type"), error_message=err.get("error_message"),
                        credential_hint=err.get("credential_hint") or "")
    else:
        row = query.one(conn, "UpdateAIBridgeInterceptionEnded", id=iid, ended_at=when)
    if row is not None:
        return row
    state = query.one(conn, "GetRecordInterceptionState", id=iid)
    if state is None:
        raise NotFound(f"no interception {iid}", hint="check the id with 'aibridge interceptions list'")
    if state["ended_at"] is not None:
        raise AibridgeError(f"interception {iid} already ended at {_rfc3339(state['ended_at'])}",
                            hint="an interception ends once; nothing was changed")
    raise BadInput(f"--ended-at: {_rfc3339(when)} is before the interception started "
                   f"({_rfc3339(state['started_at'])})")


def token_usage(conn, rec: dict) -> dict:
    newer = _newer(layout.detect(conn).token_cache_columns, rec.get("given", []))
    require_interception(conn, rec["interception_id"])
    rid = _new_id(rec)
    if newer:  # the cache columns the deployment's readers use
        row = query.one(conn, "InsertAIBridgeTokenUsageV2026", id=rid, interception_id=rec["interception_id"],
                        provider_response_id=rec["provider_response_id"], input_tokens=rec["input_tokens"],
                        output_tokens=rec["output_tokens"], metadata=rec["metadata"], created_at=rec["created_at"],
                        cache_read_input_tokens=rec["cache_read_input_tokens"],
                        cache_write_input_tokens=rec["cache_write_input_tokens"])
    else:
        row = query.one(conn, "InsertAIBridgeTokenUsage", id=rid, interception_id=rec["interception_id"],
                        provider_response_id=rec["provider_response_id"], input_tokens=rec["input_tokens"],
                        output_tokens=rec["output_tokens"], metadata=rec["metadata"], created_at=rec["created_at"])
    if row is None:
        raise _already("token usage", rec["id"])
    return row


def user_prompt(conn, rec: dict) -> dict:
    require_interception(conn, rec["interception_id"])
    row = query.one(conn, "InsertAIBridgeUserPrompt", id=_new_id(rec), interception_id=rec["interception_id"],
                    provider_response_id=rec["provider_response_id"], prompt=rec["prompt"],
                    metadata=rec["metadata"], created_at=rec["created_at"])
    if row is None:
        raise _already("user prompt", rec["id"])
    return row


def tool_usage(conn, rec: dict) -> dict:
    newer = _newer(layout.detect(conn).tool_item_column, rec.get("given", []))
    require_interception(conn, rec["interception_id"])
    rid = _new_id(rec)
    if newer:
        row = query.one(conn, "InsertAIBridgeToolUsageV2026", id=rid, interception_id=rec["interception_id"],
                        provider_response_id=rec["provider_response_id"], provider_tool_call_id=rec["tool_call_id"],
                        tool=rec["tool"], server_url=rec["server_url"], input=rec["input"], injected=rec["injected"],
                        invocation_error=rec["invocation_error"], metadata=rec["metadata"],
                        created_at=rec["created_at"], provider_item_id=rec["provider_item_id"])
    else:
        row = query.one(conn, "InsertAIBridgeToolUsage", id=rid, interception_id=rec["interception_id"],
                        provider_response_id=rec["provider_response_id"], provider_tool_call_id=rec["tool_call_id"],
                        tool=rec["tool"], server_url=rec["server_url"], input=rec["input"], injected=rec["injected"],
                        invocation_error=rec["invocation_error"], metadata=rec["metadata"],
                        created_at=rec["created_at"])
    if row is None:
        raise _already("tool usage", rec["id"])
    return row


def model_thought(conn, rec: dict) -> dict:
    require_interception(conn, rec["interception_id"])
    return query.one(conn, "InsertAIBridgeModelThought", interception_id=rec["interception_id"],
                     content=rec["content"], metadata=rec["metadata"], created_at=rec["created_at"])
