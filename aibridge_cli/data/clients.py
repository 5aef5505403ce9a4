"""Clients seen in ended interceptions (the deployment's ListAIBridgeClients)."""

from __future__ import annotations

from aibridge_cli.db import query


def list_clients(conn, prefix: str = "", limit: int = 100, offset: int = 0) -> list[dict]:
    return query.many(conn, "ListAIBridgeClients", client=prefix, limit_=limit, offset_=offset)
