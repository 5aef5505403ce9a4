"""Connections (a DSN or the embedded server), named-query execution, driver-error mapping.

Knows psycopg and SQL; never prints.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import psycopg
from psycopg import errors as pgerrors

from aibridge_cli import queries
from aibridge_cli.errors import (
    AibridgeError, BadInput, DatabaseUnavailable, PermissionDenied, QueryTimeout, SchemaMissing,
)
from aibridge_cli.sqlfile import EMBED_END, EMBED_START

MIGRATE_HINT = "run 'aibridge db migrate' to create the AI Bridge tables (or point --dsn at a deployment's database)"


@dataclass
class Settings:
    dsn: str | None = None
    timeout_ms: int = 30_000
    as_user: str | None = None

    @property
    def embedded(self) -> bool:
        return not self.dsn


def resolve_dsn(settings: Settings) -> str:
    if settings.dsn:
        return settings.dsn
    from aibridge_cli import embedded, migrate

    info = embedded.running()
    fresh = info is None
    if fresh:
        info = embedded.start()
    dsn = info.dsn()
    # The embedded database is ours: keep it migrated, checking the schema only when
    # the server was just started or the stamp says a newer migration exists.
    if fresh or not migrate.stamp_current():
        from aibridge_cli import optimize

        with translate_errors(), psycopg.connect(dsn, autocommit=True) as conn:
            migrate.apply(conn)
            optimize.create(conn)  # the embedded database is ours: it gets our own indexes too
            migrate.write_stamp()
    return dsn


@contextmanager
def connect(settings: Settings, *, read_only: bool = True, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A connection whose work commits on success and rolls back on any error."""
    dsn = resolve_dsn(settings)
    with translate_errors():
        try:
            # prepare_threshold=None: a prepared statement may switch to a generic plan, where the
            # filters' `@x = ''` guards no longer fold away (seen: 25 ms -> 1 s on a reused connection).
            conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=_connect_timeout(),
                                   prepare_threshold=None)
        except psycopg.OperationalError as e:
            raise DatabaseUnavailable(
                f"cannot connect to the database: {_first_line(e)}",
                hint="check --dsn / AIBRIDGE_DSN (or PGHOST, PGPORT, PGUSER, ~/.pgpass) and that the server is running",
            ) from None
        try:
            if not autocommit:
                conn.read_only = read_only
            run(conn, "SetStatementTimeout", timeout_ms=settings.timeout_ms)
            if settings.as_user:
                from aibridge_cli import authz

                authz.attach(conn, settings.as_user, read_only=read_only and not autocommit)
            yield conn
            if not autocommit:
                conn.commit()
        except BaseException:
            if not conn.closed and not autocommit:
                conn.rollback()
            raise
        finally:
            conn.close()


def _connect_timeout() -> int:
    return int(os.environ.get("PGCONNECT_TIMEOUT", "10"))


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else e.__class__.__name__


