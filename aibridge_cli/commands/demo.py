"""`aibridge demo`: load a realistic demo data set into the current database."""

from __future__ import annotations

import time
from typing import Optional

import typer

from aibridge_cli.options import StrictInt, note, parse_time, settings

DEFAULT_INTERCEPTIONS = 5000


def register(root: typer.Typer, name) -> None:
    root.command("demo")(demo)


def demo(
    ctx: typer.Context,
    interceptions: int = typer.Option(DEFAULT_INTERCEPTIONS, "--interceptions", "-n", parser=StrictInt(1, 10_000_000),
                                      help="How many interceptions to generate (about 5 rows each in all)."),
    seed: Optional[int] = typer.Option(None, "--seed", parser=StrictInt(0),
                                       help="Seed for reproducible data (default: a random one, printed at the end)."),
    users: Optional[int] = typer.Option(None, "--users", parser=StrictInt(1, 100_000),
                                        help="How many users (default: grows with --interceptions, 50 for 5,000)."),
    days: int = typer.Option(30, "--days", parser=StrictInt(1, 3650), help="Spread the data over this many days before --end."),
    end: Optional[str] = typer.Option(None, "--end",
                                      help="The newest time in the data (default now, to the second); the same --seed and --end give the same data."),
    append: bool = typer.Option(False, "--append",
                                help="Add to a database that already has users or interceptions (refused otherwise)."),
):
    """Generate a realistic demo data set: users, sessions, agentic loops, tokens, tools, thoughts.

    Loads into an empty database only (use --append to add to one with data) and never into
    a Coder deployment's database. Everything is loaded in one transaction.

    Examples:

    \b
      aibridge demo --seed 7
      aibridge demo -n 1000 --days 7 --append
    """
    import secrets
    from datetime import timezone

    from aibridge_cli.db import embedded
    from aibridge_cli.demo import loader
    from aibridge_cli.demo.generator import DemoData
    from aibridge_cli.timeparse import utcnow
    from aibridge_cli.views.demo import loaded_lines, suggestions
    from aibridge_cli.views.progress import ProgressBar

    when = parse_time(end, "--end") or utcnow().replace(microsecond=0)
    if seed is None:
        seed = secrets.randbelow(2**31)
    loader.check_columns()
    gen = DemoData(interceptions, seed, users=users, days=days, end=when)
    s = settings(ctx)
    started = time.monotonic()
    from aibridge_cli.db.connect import connect  # psycopg: only when connecting

    with connect(s, read_only=False) as conn:
        where = f"the embedded database in {embedded.home()}" if s.embedded else conn.info.dsn
        rebuild = loader.prepare(conn, gen, append=append)
        if not s.embedded:
            note(f"loading demo data into {where}")
        with ProgressBar("loading", interceptions, unit="interceptions") as bar:
            counts = loader.load(conn, gen, rebuild_indexes=rebuild, progress=bar.advance,
                                 stage=lambda text: bar.update(description=text))
    elapsed = time.monotonic() - started
    stamp = when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    busiest = gen.busiest_username()
    lines = loaded_lines(interceptions, where, elapsed, seed, stamp, counts)
    lines += suggestions(busiest, gen.busiest_username(member=True, other_than=busiest), s.embedded)
    for line in lines:
        note(line)
