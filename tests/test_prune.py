"""`aibridge prune`: exact per-table counts, batches that never leave orphans (even when the
process is killed), one prune at a time, and clean failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from factories import add_interception, add_user
from prune_data import CHILD_TABLES, CUTOFF, expected_after, mixed_data, orphans, snapshot, with_children
from psycopg.conninfo import make_conninfo

from aibridge_cli.db import copy_format, query


@pytest.fixture
def mixed(conn):
    return mixed_data(conn)


@pytest.mark.parametrize("batch_size", ["1", "2", "5000"])
def test_prune_deletes_exactly_the_old_interceptions_and_their_children(cli, conn, mixed, batch_size):
    before = snapshot(conn)
    old_ids = {i["id"] for i in mixed["old"]}
    want = expected_after(before, old_ids)
    r = cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", batch_size, "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    after = snapshot(conn)
    assert after == want
    for t in before:
        assert doc[t] == len(before[t]) - len(want[t]), t
    assert doc["total_deleted"] == sum(len(before[t]) - len(want[t]) for t in before)
    assert doc["interceptions"] == 10 and doc["dry_run"] is False and doc["stopped_early"] is False
    assert orphans(after) == dict.fromkeys(CHILD_TABLES, set())


def test_rows_exactly_at_the_cutoff_are_kept(cli, conn, mixed):
    at = mixed["at_cutoff"]["id"]
    assert cli("prune", "--before", CUTOFF.isoformat()).exit_code == 0
    after = snapshot(conn)
    assert at in {i for i, _ in after["interceptions"]}
    assert sum(1 for _, i in after["token_usages"] if i == at) == 2


def test_children_of_newer_interceptions_are_never_touched(cli, conn, mixed):
    new_ids = {i["id"] for i in mixed["new"]}
    before = snapshot(conn)
    assert cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", "1").exit_code == 0
    after = snapshot(conn)
    for t in CHILD_TABLES:
        assert {r for r in before[t] if r[1] in new_ids} == {r for r in after[t] if r[1] in new_ids}


def test_dry_run_counts_per_table_and_deletes_nothing(cli, conn, mixed):
    before = snapshot(conn)
    want = expected_after(before, {i["id"] for i in mixed["old"]})
    r = cli("prune", "--before", CUTOFF.isoformat(), "--dry-run", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] is True
    for t in before:
        assert doc[t] == len(before[t]) - len(want[t])
    assert snapshot(conn) == before


def test_summary_line_when_not_on_a_terminal_and_quiet_prints_nothing(cli, conn, mixed):
    r = cli("prune", "--before", CUTOFF.isoformat(), "--dry-run")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dry run: would delete") and "10 interceptions" in lines[0]
    assert r.stderr == ""
    r = cli("prune", "--before", CUTOFF.isoformat(), "--quiet")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {i["id"] for i in mixed["new"]}


def test_older_than_is_measured_from_now_and_defaults_to_60_days(cli, conn):
    from aibridge_cli.timeparse import utcnow

    alice = add_user(conn, "alice")
    now = utcnow()
    keep = [add_interception(conn, alice, started_at=now - timedelta(days=d)) for d in (1, 59)]
    gone = [add_interception(conn, alice, started_at=now - timedelta(days=d)) for d in (61, 365)]
    r = cli("prune", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["interceptions"] == 2
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {i["id"] for i in keep}
    assert all(i["id"] not in {x for x, _ in snapshot(conn)["interceptions"]} for i in gone)
    r = cli("prune", "--older-than", "30d", "-f", "json")
    assert json.loads(r.stdout)["interceptions"] == 1
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {keep[0]["id"]}


def test_orphans_are_removed_and_counted_separately(cli, conn, mixed):
    ghost_ids = [uuid.UUID(int=0), uuid.uuid4(), uuid.uuid4(), uuid.UUID(int=2**128 - 1)]
    for g in ghost_ids:
        ghost = {"id": g, "started_at": CUTOFF + timedelta(days=5)}  # an interception that is gone
        with_children(conn, ghost, n_tokens=2)
    before = snapshot(conn)
    old_ids = {i["id"] for i in mixed["old"]}
    ghosts = set(ghost_ids)
    r = cli("prune", "--before", CUTOFF.isoformat(), "--orphans", "--dry-run", "-f", "json")
    doc = json.loads(r.stdout)
    for t in CHILD_TABLES:
        assert doc[f"orphan_{t}"] == sum(1 for x in before[t] if x[1] in ghosts)
    assert snapshot(conn) == before
    r = cli("prune", "--before", CUTOFF.isoformat(), "--orphans", "--batch-size", "2", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    after = snapshot(conn)
    assert after == expected_after(before, old_ids | ghosts)
    for t in CHILD_TABLES:
        assert doc[t] == sum(1 for x in before[t] if x[1] in old_ids)
        assert doc[f"orphan_{t}"] == sum(1 for x in before[t] if x[1] in ghosts)
    assert doc["orphans_deleted"] == sum(doc[f"orphan_{t}"] for t in CHILD_TABLES) == 4 * 5
    assert doc["total_deleted"] == sum(doc[t] for t in ("interceptions", *CHILD_TABLES))


def test_max_duration_stops_between_batches_and_reports_what_remains(cli, conn, mixed, monkeypatch):
    from aibridge_cli.data import prune

    clock = iter(range(0, 10_000, 2))  # every look at the clock is two seconds later
    monkeypatch.setattr(prune.time, "monotonic", lambda: float(next(clock)))
    before = snapshot(conn)
    r = cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", "2", "--max-duration", "5s", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    after = snapshot(conn)
    assert doc["stopped_early"] is True and doc["batches"] >= 1
    assert doc["interceptions"] < 10
    assert doc["remaining_interceptions"] == sum(1 for _, s in after["interceptions"] if s < CUTOFF)
    assert doc["interceptions"] + doc["remaining_interceptions"] == 10
    assert len(before["interceptions"]) - len(after["interceptions"]) == doc["interceptions"]
    assert orphans(after) == dict.fromkeys(CHILD_TABLES, set())
    r = cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", "2", "--max-duration", "5s")
    assert "stopped early by --max-duration 5s" in r.stdout
    monkeypatch.undo()
    assert cli("prune", "--before", CUTOFF.isoformat(), "--batch-size", "2").exit_code == 0
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {i["id"] for i in mixed["new"]}


@pytest.mark.parametrize("args, message", [
    (["--older-than", "30d", "--before", "2026-01-01"], "--older-than and --before cannot be used together"),
    (["--older-than", "soon"], "--older-than: cannot read 'soon' as a duration"),
    (["--older-than", "0d"], "--older-than must be longer than zero"),
    (["--before", "2999-01-01"], "--before '2999-01-01' is in the future"),
    (["--before", "last tuesday"], "--before: cannot read 'last tuesday' as a time"),
    (["--max-duration", "0s"], "--max-duration must be longer than zero"),
    (["--lock-timeout", "x"], "--lock-timeout: cannot read 'x' as a duration"),
    (["--format", "csv"], "--format csv is not available for prune"),
    (["--batch-size", "0"], "Invalid value for '--batch-size'"),
])
def test_bad_input_is_one_line_exit_2_and_deletes_nothing(cli, conn, mixed, args, message):
    before = snapshot(conn)
    r = cli("prune", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.splitlines()[0].startswith("error: ") and message in r.stderr.splitlines()[0]
    assert snapshot(conn) == before


def test_missing_tables_is_a_clean_failure(empty_dsn):
    from conftest import make_cli

    r = make_cli(empty_dsn)("prune")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_reference_single_statement_query_counts_every_row(conn, mixed):
    before = snapshot(conn)
    want = expected_after(before, {i["id"] for i in mixed["old"]})
    with conn.transaction():
        total = query.one(conn, "DeleteOldAIBridgeRecords", before_time=CUTOFF)["total_deleted"]
    assert total == sum(len(before[t]) - len(want[t]) for t in before)
    assert snapshot(conn) == want


# --- roles: only the tables' owner prunes ---------------------------------------------------

@pytest.fixture
def role(conn, dsn):
    name = f"prune_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name, make_conninfo(dsn, user=name)
    conn.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
    conn.execute(f'DROP OWNED BY "{name}"')
    conn.execute(f'DROP ROLE "{name}"')


TABLE_NAMES = [f"aibridge_{t}" for t in ("interceptions", *CHILD_TABLES)]


def test_a_role_that_does_not_own_the_tables_is_refused(conn, mixed, role):
    from conftest import make_cli

    name, role_dsn = role
    for t in TABLE_NAMES:
        conn.execute(f'GRANT SELECT, DELETE ON {t} TO "{name}"')
    before = snapshot(conn)
    r = make_cli(role_dsn)("prune", "--before", CUTOFF.isoformat())
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: only the owner of the AI Bridge tables can prune: role '{name}'")
    assert snapshot(conn) == before


def test_an_insufficient_privilege_in_a_batch_deletes_nothing_of_it(conn, mixed, role):
    from conftest import make_cli

    name, role_dsn = role
    for t in TABLE_NAMES:
        conn.execute(f'ALTER TABLE {t} OWNER TO "{name}"')
    conn.execute(f'REVOKE DELETE ON aibridge_model_thoughts FROM "{name}"')
    before = snapshot(conn)
    r = make_cli(role_dsn)("prune", "--before", CUTOFF.isoformat(), "--batch-size", "1")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: permission denied")
    assert len(r.stderr.splitlines()) <= 2 and "Traceback" not in r.stderr
    assert snapshot(conn) == before
    # The owner with every privilege prunes fine.
    conn.execute(f'GRANT DELETE ON aibridge_model_thoughts TO "{name}"')
    assert make_cli(role_dsn)("prune", "--before", CUTOFF.isoformat()).exit_code == 0
    assert {i for i, _ in snapshot(conn)["interceptions"]} == {i["id"] for i in mixed["new"]}


def test_forced_row_level_security_is_refused(conn, mixed, role):
    from conftest import make_cli

    name, role_dsn = role
    for t in TABLE_NAMES:
        conn.execute(f'ALTER TABLE {t} OWNER TO "{name}"')
    conn.execute("ALTER TABLE aibridge_tool_usages ENABLE ROW LEVEL SECURITY")
    conn.execute("ALTER TABLE aibridge_tool_usages FORCE ROW LEVEL SECURITY")
    before = snapshot(conn)
    r = make_cli(role_dsn)("prune", "--before", CUTOFF.isoformat())
    assert r.exit_code == 1
    assert "row-level security applies" in r.stderr and "aibridge_tool_usages" in r.stderr
    assert snapshot(conn) == before


# --- a run killed between batches -------------------------------------------------------------

def load_bulk(conn, n_old: int, n_new: int) -> tuple[set, set]:
    """Old and new interceptions with four child rows each, loaded with COPY."""
    from factories import add_user

    user = add_user(conn, f"bulk-{uuid.uuid4().hex[:8]}")["id"]
    old_ids, new_ids = set(), set()
    inter, tokens, prompts, tools, thoughts = [], [], [], [], []
    for k in range(n_old + n_new):
        iid = uuid.uuid4()
        is_old = k < n_old
        started = CUTOFF - timedelta(days=90) + timedelta(seconds=k) if is_old else CUTOFF + timedelta(seconds=k)
        (old_ids if is_old else new_ids).add(iid)
        inter.append((iid, user, "anthropic", "claude", started, {}, started, None, "Codex", None, None, None))
        tokens.append((uuid.uuid4(), iid, "r", 10, 5, None, started))
        prompts.append((uuid.uuid4(), iid, "r", "hi", None, started))
        tools.append((uuid.uuid4(), iid, "r", None, "bash", "{}", False, None, None, started, None))
        thoughts.append((iid, "hmm", None, started))
    for table, rows in (("aibridge_interceptions", inter), ("aibridge_token_usages", tokens),
                        ("aibridge_user_prompts", prompts), ("aibridge_tool_usages", tools),
                        ("aibridge_model_thoughts", thoughts)):
        copy_format.copy_rows(conn, table, rows)
    return old_ids, new_ids


def prune_process(dsn, *args):
    return subprocess.Popen([sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "prune", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def wait_for_lock(conn, timeout=30.0):
    """Until the killed prune's session is gone (its advisory lock is free again)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if query.one(conn, "TryPruneLock")["acquired"]:
            query.one(conn, "ReleasePruneLock")
            return
        time.sleep(0.05)
    raise AssertionError("the killed prune's session kept the lock")