@contextmanager
def translate_errors(statement: str | None = None, role: str | None = None) -> Iterator[None]:
    """Turn driver errors into our error types, so no expected failure shows a traceback.
    Given the statement and role, a refused privilege is named in the message."""
    try:
        yield
    except AibridgeError:
        raise
    except (pgerrors.UndefinedTable, pgerrors.UndefinedColumn, pgerrors.UndefinedFunction) as e:
        raise SchemaMissing(f"the database lacks what the query needs: {_first_line(e)}", hint=MIGRATE_HINT) from None
    except pgerrors.QueryCanceled as e:
        raise QueryTimeout(f"the query was cancelled: {_first_line(e)}",
                           hint="raise --timeout (e.g. --timeout 120s) or narrow the filters") from None
    except pgerrors.LockNotAvailable as e:
        raise QueryTimeout(f"gave up waiting for a lock: {_first_line(e)}",
                           hint="another transaction holds the rows; try again later") from None
    except pgerrors.ReadOnlySqlTransaction as e:
        raise PermissionDenied(f"permission denied: {_first_line(e)}",
                               hint="connect as a role with that privilege (see 'aibridge db grant')") from None
    except pgerrors.InsufficientPrivilege as e:
        from aibridge_cli.authz import denied_message

        raise PermissionDenied(denied_message(_first_line(e), statement, role),
                               hint="connect as a role with that privilege; only the tables' owner can migrate "
                                    "or prune (see 'aibridge db grant')") from None
    except pgerrors.FeatureNotSupported as e:
        if "row-level security" not in str(e):
            raise AibridgeError(f"database error: {_first_line(e)}") from None
        who = f"role {role!r}" if role else "the connected role"
        raise PermissionDenied(f"permission denied: {who} is subject to row-level security, and PostgreSQL "
                               "does not allow COPY into such tables",
                               hint="load in bulk as the tables' owner; a recorder role writes one record at a time "
                                    "('aibridge record ...')") from None
    except (pgerrors.InvalidTextRepresentation, pgerrors.InvalidDatetimeFormat, pgerrors.DatetimeFieldOverflow,
            pgerrors.NumericValueOutOfRange, pgerrors.StringDataRightTruncation) as e:
        raise BadInput(f"the database rejected a value: {_first_line(e)}") from None
    except psycopg.OperationalError as e:
        raise DatabaseUnavailable(f"lost the database connection: {_first_line(e)}",
                                  hint="check that the server is running and reachable") from None
    except psycopg.Error as e:
        raise AibridgeError(f"database error: {_first_line(e)}") from None


def row_factory(cursor: psycopg.Cursor):
    """Rows as dicts keyed by result column; sqlc.embed columns nest under their table's name."""
    desc = cursor.description
    if desc is None:
        return lambda values: values
    names = [d.name for d in desc]
    if not any(n.startswith(EMBED_START) for n in names):
        return lambda values: dict(zip(names, values))
    layout: list[tuple[str | None, int, str]] = []  # (embed, index, key)
    embed = None
    for i, name in enumerate(names):
        if name.startswith(EMBED_START):
            embed = name[len(EMBED_START):]
        elif name == EMBED_END:
            embed = None
        else:
            layout.append((embed, i, name))

    def make(values):
        row: dict[str, Any] = {}
        for emb, i, key in layout:
            if emb is None:
                row[key] = values[i]
            else:
                row.setdefault(emb, {})[key] = values[i]
        return row

    return make


def _execute(conn: psycopg.Connection, name: str, params: dict, sql_override: str | None = None):
    q = queries.get(name)
    bound = queries.bind(q, params)
    sql, bound = _authorized(conn, q, sql_override or q.sql, bound)
    cur = conn.cursor(row_factory=row_factory)
    with translate_errors(statement=sql, role=conn.info.user):
        cur.execute(sql, bound)
    return cur


def _authorized(conn, q, sql: str, bound: dict) -> tuple[str, dict]:
    # `--as`: a query marked `-- @authorize_filter` gets the row filter in its SQL.
    if not q.authorize_filter:
        return sql, bound
    from aibridge_cli import authz

    return authz.authorize(conn, q, sql, bound)


def run(conn: psycopg.Connection, name: str, **params) -> int:
    """Run an :exec/:execrows query; returns the affected row count."""
    return _execute(conn, name, params).rowcount


def one(conn: psycopg.Connection, name: str, **params) -> dict | None:
    cur = _execute(conn, name, params)
    with translate_errors():
        return cur.fetchone()


def many(conn: psycopg.Connection, name: str, **params) -> list[dict]:
    cur = _execute(conn, name, params)
    with translate_errors():
        return cur.fetchall()


def stream(conn: psycopg.Connection, name: str, *, itersize: int = 2000, **params) -> Iterator[dict]:
    """Iterate a large result through a server-side cursor, a batch at a time."""
    q = queries.get(name)
    bound = queries.bind(q, params)
    sql, bound = _authorized(conn, q, q.sql, bound)
    with translate_errors(statement=sql, role=conn.info.user):
        with conn.cursor(name=f"aibridge_{name.lower()}", row_factory=row_factory) as cur:
            cur.itersize = itersize
            cur.execute(sql, bound)
            yield from cur
