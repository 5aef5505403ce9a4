"""Interceptions as flat records: pages, streams with their details, counts, one in full.

No Typer and no printing: the command parses, these read, views/interceptions.py draws.

Each function imports db.query (and so psycopg) itself: it loads only once a command has
connected, never for --help or bad input.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from aibridge_cli.errors import BadInput, NotFound

# Interceptions per round of detail queries while streaming: three queries per batch, never one per row.
DETAIL_BATCH = 500
# Children listed by `show`; the total is always reported.
CHILDREN_SHOWN = 100
INTERCEPTION_COLUMNS = ("id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at",
                        "api_key_id", "client", "thread_parent_id", "thread_root_id", "client_session_id",
                        "session_id")
INITIATOR_KEYS = ("initiator_username", "initiator_name", "initiator_avatar_url")
DETAIL_KEYS = ("token_usages", "user_prompts", "tool_usages")


def filter_params(*, started_after=None, started_before=None, initiator_id=None, provider=None, model=None,
                  client=None) -> dict:
    """The filter block list and count share; None takes the query's zero value."""
    return {"started_after": started_after, "started_before": started_before, "initiator_id": initiator_id,
            "provider": provider or "", "model": model or "", "client": client or ""}


def flatten(row: dict) -> dict:
    """A ListAIBridgeInterceptions row as one flat record: the interception's columns, then
    the initiator's username, name and avatar_url (the user's id is initiator_id already)."""
    out = dict(row["aibridge_interceptions"])
    user = row.get("visible_users") or {}
    out["initiator_username"] = user.get("username")
    out["initiator_name"] = user.get("name")
    out["initiator_avatar_url"] = user.get("avatar_url")
    return out


def check_cursor(conn, after_id) -> None:
    """A keyset cursor must name an interception, or the page would silently start anywhere."""
    from aibridge_cli.db import query

    if after_id is not None and query.one(conn, "GetAIBridgeInterceptionByID", id=after_id) is None:
        raise BadInput(f"--after-id: no interception with id {after_id}",
                       hint="pass the id of the last row of the previous page")


def page(conn, filters: dict, *, limit: int, offset: int = 0, after_id=None,
         with_details: bool = False) -> tuple[list[dict], bool]:
    """One page of records, and whether another page follows."""
    from aibridge_cli.db import query

    # One row more than the page says whether a next page exists.
    rows = [flatten(r) for r in query.many(conn, "ListAIBridgeInterceptions", **filters, after_id=after_id,
                                           limit_=limit + 1, offset_=offset)]
    more = len(rows) > limit
    rows = rows[:limit]
    if with_details:
        attach_details(conn, rows)
    return rows, more


def stream(conn, filters: dict, *, limit: int, offset: int = 0, after_id=None,
           with_details: bool = False) -> Iterator[dict]:
    """The same records as `page`, row by row from a server-side cursor (for the machine formats)."""
    from aibridge_cli.db import query

    records: Iterator[dict] = (flatten(r) for r in query.stream(conn, "ListAIBridgeInterceptions", **filters,
                                                                 after_id=after_id, limit_=limit, offset_=offset))
    return _with_details(conn, records) if with_details else records


def columns(with_details: bool) -> list[str]:
    """The columns of a record, for a header when there is no row to take them from."""
    return list(INTERCEPTION_COLUMNS + INITIATOR_KEYS + (DETAIL_KEYS if with_details else ()))


def count(conn, filters: dict) -> int:
    from aibridge_cli.db import query

    return query.one(conn, "CountAIBridgeInterceptions", **filters)["count"]


def _group(rows: Iterable[dict]) -> dict:
    by: dict = {}
    for r in rows:
        by.setdefault(r["interception_id"], []).append(r)
    return by


def attach_details(conn, batch: list[dict]) -> list[dict]:
    """Give each record its token usages, prompts and tool usages: one query per kind for the batch."""
    from aibridge_cli.db import query

    if not batch:
        return batch
    ids = [r["id"] for r in batch]
    tokens = _group(query.many(conn, "ListAIBridgeTokenUsagesByInterceptionIDs", interception_ids=ids))
    prompts = _group(query.many(conn, "ListAIBridgeUserPromptsByInterceptionIDs", interception_ids=ids))
    tools = _group(query.many(conn, "ListAIBridgeToolUsagesByInterceptionIDs", interception_ids=ids))
    for r in batch:
        r["token_usages"] = tokens.get(r["id"], [])
        r["user_prompts"] = prompts.get(r["id"], [])
        r["tool_usages"] = tools.get(r["id"], [])
    return batch


def _with_details(conn, records: Iterable[dict]) -> Iterator[dict]:
    batch: list[dict] = []
    for r in records:
        batch.append(r)
        if len(batch) >= DETAIL_BATCH:
            yield from attach_details(conn, batch)
            batch = []
    yield from attach_details(conn, batch)


def load_record(conn, interception_id) -> dict:
    """An interception with everything `show` prints: initiator, children rows and thread."""
    from aibridge_cli.db import query

    row: Optional[dict] = query.one(conn, "GetAIBridgeInterceptionByID", id=interception_id)
    if row is None:
        raise NotFound(f"no interception with id {interception_id}",
                       hint="list ids with 'aibridge interceptions list'")
    record = dict(row)
    user = query.one(conn, "GetAIBridgeInterceptionInitiator", id=row["initiator_id"]) or {}
    for key in INITIATOR_KEYS:
        record[key] = user.get(key.removeprefix("initiator_"))
    record["token_usages"] = query.many(conn, "GetAIBridgeTokenUsagesByInterceptionID", interception_id=interception_id)
    record["user_prompts"] = query.many(conn, "GetAIBridgeUserPromptsByInterceptionID", interception_id=interception_id)
    record["tool_usages"] = query.many(conn, "GetAIBridgeToolUsagesByInterceptionID", interception_id=interception_id)
    record["model_thoughts"] = query.many(conn, "GetAIBridgeModelThoughtsByInterceptionID",
                                          interception_id=interception_id)
    wanted = [i for i in (row["thread_parent_id"], row["thread_root_id"]) if i is not None]
    found = {r["id"]: r for r in query.many(conn, "GetAIBridgeInterceptionsByIDs", ids=wanted)} if wanted else {}
    record["thread_parent"] = found.get(row["thread_parent_id"])
    record["thread_root"] = found.get(row["thread_root_id"])
    record["thread_children"] = query.many(conn, "ListAIBridgeInterceptionChildren", id=interception_id,
                                           limit_=CHILDREN_SHOWN)
    record["thread_children_count"] = query.one(conn, "CountAIBridgeInterceptionChildren", id=interception_id)["count"]
    return record
