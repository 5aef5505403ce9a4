"""Reading any time PostgreSQL can store, also the ones Python cannot hold.

PostgreSQL keeps timestamps from 4713 BC to 294276 AD and 'infinity'; Python's datetime ends
at year 9999, and psycopg raises DataError loading anything outside, which failed every read
(list, show, sessions, prune) for every user once one such row was stored. aibridge refuses
such times on every write path, but a deployment's database may hold them: the loaders here
return an OutOfRange time instead, clamped to the nearest representable instant (so that
sorting and durations still work) and rendered as PostgreSQL's own text.
"""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
from psycopg.adapt import Dumper as Dumper_
from psycopg.adapt import Loader as Loader_
from psycopg.pq import Format

_MAX = datetime.max.replace(tzinfo=timezone.utc)
_MIN = datetime.min.replace(tzinfo=timezone.utc)


class OutOfRange(datetime):
    """A time beyond Python's years 1..9999: compares and subtracts as the nearest instant
    Python has, prints as PostgreSQL wrote it."""

    pg_text: str

    def __new__(cls, clamped: datetime, pg_text: str):
        self = super().__new__(cls, clamped.year, clamped.month, clamped.day, clamped.hour, clamped.minute,
                               clamped.second, clamped.microsecond, clamped.tzinfo)
        self.pg_text = pg_text
        return self

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return _iso(self.pg_text, sep)

    def __str__(self) -> str:
        return _iso(self.pg_text, " ")

    def __repr__(self) -> str:
        return f"OutOfRange({self.pg_text!r})"

    def strftime(self, fmt: str) -> str:
        return self.isoformat(" ")

    def astimezone(self, tz=None):  # converting could overflow; it stays in UTC
        return self

    def __reduce__(self):
        return (OutOfRange, (datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                                      self.microsecond, self.tzinfo), self.pg_text))


def _iso(text: str, sep: str) -> str:
    """'10000-01-01 09:59:59+00' -> '10000-01-01T09:59:59+00:00'; ' BC' and 'infinity' kept."""
    if "infinity" in text:
        return text
    bc = text.endswith(" BC")
    body = text[:-3] if bc else text
    body = body.replace(" ", sep, 1)
    if len(body) >= 3 and body[-3] in "+-" and body[-2:].isdigit():
        body += ":00"
    return body + (" BC" if bc else "")


def clamp(text: str) -> OutOfRange:
    """The OutOfRange time for PostgreSQL's text of a time Python cannot hold."""
    low = text.strip().lower()
    early = low.endswith(" bc") or low == "-infinity"
    return OutOfRange(_MIN if early else _MAX, text.strip())


def _safe(base):
    """A loader around psycopg's own (a C class that cannot be subclassed) with a fallback."""

    class Loader(Loader_):
        format = base.format

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._load = base(oid, context).load

        def load(self, data):
            try:
                return self._load(data)
            except psycopg.DataError:
                if self.format == Format.TEXT:
                    return clamp(bytes(data).decode("ascii", "replace"))
                # binary: int64 microseconds from 2000-01-01; the sign tells which end
                before = int.from_bytes(bytes(data), "big", signed=True) < 0
                return OutOfRange(_MIN if before else _MAX, "before year 1" if before else "after year 9999")

    Loader.__name__ = Loader.__qualname__ = f"Safe{base.__name__}"
    return Loader


class _OutOfRangeDumper(Dumper_):
    """Sends an OutOfRange time back as PostgreSQL's own text (a keyset position, a filter)."""

    format = Format.TEXT

    def __init__(self, cls, context=None):
        super().__init__(cls, context)
        self.oid = psycopg.adapters.types["timestamptz"].oid

    def dump(self, obj):
        return obj.pg_text.encode("ascii")


# Before every time a table can hold, BC and -infinity included: where a keyset walk starts.
BEGINNING = OutOfRange(_MIN, "-infinity")
_LOADERS: dict = {}


def register(conn: psycopg.Connection) -> None:
    """Make this connection load every stored timestamp and timestamptz without failing."""
    if not _LOADERS:
        for name in ("timestamptz", "timestamp"):
            oid = psycopg.adapters.types[name].oid
            _LOADERS[(name, Format.TEXT)] = _safe(psycopg.adapters.get_loader(oid, Format.TEXT))
            _LOADERS[(name, Format.BINARY)] = _safe(psycopg.adapters.get_loader(oid, Format.BINARY))
    for (name, _fmt), loader in _LOADERS.items():  # the loader's own .format says which
        conn.adapters.register_loader(name, loader)
    conn.adapters.register_dumper(OutOfRange, _OutOfRangeDumper)
