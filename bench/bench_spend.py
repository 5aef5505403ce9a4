"""Measure `aibridge spend --since 30d --by user` and `--by day,model` beside a naive per-row pricing.

    python bench/bench_spend.py [--home DIR] [--interceptions N] [--runs 3] [--naive-limit 200000]

Uses (or builds with `aibridge demo --seed 1`) the embedded database in --home (the same one
bench/run.py uses by default). For each case it times:
- in process: the whole command in this process (pricing, both queries, rendering to JSON);
- SQL: ListSpendPriceKeys and SpendSummary alone with the rates the command computed, i.e. the
  server's time plus one small result (the target: within 1 s);
- naive: every row of the window read into Python (bench/spend_rows.sql) and priced there with
  genai-prices' calc_price one by one, summed per group: what the command avoids. With more
  rows than --naive-limit, it prices the first --naive-limit and extrapolates (marked).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = [("spend --since 30d --by user", ("user",)), ("spend --since 30d --by day,model", ("day", "model"))]


def median(ms):
    return f"{statistics.median(ms):,.0f} ms (±{(max(ms) - min(ms)) / 2:,.0f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", default=str(Path.home() / ".cache" / "aibridge-bench"))
    p.add_argument("--interceptions", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--naive-limit", type=int, default=200_000)
    args = p.parse_args()
    Path(args.home).mkdir(parents=True, exist_ok=True)
    os.environ["AIBRIDGE_HOME"] = str(Path(args.home).resolve())
    os.environ.pop("AIBRIDGE_DSN", None)

    import psycopg
    from typer.main import get_command

    from aibridge_cli.cli import app
    from aibridge_cli.data import spend as data
    from aibridge_cli.data.prices import Key
    from aibridge_cli.db import query as db
    from aibridge_cli.db.connect import Settings, connect, resolve_dsn
    from aibridge_cli.sqlc.registry import bind
    from aibridge_cli.sqlc.translate import parse_file

    dsn = resolve_dsn(Settings())
    with psycopg.connect(dsn) as conn:
        n = conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]
    if n < args.interceptions * 0.99:
        if n:
            raise SystemExit(f"{args.home} holds {n:,} interceptions, not {args.interceptions:,}")
        print(f"building {args.interceptions:,} interceptions with aibridge demo ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "aibridge_cli", "demo", "--interceptions", str(args.interceptions),
                        "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(dsn) as conn:
        conn.execute("ANALYZE")
        now = conn.execute("SELECT max(created_at) + interval '1 second' FROM aibridge_token_usages").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0]
        usages = conn.execute("SELECT count(*) FROM aibridge_token_usages WHERE created_at >= %s",
                              (now - timedelta(days=30),)).fetchone()[0]
    since = now - timedelta(days=30)
    print(f"{n:,} interceptions, {usages:,} token usages in the 30-day window; load {os.getloadavg()[0]:.2f}",
          file=sys.stderr)
    cmd = get_command(app)
    naive_q = {q.name: q for q in parse_file(Path(__file__).with_name("spend_rows.sql"))}["BenchSpendRows"]

    for title, by in CASES:
        argv = ["spend", "--since", since.isoformat(), "--until", now.isoformat(), "--by", ",".join(by), "-f", "json"]

        def command(argv=argv):
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                code = cmd.main(argv, standalone_mode=False)
            if code:
                raise SystemExit(f"aibridge {' '.join(argv)} exited {code}")

        command()  # warm: imports, the price data, the server's cache
        ours = []
        for _ in range(args.runs):
            t = time.perf_counter()
            command()
            ours.append((time.perf_counter() - t) * 1000)

        with connect(Settings()) as conn:
            present = data.layout(conn)
            pricer = data.make_pricer(conn, "auto", None, present)
            ptypes = data.provider_types(conn, present)
            window = dict(since=since, until=now, provider_types=ptypes, provider="", model="", client="",
                          initiator_id=None)
            key_params = dict(provider_types=ptypes, provider="", model="", client="", initiator_id=None)
            keys = [Key(r["provider"], r["model"], since, now)
                    for r in db.many(conn, "ListSpendPriceKeys", **key_params)]
            rates = [r.as_json() for r in pricer.rates(keys)]
            flags = {f"by_{k}": k in by for k in data.BY_KEYS}
            db.run(conn, "SetSpendWorkMem", work_mem=data.WORK_MEM)
            sql_ms = []
            for _ in range(args.runs):
                t = time.perf_counter()
                db.many(conn, "ListSpendPriceKeys", **key_params)
                db.many(conn, "SpendSummary", **window, rates=rates, tz="UTC", use_stored=True, **flags)
                sql_ms.append((time.perf_counter() - t) * 1000)

        from genai_prices import Usage, calc_price

        t = time.perf_counter()
        sums = defaultdict(float)
        priced = 0
        with psycopg.connect(dsn) as conn:
            with conn.cursor(name="naive") as cur:
                cur.itersize = 5000
                cur.execute(naive_q.sql, bind(naive_q, {"since": since, "until": now}))
                for (user, provider, model, created, inp, out, cr, cw, stored) in cur:
                    if priced >= args.naive_limit:
                        break
                    priced += 1
                    key = user if by == ("user",) else (created.date(), model)
                    if stored is not None:
                        sums[key] += stored / 1e6
                        continue
                    try:
                        sums[key] += float(calc_price(Usage(input_tokens=inp + cr + cw, cache_read_tokens=cr,
                                                            cache_write_tokens=cw, output_tokens=out),
                                                      model, provider_id=provider, genai_request_timestamp=created).total_price)
                    except LookupError:
                        pass
        naive_ms = (time.perf_counter() - t) * 1000
        mark = ""
        if priced < usages:
            naive_ms *= usages / priced
            mark = f" (extrapolated from {priced:,} rows)"
        print(f"{title:36s} in process {median(ours)}   SQL {median(sql_ms)}   naive per-row {naive_ms:,.0f} ms{mark}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
