"""Users (initiators) in a standalone database: add one, list them.

Takes records already checked by ingest/fields.py, the one place user fields are validated.

Each function imports db.query (and so psycopg) itself: it loads only once a command has
connected, never for --help or bad input.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from aibridge_cli.errors import AibridgeError

# The SQL's "no bound" value for --since.
ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)


def add(conn, rec: dict) -> dict:
    """Insert a checked user record (a new random id when it has none) and return the row.
    The insert skips a clash rather than fail, so that the error can say which user is in the way."""
    from aibridge_cli.data import layout

    layout.refuse_coder_users(layout.detect(conn), "users add")
    from aibridge_cli.db import query

    uid = rec["id"] or str(uuid.uuid4())
    row = query.one(conn, "InsertUser", id=uid, username=rec["username"], display_name=rec["name"],
                    avatar_url=rec["avatar_url"], email=rec["email"], rbac_roles=rec["roles"])
    if row is not None:
        return row
    clash = query.one(conn, "GetUserByUsername", username=rec["username"])
    if clash is not None:
        raise AibridgeError(f"a user named {rec['username']!r} already exists (id {clash['id']})",
                            hint="pick another username, or use the existing user")
    raise AibridgeError(f"a user with id {uid} already exists", hint="leave out --id for a new random id")


def list_users(conn, role: str = "", include_deleted: bool = False, since=None) -> list[dict]:
    """Users by username; `role` ('' for any) keeps those with that site role, `since` (an aware
    datetime) those with an interception started at or after it. Read `--as` a member, the
    member's own row only: what the member's own database role reads."""
    from aibridge_cli.db import query

    subject = getattr(conn, "subject", None)
    only = subject.id if subject is not None and not subject.sees_all else None
    return query.many(conn, "ListUsers", include_deleted=include_deleted, role=role, only_id=only,
                      started_after=since or ZERO_TIME)
