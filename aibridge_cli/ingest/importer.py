"""`aibridge record import`: NDJSON records, checked line by line, loaded with COPY in batches.

One transaction for the whole file: any error rolls everything back. The main thread reads
and checks lines, turning each into its COPY row (lines.py); a worker thread loads each
batch of 20,000 (the first is smaller, so that the server starts early): it resolves
initiators, thread lineage and ends against what earlier lines and the database hold, then
COPYs straight into the tables (loader.py).

Knows psycopg through db/bulk; never prints (progress goes through a callback).
"""

from __future__ import annotations

import gc
import os
import queue
import socket
import threading
from datetime import datetime
from typing import Callable, Iterable, Optional

from aibridge_cli.db import query
from aibridge_cli.errors import BadInput
from aibridge_cli.ingest.lines import Batch, LineError, Parser
from aibridge_cli.ingest.loader import Loader, Stats

BATCH_LINES = 20_000
SEND_BUFFER = 4 << 20  # bytes: more than one table's COPY rows of a batch
FIRST_BATCH_LINES = 2_000  # the server starts on a small first batch instead of idling through a full one


def _widen_send_buffer(conn) -> None:
    """Let a whole batch's COPY data fit in the socket's send buffer, so that the server keeps
    reading while the loader thread waits for the GIL (the kernel caps the size; should the
    socket refuse, the default stays)."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return
    try:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < SEND_BUFFER:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    except OSError:
        pass
    finally:
        sock.close()  # the duplicate only: the connection's own descriptor stays open


class _Worker:
    """Loads batches on a thread of its own while the caller parses the next one: the
    database works on one core while Python parses on the other."""

    def __init__(self, load: Callable[[Batch], None]):
        self.load = load
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="aibridge-import", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    self.load(batch)
                except BaseException as e:  # handed to the caller's thread
                    self.error = e

    def submit(self, batch: Batch) -> None:
        self._raise()
        self.queue.put(batch)

    def close(self) -> None:
        """Wait for the batches handed over; raise the first error one of them met."""
        self.queue.put(None)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def run(conn, lines: Iterable[bytes], now: datetime, on_progress: Optional[Callable[[int], None]] = None) -> Stats:
    """Check and load every line, in one transaction (the caller's); on bad input raise for
    the first bad line, counting the others."""
    query.run(conn, "ImportPrepareSession")
    _widen_send_buffer(conn)
    loader = Loader(conn, now)
    parser = Parser(now, loader.layout)
    parse, take = parser.parse, parser.take
    turn = loader.turn
    worker = _Worker(loader.load)
    first: Optional[LineError] = None
    bad = 0
    gc_enabled = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: the cyclic collector would only rescan them
    try:
        size = consumed = 0
        limit = min(FIRST_BATCH_LINES, BATCH_LINES)
        for lineno, raw in enumerate(lines, start=1):
            if on_progress is not None:
                consumed += len(raw)
                if lineno % 5000 == 0:
                    on_progress(consumed)
                    consumed = 0
            if raw.isspace() or not raw:
                continue
            if not lineno & 255:
                turn.acquire()  # let the loader finish its Python work first
                turn.release()
            try:
                parse(raw, lineno)
            except LineError as e:
                bad += 1
                if first is None:
                    first = e
                continue
            size += 1
            if size >= limit:
                batch = take()
                if first is None:
                    worker.submit(batch)  # after a bad line, batches are only counted
                size, limit = 0, BATCH_LINES
        if on_progress is not None:
            on_progress(consumed)
        if first is None and size:
            worker.submit(take())
    finally:
        try:
            worker.close()
        finally:
            if gc_enabled:
                gc.enable()
    if first is not None:
        more = f"; {bad - 1:,} more bad line{'s' if bad > 2 else ''}" if bad > 1 else ""
        raise BadInput(f"{first.message}{more}; nothing was imported",
                       hint=first.hint or "fix the line and import the file again (records already stored are skipped)")
    loader.finish()
    return loader.stats

