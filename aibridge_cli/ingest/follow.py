"""`record import --follow` / `--commit-every` / `--commit-interval`: a stream of NDJSON records,
committed in batches so that they become visible within seconds.

A plain `record import` is one transaction for the whole file, right for a file and wrong for a
stream (`tail -F gateway.ndjson | aibridge record import -` would never commit). Here the
lines are parsed as they arrive and a batch is loaded and committed when `commit_every` records
are pending or the oldest pending one has waited `commit_interval`. The import is idempotent
(records already stored are skipped), so restarting from the beginning of the file stores
nothing twice, and a kill loses at most the uncommitted batch, which the restart writes.

`Lines` reads a file as `tail -F` does: it waits at the end for more, keeps a partial last line
until its newline arrives, and reopens the path when the file was rotated (another inode) or
truncated. Standard input is read until it ends.

Knows psycopg through the loader; never prints (bad lines and commits go through callbacks).
"""

from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Optional

from aibridge_cli.ingest.lines import LineError, Parser
from aibridge_cli.ingest.loader import Loader, Stats

POLL = 0.2  # seconds between looks at a file that has not grown


@dataclass
class StreamStats:
    stats: Stats
    commits: int = 0
    bad_lines: int = 0
    reopened: int = 0


class Lines:
    """(line number, bytes) of a file or stdin; None when nothing arrived for a moment, so the
    caller can commit what it holds. Line numbers start again at 1 in a rotated file."""

    def __init__(self, path: Optional[str], follow: bool, poll: float = POLL, stdin=None):
        self.path, self.follow, self.poll = path, follow, poll
        self.stdin = stdin
        self.reopened = 0

    def __iter__(self) -> Iterator[Optional[tuple[int, bytes]]]:
        return self._stdin() if self.path is None else self._file()

    def _file(self):
        f = open(self.path, "rb")
        lineno, partial = 0, b""
        try:
            while True:
                raw = f.readline()
                if raw:
                    if not raw.endswith(b"\n") and self.follow:
                        partial += raw  # the writer is mid-line: wait for its end
                        continue
                    lineno += 1
                    yield lineno, partial + raw
                    partial = b""
                    continue
                if not self.follow:
                    if partial:
                        lineno += 1
                        yield lineno, partial
                    return
                if self._rotated(f):
                    f.close()
                    f = open(self.path, "rb")
                    lineno, partial = 0, b""
                    self.reopened += 1
                    continue
                yield None
                time.sleep(self.poll)
        finally:
            f.close()

    def _rotated(self, f) -> bool:
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False  # between the move and the new file: keep waiting
        mine = os.fstat(f.fileno())
        return now.st_ino != mine.st_ino or now.st_dev != mine.st_dev or now.st_size < f.tell()

    def _stdin(self):
        fd = self.stdin.fileno()
        lineno, buf = 0, b""
        while True:
            ready, _, _ = select.select([fd], [], [], self.poll)
            if not ready:
                yield None
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                if buf:
                    yield lineno + 1, buf
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                lineno += 1
                yield lineno, line + b"\n"


def run(conn, lines, now: datetime, *, commit_every: int, commit_interval: float, skip_bad: bool,
        on_bad_line: Callable[[LineError], None] = lambda e: None,
        on_commit: Callable[[StreamStats], None] = lambda s: None,
        clock: Callable[[], float] = time.monotonic) -> StreamStats:
    """Parse, load and commit in batches; a bad line is skipped (reported) or stops the run
    after what came before it is committed."""
    loader = Loader(conn, now)
    parser = Parser(now, loader.layout)  # rows formatted for the layout's COPY column lists
    out = StreamStats(loader.stats)
    pending, since = 0, 0.0

    def commit() -> None:
        nonlocal pending
        if pending:
            loader.load(parser.take())
            conn.commit()
            out.commits += 1
            pending = 0
            on_commit(out)

    try:
        for item in lines:
            if item is not None:
                lineno, raw = item
                if not raw.strip():
                    continue
                try:
                    parser.parse(raw, lineno)
                except LineError as e:
                    if not skip_bad:
                        commit()
                        raise
                    out.bad_lines += 1
                    on_bad_line(e)
                    continue
                if not pending:
                    since = clock()
                pending += 1
            if pending and (pending >= commit_every or clock() - since >= commit_interval):
                commit()
        commit()
        try:
            loader.finish()  # children whose interception never came: stored anyway, reported
        except LineError as e:
            on_bad_line(e)
    except KeyboardInterrupt:
        commit()  # Ctrl-C or SIGTERM: what was read is stored before leaving
        raise
    out.reopened = getattr(lines, "reopened", 0)
    return out
