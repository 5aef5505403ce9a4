"""Every SQL file parses, every query runs on an empty migrated database, every command
and flag is documented in the README."""

import re
from pathlib import Path

import psycopg
import pytest

from aibridge_cli.sqlc import registry
from aibridge_cli.sqlc.registry import bind

ROOT = Path(__file__).resolve().parents[1]


def test_every_sql_file_parses_and_names_are_unique():
    reg = registry.registry()
    assert "SetStatementTimeout" in reg
    files = list((ROOT / "sql" / "queries").glob("*.sql"))
    assert files and all(any(q.file == f.name for q in reg.values()) for f in files)


def test_every_parameter_has_a_cast():
    """Casts make the zero values and NULLs unambiguous for PostgreSQL."""
    missing = [f"{q.where} @{p.name}" for q in registry.registry().values() for p in q.params.values() if p.cast is None]
    assert missing == []


@pytest.mark.parametrize("name", sorted(registry.registry()))
def test_every_query_runs_on_an_empty_migrated_database(dsn, name):
    q = registry.get(name)
    with psycopg.connect(dsn) as conn:
        if q.sql.lstrip().upper().startswith("COPY"):
            with conn.cursor().copy(q.sql):  # an empty COPY: checks table and columns
                pass
        else:
            conn.execute(q.sql, bind(q, {}))
        conn.rollback()


def _all_commands():
    from typer.main import get_command

    from aibridge_cli.cli import app

    root = get_command(app)
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            for sub_name, sub in subs.items():
                yield f"aibridge {name} {sub_name}", sub
        else:
            yield f"aibridge {name}", cmd
    yield "aibridge", root


def test_every_command_and_flag_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = []
    for path, cmd in _all_commands():
        if path != "aibridge" and path not in readme:
            missing.append(path)
        for param in cmd.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and not re.search(re.escape(opt) + r"\b", readme):
                    missing.append(f"{path} {opt}")
    assert missing == []
