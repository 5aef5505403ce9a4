"""Sessions on random data: the paged list against a plain aggregate-everything query and an
independent Python computation, with windows small enough to make the scan widen, many
sessions starting at the same instant, and session keys shared between users."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from factories import add_interception, add_prompt, add_token_usage, add_user, at

from aibridge_cli.data import sessions
from aibridge_cli.data.sessions import Cursor, fetch_page, filter_params
from aibridge_cli.db import query
from aibridge_cli.errors import AibridgeError, BadInput
from aibridge_cli.sqlc import registry
from aibridge_cli.sqlc.translate import parse_file

REFERENCE = {q.name: q for q in parse_file(Path(__file__).with_name("sessions_reference.sql"))}
CLIENTS = ["Claude Code", "Codex", "Cursor", None]
MODELS = [("anthropic", "claude-sonnet-4"), ("anthropic", "claude-haiku-4"), ("openai", "gpt-5"),
          ("openai", "gpt-5-mini")]


def build(conn, seed: int, threads: int = 90) -> dict:
    rnd = random.Random(seed)
    users = [add_user(conn, f"user{n}") for n in range(4)]
    initiators = [u["id"] for u in users] + [uuid.UUID(int=rnd.getrandbits(128))]  # the last has no users row
    rows, prompts, tokens = [], [], []
    for _ in range(threads):
        who = rnd.choice(initiators + initiators[:2])  # two users are busier
        key = rnd.choice(["k0", "k1", "k2", "k3", None, None, None])
        start = rnd.randrange(0, 30)  # whole minutes: many interceptions and sessions start together
        root = None
        prev = None
        for step in range(rnd.choice([1, 1, 2, 3, 4, 6])):
            start += rnd.choice([0, 0, 1, 2])
            child_key = key if rnd.random() > 0.05 else rnd.choice(["k0", "k9"])  # a child in another session
            provider, model = rnd.choice(MODELS)
            ended = None if rnd.random() < 0.08 else at(start) + timedelta(seconds=rnd.randrange(1, 300))
            row = add_interception(
                conn, who, started_at=at(start), ended_at=ended, client=rnd.choice(CLIENTS),
                client_session_id=child_key if step else key, provider=provider, model=model,
                metadata=rnd.choice([None, {}, {"n": rnd.randrange(100)}]),
                thread_parent_id=prev["id"] if prev else None, thread_root_id=root["id"] if root else None)
            rows.append(row)
            root = root or row
            prev = row
            for _ in range(rnd.choice([0, 1, 1, 2])):
                tokens.append(add_token_usage(conn, row, input_tokens=rnd.randrange(1000),
                                              output_tokens=rnd.randrange(1000)))
            for _ in range(rnd.choice([0, 0, 1, 2])):
                prompts.append(add_prompt(conn, row, f"prompt {len(prompts)}",
                                          created_at=at(start + rnd.choice([0, 0, 1]))))
    return {"users": users, "rows": rows, "prompts": prompts, "tokens": tokens, "initiators": initiators}


def oracle(data: dict, f: dict) -> list[dict]:
    """The sessions semantics computed in Python from the rows as written."""
    users = {u["id"]: u for u in data["users"]}

    def passes(r) -> bool:
        return (r["ended_at"] is not None
                and (f["started_after"] is None or r["started_at"] >= f["started_after"])
                and (f["started_before"] is None or r["started_at"] <= f["started_before"])
                and (f["initiator_id"] is None or r["initiator_id"] == f["initiator_id"])
                and (not f["provider"] or r["provider"] == f["provider"])
                and (not f["model"] or r["model"] == f["model"])
                and (not f["client"] or (r["client"] or "Unknown") == f["client"])
                and (not f["session_id"] or sid(r) == f["session_id"]))

    def sid(r) -> str:
        return r["client_session_id"] or str(r["thread_root_id"] or r["id"])

    groups: dict = {}
    for r in data["rows"]:
        if passes(r):
            groups.setdefault((sid(r), r["initiator_id"]), []).append(r)
    out = []
    for (session_id, initiator), members in groups.items():
        if initiator not in users:
            continue
        members.sort(key=lambda r: (r["started_at"], r["id"]))
        ids = {r["id"] for r in members}
        mine = [p for p in data["prompts"] if p["interception_id"] in ids]
        toks = [t for t in data["tokens"] if t["interception_id"] in ids]
        u = users[initiator]
        out.append({
            "session_id": session_id, "user_id": initiator, "user_username": u["username"], "user_name": u["name"],
            "user_avatar_url": u["avatar_url"], "providers": sorted({r["provider"] for r in members}),
            "models": sorted({r["model"] for r in members}), "client": members[0]["client"] or "",
            "metadata": members[0]["metadata"], "started_at": members[0]["started_at"],
            "ended_at": max(r["ended_at"] for r in members),
            "threads": len({r["thread_root_id"] or r["id"] for r in members}),
            "input_tokens": sum(t["input_tokens"] for t in toks), "output_tokens": sum(t["output_tokens"] for t in toks),
            "last_prompt": max(mine, key=lambda p: (p["created_at"], p["id"]))["prompt"] if mine else "",
        })
    out.sort(key=lambda s: (s["started_at"], s["session_id"], s["user_id"]), reverse=True)
    return out


def reference(conn, f: dict) -> list[dict]:
    q = REFERENCE["ReferenceSessions"]
    cur = conn.cursor(row_factory=query.row_factory)
    cur.execute(q.sql, registry.bind(q, f))
    return cur.fetchall()


def walk(conn, f: dict, limit: int) -> list[dict]:
    out, after = [], None
    for _ in range(1000):
        page, after = fetch_page(conn, f, limit=limit, after=after)
        out += page
        if after is None:
            return out
    raise AssertionError("paging did not end")


@pytest.fixture
def tiny_windows(monkeypatch):
    # Scan windows of a handful of interceptions, so that every page needs the window widened
    # and window edges fall among interceptions that start at the same instant.
    monkeypatch.setattr(sessions, "MIN_FIRST_SCAN", 1)
    monkeypatch.setattr(sessions, "FIRST_SCAN_FACTOR", 1)
    monkeypatch.setattr(sessions, "GROWTH", 2)


def filter_cases(data: dict) -> list[dict]:
    busy = data["users"][0]["id"]
    return [
        filter_params(),
        filter_params(initiator_id=busy),
        filter_params(initiator_id=data["initiators"][-1]),  # no users row: nothing listed
        filter_params(provider="openai"),
        filter_params(model="claude-haiku-4"),
        filter_params(client="Unknown"),
        filter_params(client="Codex"),
        filter_params(session_id="k0"),
        filter_params(started_after=at(10), started_before=at(20)),
        filter_params(started_after=at(12), model="gpt-5", client="Claude Code"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paged_list_matches_reference_and_oracle(conn, tiny_windows, seed):
    data = build(conn, seed)
    for f in filter_cases(data):
        truth = reference(conn, f)
        assert truth == oracle(data, f), f
        count = query.one(conn, "CountAIBridgeSessions", **f)["count"]
        assert count == len(truth)
        for limit in (1, 4, 25):
            assert walk(conn, f, limit) == truth, (f, limit)
    everything = reference(conn, filter_params())
    assert len(everything) > 40
    # The data really has what the test is about.
    starts = [r["started_at"] for r in everything]
    assert len(set(starts)) < len(starts) - 10, "many sessions should share a start"
    shared = {}
    for r in everything:
        shared.setdefault(r["session_id"], set()).add(r["user_id"])
    assert any(len(v) > 1 for v in shared.values()), "some key should be shared by two users"


@pytest.mark.parametrize("seed", [4, 5])
def test_every_window_gives_an_exact_prefix(conn, seed):
    """Whatever the scan window, the list query returns only sessions it can rank: the rows it
    gives are exactly the start of the true order (after the offset and the cursor)."""
    data = build(conn, seed)
    rnd = random.Random(seed)
    for f in filter_cases(data)[:5]:
        truth = reference(conn, f)
        for _ in range(25):
            cut = rnd.randrange(len(truth) + 1)
            cursor = Cursor.of(truth[cut - 1]) if cut else None
            after = truth[cut:]
            offset, limit, scan = rnd.randrange(4), rnd.randrange(1, 12), rnd.choice([0, 1, 2, 3, 5, 8, 20, 200])
            params = {"cursor_started_at": cursor.started_at, "cursor_session_id": cursor.session_id,
                      "cursor_initiator_id": cursor.initiator_id} if cursor else {}
            got = query.many(conn, "ListAIBridgeSessions", **f, **params, limit_=limit, offset_=offset, scan_limit=scan)
            assert got == after[offset:offset + len(got)], (f, cut, offset, limit, scan)
            if scan == 0:
                assert len(got) == len(after[offset:offset + limit])


def test_after_session_id_matches_the_cursor_where_unambiguous(conn, seed=6):
    build(conn, seed)  # the rows are read back through the reference query
    truth = reference(conn, filter_params())
    owners = {}
    for r in truth:
        owners.setdefault(r["session_id"], []).append(r)
    checked = {1: 0, 2: 0}
    for key, rows in owners.items():
        # The reference's parameter inside the query, and the command's lookup.
        if len(rows) == 1:
            got = query.many(conn, "ListAIBridgeSessions", **filter_params(), after_session_id=key, limit_=1000)
            assert got == truth[truth.index(rows[0]) + 1:]
            assert sessions.cursor_for_session_id(conn, filter_params(), key) == Cursor.of(rows[0])
        else:
            with pytest.raises(AibridgeError):  # as the reference: the lookup finds several sessions
                query.many(conn, "ListAIBridgeSessions", **filter_params(), after_session_id=key)
            with pytest.raises(BadInput):
                sessions.cursor_for_session_id(conn, filter_params(), key)
        checked[min(len(rows), 2)] += 1
    assert checked[1] > 10 and checked[2] > 0


def test_cli_walk_counts_every_session_once(conn, dsn, cli, tiny_windows):
    build(conn, 7)
    truth = reference(conn, filter_params())
    seen, after = [], None
    while True:
        r = cli("sessions", "list", "--limit", "9", "--format", "jsonl", *(["--after", after] if after else []))
        assert r.exit_code == 0, r.stderr
        seen += [(x["session_id"], x["user_id"]) for x in map(json.loads, r.stdout.splitlines())]
        after = next((w for w in r.stderr.split() if w.startswith("s1.")), None)
        if after is None:
            break
    assert seen == [(t["session_id"], str(t["user_id"])) for t in truth]
    assert len(set(seen)) == len(seen) == int(cli("sessions", "count").stdout)
