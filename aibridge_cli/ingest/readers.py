"""One field of a record, read and checked: the helpers behind every checker in fields.py.

Each returns the field's value normalised, or raises FieldError naming the field and saying
what was expected, so that the import can name the line and the commands the option.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from aibridge_cli.ingest.limits import FieldError, check_metadata, strict_uuid, text_limit
from aibridge_cli.ingest.limits import in_range as _in_range
from aibridge_cli.ingest.limits import show as _show
from aibridge_cli.timeparse import parse_rfc3339

UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_BIGINT = 2**63 - 1


def _missing(field: str):
    raise FieldError(field, f"missing field {field!r}")


def uuid_text(obj: dict, field: str, required: bool = True) -> str | None:
    v = obj.get(field)
    if v is None:
        if required:
            _missing(field)
        return None
    if type(v) is str and UUID_FORM.fullmatch(v):
        return v.lower()
    if isinstance(v, uuid.UUID):
        return str(v)
    if type(v) is str:
        u = strict_uuid(v)  # uuid.UUID() would also take full-width digits and braces
        if u is not None:
            return u
    raise FieldError(field, f"{field}: {_show(v)} is not a valid UUID")


def text(obj: dict, field: str, required: bool = True, default: str | None = None,
         nonempty: bool = False, max_len: int = 0) -> str | None:
    v = obj.get(field)
    if v is None:
        if required:
            _missing(field)
        return default
    if type(v) is not str:
        raise FieldError(field, f"{field}: expected a string, got {_kind(v)}")
    if nonempty and not v.strip():
        raise FieldError(field, f"{field}: must not be empty")
    if max_len and len(v) > max_len:
        raise FieldError(field, f"{field}: longer than {max_len} characters")
    text_limit(field, v)
    if "\x00" in v:
        raise FieldError(field, f"{field}: contains a NUL character, which PostgreSQL text cannot hold")
    return v


def time_value(obj: dict, field: str, required: bool = False, default: datetime | None = None) -> datetime | None:
    v = obj.get(field)
    if v is None:
        if required:
            _missing(field)
        return default
    if isinstance(v, datetime):
        return _in_range(field, v if v.tzinfo is not None else v.replace(tzinfo=timezone.utc), v)
    if type(v) is str:
        t = parse_rfc3339(v)  # fromisoformat also takes 2026-W01, 20261126 and non-ASCII digits
        if t is not None:
            return _in_range(field, t, v)
    raise FieldError(field, f"{field}: {_show(v)} is not an RFC 3339 time (like 2026-11-26T09:30:00Z)")


def count(obj: dict, field: str, default: int = 0) -> int:
    v = obj.get(field)
    if v is None:
        return default
    if type(v) is not int or v < 0 or v > MAX_BIGINT:
        raise FieldError(field, f"{field}: expected a whole number of tokens ≥ 0, got {v!r}")
    return v


def flag(obj: dict, field: str) -> bool:
    v = obj.get(field)
    if v is None:
        return False
    if type(v) is not bool:
        raise FieldError(field, f"{field}: expected true or false, got {v!r}")
    return v


def metadata(obj: dict, field: str = "metadata") -> dict:
    v = obj.get(field)
    if v is None:
        return {}
    if type(v) is not dict:
        raise FieldError(field, f"{field}: expected a JSON object, got {_kind(v)}")
    check_metadata(v, field)
    return v


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _check_fields(obj: dict, allowed: frozenset):
    extra = obj.keys() - allowed
    if extra:
        name = sorted(extra)[0]
        raise FieldError(name, f"unknown field {name!r} (this type takes {', '.join(sorted(allowed - {'type'}))})")
