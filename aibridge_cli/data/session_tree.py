"""One session as a tree: threads (oldest first) → the interceptions of each agentic loop,
nested by thread_parent_id → their tool calls, prompts and thoughts.

`build` turns the rows of the show queries into plain nested dicts (what `--format json`
prints); `renderable` draws that tree with Rich; `flat_rows` lists it for csv/tsv/markdown.
Pure: no database, no printing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
FLAT_COLUMNS = ("thread", "depth", "id", "thread_parent_id", "thread_root_id", "provider", "model", "client",
                "started_at", "ended_at", "duration_seconds", *TOKEN_KEYS, "tool_calls", "tool_errors", "prompts",
                "thoughts")


def _seconds(start: Optional[datetime], end: Optional[datetime]) -> Optional[float]:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _tokens(nodes: Iterable[dict]) -> dict:
    totals = dict.fromkeys(TOKEN_KEYS, 0)
    for n in nodes:
        for k in TOKEN_KEYS:
            totals[k] += n[k]
    return totals


def _walk(nodes: list[dict]) -> Iterable[dict]:
    for n in nodes:
        yield n
        yield from _walk(n["children"])


def build(session_id: str, owner: dict, *, interceptions: list[dict], tool_usages: list[dict],
          prompts: list[dict], thoughts: list[dict]) -> dict:
    by_interception: dict[Any, dict] = {}
    for row in interceptions:  # oldest first
        node = {
            "id": row["id"], "provider": row["provider"], "model": row["model"], "client": row["client"],
            "metadata": row["metadata"], "api_key_id": row["api_key_id"],
            "started_at": row["started_at"], "ended_at": row["ended_at"],
            "duration_seconds": _seconds(row["started_at"], row["ended_at"]),
            "thread_parent_id": row["thread_parent_id"], "thread_root_id": row["thread_root_id"],
            **{k: int(row[k]) for k in TOKEN_KEYS},
            "prompts": [], "thoughts": [], "tool_usages": [], "children": [],
        }
        by_interception[row["id"]] = node
    for p in prompts:
        by_interception[p["interception_id"]]["prompts"].append(
            {"id": p["id"], "prompt": p["prompt"], "created_at": p["created_at"]})
    for t in thoughts:
        by_interception[t["interception_id"]]["thoughts"].append(
            {"source": t["source"], "content": t["content"], "created_at": t["created_at"]})
    for u in tool_usages:
        by_interception[u["interception_id"]]["tool_usages"].append({
            "id": u["id"], "tool": u["tool"], "server_url": u["server_url"], "input": u["input"],
            "injected": u["injected"], "invocation_error": u["invocation_error"],
            "provider_tool_call_id": u["provider_tool_call_id"], "created_at": u["created_at"],
        })

    threads: dict[Any, dict] = {}
    placed: set = set()
    for node in by_interception.values():  # oldest first, so a parent is placed before its children
        root = node["thread_root_id"] or node["id"]
        thread = threads.setdefault(root, {"thread_root_id": root, "interceptions": []})
        parent = node["thread_parent_id"]
        # A parent outside this session (or not yet seen: bad lineage) leaves the node at the top.
        if parent in placed and (by_interception[parent]["thread_root_id"] or parent) == root:
            by_interception[parent]["children"].append(node)
        else:
            thread["interceptions"].append(node)
        placed.add(node["id"])

    ordered = []
    for thread in threads.values():
        nodes = list(_walk(thread["interceptions"]))
        start = min(n["started_at"] for n in nodes)
        end = max(n["ended_at"] for n in nodes)
        ordered.append({
            "thread_root_id": thread["thread_root_id"], "started_at": start, "ended_at": end,
            "duration_seconds": _seconds(start, end), "interception_count": len(nodes),
            **_tokens(nodes), **_tool_counts(nodes), "interceptions": thread["interceptions"],
        })
    ordered.sort(key=lambda t: (t["started_at"], str(t["thread_root_id"])))

    every = list(by_interception.values())
    start = min((n["started_at"] for n in every), default=None)
    end = max((n["ended_at"] for n in every), default=None)
    return {
        "session_id": session_id, "user_id": owner["initiator_id"], "user_username": owner.get("user_username"),
        "user_name": owner.get("user_name"), "started_at": start, "ended_at": end,
        "duration_seconds": _seconds(start, end), "thread_count": len(ordered), "interception_count": len(every),
        **_tokens(every), **_tool_counts(every), "threads": ordered,
    }


def _tool_counts(nodes: Iterable[dict]) -> dict:
    calls = errors = 0
    for n in nodes:
        calls += len(n["tool_usages"])
        errors += sum(1 for u in n["tool_usages"] if u["invocation_error"])
    return {"tool_calls": calls, "tool_errors": errors}


def flat_rows(tree: dict) -> list[dict]:
    rows = []

    def visit(node: dict, thread_no: int, depth: int) -> None:
        rows.append({
            "thread": thread_no, "depth": depth,
            **{k: node[k] for k in ("id", "thread_parent_id", "thread_root_id", "provider", "model", "client",
                                    "started_at", "ended_at", "duration_seconds", *TOKEN_KEYS)},
            "tool_calls": len(node["tool_usages"]),
            "tool_errors": sum(1 for u in node["tool_usages"] if u["invocation_error"]),
            "prompts": len(node["prompts"]), "thoughts": len(node["thoughts"]),
        })
        for child in node["children"]:
            visit(child, thread_no, depth + 1)

    for i, thread in enumerate(tree["threads"], 1):
        for node in thread["interceptions"]:
            visit(node, i, 0)
    return rows


# --- Rich rendering -------------------------------------------------------------------------

def _dur(seconds: Optional[float]) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _time(value: datetime, day: Optional[datetime] = None) -> str:
    """UTC; the time of day alone when it falls on the session's first day."""
    from datetime import timezone

    from aibridge_cli.views.formats import short_text

    if day is not None and value.astimezone(timezone.utc).date() == day.astimezone(timezone.utc).date():
        return value.astimezone(timezone.utc).strftime("%H:%M:%S")
    return short_text(value)


