"""Values of an import line as COPY text-format fields, fast: the helpers of lines.py's parser."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from aibridge_cli.db.copy_format import NULL, esc
from aibridge_cli.ingest import fields
from aibridge_cli.ingest.limits import TEXT_BYTES, over
from aibridge_cli.timeparse import MAX_TIME, MIN_TIME


def opt(s: Optional[str]) -> str:
    return NULL if s is None else esc(s)


# NamedTuple's generated __new__ is a Python function, 0.5 µs a call (a tenth of a line's
# parse): the fast path builds the same records with tuple.__new__, in field order.
_new = tuple.__new__
_dumps = fields.encode_compact
encode_input = fields.encode_json
_JSON_SCALAR = {True: "true", False: "false"}


def plain_json(d: dict, colon: str, comma: str) -> Optional[str]:
    """The text json.dumps(d, ensure_ascii=False, separators=(comma, colon)) gives for an object
    of strings, whole numbers and booleans, or None for any other object.

    Only for a dict decoded from a line without a backslash: its strings then hold no quote,
    backslash or control character (JSON spells those with a backslash), which are all the
    characters json escapes with ensure_ascii off. Why not just the encoder: json.JSONEncoder
    builds its C encoder on every call, about 2 µs; metadata and tool inputs are mostly flat,
    and this takes a third of that.
    """
    parts = []
    for k, v in d.items():
        t = type(v)
        if t is str:
            parts.append(f'"{k}"{colon}"{v}"')
        elif t is int:
            parts.append(f'"{k}"{colon}{v}')
        elif t is bool:
            parts.append(f'"{k}"{colon}{_JSON_SCALAR[v]}')
        else:
            return None
    return "{" + comma.join(parts) + "}"


def json_text(d: dict) -> str:
    return esc(_dumps(d)) if d else "{}"


def _meta(v, plain: bool) -> Optional[str]:
    """COPY text of a metadata field, or None (not an object: the careful path words it)."""
    if v is None:
        return "{}"
    if type(v) is dict:
        if not v:
            return "{}"
        text = (plain and plain_json(v, ":", ",")) or _dumps(v)
        if over(text, TEXT_BYTES):
            return None
        return text if plain else esc(text)
    return None


# ---- checks ------------------------------------------------------------------------------

_is_uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch
_are_two_uuids = re.compile(r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}){2}").fullmatch
_is_any_uuid = fields._UUID.fullmatch  # any case: an initiator that is a user id, not a username
# What PostgreSQL reads exactly as Python does: ASCII digits, an offset within its ±15:59.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[Zz]|[+-](?:0\d|1[0-5]):[0-5]\d)",
                     re.ASCII).fullmatch
_fromiso = datetime.fromisoformat
_UTC = timezone.utc


def when(v):
    """(datetime, COPY text) of a time with an offset, or None for the careful path."""
    if type(v) is str:
        if not RFC3339(v):  # other spellings: the careful path reads them strictly, or words the error
            return None
        try:
            t = _fromiso(v)
        except ValueError:
            return None
        if not (MIN_TIME <= t <= MAX_TIME):
            return None
        return t, v
    if type(v) is datetime and v.tzinfo is not None and MIN_TIME <= v <= MAX_TIME:  # a normalised record
        return v, time_text(v)
    return None


def time_text(t: datetime) -> str:
    try:
        return t.astimezone(_UTC).isoformat()
    except OverflowError:  # year 1 with a positive offset
        return t.isoformat()
