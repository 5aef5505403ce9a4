"""One page of sessions, newest first, and the cursor that continues after it.

A page is exact whatever the data: the list query only looks at the newest `scan_limit`
interceptions (see sql/queries/sessions.sql for why that is enough when the page comes back
full), and this loop widens that window until the page is full or the window holds every
interception that could matter.

The cursor is the whole sort key of the page's last session (started_at, session_id,
initiator_id), so paging never skips or repeats a session, even when many start at the same
instant or two users share a session key.

Each function imports db.query (and so psycopg) itself: it loads only once a command has
connected, never for --help or bad input.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from aibridge_cli.data import session_tree
from aibridge_cli.errors import BadInput, NotFound
from aibridge_cli.views.text import cut  # a leaf module: shortens the bad token in the message

CURSOR_PREFIX = "s1."
FIRST_SCAN_FACTOR = 8     # interceptions scanned per session wanted at first (about 4 per session)
MIN_FIRST_SCAN = 1024
GROWTH = 4
MAX_SCAN = 2**31 - 1  # the scan limit is an integer parameter
SEP = "\x1f"  # cannot occur in an RFC 3339 time or a UUID; session ids come last, so may hold it


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    session_id: str
    initiator_id: uuid.UUID

    def encode(self) -> str:
        when = self.started_at.astimezone(timezone.utc).isoformat(timespec="microseconds")
        raw = SEP.join((when, str(self.initiator_id), self.session_id)).encode("utf-8")
        return CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str, option: str = "--after") -> "Cursor":
        text = (token or "").strip()
        bad = BadInput(f"{option}: {cut(text, 40)!r} is not a cursor printed by 'aibridge sessions list'",
                       hint="copy the whole token from the 'next page' line, or drop the option to start at the newest session")
        if not text.startswith(CURSOR_PREFIX):
            raise bad
        body = text[len(CURSOR_PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
            when, initiator, session_id = raw.split(SEP, 2)
            started = datetime.fromisoformat(when)
            if started.tzinfo is None:
                raise ValueError("no offset")
            return cls(started, session_id, uuid.UUID(initiator))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad from None

    @classmethod
    def of(cls, row: dict) -> "Cursor":
        return cls(row["started_at"], row["session_id"], row["user_id"])


def filter_params(*, started_after=None, started_before=None, initiator_id=None, provider=None,
                  model=None, client=None, session_id=None) -> dict:
    """The filter block every sessions query shares; None takes the query's zero value."""
    return {"started_after": started_after, "started_before": started_before, "initiator_id": initiator_id,
            "provider": provider or "", "model": model or "", "client": client or "",
            "session_id": session_id or ""}


def cursor_for_session_id(conn, filters: dict, key: str) -> Cursor:
    """The reference's `after_session_id`: the listed session with that key under the same
    filters, which must be exactly one."""
    from aibridge_cli.db import query

    rows = [r for r in query.many(conn, "ListAIBridgeSessionInitiators", **filters, key_session_id=key)
            if r["user_username"] is not None]
    if not rows:
        raise NotFound(f"--after-session-id: no listed session has the id {key!r} under these filters",
                       hint="pass a session_id from the list, or page with --after CURSOR")
    if len(rows) > 1:
        names = ", ".join(f"{r['user_username']} ({r['initiator_id']})" for r in rows)
        raise BadInput(f"--after-session-id: {len(rows)} users have a session with the id {key!r}: {names}",
                       hint="page with --after CURSOR (printed after each page), which names the session exactly")
    r = rows[0]
    return Cursor(r["started_at"], key, r["initiator_id"])


def fetch_page(conn, filters: dict, *, limit: int, offset: int = 0,
               after: Cursor | None = None) -> tuple[list[dict], Cursor | None]:
    """`limit` sessions after `offset` (and after the cursor), and the cursor of the next page
    (None when nothing follows)."""
    from aibridge_cli.db import query

    cursor = {"cursor_started_at": after.started_at, "cursor_session_id": after.session_id,
              "cursor_initiator_id": after.initiator_id} if after else {}
    want = offset + limit + 1  # one more than the page tells whether another page follows
    scan = max(MIN_FIRST_SCAN, want * FIRST_SCAN_FACTOR)
    while True:
        rows = query.many(conn, "ListAIBridgeSessions", **filters, **cursor, limit_=limit + 1, offset_=offset,
                       scan_limit=scan)
        if len(rows) > limit or scan == 0:
            break
        seen = query.one(conn, "CountAIBridgeSessionsScanned", **filters,
                      cursor_started_at=after.started_at if after else None, scan_limit=scan)["scanned"]
        if seen < scan:
            break  # the window held every interception in range: the short page is the truth
        scan = scan * GROWTH if scan * GROWTH < MAX_SCAN else 0  # 0: no window at all
    page = rows[:limit]
    following = Cursor.of(page[-1]) if len(rows) > limit and page else None
    return page, following


def count(conn, filters: dict) -> int:
    """How many sessions `fetch_page` would page through with the same filters."""
    from aibridge_cli.db import query

    query.run(conn, "TuneSessionsCount")
    return query.one(conn, "CountAIBridgeSessions", **filters)["count"]


def load_tree(conn, session_id: str, who: uuid.UUID | None = None, initiator: str | None = None) -> dict:
    """One session as a tree (data/session_tree.py). `who` picks the user when several share
    the session id; `initiator` is how the user wrote it, for the error messages."""
    from aibridge_cli.db import query

    owners = query.many(conn, "ListAIBridgeSessionInitiators", **filter_params(), key_session_id=session_id)
    owner = pick_owner(owners, session_id, who, initiator)
    key = {"session_id": session_id, "initiator_id": owner["initiator_id"]}
    return session_tree.build(
        session_id, owner,
        interceptions=query.many(conn, "ListAIBridgeSessionInterceptions", **key),
        tool_usages=query.many(conn, "ListAIBridgeSessionToolUsages", **key),
        prompts=query.many(conn, "ListAIBridgeSessionPrompts", **key),
        thoughts=query.many(conn, "ListAIBridgeSessionThoughts", **key),
    )


def pick_owner(owners: list[dict], session_id: str, who: uuid.UUID | None, initiator: str | None) -> dict:
    """The one user whose session is meant: the session key alone is not unique across users."""
    if not owners:
        raise NotFound(f"no session with id {session_id!r}",
                       hint="list sessions with 'aibridge sessions list' (in-flight interceptions are not part of a session)")
    if who is not None:
        for o in owners:
            if o["initiator_id"] == who:
                return o
        raise NotFound(f"--initiator {initiator}: that user has no session with id {session_id!r}",
                       hint="sessions with this id belong to " + _names(owners))
    if len(owners) > 1:
        raise BadInput(f"{len(owners)} users have a session with id {session_id!r}: {_names(owners)}",
                       hint=f"choose one with --initiator, e.g. aibridge sessions show {shlex.quote(session_id)} "
                            f"--initiator {owners[0]['user_username'] or owners[0]['initiator_id']}")
    return owners[0]


def _names(owners: list[dict]) -> str:
    return ", ".join(f"{o['user_username']} ({o['initiator_id']})" if o["user_username"]
                     else f"{o['initiator_id']} (no users row)" for o in owners)
