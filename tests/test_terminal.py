"""Habits from psql: global options after the command, profiles, shell completion, a pager."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import make_cli
from factories import add_interception, add_user

from aibridge_cli.cli import hoist_global_options


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("AIBRIDGE_PROFILE", raising=False)
    (home / "aibridge").mkdir(parents=True)
    return home / "aibridge" / "config.toml"


def write_config(path: Path, text: str, mode: int = 0o600) -> None:
    path.write_text(text)
    path.chmod(mode)


# --- global options anywhere ---------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["sessions", "list", "--dsn", "X", "-n", "3"], ["--dsn", "X", "sessions", "list", "-n", "3"]),
    (["--as", "bob", "sessions", "list", "--redact", "--timeout=5s"],
     ["--as", "bob", "--redact", "--timeout=5s", "sessions", "list"]),
    (["record", "import", "-", "--", "--dsn", "x"], ["record", "import", "-", "--", "--dsn", "x"]),
    (["telemetry", "summary", "--no-content", "--by", "day"], ["--no-content", "telemetry", "summary", "--by", "day"]),
])
def test_global_options_move_in_front_of_the_command(args, expected):
    assert hoist_global_options(args) == expected


def test_global_options_after_the_command_take_effect(dsn, conn):
    add_user(conn, "zoe")
    anywhere = make_cli(None)
    r = anywhere("users", "list", "--dsn", dsn, "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert [u["username"] for u in json.loads(r.stdout)] == ["zoe"]
    bad = anywhere("users", "list", "--timeout", "nonsense")
    assert bad.exit_code == 2 and "--timeout" in bad.stderr


# --- profiles ------------------------------------------------------------------------------

def test_default_profile_supplies_dsn_and_format(dsn, conn, config_home):
    add_user(conn, "zoe")
    write_config(config_home, f'[profiles.default]\ndsn = "{dsn}"\nformat = "jsonl"\n')
    run = make_cli(None)
    r = run("users", "list")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["username"] == "zoe"
    # the command line wins over the profile
    table = run("users", "list", "-f", "csv")
    assert table.stdout.splitlines()[0].startswith("id,username")


def test_named_profile_and_environment_precedence(dsn, conn, config_home, monkeypatch):
    add_user(conn, "zoe")
    write_config(config_home, '[profiles.default]\ndsn = "postgresql://nobody@127.0.0.1:1/none"\n'
                              f'[profiles.ci]\ndsn = "{dsn}"\nformat = "json"\n')
    run = make_cli(None)
    assert run("--profile", "ci", "users", "list").exit_code == 0
    monkeypatch.setenv("AIBRIDGE_PROFILE", "ci")
    assert json.loads(run("users", "list").stdout)[0]["username"] == "zoe"
    monkeypatch.delenv("AIBRIDGE_PROFILE")
    monkeypatch.setenv("AIBRIDGE_DSN", dsn)  # the environment variable beats the default profile
    assert run("users", "list", "-f", "json").exit_code == 0


def test_profile_errors_are_one_line_usage_errors(config_home):
    run = make_cli(None)
    write_config(config_home, '[profiles.default]\ntz = "UTC"\n')
    r = run("--profile", "nope", "users", "list")
    assert r.exit_code == 2 and r.stderr.startswith("error: --profile: no profile named 'nope'")
    assert "profiles there: default" in r.stderr
    write_config(config_home, '[profiles.default]\ncolour = "red"\n')
    r = run("users", "list")
    assert r.exit_code == 2 and "unknown setting 'colour'" in r.stderr
    write_config(config_home, '[profiles.default\n')
    r = run("users", "list")
    assert r.exit_code == 2 and "not valid TOML" in r.stderr and "Traceback" not in r.stderr


def test_a_readable_profile_with_a_password_is_refused(config_home):
    write_config(config_home, '[profiles.default]\ndsn = "postgresql://me:S3cretPW@db/x"\n', mode=0o644)
    r = make_cli(None)("users", "list")
    assert r.exit_code == 2 and "others can read it" in r.stderr and "chmod 600" in r.stderr
    assert "S3cretPW" not in r.stderr + r.stdout


def test_profile_tz_applies_where_tz_was_not_given(dsn, conn, config_home):
    zoe = add_user(conn, "zoe")
    # 23:30 UTC is the next day in Tokyo (UTC+9)
    add_interception(conn, zoe, started_at=datetime(2026, 11, 3, 23, 30, tzinfo=timezone.utc),
                     ended_at=datetime(2026, 11, 3, 23, 31, tzinfo=timezone.utc))
    write_config(config_home, '[profiles.default]\ntz = "Asia/Tokyo"\n')
    run = make_cli(dsn)
    args = ("telemetry", "summary", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-10T00:00:00Z",
            "--by", "day", "-f", "json")
    tokyo = json.loads(run(*args).stdout)
    utc = json.loads(run(*args, "--tz", "UTC").stdout)
    assert [r["bucket"][:10] for r in tokyo] == ["2026-11-04"]
    assert [r["bucket"][:10] for r in utc] == ["2026-11-03"]


# --- completion ----------------------------------------------------------------------------

def complete(words: str, env: dict | None = None) -> list[str]:
    parts = words.split(" ")
    full = {**os.environ, **(env or {}), "_AIBRIDGE_COMPLETE": "complete_bash", "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1)}
    done = subprocess.run([sys.executable, "-m", "aibridge_cli"], env=full, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.split()


def test_completion_of_commands_formats_and_time_zones(tmp_path):
    assert complete("aibridge sessions li") == ["list"]
    assert set(complete("aibridge ")) >= {"sessions", "telemetry", "prune", "record", "db"}
    assert complete("aibridge interceptions list -f js") == ["json", "jsonl"]
    assert "Europe/Berlin" in complete("aibridge telemetry summary --tz Europe/Be")


def test_completion_of_models_and_users_from_the_database(dsn, conn, tmp_path):
    zoe = add_user(conn, "zoe")
    add_user(conn, "zack")
    recent = datetime.now(timezone.utc) - timedelta(days=1)
    for model in ("claude-opus-4-1", "claude-opus-4-1", "gpt-5"):
        add_interception(conn, zoe, model=model, started_at=recent, ended_at=recent + timedelta(seconds=3))
    env = {"AIBRIDGE_DSN": dsn, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert complete("aibridge sessions list --model cl", env) == ["claude-opus-4-1"]
    assert complete("aibridge sessions list -u z", env) == ["zack", "zoe"]
    cached = list((tmp_path / "cache" / "aibridge").glob("*-models.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text()) == ["claude-opus-4-1", "gpt-5"]
    assert dsn not in cached[0].name  # the cache never names the database's DSN
    # a new model appears only after the cache expires (it is read, not refreshed, within its life)
    add_interception(conn, zoe, model="claude-haiku-4-5", started_at=recent, ended_at=recent)
    assert complete("aibridge sessions list --model claude-h", env) == []
    os.utime(cached[0], (time.time() - 3600, time.time() - 3600))
    assert complete("aibridge sessions list --model claude-h", env) == ["claude-haiku-4-5"]


def test_completion_of_an_unreachable_database_is_empty_and_quick(tmp_path):
    env = {"AIBRIDGE_DSN": "postgresql://nobody@127.0.0.1:1/none", "XDG_CACHE_HOME": str(tmp_path)}
    started = time.monotonic()
    assert complete("aibridge sessions list --model cl", env) == []
    assert time.monotonic() - started < 20  # generous: a hang would be the connect timeout's default


# --- pager ---------------------------------------------------------------------------------

def run_on_a_terminal(args: list[str], env: dict) -> str:
    """Run aibridge with its stdout on a pseudo-terminal; what the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aibridge_cli", *args], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env={**os.environ, **env})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode()


