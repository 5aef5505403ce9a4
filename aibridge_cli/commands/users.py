"""`aibridge users add|list`: the initiators that interceptions need, in a standalone database."""

from __future__ import annotations

from typing import List, Optional

import typer

from aibridge_cli.options import FORMAT_HELP, FormatOpt
from aibridge_cli.errors import AibridgeError, BadInput

app = typer.Typer(help="Manage the users that interceptions belong to (initiators).", no_args_is_help=True)

COLUMNS = ["id", "username", "name", "email", "avatar_url", "rbac_roles", "created_at"]


def _optional_format(ctx: typer.Context, param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    from aibridge_cli.options import _check_format

    return None if value is None else _check_format(ctx, param, value)


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
                                      callback=_optional_format),
):
    """Add a user; prints the new user's id.

    Examples:

    \b
      aibridge users add dana --name "Dana Scully" --email dana@example.com
      aibridge users add root --role owner -f json
    """
    import uuid

    from aibridge_cli.db import query

    from aibridge_cli.ingest import fields
    from aibridge_cli.options import emit, write_db

    obj = {"username": username, "name": name, "email": email, "avatar_url": avatar_url,
           "roles": [r.strip().lower() for r in role], "id": id}
    try:
        rec = fields.user(obj, None)
    except fields.FieldError as e:
        raise BadInput(f"--{e.field.replace('_', '-').replace('roles', 'role')}: {e.message.split(': ', 1)[-1]}",
                       hint="site roles are owner and auditor" if e.field == "roles" else None) from None
    uid = rec["id"] or str(uuid.uuid4())
    with write_db(ctx) as conn:
        row = query.one(conn, "InsertUser", id=uid, username=rec["username"], display_name=rec["name"],
                     avatar_url=rec["avatar_url"], email=rec["email"], rbac_roles=rec["roles"])
        if row is None:
            clash = query.one(conn, "GetUserByUsername", username=rec["username"])
            if clash is not None:
                raise AibridgeError(f"a user named {rec['username']!r} already exists (id {clash['id']})",
                                    hint="pick another username, or use the existing user")
            raise AibridgeError(f"a user with id {uid} already exists", hint="leave out --id for a new random id")
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
    from aibridge_cli.db import query
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import emit, read_db

    if role is not None and role.strip().lower() not in fields.ROLES:
        raise BadInput(f"--role: unknown role {role!r}", hint=f"use one of {', '.join(fields.ROLES)}")
    cols = COLUMNS[:6] + (["deleted"] if include_deleted else []) + ["created_at"]
    with read_db(ctx) as conn:
        rows = query.many(conn, "ListUsers", include_deleted=include_deleted, role=(role or "").strip().lower())
    emit(ctx, rows, fmt, columns=cols)


def register(root, name) -> None:
    root.add_typer(app, name=name)
