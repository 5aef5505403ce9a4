"""Sessions the way the deployment (2026-08) shows them: by last activity, a session's threads
paged, and the agent firewall's network calls where boundary_logs exists (docs/deployment.md)."""

from __future__ import annotations

from aibridge_cli.data.layout import Layout
from aibridge_cli.db import query

NETWORK_KEYS = ("network_calls_total", "network_calls_blocked", "firewall_active")


def list_by_last_active(conn, layout: Layout, filters: dict, *, limit: int, offset: int = 0) -> list[dict]:
    """A page of sessions by last activity; with the firewall's columns where boundary_logs exists."""
    rows = query.many(conn, "ListAIBridgeSessionsByLastActive", **filters, limit_=limit, offset_=offset)
    if layout.boundary_logs and layout.interception_columns and rows:
        found = {(r["session_id"], r["initiator_id"]): r for r in query.many(
            conn, "GetAIBridgeSessionsNetworkSummary", session_ids=[r["session_id"] for r in rows],
            initiator_ids=[r["user_id"] for r in rows])}
        for r in rows:
            net = found.get((r["session_id"], r["user_id"]))
            r.update({k: (net[k] if net else (False if k == "firewall_active" else 0)) for k in NETWORK_KEYS})
    return rows


def page_threads(conn, tree: dict, key: dict, *, limit: int, after, before) -> tuple[dict, str | None]:
    """The tree with only a page of its threads (ListAIBridgeSessionThreads); the session's totals
    stay the whole session's. Returns the tree and the last thread's id when a page may follow."""
    page = query.many(conn, "ListAIBridgeSessionThreads", **key, after_id=after, before_id=before, limit_=limit)
    ids = [r["thread_id"] for r in page]
    by_root = {t["thread_root_id"]: t for t in tree["threads"]}
    tree = {**tree, "threads": [by_root[i] for i in ids if i in by_root], "threads_paged": True}
    return tree, (str(ids[-1]) if len(ids) == limit else None)


def network(conn, key: dict, *, limit: int = 0) -> dict:
    """The session's firewall calls, oldest first, and its most contacted hosts."""
    calls = query.many(conn, "ListAIBridgeSessionNetworkCalls", **key, limit_=limit)
    top = query.many(conn, "GetAIBridgeSessionTopDomains", **key, limit_=0)
    return {"network_calls": calls, "top_domains": [{"domain": d["domain"], "count": d["count"]} for d in top],
            "total_domains": top[0]["total_domains"] if top else 0}
