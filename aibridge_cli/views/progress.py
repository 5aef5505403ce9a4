"""The one progress bar: demo, record import and prune show their progress with it.

It draws on stderr, and only when stderr is a terminal: under cron, in a pipe or in a test it
does nothing, so callers use it unconditionally. Rich is imported only once a bar is shown.
"""

from __future__ import annotations

import sys
from typing import IO, Optional


class ProgressBar:
    """A context manager: `advance(n)` and `update(...)` move it; leaving the block removes it.

    total None: no bar, the count alone (an unknown length, like stdin). unit "bytes" counts
    in KB/MB; any other unit is a word after "done/total". `detail` is a short text after the
    count that callers may change as they go (prune: rows deleted so far)."""

    def __init__(self, description: str, total: Optional[int] = None, *, unit: str = "",
                 detail: bool = False, enabled: bool = True, stream: Optional[IO[str]] = None):
        self.stream = stream or sys.stderr
        self.shown = enabled and self.stream.isatty()
        self.description, self.total, self.unit, self.detail = description, total, unit, detail
        self._bar = None
        self._task = None

    def __enter__(self) -> "ProgressBar":
        if not self.shown:
            return self
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from aibridge_cli.views.formats import console

        cols = [SpinnerColumn(), TextColumn("{task.description}")]
        if self.total is not None:
            cols.append(BarColumn())
        if self.unit == "bytes":
            cols.append(DownloadColumn())
        elif self.total is not None:
            cols.append(MofNCompleteColumn())
            if self.unit:
                cols.append(TextColumn(self.unit))
        if self.detail:
            cols.append(TextColumn("{task.fields[detail]}"))
        cols.append(TimeElapsedColumn())
        if self.total is not None:
            cols.append(TimeRemainingColumn())
        self._bar = Progress(*cols, console=console(self.stream), transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total, detail="")
        return self

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def update(self, *, completed: Optional[int] = None, description: Optional[str] = None,
               detail: Optional[str] = None, total: Optional[int] = None) -> None:
        if self._bar is None:
            return
        fields = {} if detail is None else {"detail": detail}
        self._bar.update(self._task, completed=completed, description=description, total=total, **fields)

    def __exit__(self, *exc) -> bool:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        return False
