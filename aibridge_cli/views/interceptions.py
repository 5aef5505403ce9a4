"""Terminal layouts for `aibridge interceptions`: the list table and the `show` page.

Only for the table format: long text is shortened here and nowhere else. Data comes in
as plain records (dicts); nothing here reads the database or prints: the command prints
the renderables returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, Sequence

from aibridge_cli.views.table import Column, FitTable
from aibridge_cli.views.text import cell, clip, fold, number, one_line, span, when

# A prompt or thought longer than this is cut on the `show` page (--format json has it all).
SHOW_TEXT_LIMIT = 2000
# The prompt claims at most this much before the table decides which columns to drop, and
# keeps at least PROMPT_MIN however narrow the terminal.
PROMPT_FIT = 20
PROMPT_MIN = 10


def client_name(record: dict) -> str:
    # NULL reads as 'Unknown', as the --client filter matches it.
    return record.get("client") or "Unknown"


def _tool_names(tools: Sequence[dict]) -> str:
    counts: dict[str, int] = {}
    for t in tools:
        counts[t["tool"]] = counts.get(t["tool"], 0) + 1
    return ", ".join(name if n == 1 else f"{name}×{n}" for name, n in counts.items())


def _provider(r: dict) -> str:
    """The provider, with the instance's name where it differs (2026-08) and ✗ for a failed request."""
    text = r.get("provider") or ""
    if r.get("provider_name") and r["provider_name"] != text:
        text += f" ({r['provider_name']})"
    return text + (" ✗" if r.get("error_type") else "")


def _newer_fields(r: dict) -> list[tuple[str, str]]:
    """The 2026-08 layout's fields of an interception, where its row has them."""
    out = []
    if r.get("provider_name") and r["provider_name"] != r.get("provider"):
        out.append(("provider name", r["provider_name"]))
    if "credential_kind" in r:
        out.append(("credential", f"{r['credential_kind']} {r.get('credential_hint') or ''}".rstrip()))
    if r.get("agent_firewall_session_id"):
        seq = r.get("agent_firewall_sequence_number")
        out.append(("agent firewall", f"{r['agent_firewall_session_id']}" + (f" #{seq}" if seq is not None else "")))
    if r.get("error_type"):
        out.append(("error", f"{r['error_type']}" + (f": {r['error_message']}" if r.get("error_message") else "")))
    return out


def list_table(rows: Sequence[dict], *, with_details: bool = False) -> FitTable:
    """The id is kept whole (`show` and --after-id take it); then, most telling first: when,
    who, the model, the tokens (with details), the client, the prompt (which shrinks before
    anything is dropped), the duration, the tools, the provider."""
    columns = [
        Column("started_at", [cell(r.get("started_at")) for r in rows], drop=10),
        Column("id", [str(r["id"]) for r in rows], keep=True),
        Column("initiator", [r.get("initiator_username") or str(r["initiator_id"]) for r in rows], drop=9),
        Column("provider", [_provider(r) for r in rows], drop=1),
        Column("model", [r.get("model") or "" for r in rows], drop=8),
        Column("client", [client_name(r) for r in rows], drop=5),
        Column("duration", [span(r.get("started_at"), r.get("ended_at")) for r in rows], numeric=True, drop=3),
    ]
    if with_details:
        tokens = [r.get("token_usages") or [] for r in rows]
        prompts = [r.get("user_prompts") or [] for r in rows]
        columns += [
            Column("in", [number(sum(t["input_tokens"] for t in ts)) for ts in tokens], numeric=True, drop=7),
            Column("out", [number(sum(t["output_tokens"] for t in ts)) for ts in tokens], numeric=True, drop=6),
            Column("tools", [one_line(_tool_names(r.get("tool_usages") or []), 40) for r in rows], fit=20,
                   min_width=PROMPT_MIN, drop=2),
            Column("prompt", [fold(ps[-1]["prompt"]) if ps else "" for ps in prompts], flex=PROMPT_FIT,
                   min_width=PROMPT_MIN, drop=4),
        ]
    return FitTable(columns, dense=True)  # two cells between columns: room for the tokens


def _when(value: Any) -> str:
    return when(value) + " UTC" if isinstance(value, datetime) else ""


def _one_line(record: dict | None) -> str:
    if record is None:
        return ""
    return f"{record['id']}  {record.get('model', '')}  {_when(record.get('started_at'))}"


def _fields(pairs: Sequence[tuple[str, Any]]):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for k, v in pairs:
        grid.add_row(Text(k), Text(v if isinstance(v, str) else cell(v, 10_000)))
    return grid


