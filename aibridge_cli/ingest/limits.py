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

import json
import re
from typing import Any

from aibridge_cli.errors import BadInput

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
