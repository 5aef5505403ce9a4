"""`aibridge prune`: delete old interceptions and their child rows, safely from cron."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Optional

import typer

from aibridge_cli.options import note, settings
from aibridge_cli.errors import BadInput

DEFAULT_RETENTION = "60d"
DEFAULT_BATCH = 5000
TABLE_LABELS = {"interceptions": "interceptions", "token_usages": "token usages", "user_prompts": "user prompts",
                "tool_usages": "tool usages", "model_thoughts": "model thoughts"}


def register(root: typer.Typer, name: Optional[str]) -> None:
    root.command("prune")(prune_cmd)


def prune_cmd(
    ctx: typer.Context,
    older_than: Optional[str] = typer.Option(
        None, "--older-than", help=f"Delete interceptions that started longer ago than this (default {DEFAULT_RETENTION})."),
    before: Optional[str] = typer.Option(
        None, "--before", help="Delete interceptions that started before this time (instead of --older-than)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be deleted, per table, and delete nothing."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH, "--batch-size", min=1, max=100_000,
        help="Interceptions (with their child rows) per transaction; for --orphans, interception ids scanned per transaction."),
    max_duration: Optional[str] = typer.Option(
        None, "--max-duration", help="Stop cleanly between batches after this long (e.g. 10m); the next run continues."),
    lock_timeout: str = typer.Option(
        "2s", "--lock-timeout", help="How long a batch may wait for a row lock before it is retried (3 times, then exit 1)."),
    orphans: bool = typer.Option(False, "--orphans", help="Also delete child rows whose interception no longer exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success (errors still go to stderr)."),
    fmt: str = typer.Option("table", "--format", "-f",
                            help="table: a summary (a table on a terminal, one line otherwise); json: the counts as one object."),
):
    """Delete interceptions older than the retention period with all their token usages, prompts,
    tool usages and model thoughts, in short batches. Exit code 3: another prune is running.

    Examples:

    \b
      aibridge prune --older-than 90d --dry-run
      aibridge prune --older-than 60d --max-duration 20m --quiet
    """
    from aibridge_cli.timeparse import parse_duration, parse_time, utcnow

    fmt = fmt.lower()
    if fmt not in ("table", "json"):
        raise BadInput(f"--format {fmt} is not available for prune", hint="use --format table or --format json")
    if older_than is not None and before is not None:
        raise BadInput("--older-than and --before cannot be used together",
                       hint="give one of them, e.g. --older-than 60d or --before 2026-09-01")
    now = utcnow()
    if before is not None:
        cutoff = parse_time(before, "--before", now=now)
        if cutoff > now:
            raise BadInput(f"--before {before!r} is in the future: that would delete interceptions still being recorded",
                           hint="give a past time, e.g. --before 2026-09-01")
    else:
        age = parse_duration(older_than or DEFAULT_RETENTION, "--older-than")
        if age <= timedelta(0):
            raise BadInput("--older-than must be longer than zero", hint="e.g. --older-than 60d")
        cutoff = now - age
    deadline_s = None
    if max_duration is not None:
        deadline_s = parse_duration(max_duration, "--max-duration").total_seconds()
        if deadline_s <= 0:
            raise BadInput("--max-duration must be longer than zero", hint="e.g. --max-duration 10m")
    lock_ms = int(parse_duration(lock_timeout, "--lock-timeout").total_seconds() * 1000)
    if lock_ms <= 0:
        raise BadInput("--lock-timeout must be longer than zero", hint="e.g. --lock-timeout 2s")

    if dry_run:
        out = _dry_run(ctx, cutoff, orphans)
    else:
        out = _prune(ctx, cutoff, batch_size=batch_size, deadline_s=deadline_s, lock_ms=lock_ms,
                     orphans=orphans, progress=not quiet and sys.stderr.isatty())
    if not quiet:
        _report(out, fmt, max_duration)


def _dry_run(ctx, cutoff, orphans):
    from aibridge_cli.data import prune
    from aibridge_cli.options import read_db

    with read_db(ctx) as conn:
        return prune.dry_run(conn, cutoff, orphans)


def _prune(ctx, cutoff, *, batch_size, deadline_s, lock_ms, orphans, progress):
    import time

    from aibridge_cli.db import query

    from aibridge_cli.data import prune

    s = settings(ctx)
    deadline = time.monotonic() + deadline_s if deadline_s is not None else None
    from aibridge_cli.db.connect import connect  # psycopg: only when connecting

    with connect(s, read_only=False, autocommit=True) as conn:
        # Plan every batch with its actual keyset values; a cached generic plan buys nothing here.
        conn.prepare_threshold = None
        prune.acquire_lock(conn)
        bar = None
        pruner = None
        try:
            prune.check_rights(conn)
            on_batch = lambda out, batch: None  # noqa: E731
            if progress:
                total = query.one(conn, "CountInterceptionsBefore", before_time=cutoff)["interceptions"]
                bar = _ProgressBar(total)
                on_batch = bar.update
            pruner = prune.Pruner(conn, cutoff, batch_size=batch_size, deadline=deadline, lock_timeout_ms=lock_ms,
                                    statement_timeout_ms=s.timeout_ms, on_batch=on_batch)
            return pruner.run(orphans)
        except BaseException:
            if bar:
                bar.stop()
                bar = None
            if pruner and (pruner.out.total or pruner.out.orphans_total):
                note(f"before the failure: {_summary(pruner.out)}")
            raise
        finally:
            if bar:
                bar.stop()
            prune.release_lock(conn)


class _ProgressBar:
    """A Rich progress bar on stderr, counting interceptions; only shown on a terminal."""

    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from aibridge_cli.views.formats import console

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rows]} rows"), TimeElapsedColumn(),
                                 console=console(stderr=True), transient=True)
        self.task = self.progress.add_task("pruning interceptions", total=max(total, 1), rows="0")
        self.progress.start()

    def update(self, out, batch) -> None:
        rows = out.total + out.orphans_total
        description = "deleting orphans" if out.orphans is not None else "pruning interceptions"
        self.progress.update(self.task, completed=out.deleted["interceptions"], rows=f"{rows:,}",
                             description=description)

    def stop(self) -> None:
        self.progress.stop()


def _summary(out, max_duration: Optional[str] = None) -> str:
    from aibridge_cli.data.prune import CHILD_TABLES

    verb = "would delete" if out.dry_run else "deleted"
    children = ", ".join(f"{TABLE_LABELS[t]} {out.deleted[t]:,}" for t in CHILD_TABLES)
    text = (f"{'dry run: ' if out.dry_run else ''}{verb} {out.total:,} rows: "
            f"{out.deleted['interceptions']:,} interceptions started before {out.before_time.isoformat()} "
            f"and their {children}")
    if out.orphans is not None:
        parts = ", ".join(f"{TABLE_LABELS[t]} {out.orphans[t]:,}" for t in CHILD_TABLES)
        text += f"; orphans: {out.orphans_total:,} ({parts})"
    if not out.dry_run:
        text += f"; {out.batches:,} batches in {out.elapsed_s:.1f}s, longest {out.longest_batch_s * 1000:,.0f}ms"
    if out.stopped_early:
        text += (f"; stopped early by --max-duration {max_duration}: "
                 f"{out.remaining_interceptions:,} older interceptions remain for the next run")
    return text


def _report(out, fmt: str, max_duration: Optional[str]) -> None:
    from aibridge_cli.data.prune import CHILD_TABLES, TABLES

    if fmt == "json":
        from aibridge_cli.views.formats import dumps

        doc = {"before_time": out.before_time, "dry_run": out.dry_run, **out.deleted, "total_deleted": out.total}
        if out.orphans is not None:
            doc.update({f"orphan_{t}": out.orphans[t] for t in CHILD_TABLES})
            doc["orphans_deleted"] = out.orphans_total
        doc.update({"batches": out.batches, "longest_batch_ms": round(out.longest_batch_s * 1000, 1),
                    "elapsed_ms": round(out.elapsed_s * 1000, 1), "stopped_early": out.stopped_early,
                    "remaining_interceptions": out.remaining_interceptions})
        sys.stdout.write(dumps(doc) + "\n")
        return
    if not sys.stdout.isatty():
        sys.stdout.write(_summary(out, max_duration) + "\n")
        return
    from aibridge_cli.views.formats import print_table

    head = "would delete" if out.dry_run else "deleted"
    rows = [{"table": f"aibridge_{t}", head: out.deleted[t]} for t in TABLES]
    cols = ["table", head]
    if out.orphans is not None:
        cols.append("orphans")
        for r, t in zip(rows, TABLES):
            r["orphans"] = out.orphans.get(t)  # interceptions have no orphans: blank
    total = {"table": "total", head: out.total}
    if out.orphans is not None:
        total["orphans"] = out.orphans_total
    print_table(rows + [total], cols, numeric=cols[1:])
    note(_summary(out, max_duration))
