"""`aibridge prune`: delete old interceptions and their child rows, safely from cron."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Optional

import typer

from aibridge_cli.errors import BadInput
from aibridge_cli.options import StrictInt, note, settings

DEFAULT_RETENTION = "60d"
DEFAULT_BATCH = 5000


def register(root: typer.Typer, name: Optional[str]) -> None:
    root.command("prune")(prune_cmd)


def _profile_prices(ctx: typer.Context, param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    from aibridge_cli.options import profile_default

    return profile_default(ctx, param, value, "prices")


def prune_cmd(
    ctx: typer.Context,
    older_than: Optional[str] = typer.Option(
        None, "--older-than", help=f"Delete interceptions that started longer ago than this (default {DEFAULT_RETENTION})."),
    before: Optional[str] = typer.Option(
        None, "--before", help="Delete interceptions that started before this time (instead of --older-than)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be deleted, per table, and delete nothing."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH, "--batch-size", parser=StrictInt(1, 100_000),
        help="Interceptions (with their child rows) per transaction; for --orphans, interception ids scanned per transaction."),
    max_duration: Optional[str] = typer.Option(
        None, "--max-duration", help="Stop cleanly between batches after this long (e.g. 10m); the next run continues."),
    lock_timeout: str = typer.Option(
        "2s", "--lock-timeout", help="How long a batch may wait for a row lock before it is retried (3 times, then exit 1)."),
    orphans: bool = typer.Option(False, "--orphans", help="Also delete child rows whose interception no longer exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success (errors still go to stderr)."),
    prices: Optional[str] = typer.Option(
        None, "--prices", envvar="AIBRIDGE_PRICES", metavar="FILE", callback=_profile_prices,
        help="The price overrides for the history refresh that runs first (where history exists)."),
    fmt: str = typer.Option("table", "--format", "-f",
                            help="table: a summary (a table on a terminal, one line otherwise); json: the counts as one object."),
):
    """Delete interceptions older than the retention period with all their token usages, prompts,
    tool usages and model thoughts, in short batches. Where history exists ('db migrate'), the hours
    about to lose rows are rolled up first, in the same run. Exit code 3: another prune (or
    history refresh) is running.

    Examples:

    \b
      aibridge prune --older-than 90d --dry-run
      aibridge prune --older-than 60d --max-duration 20m --quiet
    """
    from aibridge_cli.timeparse import ago, parse_duration, parse_time, parse_timeout, utcnow

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
        # An empty --older-than (an unset cron variable) is an error, not the default.
        age = parse_duration(DEFAULT_RETENTION if older_than is None else older_than, "--older-than")
        if age <= timedelta(0):
            raise BadInput("--older-than must be longer than zero", hint="e.g. --older-than 60d")
        cutoff = ago(now, age)
    deadline_s = None
    if max_duration is not None:
        deadline_s = parse_duration(max_duration, "--max-duration").total_seconds()
        if deadline_s <= 0:
            raise BadInput("--max-duration must be longer than zero", hint="e.g. --max-duration 10m")
    lock_ms = parse_timeout(lock_timeout, "--lock-timeout")

    if dry_run:
        from aibridge_cli.data import prune
        from aibridge_cli.options import read_db

        with read_db(ctx) as conn:
            # The same rights as the real run: --as an owner or auditor only, and a role that owns
            # the tables without row-level security; a dry run that a real run would refuse is refused.
            from aibridge_cli.policy.subjects import require_writer

            if conn.subject is not None:
                require_writer(conn.subject, settings(ctx).as_user)
            prune.check_rights(conn)
            out = prune.dry_run(conn, cutoff, orphans)
    else:
        out, history_note = _prune(ctx, cutoff, batch_size=batch_size, deadline_s=deadline_s, lock_ms=lock_ms,
                                   orphans=orphans, progress=not quiet, prices=prices)
        if history_note and not quiet:
            note(history_note)
    if not quiet:
        _report(out, fmt, max_duration)


def _prune(ctx, cutoff, *, batch_size, deadline_s, lock_ms, orphans, progress, prices=None):
    from aibridge_cli.data import prune
    from aibridge_cli.views.progress import ProgressBar
    from aibridge_cli.views.prune import progress_detail, summary

    s = settings(ctx)
    with prune.locked_connection(s) as conn:
        prune.check_rights(conn)
        history_note = _refresh_history(conn, cutoff, prices, progress)
        # --max-duration bounds the deleting: the rollup before it must finish in any case.
        deadline = time.monotonic() + deadline_s if deadline_s is not None else None
        bar = ProgressBar("pruning interceptions", unit="interceptions", detail=True, enabled=progress)
        if bar.shown:
            # At least 1: a bar with nothing to do still shows as done, not as unknown.
            bar.total = max(prune.count_before(conn, cutoff), 1)

        def on_batch(out, batch) -> None:
            description, detail = progress_detail(out)
            bar.update(completed=out.deleted["interceptions"], description=description, detail=detail)

        pruner = prune.Pruner(conn, cutoff, batch_size=batch_size, deadline=deadline, lock_timeout_ms=lock_ms,
                              statement_timeout_ms=s.timeout_ms, on_batch=on_batch)
        try:
            with bar:
                return pruner.run(orphans), history_note
        except BaseException:
            if pruner.out.total or pruner.out.orphans_total:
                note(f"before the failure: {summary(pruner.out)}")
            raise


def _refresh_history(conn, cutoff, prices, progress) -> Optional[str]:
    """Where the history tables exist: take the history lock (exit 3 while a refresh runs; the
    session frees it with the prune lock), roll up every closed hour, and freeze the hours the
    prune takes rows from, so history has no hole. Returns the line to report."""
    from aibridge_cli.commands.history import describe, run_refresh
    from aibridge_cli.data import history

    if not history.present(conn):
        return None
    history.acquire_lock(conn)
    out = run_refresh(conn, prices, progress=progress)
    frozen = history.freeze_for_prune(conn, cutoff)
    return f"history: {describe(out)}" + (f"; hours before {frozen.isoformat()} kept as rolled up" if frozen else "")


def _report(out, fmt: str, max_duration: Optional[str]) -> None:
    from aibridge_cli.views import prune as view

    if fmt == "json":
        sys.stdout.write(view.json_text(out) + "\n")
        return
    if not sys.stdout.isatty():
        sys.stdout.write(view.summary(out, max_duration) + "\n")
        return
    from aibridge_cli.views.formats import console
    from aibridge_cli.views.table import rows_table

    rows, cols = view.table_rows(out)
    console().print(rows_table(rows, cols, numeric=cols[1:]))
    note(view.summary(out, max_duration))
