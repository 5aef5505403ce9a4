"""Bulk loading with COPY: the fast path for `record import` and `demo`."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import psycopg

from aibridge_cli import db, queries

# table -> the named COPY query in sql/queries/bulk.sql
COPY_QUERIES = {
    "users": "CopyUsers",
    "aibridge_interceptions": "CopyInterceptions",
    "aibridge_token_usages": "CopyTokenUsages",
    "aibridge_user_prompts": "CopyUserPrompts",
    "aibridge_tool_usages": "CopyToolUsages",
    "aibridge_model_thoughts": "CopyModelThoughts",
}


def columns(table: str) -> list[str]:
    """The column order a COPY into `table` expects, read from its query."""
    sql = queries.get(COPY_QUERIES[table]).sql
    inside = re.search(r"\(([^)]*)\)", sql).group(1)
    return [c.strip() for c in inside.split(",")]


def copy_rows(conn: psycopg.Connection, table: str, rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in columns(table) order; dicts/lists for jsonb are fine) into a table."""
    from psycopg.types.json import Jsonb

    sql = queries.get(COPY_QUERIES[table]).sql
    n = 0
    with db.translate_errors():
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in row])
                n += 1
    return n


def copy_text(conn: psycopg.Connection, table: str, chunks: Iterable[str | bytes]) -> None:
    """COPY pre-formatted text-format data (tab-separated lines) into a table: the fastest path."""
    sql = queries.get(COPY_QUERIES[table]).sql
    with db.translate_errors():
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for chunk in chunks:
                copy.write(chunk)
