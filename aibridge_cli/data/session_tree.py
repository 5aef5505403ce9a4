"""One session as a tree: threads (oldest first) → the interceptions of each agentic loop,
nested by thread_parent_id → their tool calls, prompts and thoughts.

`build` turns the rows of the show queries into plain nested dicts (what `--format json`
prints; views/sessions.py draws it); `flat_rows` lists it for csv/tsv/markdown.
Pure: no database, no printing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
# The 2026-08 layout's columns: a node carries those its row has (NULL: absent, or no error).
NEWER_KEYS = ("provider_name", "credential_kind", "credential_hint", "error_type", "error_message")
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
            **{k: row[k] for k in NEWER_KEYS if row.get(k) is not None},
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
            **({"provider_item_id": u["provider_item_id"]} if u.get("provider_item_id") is not None else {}),
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
