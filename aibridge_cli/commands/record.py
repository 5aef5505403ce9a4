"""`aibridge record ...`: write AI Bridge records one at a time, or import them in bulk."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from aibridge_cli.errors import BadInput
from aibridge_cli.options import FORMAT_HELP, StrictInt, optional_format

app = typer.Typer(help="Write AI Bridge records: one at a time, or in bulk from NDJSON.", no_args_is_help=True)


FmtOpt = typer.Option(None, "--format", "-f", callback=optional_format,
                      help=FORMAT_HELP + " Without it, prints the new record's id.")
IdOpt = typer.Option(None, "--id", help="The record's UUID (default: a new random one).")
InterceptionArg = typer.Argument(..., metavar="INTERCEPTION_ID", help="The interception this record belongs to.")
MetadataOpt = typer.Option(None, "--metadata", help="A JSON object stored with the record.")
CreatedAtOpt = typer.Option(None, "--created-at", help="When it happened (default: now).")
ResponseIdOpt = typer.Option("", "--provider-response-id", help="The upstream provider's response id.")

# The option each record field is read from, for error messages.
_OPTIONS = {"interception_id": "INTERCEPTION_ID", "initiator_id": "--initiator", "content": "--content",
            "prompt": "--text", "input": "--input", "agent_firewall_session_id": "--firewall-session-id",
            "agent_firewall_sequence_number": "--firewall-sequence", "cache_read_input_tokens": "--cache-read-tokens",
            "cache_write_input_tokens": "--cache-write-tokens"}


def _check(checker, obj: dict, **kw) -> dict:
    from aibridge_cli.ingest import fields
    from aibridge_cli.timeparse import utcnow

    try:
        return checker(obj, utcnow(), **kw)
    except fields.FieldError as e:
        opt = _OPTIONS.get(e.field, "--" + e.field.replace("_", "-"))
        msg = e.message
        if msg.startswith(e.field + ": "):
            msg = msg[len(e.field) + 2:]
        raise BadInput(f"{opt}: {msg}") from None


def _gather(**values) -> dict:
    """Options as a record dict; options the user left out are absent, as in an NDJSON line."""
    return {k: v for k, v in values.items() if v is not None}


def _times(**values):
    from aibridge_cli.options import parse_time

    return {k: parse_time(v, "--" + k.replace("_", "-")) for k, v in values.items()}


def _meta(value: Optional[str], option: str = "--metadata"):
    from aibridge_cli.options import parse_json

    meta = parse_json(value, option)
    if meta is not None and not isinstance(meta, dict):
        raise BadInput(f"{option}: expected a JSON object", hint='e.g. --metadata \'{"key": "value"}\'')
    return meta


def _uuid(value: Optional[str], option: str) -> Optional[str]:
    from aibridge_cli.options import parse_uuid

    u = parse_uuid(value, option)
    return None if u is None else str(u)


def _stdin_text(option: str) -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise BadInput(f"give {option} or pipe the text on stdin", hint="e.g. echo 'text' | aibridge record ... ")
    text = sys.stdin.read()
    if not text:
        raise BadInput(f"no text on stdin (give {option}, or pipe the text)")
    if "\x00" in text:
        raise BadInput("the text on stdin contains a NUL character, which PostgreSQL text cannot hold")
    return text


def _print(row: dict, fmt: Optional[str], key: str = "id") -> None:
    from aibridge_cli.options import emit_with

    if fmt is None:
        sys.stdout.write(f"{row[key]}\n")
    else:
        emit_with(None, [row], fmt)  # what was just written: ids and counts, no content to redact


@app.command("interception")
def interception(
    ctx: typer.Context,
    initiator: str = typer.Option(..., "--initiator", "-u", help="The user who made the request (username or UUID)."),
    provider: str = typer.Option(..., "--provider", help="anthropic, openai, ..."),
    model: str = typer.Option(..., "--model", help="The model requested."),
    id: Optional[str] = IdOpt,
    api_key_id: Optional[str] = typer.Option(None, "--api-key-id", help="The API key the request used."),
    client: Optional[str] = typer.Option(None, "--client", help="Claude Code, Codex, Cursor, ... (default: Unknown)."),
    client_session_id: Optional[str] = typer.Option(None, "--client-session-id", help="The session key the client sent."),
    started_at: Optional[str] = typer.Option(None, "--started-at", help="When the request started (default: now)."),
    metadata: Optional[str] = MetadataOpt,
    tool_call_id: Optional[str] = typer.Option(
        None, "--tool-call-id", help="The tool call this request answers: links it to its thread, as the bridge does."),
    thread_parent_id: Optional[str] = typer.Option(None, "--thread-parent-id",
                                                   help="Set the parent interception directly instead."),
    thread_root_id: Optional[str] = typer.Option(None, "--thread-root-id",
                                                 help="With --thread-parent-id: the thread's root (default: the parent's)."),
    provider_name: Optional[str] = typer.Option(
        None, "--provider-name", help="The provider instance's name (default: the provider). 2026-08 layout."),
    credential_kind: Optional[str] = typer.Option(
        None, "--credential-kind", help="centralized (default) or byok: how the request was authenticated."),
    credential_hint: Optional[str] = typer.Option(
        None, "--credential-hint", help="The masked credential, up to 15 characters (e.g. sk-a***efgh)."),
    firewall_session_id: Optional[str] = typer.Option(
        None, "--firewall-session-id", help="The agent firewall (Boundary) session the request went through."),
    firewall_sequence: Optional[int] = typer.Option(
        None, "--firewall-sequence", help="With --firewall-session-id: the request's sequence number in it."),
    fmt: Optional[str] = FmtOpt,
):
    """Record an interception (one LLM request); prints its id.

    Examples:

    \b
      aibridge record interception -u alice-haddad --provider anthropic --model claude-sonnet-4-5-20250929 --client "Claude Code"
      id=$(aibridge record interception -u alice-haddad --provider openai --model gpt-5 --client Codex)
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import note, resolve_user, write_db

    obj = _gather(id=_uuid(id, "--id"), initiator=initiator, provider=provider, model=model, api_key_id=api_key_id,
                  client=client, client_session_id=client_session_id, metadata=_meta(metadata),
                  tool_call_id=tool_call_id, thread_parent_id=_uuid(thread_parent_id, "--thread-parent-id"),
                  thread_root_id=_uuid(thread_root_id, "--thread-root-id"), provider_name=provider_name,
                  credential_kind=credential_kind, credential_hint=credential_hint,
                  agent_firewall_session_id=_uuid(firewall_session_id, "--firewall-session-id"),
                  agent_firewall_sequence_number=firewall_sequence, **_times(started_at=started_at))
    rec = _check(fields.interception, obj, id_required=False)
    with write_db(ctx) as conn:
        written = record.interception(conn, rec, resolve_user(conn, initiator, "--initiator"))
    if written.unknown_tool_call is not None:
        note(f"note: no recorded tool call {written.unknown_tool_call!r}; this interception starts its own thread")
    _print(written.row, fmt)


