"""`aibridge export parquet`: the export reads back whole in pyarrow and DuckDB, incremental runs
add exactly what changed, a killed run leaves nothing half-written and the next run completes,
and the filters, --as and the privacy options shape what lands in the files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user

END = "2026-11-01T00:00:00Z"
TABLES = {"interceptions": "aibridge_interceptions", "token_usages": "aibridge_token_usages",
          "user_prompts": "aibridge_user_prompts", "tool_usages": "aibridge_tool_usages",
          "model_thoughts": "aibridge_model_thoughts"}
TIME = {"interceptions": "started_at"}


@pytest.fixture
def demo(cli):
    r = cli("demo", "--interceptions", 300, "--days", 6, "--seed", 11, "--end", END)
    assert r.exit_code == 0, r.stderr


def duck(sql: str) -> list:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def read(out: Path, table: str) -> pa.Table:
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


def db_count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {TABLES.get(table, table)}").fetchone()[0]


def export(cli, out, *args):
    r = cli("export", "parquet", str(out), *args)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    return r


def written(r, table: str) -> int:
    line = next(ln for ln in r.stderr.splitlines() if ln.strip().startswith(f"{table}:"))
    return int(line.split(":")[1].split(" rows")[0].replace(",", ""))


def test_reads_back_whole_in_pyarrow_and_duckdb(cli, conn, demo, tmp_path):
    out = tmp_path / "lake"
    export(cli, out)
    for table in TABLES:
        t = read(out, table)
        assert t.num_rows == db_count(conn, table) > 0, table
        col = TIME.get(table, "created_at")
        got = duck(f"""SELECT count(*), count(*) FILTER (WHERE day <> CAST(timezone('UTC', {col}) AS DATE))
                             FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true)""")[0]
        assert got == (t.num_rows, 0), table  # every row sits in the partition of its own UTC day
    assert read(out, "users").num_rows == db_count(conn, "visible_users")
    # Types: UUIDs as strings, times as UTC microseconds, JSON as its text, the rest as themselves.
    schema = read(out, "interceptions").schema
    assert schema.field("id").type == pa.string()
    assert schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert read(out, "token_usages").schema.field("input_tokens").type == pa.int64()
    assert read(out, "tool_usages").schema.field("injected").type == pa.bool_()
    # A sample of whole rows against the database.
    sample = conn.execute("SELECT * FROM aibridge_interceptions ORDER BY md5(id::text) LIMIT 25").fetchall()
    names = [d.name for d in conn.execute("SELECT * FROM aibridge_interceptions LIMIT 0").description]
    rows = {r["id"]: r for r in read(out, "interceptions").to_pylist()}
    for values in sample:
        want = dict(zip(names, values))
        got = rows[str(want["id"])]
        for k, v in want.items():
            if isinstance(v, uuid.UUID):
                v = str(v)
            if k == "metadata" and v is not None:
                assert json.loads(got[k]) == v
            else:
                assert got[k] == v, (k, got[k], v)
    prompts = dict(conn.execute("SELECT id::text, prompt FROM aibridge_user_prompts").fetchall())
    assert {r["id"]: r["prompt"] for r in read(out, "user_prompts").to_pylist()} == prompts
    tokens = conn.execute("SELECT sum(input_tokens), sum(output_tokens) FROM aibridge_token_usages").fetchone()
    assert duck(f"SELECT sum(input_tokens), sum(output_tokens) FROM read_parquet('{out}/token_usages/*/*.parquet', "
                      "hive_partitioning=true)")[0] == tuple(tokens)


def test_incremental_runs_write_exactly_the_changed_days(cli, conn, demo, tmp_path):
    out = tmp_path / "lake"
    first = export(cli, out)
    assert written(first, "interceptions") == db_count(conn, "interceptions")
    again = export(cli, out)
    assert all(written(again, t) == 0 for t in TABLES)
    files = {p: p.stat().st_mtime_ns for p in out.glob("*/day=*/*.parquet")}

    # New rows on a new day; an interception that was in flight ends; a late row on an old day.
    user = conn.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
    new_day = datetime(2026, 11, 3, 9, tzinfo=timezone.utc)
    fresh = add_interception(conn, user, started_at=new_day)
    add_token_usage(conn, fresh, input_tokens=7, output_tokens=8)
    old_day = datetime(2026, 10, 29, 10, tzinfo=timezone.utc)
    flight = add_interception(conn, user, started_at=old_day, ended_at=None)
    third = export(cli, out)
    assert written(third, "interceptions") == 1 + db_count_day(conn, old_day)
    conn.execute("UPDATE aibridge_interceptions SET ended_at = %s WHERE id = %s", [old_day + timedelta(minutes=1), flight["id"]])
    late = add_prompt(conn, {"id": uuid.uuid4(), "started_at": datetime(2026, 10, 28, 1, tzinfo=timezone.utc)}, "late prompt")
    fourth = export(cli, out)
    assert written(fourth, "interceptions") == db_count_day(conn, old_day)  # the day of the one that ended
    assert written(fourth, "user_prompts") == conn.execute(
        "SELECT count(*) FROM aibridge_user_prompts WHERE created_at >= '2026-10-28' AND created_at < '2026-10-29'").fetchone()[0]
    assert written(fourth, "token_usages") == 0

    intercepts = read(out, "interceptions").to_pylist()
    assert len(intercepts) == len({r["id"] for r in intercepts}) == db_count(conn, "interceptions")  # no duplicates
    ended = next(r for r in intercepts if r["id"] == str(flight["id"]))["ended_at"]
    assert ended == old_day + timedelta(minutes=1)
    assert str(late["id"]) in {r["id"] for r in read(out, "user_prompts").to_pylist()}
    assert read(out, "token_usages").num_rows == db_count(conn, "token_usages")
    # Untouched days kept their files.
    unchanged = [p for p, m in files.items() if "2026-10-2" in str(p.parent) and "day=2026-10-28" not in str(p)
                 and "day=2026-10-29" not in str(p)]
    assert unchanged and all(p.stat().st_mtime_ns == files[p] for p in unchanged)


def db_count_day(conn, day: datetime) -> int:
    return conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE (started_at AT TIME ZONE 'UTC')::date = %s",
                        [day.date()]).fetchone()[0]


KILLER = """
import os, signal, sys
from aibridge_cli.data import parquet
calls = 0
real = parquet.AtomicParquet.write
def write(self, batch):
    global calls
    real(self, batch)
    calls += 1
    if calls == int(os.environ["KILL_AFTER"]):
        self._flush()
        os.kill(os.getpid(), signal.SIGKILL)
