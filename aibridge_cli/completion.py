"""Shell completion of option values that live in the database: models, users, clients, providers.

Completion runs in its own short process while the user presses Tab, never during a command.
It must not hang the shell: it only reads a database that is already reachable (a DSN from
AIBRIDGE_DSN or the default profile, or an embedded server that is already running; it never
starts one), with one-second timeouts, and it keeps each list for CACHE_SECONDS in a small cache
file, so repeated Tabs cost a file read. Any failure completes nothing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

CACHE_SECONDS = 300
# Kinds read from the interceptions: the column (CompleteInterceptionValues' @field) and how
# many values to offer at most. The fourth kind, "users", comes from CompleteUsernames.
FIELDS = {"models": ("model", 200), "providers": ("provider", 50), "clients": ("client", 50)}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aibridge"


def _dsn() -> str | None:
    dsn = os.environ.get("AIBRIDGE_DSN")
    if dsn:
        return dsn
    try:
        from aibridge_cli import profiles

        dsn = profiles.load(os.environ.get("AIBRIDGE_PROFILE")).connection
    except Exception:  # a broken profile file must not break the shell's Tab
        return None
    if dsn:
        return dsn
    from aibridge_cli.db import embedded

    server = embedded.running()
    return server.dsn() if server else None


def values(kind: str) -> list[str]:
    """The cached list for kind, refreshed from the database when older than CACHE_SECONDS."""
    dsn = _dsn()
    if not dsn:
        return []
    import hashlib

    key = hashlib.sha256(dsn.encode()).hexdigest()[:16]  # one cache per database; no DSN on disk
    path = cache_dir() / f"complete-{key}-{kind}.json"
    try:
        if time.time() - path.stat().st_mtime < CACHE_SECONDS:
            return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    found = _fetch(dsn, kind)
    if not found:  # nothing to keep: a database that fills up soon is asked again next time
        return []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(found))
        os.replace(tmp, path)
    except OSError:
        pass
    return found


def _fetch(dsn: str, kind: str) -> list[str] | None:
    try:
        import psycopg

        from aibridge_cli.db import query

        with psycopg.connect(dsn, connect_timeout=1, options="-c statement_timeout=1000",
                             prepare_threshold=None) as conn:
            if kind == "users":
                rows = query.many(conn, "CompleteUsernames")
            else:
                field, most = FIELDS[kind]
                rows = query.many(conn, "CompleteInterceptionValues", field=field, max_values=most)
            return [r["value"] for r in rows if r["value"]]
    except Exception:  # unreachable, missing tables, timeout: complete nothing rather than fail
        return None


def matching(kind: str, incomplete: str) -> list[str]:
    return [v for v in values(kind) if v.lower().startswith(incomplete.lower())]
