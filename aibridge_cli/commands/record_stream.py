"""`record import --follow` / `--commit-every` / `--commit-interval` (called by commands/record.py):
a streaming import that commits in batches."""

from __future__ import annotations

import signal
import sys
import time
from typing import Optional

from aibridge_cli.errors import BadInput
from aibridge_cli.options import emit, note, write_db

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