parquet.AtomicParquet.write = write
from aibridge_cli.cli import main
sys.argv = ["aibridge"] + sys.argv[1:]
main()
"""


def test_a_killed_run_leaves_no_partial_file_and_the_next_run_completes(cli, conn, dsn, demo, tmp_path):
    out = tmp_path / "lake"
    env = {**os.environ, "KILL_AFTER": "15"}
    p = subprocess.run([sys.executable, "-c", KILLER, "--dsn", dsn, "export", "parquet", str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr
    leftovers = list(out.glob("*/day=*/.*.tmp"))
    assert leftovers, "the kill should have left a temporary file behind"
    # What a reader sees is whole: every visible file reads, none is the temporary one.
    visible = list(out.glob("*/*/*.parquet"))
    assert visible and not any(v.name.startswith(".") for v in visible)
    duck(f"SELECT count(*) FROM read_parquet('{out}/*/*/*.parquet', hive_partitioning=true, union_by_name=true)")
    partial = sum(read(out, t).num_rows for t in TABLES if (out / t).exists())
    assert 0 < partial < sum(db_count(conn, t) for t in TABLES)

    export(cli, out)
    assert not list(out.glob("*/day=*/.*.tmp"))
    for table in TABLES:
        t = read(out, table)
        assert t.num_rows == db_count(conn, table), table
        if table != "model_thoughts":
            assert len(set(t.column("id").to_pylist())) == t.num_rows


def test_filters_as_and_privacy_shape_the_files(cli, conn, tmp_path):
    alice, bob = add_user(conn, "alice"), add_user(conn, "bob")
    a = add_interception(conn, alice, provider="openai", model="gpt-5")
    b = add_interception(conn, bob)
    add_prompt(conn, a, "my key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")
    add_prompt(conn, b, "bob's prompt")
    add_tool_usage(conn, a, input='{"password": "hunter22"}')
    add_thought(conn, b, "thinking")
    add_token_usage(conn, b)
    add_token_usage(conn, {"id": uuid.uuid4(), "started_at": a["started_at"]})  # an orphan

    out = tmp_path / "as-alice"
    r = cli("--as", "alice", "export", "parquet", str(out))
    assert r.exit_code == 0, r.stderr
    assert [r["id"] for r in read(out, "interceptions").to_pylist()] == [str(a["id"])]
    assert {r["interception_id"] for r in read(out, "user_prompts").to_pylist()} == {str(a["id"])}
    assert not (out / "model_thoughts").exists() and not (out / "token_usages").exists()
    assert [r["username"] for r in read(out, "users").to_pylist()] == ["alice"]

    everyone = tmp_path / "all"
    export(cli, everyone)
    assert read(everyone, "token_usages").num_rows == 2  # with no filter the orphan is exported too
    provider = tmp_path / "openai"
    export(cli, provider, "--provider", "openai", "--tables", "interceptions,users")
    assert sorted(p.name for p in provider.iterdir() if p.is_dir()) == ["interceptions", "users"]
    assert read(provider, "interceptions").column("provider").to_pylist() == ["openai"]

    hidden = tmp_path / "no-content"
    r = cli("--no-content", "export", "parquet", str(hidden))
    assert r.exit_code == 0, r.stderr
    assert "prompt" not in read(hidden, "user_prompts").schema.names
    assert "input" not in read(hidden, "tool_usages").schema.names
    assert "content" not in read(hidden, "model_thoughts").schema.names

    masked = tmp_path / "redacted"
    r = cli("--redact", "export", "parquet", str(masked))
    assert r.exit_code == 0, r.stderr
    prompts = sorted(read(masked, "user_prompts").column("prompt").to_pylist())
    assert prompts == ["bob's prompt", "my key is [REDACTED:anthropic_key]"]
    assert "hunter22" not in read(masked, "tool_usages").column("input").to_pylist()[0]

    # A directory exported one way refuses an incremental run another way; --full rewrites it whole.
    r = cli("export", "parquet", str(masked))
    assert r.exit_code == 2 and r.stderr.startswith("error: ") and "--full" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("export", "parquet", str(masked), "--full", "--tables", "user_prompts")
    assert r.exit_code == 2 and "every table" in r.stderr
    export(cli, masked, "--full")
    assert "my key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789" in read(masked, "user_prompts").column("prompt").to_pylist()


def test_window_full_and_bad_input(cli, conn, demo, tmp_path):
    out = tmp_path / "lake"
    export(cli, out, "--since", "2026-10-30T13:00:00Z", "--until", "2026-10-30T14:00:00Z", "--tables", "interceptions")
    days = sorted(p.name for p in (out / "interceptions").iterdir())
    assert days == ["day=2026-10-30"]  # the window widens to whole days: the day's file is complete
    assert read(out, "interceptions").num_rows == db_count_day(conn, datetime(2026, 10, 30, tzinfo=timezone.utc))

    export(cli, out, "--tables", "interceptions")
    conn.execute("DELETE FROM aibridge_interceptions WHERE started_at < '2026-10-28'")  # as a prune would
    kept = export(cli, out, "--tables", "interceptions")
    assert "fewer rows than were exported" in kept.stderr
    assert read(out, "interceptions").num_rows > db_count(conn, "interceptions")  # the lake keeps what was pruned
    export(cli, out, "--tables", "interceptions", "--full")
    assert read(out, "interceptions").num_rows == db_count(conn, "interceptions")

    for args, text in ((("--tables", "bogus"), "unknown table"), (("--since", "yesterday-ish"), "--since")):
        r = cli("export", "parquet", str(tmp_path / "x"), *args)
        assert r.exit_code == 2 and r.stderr.startswith("error: ") and text in r.stderr, r.stderr


def test_prefetch_hands_over_errors_and_stops_its_thread_when_the_reader_leaves():
    import threading

    from aibridge_cli.data.parquet import prefetch

    closed = []

    def batches(fail_at=None):
        try:
            for i in range(100):
                if i == fail_at:
                    raise RuntimeError("the database went away")
                yield i
        finally:
            closed.append(True)

    assert list(prefetch(batches())) == list(range(100))
    got = []
    with pytest.raises(RuntimeError, match="went away"):
        for item in prefetch(batches(fail_at=7)):
            got.append(item)
    assert got == list(range(7))
    early = prefetch(batches())
    assert [next(early) for _ in range(3)] == [0, 1, 2]
    early.close()
    assert len(closed) == 3  # every source was closed, the abandoned one too
    assert not any(t.name == "aibridge-export-fetch" for t in threading.enumerate())


def test_on_a_terminal_a_progress_bar_goes_to_stderr_and_the_export_completes(dsn, conn, demo, tmp_path):
    import pty

    master, slave = pty.openpty()
    out = tmp_path / "lake"
    try:
        p = subprocess.Popen([sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "export", "parquet", str(out)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        p.wait(timeout=120)
    finally:
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert p.returncode == 0, text
    assert p.stdout.read() == b""
    assert "Traceback" not in text and "exported to" in text
    assert "rows" in text.split("exported to")[0]  # the bar, drawn before the summary
    assert read(out, "interceptions").num_rows == db_count(conn, "interceptions")
