"""Loading the demo data set: the safety checks, then COPY fed by a generator thread.

The generator (pure Python, one core) runs in a background thread one chunk ahead of
the COPY, so formatting the next chunk overlaps with the server indexing this one;
psycopg releases the GIL while it waits on the server.
"""

from __future__ import annotations

import uuid
from typing import Callable, Optional

import psycopg

from aibridge_cli.db import copy_format, query
from aibridge_cli.demo.generator import COLUMNS, TABLES, DemoData
from aibridge_cli.errors import AibridgeError
from aibridge_cli.prefetch import prefetch

SCRATCH_HINT = "load the demo into a scratch database: e.g. AIBRIDGE_HOME=/tmp/aibridge-demo aibridge demo"


def check_columns() -> None:
    """The generator writes lines in COLUMNS order; the COPY queries must expect the same."""
    for table in TABLES:
        if copy_format.columns(table) != COLUMNS[table]:
            raise AibridgeError(f"internal: the COPY column order of {table} changed; generator.COLUMNS needs updating")


def prepare(conn: psycopg.Connection, gen: DemoData, *, append: bool) -> bool:
    """Refuse to mix demo rows into a database that has data, unless asked to; with
    --append, rename demo users whose usernames are taken. Returns whether to rebuild the
    indexes after the load rather than update them row by row: when the tables are empty,
    or smaller than what is coming (PostgreSQL's own advice for bulk loads)."""
    query.run(conn, "DemoLock")
    if query.one(conn, "DemoDeploymentTables")["deployment"]:
        raise AibridgeError("this looks like a Coder deployment's database (it has workspaces and templates); "
                            "demo data would mix with real records", hint=SCRATCH_HINT)
    present = query.one(conn, "DemoExistingData")
    if (present["users"] or present["interceptions"]) and not append:
        what = " and ".join(w for w, p in (("users", present["users"]), ("interceptions", present["interceptions"])) if p)
        raise AibridgeError(f"the database already has {what}; the demo only loads into an empty database",
                            hint="pass --append to add the demo data to it anyway, or " + SCRATCH_HINT)
    if not append:
        return True
    ids = [uuid.UUID(i) for i in gen.user_ids]
    if query.one(conn, "DemoUsersTaken", ids=ids)["taken"]:
        raise AibridgeError(f"the demo data of seed {gen.seed} is already in this database",
                            hint="use another --seed, or leave --seed out for a random one")
    taken: set = set()
    while True:  # a renamed user may collide again, with an earlier demo's renamed user
        found = {r["username"] for r in query.many(conn, "DemoUsernamesTaken", usernames=gen.usernames)}
        if found <= taken:
            break
        taken |= found
        gen.avoid_usernames(taken)
    return query.one(conn, "DemoExistingInterceptions", cap=gen.n)["existing"] < gen.n


def load(conn: psycopg.Connection, gen: DemoData, *, rebuild_indexes: bool = False, chunk_size: int = 10_000,
         progress: Optional[Callable[[int], None]] = None,
         stage: Optional[Callable[[str], None]] = None) -> dict[str, int]:
    """COPY the whole data set inside the caller's transaction; returns rows per table.

    rebuild_indexes (when the tables are small next to the load): drop the secondary
    indexes first and build them again at the end, identical, instead of updating them
    row by row.
    """
    counts = dict.fromkeys(TABLES, 0)
    if rebuild_indexes:
        query.run(conn, "DemoDropIndexes")
    users = gen.users_text()
    if users:
        copy_format.copy_text(conn, "users", [users])
    counts["users"] = len(gen.user_ids)
    for chunk in prefetch(gen.chunks(chunk_size), depth=1, name="aibridge-demo-generator"):
        for table in TABLES[1:]:
            text = chunk.text.get(table)
            if text:
                copy_format.copy_text(conn, table, [text])
                counts[table] += chunk.rows[table]
        if progress:
            progress(chunk.interceptions)
    if rebuild_indexes:
        if stage:
            stage("indexing")
        query.run(conn, "DemoRestoreIndexes")
    if stage:
        stage("analyzing")
    query.run(conn, "DemoAnalyze")
    return counts
