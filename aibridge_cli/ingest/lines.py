"""NDJSON lines of `record import` into a Batch: child records already as COPY text rows.

Per type a fast path takes the usual well-formed line with plain type checks, precompiled
regexes and `datetime.fromisoformat` (which rejects 2026-02-30), and formats the COPY
text-format row straight from the line's own strings: UUIDs and RFC 3339 times go to
PostgreSQL as written. Anything it does not recognise at a glance goes to the shared checkers
of fields.py, which word the error, or normalise the record (non-canonical UUID spellings,
times without an offset...); the normalised record then runs through the same fast path, so
one piece of code formats every row.

A line without a backslash needs no COPY escaping at all: JSON strings cannot hold a raw
tab, newline or carriage return, and a decoded string holds a backslash only where the line
spelled one as an escape. Such lines skip `esc`, which would only scan their strings.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Callable, Optional

from aibridge_cli.data.layout import cache_tokens
from aibridge_cli.db.copy_format import NULL, esc
from aibridge_cli.errors import BadInput
from aibridge_cli.ingest import fields
from aibridge_cli.ingest.batch import (
    Batch,
    ChildRow,
    EndError,
    EndLine,
    InterceptionLine,
    ThoughtLine,
    ToolCall,
    UserLine,
)
from aibridge_cli.ingest.copytext import (  # noqa: F401  (the parser's COPY text helpers; tests read them here)
    _JSON_SCALAR,
    _UTC,
    RFC3339,
    _are_two_uuids,
    _dumps,
    _fromiso,
    _is_any_uuid,
    _is_uuid,
    _meta,
    _new,
    encode_input,
    json_text,
    opt,
    plain_json,
    time_text,
    when,
)
from aibridge_cli.ingest.fields import FieldError
from aibridge_cli.ingest.limits import JSON_DEPTH, TEXT_BYTES, depth_over, names_over, over

MAX_BIGINT, MAX_CLIENT, MAX_SESSION = fields.MAX_BIGINT, fields.MAX_CLIENT, fields.MAX_SESSION


class LineError(BadInput):
    def __init__(self, line: int, message: str, hint: str | None = None):
        super().__init__(f"line {line}: {message}", hint=hint)
        self.line = line


# ---- per type ----------------------------------------------------------------------------
# Each fast method adds the line to the batch and returns True, or returns False having added
# nothing: then the careful path checks the line.

# The fast paths know the seed's fields: a line with a 2026-08 field takes the checked path.
TOKEN_FIELDS, PROMPT_FIELDS, TOOL_FIELDS = fields.TOKEN_FIELDS_SEED, fields.PROMPT_FIELDS, fields.TOOL_FIELDS_SEED
THOUGHT_FIELDS, INTERCEPTION_FIELDS = fields.THOUGHT_FIELDS, fields.INTERCEPTION_FIELDS_SEED
THOUGHT_SOURCES = fields.THOUGHT_SOURCES


class Parser:
    """Parses lines against one `now` (the default of every time) into `batch`."""

    def __init__(self, now: datetime, layout=None):
        from aibridge_cli.data.layout import SEED

        self.now = (now, now.isoformat())
        self.batch = Batch()
        # Rows are formatted for the COPY column lists of the layout present (bulk.sql).
        self.layout = layout or SEED
        self.fast: dict[str, Callable] = {
            "interception": self._interception, "interception_end": self._end, "token_usage": self._token,
            "user_prompt": self._prompt, "tool_usage": self._tool, "model_thought": self._thought,
        }

    def take(self) -> Batch:
        """The batch so far; later lines go to a new one."""
        batch, self.batch = self.batch, Batch()
        return batch

    def _child_head(self, o: dict, fields: frozenset, plain: bool):
        """(id, interception id, provider response id, metadata, created_at (datetime, text)), or None."""
        if not fields.issuperset(o):
            return None
        get = o.get
        rid, iid, prid = get("id"), get("interception_id"), get("provider_response_id", "")
        if not (type(rid) is str and type(iid) is str and type(prid) is str and _are_two_uuids(rid + iid)):
            return None
        if names_over(prid):
            return None
        meta = _meta(get("metadata"), plain)
        if meta is None:
            return None
        v = get("created_at")
        created = self.now if v is None else when(v)
        if created is None:
            return None
        return rid, iid, (prid if plain else esc(prid)), meta, created

    def _token(self, o: dict, line: int, plain: bool, cache: Optional[tuple] = None) -> bool:
        head = self._child_head(o, TOKEN_FIELDS, plain)
        if head is None:
            return False
        it, ot = o.get("input_tokens", 0), o.get("output_tokens", 0)
        if not (type(it) is int and type(ot) is int and 0 <= it <= MAX_BIGINT and 0 <= ot <= MAX_BIGINT):
            return False
        rid, iid, prid, meta, created = head
        b = self.batch
        if self.layout.token_cache_columns:
            if cache is None:
                cache = cache_tokens(o.get("metadata"))
            row = f"{rid}\t{iid}\t{prid}\t{it}\t{ot}\t{meta}\t{created[1]}\t{cache[0]}\t{cache[1]}\n"
        else:
            row = f"{rid}\t{iid}\t{prid}\t{it}\t{ot}\t{meta}\t{created[1]}\n"
        b.rows["token_usage"].append(_new(ChildRow, (line, rid, iid, row)))
        b.refs.add(iid)
        return True

    def _prompt(self, o: dict, line: int, plain: bool) -> bool:
        head = self._child_head(o, PROMPT_FIELDS, plain)
        prompt = o.get("prompt")
        if head is None or type(prompt) is not str or over(prompt, TEXT_BYTES):
            return False
        rid, iid, prid, meta, created = head
        b = self.batch
        b.rows["user_prompt"].append(_new(ChildRow, (
            line, rid, iid, f"{rid}\t{iid}\t{prid}\t{prompt if plain else esc(prompt)}\t{meta}\t{created[1]}\n")))
        b.refs.add(iid)
        return True

    def _tool(self, o: dict, line: int, plain: bool, item: Optional[str] = None) -> bool:
        head = self._child_head(o, TOOL_FIELDS, plain)
        if head is None:
            return False
        get = o.get
        tool, raw, call, server, error = (get("tool"), get("input"), get("tool_call_id"), get("server_url"),
                                          get("invocation_error"))
        injected = get("injected", False)
        if not (type(tool) is str and tool.strip() and type(injected) is bool
                and (call is None or type(call) is str) and (server is None or type(server) is str)
                and (error is None or type(error) is str)):
            return False
        if raw is None:
            raw = "{}"
        elif type(raw) is not str:  # arguments given as JSON itself: stored encoded, as the bridge does
            raw = (plain and type(raw) is dict and plain_json(raw, ": ", ", ")) or encode_input(raw)
        if names_over(tool, call, server) or over(raw, TEXT_BYTES) or over(error, TEXT_BYTES):
            return False
        rid, iid, prid, meta, created = head
        if plain:
            row = (f"{rid}\t{iid}\t{prid}\t{NULL if server is None else server}\t{tool}\t{raw}\t"
                   f"{'t' if injected else 'f'}\t{NULL if error is None else error}\t{meta}\t{created[1]}\t"
                   f"{NULL if call is None else call}\n")
        else:
            row = (f"{rid}\t{iid}\t{prid}\t{opt(server)}\t{esc(tool)}\t{esc(raw)}\t{'t' if injected else 'f'}\t"
                   f"{opt(error)}\t{meta}\t{created[1]}\t{opt(call)}\n")
        if self.layout.tool_item_column:
            row = f"{row[:-1]}\t{opt(item)}\n"
        b = self.batch
        b.rows["tool_usage"].append(_new(ChildRow, (line, rid, iid, row)))
        b.refs.add(iid)
        if call is not None:
            b.calls.append(_new(ToolCall, (line, call, created[0], iid)))
        return True

    def _thought(self, o: dict, line: int, plain: bool) -> bool:
        if not THOUGHT_FIELDS.issuperset(o):
            return False
        get = o.get
        iid, content, meta, created = get("interception_id"), get("content"), get("metadata"), get("created_at")
        if not (type(iid) is str and _is_uuid(iid) and type(content) is str and created is not None):
            return False
        if over(content, TEXT_BYTES):
            return False
        if meta is None:
            meta = {}
        elif type(meta) is not dict:
            return False
        source = get("source")
        if source is not None:
            if type(source) is not str or source not in THOUGHT_SOURCES:
                return False
            meta = {**meta, "source": source}
        created = when(created)
        if created is None:
            return False
        b = self.batch
        b.thoughts.append(_new(ThoughtLine, (line, iid, f"{iid}\t{content if plain else esc(content)}\t"
                                                   f"{_meta(meta, plain)}\t{created[1]}\n", created[0], content)))
        b.refs.add(iid)
        return True

    def _end(self, o: dict, line: int, plain: bool) -> bool:
        if not fields.END_FIELDS_SEED.issuperset(o):
            return False
        iid, v = o.get("id"), o.get("ended_at")
        ended = self.now if v is None else when(v)
        if ended is None or type(iid) is not str or not _is_uuid(iid):
            return False
        self.batch.ends.append(_new(EndLine, (line, iid, ended[0], ended[1])))
        return True

    def _interception(self, o: dict, line: int, plain: bool) -> bool:
        if not INTERCEPTION_FIELDS.issuperset(o) or "initiator_id" in o:
            return False
        get = o.get
        iid, initiator, provider, model = get("id"), get("initiator"), get("provider"), get("model")
        if not (type(iid) is str and _is_uuid(iid) and type(initiator) is str and initiator.strip()
                and type(provider) is str and provider.strip() and type(model) is str and model.strip()):
            return False
        if get("thread_parent_id") is not None or get("thread_root_id") is not None:
            return False
        call, session, key, client = get("tool_call_id"), get("client_session_id"), get("api_key_id"), get("client")
        if not ((call is None or type(call) is str) and (key is None or type(key) is str)
                and (session is None or (type(session) is str and len(session) <= MAX_SESSION))):
            return False
        if client is None:
            client = "Unknown"
        elif not (type(client) is str and client.strip() and len(client) <= MAX_CLIENT):
            return False
        if names_over(initiator, provider, model, call, key):
            return False
        meta = _meta(get("metadata"), plain)
        if meta is None:
            return False
        v = get("started_at")
        started = self.now if v is None else when(v)
        if started is None:
            return False
        v = get("ended_at")
        if v is None:
            ended = None
        else:
            ended = when(v)
            if ended is None or ended[0] < started[0]:
                return False
        initiator_id = None
        if _is_any_uuid(initiator):
            initiator_id, initiator = initiator.lower(), None
        if not plain:
            provider, model, client = esc(provider), esc(model), esc(client)
            key, session = (key if key is None else esc(key)), (session if session is None else esc(session))
        self.batch.inters.append(_new(InterceptionLine, (
            line, iid, initiator, initiator_id, started[0], None if ended is None else ended[0],
            NULL if ended is None else ended[1], call, None, None,
            f"{provider}\t{model}\t{started[1]}\t{meta}", f"{NULL if key is None else key}\t{client}",
            NULL if session is None else session,
            f"\t{provider}\tcentralized\t\t{NULL}\t{NULL}\t{NULL}\t{NULL}" if self.layout.interception_columns else "")))
        return True

    def _refuse(self, given: list, present: bool) -> None:
        if given and not present:
            raise FieldError(given[0], f"{given[0]} needs the 2026-08 layout; this database has the seed's "
                                       "(see docs/deployment.md)")

    def _newer(self, rec: dict) -> str:
        """The 2026-08 columns' COPY text of a checked interception; refused on the seed's layout."""
        self._refuse(rec["given"], self.layout.interception_columns)
        if not self.layout.interception_columns:
            return ""
        name = rec["provider_name"] or rec["provider"]
        seq = rec["agent_firewall_sequence_number"]
        return (f"\t{esc(name)}\t{rec['credential_kind']}\t{esc(rec['credential_hint'])}\t"
                f"{opt(rec['agent_firewall_session_id'])}\t{NULL if seq is None else seq}\t"
                f"{opt(rec['error_type'])}\t{opt(rec['error_message'])}")

    # ---- the careful path ------------------------------------------------------------------

    def careful(self, kind: str, o: dict, line: int) -> None:
        """Check the line with the shared checkers (which word the error); add what they return."""
        rec = fields.CHECKERS[kind](o, self.now[0])
        b = self.batch
        if kind == "user":
            b.users.append(UserLine(line, rec))
        elif kind == "interception":
            started = self.now[1] if o.get("started_at") is None else time_text(rec["started_at"])
            ended = rec["ended_at"]
            b.inters.append(InterceptionLine(
                line, rec["id"], rec["initiator"], rec["initiator_id"], rec["started_at"], ended,
                NULL if ended is None else time_text(ended), rec["tool_call_id"],
                rec["thread_parent_id"], rec["thread_root_id"],
                f"{esc(rec['provider'])}\t{esc(rec['model'])}\t{started}\t{json_text(rec['metadata'])}",
                f"{opt(rec['api_key_id'])}\t{esc(rec['client'])}", opt(rec["client_session_id"]),
                self._newer(rec)))
        elif kind == "interception_end":
            if rec["given"]:
                self._refuse(rec["given"], self.layout.interception_columns)
                b.errors.append(EndError(line, rec["id"], rec["error_type"], rec["error_message"],
                                         rec["credential_hint"]))
            b.ends.append(EndLine(line, rec["id"], rec["ended_at"], time_text(rec["ended_at"])))
        elif kind in ("token_usage", "tool_usage"):
            token = kind == "token_usage"
            self._refuse(rec.pop("given"), self.layout.token_cache_columns if token else self.layout.tool_item_column)
            base = {k: v for k, v in rec.items() if k in (TOKEN_FIELDS if token else TOOL_FIELDS)}
            ok = (self._token(base, line, False, (rec["cache_read_input_tokens"], rec["cache_write_input_tokens"]))
                  if token else self._tool(base, line, False, rec["provider_item_id"]))
            if not ok:
                raise AssertionError(f"line {line}: {kind} checked but not formatted")  # pragma: no cover
        elif not self.fast[kind](rec, line, False):  # the normalised record takes the fast path
            raise AssertionError(f"line {line}: {kind} checked but not formatted")  # pragma: no cover

    def parse(self, raw: bytes | str, lineno: int) -> None:
        """Add one line to the batch. Raises LineError."""
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
        except RecursionError:
            raise LineError(lineno, f"nested deeper than {JSON_DEPTH} levels") from None
        except json.JSONDecodeError as e:
            raise LineError(lineno, f"not valid JSON ({e.msg} at column {e.colno})") from None
        if type(obj) is not dict:
            raise LineError(lineno, "expected a JSON object with a \"type\" field")
        if (text.count("{") + text.count("[") > JSON_DEPTH) and depth_over(obj, JSON_DEPTH):
            raise LineError(lineno, f"nested deeper than {JSON_DEPTH} levels")
        kind = obj.get("type")
        fast = self.fast.get(kind) if type(kind) is str else None
        if fast is None and kind != "user":
            what = "missing field 'type'" if kind is None else f"unknown type {kind!r}"
            raise LineError(lineno, what, hint=f"type is one of {', '.join(fields.TYPES)}")
        plain = "\\" not in text
        if not plain and "\\u" in text:
            _check_escapes(obj, lineno)
        if fast is not None and fast(obj, lineno, plain):
            return
        try:
            self.careful(kind, obj, lineno)
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