@app.command("end")
def end(
    ctx: typer.Context,
    interception_id: str = typer.Argument(..., metavar="ID", help="The interception that finished."),
    ended_at: Optional[str] = typer.Option(None, "--ended-at", help="When it finished (default: now)."),
    error_type: Optional[str] = typer.Option(
        None, "--error-type", help="It failed: bad_request, unauthorized, rate_limited, overloaded, server_error, "
                                   "timeout or unknown. 2026-08 layout."),
    error_message: Optional[str] = typer.Option(None, "--error-message",
                                                help="With --error-type: the upstream error, up to 1024 characters."),
    credential_hint: Optional[str] = typer.Option(
        None, "--credential-hint", help="A centralized credential's masked hint, known only at the end."),
    fmt: Optional[str] = FmtOpt,
):
    """Mark an in-flight interception as ended; prints its id.

    Examples:

    \b
      aibridge record end "$id"
      aibridge record end "$id" --ended-at 2030-01-01T00:00:00Z   # exit 1: it has ended
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import parse_time, write_db
    from aibridge_cli.timeparse import utcnow

    iid = _uuid(interception_id, "ID")
    when = parse_time(ended_at, "--ended-at") or utcnow()
    err = _check(lambda obj, _now: fields.newer_interception_fields(obj), _gather(
        error_type=error_type, error_message=error_message, credential_hint=credential_hint))
    with write_db(ctx) as conn:
        row = record.end(conn, iid, when, err)
    _print(row, fmt)


@app.command("token-usage")
def token_usage(
    ctx: typer.Context,
    interception_id: str = InterceptionArg,
    input_tokens: int = typer.Option(0, "--input-tokens", parser=StrictInt(0), help="Input (prompt) tokens."),
    output_tokens: int = typer.Option(0, "--output-tokens", parser=StrictInt(0), help="Output (completion) tokens."),
    provider_response_id: str = ResponseIdOpt,
    metadata: Optional[str] = typer.Option(
        None, "--metadata", help="A JSON object: cache and other token kinds, e.g. '{\"cache_read_input\": 1200}'."),
    cache_read: Optional[int] = typer.Option(
        None, "--cache-read-tokens", min=0,
        help="Cache read tokens (default: from the metadata's cache keys). Written where the columns exist."),
    cache_write: Optional[int] = typer.Option(
        None, "--cache-write-tokens", min=0, help="Cache write tokens (default: the metadata's cache_creation_input)."),
    created_at: Optional[str] = CreatedAtOpt,
    id: Optional[str] = IdOpt,
    fmt: Optional[str] = FmtOpt,
):
    """Record the tokens of one upstream response; prints the new id.

    Examples:

    \b
      aibridge record token-usage "$id" --input-tokens 5120 --output-tokens 210
      aibridge record token-usage "$id" --input-tokens 800 --output-tokens 90 --metadata '{"cache_read_input": 4096}'
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import write_db

    rec = _check(fields.token_usage, _gather(
        id=_uuid(id, "--id"), interception_id=_uuid(interception_id, "INTERCEPTION_ID"),
        provider_response_id=provider_response_id, input_tokens=input_tokens, output_tokens=output_tokens,
        metadata=_meta(metadata), cache_read_input_tokens=cache_read, cache_write_input_tokens=cache_write,
        **_times(created_at=created_at)), id_required=False)
    with write_db(ctx) as conn:
        row = record.token_usage(conn, rec)
    _print(row, fmt)


