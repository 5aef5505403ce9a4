"""Named-query execution: bind, apply the access filter, run, and build rows.

Knows psycopg and SQL; never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    import psycopg

from aibridge_cli.db.errors import translate_errors
from aibridge_cli.policy import access
from aibridge_cli.sqlc import registry
from aibridge_cli.sqlc.translate import EMBED_END, EMBED_START


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
    q = registry.get(name)
    bound = registry.bind(q, params)
    sql, bound = _authorized(conn, q, sql_override or q.sql, bound)
    cur = conn.cursor(row_factory=row_factory)
    with translate_errors(statement=sql, role=conn.info.user):
        cur.execute(sql, bound)
    return cur


def _authorized(conn, q, sql: str, bound: dict) -> tuple[str, dict]:
    # `--as`: a query marked `-- @authorize_filter` gets the row filter in its SQL.
    subject = getattr(conn, "subject", None)
    if subject is None or not q.authorize_filter:
        return sql, bound
    return access.authorize(subject, q, sql, bound)


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
    q = registry.get(name)
    bound = registry.bind(q, params)
    sql, bound = _authorized(conn, q, q.sql, bound)
    with translate_errors(statement=sql, role=conn.info.user):
        with conn.cursor(name=f"aibridge_{name.lower()}", row_factory=row_factory) as cur:
            cur.itersize = itersize
            cur.execute(sql, bound)
            yield from cur


def stream_batches(conn: psycopg.Connection, name: str, *, size: int = 5000, as_text: tuple[str, ...] = (),
                   **params) -> Iterator[tuple[list, list[tuple]]]:
    """A large result through a server-side cursor, as (description, rows as tuples) batches;
    values of the types named in as_text (e.g. uuid, jsonb) arrive as their text form."""
    from psycopg.types.string import TextLoader

    q = registry.get(name)
    bound = registry.bind(q, params)
    sql, bound = _authorized(conn, q, q.sql, bound)
    with translate_errors(statement=sql, role=conn.info.user):
        with conn.cursor(name=f"aibridge_{name.lower()}") as cur:
            for type_name in as_text:
                cur.adapters.register_loader(type_name, TextLoader)
            cur.execute(sql, bound)
            while True:
                rows = cur.fetchmany(size)
                if not rows:
                    return
                yield cur.description, rows
