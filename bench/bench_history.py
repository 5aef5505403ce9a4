"""History (issue 17): telemetry summary over 30 days and spend --by month over 365 days, read
from history, beside the raw path (--exact) and, with --reference, the reference's 1 + N queries.

    python bench/bench_history.py [--interceptions 1000000] [--days 365] [--home DIR]
                                  [--reference ../shared/spec/aibridge.sql] [--repeat 5]

Builds (or reuses) an embedded database filled by `aibridge demo --seed 1 --days DAYS`, times
`history refresh` twice as whole processes (the first rolls up everything, the second finds
nothing new), then each case: in process (the command's own code), wall (the whole process),
SQL (the history query alone: the server's time) and the reference where given.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Bench, summary, timed  # noqa: E402  bench/run.py's runners


def spend_sql(since, until, st):
    """SpendSummaryWithHistory alone, with the rates the command computes (priced beforehand)."""
    from aibridge_cli.data import spend as data
    from aibridge_cli.data.prices import Key
    from aibridge_cli.db import query as db
    from aibridge_cli.db.connect import Settings, connect

    with connect(Settings()) as conn:
        present = data.layout(conn)
        pricer = data.make_pricer(conn, "auto", None, present)
        ptypes = data.provider_types(conn, present)
        keys = [Key(r["provider"], r["model"], since, until)
                for r in db.many(conn, "ListSpendPriceKeys", provider_types=ptypes, provider="", model="", client="",
                                 initiator_id=None)]
        rates = [r.as_json() for r in pricer.rates(keys)]
    flags = {f"by_{k}": k == "month" for k in data.BY_KEYS if k != "session"}

    def calls(conn, q):
        q("SpendSummaryWithHistory", since=since, until=until, provider_types=ptypes, rates=rates, tz="UTC",
          use_stored=True, first_hour=st[0], watermark=st[1], frozen_before=st[2], raw_before=since,
          raw_from=min(until, st[1]), straddles=False, **flags)
    return calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interceptions", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--home", default=str(Path.home() / ".cache" / "aibridge-bench-history"))
    p.add_argument("--reference", default="")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    Path(args.home).mkdir(parents=True, exist_ok=True)
    b = Bench(args)
    import psycopg

    dsn = b.dsn()
    with psycopg.connect(dsn) as conn:
        n = conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]
    if n == 0:
        print(f"building {args.interceptions:,} interceptions over {args.days} days ...", file=sys.stderr)
        import subprocess

        subprocess.run(b.exe + ["demo", "--interceptions", str(args.interceptions), "--seed", "1",
                                "--days", str(args.days)], check=True, stdout=subprocess.DEVNULL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    with psycopg.connect(dsn) as conn:
        n, usages, now = conn.execute(
            "SELECT (SELECT count(*) FROM aibridge_interceptions), (SELECT count(*) FROM aibridge_token_usages), "
            "(SELECT max(ended_at) FROM aibridge_interceptions)").fetchone()
    print(f"{n:,} interceptions, {usages:,} token usages", file=sys.stderr)

    for label in ("history refresh (first: everything)", "history refresh (again: nothing new)"):
        t = time.perf_counter()
        b.wall(["history", "refresh", "--quiet"])()
        print(f"{label:55s} wall {(time.perf_counter() - t) * 1000:,.0f} ms", file=sys.stderr)
    with psycopg.connect(dsn) as conn:
        st = conn.execute("SELECT first_hour, watermark, COALESCE(frozen_before, '0001-01-01Z') FROM "
                          "aibridge_history_state").fetchone()
        rows = conn.execute("SELECT (SELECT count(*) FROM aibridge_history_interception_hours), "
                            "(SELECT count(*) FROM aibridge_history_usage_hours)").fetchone()
    print(f"history: {rows[0]:,} interception-hour rows, {rows[1]:,} usage-hour rows", file=sys.stderr)

    # Whole hours, so that the window is read from history but for nothing.
    until = now.replace(minute=0, second=0, microsecond=0)
    month, year = until - timedelta(days=30), until - timedelta(days=365)
    window = ["--since", month.isoformat(), "--until", until.isoformat()]

    def sql_history(conn_q):
        conn_q("SummarizeTelemetryWithHistory", ended_at_after=month, ended_at_before=until, provider="", model="",
               client="", initiator_id=None, bucket="", tz="UTC", first_hour=st[0], watermark=st[1],
               frozen_before=st[2])

    def ref_telemetry(conn, q):
        for g in q("ListAIBridgeInterceptionsTelemetrySummaries", ended_at_after=month, ended_at_before=until):
            q("CalculateAIBridgeInterceptionsTelemetrySummary", provider=g[0], model=g[1], client=g[2],
              ended_at_after=month, ended_at_before=until)

    b.case("telemetry summary, all groups, 30 days, history",
           ["telemetry", "summary", *window, "--format", "json"], target="≥ 50× ref wall, < 50 ms SQL",
           sql=lambda conn, q: sql_history(q), ref=ref_telemetry)
    b.case("telemetry summary, all groups, 30 days, --exact",
           ["telemetry", "summary", *window, "--exact", "--format", "json"], wall=True)
    b.case("spend --by month, 365 days, history",
           ["spend", "--since", year.isoformat(), "--until", until.isoformat(), "--by", "month", "-f", "json"],
           target="< 200 ms SQL", sql=spend_sql(year, until, st))
    b.case("spend --by month, 365 days, --exact",
           ["spend", "--since", year.isoformat(), "--until", until.isoformat(), "--by", "month", "--exact", "-f", "json"])
    wall = {r["case"]: r for r in b.rows}
    hist = wall["telemetry summary, all groups, 30 days, history"]
    if hist.get("ref") and hist.get("wall"):
        ratio = min(hist["ref"]) / min(hist["wall"])
        print(f"reference 1 + N queries / our whole command (history): {ratio:,.1f}x", file=sys.stderr)
    _ = (summary, timed)


if __name__ == "__main__":
    main()
