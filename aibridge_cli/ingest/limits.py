"""The limits on what aibridge writes, and strict readers for ids, counts and JSON.

Shared by the single-record commands (records.py) and `record import` (import_lines.py), so
both refuse the same values before the database sees them:

- ids and names (provider, model, client, client session id, provider response id, tool call
  id, API key id, tool, server URL, user name, e-mail, avatar URL): at most NAME_BYTES (1024)
  bytes of UTF-8. Several are btree-indexed, and a btree entry holds at most about 2,700 bytes;
  PostgreSQL fails a longer one only once it is sent, and as a lost connection.
- free text (prompt, tool input, invocation error, thought): at most TEXT_BYTES (16 MiB).
- metadata: a JSON object of at most TEXT_BYTES once encoded, nested at most JSON_DEPTH (64) deep.
- times: within timeparse.TIME_RANGE once converted to UTC.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any, Optional

from aibridge_cli.errors import BadInput
from aibridge_cli.timeparse import MAX_TIME, MIN_TIME, TIME_RANGE

NAME_BYTES = 1024
TEXT_BYTES = 16 * 1024 * 1024
JSON_DEPTH = 64

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_UUID_BARE = re.compile(r"[0-9a-fA-F]{32}", re.ASCII)
_COUNT = re.compile(r"[0-9]{1,19}", re.ASCII)


def too_long(value: str, limit: int) -> bool:
    """Whether the text's UTF-8 is longer than limit bytes (encodes only when it could be)."""
    n = len(value)
    return n > limit // 4 and (n > limit or len(value.encode("utf-8", "surrogatepass")) > limit)


def strict_uuid(value: str) -> str | None:
    """The canonical text of a UUID written in ASCII hex (with or without dashes), or None."""
    text = value.strip(" \t")
    if _UUID.fullmatch(text):
        return text.lower()
    if _UUID_BARE.fullmatch(text):
        t = text.lower()
        return f"{t[:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:]}"
    return None


def strict_count(value: str, option: str, maximum: int = 2**63 - 1) -> int:
    text = value.strip(" \t")
    if not text:
        raise BadInput(f"{option}: must not be empty", hint="give a whole number in digits 0-9, like 100")
    if not _COUNT.fullmatch(text) or int(text) > maximum:
        raise BadInput(f"{option}: {value!r} is not a whole number from 0 to {maximum:,}",
                       hint="give a whole number in digits 0-9, like 100")
    return int(text)


def depth_over(value: Any, limit: int = JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than limit (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if type(v) is dict:
            if d > limit:
                return True
            stack.extend((x, d + 1) for x in v.values())
        elif type(v) is list:
            if d > limit:
                return True
            stack.extend((x, d + 1) for x in v)
    return False


def loads_json(value: str, option: str) -> Any:
    """A JSON document from an option: one line of error for bad JSON, too deep or too big."""
    hint = 'quote the whole document for the shell, e.g. \'{"key": "value"}\''
    if too_long(value, TEXT_BYTES):
        raise BadInput(f"{option}: longer than {TEXT_BYTES:,} bytes", hint=hint)
    try:
        doc = json.loads(value, parse_constant=_no_constant)
    except ValueError as e:
        if not isinstance(e, json.JSONDecodeError):  # NaN, Infinity: JSON has no such numbers
            raise BadInput(f"{option}: {e} is not a JSON number", hint=hint) from None
        raise BadInput(f"{option}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
                       hint=hint) from None
    except RecursionError:
        doc = None
        deep = True
    else:
        deep = depth_over(doc)
    if deep:
        raise BadInput(f"{option}: nested deeper than {JSON_DEPTH} levels", hint="flatten the document")
    if "\\u" in value:  # escapes may spell what PostgreSQL cannot store
        bad = unstorable(doc)
        if bad:
            raise BadInput(f"{option}: contains {bad}, which PostgreSQL cannot store")
    return doc


def unstorable(value: Any) -> str | None:
    """What in a decoded JSON value PostgreSQL cannot store (NUL, a lone surrogate), or None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
        elif type(v) is str:
            if "\x00" in v:
                return "\\u0000 (NUL)"
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)"
    return None


def _no_constant(name: str):
    raise ValueError(name)


# ---- the limits on a checked record (fields.py raises these for single records and imports) --

# Free text from a model, a user or a tool: up to TEXT_BYTES; every other text is an id or a
# name, up to NAME_BYTES.
FREE_TEXT = frozenset({"prompt", "input", "invocation_error", "content"})


class FieldError(Exception):
    """A bad field of a record, named so the import can say which line and a command which option."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def show(v: Any) -> str:
    """A value for an error message, cut short: it may be megabytes."""
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def text_limit(field: str, v: str) -> None:
    limit = TEXT_BYTES if field in FREE_TEXT else NAME_BYTES
    if too_long(v, limit):
        raise FieldError(field, f"{field}: longer than {limit:,} bytes of UTF-8 (the limit for "
                                f"{'free text' if limit == TEXT_BYTES else 'ids and names'})")


def in_range(field: str, t: datetime, given: Any) -> datetime:
    if not (MIN_TIME <= t <= MAX_TIME):
        raise FieldError(field, f"{field}: {show(given)} is out of range (times run from {TIME_RANGE})")
    return t


def check_metadata(v: dict, field: str = "metadata") -> None:
    if depth_over(v, JSON_DEPTH):
        raise FieldError(field, f"{field}: nested deeper than {JSON_DEPTH} levels")
    bad = unstorable(v)
    if bad:
        raise FieldError(field, f"{field}: contains {bad}, which PostgreSQL cannot store")
    if too_long(json.dumps(v, ensure_ascii=False), TEXT_BYTES):
        raise FieldError(field, f"{field}: longer than {TEXT_BYTES:,} bytes once encoded")


def check_record(rec: dict) -> dict:
    """The limits on every checked record, whichever path built it: texts, times and metadata."""
    for k, v in rec.items():
        t = type(v)
        if t is str:
            if len(v) > NAME_BYTES // 4:
                text_limit(k, v)
        elif t is datetime:
            in_range(k, v, v)
        elif t is dict and v and k == "metadata":
            check_metadata(v, k)
    return rec


def limited(checker):
    """The checker, with the limits of check_record on what it returns."""

    @functools.wraps(checker)
    def check(*args, **kw):
        return check_record(checker(*args, **kw))

    return check


# ---- the import's fast path: short texts cost one len() ------------------------------------

def over(v: Optional[str], limit: int) -> bool:
    """Over limit bytes of UTF-8 (the careful path then words the error)."""
    return v is not None and len(v) > limit >> 2 and too_long(v, limit)


def names_over(*vs: Optional[str]) -> bool:
    return any(v is not None and len(v) > NAME_BYTES >> 2 and too_long(v, NAME_BYTES) for v in vs)
