"""The filter blocks several queries repeat (sqlc has no includes; see tests/sql_blocks.py):
every copy is the same text, and every condition of every copy matters. Each query runs under
a set of filter cases on hand-made rows and must give what a Python oracle computes from the
same rows; then each condition of its copy is broken in turn (dropped, an operator flipped,
an OR made AND, IS NULL turned round) and some case must tell the difference."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from factories import add_interception, add_user, at
from sql_blocks import assert_every_condition_matters, blocks_in, file_blocks, normalised

from aibridge_cli.sqlc import registry

FAMILIES = {
    "session-filters": {"ListAIBridgeSessions", "CountAIBridgeSessionsScanned", "CountAIBridgeSessions",
                        "ListAIBridgeSessionInitiators", "ListAIBridgeSessionsByLastActive"},
    "interception-filters": {"CountAIBridgeInterceptions", "ListAIBridgeInterceptions"},
    "telemetry-filters": {"SummarizeAIBridgeInterceptionsTelemetry",
                          "SummarizeAIBridgeInterceptionsTelemetryFewInterceptions",
                          # its raw part (with no history, every row is raw: the zero watermark)
                          "SummarizeTelemetryWithHistory"},
    "prune-window": {"PruneWindowEnd", "PruneInterceptionBatch"},
    "old-interceptions": {"DeleteOldAIBridgeRecords", "CountOldAIBridgeRecords"},
    "orphan-keyset": {"PruneOrphanTokenUsages", "PruneOrphanUserPrompts", "PruneOrphanToolUsages",
                      "PruneOrphanModelThoughts"},
}


# ---------------------------------------------------------------- the copies are identical

def test_every_family_is_where_we_expect_it():
    found = defaultdict(set)
    for b in file_blocks():
        assert b.query not in found[b.family], f"{b.file} {b.query}: two copies of filter:{b.family}"
        found[b.family].add(b.query)
    assert dict(found) == FAMILIES


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_copy_of_a_filter_block_is_identical(family):
    copies = {b.query: normalised(b.body) for b in file_blocks() if b.family == family}
    assert len(copies) >= 2 and all(copies.values())
    first = next(iter(copies.values()))
    assert {q: t for q, t in copies.items() if t != first} == {}, f"filter:{family} differs from {next(iter(copies))}"


def test_normalising_keeps_what_matters():
    """Layout, comments and the leading connective go; a changed condition does not."""
    a = "WHERE x = @a::text\n  -- why\n  AND (y   >= 1)\n"
    assert normalised(a) == normalised("  AND x = @a::text\n      AND (y >= 1)")
    assert normalised(a) != normalised("WHERE x = @a::text AND (y > 1)")


def test_a_query_with_the_list_filters_carries_a_marked_copy():
    """A new query that takes the shared filter parameters must use (and mark) the shared block."""
    marked = {b.query for b in file_blocks()}
    shared = {"started_after", "started_before", "initiator_id", "provider", "model", "client"}
    window = {"ended_at_after", "ended_at_before", "initiator_id", "provider", "model", "client"}
    takes = {name for name, q in registry.registry().items() if shared <= set(q.params) or window <= set(q.params)}
    assert takes and takes - marked == set()


def test_unbalanced_markers_are_refused():
    for text in ("-- filter:a begin\nx\n", "x\n-- filter:a end\n", "-- filter:a begin\n-- filter:b begin\n"
                 "-- filter:b end\n-- filter:a end\n", "-- filter:a begin\n-- filter:b end\n"):
        with pytest.raises(AssertionError):
            blocks_in(text)


# ---------------------------------------------------------------- hand-made rows

@pytest.fixture(scope="module")
def rows(module_conn):
    conn = module_conn
    """Interceptions that differ in every filtered column; `ghost` has no users row."""
    ann, bob = add_user(conn, "ann"), add_user(conn, "bob")
    ghost = uuid.uuid4()
    spec = [  # initiator, provider, model, client, session, minute, ended
        (ann, "anthropic", "m-a", "Claude Code", "s1", 0, True),
        (ann, "anthropic", "m-b", None, "s1", 10, True),
        (ann, "openai", "m-a", "Cursor", "s2", 20, True),
        (ghost, "anthropic", "m-a", "Cursor", "s1", 25, True),
        (bob, "openai", "m-b", "Cursor", "s1", 30, True),
        (bob, "anthropic", "m-a", None, "s3", 40, True),
        (bob, "anthropic", "m-a", "Claude Code", "s3", 50, True),
        (ann, "openai", "m-b", "Claude Code", "s4", 60, False),  # in flight: never listed
        (bob, "anthropic", "m-b", "Cursor", "s5", 45, True),  # so that counts under a filter and
        (bob, "openai", "m-a", "Claude Code", "s3", 55, True),  # under its opposite differ
    ]
    out = []
    for k, (who, provider, model, client, session, minute, ended) in enumerate(spec):
        started = at(minute)
        row = add_interception(conn, who, provider=provider, model=model, client=client, client_session_id=session,
                               started_at=started, ended_at=started + timedelta(seconds=2 + k) if ended else None)
        row["session_id"] = session
        # The 2026-08 layout's provider instance and error, varied so that their filters matter.
        row["provider_name"] = f"{provider}-{'eu' if k % 3 == 0 else 'us'}"
        row["error_type"] = "timeout" if k % 4 == 1 else None
        conn.execute("UPDATE aibridge_interceptions SET provider_name = %s, error_type = %s WHERE id = %s",
                     [row["provider_name"], row["error_type"], row["id"]])
        row["initiator_id"] = who["id"] if isinstance(who, dict) else who
        row["user"] = isinstance(who, dict)
        out.append(row)
    return {"ann": ann["id"], "bob": bob["id"], "ghost": ghost, "interceptions": out}


def list_cases(r):
    i = r["interceptions"]
    return [
        {},
        {"started_after": i[2]["started_at"]},  # on a row's start: that row is in
        {"started_before": i[4]["started_at"]},
        {"started_after": i[1]["started_at"], "started_before": i[5]["started_at"]},
        {"initiator_id": r["bob"]},
        {"provider": "openai"},
        {"model": "m-b"},
        {"client": "Cursor"},
        {"client": "Unknown"},  # the interceptions without a client
        {"session_id": "s3"},
        {"session_id": "s1", "provider": "anthropic"},
        {"initiator_id": r["bob"], "model": "m-b"},
        {"provider": "anthropic", "client": "Cursor"},
        {"provider_name": "anthropic-eu"},
        {"failed": True},
        {"provider_name": "openai-us", "failed": True},
    ]


def passes(i, f) -> bool:
    """The list filters, in Python."""
    return (i["ended_at"] is not None
            and ("started_after" not in f or i["started_at"] >= f["started_after"])
            and ("started_before" not in f or i["started_at"] <= f["started_before"])
            and ("initiator_id" not in f or i["initiator_id"] == f["initiator_id"])
            and ("provider" not in f or i["provider"] == f["provider"])
            and ("model" not in f or i["model"] == f["model"])
            and ("client" not in f or (i["client"] or "Unknown") == f["client"])
            and ("session_id" not in f or i["session_id"] == f["session_id"])
            and ("provider_name" not in f or i["provider_name"] == f["provider_name"])
            and (not f.get("failed") or i["error_type"] is not None))


def sessions_of(selected):
    by = defaultdict(list)
    for i in selected:
        by[(i["session_id"], i["initiator_id"])].append(i)
    return by


# Each query: how to run it under one case, and what the oracle says it must return.

def _list_sessions(r, f):
    oracle = {k: (min(i["started_at"] for i in v), max(i["ended_at"] for i in v), len(v),
                  sorted({i["provider"] for i in v}), sorted({i["model"] for i in v}))
              for k, v in sessions_of(x for x in r["interceptions"] if passes(x, f) and x["user"]).items()}
    return [({**f, "scan_limit": 0, "limit_": 1000},
             lambda rows: {(x["session_id"], x["user_id"]): (x["started_at"], x["ended_at"], x["threads"],
                                                             x["providers"], x["models"]) for x in rows},
             oracle)]


def _count_scanned(r, f):
    return [({**f, "scan_limit": 0}, lambda rows: rows[0]["scanned"], sum(passes(x, f) for x in r["interceptions"]))]


def _count_sessions(r, f):
    return [(f, lambda rows: rows[0]["count"],
             len(sessions_of(x for x in r["interceptions"] if passes(x, f) and x["user"])))]


def _session_initiators(r, f):
    out = []
    for key in ("s1", "s2", "s3", "s4"):
        oracle = {who: (len(v), min(i["started_at"] for i in v), max(i["ended_at"] for i in v))
                  for (_, who), v in sessions_of(x for x in r["interceptions"]
                                                  if passes(x, f) and x["session_id"] == key).items()}
        out.append(({**f, "key_session_id": key},
                    lambda rows: {x["initiator_id"]: (x["interceptions"], x["started_at"], x["ended_at"]) for x in rows},
                    oracle))
    return out


def _count_interceptions(r, f):
    return [(f, lambda rows: rows[0]["count"], sum(passes(x, f) for x in r["interceptions"]))]


def _list_interceptions(r, f):
    return [({**f, "limit_": 1000}, lambda rows: {x["aibridge_interceptions"]["id"] for x in rows},
             {x["id"] for x in r["interceptions"] if passes(x, f) and x["user"]})]


LIST_QUERIES = {
    "ListAIBridgeSessions": _list_sessions,
    "CountAIBridgeSessionsScanned": _count_scanned,
    "CountAIBridgeSessions": _count_sessions,
    "ListAIBridgeSessionInitiators": _session_initiators,
    "CountAIBridgeInterceptions": _count_interceptions,
    "ListAIBridgeInterceptions": _list_interceptions,
}


def telemetry_cases(r):
    i = r["interceptions"]
    everything = {"ended_at_after": at(-60), "ended_at_before": at(600)}
    return [
        everything,
        {"ended_at_after": i[2]["ended_at"], "ended_at_before": at(600)},  # closed at the start
        {"ended_at_after": at(-60), "ended_at_before": i[4]["ended_at"]},  # open at the end
        {**everything, "provider": "openai"},
        {**everything, "model": "m-b"},
        {**everything, "client": "Cursor"},
        {**everything, "client": "Unknown"},
        {**everything, "initiator_id": r["bob"]},
        {**everything, "provider_name": "anthropic-eu"},
    ]


def _telemetry(r, f):
    groups = defaultdict(list)
    for x in r["interceptions"]:
        if (x["ended_at"] is not None and f["ended_at_after"] <= x["ended_at"] < f["ended_at_before"]
                and all(k not in f or ((x[k] or "Unknown") if k == "client" else x[k]) == f[k]
                        for k in ("provider", "model", "client", "initiator_id", "provider_name"))):
            groups[(x["provider"], x["model"], x["client"] or "Unknown")].append(x)
    oracle = {k: (len(v), len({x["initiator_id"] for x in v})) for k, v in groups.items()}
    return [(f, lambda rows: {(x["provider"], x["model"], x["client"]): (x["interception_count"],
                                                                         x["unique_initiator_count"]) for x in rows},
             oracle)]


CASES = {**{name: (list_cases, make) for name, make in LIST_QUERIES.items()},
         **{name: (telemetry_cases, _telemetry) for name in FAMILIES["telemetry-filters"]}}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_condition_of_every_copy_changes_an_answer(module_conn, rows, name):
    conn = module_conn
    q = registry.get(name)
    make_cases, make_checks = CASES[name]
    checks = [c for f in make_cases(rows) if set(f) <= set(q.params) for c in make_checks(rows, f)]
    assert_every_condition_matters(conn, q, checks, at_least=10)