@app.command("prompt")
def prompt(
    ctx: typer.Context,
    interception_id: str = InterceptionArg,
    text: Optional[str] = typer.Option(None, "--text", help="The prompt (default: read from stdin)."),
    provider_response_id: str = ResponseIdOpt,
    metadata: Optional[str] = MetadataOpt,
    created_at: Optional[str] = CreatedAtOpt,
    id: Optional[str] = IdOpt,
    fmt: Optional[str] = FmtOpt,
):
    """Record a user prompt (from --text, or stdin); prints the new id.

    Examples:

    \b
      aibridge record prompt "$id" --text "Why does the login test fail on CI?"
      echo "yes, go ahead" | aibridge record prompt "$id"
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import write_db

    body = text if text is not None else _stdin_text("--text")
    rec = _check(fields.user_prompt, _gather(
        id=_uuid(id, "--id"), interception_id=_uuid(interception_id, "INTERCEPTION_ID"),
        provider_response_id=provider_response_id, prompt=body, metadata=_meta(metadata),
        **_times(created_at=created_at)), id_required=False)
    with write_db(ctx) as conn:
        row = record.user_prompt(conn, rec)
    _print(row, fmt)


@app.command("tool-usage")
def tool_usage(
    ctx: typer.Context,
    interception_id: str = InterceptionArg,
    tool: str = typer.Option(..., "--tool", help="The tool's name."),
    input: str = typer.Option("{}", "--input", help="The tool's arguments, as JSON."),
    tool_call_id: Optional[str] = typer.Option(
        None, "--tool-call-id", help="The provider's id for this call (a later interception answering it names it)."),
    server_url: Optional[str] = typer.Option(None, "--server-url", help="MCP server of an injected tool."),
    injected: bool = typer.Option(False, "--injected", help="The bridge injected the tool (from an MCP server)."),
    invocation_error: Optional[str] = typer.Option(None, "--invocation-error",
                                                   help="The error the bridge got invoking an injected tool."),
    provider_item_id: Optional[str] = typer.Option(
        None, "--provider-item-id", help="OpenAI Responses: the output item that carried the call. 2026-08 layout."),
    provider_response_id: str = ResponseIdOpt,
    metadata: Optional[str] = MetadataOpt,
    created_at: Optional[str] = CreatedAtOpt,
    id: Optional[str] = IdOpt,
    fmt: Optional[str] = FmtOpt,
):
    """Record a tool call the model made; prints the new id.

    Examples:

    \b
      aibridge record tool-usage "$id" --tool Bash --input '{"command": "go test ./..."}' --tool-call-id toolu_01
      aibridge record tool-usage "$id" --tool github_search_issues --injected --server-url https://api.githubcopilot.com/mcp/ --invocation-error "502 Bad Gateway"
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import parse_json, write_db

    parse_json(input, "--input")  # stored as given, but it must be JSON
    rec = _check(fields.tool_usage, _gather(
        id=_uuid(id, "--id"), interception_id=_uuid(interception_id, "INTERCEPTION_ID"),
        provider_response_id=provider_response_id, tool=tool, input=input, tool_call_id=tool_call_id,
        server_url=server_url, injected=injected, invocation_error=invocation_error, metadata=_meta(metadata),
        provider_item_id=provider_item_id, **_times(created_at=created_at)), id_required=False)
    with write_db(ctx) as conn:
        row = record.tool_usage(conn, rec)
    _print(row, fmt)


