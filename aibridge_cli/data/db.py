"""The schema and the server behind `aibridge db`: migrate, status, optimize.

Each function opens the connection it needs (migrations and index builds run in autocommit)
from the invocation's settings. Knows psycopg; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from aibridge_cli.db import embedded, query
from aibridge_cli.db import migrate as migrations
from aibridge_cli.db import optimize as indexes
from aibridge_cli.db.connect import connect

REQUIRED_TABLES = ("users", "visible_users", "aibridge_interceptions", "aibridge_token_usages",
                   "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts")


@dataclass
class Migrated:
    applied: list[str]          # migration versions this run applied
    kept_tables: list[str]      # tables that were there before and stay as they were
    unbuilt_indexes: list[str]  # our own indexes migrate left for 'db optimize'


@dataclass
class Status:
    target: str                 # libpq's view of the DSN, password left out
    server: dict                # server_version, database, user, size
    tables: list[str]           # the deployment tables present
    indexes: list[dict]         # our own indexes: index, state
    migrations: list[dict]      # version, status (applied / pending), applied_at
    missing_tables: list[str] = field(default_factory=list)
    deployment: bool = False    # the tables exist but no aibridge migration made them


def migrate(settings) -> Migrated:
    with connect(settings, read_only=False, autocommit=True) as conn:
        before = query.one(conn, "DeploymentTablesPresent")["present"] or []
        done = migrations.apply(conn)
        unbuilt = [r["index"] for r in indexes.status(conn) if r["state"] != "valid"]
    if settings.embedded:
        migrations.write_stamp()
    return Migrated(done, list(before) if done else [], unbuilt)


def status(settings) -> Status:
    with connect(settings) as conn:
        info = query.one(conn, "ServerInfo")
        idx = [{"index": r["index"], "state": r["state"]} for r in indexes.status(conn)]
        done = migrations.applied(conn)
        present = query.one(conn, "DeploymentTablesPresent")["present"] or []
        target = conn.info.dsn
    rows = [{"version": v, "status": "applied" if v in done else "pending", "applied_at": done.get(v)}
            for v, _ in migrations.migration_files()]
    missing = sorted(set(REQUIRED_TABLES) - set(present))
    return Status(target, info, present, idx, rows, missing, deployment=not missing and not done)


def optimize(settings, *, dry_run: bool, drop: bool) -> tuple[list[str], list[dict]]:
    """(indexes built or dropped, every optional index's state afterwards)."""
    with connect(settings, read_only=False, autocommit=True) as conn:
        # An index build takes as long as it takes; a timeout would leave an invalid index behind.
        query.run(conn, "SetStatementTimeout", timeout_ms=0)
        if dry_run:
            changed: list[str] = []
        elif drop:
            changed = indexes.drop(conn)
        else:
            changed = indexes.create(conn)
        return changed, indexes.status(conn)


def stop_embedded() -> Optional[str]:
    """Stop the embedded server; its data directory, or None when it was not running."""
    return str(embedded.pgdata()) if embedded.stop() else None
