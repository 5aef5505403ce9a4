"""`aibridge db grant` / `db revoke`: PostgreSQL login roles whose reach the database enforces.

The transaction is data/grants.py's. Passwords never travel in clear: the tool generates one
(or reads it from stdin), only its SCRAM verifier reaches the server, and a generated password
goes to a new mode-0600 file, written before the transaction commits so that a failed write
leaves no role behind.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Optional

import typer

from aibridge_cli.errors import AibridgeError, BadInput
from aibridge_cli.options import FormatOpt, emit, note, write_db

LEVELS = ("member", "auditor", "recorder")


def register(db_group: typer.Typer) -> None:
    """`db grant` and `db revoke` belong to the `db` group."""
    db_group.command("grant")(grant_cmd)
    db_group.command("revoke")(revoke_cmd)


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
    from aibridge_cli.data import grants

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
            done = grants.grant(conn, user, role, password=password, confirm_deployment=confirm_deployment)
            if password_file:
                _write_secret(password_file, password)
                written = True
    except BaseException:
        if written:
            password_file.unlink(missing_ok=True)
        raise

    if password_file:
        how = f"written to {password_file}"
    elif password is not None:
        how = "set from stdin"
    else:
        how = "unchanged" if done.existed else "none"
    row = {"role_name": done.role_name, "user_id": done.user_id, "username": done.username, "access": role,
           "created": not done.existed, "password": how}
    if fmt == "table":
        verb = "updated" if done.existed else "created"
        note(f"{verb} login role {done.role_name} for {done.username}: {role}")
        if how == "none":
            note("no password set: the role can log in only where pg_hba.conf needs none (peer, cert, gss)")
        note(f"connect with: --dsn '{done.target}'")
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
    from aibridge_cli.data import grants

    with write_db(ctx) as conn:
        done = grants.revoke(conn, user)
    row = {"role_name": done.role_name, "username": done.username, "dropped": done.dropped}
    if fmt == "table":
        if not done.dropped:
            note(f"revoked {done.role_name}'s access to this database; the role is kept: "
                 "it still holds rights in another database")
        else:
            note(f"revoked {done.role_name}'s access and dropped the role")
    emit(ctx, [row], fmt, columns=list(row))


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
