"""The root command: help, version, global options and the error boundary."""

import subprocess
import sys

import pytest
from conftest import make_cli

from aibridge_cli.db.connect import Settings, connect


def test_help_and_version():
    run = make_cli(None)
    r = run("--help")
    assert r.exit_code == 0 and "Usage: aibridge" in r.stdout and "--dsn" in r.stdout
    assert run("-h").stdout == r.stdout
    v = run("--version")
    assert v.exit_code == 0 and v.stdout.startswith("aibridge ")


def test_every_command_has_dash_h():
    from typer.main import get_command

    from aibridge_cli.cli import app

    run = make_cli(None)
    root = get_command(app)
    for name, group in root.commands.items():
        r = run(name, "-h")
        assert r.exit_code == 0, (name, r.stderr)
        assert "Usage:" in r.stdout
        for sub in getattr(group, "commands", {}):
            rs = run(name, sub, "-h")
            assert rs.exit_code == 0 and "Usage:" in rs.stdout, (name, sub, rs.stderr)


def test_unknown_command_is_a_one_line_usage_error():
    r = make_cli(None)("sesions")
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: No such command 'sesions'")
    assert lines[1].startswith("hint: see 'aibridge --help'")


def test_bad_timeout_is_a_usage_error():
    r = make_cli(None)("--timeout", "soon", "db", "status")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --timeout: cannot read 'soon' as a duration")
    assert "hint:" in r.stderr


def test_bad_format_is_a_usage_error(dsn):
    r = make_cli(dsn)("db", "status", "--format", "xml")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == ["error: --format: unknown format 'xml'",
                                     "hint: use one of table, json, jsonl, csv, tsv, markdown"]


def test_unreachable_database_is_a_runtime_failure_without_password():
    r = make_cli("postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2")("db", "status")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: cannot connect to the database")
    assert "s3cret-pw" not in r.stderr
    assert "hint:" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_tables_point_to_migrate(empty_dsn):
    from aibridge_cli.db import query
    from aibridge_cli.errors import SchemaMissing

    with pytest.raises(SchemaMissing) as e:
        with connect(Settings(dsn=empty_dsn)) as conn:
            query.one(conn, "GetUserByUsername", username="x")
    assert "aibridge db migrate" in e.value.hint


def test_statement_timeout_applies(dsn):

    with connect(Settings(dsn=dsn, timeout_ms=1234)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1234ms"
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "aibridge_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("aibridge ")
