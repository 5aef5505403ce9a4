"""Measure `aibridge prune` on a scratch database of N interceptions (default 1,000,000).

    python bench/bench_prune.py --server postgresql://postgres@/postgres?host=/tmp/pg [--runs 3]
        [--interceptions 1000000] [--rebuild] [--batch-size 5000] [--reference ../shared/spec/aibridge.sql]

The server DSN must be a superuser's (it creates databases). The data (bench/prune_data.sql:
interceptions spread evenly over 90 days, about four child rows each, deployment indexes
only) is built once into a template database and reused; every run prunes a fresh copy of it,
so each run deletes the same third (`--before` newest - 60 days). Each run is the whole
`aibridge prune` command as a subprocess; its JSON output gives the longest batch transaction
and the rows deleted. `--reference` also times the reference's DeleteOldAIBridgeRecords (read
from that file at run time) as one statement on a fresh copy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aibridge_cli.db import migrate  # noqa: E402
from aibridge_cli.sqlc.registry import bind  # noqa: E402
from aibridge_cli.sqlc.translate import parse_file  # noqa: E402

DATA = {q.name: q for q in parse_file(Path(__file__).with_name("prune_data.sql"))}
BUILD_STEPS = ["BenchGenerateIds", "BenchInsertInterceptions", "BenchInsertTokenUsages", "BenchInsertUserPrompts",
               "BenchInsertToolUsages", "BenchInsertModelThoughts", "BenchDropIds", "BenchVacuumAnalyze"]


def run_named(conn, name: str, **params):
    q = DATA[name]
    # Steps share one set of values; each takes only those its query names.
    return conn.execute(q.sql, bind(q, {k: v for k, v in params.items() if k in q.params}))


def database_exists(server: str, name: str) -> bool:
    with psycopg.connect(server, autocommit=True) as conn:
        return conn.execute(sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(sql.Literal(name))).fetchone() is not None


def admin(server: str, statement: sql.Composable) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)


def build(server: str, template: str, n: int) -> None:
    # Built under another name and renamed when complete, so a failed build is never reused.
    building = f"{template}_building"
    for name in (building, template):
        admin(server, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
    newest = datetime.now(timezone.utc).replace(microsecond=0)
    with psycopg.connect(make_conninfo(server, dbname=building), autocommit=True) as conn:
        migrate.apply(conn)
        for step in BUILD_STEPS:
            t = time.monotonic()
            run_named(conn, step, n=n, newest=newest, span_seconds=90 * 86400)
            print(f"  {step}: {time.monotonic() - t:.1f}s", file=sys.stderr)
    admin(server, sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(template)))


def fresh_copy(server: str, template: str, name: str) -> str:
    admin(server, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin(server, sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    admin(server, sql.SQL("CHECKPOINT"))
    return make_conninfo(server, dbname=name)


def run_prune(dsn: str, cutoff: datetime, batch_size: int) -> dict:
    cmd = [sys.executable, "-m", "aibridge_cli", "--dsn", dsn, "prune", "--before", cutoff.isoformat(),
           "--batch-size", str(batch_size), "--format", "json"]
    t = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - t
    if done.returncode != 0:
        raise SystemExit(f"prune failed ({done.returncode}): {done.stderr.strip()}")
    doc = json.loads(done.stdout)
    doc["wall_s"] = wall
    return doc


def run_reference(dsn: str, path: Path, cutoff: datetime) -> tuple[float, int]:
    q = {x.name: x for x in parse_file(path)}["DeleteOldAIBridgeRecords"]
    with psycopg.connect(dsn) as conn:
        t = time.monotonic()
        total = conn.execute(q.sql, bind(q, {"before_time": cutoff})).fetchone()[0]
        conn.commit()
        return time.monotonic() - t, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="superuser DSN of a scratch server")
    ap.add_argument("--interceptions", type=int, default=1_000_000)
    ap.add_argument("--template", default="aibridge_prune_bench")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--reference", type=Path)
    args = ap.parse_args()

    if args.rebuild or not database_exists(args.server, args.template):
        print(f"building {args.template} with {args.interceptions:,} interceptions ...", file=sys.stderr)
        build(args.server, args.template, args.interceptions)
    with psycopg.connect(make_conninfo(args.server, dbname=args.template)) as conn:
        newest, n = run_named(conn, "BenchNewest").fetchone()
    cutoff = newest - timedelta(days=60)
    scratch = f"{args.template}_run"
    print(f"data: {n:,} interceptions up to {newest.isoformat()}; pruning before {cutoff.isoformat()}, "
          f"batch size {args.batch_size:,}")
    results = []
    try:
        for i in range(args.runs):
            dsn = fresh_copy(args.server, args.template, scratch)
            doc = run_prune(dsn, cutoff, args.batch_size)
            rate = doc["total_deleted"] / (doc["elapsed_ms"] / 1000)
            results.append((doc, rate))
            print(f"run {i + 1} (load {os.getloadavg()[0]:.1f}): {doc['total_deleted']:,} rows ({doc['interceptions']:,} interceptions) in "
                  f"{doc['batches']} batches, {doc['elapsed_ms'] / 1000:.1f}s prune / {doc['wall_s']:.1f}s wall, "
                  f"{rate:,.0f} rows/s, longest batch {doc['longest_batch_ms']:.0f} ms")
        rates = [r for _, r in results]
        longest = [d["longest_batch_ms"] for d, _ in results]
        print(f"median {statistics.median(rates):,.0f} rows/s (min {min(rates):,.0f}, max {max(rates):,.0f}); "
              f"longest batch median {statistics.median(longest):.0f} ms, worst {max(longest):.0f} ms")
        if args.reference:
            dsn = fresh_copy(args.server, args.template, scratch)
            took, total = run_reference(dsn, args.reference, cutoff)
            print(f"reference DeleteOldAIBridgeRecords: {total:,} rows in one transaction of {took:.1f}s "
                  f"({total / took:,.0f} rows/s)")
    finally:
        admin(args.server, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))


if __name__ == "__main__":
    main()