def test_a_prune_killed_mid_run_leaves_no_orphans_and_a_rerun_finishes(conn, dsn):
    old_ids, new_ids = load_bulk(conn, n_old=12_000, n_new=2_000)
    total = len(old_ids) + len(new_ids)
    proc = prune_process(dsn, "--before", CUTOFF.isoformat(), "--batch-size", "20")
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and proc.poll() is None:
            n = conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]
            if n <= total - 1_000:  # well into the run: dozens of batches committed
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the prune ended before it could be killed: {proc.communicate()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    wait_for_lock(conn)
    mid = snapshot(conn)
    left = {i for i, _ in mid["interceptions"]}
    assert new_ids <= left and left & old_ids and len(left & old_ids) <= len(old_ids) - 1_000
    assert orphans(mid) == dict.fromkeys(CHILD_TABLES, set())
    for t in CHILD_TABLES:  # every surviving interception still has all its children
        assert {i for _, i in mid[t]} == left

    rerun = prune_process(dsn, "--before", CUTOFF.isoformat(), "--batch-size", "500", "-f", "json")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    doc = json.loads(out)
    assert doc["interceptions"] == len(left & old_ids)
    assert doc["total_deleted"] == 5 * len(left & old_ids)
    after = snapshot(conn)
    assert {i for i, _ in after["interceptions"]} == new_ids
    for t in CHILD_TABLES:
        assert {i for _, i in after[t]} == new_ids and len(after[t]) == len(new_ids)
    assert orphans(after) == dict.fromkeys(CHILD_TABLES, set())
