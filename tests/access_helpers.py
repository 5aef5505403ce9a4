"""What the access tests share: a CLI connected as a granted user's own database role, and the
grant that makes one (the `world` fixture of test_access_roles.py gives the users)."""

from conftest import make_cli
from psycopg.conninfo import make_conninfo


def role_cli(dsn, username):
    return make_cli(make_conninfo(dsn, user=f"aibridge_{username}"))


def granted(cli, world, who, level):
    name = world["users"][who]["username"]
    r = cli("db", "grant", name, "--role", level)
    assert r.exit_code == 0, r.stderr
    return name
