"""`aibridge sessions`: list, count and show sessions (a user's interceptions sharing a key)."""

from __future__ import annotations

import shlex
import sys
from typing import Optional

import typer

from aibridge_cli.options import (
    scrub,
    ClientOpt, FormatOpt, InitiatorOpt, LimitOpt, ModelOpt, OffsetOpt, ProviderOpt, StartedAfterOpt,
    StartedBeforeOpt, emit, next_page_hint, note, parse_time, read_db, resolve_user,
)
from aibridge_cli.errors import BadInput, NotFound

app = typer.Typer(help="List, count and show sessions: a user's ended interceptions that share a session key.",
                  no_args_is_help=True)

DEFAULT_LIMIT = 100
LIST_COLUMNS = ("session_id", "user_id", "user_username", "user_name", "user_avatar_url", "providers", "models",
                "client", "metadata", "started_at", "ended_at", "threads", "input_tokens", "output_tokens",
                "last_prompt")

SessionIdOpt = typer.Option(None, "--session-id", help="Only interceptions with this session id.")


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _times(started_after, started_before):
    # Bad times fail before a connection (or the embedded server) is even opened.
    after = parse_time(started_after, "--started-after")
    before = parse_time(started_before, "--started-before")
    if after and before and after > before:
        raise BadInput(f"--started-after ({after.isoformat()}) is later than --started-before ({before.isoformat()})",
                       hint="swap the two times")
    return after, before


def _filters(conn, times, initiator, provider, model, client, session_id) -> dict:
    from aibridge_cli.data.sessions import filter_params

    return filter_params(started_after=times[0], started_before=times[1],
                         initiator_id=resolve_user(conn, initiator), provider=(provider or "").strip(),
                         model=(model or "").strip(), client=(client or "").strip(), session_id=session_id or "")


def _next_page_hint(filters: dict, raw: dict, limit: int, cursor) -> str:
    return next_page_hint("sessions list", filters["started_after"], filters["started_before"], [
        *((opt, raw.get(key)) for opt, key in (("--initiator", "initiator"), ("--provider", "provider"),
                                               ("--model", "model"), ("--client", "client"),
                                               ("--session-id", "session_id"))),
        ("--limit", limit if limit != DEFAULT_LIMIT else None),
        ("--format", raw.get("fmt") if raw.get("fmt") != "table" else None),
        ("--after", cursor.encode()),
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
    session_id: Optional[str] = SessionIdOpt,
    limit: int = LimitOpt,
    offset: int = OffsetOpt,
    after: Optional[str] = typer.Option(
        None, "--after", help="Start after this cursor (printed on stderr when another page follows)."),
    after_session_id: Optional[str] = typer.Option(
        None, "--after-session-id",
        help="Start after the session with this id (the reference's cursor; an error if several users have it)."),
    fmt: str = FormatOpt,
):
    """Sessions, newest first: users, providers, models, threads, tokens and the last prompt.

    Filters select interceptions; each session's values are computed over the ones that pass.

    Examples:

    \b
      aibridge sessions list -n 20
      aibridge sessions list -u alice-haddad --since 7d -f jsonl
      aibridge sessions list --model claude-sonnet-4-5-20250929 --client "Claude Code"
    """
    from aibridge_cli.data.sessions import Cursor, cursor_for_session_id, fetch_page

    times = _times(started_after, started_before)
    if after and after_session_id:
        raise BadInput("--after and --after-session-id both give where to start", hint="use one of them")
    cursor = Cursor.decode(after) if after else None
    limit = limit or DEFAULT_LIMIT
    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, session_id)
        if after_session_id:
            cursor = cursor_for_session_id(conn, filters, after_session_id)
        rows, following = fetch_page(conn, filters, limit=limit, offset=offset, after=cursor)
    if fmt == "table":
        if rows:
            _print_table(scrub(ctx, rows, keep_keys=True))
        else:
            note("no sessions match" + (" after the cursor" if cursor else ""))
    else:
        emit(ctx, rows, fmt, columns=list(LIST_COLUMNS))
    if following is not None:
        raw = {"initiator": initiator, "provider": provider, "model": model, "client": client,
               "session_id": session_id, "fmt": fmt}
        note(_next_page_hint(filters, raw, limit, following))


