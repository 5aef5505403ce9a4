"""Bulk loading with COPY: the fast path for `record import` and `demo`."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import psycopg

from aibridge_cli.db.errors import translate_errors
from aibridge_cli.sqlc import registry

# table -> the named COPY query in sql/queries/bulk.sql
COPY_QUERIES = {
    "users": "CopyUsers",
    "aibridge_interceptions": "CopyInterceptions",
    "aibridge_token_usages": "CopyTokenUsages",
    "aibridge_user_prompts": "CopyUserPrompts",
    "aibridge_tool_usages": "CopyToolUsages",
    "aibridge_model_thoughts": "CopyModelThoughts",
}


# The column order in which demo and import format COPY text rows; a test checks that the
# COPY statements in bulk.sql name the same columns in the same order.
COPY_COLUMNS = {
    "users": ["id", "username", "name", "avatar_url", "email", "rbac_roles", "deleted", "created_at", "updated_at"],
    "aibridge_interceptions": ["id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at",
                               "api_key_id", "client", "thread_parent_id", "thread_root_id", "client_session_id"],
    "aibridge_token_usages": ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens",
                              "metadata", "created_at"],
    "aibridge_user_prompts": ["id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"],
    "aibridge_tool_usages": ["id", "interception_id", "provider_response_id", "server_url", "tool", "input",
                             "injected", "invocation_error", "metadata", "created_at", "provider_tool_call_id"],
    "aibridge_model_thoughts": ["interception_id", "content", "metadata", "created_at"],
}
NULL = "\\N"

# The 2026-08 layout's COPY variants (bulk.sql): the same columns, then the newer ones; used
# where the layout (data/layout.Layout) has the flag named in COPY_V2026_WHEN.
COPY_QUERIES_V2026 = {
    "aibridge_interceptions": "CopyInterceptionsV2026",
    "aibridge_token_usages": "CopyTokenUsagesV2026",
    "aibridge_tool_usages": "CopyToolUsagesV2026",
}
COPY_V2026_WHEN = {"aibridge_interceptions": "interception_columns", "aibridge_token_usages": "token_cache_columns",
                   "aibridge_tool_usages": "tool_item_column"}


def newer(table: str, layout=None) -> bool:
    """Whether a COPY into `table` takes the 2026-08 variant on `layout` (the seed's when None)."""
    return table in COPY_V2026_WHEN and layout is not None and getattr(layout, COPY_V2026_WHEN[table])


def esc(s: str) -> str:
    """A value for COPY text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:  # four scans beat one regex on short text
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def columns(table: str) -> list[str]:
    """The column order a COPY into `table` expects, read from its query."""
    sql = registry.get(COPY_QUERIES[table]).sql
    inside = re.search(r"\(([^)]*)\)", sql).group(1)
    return [c.strip() for c in inside.split(",")]


def copy_rows(conn: psycopg.Connection, table: str, rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples in columns(table) order; dicts/lists for jsonb are fine) into a table."""
    from psycopg.types.json import Jsonb

    sql = registry.get(COPY_QUERIES[table]).sql
    n = 0
    with translate_errors():
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in row])
                n += 1
    return n


def copy_text(conn: psycopg.Connection, table: str, chunks: Iterable[str | bytes]) -> None:
    """COPY pre-formatted text-format data (tab-separated lines) into a table: the fastest path."""
    sql = registry.get(COPY_QUERIES[table]).sql
    with translate_errors():
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for chunk in chunks:
                copy.write(chunk)
