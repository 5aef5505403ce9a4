"""One NDJSON line of `record import` to what the loader needs, child records already as COPY text.

Per type a fast path takes the usual well-formed line with plain type checks, precompiled
regexes and `datetime.fromisoformat` (which rejects 2026-02-30), and formats the COPY
text-format row straight from the line's own strings: UUIDs and RFC 3339 times go to
PostgreSQL as written. Anything it does not recognise at a glance goes to the shared checkers
of records.py, which word the error, or normalise the record (non-canonical UUID spellings,
times without an offset...); the normalised record then runs through the same fast path, so
one piece of code formats every row.

Items, per type (line numbers are the file's):
  user              (line, checked record)
  interception      a dict: id, initiator or initiator_id, started_at, ended_at, tool_call_id,
                    thread_parent_id, thread_root_id, line, ended_text, and the COPY row's other
                    columns (copy_mid, copy_tail, copy_session)
  interception_end  (line, id, ended_at, ended text)
  token_usage       (line, id, interception id, COPY row)
  user_prompt       (line, id, interception id, COPY row)
  tool_usage        (line, id, interception id, COPY row, tool call id, created_at)
  model_thought     (line, interception id, COPY row, created_at, content)
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Callable, Optional

from aibridge_cli import records
from aibridge_cli.bulk import NULL, esc  # noqa: F401  (importer takes them from here too)
from aibridge_cli.errors import BadInput
from aibridge_cli.records import FieldError

MAX_BIGINT = records.MAX_BIGINT


class LineError(BadInput):
    def __init__(self, line: int, message: str, hint: str | None = None):
        super().__init__(f"line {line}: {message}", hint=hint)
        self.line = line


# ---- COPY text format --------------------------------------------------------------------

def opt(s: Optional[str]) -> str:
    return NULL if s is None else esc(s)


try:  # the C encoder itself: JSONEncoder.encode builds one per call
    from json.encoder import c_make_encoder as _c_make_encoder

    _encode = _c_make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    _encode_spaced = _c_make_encoder(None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)

    def _dumps(d: dict) -> str:
        return "".join(_encode(d, 0))

    def encode_input(v) -> str:
        """json.dumps(v, ensure_ascii=False), as records.tool_usage stores a tool's JSON input."""
        return "".join(_encode_spaced(v, 0))
except (ImportError, TypeError):  # pragma: no cover - Pythons without the C accelerator
    _dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    encode_input = json.JSONEncoder(ensure_ascii=False).encode


def json_text(d: dict) -> str:
    return esc(_dumps(d)) if d else "{}"


# ---- checks ------------------------------------------------------------------------------

_is_uuid = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").fullmatch
# What PostgreSQL reads exactly as Python does: ASCII digits, an offset within its ±15:59.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[Zz]|[+-](?:0\d|1[0-5]):[0-5]\d)",
                     re.ASCII).fullmatch
_fromiso = datetime.fromisoformat
_UTC = timezone.utc


def when(v):
    """(datetime, COPY text) of a time with an offset, or None for the careful path."""
    if type(v) is str:
        try:
            t = _fromiso(v)
        except ValueError:
            return None
        if t.tzinfo is None:
            return None
        return t, (v if RFC3339(v) else time_text(t))
    if type(v) is datetime and v.tzinfo is not None:  # from a normalised record
        return v, time_text(v)
    return None


def time_text(t: datetime) -> str:
    try:
        return t.astimezone(_UTC).isoformat()
    except OverflowError:  # year 1 with a positive offset
        return t.isoformat()


# ---- per type ----------------------------------------------------------------------------
# Each fast function returns the item, or None: then the careful path checks the line.

TOKEN_FIELDS, PROMPT_FIELDS, TOOL_FIELDS = records.TOKEN_FIELDS, records.PROMPT_FIELDS, records.TOOL_FIELDS
THOUGHT_FIELDS, INTERCEPTION_FIELDS = records.THOUGHT_FIELDS, records.INTERCEPTION_FIELDS
THOUGHT_SOURCES = records.THOUGHT_SOURCES


