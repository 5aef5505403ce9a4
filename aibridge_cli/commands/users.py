"""`aibridge users add|list`: the initiators that interceptions need, in a standalone database."""

from __future__ import annotations

from typing import List, Optional

import typer

from aibridge_cli.data import users
from aibridge_cli.errors import BadInput
from aibridge_cli.ingest import fields
from aibridge_cli.options import FORMAT_HELP, FormatOpt, emit, note, optional_format, read_db, write_db
from aibridge_cli.timeparse import TIME_FORMS, parse_time

app = typer.Typer(help="Manage the users that interceptions belong to (initiators).", no_args_is_help=True)

COLUMNS = ["id", "username", "name", "email", "avatar_url", "rbac_roles", "created_at"]
# The table of `users list` on a narrow terminal: the username (what --initiator takes) always
# whole; then the id, roles, name, email, created_at; the avatar URL goes first.
LIST_LAYOUT = {"username": {"keep": True}, "id": {"drop": 7}, "rbac_roles": {"drop": 6},
               "name": {"drop": 5, "fit": 20, "min_width": 8}, "deleted": {"drop": 4}, "email": {"drop": 3},
               "created_at": {"drop": 2}, "avatar_url": {"drop": 1}}


@app.command("add")
def add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Unique login name (letters, digits, '.', '_', '-')."),
    name: str = typer.Option("", "--name", help="Display name."),
    email: str = typer.Option("", "--email", help="Email address."),
    avatar_url: str = typer.Option("", "--avatar-url", help="URL of the user's avatar image."),
    role: List[str] = typer.Option([], "--role", help="Site role: owner or auditor (repeat for both)."),
    id: Optional[str] = typer.Option(None, "--id", help="The user's UUID (default: a new random one)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP + " Without it, prints the new id.",
                                      callback=optional_format),
):
    """Add a user; prints the new user's id.

    Examples:

    \b
      aibridge users add dana --name "Dana Scully" --email dana@example.com
      aibridge users add root --role owner -f json
    """
    obj = {"username": username, "name": name, "email": email, "avatar_url": avatar_url,
           "roles": [r.strip().lower() for r in role], "id": id}
    try:
        rec = fields.user(obj, None)
    except fields.FieldError as e:
        raise BadInput(f"--{e.field.replace('_', '-').replace('roles', 'role')}: {e.message.split(': ', 1)[-1]}",
                       hint="site roles are owner and auditor" if e.field == "roles" else None) from None
    with write_db(ctx) as conn:
        row = users.add(conn, rec)
    if fmt is None:
        print(row["id"])
    else:
        emit(ctx, [row], fmt, columns=COLUMNS)


@app.command("list")
def list_users(
    ctx: typer.Context,
    role: Optional[str] = typer.Option(None, "--role", help="Only users with this site role (owner or auditor)."),
    include_deleted: bool = typer.Option(False, "--include-deleted", help="Also list deleted users."),
    since: Optional[str] = typer.Option(None, "--since", help="Only users with an interception started at or "
                                        "after this time (" + TIME_FORMS + ")."),
    fmt: str = FormatOpt,
):
    """List users by username.

    Examples:

    \b
      aibridge users list
      aibridge users list --role owner -f csv
      aibridge users list --since 1mo
    """
    if role is not None and role.strip().lower() not in fields.ROLES:
        raise BadInput(f"--role: unknown role {role!r}", hint=f"use one of {', '.join(fields.ROLES)}")
    after = parse_time(since, "--since") if since is not None else None
    cols = COLUMNS[:6] + (["deleted"] if include_deleted else []) + ["created_at"]
    with read_db(ctx) as conn:
        rows = users.list_users(conn, (role or "").strip().lower(), include_deleted, after)
    if fmt == "table" and not rows:
        # Only the note, on stderr: an empty table's header says nothing.
        note("no users match" if role or since else "no users yet")
        return
    emit(ctx, rows, fmt, columns=cols, layout=LIST_LAYOUT)


def register(root, name) -> None:
    root.add_typer(app, name=name)
