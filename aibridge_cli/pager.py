"""Long tables through a pager on a terminal, as psql does.

Only the table format on a terminal is paged, and only when it is taller than the terminal:
pipes, files and machine formats are never paged. The pager is AIBRIDGE_PAGER, else PAGER,
else `less -FRSX` (-S: long lines scroll sideways instead of wrapping, so columns stay
aligned); an empty value or `cat` turns paging off, as does --no-pager.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

DEFAULT = "less -FRSX"


def command() -> list[str] | None:
    """The pager to run, or None when paging is off."""
    for var in ("AIBRIDGE_PAGER", "PAGER"):
        if var in os.environ:
            value = os.environ[var].strip()
            break
    else:
        value = DEFAULT
    if not value or value == "cat":
        return None
    try:
        argv = shlex.split(value)
    except ValueError:
        return None
    return argv if shutil.which(argv[0]) else None


def wanted(fmt: str, enabled: bool) -> bool:
    return enabled and fmt == "table" and sys.stdout.isatty()


@contextmanager
def terminal_width() -> Iterator[None]:
    """Render for the terminal's width even though the text goes to a buffer first."""
    saved = os.environ.get("COLUMNS")
    if saved is None:
        os.environ["COLUMNS"] = str(shutil.get_terminal_size().columns)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)


def show(text: str) -> None:
    """Print text, through the pager when it is taller than the terminal."""
    argv = command()
    if argv is None or text.count("\n") < shutil.get_terminal_size().lines - 1:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    env = {**os.environ}
    env.setdefault("LESS", "FRSX")  # a bare `less` from PAGER behaves like the default
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except OSError:
        sys.stdout.write(text)
        return
    try:
        proc.stdin.write(text.encode(sys.stdout.encoding or "utf-8", errors="replace"))
        proc.stdin.close()
    except BrokenPipeError:  # the user quit the pager before the end
        pass
    proc.wait()