def test_long_tables_on_a_terminal_go_through_the_pager(dsn, conn, tmp_path):
    for i in range(30):
        add_user(conn, f"user{i:02d}")
    paged = tmp_path / "paged.txt"
    env = {"AIBRIDGE_DSN": dsn, "AIBRIDGE_PAGER": f"tee {paged}", "LINES": "10", "COLUMNS": "100"}
    run_on_a_terminal(["users", "list"], env)
    assert paged.exists() and paged.read_text().count("user") >= 30
    paged.unlink()
    shown = run_on_a_terminal(["users", "list", "--no-pager"], env)
    assert not paged.exists() and shown.count("user") >= 30
    run_on_a_terminal(["users", "list", "-f", "json"], env)  # machine formats are never paged
    assert not paged.exists()
    run_on_a_terminal(["users", "list"], {**env, "LINES": "200"})  # fits on the screen
    assert not paged.exists()


# --- --timeout 0 -----------------------------------------------------------------------------

def test_timeout_zero_turns_the_statement_timeout_off(dsn, conn):
    from aibridge_cli.db.connect import Settings, connect

    add_user(conn, "zoe")
    assert make_cli(dsn)("--timeout", "0", "users", "list").exit_code == 0
    assert make_cli(dsn)("users", "list", "--timeout", "0s").exit_code == 0
    with connect(Settings(dsn=dsn, timeout_ms=0)) as c:
        assert c.execute("SHOW statement_timeout").fetchone()[0] == "0"
