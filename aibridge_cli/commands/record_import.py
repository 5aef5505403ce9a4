"""`aibridge record import`: a file in one transaction, or with --follow / --commit-every /
--commit-interval a stream that commits in batches."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Optional

import typer

from aibridge_cli.errors import BadInput
from aibridge_cli.options import FORMAT_HELP, emit, note, optional_format, write_db

DEFAULT_EVERY = 10_000
DEFAULT_INTERVAL = 2.0


def import_stream(ctx, source: str, *, follow: bool, commit_every: Optional[int], commit_interval: Optional[str],
                  on_error: str, dry_run: bool, fmt: Optional[str]) -> None:
    from aibridge_cli.ingest import follow as streaming
    from aibridge_cli.timeparse import parse_duration, utcnow

    if dry_run:
        raise BadInput("--dry-run imports in one transaction; it cannot stream",
                       hint="drop --follow, --commit-every and --commit-interval to check a file")
    if on_error not in ("skip", "stop"):
        raise BadInput(f"--on-error: {on_error!r} is neither skip nor stop", hint="use --on-error skip or --on-error stop")
    interval = DEFAULT_INTERVAL
    if commit_interval is not None:
        interval = parse_duration(commit_interval, "--commit-interval").total_seconds()
        if interval <= 0:
            raise BadInput("--commit-interval must be longer than zero", hint="e.g. --commit-interval 2s")
    every = commit_every or DEFAULT_EVERY
    if source == "-":
        lines = streaming.Lines(None, follow, stdin=sys.stdin)
        label = "stdin"
    else:
        try:
            open(source, "rb").close()
        except OSError as e:
            raise BadInput(f"cannot read {source}: {e.strerror}", hint="give an NDJSON file, or - for stdin") from None
        lines = streaming.Lines(source, follow)
        label = source

    def on_bad_line(e) -> None:
        note(f"warning: {label}: {e.message} (skipped)" + (f"; hint: {e.hint}" if e.hint else ""))

    # SIGTERM (systemd, docker stop) ends a follow like Ctrl-C: what was read is committed first.
    previous = signal.signal(signal.SIGTERM, _interrupt) if follow else None
    started = time.perf_counter()
    try:
        with write_db(ctx) as conn:
            out = streaming.run(conn, lines, utcnow(), commit_every=every, commit_interval=interval,
                                skip_bad=on_error == "skip", on_bad_line=on_bad_line)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    stats = out.stats
    secs = time.perf_counter() - started
    note(f"{label}: {stats.total:,} records read, wrote {stats.total_written:,}, skipped "
         f"{stats.total - stats.total_written:,} already stored or repeated, {out.bad_lines:,} bad line(s) skipped; "
         f"{out.commits:,} commit(s) in {secs:.1f}s")
    if fmt is not None:
        emit(ctx, stats.rows(), fmt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def import_(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="FILE|-", help="NDJSON file to import, or - for stdin."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and load everything, then roll back."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", callback=optional_format,
                                      help=FORMAT_HELP + " Prints lines, written and skipped per type."),
    follow: bool = typer.Option(False, "--follow", help="Keep reading FILE as it grows, as tail -F does (surviving "
                                                        "rotation), committing in batches; stop with Ctrl-C or SIGTERM."),
    commit_every: Optional[int] = typer.Option(None, "--commit-every", min=1, metavar="N",
                                               help="Commit every N records instead of once at the end (streaming; "
                                                    "default with --follow: 10000)."),
    commit_interval: Optional[str] = typer.Option(None, "--commit-interval", metavar="DURATION",
                                                  help="Commit records pending this long (streaming; default with "
                                                       "--follow: 2s)."),
    on_error: str = typer.Option("stop", "--on-error", metavar="skip|stop",
                                 help="Streaming: skip a bad line (reported with its number) or stop at it."),
):
    """Import NDJSON records (users, interceptions, ends, token usages, prompts, tool usages, thoughts).

    Examples:

    \b
      aibridge record import records.ndjson --dry-run
      echo '{"type": "user", "username": "erin"}' | aibridge record import -
    """
    from aibridge_cli.ingest import importer
    from aibridge_cli.options import emit, note, write_db
    from aibridge_cli.timeparse import utcnow
    from aibridge_cli.views.progress import ProgressBar

    if follow or commit_every is not None or commit_interval is not None:
        return import_stream(ctx, source, follow=follow, commit_every=commit_every, commit_interval=commit_interval,
                             on_error=on_error, dry_run=dry_run, fmt=fmt)
    if on_error != "stop":
        raise BadInput("--on-error applies to a streaming import", hint="add --follow, --commit-every or --commit-interval")
    stream, total, label = _open_source(source)
    started = time.perf_counter()
    try:
        with write_db(ctx) as conn, ProgressBar(f"importing {label}", total, unit="bytes") as bar:
            stats = importer.run(conn, stream, utcnow(), on_progress=bar.advance if bar.shown else None)
            if dry_run:
                conn.rollback()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    secs = time.perf_counter() - started
    rate = f", {stats.total / secs:,.0f} records/s" if secs >= 0.5 and stats.total else ""
    verb = "would write" if dry_run else "wrote"
    note(f"{label}: {stats.total:,} records read, {verb} {stats.total_written:,}, "
         f"skipped {stats.total - stats.total_written:,} already stored or repeated ({secs:.1f}s{rate})")
    if fmt is not None:
        emit(ctx, stats.rows(), fmt)


def _open_source(source: str):
    if source == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise BadInput("stdin cannot be read as bytes")
        return stdin, None, "stdin"
    try:
        f = open(source, "rb")
        total = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise BadInput(f"cannot read {source}: {e.strerror}", hint="give an NDJSON file, or - for stdin") from None
    return f, total or None, source