def _table(cols: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], drop: Optional[dict] = None) -> FitTable:
    """A child-row table; `drop` ranks the columns that leave a narrow terminal first (1 first)."""
    drop = drop or {}
    return FitTable([Column(name, [r[i] for r in rows], numeric=numeric, drop=drop.get(name))
                     for i, (name, numeric) in enumerate(cols)])


def record_page(record: dict):
    """The `show` page: fields, thread, then each kind of child row."""
    # Rich loads only for the table format: machine formats start faster without it.
    from rich.console import Group
    from rich.text import Text

    parts: list = []

    def heading(text: str) -> None:
        parts.extend([Text(""), Text(text, style="bold")])

    r = record
    parts.append(Text(f"Interception {r['id']}", style="bold"))
    who = r.get("initiator_username")
    initiator = f"{who} ({r.get('initiator_name') or who})  {r['initiator_id']}" if who else \
        f"{r['initiator_id']} (no users row)"
    ended = r.get("ended_at")
    parts.append(_fields([
        ("initiator", initiator),
        ("provider", r.get("provider") or ""),
        ("model", r.get("model") or ""),
        ("client", client_name(r)),
        ("started", _when(r.get("started_at"))),
        ("ended", f"{_when(ended)}  ({span(r.get('started_at'), ended)})" if ended else "in flight"),
        ("session", r.get("session_id") or ""),
    ] + [(label, r[key]) for label, key in (("client session", "client_session_id"), ("api key", "api_key_id"))
         if r.get(key)] + _newer_fields(r) + [("metadata", r.get("metadata"))]))

    heading("Thread")
    children = r.get("thread_children") or []
    total = r.get("thread_children_count", len(children))
    pairs = [("parent", _one_line(r.get("thread_parent")) or (str(r["thread_parent_id"]) + " (not found)"
                                                            if r.get("thread_parent_id") else "none")),
             ("root", _one_line(r.get("thread_root")) or (str(r["thread_root_id"]) + " (not found)"
                                                        if r.get("thread_root_id") else "none (this is a root)")),
             ("children", str(total) if total else "none")]
    pairs += [("", _one_line(c)) for c in children]
    if total > len(children):
        pairs.append(("", f"… and {total - len(children):,} more"))
    parts.append(_fields(pairs))

    tokens = r.get("token_usages") or []
    heading(f"Token usages ({len(tokens)})  input {sum(t['input_tokens'] for t in tokens):,} · "
            f"output {sum(t['output_tokens'] for t in tokens):,} · "
            f"cache read {sum(t.get('cache_read_tokens') or 0 for t in tokens):,} · "
            f"cache write {sum(t.get('cache_write_tokens') or 0 for t in tokens):,}")
    if tokens:
        parts.append(_table(
            [("created", False), ("provider response", False), ("input", True), ("output", True),
             ("cache read", True), ("cache write", True), ("metadata", False)],
            [[cell(t["created_at"]), t["provider_response_id"], cell(t["input_tokens"]), cell(t["output_tokens"]),
              cell(t.get("cache_read_tokens") or 0), cell(t.get("cache_write_tokens") or 0),
              cell(t.get("metadata"), 200)] for t in tokens],
            # the counts are what the section is for; the long response id leaves before them
            drop={"metadata": 1, "provider response": 2, "cache write": 3, "cache read": 4, "created": 5}))

    prompts = r.get("user_prompts") or []
    heading(f"Prompts ({len(prompts)})")
    for p in prompts:
        parts.extend([Text(_when(p["created_at"]), style="dim"), Text(clip(p["prompt"], SHOW_TEXT_LIMIT))])

    tools = r.get("tool_usages") or []
    heading(f"Tool usages ({len(tools)})")
    if tools:
        items = any(t.get("provider_item_id") for t in tools)  # OpenAI Responses' output item (2026-08)
        parts.append(_table(
            [("created", False), ("tool", False), ("injected", False), ("server", False), ("error", False)]
            + ([("item", False)] if items else []) + [("input", False)],
            [[cell(t["created_at"]), t["tool"], cell(t["injected"]), t.get("server_url") or "",
              cell(t.get("invocation_error"), 120)] + ([t.get("provider_item_id") or ""] if items else [])
             + [cell(t["input"], 200)] for t in tools]))

    thoughts = r.get("model_thoughts") or []
    heading(f"Thoughts ({len(thoughts)})")
    for th in thoughts:
        source = (th.get("metadata") or {}).get("source") if isinstance(th.get("metadata"), dict) else None
        parts.extend([Text(_when(th["created_at"]) + (f"  {source}" if source else ""), style="dim"),
                      Text(clip(th["content"], SHOW_TEXT_LIMIT))])
    return Group(*parts)
