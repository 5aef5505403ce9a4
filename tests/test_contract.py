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
            try:
                conn.execute(q.sql, bind(q, {}))
            except psycopg.errors.ForeignKeyViolation:
                pass  # it ran: the zero initiator is refused by the initiator's foreign key (0004)
        conn.rollback()


def _all_commands():
    import typer
    from typer.main import get_command

    from aibridge_cli.cli import app

    def walk(cmd, path):
        yield path, cmd
        if hasattr(cmd, "list_commands"):  # the root loads its groups on demand: ask, don't read .commands
            ctx = typer.Context(cmd)
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), f"{path} {name}")

    yield from walk(get_command(app), "aibridge")


def test_every_command_and_flag_is_in_the_manual():
    manual = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    missing, seen = [], 0
    for path, cmd in _all_commands():
        seen += not hasattr(cmd, "list_commands")
        if path != "aibridge" and path not in manual:
            missing.append(path)
        for param in cmd.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and not re.search(re.escape(opt) + r"\b", manual):
                    missing.append(f"{path} {opt}")
    assert seen >= 20, "the walk found too few commands"
    assert missing == []
