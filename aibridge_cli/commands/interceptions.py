"""`aibridge interceptions`: list, count and show recorded LLM requests."""

from __future__ import annotations

import itertools
import sys
from typing import Iterable, Iterator, Optional

import typer

from aibridge_cli.options import (
    scrub,
    ClientOpt, FormatOpt, InitiatorOpt, LimitOpt, ModelOpt, OffsetOpt, ProviderOpt, StartedAfterOpt,
    StartedBeforeOpt, emit, next_page_hint, note, parse_time, parse_uuid, read_db, resolve_user,
)
from aibridge_cli.errors import BadInput, NotFound

app = typer.Typer(help="List, count and show interceptions (one LLM request each).", no_args_is_help=True)

DEFAULT_LIMIT = 100
# Interceptions per round of detail queries while streaming: three queries per batch, never one per row.
DETAIL_BATCH = 500
# Children listed by `show`; the total is always reported.
CHILDREN_SHOWN = 100
INTERCEPTION_COLUMNS = ("id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at",
                        "api_key_id", "client", "thread_parent_id", "thread_root_id", "client_session_id",
                        "session_id")
INITIATOR_KEYS = ("initiator_username", "initiator_name", "initiator_avatar_url")
DETAIL_KEYS = ("token_usages", "user_prompts", "tool_usages")


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _filters(conn, started_after, started_before, initiator, provider, model, client) -> dict:
    """The filter parameters shared by list and count, validated before anything is read."""
    after = parse_time(started_after, "--started-after")
    before = parse_time(started_before, "--started-before")
    if after and before and after > before:
        raise BadInput(f"--started-after ({after.isoformat()}) is later than --started-before ({before.isoformat()})",
                       hint="swap the two times")
    return {
        "started_after": after,
        "started_before": before,
        "initiator_id": resolve_user(conn, initiator) if conn is not None else None,
        "provider": (provider or "").strip(),
        "model": (model or "").strip(),
        "client": (client or "").strip(),
    }


def _check_times(started_after, started_before) -> None:
    # Bad times fail before a connection (or the embedded server) is even opened.
    _filters(None, started_after, started_before, None, None, None, None)


def flatten(row: dict) -> dict:
    """A ListAIBridgeInterceptions row as one flat record: the interception's columns, then
    the initiator's username, name and avatar_url (the user's id is initiator_id already)."""
    out = dict(row["aibridge_interceptions"])
    user = row.get("visible_users") or {}
    out["initiator_username"] = user.get("username")
    out["initiator_name"] = user.get("name")
    out["initiator_avatar_url"] = user.get("avatar_url")
    return out


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


def _next_page_hint(params: dict, raw: dict, last_id) -> str:
    return next_page_hint("interceptions list", params["started_after"], params["started_before"], [
        *((opt, raw.get(key)) for opt, key in (("--initiator", "initiator"), ("--provider", "provider"),
                                               ("--model", "model"), ("--client", "client"))),
        ("--limit", params["limit_"] if params["limit_"] != DEFAULT_LIMIT else None),
        ("--with-details", bool(raw.get("with_details"))),
        ("--after-id", last_id),
    ])


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    started_after: Optional[str] = StartedAfterOpt,
    started_before: Optional[str] = StartedBeforeOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    limit: int = LimitOpt,
    offset: int = OffsetOpt,
    after_id: Optional[str] = typer.Option(
        None, "--after-id", help="Keyset cursor: start after this interception (the last id of the previous page)."),
    with_details: bool = typer.Option(
        False, "--with-details", help="Also give each row its token usages, prompts and tool usages."),
    fmt: str = FormatOpt,
):
    """Ended interceptions, newest first, with their initiator's username, name and avatar.

    Examples:

    \b
      aibridge interceptions list --since 24h --model claude-sonnet-4-5-20250929 -n 20
      aibridge interceptions list -u alice-haddad --with-details -f jsonl
    """
    from aibridge_cli.db import query

    _check_times(started_after, started_before)
    cursor = parse_uuid(after_id, "--after-id")
    limit = limit or DEFAULT_LIMIT
    with read_db(ctx) as conn:
        params = _filters(conn, started_after, started_before, initiator, provider, model, client)
        if cursor is not None and query.one(conn, "GetAIBridgeInterceptionByID", id=cursor) is None:
            raise BadInput(f"--after-id: no interception with id {cursor}",
                           hint="pass the id of the last row of the previous page")
        params.update(after_id=cursor, limit_=limit, offset_=offset)
        if fmt == "table":
            # One row more than the page says whether a next page exists.
            rows = [flatten(r) for r in query.many(conn, "ListAIBridgeInterceptions", **{**params, "limit_": limit + 1})]
            more = len(rows) > limit
            rows = rows[:limit]
            if with_details:
                attach_details(conn, rows)
            from aibridge_cli.views.interceptions import print_interceptions
            print_interceptions(scrub(ctx, rows, keep_keys=True), with_details=with_details)
            if not rows:
                note("no interceptions match" + (" (after the cursor)" if cursor else ""))
            elif more:
                raw = {"initiator": initiator, "provider": provider, "model": model, "client": client,
                       "with_details": with_details}
                note(_next_page_hint(params, raw, rows[-1]["id"]))
            return
        records: Iterator[dict] = (flatten(r) for r in query.stream(conn, "ListAIBridgeInterceptions", **params))
        if with_details:
            records = _with_details(conn, records)
        first = next(records, None)
        if first is None:
            # No row to take the header from: csv/tsv still get the deployment's columns.
            emit(ctx, [], fmt, columns=list(INTERCEPTION_COLUMNS + INITIATOR_KEYS + (DETAIL_KEYS if with_details else ())))
        else:
            emit(ctx, itertools.chain([first], records), fmt, columns=list(first))


