"""`record import --follow` / `--commit-every` / `--commit-interval`: records become visible while
the stream goes on, a rotated file is followed, a SIGKILLed run restarted from the beginning
stores nothing twice, and bad lines are skipped or stop the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pytest

USER = {"type": "user", "id": str(uuid.uuid4()), "username": "streamer", "email": "s@example.com"}


def interception(n: int) -> list[dict]:
    iid = str(uuid.uuid4())
    at = f"2026-11-01T12:{n // 60:02d}:{n % 60:02d}Z"
    return [{"type": "interception", "id": iid, "initiator": "streamer", "provider": "anthropic", "model": "m",
             "started_at": at},
            {"type": "token_usage", "id": str(uuid.uuid4()), "interception_id": iid, "provider_response_id": "r",
             "input_tokens": n, "output_tokens": 1, "created_at": at},
            {"type": "interception_end", "id": iid, "ended_at": at}]


def text(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def counts(conn) -> tuple[int, int, int]:
    return conn.execute("""SELECT (SELECT count(*) FROM aibridge_interceptions),
                                  (SELECT count(*) FROM aibridge_interceptions WHERE ended_at IS NOT NULL),
                                  (SELECT count(*) FROM aibridge_token_usages)""").fetchone()


def wait_for(conn, want: int, proc=None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if counts(conn)[0] >= want:
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the import ended early: {proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{counts(conn)} after {timeout}s, waiting for {want} interceptions")


def start(dsn: str, *args: str, stdin=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "record", "import", *args],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def append(path, records, partial: bool = False) -> None:
    data = text(records)
    with open(path, "a") as f:
        if partial:  # a writer caught mid-line: the reader must wait for the newline
            f.write(data[:25])
            f.flush()
            time.sleep(0.5)
            data = data[25:]
        f.write(data)


@pytest.fixture
def conn(dsn):
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


def test_follow_commits_while_the_file_grows_survives_rotation_and_a_kill(dsn, conn, tmp_path):
    log = tmp_path / "gateway.ndjson"
    log.write_text(text([USER] + interception(1) + interception(2)))
    proc = start(dsn, str(log), "--follow", "--commit-interval", "200ms")
    try:
        wait_for(conn, 2, proc)
        append(log, interception(3), partial=True)
        wait_for(conn, 3, proc)
        assert counts(conn) == (3, 3, 3)
        # Rotation: the file moves away and a new one takes its name.
        log.rename(tmp_path / "gateway.ndjson.1")
        log.write_text(text(interception(4) + interception(5)))
        wait_for(conn, 5, proc)
        # Half a record's lines arrive, then the process is killed before it could commit more.
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    append(log, interception(6))
    before = counts(conn)
    assert before == (5, 5, 5)
    # The restart reads the file from its beginning: what is stored is skipped, the rest written.
    again = start(dsn, str(log), "--follow", "--commit-interval", "200ms")
    try:
        wait_for(conn, 6, again)
        again.send_signal(signal.SIGTERM)  # like Ctrl-C: commits what it read, then stops
        _, err = again.communicate(timeout=20)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 130, err
    assert counts(conn) == (6, 6, 6)
    inputs = [r[0] for r in conn.execute("SELECT input_tokens FROM aibridge_token_usages ORDER BY 1")]
    assert inputs == [1, 2, 3, 4, 5, 6]


def test_stdin_commits_before_it_ends(dsn, conn):
    proc = start(dsn, "-", "--commit-every", "3", "--commit-interval", "1h", stdin=subprocess.PIPE)
    try:
        proc.stdin.write(text([USER] + interception(1)))
        proc.stdin.flush()
        wait_for(conn, 1, proc)  # four records: three committed, the pipe still open
        _, err = proc.communicate(input=text(interception(2)), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert counts(conn) == (2, 2, 2)
    assert "7 records read" in err and "3 commit(s)" in err  # at 3 and 6 records, and at the end


def test_bad_lines_are_skipped_or_stop_the_run(cli, conn, tmp_path):
    good = [USER] + interception(1)
    path = tmp_path / "bad.ndjson"
    path.write_text(text(good) + "{not json\n" + text(interception(2)))
    r = cli("record", "import", str(path), "--commit-every", "2", "--on-error", "skip")
    assert r.exit_code == 0, r.stderr
    assert "line 5" in r.stderr and "skipped" in r.stderr
    assert counts(conn) == (2, 2, 2)

    conn.execute("TRUNCATE aibridge_interceptions, aibridge_token_usages")
    r = cli("record", "import", str(path), "--commit-every", "2")
    assert r.exit_code == 2 and r.stderr.startswith("error: line 5")
    assert counts(conn) == (1, 1, 1)  # what came before the bad line is committed

    for args, msg in ((("--on-error", "skip"), "streaming"), (("--follow", "--dry-run"), "--dry-run"),
                      (("--commit-every", "1", "--on-error", "maybe"), "--on-error"),
                      (("--commit-interval", "soon"), "--commit-interval")):
        r = cli("record", "import", str(path), *args)
        assert r.exit_code == 2 and r.stderr.startswith("error: ") and msg in r.stderr, (args, r.stderr)
