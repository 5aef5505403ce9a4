"""The models seen in ended interceptions.

Each function imports db.query (and so psycopg) itself: it loads only once a command has
connected, never for --help or bad input.
"""

from __future__ import annotations


def list_models(conn, prefix: str = "", *, limit: int, offset: int = 0) -> list[dict]:
    """Distinct model names in alphabetical order; `prefix` is matched literally (% and _ too)."""
    from aibridge_cli.db import query

    return query.many(conn, "ListAIBridgeModels", model=prefix, limit_=limit, offset_=offset)
