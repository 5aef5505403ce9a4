"""Faults a user meets at the tool's edge, each in a real subprocess: Ctrl-C during the first
use of a new AIBRIDGE_HOME, three first uses at once, a home that cannot be created, a reader
that leaves the pipe early."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def env_for(home: Path | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIBRIDGE_")}
    if home is not None:
        env["AIBRIDGE_HOME"] = str(home)
    env.update(extra)
    return env


def aibridge(*args: str, env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aibridge_cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def new_home(tmp_path):
    home = tmp_path / "home"
    yield home
    # stop whatever server the test left running in it
    subprocess.run([sys.executable, "-m", "aibridge_cli", "db", "stop"], env=env_for(home), capture_output=True,
                   timeout=60)


def test_ctrl_c_at_any_point_of_first_use_leaves_a_home_the_next_command_finishes(new_home):
    # Ctrl-C reaches the whole foreground process group (initdb and the server included), so
    # the command runs in a group of its own and the group gets the SIGINT. The points fall in
    # initdb, in the server's start and in CREATE DATABASE / migrate (first use takes 5-20 s here).
    for delay in (0.8, 3.0, 7.0):
        p = aibridge("users", "list", env=env_for(new_home), start_new_session=True)
        time.sleep(delay)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=120)
        assert "Traceback" not in err, err
    done = subprocess.run([sys.executable, "-m", "aibridge_cli", "users", "list", "-f", "json"],
                          env=env_for(new_home), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (new_home / "pgdata" / "aibridge-initdb-complete").exists()
    assert not list(new_home.glob("pgdata.init-*"))


def test_a_half_created_pgdata_from_before_is_set_aside_and_made_again(new_home):
    # What an interrupted initdb of an older aibridge left: PG_VERSION and little else.
    (new_home / "pgdata" / "base").mkdir(parents=True)
    (new_home / "pgdata" / "PG_VERSION").write_text("18\n")
    done = subprocess.run([sys.executable, "-m", "aibridge_cli", "users", "list", "-f", "json"],
                          env=env_for(new_home), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "half created" in done.stderr
    assert len(list(new_home.glob("pgdata.broken-*"))) == 1


def test_three_first_uses_at_once_all_succeed(new_home):
    procs = [aibridge("users", "list", "-f", "json", env=env_for(new_home)) for _ in range(3)]
    results = [p.communicate(timeout=240) + (p.returncode,) for p in procs]
    for out, err, code in results:
        assert code == 0, err
        assert out.strip() == "[]"
        assert err == ""


@pytest.mark.parametrize("where", ["/proc/aibridge-x", "FILE/below"])
def test_a_home_that_cannot_be_created_is_one_line_naming_it(tmp_path, where):
    if where.startswith("FILE"):
        (tmp_path / "FILE").write_text("a file, not a folder")
        where = str(tmp_path / where)
    r = subprocess.run([sys.executable, "-m", "aibridge_cli", "users", "list"], env=env_for(Path(where)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot create the aibridge home {where}: "), r.stderr
    assert len(lines) == 2 and lines[1].startswith("hint: ")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_a_reader_that_leaves_early_is_exit_0_under_pipefail(dsn, conn, fmt):
    from factories import add_user

    alice = add_user(conn, "alice")
    # 3,000 rows of 200+ characters: more than a pipe buffer holds, so the writer meets the closed pipe
    conn.execute("INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, ended_at, "
                 "metadata, client) SELECT gen_random_uuid(), %s, 'p', repeat('m', 200), "
                 "now() - make_interval(secs => g), now(), '{}', 'c' FROM generate_series(1, 3000) AS g",
                 (alice["id"],))
    script = (f'set -o pipefail; "{sys.executable}" -m aibridge_cli --dsn "$DSN" interceptions list -n 3000 '
              f'-f {fmt} | head -1')
    r = subprocess.run(["bash", "-c", script], env=env_for(DSN=dsn), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1
    assert "error" not in r.stderr and "Traceback" not in r.stderr and "Exception" not in r.stderr, r.stderr
