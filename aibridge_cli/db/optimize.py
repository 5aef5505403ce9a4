"""Our own indexes beyond a deployment's: listed, created CONCURRENTLY, dropped.

They live in sql/optimize/indexes.sql rather than in the migrations so that
`db migrate` never builds an index on a production table behind anyone's back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import psycopg

from aibridge_cli.db import query
from aibridge_cli.db.errors import translate_errors
from aibridge_cli.sqlc.registry import sql_dir
from aibridge_cli.sqlc.translate import parse_file


@dataclass
class OptionalIndex:
    name: str
    create_sql: str
    drop_sql: str
    why: str


@lru_cache(maxsize=None)
def indexes() -> tuple[OptionalIndex, ...]:
    path = sql_dir() / "optimize" / "indexes.sql"
    text = path.read_text(encoding="utf-8")
    found = []
    for q in parse_file(path):
        if not q.name.startswith("Create"):
            continue
        drop = next(d for d in parse_file(path) if d.name == "Drop" + q.name[len("Create"):])
        name = re.search(r"IF NOT EXISTS\s+(\w+)", q.sql).group(1)
        why = _comment_after_header(text, q.name)
        found.append(OptionalIndex(name, q.sql, drop.sql, why))
    return tuple(found)


def _comment_after_header(text: str, name: str) -> str:
    lines = text.split(f"-- name: {name} ", 1)[1].splitlines()[1:]
    return " ".join(ln[2:].strip() for ln in lines if ln.startswith("--") and "name:" not in ln)


def status(conn: psycopg.Connection) -> list[dict]:
    present = {r["index"]: r for r in query.many(conn, "ListOptionalIndexes", names=[i.name for i in indexes()])}
    return [{"index": i.name, "state": ("valid" if present[i.name]["valid"] else "invalid") if i.name in present else "missing",
             "size": present[i.name]["size"] if i.name in present else "", "why": i.why} for i in indexes()]


def create(conn: psycopg.Connection) -> list[str]:
    """Create the missing indexes (needs an autocommit connection); an invalid leftover is rebuilt."""
    built = []
    with translate_errors():
        for row, idx in zip(status(conn), indexes()):
            if row["state"] == "valid":
                continue
            if row["state"] == "invalid":
                conn.execute(idx.drop_sql)
            conn.execute(idx.create_sql)
            built.append(idx.name)
    return built


def drop(conn: psycopg.Connection) -> list[str]:
    dropped = []
    with translate_errors():
        for row, idx in zip(status(conn), indexes()):
            if row["state"] != "missing":
                conn.execute(idx.drop_sql)
                dropped.append(idx.name)
    return dropped
