"""`--as USER`: whose interceptions a connection may read, applied inside the SQL.

Every list/count/summary query marks, with the line `-- @authorize_filter`, the place in its
WHERE clause where `aibridge_interceptions` is in scope. For a user who may not see everything,
that line becomes `AND (<predicate>)`, the predicate coming from the AuthorizeFilter query in
sql/queries/authz.sql, with the user's id bound as a parameter. Owners and auditors see
everything, so their queries run unchanged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

# Site roles that read every interception (a deployment's rbac_roles).
SEE_ALL = ("owner", "auditor")
MARKER = re.compile(r"^[ \t]*--[ \t]*@authorize_filter[ \t]*$", re.MULTILINE)
PREDICATE_LINE = re.compile(r"^[ \t]*--[ \t]*@predicate[ \t]*$", re.MULTILINE)
PARAM = "authz_user_id"


@dataclass(frozen=True)
class Subject:
    id: uuid.UUID
    username: str
    roles: tuple[str, ...]

    @property
    def sees_all(self) -> bool:
        return any(r in SEE_ALL for r in self.roles)

    def describe(self) -> str:
        return f"{self.username} ({', '.join(self.roles) if self.roles else 'member'})"


@lru_cache(maxsize=None)
def predicate() -> str:
    """The translated predicate text (psycopg placeholders, `%` already doubled)."""
    from aibridge_cli.sqlc import registry

    sql = registry.get("AuthorizeFilter").sql
    parts = PREDICATE_LINE.split(sql, maxsplit=1)
    if len(parts) != 2 or not parts[1].strip():
        from aibridge_cli.errors import QueryFileError

        raise QueryFileError("authz.sql AuthorizeFilter: no '-- @predicate' line followed by the predicate")
    return parts[1].strip()


def authorize(subject: Subject | None, query, sql: str, params: dict) -> tuple[str, dict]:
    """The SQL and parameters to run for `query` as `subject`, the filter injected where due."""
    if subject is None or subject.sees_all or not query.authorize_filter:
        return sql, params
    if PARAM in params:
        from aibridge_cli.errors import QueryFileError

        raise QueryFileError(f"{query.where}: the parameter name {PARAM!r} is reserved for the authorize filter")
    def replace(m: re.Match) -> str:
        # The reference puts the marker after the other conditions: `AND (...)`. Right after
        # WHERE there is nothing before to AND with, but maybe a condition after it.
        before = re.sub(r"--[^\n]*", "", sql[:m.start()]).rstrip()
        if not re.search(r"\bWHERE$", before, re.I):
            return f"AND ({predicate()})"
        after = re.sub(r"--[^\n]*", "", sql[m.end():]).lstrip()
        ends = re.match(r"(AND|OR|GROUP|ORDER|LIMIT|OFFSET|HAVING|WINDOW|UNION|EXCEPT|INTERSECT|FOR)\b|[);]|$", after, re.I)
        return f"({predicate()})" if ends else f"({predicate()}) AND"

    injected = MARKER.sub(replace, sql)
    return injected, {**params, PARAM: subject.id}


_WRITES = (("DELETE", re.compile(r"\bDELETE\s+FROM\b", re.I)), ("TRUNCATE", re.compile(r"\bTRUNCATE\b", re.I)),
           ("INSERT", re.compile(r"\bINSERT\s+INTO\b|^\s*COPY\b", re.I)), ("UPDATE", re.compile(r"\bUPDATE\s+\w+(\s+\w+)?\s+SET\b", re.I)),
           ("CREATE", re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.I)))


def denied_message(server_text: str, statement: str | None, role: str | None) -> str:
    """`permission denied for table x` → which privilege, for which role. PostgreSQL names
    the object but not the privilege; the statement's kind says which one was refused."""
    who = f"role {role!r}" if role else "the connected role"
    if "row-level security" in server_text:
        return f"permission denied: row-level security refused the row for {who} ({server_text})"
    if statement is None:
        return f"permission denied for {who}: {server_text}"
    body = re.sub(r"--[^\n]*", "", statement)
    privilege = next((p for p, rx in _WRITES if rx.search(body)), "SELECT")
    if privilege != "SELECT" and re.search(r"\bRETURNING\b", body, re.I):
        privilege += " privilege, or SELECT on a column the statement returns"
    else:
        privilege += " privilege"
    return f"permission denied: {who} lacks the {privilege} ({server_text})"
