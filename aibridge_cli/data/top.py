"""`aibridge top`: one snapshot of the last hour, from the queries in sql/queries/top.sql."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aibridge_cli.db import query

TOP_N = 8


@dataclass
class Snapshot:
    at: datetime
    in_flight: list[dict] = field(default_factory=list)
    per_minute: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(m["requests"] for m in self.per_minute)

    @property
    def tokens(self) -> int:
        return sum(m["input_tokens"] + m["output_tokens"] for m in self.per_minute)

    def as_dict(self) -> dict:
        return {"at": self.at, "requests_last_hour": self.requests, "tokens_last_hour": self.tokens,
                "in_flight": self.in_flight, "per_minute": self.per_minute, "top_users": self.users,
                "top_models": self.models, "errors": self.errors}


def snapshot(conn, now: datetime, top: int = TOP_N) -> Snapshot:
    """Everything the view shows, as of `now` (one clock reading for every query)."""
    return Snapshot(
        at=now,
        in_flight=query.many(conn, "TopInFlight", now=now),
        per_minute=query.many(conn, "TopPerMinute", now=now),
        users=query.many(conn, "TopUsers", now=now, limit_=top),
        models=query.many(conn, "TopModels", now=now, limit_=top),
        errors=query.many(conn, "TopErrors", now=now, limit_=top),
    )
