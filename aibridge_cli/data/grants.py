"""Login roles for `aibridge db grant` / `db revoke`: one transaction each, on the caller's connection.

The rules themselves (grants and row-level security policies) are in sql/queries/authz.sql.
Only a SCRAM verifier of a password reaches the server: it is computed here, on the client,
as psql's \\password does. Knows psycopg and the named queries; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from psycopg.conninfo import make_conninfo

from aibridge_cli.db import migrate, query
from aibridge_cli.errors import MIGRATE_HINT, AibridgeError, BadInput, NotFound, PermissionDenied, SchemaMissing
from aibridge_cli.policy import subjects

ROLE_PREFIX = "aibridge_"
MAX_IDENT = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes
REQUIRED_TABLES = frozenset({"users", "visible_users", "aibridge_interceptions", "aibridge_token_usages",
                             "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts"})


@dataclass
class Granted:
    role_name: str
    user_id: object
    username: str
    existed: bool  # the role was there before (updated, not created)
    target: str    # a DSN to connect as the role (no password)


@dataclass
class Revoked:
    role_name: str
    username: Optional[str]
    dropped: bool  # False: the role still holds rights in another database and stays


def role_name_for(username: str) -> str:
    name = ROLE_PREFIX + username
    if len(name.encode()) > MAX_IDENT:
        raise BadInput(f"the login role name {name!r} is longer than PostgreSQL's {MAX_IDENT} bytes",
                       hint="grant access to a user with a shorter username")
    return name


def grant(conn, user: str, level: str, *, password: Optional[str], confirm_deployment: bool) -> Granted:
    """Create or update USER's login role with `level` and enforce it with row-level security.
    password None keeps the role's password (a new role gets none)."""
    subject = subjects.lookup(conn, user, option="USER")
    name = role_name_for(subject.username)
    preflight(conn, confirm_deployment=confirm_deployment)
    state = query.one(conn, "AccessRoleState", role_name=name)
    if state["exists"] and not state["managed"]:
        raise AibridgeError(f"a PostgreSQL role named {name!r} already exists and was not created by aibridge",
                            hint="refusing to change a role aibridge does not manage; rename or drop it first")
    verifier = ""
    if password is not None:
        verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
    query.run(conn, "InstallAccessControl")
    query.run(conn, "SetAccessParameters", role_name=name, user_id=str(subject.id), access=level,
              password_verifier=verifier)
    query.run(conn, "GrantAccess")
    query.run(conn, "SetAccessParameters")  # clear the settings before the transaction ends
    return Granted(name, subject.id, subject.username, bool(state["exists"]), _dsn_for(conn, name))


def revoke(conn, user: str) -> Revoked:
    """Take back a login role's access to this database and drop it where no other database needs it."""
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
    preflight(conn, confirm_deployment=True)
    query.run(conn, "SetAccessParameters", role_name=name)
    query.run(conn, "RevokeAccess")
    query.run(conn, "SetAccessParameters")
    after = query.one(conn, "AccessRoleState", role_name=name)
    return Revoked(name, username, not after["exists"])


def _role_to_revoke(conn, value: str) -> tuple[str, Optional[str]]:
    try:
        subject = subjects.lookup(conn, value, option="USER")
        return role_name_for(subject.username), subject.username
    except NotFound:
        # The user may be gone from users already: accept the role's own name too.
        if value.startswith(ROLE_PREFIX):
            return value, None
        raise


def preflight(conn, *, confirm_deployment: bool) -> None:
    """Refuse, before changing anything, a database or a role that cannot take row-level security."""
    present = set(query.one(conn, "DeploymentTablesPresent")["present"] or [])
    missing = sorted(REQUIRED_TABLES - present)
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


def _dsn_for(conn, role: str) -> str:
    info = conn.info
    return make_conninfo("", host=info.host, port=info.port, dbname=info.dbname, user=role)
