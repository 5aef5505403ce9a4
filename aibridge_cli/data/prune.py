"""The batch loop behind `aibridge prune`: short transactions, a keyset cursor, one prune at a time.

Knows psycopg and the named queries; never prints (progress goes through a callback).
Every batch is one statement that deletes a set of interceptions together with all their
child rows, in its own transaction, so a run killed at any point leaves no orphan and a
re-run finishes the job.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator, Optional

import psycopg
from psycopg import errors as pgerrors

from aibridge_cli.db import query
from aibridge_cli.db.connect import connect
from aibridge_cli.db.errors import translate_errors
from aibridge_cli.errors import EXIT_LOCKED, MIGRATE_HINT, AibridgeError, PermissionDenied, SchemaMissing
from aibridge_cli.sqlc.translate import NIL_UUID

TABLES = ("interceptions", "token_usages", "user_prompts", "tool_usages", "model_thoughts")
CHILD_TABLES = TABLES[1:]
ORPHAN_QUERIES = {
    "token_usages": "PruneOrphanTokenUsages",
    "user_prompts": "PruneOrphanUserPrompts",
    "tool_usages": "PruneOrphanToolUsages",
    "model_thoughts": "PruneOrphanModelThoughts",
}
# A batch that lost a lock wait or a deadlock is retried this many times, after a pause that
# doubles, before the run gives up (what it deleted so far stays deleted).
LOCK_RETRIES = 3
# Batches take a window of SLICES * batch_size old interceptions in slices of the id space:
# a batch's child rows are then looked up in an eighth of each child index (the ids are random
# UUIDs), so consecutive batches read far fewer index pages per row than one time-ordered batch.
SLICES = 8
_STEP = 2**128 // SLICES
ID_SLICES = [(uuid.UUID(int=k * _STEP), uuid.UUID(int=(k + 1) * _STEP - 1 if k < SLICES - 1 else 2**128 - 1))
             for k in range(SLICES)]
RETRY_PAUSE_S = 0.5


@dataclass
class Outcome:
    before_time: datetime
    dry_run: bool = False
    deleted: dict = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    orphans: Optional[dict] = None
    batches: int = 0
    longest_batch_s: float = 0.0
    elapsed_s: float = 0.0
    stopped_early: bool = False
    remaining_interceptions: Optional[int] = None

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    @property
    def orphans_total(self) -> int:
        return sum(self.orphans.values()) if self.orphans else 0


class PruneLocked(AibridgeError):
    exit_code = EXIT_LOCKED


class Stop(Exception):
    """--max-duration ran out between two batches."""


def dry_run(conn: psycopg.Connection, before: datetime, orphans: bool) -> Outcome:
    start = time.monotonic()
    out = Outcome(before_time=before, dry_run=True)
    row = query.one(conn, "CountOldAIBridgeRecords", before_time=before)
    out.deleted = {t: row[t] for t in TABLES}
    if orphans:
        row = query.one(conn, "CountAIBridgeOrphans")
        out.orphans = {t: row[f"orphan_{t}"] for t in CHILD_TABLES}
    out.elapsed_s = time.monotonic() - start
    return out


def check_rights(conn: psycopg.Connection) -> None:
    """Refuse, before deleting anything, a role that is not the tables' owner or that row-level
    security would restrict (a DELETE under a policy silently skips the rows it cannot see)."""
    rows = query.many(conn, "PruneTableRights")
    if len(rows) < len(TABLES):
        raise SchemaMissing("the AI Bridge tables are missing", hint=MIGRATE_HINT)
    user = conn.info.user
    not_owned = [r for r in rows if not r["is_owner"]]
    if not_owned:
        owners = sorted({r["owner"] for r in not_owned})
        raise PermissionDenied(
            f"only the owner of the AI Bridge tables can prune: role {user!r} does not own "
            f"{', '.join(r['table_name'] for r in not_owned)} (owned by {', '.join(owners)})",
            hint=f"run prune connected as {owners[0]!r} (the deployment's database user) or a superuser")
    restricted = [r["table_name"] for r in rows if r["row_security_applies"]]
    if restricted:
        raise PermissionDenied(
            f"row-level security applies to role {user!r} on {', '.join(restricted)}: "
            "a prune would skip the rows the policies hide",
            hint="run prune as a superuser or a role with BYPASSRLS, or without FORCE ROW LEVEL SECURITY")


class Pruner:
    """Runs the batches on one autocommit connection that holds the prune advisory lock."""

    def __init__(self, conn: psycopg.Connection, before: datetime, *, batch_size: int,
                 deadline: Optional[float], lock_timeout_ms: int, statement_timeout_ms: int,
                 on_batch: Callable[[Outcome, dict], None] = lambda out, batch: None):
        self.conn = conn
        self.batch_size = batch_size
        self.deadline = deadline
        self.lock_timeout_ms = lock_timeout_ms
        self.statement_timeout_ms = statement_timeout_ms
        self.on_batch = on_batch
        self.out = Outcome(before_time=before)
        self._start = time.monotonic()

    def run(self, orphans: bool) -> Outcome:
        try:
            # Two passes: the second picks up interceptions the first skipped because another
            # transaction held them locked at that moment (it usually finds nothing).
            for _ in range(2):
                if not self._pass():
                    break
            if orphans:
                self.out.orphans = dict.fromkeys(CHILD_TABLES, 0)
                for table in CHILD_TABLES:
                    self._orphan_pass(table)
        except Stop:
            self.out.stopped_early = True
            row = query.one(self.conn, "CountInterceptionsBefore", before_time=self.out.before_time)
            self.out.remaining_interceptions = row["interceptions"]
        finally:
            self.out.elapsed_s = time.monotonic() - self._start
        return self.out

    def _pass(self) -> int:
        """Walk the old interceptions oldest first, a window of SLICES batches at a time, each
        window in slices of the id space; returns how many this pass deleted."""
        from aibridge_cli.db.pgtime import BEGINNING

        lo: tuple = (BEGINNING, NIL_UUID)  # not ZERO_TIME (year 1): a deployment may hold BC times
        inclusive = True
        deleted = 0
        # A little under SLICES full batches, so that a slice rarely needs a second, tiny batch.
        window = max(1, self.batch_size * SLICES * 9 // 10)
        while True:
            end = query.one(self.conn, "PruneWindowEnd", before_time=self.out.before_time, after_started_at=lo[0],
                         after_id=lo[1], inclusive=inclusive, window_size=window)
            if not end["interceptions"]:
                return deleted
            upto = (end["last_started_at"], end["last_id"])
            for id_low, id_high in ID_SLICES:
                deleted += self._slice(lo, inclusive, upto, id_low, id_high)
            if end["interceptions"] < window:
                return deleted
            lo, inclusive = upto, False

    def _slice(self, lo: tuple, inclusive: bool, upto: tuple, id_low: uuid.UUID, id_high: uuid.UUID) -> int:
        deleted = 0
        while True:
            row = self._batch("PruneInterceptionBatch", before_time=self.out.before_time,
                              after_started_at=lo[0], after_id=lo[1], inclusive=inclusive,
                              upto_started_at=upto[0], upto_id=upto[1], id_low=id_low, id_high=id_high,
                              batch_size=self.batch_size)
            counts = {t: row[t] for t in TABLES}
            for t in TABLES:
                self.out.deleted[t] += counts[t]
            deleted += counts["interceptions"]
            self.on_batch(self.out, counts)
            if row["last_id"] is None or counts["interceptions"] < self.batch_size:
                return deleted
            lo, inclusive = (row["last_started_at"], row["last_id"]), False

    def _orphan_pass(self, table: str) -> None:
        after: uuid.UUID = NIL_UUID
        inclusive = True
        while True:
            row = self._batch(ORPHAN_QUERIES[table], after_id=after, inclusive=inclusive,
                              batch_size=self.batch_size)
            self.out.orphans[table] += row["deleted"]
            self.on_batch(self.out, {})
            if row["last_id"] is None or row["scanned"] < self.batch_size:
                return
            after, inclusive = row["last_id"], False

    def _batch(self, name: str, **params) -> dict:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise Stop()
        pause = RETRY_PAUSE_S
        for attempt in range(LOCK_RETRIES + 1):
            started = time.monotonic()
            try:
                with translate_errors(), self.conn.transaction():
                    query.run(self.conn, "SetPruneBatchLimits", lock_timeout_ms=self.lock_timeout_ms,
                           statement_timeout_ms=self.statement_timeout_ms)
                    row = query.one(self.conn, name, **params)
            except AibridgeError as e:
                if attempt < LOCK_RETRIES and _lock_conflict(e):
                    time.sleep(pause)
                    pause *= 2
                    continue
                raise
            took = time.monotonic() - started
            self.out.batches += 1
            self.out.longest_batch_s = max(self.out.longest_batch_s, took)
            return row
        raise AssertionError("unreachable")


def _lock_conflict(e: AibridgeError) -> bool:
    # translate_errors raises our error `from None`; the driver's error stays in __context__.
    return isinstance(e.__context__, (pgerrors.LockNotAvailable, pgerrors.DeadlockDetected))


def acquire_lock(conn: psycopg.Connection) -> None:
    if not query.one(conn, "TryPruneLock")["acquired"]:
        raise PruneLocked("another aibridge prune is already running on this database; this one did nothing",
                          hint="it holds the prune lock until it ends; overlapping cron runs are skipped "
                               f"with exit code {EXIT_LOCKED}")


@contextmanager
def locked_connection(settings) -> Iterator[psycopg.Connection]:
    """An autocommit connection holding the prune lock (PruneLocked when another prune holds it)."""
    with connect(settings, read_only=False, autocommit=True) as conn:
        # Plan every batch with its actual keyset values; a cached generic plan buys nothing here.
        conn.prepare_threshold = None
        acquire_lock(conn)
        try:
            yield conn
        finally:
            release_lock(conn)


def count_before(conn: psycopg.Connection, before: datetime) -> int:
    """Interceptions that started before `before`: what a run has to delete."""
    return query.one(conn, "CountInterceptionsBefore", before_time=before)["interceptions"]


def release_lock(conn: psycopg.Connection) -> None:
    # Closing the session frees the lock anyway; a failure here must not hide the real error.
    if conn.closed or conn.broken:
        return
    try:
        query.one(conn, "ReleasePruneLock")
    except AibridgeError:
        pass