def _token_text(d: dict) -> str:
    text = f"in {d['input_tokens']:,} · out {d['output_tokens']:,}"
    if d["cache_read_tokens"] or d["cache_write_tokens"]:
        text += f" · cache read {d['cache_read_tokens']:,} / write {d['cache_write_tokens']:,}"
    return text


def _one_line(text: str, width: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def renderable(tree: dict):
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    user = tree["user_username"] or f"{tree['user_id']} (no users row)"
    head = Text()
    head.append("session ", style="bold")
    head.append(tree["session_id"], style="bold cyan")
    head.append(f"  {user}", style="bold")
    head.append(f"  {_time(tree['started_at'])} UTC · {_dur(tree['duration_seconds'])}", style="dim")
    root = Tree(head)
    for no, thread in enumerate(tree["threads"], 1):
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(f"thread {no}", style="bold")
        label.append(f"  {_time(thread['started_at'], tree['started_at'])} · {_dur(thread['duration_seconds'])} · "
                     f"{thread['interception_count']} interception{'s' if thread['interception_count'] != 1 else ''} · ")
        label.append(_token_text(thread), style="green")
        branch = root.add(label)
        for node in thread["interceptions"]:
            _add_interception(branch, node, tree["started_at"])
    calls, errors = tree["tool_calls"], tree["tool_errors"]
    summary = Text()
    summary.append(f"{tree['thread_count']} thread{'s' if tree['thread_count'] != 1 else ''}, "
                   f"{tree['interception_count']} interception{'s' if tree['interception_count'] != 1 else ''}, "
                   f"{calls} tool call{'s' if calls != 1 else ''}", style="bold")
    if errors:
        summary.append(f" ({errors} failed)", style="bold red")
    summary.append(f", {_token_text(tree)}, {_dur(tree['duration_seconds'])}", style="bold")
    return Group(root, summary)


def _add_interception(parent, node: dict, day: datetime) -> None:
    from rich.text import Text

    label = Text(no_wrap=True, overflow="ellipsis")
    label.append(f"{node['provider']}/{node['model']}", style="bold")
    label.append(f"  {_time(node['started_at'], day)} · {_dur(node['duration_seconds'])} · ")
    label.append(_token_text(node), style="green")
    label.append(f"  {node['id']}", style="dim")
    branch = parent.add(label)
    for p in node["prompts"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("prompt ", style="yellow")
        t.append(_one_line(p["prompt"]))
        branch.add(t)
    for th in node["thoughts"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        source = f" ({th['source']})" if th["source"] else ""
        t.append(f"thought{source} ", style="magenta")
        t.append(_one_line(th["content"]), style="dim")
        branch.add(t)
    for u in node["tool_usages"]:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("tool ", style="blue")
        t.append(u["tool"], style="bold")
        if u["injected"]:
            t.append(" [injected" + (f" from {u['server_url']}" if u["server_url"] else "") + "]", style="cyan")
        t.append(" " + _one_line(u["input"], 80), style="dim")
        if u["invocation_error"]:
            t.append("  ✗ " + _one_line(u["invocation_error"], 80), style="bold red")
        branch.add(t)
    for child in node["children"]:
        _add_interception(branch, child, day)
