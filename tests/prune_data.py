"""The prune tests' data: old and new interceptions with their child rows, and snapshots of
every table read straight from the database."""

from __future__ import annotations

from datetime import timedelta

from factories import T0, add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user

CUTOFF = T0
CHILD_TABLES = ("token_usages", "user_prompts", "tool_usages", "model_thoughts")


def snapshot(conn) -> dict:
    """Every table's rows as a set of (row identity, interception id), read directly."""
    return {
        "interceptions": set(conn.execute("SELECT id, started_at FROM aibridge_interceptions").fetchall()),
        "token_usages": set(conn.execute("SELECT id, interception_id FROM aibridge_token_usages").fetchall()),
        "user_prompts": set(conn.execute("SELECT id, interception_id FROM aibridge_user_prompts").fetchall()),
        "tool_usages": set(conn.execute("SELECT id, interception_id FROM aibridge_tool_usages").fetchall()),
        "model_thoughts": set(conn.execute("SELECT content, interception_id FROM aibridge_model_thoughts").fetchall()),
    }


def orphans(snap: dict) -> dict:
    ids = {i for i, _ in snap["interceptions"]}
    return {t: {r for r in snap[t] if r[1] not in ids} for t in CHILD_TABLES}


def with_children(conn, i, n_tokens=1, n_prompts=1, n_tools=1, n_thoughts=1, created_at=None):
    for k in range(n_tokens):
        add_token_usage(conn, i, provider_response_id=f"resp_{k}", created_at=created_at)
    for k in range(n_prompts):
        add_prompt(conn, i, f"prompt {k}", created_at=created_at)
    for k in range(n_tools):
        add_tool_usage(conn, i, provider_tool_call_id=f"call_{k}", created_at=created_at)
    for k in range(n_thoughts):
        add_thought(conn, i, f"thought {i['id']} {k}", created_at=created_at)
    return i


def mixed_data(conn):
    """Old interceptions (some sharing one started_at, so batches split ties), one exactly at the
    cutoff, newer ones whose children look old (old created_at, same response ids), one old
    interception still in flight, and old ones without children."""
    alice = add_user(conn, "alice")
    old = []
    for k in range(7):
        started = CUTOFF - timedelta(days=90) + timedelta(hours=k // 3)  # groups of three share a time
        old.append(with_children(conn, add_interception(conn, alice, started_at=started),
                                 n_tokens=1 + k % 3, n_tools=k % 2, n_thoughts=k % 4))
    old.append(with_children(conn, add_interception(conn, alice, started_at=CUTOFF - timedelta(microseconds=1))))
    old.append(with_children(conn, add_interception(conn, alice, started_at=CUTOFF - timedelta(days=61), ended_at=None)))
    old.append(add_interception(conn, alice, started_at=CUTOFF - timedelta(days=400)))  # no children
    at_cutoff = with_children(conn, add_interception(conn, alice, started_at=CUTOFF), n_tokens=2)
    new = [at_cutoff]
    for k in range(3):
        new.append(with_children(conn, add_interception(conn, alice, started_at=CUTOFF + timedelta(minutes=k)),
                                 created_at=CUTOFF - timedelta(days=200)))
    return {"old": old, "new": new, "at_cutoff": at_cutoff}


def expected_after(before: dict, old_ids: set) -> dict:
    return {t: {r for r in rows if (r[0] if t == "interceptions" else r[1]) not in old_ids}
            for t, rows in before.items()}
