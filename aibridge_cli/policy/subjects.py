"""`--as USER` resolved to a Subject once per connection (the filter itself is in access.py)."""

from __future__ import annotations

import uuid

from aibridge_cli.db import query
from aibridge_cli.errors import NotFound, PermissionDenied
from aibridge_cli.policy.access import Subject


def attach(conn, value: str, *, read_only: bool) -> Subject:
    """Resolve `--as` once for this connection. Writing as a restricted user is refused:
    the filter narrows what is read, it cannot make a write safe."""
    subject = lookup(conn, value)
    if not read_only:
        require_writer(subject, value)
    conn.subject = subject
    return subject


def require_writer(subject: Subject, value: str) -> None:
    """Refuse a restricted user for a command that writes (or, like prune --dry-run, reports
    what a write would do: it checks the same rights as the run)."""
    if not subject.sees_all:
        raise PermissionDenied(f"--as {value}: {subject.describe()} may only read; this command writes",
                               hint="drop --as (or AIBRIDGE_AS) to write, or use --as with an owner")


def lookup(conn, value: str, option: str = "--as") -> Subject:
    text = value.strip()
    try:
        as_id = uuid.UUID(text)
    except ValueError:
        as_id = None
    row = query.one(conn, "GetAccessSubject", id=as_id, username="" if as_id else text)
    if row is None:
        what = f"no user with id {text}" if as_id else f"no user named {text!r}"
        raise NotFound(f"{option}: {what}", hint=f"list users with 'aibridge users list'; {option} takes a username or a user's UUID")
    if row["deleted"]:
        raise NotFound(f"{option}: user {row['username']!r} ({row['id']}) is deleted")
    return Subject(id=row["id"], username=row["username"], roles=tuple(row["rbac_roles"] or ()))
