"""`aibridge db grant` / `db revoke`: PostgreSQL login roles whose reach the database enforces.

The rules themselves (grants and row-level security policies) are in sql/queries/access.sql.
Passwords never travel in clear: the tool generates one (or reads it from stdin), hashes it
into a SCRAM verifier on the client as psql's \\password does, sends only the verifier, and
writes a generated password to a new mode-0600 file.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Optional

import typer

from aibridge_cli.options import FormatOpt, emit, note, write_db
from aibridge_cli.errors import AibridgeError, BadInput, NotFound, PermissionDenied, SchemaMissing
from aibridge_cli.errors import MIGRATE_HINT

LEVELS = ("member", "auditor", "recorder")
ROLE_PREFIX = "aibridge_"
MAX_IDENT = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes


def register(db_group: typer.Typer) -> None:
    """`db grant` and `db revoke` belong to the `db` group."""
    db_group.command("grant")(grant_cmd)
    db_group.command("revoke")(revoke_cmd)


def role_name_for(username: str) -> str:
    name = ROLE_PREFIX + username
    if len(name.encode()) > MAX_IDENT:
        raise BadInput(f"the login role name {name!r} is longer than PostgreSQL's {MAX_IDENT} bytes",
                       hint="grant access to a user with a shorter username")
    return name


def _check_level(value: str) -> str:
    v = (value or "").strip().lower()
    if v not in LEVELS:
        raise BadInput(f"--role: unknown access level {value!r}", hint=f"use one of {', '.join(LEVELS)}")
    return v


def grant_cmd(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The user (username or UUID) the login role acts for."),
    role: str = typer.Option(..., "--role", callback=_check_level,
                             help="member (own interceptions only), auditor (read everything) or recorder (gateway: write records)."),
    password_file: Optional[Path] = typer.Option(None, "--password-file",
                                                 help="Generate a password and write it to this new file (mode 0600)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password to set from stdin (first line)."),
    confirm_deployment: bool = typer.Option(False, "--confirm-deployment",
                                            help="Required on a deployment's database (tables not created by 'aibridge db migrate')."),
    fmt: str = FormatOpt,
):
    """Create or update a PostgreSQL login role for USER and enforce its access with row-level security.

    Examples:

    \b
      aibridge db grant tariq-silva --role member --password-file tariq.pw
      aibridge db grant chen-lopez --role auditor -f json
    """
    from aibridge_cli.policy import subjects
    from aibridge_cli.db import query

    if password_file and password_stdin:
        raise BadInput("--password-file and --password-stdin exclude each other",
                       hint="--password-file generates a password; --password-stdin sets one you give")
    password = _read_stdin_password() if password_stdin else None
    if password_file:
        _check_new_file(password_file)
        password = secrets.token_urlsafe(24)

    written = False
    try:
        with write_db(ctx) as conn:
            subject = subjects.lookup(conn, user, option="USER")
            name = role_name_for(subject.username)
            _preflight(conn, confirm_deployment=confirm_deployment)
            state = query.one(conn, "AccessRoleState", role_name=name)
            if state["exists"] and not state["managed"]:
                raise AibridgeError(f"a PostgreSQL role named {name!r} already exists and was not created by aibridge",
                                    hint="refusing to change a role aibridge does not manage; rename or drop it first")
            verifier = ""
            if password is not None:
                verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
            query.run(conn, "InstallAccessControl")
            query.run(conn, "SetAccessParameters", role_name=name, user_id=str(subject.id), access=role,
                   password_verifier=verifier)
            query.run(conn, "GrantAccess")
            query.run(conn, "SetAccessParameters")  # clear the settings before the transaction ends
            if password_file:
                _write_secret(password_file, password)
                written = True
            target = _dsn_hint(conn, name)
    except BaseException:
        if written:
            password_file.unlink(missing_ok=True)
        raise

    if password_file:
        how = f"written to {password_file}"
    elif password is not None:
        how = "set from stdin"
    else:
        how = "unchanged" if state["exists"] else "none"
    row = {"role_name": name, "user_id": subject.id, "username": subject.username, "access": role,
           "created": not state["exists"], "password": how}
    if fmt == "table":
        verb = "updated" if state["exists"] else "created"
        note(f"{verb} login role {name} for {subject.username}: {role}")
        if how == "none":
            note("no password set: the role can log in only where pg_hba.conf needs none (peer, cert, gss)")
        note(f"connect with: --dsn '{target}'")
    emit(ctx, [row], fmt, columns=list(row))


def revoke_cmd(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The user (username or UUID), or the login role's name."),
    fmt: str = FormatOpt,
):
    """Take back a login role's access to this database and drop the role (kept while other databases use it).

    Examples:

    \b
      aibridge db revoke tariq-silva
      aibridge db revoke aibridge_chen-lopez
    """
    from aibridge_cli.db import query

    with write_db(ctx) as conn:
        name, username = _role_to_revoke(conn, user)
        state = query.one(conn, "AccessRoleState", role_name=name)
        if not state["exists"]:
            raise NotFound(f"no login role {name!r} for {username or user}", hint="nothing to revoke")
        if not state["managed"]:
            raise AibridgeError(f"the PostgreSQL role {name!r} was not created by aibridge",
                                hint="refusing to change a role aibridge does not manage")
        if name == conn.info.user:
            raise BadInput(f"refusing to revoke {name!r}: it is the role this connection uses",
                           hint="connect as the tables' owner")
        _preflight(conn, confirm_deployment=True)
        query.run(conn, "SetAccessParameters", role_name=name)
        query.run(conn, "RevokeAccess")
        query.run(conn, "SetAccessParameters")
        after = query.one(conn, "AccessRoleState", role_name=name)
    row = {"role_name": name, "username": username, "dropped": not after["exists"]}
    if fmt == "table":
        if after["exists"]:
            note(f"revoked {name}'s access to this database; the role is kept: it still holds rights in another database")
        else:
            note(f"revoked {name}'s access and dropped the role")
    emit(ctx, [row], fmt, columns=list(row))


def _role_to_revoke(conn, value: str) -> tuple[str, Optional[str]]:
    from aibridge_cli.policy import subjects

    try:
        subject = subjects.lookup(conn, value, option="USER")
        return role_name_for(subject.username), subject.username
    except NotFound:
        # The user may be gone from users already: accept the role's own name too.
        if value.startswith(ROLE_PREFIX):
            return value, None
        raise


def _preflight(conn, *, confirm_deployment: bool) -> None:
    from aibridge_cli.db import query
    from aibridge_cli.db import migrate

    present = set(query.one(conn, "DeploymentTablesPresent")["present"] or [])
    missing = sorted({"users", "visible_users", "aibridge_interceptions", "aibridge_token_usages",
                      "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts"} - present)
    if missing:
        raise SchemaMissing(f"missing tables: {', '.join(missing)}", hint=MIGRATE_HINT)
    pre = query.one(conn, "AccessPreflight")
    if not pre["can_create_roles"]:
        raise PermissionDenied(f"role {pre['role_name']!r} lacks the CREATEROLE privilege that creating login roles needs",
                               hint="run 'db grant' as a superuser or a role with CREATEROLE that owns the tables")
    if pre["not_owned"]:
        raise PermissionDenied(f"role {pre['role_name']!r} does not own {', '.join(pre['not_owned'])}: only the tables' "
                               "owner (or a superuser) can set up row-level security on them",
                               hint="connect as the deployment's database owner")
    if not confirm_deployment and not migrate.applied(conn):
        raise BadInput("this is a deployment's database (its tables were not created by 'aibridge db migrate'): "
                       "'db grant' enables row-level security on its tables",
                       hint="read README 'Access control' first, then pass --confirm-deployment")


def _read_stdin_password() -> str:
    if sys.stdin is None:
        raise BadInput("--password-stdin: no standard input")
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise BadInput("--password-stdin: the first line of stdin is empty",
                       hint="e.g. read -rs PW && printf '%s\\n' \"$PW\" | aibridge db grant ... --password-stdin")
    return line


def _check_new_file(path: Path) -> None:
    if path.exists():
        raise BadInput(f"--password-file: {path} already exists", hint="name a new file; it is never overwritten")
    if not path.parent.is_dir():
        raise BadInput(f"--password-file: no directory {path.parent}")


def _write_secret(path: Path, secret: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise AibridgeError(f"--password-file: cannot create {path}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")


def _dsn_hint(conn, role: str) -> str:
    from psycopg.conninfo import make_conninfo

    info = conn.info
    return make_conninfo("", host=info.host, port=info.port, dbname=info.dbname, user=role)
