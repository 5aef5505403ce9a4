"""Terminal layouts for `aibridge sessions`: the list table and the tree of `show`.

Rows and trees come in as plain dicts (data/sessions.py, data/session_tree.py); Rich
renderables go out; the command prints them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from aibridge_cli.views.table import Column, FitTable
from aibridge_cli.views.text import cell, clock, duration, number, one_line, plural, when

# The prompt shows at least this much of itself before columns are dropped to make room.
PROMPT_MIN = 16


def models_cell(models: Sequence[str]) -> str:
    """The first model whole, and how many more: a model name is never cut."""
    if not models:
        return ""
    return models[0] + (f" +{len(models) - 1}" if len(models) > 1 else "")


def list_table(rows: Sequence[dict]) -> FitTable:
    """What fits a terminal (every column is in the machine formats). The id is kept whole, so
    that it can be pasted into `sessions show`; then, most telling first: when, who, with what
    client and model, the tokens, the last prompt (which shrinks before anything is dropped),
    the thread count. A missing client reads `Unknown`, as in telemetry and --client."""
    return FitTable([
        Column("started_at", [when(r["started_at"]) for r in rows], drop=9),
        Column("user", [r["user_username"] or str(r.get("user_id") or "") for r in rows], drop=8),
        Column("client", [r["client"] or "Unknown" for r in rows], drop=6),
        Column("model", [models_cell(r["models"]) for r in rows], drop=7),
        Column("threads", [number(r["threads"]) for r in rows], numeric=True, drop=1),
        Column("input", [number(r["input_tokens"]) for r in rows], numeric=True, drop=4),
        Column("output", [number(r["output_tokens"]) for r in rows], numeric=True, drop=3),
        Column("session_id", [r["session_id"] for r in rows], keep=True),
        Column("last_prompt", [cell(r["last_prompt"], 200) for r in rows], drop=5, flex=PROMPT_MIN),
    ], dense=True)  # two cells between columns, not three: room for the model and client at 120


def _tokens(d: dict) -> str:
    text = f"in {d['input_tokens']:,} · out {d['output_tokens']:,}"
    if d["cache_read_tokens"] or d["cache_write_tokens"]:
        text += f" · cache read {d['cache_read_tokens']:,} / write {d['cache_write_tokens']:,}"
    return text


def tree(session: dict):
    """The session as a Rich tree (threads → interceptions → prompts, thoughts, tool calls),
    then a one-line summary."""
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    user = session["user_username"] or f"{session['user_id']} (no users row)"
    head = Text()
    head.append("session ", style="bold")
    head.append(session["session_id"], style="bold cyan")
    head.append(f"  {user}", style="bold")
    head.append(f"  {clock(session['started_at'])} UTC · {duration(session['duration_seconds'], '?')}", style="dim")
    root = Tree(head)
    for no, thread in enumerate(session["threads"], 1):
        # Labels of threads and steps hold ids and numbers: they wrap, never cut.
        label = Text()
        label.append(f"thread {no}", style="bold")
        label.append(f"  {clock(thread['started_at'], session['started_at'])} · "
                     f"{duration(thread['duration_seconds'], '?')} · "
                     f"{plural(thread['interception_count'], 'interception')} · ")
        label.append(_tokens(thread), style="green")
        branch = root.add(label)
        for node in thread["interceptions"]:
            _add_interception(branch, node, session["started_at"])
    summary = Text()
    summary.append(f"{plural(session['thread_count'], 'thread')}, "
                   f"{plural(session['interception_count'], 'interception')}, "
                   f"{plural(session['tool_calls'], 'tool call')}", style="bold")
    if session["tool_errors"]:
        summary.append(f" ({session['tool_errors']} failed)", style="bold red")
    summary.append(f" · {_tokens(session)} · {duration(session['duration_seconds'], '?')}", style="bold")
    return Group(root, summary)


def loop_of(node: dict) -> list[dict]:
    """The chain that starts at `node`: each step the only child of the one before. An agentic
    loop is such a chain; it ends at a node with no child or with several (a real branch)."""
    chain = [node]
    while len(chain[-1]["children"]) == 1:
        chain.append(chain[-1]["children"][0])
    return chain


def _add_interception(parent, node: dict, day: datetime) -> None:
    """A loop (a chain of only children) as a flat numbered sequence under `parent`; depth only
    where a step has several children."""
    chain = loop_of(node)
    last = None
    for step, n in enumerate(chain, 1):
        last = _add_step(parent, n, day, f"{step}. " if len(chain) > 1 else "")
    for child in chain[-1]["children"]:
        _add_interception(last, child, day)


def _add_step(parent, node: dict, day: datetime, number: str):
    from rich.text import Text

    label = Text()
    if number:
        label.append(number, style="bold")
    label.append(f"{node.get('provider_name') or node['provider']}/{node['model']}", style="bold")
    label.append(f"  {node['id']}", style="dim")
    label.append(f"  {clock(node['started_at'], day)} · {duration(node['duration_seconds'], '?')} · ")
    label.append(_tokens(node), style="green")
    if node.get("credential_kind") == "byok" or node.get("credential_hint"):  # 2026-08 layout
        label.append(f" · {node.get('credential_kind', '')} {node.get('credential_hint', '')}".rstrip(), style="cyan")
    if node.get("error_type"):
        label.append(f"  ✗ {node['error_type']}" + (f": {one_line(node['error_message'], 60)}"
                                                    if node.get("error_message") else ""), style="bold red")
    branch = parent.add(label)
    for p in node["prompts"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("prompt ", style="yellow")
        t.append(one_line(p["prompt"]))
        branch.add(t)
    for th in node["thoughts"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        source = f" ({th['source']})" if th["source"] else ""
        t.append(f"thought{source} ", style="magenta")
        t.append(one_line(th["content"]), style="dim")
        branch.add(t)
    for u in node["tool_usages"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("tool ", style="blue")
        t.append(u["tool"], style="bold")
        if u["injected"]:
            t.append(" [injected" + (f" from {u['server_url']}" if u["server_url"] else "") + "]", style="cyan")
        t.append(" " + one_line(u["input"], 80), style="dim")
        if u["invocation_error"]:
            t.append("  ✗ " + one_line(u["invocation_error"], 80), style="bold red")
        branch.add(t)
    return branch


def network_table(tree: dict):
    """The session's firewall calls (oldest first) and its most contacted hosts."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    calls = tree.get("network_calls") or []
    blocked = sum(1 for c in calls if c["blocked"])
    head = Text(f"Network calls ({len(calls):,}, {blocked:,} blocked)", style="bold")
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
    for name in ("created", "proto", "method", "detail", "rule"):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for c in calls:
        rule = Text("blocked", style="bold red") if c["blocked"] else Text(c["matched_rule"] or "")
        table.add_row(Text(cell(c["created_at"])), Text(c["proto"]), Text(c["method"]),
                      Text(cell(c["detail"], 120)), rule)
    top = tree.get("top_domains") or []
    more = tree.get("total_domains", 0) - len(top)
    hosts = Text("Top hosts: " + (", ".join(f"{d['domain']} ({d['count']:,})" for d in top) or "none")
                 + (f", +{more:,} more" if more > 0 else ""))
    return Group(Text(""), head, table, hosts)