@app.command("count")
def count_cmd(
    ctx: typer.Context,
    started_after: Optional[str] = StartedAfterOpt,
    started_before: Optional[str] = StartedBeforeOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    session_id: Optional[str] = SessionIdOpt,
    fmt: str = FormatOpt,
):
    """How many sessions `sessions list` would page through with the same filters.

    Examples:

    \b
      aibridge sessions count --since 7d
      aibridge sessions count --client "Claude Code" -f json
    """
    from aibridge_cli.db import query

    times = _times(started_after, started_before)
    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, session_id)
        query.run(conn, "TuneSessionsCount")
        n = query.one(conn, "CountAIBridgeSessions", **filters)["count"]
    if fmt == "table":
        sys.stdout.write(f"{n}\n")  # a bare number: easy to read and to use in a script
    else:
        emit(ctx, [{"count": n}], fmt, columns=["count"])


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="The session's id (session_id in `sessions list`)."),
    initiator: Optional[str] = typer.Option(
        None, "--initiator", "-u", help="The session's user (username or UUID), when several users share the id."),
    fmt: str = FormatOpt,
):
    """One session as a tree: threads, the interceptions of each agentic loop, their tool calls,
    prompts and thoughts, with tokens and durations at every level.

    Examples:

    \b
      aibridge sessions show "$session" -u alice-haddad
      aibridge sessions show "$session" -u alice-haddad -f json
    """
    from aibridge_cli.db import query
    from aibridge_cli.data import session_tree
    from aibridge_cli.data.sessions import filter_params

    with read_db(ctx) as conn:
        who = resolve_user(conn, initiator) if initiator else None
        owners = query.many(conn, "ListAIBridgeSessionInitiators", **filter_params(), key_session_id=session_id)
        owner = _pick_owner(owners, session_id, who, initiator)
        key = {"session_id": session_id, "initiator_id": owner["initiator_id"]}
        tree = session_tree.build(
            session_id, owner,
            interceptions=query.many(conn, "ListAIBridgeSessionInterceptions", **key),
            tool_usages=query.many(conn, "ListAIBridgeSessionToolUsages", **key),
            prompts=query.many(conn, "ListAIBridgeSessionPrompts", **key),
            thoughts=query.many(conn, "ListAIBridgeSessionThoughts", **key),
        )
    if fmt == "table":
        from aibridge_cli.views.formats import console

        console().print(session_tree.renderable(scrub(ctx, tree, keep_keys=True)))
    elif fmt in ("json", "jsonl"):
        from aibridge_cli.views.formats import dumps, to_json_value

        tree = scrub(ctx, tree)
        if fmt == "jsonl":
            sys.stdout.write(dumps(tree) + "\n")
        else:
            import json

            sys.stdout.write(json.dumps(to_json_value(tree), ensure_ascii=False, indent=2) + "\n")
    else:
        # Flat formats get one row per interception, in tree order, with its depth.
        emit(ctx, session_tree.flat_rows(tree), fmt, columns=list(session_tree.FLAT_COLUMNS))


# Table columns, most wanted first: a narrow terminal drops them from the end of this list.
TABLE_PRIORITY = ("session_id", "started_at", "user", "last_prompt", "input", "output", "threads", "models", "client")
TABLE_ORDER = ("started_at", "user", "client", "models", "threads", "input", "output", "session_id", "last_prompt")
NUMERIC = ("threads", "input", "output")
PROMPT_MIN = 16


def _print_table(rows: list[dict]) -> None:
    """What fits a terminal (every column is in the machine formats): the id whole, so that it
    can be pasted into `sessions show`, and the last prompt taking what room is left."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from aibridge_cli.views.formats import console, short_text

    cells = {
        "started_at": [short_text(r["started_at"]) for r in rows],
        "user": [r["user_username"] for r in rows],
        "client": [r["client"] or "" for r in rows],
        "models": [", ".join(r["models"]) for r in rows],
        "threads": [f"{r['threads']:,}" for r in rows],
        "input": [f"{r['input_tokens']:,}" for r in rows],
        "output": [f"{r['output_tokens']:,}" for r in rows],
        "session_id": [r["session_id"] for r in rows],
        "last_prompt": [short_text(r["last_prompt"], 200) for r in rows],
    }

    def width(name: str) -> int:
        if name == "last_prompt":
            return PROMPT_MIN
        return max(len(name), *(len(v) for v in cells[name]))

    con = console()
    keep = list(TABLE_PRIORITY)
    gap = 3  # SIMPLE_HEAD: a space of padding either side of a one-space column separator
    while len(keep) > 2 and sum(width(c) for c in keep) + gap * (len(keep) - 1) > con.width:
        keep.pop()
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
    shown = [c for c in TABLE_ORDER if c in keep]
    # A fixed width for the prompt: with a ratio column Rich squeezes the others instead.
    rest = con.width - sum(width(c) for c in shown if c != "last_prompt") - gap * (len(shown) - 1)
    for name in shown:
        if name == "last_prompt":
            table.add_column(name, no_wrap=True, overflow="ellipsis", width=max(PROMPT_MIN, rest))
        else:
            table.add_column(name, justify="right" if name in NUMERIC else "left", no_wrap=True)
    for i in range(len(rows)):
        table.add_row(*(Text(cells[name][i]) for name in shown))  # Text: no markup in data
    con.print(table)


def _pick_owner(owners: list[dict], session_id: str, who, initiator: Optional[str]) -> dict:
    if not owners:
        raise NotFound(f"no session with id {session_id!r}",
                       hint="list sessions with 'aibridge sessions list' (in-flight interceptions are not part of a session)")
    if who is not None:
        for o in owners:
            if o["initiator_id"] == who:
                return o
        raise NotFound(f"--initiator {initiator}: that user has no session with id {session_id!r}",
                       hint="sessions with this id belong to " + _names(owners))
    if len(owners) > 1:
        raise BadInput(f"{len(owners)} users have a session with id {session_id!r}: {_names(owners)}",
                       hint=f"choose one with --initiator, e.g. aibridge sessions show {shlex.quote(session_id)} "
                            f"--initiator {owners[0]['user_username'] or owners[0]['initiator_id']}")
    return owners[0]


def _names(owners: list[dict]) -> str:
    return ", ".join(f"{o['user_username']} ({o['initiator_id']})" if o["user_username"]
                     else f"{o['initiator_id']} (no users row)" for o in owners)