@app.command("count")
def count_cmd(
    ctx: typer.Context,
    started_after: Optional[str] = StartedAfterOpt,
    started_before: Optional[str] = StartedBeforeOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    fmt: str = FormatOpt,
):
    """How many ended interceptions match the filters.

    Examples:

    \b
      aibridge interceptions count
      aibridge interceptions count --client Unknown --since 7d
    """
    from aibridge_cli.db import query

    _check_times(started_after, started_before)
    with read_db(ctx) as conn:
        params = _filters(conn, started_after, started_before, initiator, provider, model, client)
        n = query.one(conn, "CountAIBridgeInterceptions", **params)["count"]
    if fmt == "table":
        sys.stdout.write(f"{n}\n")  # a bare number: easy to read and to use in a script
    else:
        emit(ctx, [{"count": n}], fmt, columns=["count"])


def load_record(conn, interception_id) -> dict:
    """An interception with everything `show` prints: initiator, children rows and thread."""
    from aibridge_cli.db import query

    row = query.one(conn, "GetAIBridgeInterceptionByID", id=interception_id)
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
    record["model_thoughts"] = query.many(conn, "GetAIBridgeModelThoughtsByInterceptionID", interception_id=interception_id)
    wanted = [i for i in (row["thread_parent_id"], row["thread_root_id"]) if i is not None]
    found = {r["id"]: r for r in query.many(conn, "GetAIBridgeInterceptionsByIDs", ids=wanted)} if wanted else {}
    record["thread_parent"] = found.get(row["thread_parent_id"])
    record["thread_root"] = found.get(row["thread_root_id"])
    record["thread_children"] = query.many(conn, "ListAIBridgeInterceptionChildren", id=interception_id,
                                        limit_=CHILDREN_SHOWN)
    record["thread_children_count"] = query.one(conn, "CountAIBridgeInterceptionChildren", id=interception_id)["count"]
    return record


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    interception_id: str = typer.Argument(..., metavar="ID", help="The interception's UUID."),
    fmt: str = FormatOpt,
):
    """One interception in full: initiator, token usages, prompts, tool usages, thoughts, thread.

    Examples:

    \b
      aibridge interceptions show "$id"
      aibridge interceptions show "$id" -f json
    """
    ident = parse_uuid(interception_id, "ID")
    with read_db(ctx) as conn:
        record = load_record(conn, ident)
    if fmt == "table":
        from aibridge_cli.views.interceptions import print_record

        print_record(scrub(ctx, record, keep_keys=True))
    elif fmt == "json":
        import json

        from aibridge_cli.views.formats import to_json_value

        sys.stdout.write(json.dumps(to_json_value(scrub(ctx, record)), ensure_ascii=False, indent=2) + "\n")
    else:
        emit(ctx, [record], fmt)
