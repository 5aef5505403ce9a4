"""The telemetry tests' data and oracle: statistics computed in Python from the rows the tests
write (hand-picked ones, and random ones), and helpers that run the summary queries."""

from __future__ import annotations

import math
import os
import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from factories import add_interception, add_prompt, add_token_usage, add_tool_usage, add_user

from aibridge_cli.data.telemetry import STAT_COLUMNS
from aibridge_cli.db import query
from aibridge_cli.sqlc import registry

W0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)  # the tests' window: [W0, W1)
W1 = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
WINDOW = ("--since", W0.isoformat(), "--until", W1.isoformat())
# The specification beside the project (CI has it); AIBRIDGE_SPEC_DIR points elsewhere.
# The spec beside the repository; from a worktree one level deeper, the nearest shared/spec above.
SPEC_DIR = Path(os.environ.get("AIBRIDGE_SPEC_DIR") or next(
    (p / "shared" / "spec" for p in Path(__file__).resolve().parents if (p / "shared" / "spec").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "spec"))
REFERENCE = SPEC_DIR / "aibridge.sql"


# ---------------------------------------------------------------- the statistics, in Python

def percentile_cont(sorted_values, fraction):
    """PostgreSQL's continuous percentile: linear interpolation between the closest ranks."""
    if not sorted_values:
        return 0.0
    pos = fraction * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return sorted_values[lo]
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _meta_int(meta, key):
    v = (meta or {}).get(key)
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def cached(tu, with_columns):
    """Cached tokens of one token usage row by the one rule: the column when above zero, else the
    greatest of the metadata keys cache_read_input, input_cached, prompt_cached (write: cache_creation_input)."""
    meta = tu.get("metadata")
    read = max(_meta_int(meta, k) for k in ("cache_read_input", "input_cached", "prompt_cached"))
    written = _meta_int(meta, "cache_creation_input")
    if with_columns:
        if (tu.get("cache_read_input_tokens") or 0) > 0:
            read = tu["cache_read_input_tokens"]
        if (tu.get("cache_write_input_tokens") or 0) > 0:
            written = tu["cache_write_input_tokens"]
    return read, written


def expected_summary(data, after, before, *, with_columns=False, keep=lambda i: True):
    """{(provider, model, client): {column: value}} for interceptions ended in [after, before)."""
    groups = defaultdict(list)
    for i in data["interceptions"]:
        if i["ended_at"] is not None and after <= i["ended_at"] < before and keep(i):
            groups[(i["provider"], i["model"], i["client"] or "Unknown")].append(i)
    out = {}
    for key, members in groups.items():
        ids = {i["id"] for i in members}
        seconds = sorted((i["ended_at"] - i["started_at"]).total_seconds() for i in members)
        toks = [t for t in data["tokens"] if t["interception_id"] in ids]
        tools = [t for t in data["tools"] if t["interception_id"] in ids]
        reads_writes = [cached(t, with_columns) for t in toks]
        stats = {
            "interception_count": len(members),
            "unique_initiator_count": len({i["initiator_id"] for i in members}),
            "user_prompts_count": sum(1 for p in data["prompts"] if p["interception_id"] in ids),
            "token_usages_count": len(toks),
            "token_count_input": sum(t["input_tokens"] for t in toks),
            "token_count_output": sum(t["output_tokens"] for t in toks),
            "token_count_cached_read": sum(r for r, _ in reads_writes),
            "token_count_cached_written": sum(w for _, w in reads_writes),
            "tool_calls_count_injected": sum(1 for t in tools if t["injected"]),
            "tool_calls_count_non_injected": sum(1 for t in tools if not t["injected"]),
            "injected_tool_call_error_count": sum(1 for t in tools if t["injected"] and t["invocation_error"] is not None),
        }
        for pct in (50, 90, 95, 99):
            # PostgreSQL's float8 -> bigint rounds half to even, like Python's round().
            stats[f"interception_duration_p{pct}_millis"] = round(percentile_cont(seconds, pct / 100) * 1000)
        out[key] = stats
    return out


# The two shapes of the one-pass summary (the command picks one by the window's estimated size);
# every agreement test below holds for both.
SHAPES = ("SummarizeAIBridgeInterceptionsTelemetry", "SummarizeAIBridgeInterceptionsTelemetryFewInterceptions")


def summary_rows(conn, after, before, shape=SHAPES[0], **params):
    rows = query.many(conn, shape, ended_at_after=after, ended_at_before=before, **params)
    return {(r["provider"], r["model"], r["client"]): {c: r[c] for c in STAT_COLUMNS} for r in rows}


def per_group_rows(conn, after, before, queries_by_name=None):
    """Our reference-named queries, run the reference's way: list the groups, then one query each."""
    run_many, run_one = _runner(conn, queries_by_name)
    groups = run_many("ListAIBridgeInterceptionsTelemetrySummaries", ended_at_after=after, ended_at_before=before)
    out = {}
    for g in groups:
        row = run_one("CalculateAIBridgeInterceptionsTelemetrySummary", provider=g["provider"], model=g["model"],
                      client=g["client"], ended_at_after=after, ended_at_before=before)
        out[(g["provider"], g["model"], g["client"])] = {c: row[c] for c in STAT_COLUMNS}
    return out


def _runner(conn, queries_by_name):
    if queries_by_name is None:
        return (lambda name, **p: query.many(conn, name, **p)), (lambda name, **p: query.one(conn, name, **p))

    def execute(name, p):
        q = queries_by_name[name]
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        cur.execute(q.sql, registry.bind(q, p))
        return cur

    return (lambda name, **p: execute(name, p).fetchall()), (lambda name, **p: execute(name, p).fetchone())


# ---------------------------------------------------------------- known data

def _record(data, kind, row):
    data[kind].append(row)
    return row


def known_data(conn):
    """Five groups with hand-picked values, plus rows that must not count."""
    data = {"interceptions": [], "tokens": [], "prompts": [], "tools": []}
    alice, bob, carol = add_user(conn, "alice"), add_user(conn, "bob"), add_user(conn, "carol")
    base = W0 + timedelta(hours=6)

    def icpt(user, seconds, *, provider="anthropic", model="claude-sonnet-4", client="Claude Code", start=base, ended=True):
        row = add_interception(conn, user, provider=provider, model=model, client=client, started_at=start,
                               ended_at=start + timedelta(seconds=seconds) if ended else None)
        return _record(data, "interceptions", row)

    def tok(i, inp, out, metadata=None):
        return _record(data, "tokens", add_token_usage(conn, i, input_tokens=inp, output_tokens=out, metadata=metadata))

    def prompt(i):
        return _record(data, "prompts", add_prompt(conn, i, "hello"))

    def tool(i, injected=False, error=None):
        return _record(data, "tools", add_tool_usage(conn, i, injected=injected, invocation_error=error))

    # anthropic / sonnet / Claude Code: three interceptions of 1 s, 2 s and 4.5 s by two users.
    a1, a2, a3 = icpt(alice, 1), icpt(alice, 2), icpt(bob, 4.5)
    tok(a1, 100, 10, {"cache_read_input": 1000, "cache_creation_input": 50, "cache_ephemeral_5m_input": 50})
    tok(a1, 200, 20, {"cache_read_input": 500})
    tok(a2, 300, 30, None)  # NULL metadata counts input and output, no cache
    tok(a3, 400, 40, {})
    prompt(a1), prompt(a1), prompt(a3)
    tool(a1, injected=True, error="timeout"), tool(a1, injected=True), tool(a2), tool(a2), tool(a3)
    # openai / gpt-5 / NULL client and literal 'Unknown': one group, 'Unknown'.
    o1 = icpt(carol, 0.25, provider="openai", model="gpt-5", client=None)
    o2 = icpt(alice, 0.75, provider="openai", model="gpt-5", client="Unknown")
    tok(o1, 1000, 100, {"prompt_cached": 700, "completion_reasoning": 30})
    tok(o2, 10, 1, {"prompt_cached": 5, "cache_read_input": 1})
    prompt(o2)
    # openai / gpt-5 / Codex: no token usage, no tool calls, no prompts.
    icpt(bob, 10, provider="openai", model="gpt-5", client="Codex")
    # anthropic / opus / Cursor: token usage but no tool calls; only injected tools failing elsewhere.
    c1 = icpt(bob, 3, model="claude-opus-4", client="Cursor")
    tok(c1, 5, 6, {"cache_creation_input": 7})
    # A non-injected tool call with an error does not count as an injected failure.
    c2 = icpt(carol, 3, model="claude-opus-4", client="Cursor")
    tool(c2, injected=False, error="client-side")
    # Never counted: in flight, ended before the window, ended at its end, another window's child rows.
    inflight = icpt(alice, 0, ended=False)
    tok(inflight, 9999, 9999), prompt(inflight), tool(inflight, injected=True, error="x")
    early = icpt(alice, 1, start=W0 - timedelta(hours=2))
    tok(early, 9999, 9999)
    late = icpt(bob, 0, start=W1)
    tool(late)
    return data


def random_data(conn, seed, *, with_columns=False, n=400):
    rnd = random.Random(seed)
    users = [add_user(conn, f"user{seed}_{k}") for k in range(6)]
    data = {"interceptions": [], "tokens": [], "prompts": [], "tools": []}
    # Back to the seed's layout for these two columns; with_columns adds them nullable, to cover NULLs too.
    conn.execute("ALTER TABLE aibridge_token_usages DROP COLUMN cache_read_input_tokens, DROP COLUMN cache_write_input_tokens")
    if with_columns:
        conn.execute("ALTER TABLE aibridge_token_usages ADD COLUMN cache_read_input_tokens bigint, "
                     "ADD COLUMN cache_write_input_tokens bigint")
    metas = [None, {}, {"cache_read_input": 0}, {"prompt_cached": 1}, {"completion_reasoning": 4}]
    icpt_rows, tok_rows, prompt_rows, tool_rows = [], [], [], []
    for _ in range(n):
        start = W0 + timedelta(seconds=rnd.uniform(-6 * 3600, 26 * 3600), microseconds=rnd.randrange(10**6))
        ended = None if rnd.random() < 0.05 else start + timedelta(microseconds=rnd.choice(
            [rnd.randrange(10**7), rnd.randrange(10**9), 500_000, 1_500, rnd.randrange(3 * 86400 * 10**6)]))
        i = {"id": uuid.uuid4(), "initiator_id": rnd.choice(users)["id"], "provider": rnd.choice(["anthropic", "openai"]),
             "model": rnd.choice(["m1", "m2", "m3"]), "client": rnd.choice(["Claude Code", "Codex", None, "Unknown"]),
             "started_at": start, "ended_at": ended}
        data["interceptions"].append(i)
        icpt_rows.append(i)
        for _ in range(rnd.choice([0, 0, 1, 2, 3])):
            meta = rnd.choice(metas + [{"cache_read_input": rnd.randrange(5000), "cache_creation_input": rnd.randrange(900)},
                                       {"prompt_cached": rnd.randrange(3000)},
                                       {"cache_read_input": rnd.randrange(50), "prompt_cached": rnd.randrange(50)},
                                       {"input_cached": rnd.randrange(4000), "prompt_cached": rnd.randrange(60)},
                                       {"input_cached": "n/a", "cache_read_input": 3}])
            t = {"id": uuid.uuid4(), "interception_id": i["id"], "input_tokens": rnd.randrange(10**5),
                 "output_tokens": rnd.randrange(10**4), "metadata": meta,
                 "cache_read_input_tokens": rnd.choice([None, 0, rnd.randrange(1, 999)]),
                 "cache_write_input_tokens": rnd.choice([None, 0, rnd.randrange(1, 99)])}
            data["tokens"].append(t)
            tok_rows.append(t)
        for _ in range(rnd.choice([0, 1, 1, 2])):
            p = {"id": uuid.uuid4(), "interception_id": i["id"]}
            data["prompts"].append(p)
            prompt_rows.append(p)
        for _ in range(rnd.choice([0, 0, 1, 3])):
            injected = rnd.random() < 0.4
            t = {"id": uuid.uuid4(), "interception_id": i["id"], "injected": injected,
                 "invocation_error": rnd.choice([None, None, "boom"])}
            data["tools"].append(t)
            tool_rows.append(t)
    from psycopg.types.json import Jsonb

    with conn.cursor() as cur:
        cur.executemany("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, client, started_at, ended_at, metadata) "
                        "VALUES (%(id)s, %(initiator_id)s, %(provider)s, %(model)s, %(client)s, %(started_at)s, %(ended_at)s, '{}')",
                        icpt_rows)
        cols = ", cache_read_input_tokens, cache_write_input_tokens" if with_columns else ""
        vals = ", %(cache_read_input_tokens)s, %(cache_write_input_tokens)s" if with_columns else ""
        cur.executemany(f"INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, "
                        f"output_tokens, metadata, created_at{cols}) VALUES (%(id)s, %(interception_id)s, 'r', "
                        f"%(input_tokens)s, %(output_tokens)s, %(meta)s, now(){vals})",
                        [{**t, "meta": None if t["metadata"] is None else Jsonb(t["metadata"])} for t in tok_rows])
        cur.executemany("INSERT INTO aibridge_user_prompts (id, interception_id, provider_response_id, prompt, created_at) "
                        "VALUES (%(id)s, %(interception_id)s, 'r', 'p', now())", prompt_rows)
        cur.executemany("INSERT INTO aibridge_tool_usages (id, interception_id, provider_response_id, tool, input, injected, "
                        "invocation_error, created_at) VALUES (%(id)s, %(interception_id)s, 'r', 't', '{}', %(injected)s, "
                        "%(invocation_error)s, now())", tool_rows)
    return data
