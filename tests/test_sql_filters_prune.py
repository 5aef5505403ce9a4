"""The conditions repeated across the prune queries (see tests/sql_blocks.py): every condition
of every copy matters. Each query runs, in a transaction rolled back, under cases on old
interceptions with child rows and must give what Python computes from the same rows; then each
condition of its copy is broken in turn and some case must tell the difference."""

from __future__ import annotations

import uuid

import pytest
from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user, at
from sql_blocks import assert_every_condition_matters

from aibridge_cli.sqlc import registry
from aibridge_cli.sqlc.translate import NIL_UUID


@pytest.fixture(scope="module")
def old(module_conn):
    """Old interceptions, two of them starting at the same instant, with a child row each."""
    conn = module_conn
    u = add_user(conn, "pat")
    same = at(30)
    spec = [at(0), at(10), same, same, at(40), at(50)]
    out = []
    for k, started in enumerate(spec):
        i = add_interception(conn, u, started_at=started, id=uuid.UUID(int=(k + 1) * 2**120))
        add_token_usage(conn, i)
        add_prompt(conn, i, "p")
        add_tool_usage(conn, i)
        add_thought(conn, i, "t")
        out.append(i)
    return sorted(out, key=lambda i: (i["started_at"], i["id"]))


def prune_window_cases(old):
    keys = [(i["started_at"], i["id"]) for i in old]
    zero = (at(-10**6), NIL_UUID)
    return [
        {"before_time": at(100), "after": zero, "inclusive": True},
        {"before_time": old[4]["started_at"], "after": zero, "inclusive": True},  # on a start: that row is out
        {"before_time": at(100), "after": keys[2], "inclusive": True},  # on a key: in only when inclusive
        {"before_time": at(100), "after": keys[2], "inclusive": False},
        {"before_time": at(100), "after": keys[3], "inclusive": False},
    ]


def in_prune_window(old, f):
    return [i for i in old if i["started_at"] < f["before_time"]
            and (i["started_at"], i["id"]) >= f["after"]
            and (f["inclusive"] or (i["started_at"], i["id"]) != f["after"])]


def _window_end(old, f):
    picked = in_prune_window(old, f)
    params = {"before_time": f["before_time"], "after_started_at": f["after"][0], "after_id": f["after"][1],
              "inclusive": f["inclusive"], "window_size": 100}
    return [(params, lambda rows: (rows[0]["interceptions"], rows[0]["last_id"]),
             (len(picked), picked[-1]["id"] if picked else None))]


def _batch(old, f):
    picked = in_prune_window(old, f)
    params = {"before_time": f["before_time"], "after_started_at": f["after"][0], "after_id": f["after"][1],
              "inclusive": f["inclusive"], "upto_started_at": at(10**6), "upto_id": uuid.UUID(int=2**128 - 1),
              "id_low": NIL_UUID, "id_high": uuid.UUID(int=2**128 - 1), "batch_size": 100}
    return [(params, lambda rows: (rows[0]["interceptions"], rows[0]["token_usages"], rows[0]["last_id"]),
             (len(picked), len(picked), picked[-1]["id"] if picked else None))]


def _old_records(name):
    def make(old, f):
        n = sum(i["started_at"] < f["before_time"] for i in old)
        if name == "CountOldAIBridgeRecords":
            return [({"before_time": f["before_time"]}, lambda rows: (rows[0]["interceptions"], rows[0]["tool_usages"]),
                     (n, n))]
        return [({"before_time": f["before_time"]}, lambda rows: rows[0]["total_deleted"], 5 * n)]
    return make


def old_cases(old):
    return [{"before_time": t} for t in (at(100), old[2]["started_at"], old[0]["started_at"])]


def orphan_cases(old):
    # After the first of three orphaned interception ids: in when inclusive, out when not.
    return [{"after": None, "inclusive": True}, {"after": 0, "inclusive": True}, {"after": 0, "inclusive": False},
            {"after": 1, "inclusive": False}]


ORPHAN_TABLE = {"PruneOrphanTokenUsages": "aibridge_token_usages", "PruneOrphanUserPrompts": "aibridge_user_prompts",
                "PruneOrphanToolUsages": "aibridge_tool_usages", "PruneOrphanModelThoughts": "aibridge_model_thoughts"}


def _orphans(old, f):
    ids = sorted(i["id"] for i in old[:3])  # the test deletes these interceptions, leaving orphans
    after = NIL_UUID if f["after"] is None else ids[f["after"]]
    scanned = [x for x in sorted(i["id"] for i in old) if x >= after and (f["inclusive"] or x != after)]
    params = {"after_id": after, "inclusive": f["inclusive"], "batch_size": 100}
    return [(params, lambda rows: (rows[0]["deleted"], rows[0]["scanned"], rows[0]["last_id"]),
             (sum(x in ids for x in scanned), len(scanned), scanned[-1] if scanned else None))]


PRUNE_CASES = {
    "PruneWindowEnd": (prune_window_cases, _window_end),
    "PruneInterceptionBatch": (prune_window_cases, _batch),
    "CountOldAIBridgeRecords": (old_cases, _old_records("CountOldAIBridgeRecords")),
    "DeleteOldAIBridgeRecords": (old_cases, _old_records("DeleteOldAIBridgeRecords")),
    **{name: (orphan_cases, _orphans) for name in ORPHAN_TABLE},
}


@pytest.mark.parametrize("name", sorted(PRUNE_CASES))
def test_every_condition_of_every_prune_copy_changes_an_answer(module_conn, old, name):
    with module_conn.transaction(force_rollback=True):
        if name in ORPHAN_TABLE:
            # Orphans: the interceptions of the three oldest are gone, their child rows stay.
            module_conn.execute("DELETE FROM aibridge_interceptions WHERE id = ANY(%s)", [[i["id"] for i in old[:3]]])
        _prune_checks(module_conn, old, name)


def _prune_checks(conn, old, name):
    q = registry.get(name)
    make_cases, make_checks = PRUNE_CASES[name]
    checks = [c for f in make_cases(old) for c in make_checks(old, f)]
    assert_every_condition_matters(conn, q, checks, at_least=2, rolled_back=True)
