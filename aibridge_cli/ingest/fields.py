"""What a valid record of each type looks like, shared by `record ...` and `record import`.

Each checker takes a JSON-like dict (the NDJSON line, or the single command's options
gathered into one) and returns the record's values, normalised: UUIDs as canonical
strings, times as aware datetimes, metadata as a dict. A bad field raises FieldError
naming the field, so the import can say which line and the commands which option.
Written for speed: `record import` runs these on every line.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Callable

from aibridge_cli.ingest.limits import FieldError
from aibridge_cli.ingest.limits import limited as _limited
from aibridge_cli.ingest.readers import (
    MAX_BIGINT,
    UUID_FORM,
    _check_fields,
    _missing,
    count,
    flag,
    metadata,
    text,
    time_value,
    uuid_text,
)
from aibridge_cli.timeparse import MAX_TIME as _MAX
from aibridge_cli.timeparse import MIN_TIME as _MIN

TYPES = ("user", "interception", "interception_end", "token_usage", "user_prompt", "tool_usage", "model_thought")
ROLES = ("owner", "auditor")
THOUGHT_SOURCES = ("thinking", "reasoning_summary", "commentary")
_UUID = UUID_FORM
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

MAX_CLIENT = 64        # characters of an interception's client
MAX_SESSION = 256      # characters of its client session id
# Namespace for the ids of user lines that give none: the same username always maps to
# the same id, so importing such a line twice still stores one user.
USER_NAMESPACE = uuid.UUID("6f1d3f6e-2b7a-4c57-9a0e-5d1b8c2f7a11")


# ---- one checker per type -------------------------------------------------------------
# Each tries a fast path first (the usual well-formed line: plain type checks, no calls) and
# falls back to the helpers above, which find the bad field and word the error.

_is_uuid = _UUID.fullmatch

# Encoders built once (json.dumps builds one per call). encode_json gives json.dumps(value,
# ensure_ascii=False)'s text, as a tool's JSON input is stored; encode_compact the compact text
# metadata goes to COPY in. check_circular off: values parsed from JSON cannot be circular.
encode_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
encode_compact = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode
_fromiso = datetime.fromisoformat
# What PostgreSQL and Python read alike: ASCII digits, an offset within PostgreSQL's ±15:59.
_is_rfc3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                         r"(?:[Zz]|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])", re.ASCII).fullmatch

def _uuid_fast(v) -> str | None:
    return v.lower() if type(v) is str and _is_uuid(v) else None


def _time_fast(v) -> datetime | None:
    """The usual well-formed time (RFC 3339 with an offset, in range), or None for time_value."""
    if type(v) is str and _is_rfc3339(v):
        try:
            t = _fromiso(v)
        except ValueError:
            return None
        if _MIN <= t <= _MAX:
            return t
    return None


USER_FIELDS = frozenset({"type", "id", "username", "name", "email", "avatar_url", "roles"})


@_limited
def user(obj: dict, now: datetime) -> dict:
    _check_fields(obj, USER_FIELDS)
    username = text(obj, "username")
    if not USERNAME.fullmatch(username):
        raise FieldError("username", f"username: {username!r} is not a valid username "
                                     "(letters, digits, '.', '_', '-'; up to 64; starting with a letter or digit)")
    uid = uuid_text(obj, "id", required=False)
    roles = obj.get("roles")
    if roles is None:
        roles = []
    if type(roles) is not list or any(r not in ROLES for r in roles):
        raise FieldError("roles", f"roles: expected a list of {' and '.join(ROLES)}, got {roles!r}")
    email = text(obj, "email", required=False, default="")
    if email and "@" not in email:
        raise FieldError("email", f"email: {email!r} is not an email address")
    return {
        "id": uid, "id_given": uid is not None, "username": username,
        "name": text(obj, "name", required=False, default=""),
        "email": email, "avatar_url": text(obj, "avatar_url", required=False, default=""),
        "roles": sorted(set(roles)),
    }


INTERCEPTION_FIELDS_SEED = frozenset({
    "type", "id", "initiator", "initiator_id", "provider", "model", "started_at", "ended_at", "api_key_id",
    "client", "client_session_id", "metadata", "tool_call_id", "thread_parent_id", "thread_root_id",
})
# The fields of the 2026-08 layout (docs/deployment.md); the import's fast paths know only the
# seed's, so a line with any of these takes the checked path.
NEWER_INTERCEPTION_FIELDS = ("provider_name", "credential_kind", "credential_hint", "agent_firewall_session_id",
                             "agent_firewall_sequence_number", "error_type", "error_message")
INTERCEPTION_FIELDS = INTERCEPTION_FIELDS_SEED | set(NEWER_INTERCEPTION_FIELDS)
CREDENTIAL_KINDS = ("centralized", "byok")
ERROR_TYPES = ("bad_request", "unauthorized", "rate_limited", "overloaded", "server_error", "timeout", "unknown")
MAX_INT = 2**31 - 1


def newer_interception_fields(obj: dict, ended: bool = True) -> dict:
    """The 2026-08 fields of an interception (or end) line, checked; absent ones at their defaults.
    `given` lists the fields the line set, so a seed-layout database can refuse them."""
    given = [f for f in NEWER_INTERCEPTION_FIELDS if obj.get(f) is not None]
    kind = obj.get("credential_kind")
    if kind is not None and kind not in CREDENTIAL_KINDS:
        raise FieldError("credential_kind", f"credential_kind: expected {' or '.join(CREDENTIAL_KINDS)}, got {kind!r}")
    hint = text(obj, "credential_hint", required=False, default="", max_len=15)
    session = uuid_text(obj, "agent_firewall_session_id", required=False)
    seq = obj.get("agent_firewall_sequence_number")
    if seq is not None and (type(seq) is not int or not 0 <= seq <= MAX_INT):
        raise FieldError("agent_firewall_sequence_number",
                         f"agent_firewall_sequence_number: expected a whole number from 0 to {MAX_INT}, got {seq!r}")
    if seq is not None and session is None:
        raise FieldError("agent_firewall_sequence_number", "agent_firewall_sequence_number needs agent_firewall_session_id")
    etype = obj.get("error_type")
    if etype is not None and etype not in ERROR_TYPES:
        raise FieldError("error_type", f"error_type: expected one of {', '.join(ERROR_TYPES)}, got {etype!r}")
    message = text(obj, "error_message", required=False, max_len=1024)
    if message is not None and etype is None:
        raise FieldError("error_message", "error_message needs error_type (the error's category)")
    if etype is not None and not ended:
        raise FieldError("error_type", "error_type is set when the interception ends: give ended_at too")
    return {"provider_name": text(obj, "provider_name", required=False, nonempty=True),
            "credential_kind": kind or "centralized", "credential_hint": hint,
            "agent_firewall_session_id": session, "agent_firewall_sequence_number": seq,
            "error_type": etype, "error_message": message, "given": given}


@_limited
def interception(obj: dict, now: datetime, id_required: bool = True) -> dict:
    if not INTERCEPTION_FIELDS.issuperset(obj):
        _check_fields(obj, INTERCEPTION_FIELDS)
    initiator = obj.get("initiator")
    initiator_id = None
    if "initiator_id" in obj:
        if initiator is not None:
            raise FieldError("initiator_id", "give either initiator or initiator_id, not both")
        initiator_id = uuid_text(obj, "initiator_id")
    else:
        initiator = text(obj, "initiator", nonempty=True)
        if _is_uuid(initiator):
            initiator_id, initiator = initiator.lower(), None
    tool_call_id = obj.get("tool_call_id")
    if tool_call_id is not None and type(tool_call_id) is not str:
        text(obj, "tool_call_id")
    parent = uuid_text(obj, "thread_parent_id", required=False)
    root = uuid_text(obj, "thread_root_id", required=False)
    if parent or root:
        if tool_call_id is not None:
            raise FieldError("tool_call_id", "give either tool_call_id (lineage looked up) or "
                                             "thread_parent_id/thread_root_id, not both")
        if root and not parent:
            raise FieldError("thread_root_id", "thread_root_id needs thread_parent_id")
    v = obj.get("started_at")
    started = (_time_fast(v) or time_value(obj, "started_at")) if v is not None else now
    v = obj.get("ended_at")
    ended = (_time_fast(v) or time_value(obj, "ended_at")) if v is not None else None
    if ended is not None and ended < started:
        raise FieldError("ended_at", "ended_at is before started_at")
    iid = _uuid_fast(obj.get("id")) or uuid_text(obj, "id", required=id_required)
    if iid is not None and iid in (parent, root):
        raise FieldError("thread_parent_id", "an interception cannot be its own parent or root")
    provider, model = obj.get("provider"), obj.get("model")
    if type(provider) is not str or not provider.strip():
        text(obj, "provider", nonempty=True)
    if type(model) is not str or not model.strip():
        text(obj, "model", nonempty=True)
    client = obj.get("client")
    if client is None:
        client = "Unknown"
    elif type(client) is not str or not client.strip() or len(client) > MAX_CLIENT:
        text(obj, "client", nonempty=True, max_len=MAX_CLIENT)
    session = obj.get("client_session_id")
    if session is not None and (type(session) is not str or len(session) > MAX_SESSION):
        text(obj, "client_session_id", max_len=MAX_SESSION)
    api_key_id = obj.get("api_key_id")
    if api_key_id is not None and type(api_key_id) is not str:
        text(obj, "api_key_id")
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    elif type(meta) is not dict:
        metadata(obj)
    return {
        "id": iid, "initiator": initiator, "initiator_id": initiator_id, "provider": provider, "model": model,
        "started_at": started, "ended_at": ended, "api_key_id": api_key_id, "client": client,
        "client_session_id": session, "metadata": meta, "tool_call_id": tool_call_id,
        "thread_parent_id": parent, "thread_root_id": root,
        **newer_interception_fields(obj, ended=ended is not None),
    }


END_FIELDS_SEED = frozenset({"type", "id", "ended_at"})
END_FIELDS = END_FIELDS_SEED | {"error_type", "error_message", "credential_hint"}


@_limited
def interception_end(obj: dict, now: datetime) -> dict:
    _check_fields(obj, END_FIELDS)
    newer = newer_interception_fields(obj)
    return {"id": uuid_text(obj, "id"), "ended_at": time_value(obj, "ended_at", default=now),
            **{k: newer[k] for k in ("error_type", "error_message", "credential_hint", "given")}}


def _child(obj: dict, now: datetime, id_required: bool, fields: frozenset, texts: tuple) -> dict:
    """The fields every child record shares, checked fast; None values mean 'use the slow path'."""
    if not fields.issuperset(obj):
        _check_fields(obj, fields)
    rid = _uuid_fast(obj.get("id"))
    if rid is None:
        rid = uuid_text(obj, "id", required=id_required)
    iid = _uuid_fast(obj.get("interception_id")) or uuid_text(obj, "interception_id")
    v = obj.get("created_at")
    created = (_time_fast(v) or time_value(obj, "created_at")) if v is not None else now
    prid = obj.get("provider_response_id")
    if prid is None:
        prid = ""
    elif type(prid) is not str:
        text(obj, "provider_response_id")
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    elif type(meta) is not dict:
        metadata(obj)
    rec = {"id": rid, "interception_id": iid, "provider_response_id": prid, "metadata": meta, "created_at": created}
    for name in texts:
        v = obj.get(name)
        if type(v) is not str:
            text(obj, name)
        rec[name] = v
    return rec


TOKEN_FIELDS_SEED = frozenset({"type", "id", "interception_id", "provider_response_id", "input_tokens",
                               "output_tokens", "metadata", "created_at"})
TOKEN_FIELDS = TOKEN_FIELDS_SEED | {"cache_read_input_tokens", "cache_write_input_tokens"}


@_limited
def token_usage(obj: dict, now: datetime, id_required: bool = True) -> dict:
    rec = _child(obj, now, id_required, TOKEN_FIELDS, ())
    # The cache columns: as given, else by the deployment's backfill rule from the metadata.
    from aibridge_cli.data.layout import cache_tokens

    read, write = cache_tokens(rec["metadata"])
    rec["cache_read_input_tokens"] = count(obj, "cache_read_input_tokens", read)
    rec["cache_write_input_tokens"] = count(obj, "cache_write_input_tokens", write)
    rec["given"] = [f for f in ("cache_read_input_tokens", "cache_write_input_tokens") if obj.get(f) is not None]
    for name in ("input_tokens", "output_tokens"):
        v = obj.get(name, 0)
        if type(v) is not int or v < 0 or v > MAX_BIGINT:
            v = count(obj, name)
        rec[name] = v
    return rec


PROMPT_FIELDS = frozenset({"type", "id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"})


@_limited
def user_prompt(obj: dict, now: datetime, id_required: bool = True) -> dict:
    return _child(obj, now, id_required, PROMPT_FIELDS, ("prompt",))


TOOL_FIELDS_SEED = frozenset({"type", "id", "interception_id", "provider_response_id", "tool", "input", "tool_call_id",
                              "server_url", "injected", "invocation_error", "metadata", "created_at"})
TOOL_FIELDS = TOOL_FIELDS_SEED | {"provider_item_id"}


@_limited
def tool_usage(obj: dict, now: datetime, id_required: bool = True) -> dict:
    rec = _child(obj, now, id_required, TOOL_FIELDS, ("tool",))
    if not rec["tool"].strip():
        text(obj, "tool", nonempty=True)
    raw = obj.get("input")
    if raw is None:
        raw = "{}"
    elif type(raw) is not str:  # arguments given as JSON itself: stored encoded, as the bridge does
        raw = encode_json(raw)
    rec["input"] = raw
    for name in ("tool_call_id", "server_url", "invocation_error"):
        v = obj.get(name)
        if v is not None and type(v) is not str:
            text(obj, name)
        rec[name] = v
    injected = obj.get("injected", False)
    if type(injected) is not bool:
        injected = flag(obj, "injected")
    rec["injected"] = injected
    rec["provider_item_id"] = text(obj, "provider_item_id", required=False)
    rec["given"] = ["provider_item_id"] if rec["provider_item_id"] is not None else []
    return rec


THOUGHT_FIELDS = frozenset({"type", "interception_id", "content", "source", "metadata", "created_at"})


@_limited
def model_thought(obj: dict, now: datetime, created_required: bool = True) -> dict:
    if not THOUGHT_FIELDS.issuperset(obj):
        _check_fields(obj, THOUGHT_FIELDS)
    meta = metadata(obj)
    source = obj.get("source")
    if source is not None:
        if source not in THOUGHT_SOURCES:
            raise FieldError("source", f"source: expected one of {', '.join(THOUGHT_SOURCES)}, got {source!r}")
        meta = {**meta, "source": source}
    v = obj.get("created_at")
    if v is None and created_required:
        _missing("created_at")
    return {
        "interception_id": _uuid_fast(obj.get("interception_id")) or uuid_text(obj, "interception_id"),
        "content": text(obj, "content"), "metadata": meta,
        "created_at": (_time_fast(v) or time_value(obj, "created_at")) if v is not None else now,
    }


CHECKERS: dict[str, Callable[[dict, datetime], dict]] = {
    "user": user, "interception": interception, "interception_end": interception_end,
    "token_usage": token_usage, "user_prompt": user_prompt, "tool_usage": tool_usage,
    "model_thought": model_thought,
}


def user_id_for(username: str) -> str:
    return str(uuid.uuid5(USER_NAMESPACE, username))
