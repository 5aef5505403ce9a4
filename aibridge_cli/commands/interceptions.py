"""`aibridge interceptions`: list, count and show recorded LLM requests."""

from __future__ import annotations

import itertools
import sys
from typing import Optional

import typer

from aibridge_cli.data import interceptions
from aibridge_cli.data.layout import detect, newer_filters
from aibridge_cli.options import (
    ClientOpt,
    FailedOpt,
    FormatOpt,
    InitiatorOpt,
    LimitOpt,
    ModelOpt,
    OffsetOpt,
    ProviderNameOpt,
    ProviderOpt,
    StartedAfterOpt,
    StartedBeforeOpt,
    emit,
    emit_count,
    next_page_hint,
    note,
    parse_time_range,
    parse_uuid,
    read_db,
    resolve_user,
    scrub,
)
from aibridge_cli.views import interceptions as views
from aibridge_cli.views.formats import console, document

app = typer.Typer(help="List, count and show interceptions (one LLM request each).", no_args_is_help=True)

DEFAULT_LIMIT = 100


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _filters(conn, times, initiator, provider, model, client, provider_name=None, failed=False) -> dict:
    return {**interceptions.filter_params(started_after=times[0], started_before=times[1],
                                          initiator_id=resolve_user(conn, initiator), provider=(provider or "").strip(),
                                          model=(model or "").strip(), client=(client or "").strip()),
            **newer_filters(detect(conn), provider_name, failed)}  # the 2026-08 filters (refused on the seed's)


def _next_page_hint(filters: dict, raw: dict, limit: int, last_id) -> str:
    return next_page_hint("interceptions list", filters["started_after"], filters["started_before"], [
        *((opt, raw.get(key)) for opt, key in (("--initiator", "initiator"), ("--provider", "provider"),
                                               ("--model", "model"), ("--client", "client"),
                                               ("--provider-name", "provider_name"))),
        ("--failed", bool(raw.get("failed"))),
        ("--limit", limit if limit != DEFAULT_LIMIT else None),
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
    provider_name: Optional[str] = ProviderNameOpt,
    failed: bool = FailedOpt,
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
    times = parse_time_range(started_after, started_before)
    cursor = parse_uuid(after_id, "--after-id")
    limit = limit or DEFAULT_LIMIT
    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, provider_name, failed)
        interceptions.check_cursor(conn, cursor)
        if fmt == "table":
            rows, more = interceptions.page(conn, filters, limit=limit, offset=offset, after_id=cursor,
                                            with_details=with_details)
            if not rows:
                # Only the note, on stderr: an empty table's header says nothing.
                note("no interceptions match" + (" (after the cursor)" if cursor else ""))
                return
            console().print(views.list_table(scrub(ctx, rows, keep_keys=True), with_details=with_details))
            if more:
                raw = {"initiator": initiator, "provider": provider, "model": model, "client": client,
                       "with_details": with_details, "provider_name": provider_name, "failed": failed}
                note(_next_page_hint(filters, raw, limit, rows[-1]["id"]))
            return
        records = interceptions.stream(conn, filters, limit=limit, offset=offset, after_id=cursor,
                                       with_details=with_details)
        first = next(records, None)
        if first is None:
            # No row to take the header from: csv/tsv still get the deployment's columns.
            emit(ctx, [], fmt, columns=interceptions.columns(with_details))
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
    provider_name: Optional[str] = ProviderNameOpt,
    failed: bool = FailedOpt,
    fmt: str = FormatOpt,
):
    """How many ended interceptions match the filters.

    Examples:

    \b
      aibridge interceptions count
      aibridge interceptions count --client Unknown --since 7d
    """
    times = parse_time_range(started_after, started_before)
    with read_db(ctx) as conn:
        n = interceptions.count(conn, _filters(conn, times, initiator, provider, model, client, provider_name, failed))
    emit_count(ctx, n, fmt)


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
        record = interceptions.load_record(conn, ident)
    if fmt == "table":
        console().print(views.record_page(scrub(ctx, record, keep_keys=True)))
    elif fmt == "json":
        sys.stdout.write(document(scrub(ctx, record)))
    else:
        emit(ctx, [record], fmt)
