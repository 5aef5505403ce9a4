"""Bad input at the command line, one class per test: each is one `error:` line (and a hint),
the documented exit code, no traceback, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from factories import add_interception, add_user, at


def one_error(r, code=2):
    assert r.exit_code == code, r.stderr
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), r.stderr
    assert len(lines) <= 2 and all(ln.startswith(("error: ", "hint: ")) for ln in lines), r.stderr
    assert r.stdout == ""
    return lines[0]


@pytest.mark.parametrize("args, names", [
    (["interceptions", "list", "--model", "\udcff"], "the value of --model"),
    (["--as", "\udcffx", "users", "list"], "the value of --as"),
    (["telemetry", "summary", "--tz", "Europe/\udce9"], "the value of --tz"),
    (["interceptions", "show", "\udcff"], "argument 5"),  # after --dsn DSN
    (["interceptions", "list", "--model=\udcff"], "the value of --model"),
])
def test_arguments_that_are_not_utf8_are_refused_at_the_boundary(cli, args, names):
    line = one_error(cli(*args))
    assert names in line and "not valid UTF-8" in line


def test_a_real_non_utf8_argv_is_one_line(dsn):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIBRIDGE_")}
    r = subprocess.run([sys.executable.encode(), b"-m", b"aibridge_cli", b"--dsn", dsn.encode(), b"interceptions",
                        b"list", b"--model", b"\xff"], env=env, capture_output=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.decode().startswith("error: the value of --model is not valid UTF-8"), r.stderr


@pytest.mark.parametrize("args", [
    ["--timeout", "999999999999d", "users", "list"],
    ["--timeout", "25d", "users", "list"],
    ["prune", "--older-than", "1e20d"],
    ["prune", "--lock-timeout", "9999999d"],
    ["interceptions", "list", "--until", "0001-01-01"],
    ["interceptions", "list", "--since", "99999999w"],
    ["sessions", "list", "--since", "9999-12-31T23:59:59-14:00"],
    ["demo", "--end", "0001-01-01"],
    ["telemetry", "summary", "--ended-before", "0001-01-01"],
])
def test_out_of_range_durations_and_times_are_exit_2(cli, args):
    one_error(cli(*args))


@pytest.mark.parametrize("args", [
    ["interceptions", "list", "--since", "\u0663d"],
    ["interceptions", "list", "-n", "\u0663"],
    ["interceptions", "list", "-n", "1_000"],
    ["interceptions", "list", "--offset", "\uff11"],
    ["interceptions", "list", "--since", "2026-W01"],
    ["interceptions", "list", "--since", "20261126"],
    ["interceptions", "show", "\uff10" * 8 + "-0000-0000-0000-" + "0" * 12],
    ["interceptions", "list", "--after-id", "{00000000-0000-0000-0000-000000000000}"],
])
def test_loose_forms_are_refused_naming_the_accepted_ones(cli, args):
    r = cli(*args)
    one_error(r)
    assert "hint: " in r.stderr


@pytest.mark.parametrize("args", [
    ["prune", "--older-than", ""],
    ["prune", "--before", ""],
    ["interceptions", "list", "--since", ""],
    ["interceptions", "list", "--initiator", ""],
    ["interceptions", "list", "--after-id", ""],
    ["--as", "", "users", "list"],
    ["--dsn", " ", "users", "list"],
    ["telemetry", "summary", "--by", ""],
])
def test_an_empty_value_is_an_error_not_the_default(cli, conn, args):
    alice = add_user(conn, "alice")
    add_interception(conn, alice, started_at=at(0))  # 2026-11-01: older than 60 days by the time anyone reads this
    line = one_error(cli(*args))
    assert "empty" in line or "unknown" in line
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0] == 1


def test_deep_metadata_and_nan_are_one_line(cli, conn):
    alice = add_user(conn, "alice")
    ic = add_interception(conn, alice)
    for doc in ("[" * 100_000, '{"a":' * 2000 + "1" + "}" * 2000, '{"n": NaN}', '{"a": "\\u0000"}'):
        one_error(cli("record", "token-usage", str(ic["id"]), "--metadata", doc))
    assert conn.execute("SELECT count(*) FROM aibridge_token_usages").fetchone()[0] == 0


def test_one_clock_reading_per_command(cli, conn, monkeypatch):
    """The window of `--since 7d` ends where it starts its count: every 'now' of the command is
    the one reading the root callback took."""
    from datetime import datetime, timedelta, timezone

    from aibridge_cli import timeparse

    readings = []
    real = timeparse.datetime

    class Clock(real):
        @classmethod
        def now(cls, tz=None):
            readings.append(1)
            return real(2026, 11, 8, 12, 0, len(readings), tzinfo=timezone.utc)

    monkeypatch.setattr(timeparse, "datetime", Clock)
    alice = add_user(conn, "alice")
    add_interception(conn, alice, started_at=datetime(2026, 11, 1, 12, 0, 1, tzinfo=timezone.utc),
                     ended_at=datetime(2026, 11, 1, 12, 0, 2, tzinfo=timezone.utc))
    r = cli("telemetry", "summary", "--since", "7d", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert len(readings) == 1  # one reading, whatever the command asks "now" for
    window = r.stdout
    assert (datetime(2026, 11, 8, 12, 0, 1, tzinfo=timezone.utc) - timedelta(days=7)).isoformat() in window