class Parser:
    """Parses lines against one `now` (the default of every time)."""

    def __init__(self, now: datetime):
        self.now = (now, now.isoformat())
        self.fast: dict[str, Callable] = {
            "interception": self._interception, "interception_end": self._end, "token_usage": self._token,
            "user_prompt": self._prompt, "tool_usage": self._tool, "model_thought": self._thought,
        }

    def _child_head(self, o: dict, fields: frozenset):
        """(id, interception id, provider response id, metadata JSON, (created_at, text)), or None."""
        if not fields.issuperset(o):
            return None
        rid, iid, prid, meta = o.get("id"), o.get("interception_id"), o.get("provider_response_id", ""), o.get("metadata")
        if not (type(rid) is str and _is_uuid(rid) and type(iid) is str and _is_uuid(iid) and type(prid) is str):
            return None
        if meta is None:
            meta = "{}"
        elif type(meta) is dict:
            meta = json_text(meta)
        else:
            return None
        v = o.get("created_at")
        created = self.now if v is None else when(v)
        if created is None:
            return None
        return rid.lower(), iid.lower(), esc(prid), meta, created

    def _token(self, o: dict, line: int):
        head = self._child_head(o, TOKEN_FIELDS)
        if head is None:
            return None
        it, ot = o.get("input_tokens", 0), o.get("output_tokens", 0)
        if not (type(it) is int and type(ot) is int and 0 <= it <= MAX_BIGINT and 0 <= ot <= MAX_BIGINT):
            return None
        rid, iid, prid, meta, created = head
        return line, rid, iid, f"{rid}\t{iid}\t{prid}\t{it}\t{ot}\t{meta}\t{created[1]}\n"

    def _prompt(self, o: dict, line: int):
        head = self._child_head(o, PROMPT_FIELDS)
        prompt = o.get("prompt")
        if head is None or type(prompt) is not str:
            return None
        rid, iid, prid, meta, created = head
        return line, rid, iid, f"{rid}\t{iid}\t{prid}\t{esc(prompt)}\t{meta}\t{created[1]}\n"

    def _tool(self, o: dict, line: int):
        head = self._child_head(o, TOOL_FIELDS)
        if head is None:
            return None
        tool, raw, call, server, error = (o.get("tool"), o.get("input"), o.get("tool_call_id"), o.get("server_url"),
                                          o.get("invocation_error"))
        injected = o.get("injected", False)
        if not (type(tool) is str and tool.strip() and type(injected) is bool
                and (call is None or type(call) is str) and (server is None or type(server) is str)
                and (error is None or type(error) is str)):
            return None
        if raw is None:
            raw = "{}"
        elif type(raw) is not str:  # arguments given as JSON itself: stored encoded, as the bridge does
            raw = encode_input(raw)
        rid, iid, prid, meta, created = head
        row = (f"{rid}\t{iid}\t{prid}\t{opt(server)}\t{esc(tool)}\t{esc(raw)}\t{'t' if injected else 'f'}\t"
               f"{opt(error)}\t{meta}\t{created[1]}\t{opt(call)}\n")
        return line, rid, iid, row, call, created[0]

    def _thought(self, o: dict, line: int):
        if not THOUGHT_FIELDS.issuperset(o):
            return None
        iid, content, meta, created = o.get("interception_id"), o.get("content"), o.get("metadata"), o.get("created_at")
        if not (type(iid) is str and _is_uuid(iid) and type(content) is str and created is not None):
            return None
        if meta is None:
            meta = {}
        elif type(meta) is not dict:
            return None
        source = o.get("source")
        if source is not None:
            if type(source) is not str or source not in THOUGHT_SOURCES:
                return None
            meta = {**meta, "source": source}
        created = when(created)
        if created is None:
            return None
        iid = iid.lower()
        return line, iid, f"{iid}\t{esc(content)}\t{json_text(meta)}\t{created[1]}\n", created[0], content

    def _end(self, o: dict, line: int):
        if not records.END_FIELDS.issuperset(o):
            return None
        iid, v = o.get("id"), o.get("ended_at")
        ended = self.now if v is None else when(v)
        if ended is None or type(iid) is not str or not _is_uuid(iid):
            return None
        return line, iid.lower(), ended[0], ended[1]

    def _interception(self, o: dict, line: int):
        if not INTERCEPTION_FIELDS.issuperset(o) or "initiator_id" in o:
            return None
        get = o.get
        iid, initiator, provider, model = get("id"), get("initiator"), get("provider"), get("model")
        if not (type(iid) is str and _is_uuid(iid) and type(initiator) is str and initiator.strip()
                and type(provider) is str and provider.strip() and type(model) is str and model.strip()):
            return None
        if get("thread_parent_id") is not None or get("thread_root_id") is not None:
            return None
        call, session, key, client, meta = (get("tool_call_id"), get("client_session_id"), get("api_key_id"),
                                            get("client"), get("metadata"))
        if not ((call is None or type(call) is str) and (key is None or type(key) is str)
                and (session is None or (type(session) is str and len(session) <= 256))):
            return None
        if client is None:
            client = "Unknown"
        elif not (type(client) is str and client.strip() and len(client) <= 64):
            return None
        if meta is None:
            meta = {}
        elif type(meta) is not dict:
            return None
        v = get("started_at")
        started = self.now if v is None else when(v)
        if started is None:
            return None
        v = get("ended_at")
        if v is None:
            ended = None
        else:
            ended = when(v)
            if ended is None or ended[0] < started[0]:
                return None
        initiator_id = None
        if _is_uuid(initiator):
            initiator_id, initiator = initiator.lower(), None
        return {
            "id": iid.lower(), "initiator": initiator, "initiator_id": initiator_id, "started_at": started[0],
            "ended_at": None if ended is None else ended[0], "tool_call_id": call, "thread_parent_id": None,
            "thread_root_id": None, "line": line, "ended_text": NULL if ended is None else ended[1],
            # The COPY row's columns that lineage and ends do not change.
            "copy_mid": f"{esc(provider)}\t{esc(model)}\t{started[1]}\t{json_text(meta)}",
            "copy_tail": f"{opt(key)}\t{esc(client)}", "copy_session": opt(session),
        }

    # ---- the careful path ------------------------------------------------------------------

    def careful(self, kind: str, o: dict, line: int):
        """Check the line with the shared checkers (which word the error); format what they return."""
        rec = records.CHECKERS[kind](o, self.now[0])
        if kind == "user":
            return line, rec
        if kind == "interception":
            started = self.now[1] if o.get("started_at") is None else time_text(rec["started_at"])
            return {
                "id": rec["id"], "initiator": rec["initiator"], "initiator_id": rec["initiator_id"],
                "started_at": rec["started_at"], "ended_at": rec["ended_at"], "tool_call_id": rec["tool_call_id"],
                "thread_parent_id": rec["thread_parent_id"], "thread_root_id": rec["thread_root_id"], "line": line,
                "ended_text": NULL if rec["ended_at"] is None else time_text(rec["ended_at"]),
                "copy_mid": f"{esc(rec['provider'])}\t{esc(rec['model'])}\t{started}\t{json_text(rec['metadata'])}",
                "copy_tail": f"{opt(rec['api_key_id'])}\t{esc(rec['client'])}",
                "copy_session": opt(rec["client_session_id"]),
            }
        if kind == "interception_end":
            return line, rec["id"], rec["ended_at"], time_text(rec["ended_at"])
        item = self.fast[kind](rec, line)  # the normalised record takes the fast path
        if item is None:  # pragma: no cover - a checker let through what the fast path refuses
            raise AssertionError(f"line {line}: {kind} checked but not formatted")
        return item

    def parse(self, raw: bytes | str, lineno: int):
        """One line to (type, item). Raises LineError."""
        try:
            text = raw.decode() if type(raw) is bytes else raw
            try:
                obj, end = _scan(text, 0)
                if end != len(text) and not text[end:].isspace():
                    obj = json.loads(text)  # words the error
            except (StopIteration, json.JSONDecodeError):  # leading whitespace, or not JSON
                obj = json.loads(text)
        except UnicodeDecodeError:
            raise LineError(lineno, "not valid UTF-8") from None
        except json.JSONDecodeError as e:
            raise LineError(lineno, f"not valid JSON ({e.msg} at column {e.colno})") from None
        if type(obj) is not dict:
            raise LineError(lineno, "expected a JSON object with a \"type\" field")
        kind = obj.get("type")
        fast = self.fast.get(kind) if type(kind) is str else None
        if fast is None and kind != "user":
            what = "missing field 'type'" if kind is None else f"unknown type {kind!r}"
            raise LineError(lineno, what, hint=f"type is one of {', '.join(records.TYPES)}")
        if "\\u" in text:
            _check_escapes(obj, lineno)
        if fast is not None:
            item = fast(obj, lineno)
            if item is not None:
                return kind, item
        try:
            return kind, self.careful(kind, obj, lineno)
        except FieldError as e:
            raise LineError(lineno, f"{kind}: {e.message}") from None


# The C scanner behind json.loads, without its encoding sniffing and second whitespace scan.
_scan = json.JSONDecoder().scan_once


# \u0000 that json.dumps wrote for a NUL, not the text "\u0000" (whose backslash it doubles).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000").search


def _check_escapes(obj, lineno: int) -> None:
    """JSON may spell characters PostgreSQL cannot store: NUL, and lone surrogates."""
    text = json.dumps(obj, ensure_ascii=False)
    if "\\u0000" in text and _NUL_ESCAPE(text):
        raise LineError(lineno, "contains \\u0000 (NUL), which PostgreSQL cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LineError(lineno, "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None
