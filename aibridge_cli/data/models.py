"""The models seen in ended interceptions.

Each function imports db.query (and so psycopg) itself: it loads only once a command has
connected, never for --help or bad input.
"""

from __future__ import annotations

from datetime import datetime, timezone


def list_models(conn, prefix: str = "", *, limit: int, offset: int = 0, since=None) -> list[dict]:
    """Distinct model names in alphabetical order; `prefix` is matched literally (% and _ too);
    `since` (an aware datetime) keeps the models of interceptions started at or after it."""
    from aibridge_cli.db import query

    return query.many(conn, "ListAIBridgeModels", model=prefix, limit_=limit, offset_=offset,
                      started_after=since or datetime(1, 1, 1, tzinfo=timezone.utc))
