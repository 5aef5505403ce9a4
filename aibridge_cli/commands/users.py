"""`aibridge users add|list`: the initiators that interceptions need, in a standalone database."""

from __future__ import annotations

from typing import List, Optional

import typer

from aibridge_cli.data import users
from aibridge_cli.errors import BadInput
from aibridge_cli.ingest import fields
from aibridge_cli.options import FORMAT_HELP, FormatOpt, emit, optional_format, read_db, write_db

app = typer.Typer(help="Manage the users that interceptions belong to (initiators).", no_args_is_help=True)

COLUMNS = ["id", "username", "name", "email", "avatar_url", "rbac_roles", "created_at"]


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
    fmt: str = FormatOpt,
):
    """List users by username.

    Examples:

    \b
      aibridge users list
      aibridge users list --role owner -f csv
    """
    if role is not None and role.strip().lower() not in fields.ROLES:
        raise BadInput(f"--role: unknown role {role!r}", hint=f"use one of {', '.join(fields.ROLES)}")
    cols = COLUMNS[:6] + (["deleted"] if include_deleted else []) + ["created_at"]
    with read_db(ctx) as conn:
        rows = users.list_users(conn, (role or "").strip().lower(), include_deleted)
    emit(ctx, rows, fmt, columns=cols)


def register(root, name) -> None:
    root.add_typer(app, name=name)
