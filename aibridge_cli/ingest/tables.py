"""COPY of `record import`'s checked rows into the tables, naming the file's line when the
server refuses a value.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from psycopg import errors as pgerrors

from aibridge_cli.db import copy_format
from aibridge_cli.ingest.lines import LineError
from aibridge_cli.sqlc import registry

# The table each kind of child record with an id of its own goes to.
TABLES = {"token_usage": "aibridge_token_usages", "user_prompt": "aibridge_user_prompts",
          "tool_usage": "aibridge_tool_usages"}


def copy_rows(conn, table: str, rows: list[str], lines: Optional[list[int]] = None, turn=None,
              meanwhile: Optional[Callable[[], None]] = None, layout=None) -> None:
    """COPY text-format rows; `lines` are their line numbers in the file. Driver errors come
    through untranslated (the caller decides), except a value PostgreSQL refuses, which the
    checks should have caught: that names the line. `meanwhile` runs once the rows are sent,
    while the server is still taking them in."""
    if not rows:
        return
    if copy_format.newer(table, layout):  # the layout's column list
        sql = registry.get(copy_format.COPY_QUERIES_V2026[table]).sql
    else:
        sql = registry.get(copy_format.COPY_QUERIES[table]).sql
    if turn is not None:
        turn.release()  # the server works through the rows: the parser may run meanwhile
    try:
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for i in range(0, len(rows), 2000):
                copy.write("".join(rows[i:i + 2000]))
            if meanwhile is not None:
                if turn is not None:
                    turn.acquire()
                try:
                    meanwhile()
                finally:
                    if turn is not None:
                        turn.release()
    except pgerrors.DataError as e:
        where = _COPY_CONTEXT(e.diag.context or "")
        if where is None or lines is None or not 0 < int(where[1]) <= len(lines):
            raise
        column = f"{where[2]}: " if where[2] else ""
        raise LineError(lines[int(where[1]) - 1], f"{TYPE_OF[table]}: {column}{e.diag.message_primary}") from None
    finally:
        if turn is not None:
            turn.acquire()


_COPY_CONTEXT = re.compile(r"COPY \S+, line (\d+)(?:, column (\w+))?").search
TYPE_OF = {"users": "user", "aibridge_interceptions": "interception", "aibridge_token_usages": "token_usage",
           "aibridge_user_prompts": "user_prompt", "aibridge_tool_usages": "tool_usage",
           "aibridge_model_thoughts": "model_thought"}
