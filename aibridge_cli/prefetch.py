"""Iterate what a background thread produces, a few items ahead: the export reads the next
batch from the database while it writes the last one; the demo generates the next chunk while
it COPYs the last one. Used by data/parquet.py and demo/loader.py."""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")


def prefetch(items: Iterator[T], depth: int = 2, *, name: str = "aibridge-prefetch") -> Iterator[T]:
    """The items of `items`, produced by a thread of their own and handed over through a queue
    of `depth`. An error of the producer is raised here; when the consumer leaves early the
    thread stops, closes `items` and is joined. The caller must not touch what `items` uses
    (a connection) until this iterator is exhausted or closed."""
    done = object()
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(done)
        except BaseException as e:  # handed to the consumer, which re-raises it
            put(e)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
