"""`aibridge prune` among other transactions: one prune at a time, locked interceptions skipped
and taken by the second pass or the next run, lock waits retried after a doubling pause, and a
batch that cannot get its locks giving up whole."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import psycopg
import pytest
from factories import add_interception
from prune_data import CHILD_TABLES, CUTOFF, expected_after, mixed_data, orphans, snapshot, with_children

from aibridge_cli.db import query


@pytest.fixture
def mixed(conn):
    return mixed_data(conn)


def test_a_second_prune_is_refused_while_one_holds_the_lock(cli, conn, mixed, dsn):
    before = snapshot(conn)
    assert query.one(conn, "TryPruneLock")["acquired"] is True
    r = cli("prune", "--before", CUTOFF.isoformat())
    assert r.exit_code == 3
    assert r.stdout == ""
    assert r.stderr.startswith("error: another aibridge prune is already running")
    assert snapshot(conn) == before
    query.one(conn, "ReleasePruneLock")
    assert cli("prune", "--before", CUTOFF.isoformat()).exit_code == 0
    # The finished prune released its lock: this session can take it again.
    assert query.one(conn, "TryPruneLock")["acquired"] is True


def test_a_locked_old_interception_is_skipped_and_taken_by_the_next_run(cli, conn, mixed, dsn):
    held = mixed["old"][3]["id"]
    with psycopg.connect(dsn) as other:
        other.execute("SELECT 1 FROM aibridge_interceptions WHERE id = %s FOR UPDATE", [held])
        r = cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", "2", "-f", "json")
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["interceptions"] == 9
        after = snapshot(conn)
        assert {i for i, _ in after["interceptions"]} == {i["id"] for i in mixed["new"]} | {held}
        assert orphans(after) == dict.fromkeys(CHILD_TABLES, set())
        assert any(i == held for _, i in after["token_usages"])
        other.rollback()
    r = cli("prune", "--before", CUTOFF.isoformat(), "-f", "json")
    assert json.loads(r.stdout)["interceptions"] == 1
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {i["id"] for i in mixed["new"]}


def test_a_batch_that_cannot_get_a_child_row_lock_gives_up_whole(cli, conn, mixed, dsn, monkeypatch):
    from aibridge_cli.data import prune

    monkeypatch.setattr(prune, "RETRY_PAUSE_S", 0.01)
    # Slices of the id space are taken in order: an old interception in the first slice goes
    # before the victim, which sits in the last one.
    alice = mixed["old"][0]["initiator_id"]
    first = with_children(conn, add_interception(conn, alice, id=uuid.UUID(int=1), started_at=CUTOFF - timedelta(days=5)))
    victim = with_children(conn, add_interception(conn, alice, id=uuid.UUID(int=2**128 - 2),
                                                  started_at=CUTOFF - timedelta(days=5)))["id"]
    before = snapshot(conn)
    with psycopg.connect(dsn) as other:
        other.execute("SELECT 1 FROM aibridge_token_usages WHERE interception_id = %s FOR UPDATE", [victim])
        r = cli("prune", "--before", CUTOFF.isoformat(), "--lock-timeout", "300ms", "--batch-size", "5000")
        other.rollback()
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-2].startswith("error: gave up waiting for a lock")
    after = snapshot(conn)
    assert orphans(after) == dict.fromkeys(CHILD_TABLES, set())
    # Every interception is whole or gone: the failing batch (the victim's) deleted nothing.
    assert victim in {i for i, _ in after["interceptions"]}
    for i, _ in after["interceptions"]:
        for t in CHILD_TABLES:
            assert {r for r in before[t] if r[1] == i} == {r for r in after[t] if r[1] == i}
    # The slices before the victim's were deleted, and the report says so.
    slice_of = lambda i: next(k for k, (lo, hi) in enumerate(prune.ID_SLICES) if lo <= i <= hi)  # noqa: E731
    old = [i["id"] for i in mixed["old"]] + [first["id"], victim]
    gone = {i for i, _ in before["interceptions"]} - {i for i, _ in after["interceptions"]}
    assert first["id"] in gone
    assert gone == {i for i in old if slice_of(i) < slice_of(victim)}
    assert r.stderr.startswith("before the failure: deleted")


def test_the_second_pass_takes_what_the_first_found_locked(conn, mixed, dsn):
    """An interception the bridge holds while the first pass goes by (SKIP LOCKED passes over
    it) is deleted by the second pass once the bridge lets go."""
    from aibridge_cli.data import prune

    before = snapshot(conn)
    old_ids = {i["id"] for i in mixed["old"]}
    held = mixed["old"][3]["id"]
    passes = []
    with psycopg.connect(dsn) as bridge:
        bridge.execute("SELECT 1 FROM aibridge_interceptions WHERE id = %s FOR UPDATE", [held])

        class LetGoBetweenPasses(prune.Pruner):
            def _pass(self):
                n = super()._pass()
                passes.append(n)
                bridge.rollback()  # the bridge's transaction ends after the first pass
                return n

        with psycopg.connect(dsn, autocommit=True) as c:
            out = LetGoBetweenPasses(c, CUTOFF, batch_size=2, deadline=None, lock_timeout_ms=2000,
                                     statement_timeout_ms=60_000).run(orphans=False)
    assert passes == [len(old_ids) - 1, 1]
    assert out.deleted["interceptions"] == len(old_ids)
    assert snapshot(conn) == expected_after(before, old_ids)


def _lock_child_rows(dsn, interception_id):
    other = psycopg.connect(dsn)
    other.execute("SELECT 1 FROM aibridge_token_usages WHERE interception_id = %s FOR UPDATE", [interception_id])
    return other


def test_a_batch_that_waited_too_long_for_a_lock_is_retried(cli, conn, mixed, dsn, monkeypatch):
    from aibridge_cli.data import prune

    before = snapshot(conn)
    old_ids = {i["id"] for i in mixed["old"]}
    other = _lock_child_rows(dsn, mixed["old"][0]["id"])
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        other.rollback()  # the lock goes away while the prune waits to retry

    monkeypatch.setattr(prune.time, "sleep", pause)
    try:
        r = cli("prune", "--before", CUTOFF.isoformat(), "--lock-timeout", "200ms", "-f", "json")
    finally:
        other.close()
    assert r.exit_code == 0, r.stderr
    assert pauses == [prune.RETRY_PAUSE_S]
    assert json.loads(r.stdout)["interceptions"] == len(old_ids)
    assert snapshot(conn) == expected_after(before, old_ids)


def test_lock_retries_double_the_pause_and_stop_after_three(cli, conn, mixed, dsn, monkeypatch):
    from aibridge_cli.data import prune

    other = _lock_child_rows(dsn, mixed["old"][0]["id"])
    pauses = []
    monkeypatch.setattr(prune.time, "sleep", pauses.append)
    try:
        r = cli("prune", "--before", CUTOFF.isoformat(), "--lock-timeout", "100ms")
    finally:
        other.close()
    assert r.exit_code == 1 and "gave up waiting for a lock" in r.stderr
    helptext = " ".join(re.sub(r"[│╭╮╰╯─]", " ", cli("prune", "--help").stdout).split())
    assert "(3 times, then exit 1)" in helptext  # what --lock-timeout promises
    assert pauses == [prune.RETRY_PAUSE_S * 2**k for k in range(3)]