@app.command("thought")
def thought(
    ctx: typer.Context,
    interception_id: str = InterceptionArg,
    content: Optional[str] = typer.Option(None, "--content", help="The thought's text (default: read from stdin)."),
    source: Optional[str] = typer.Option(None, "--source",
                                         help="thinking, reasoning_summary or commentary (stored in metadata)."),
    metadata: Optional[str] = MetadataOpt,
    created_at: Optional[str] = CreatedAtOpt,
    fmt: Optional[str] = typer.Option(None, "--format", "-f", callback=optional_format,
                                      help=FORMAT_HELP + " Without it, prints nothing (thoughts have no id)."),
):
    """Record a model thought (from --content, or stdin).

    Examples:

    \b
      aibridge record thought "$id" --content "Run the test first." --source thinking
      echo "Check the lint step too." | aibridge record thought "$id"
    """
    from aibridge_cli.data import record
    from aibridge_cli.ingest import fields
    from aibridge_cli.options import emit, write_db

    body = content if content is not None else _stdin_text("--content")
    rec = _check(fields.model_thought, _gather(
        interception_id=_uuid(interception_id, "INTERCEPTION_ID"), content=body, source=source,
        metadata=_meta(metadata), **_times(created_at=created_at)), created_required=False)
    with write_db(ctx) as conn:
        row = record.model_thought(conn, rec)
    if fmt is not None:
        emit(ctx, [row], fmt)


def register(root, name) -> None:
    from aibridge_cli.commands import record_import

    app.command("import")(record_import.import_)
    root.add_typer(app, name=name)
