"""Ordered schema migrations from sql/schema/, applied once each and recorded.

Every migration is written to be a no-op where its objects already exist, so a
real deployment's database (which has the tables but not our bookkeeping table)
is recognised rather than recreated.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from aibridge_cli.db import embedded, query
from aibridge_cli.db.errors import translate_errors
from aibridge_cli.sqlc.registry import sql_dir


def migration_files() -> list[tuple[str, Path]]:
    return [(p.stem, p) for p in sorted((sql_dir() / "schema").glob("*.sql"))]


def applied(conn: psycopg.Connection) -> dict[str, object]:
    if not query.one(conn, "MigrationsTableExists")["exists"]:
        return {}
    return {r["version"]: r["applied_at"] for r in query.many(conn, "ListAppliedMigrations")}


def pending(conn: psycopg.Connection) -> list[str]:
    done = applied(conn)
    return [v for v, _ in migration_files() if v not in done]


def apply(conn: psycopg.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    done_now = []
    with translate_errors():
        with conn.transaction():
            query.run(conn, "LockMigrations")
            query.run(conn, "EnsureMigrationsTable")
        for version, path in migration_files():
            with conn.transaction():
                query.run(conn, "LockMigrations")
                if version in applied(conn):
                    continue
                conn.execute(path.read_text(encoding="utf-8"))
                query.run(conn, "RecordMigration", version=version)
                done_now.append(version)
    return done_now


def _stamp() -> Path:
    return embedded.home() / "schema-version"


def latest() -> str:
    files = migration_files()
    return files[-1][0] if files else ""


def stamp_current() -> bool:
    try:
        return _stamp().read_text().strip() == latest()
    except OSError:
        return False


def write_stamp() -> None:
    _stamp().write_text(latest() + "\n")
