"""`aibridge sessions`: list, count and show sessions (a user's interceptions sharing a key)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from aibridge_cli.data import session_tree, sessions
from aibridge_cli.data.layout import detect, newer_filters
from aibridge_cli.errors import BadInput
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
    read_db,
    resolve_user,
    scrub,
)
from aibridge_cli.views import sessions as views
from aibridge_cli.views.formats import console, document, dumps

app = typer.Typer(help="List, count and show sessions: a user's ended interceptions that share a session key.",
                  no_args_is_help=True)

DEFAULT_LIMIT = 100
LIST_COLUMNS = ("session_id", "user_id", "user_username", "user_name", "user_avatar_url", "providers", "models",
                "client", "metadata", "started_at", "ended_at", "threads", "input_tokens", "output_tokens",
                "last_prompt")

SessionIdOpt = typer.Option(None, "--session-id", help="Only interceptions with this session id.")


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _filters(conn, times, initiator, provider, model, client, session_id, provider_name=None,
             failed=False) -> dict:
    return {**sessions.filter_params(started_after=times[0], started_before=times[1],
                                     initiator_id=resolve_user(conn, initiator), provider=(provider or "").strip(),
                                     model=(model or "").strip(), client=(client or "").strip(),
                                     session_id=session_id or ""),
            **newer_filters(detect(conn), provider_name, failed)}  # the 2026-08 filters (refused on the seed's)


def _next_page_hint(filters: dict, raw: dict, limit: int, cursor) -> str:
    return next_page_hint("sessions list", filters["started_after"], filters["started_before"], [
        *((opt, raw.get(key)) for opt, key in (("--initiator", "initiator"), ("--provider", "provider"),
                                               ("--model", "model"), ("--client", "client"),
                                               ("--session-id", "session_id"), ("--provider-name", "provider_name"))),
        ("--failed", bool(raw.get("failed"))),
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
    provider_name: Optional[str] = ProviderNameOpt,
    failed: bool = FailedOpt,
    limit: int = LimitOpt,
    offset: int = OffsetOpt,
    after: Optional[str] = typer.Option(
        None, "--after", help="Start after this cursor (printed on stderr when another page follows)."),
    after_session_id: Optional[str] = typer.Option(
        None, "--after-session-id",
        help="Start after the session with this id (the reference's cursor; an error if several users have it)."),
    sort: str = typer.Option(
        "started", "--sort", help="started (newest start first, the default) or last-active (the deployment's "
                                  "order since 2026-08: latest prompt, else start; adds cache and firewall columns)."),
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
    times = parse_time_range(started_after, started_before)
    if sort not in ("started", "last-active"):
        raise BadInput(f"--sort: expected started or last-active, got {sort!r}")
    if sort == "last-active":
        if after or after_session_id:
            raise BadInput("--sort last-active pages with --offset", hint="leave out --after/--after-session-id")
        return _list_last_active(ctx, times, initiator, provider, model, client, session_id, provider_name, failed,
                                 limit or DEFAULT_LIMIT, offset, fmt)
    if after and after_session_id:
        raise BadInput("--after and --after-session-id both give where to start", hint="use one of them")
    cursor = sessions.Cursor.decode(after) if after else None
    limit = limit or DEFAULT_LIMIT
    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, session_id, provider_name, failed)
        if after_session_id:
            cursor = sessions.cursor_for_session_id(conn, filters, after_session_id)
        rows, following = sessions.fetch_page(conn, filters, limit=limit, offset=offset, after=cursor)
    if fmt == "table":
        if rows:
            console().print(views.list_table(scrub(ctx, rows, keep_keys=True)))
        else:
            note("no sessions match" + (" after the cursor" if cursor else ""))
    else:
        emit(ctx, rows, fmt, columns=list(LIST_COLUMNS))
    if following is not None:
        raw = {"initiator": initiator, "provider": provider, "model": model, "client": client,
               "session_id": session_id, "fmt": fmt, "provider_name": provider_name, "failed": failed}
        note(_next_page_hint(filters, raw, limit, following))


def _list_last_active(ctx, times, initiator, provider, model, client, session_id, provider_name, failed,
                      limit, offset, fmt) -> None:
    from aibridge_cli.data.sessions_deployment import NETWORK_KEYS, list_by_last_active

    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, session_id, provider_name, failed)
        rows = list_by_last_active(conn, detect(conn), filters, limit=limit + 1, offset=offset)
    more, rows = len(rows) > limit, rows[:limit]
    columns = list(LIST_COLUMNS) + ["cache_read_tokens", "cache_write_tokens", "last_active_at"]
    if rows and NETWORK_KEYS[0] in rows[0]:
        columns += list(NETWORK_KEYS)
    if fmt == "table":
        if rows:
            console().print(views.list_table(scrub(ctx, rows, keep_keys=True)))
        else:
            note("no sessions match")
    else:
        emit(ctx, rows, fmt, columns=columns)
    if more:
        note(f"showing {limit}; next page: --offset {offset + limit}")


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
    provider_name: Optional[str] = ProviderNameOpt,
    failed: bool = FailedOpt,
    fmt: str = FormatOpt,
):
    """How many sessions `sessions list` would page through with the same filters.

    Examples:

    \b
      aibridge sessions count --since 7d
      aibridge sessions count --client "Claude Code" -f json
    """
    times = parse_time_range(started_after, started_before)
    with read_db(ctx) as conn:
        filters = _filters(conn, times, initiator, provider, model, client, session_id, provider_name, failed)
        n = sessions.count(conn, filters)
    emit_count(ctx, n, fmt)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    session_id: str = typer.Argument(..., help="The session's id (session_id in `sessions list`)."),
    initiator: Optional[str] = typer.Option(
        None, "--initiator", "-u", help="The session's user (username or UUID), when several users share the id."),
    limit: int = typer.Option(0, "--limit", min=0, help="Page the threads: this many, oldest first (0: all)."),
    after_thread: Optional[str] = typer.Option(None, "--after-thread", help="Threads after this thread's id."),
    before_thread: Optional[str] = typer.Option(None, "--before-thread", help="Threads before this thread's id."),
    network: bool = typer.Option(False, "--network",
                                 help="Also the agent firewall's network calls and top hosts (needs boundary_logs)."),
    fmt: str = FormatOpt,
):
    """One session as a tree: threads, the interceptions of each agentic loop, their tool calls,
    prompts and thoughts, with tokens (input, output, cache read and write) and durations at every level.

    Examples:

    \b
      aibridge sessions show "$session" -u alice-haddad
      aibridge sessions show "$session" -u alice-haddad -f json
    """
    with read_db(ctx) as conn:
        tree = sessions.load_tree(conn, session_id, resolve_user(conn, initiator) if initiator else None, initiator)
        tree, following = _deployment_parts(conn, tree, limit, after_thread, before_thread, network)
    if following is not None:
        note(f"next threads: --after-thread {following}")
    if fmt == "table":
        console().print(views.tree(scrub(ctx, tree, keep_keys=True)))
        if "network_calls" in tree:
            console().print(views.network_table(scrub(ctx, tree, keep_keys=True)))
    elif fmt in ("json", "jsonl"):
        tree = scrub(ctx, tree)
        sys.stdout.write(dumps(tree) + "\n" if fmt == "jsonl" else document(tree))
    else:
        # Flat formats get one row per interception, in tree order, with its depth.
        emit(ctx, session_tree.flat_rows(tree), fmt, columns=list(session_tree.FLAT_COLUMNS))


def _deployment_parts(conn, tree, limit, after_thread, before_thread, network):
    """Thread paging and the firewall's calls (the deployment's ListAIBridgeSessionThreads,
    ListAIBridgeSessionNetworkCalls and GetAIBridgeSessionTopDomains)."""
    from aibridge_cli.data import sessions_deployment
    from aibridge_cli.options import parse_uuid

    key = {"session_id": tree["session_id"], "initiator_id": tree["user_id"]}
    following = None
    after, before = parse_uuid(after_thread, "--after-thread"), parse_uuid(before_thread, "--before-thread")
    if limit or after or before:
        tree, following = sessions_deployment.page_threads(conn, tree, key, limit=limit, after=after, before=before)
    if network:
        layout = detect(conn)
        if not (layout.boundary_logs and layout.interception_columns):
            raise BadInput("--network: this database has no boundary_logs (the agent firewall's calls)",
                           hint="the firewall's calls are kept by deployments at 2026-08 (docs/deployment.md)")
        tree = {**tree, **sessions_deployment.network(conn, key)}
    return tree, following
