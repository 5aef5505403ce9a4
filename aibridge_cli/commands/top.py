"""`aibridge top`: a live, full-screen view of the gateway's last hour, like htop."""

from __future__ import annotations

import sys

import typer

from aibridge_cli.errors import BadInput
from aibridge_cli.options import FormatOpt, StrictInt, read_db, scrub


def register(root: typer.Typer, name: str) -> None:
    root.command("top")(top_cmd)


def top_cmd(
    ctx: typer.Context,
    interval: str = typer.Option("2s", "--interval", help="Time between refreshes (1s, 5s, 500ms, ...)."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot and exit (for scripts; also when not on a terminal)."),
    top: int = typer.Option(8, "--top", parser=StrictInt(1, 100), help="How many users, models and errors to list."),
    fmt: str = FormatOpt,
):
    """In-flight interceptions, requests and tokens per minute, the busiest users and models and
    the latest tool errors of the last hour, refreshed every --interval. q (or Ctrl-C) quits.

    \b
    Examples:
      aibridge top
      aibridge top --once -f json
    """
    from aibridge_cli.timeparse import parse_duration

    seconds = parse_duration(interval, "--interval").total_seconds()
    if seconds < 0.2:
        raise BadInput("--interval must be at least 200ms", hint="e.g. --interval 2s")
    if once or fmt != "table" or not sys.stdout.isatty():
        _print_once(ctx, fmt, top)
        return
    _live(ctx, seconds, top)


def _snapshot(ctx: typer.Context, top: int):
    from aibridge_cli.data.top import snapshot
    from aibridge_cli.timeparse import utcnow

    with read_db(ctx) as conn:
        snap = snapshot(conn, utcnow(), top)
    snap.errors = scrub(ctx, snap.errors, keep_keys=True)
    return snap


def _print_once(ctx: typer.Context, fmt: str, top: int) -> None:
    snap = _snapshot(ctx, top)
    if fmt == "table":
        from aibridge_cli.views.formats import console
        from aibridge_cli.views.top import render

        con = console()
        con.print(render(snap, con.width))
        return
    if fmt not in ("json", "jsonl"):
        raise BadInput(f"--format {fmt} is not available for top", hint="use table, json or jsonl")
    from aibridge_cli.views.formats import dumps

    sys.stdout.write(dumps(snap.as_dict()) + "\n")


def _live(ctx: typer.Context, seconds: float, top: int) -> None:
    from rich.live import Live

    from aibridge_cli.views.formats import console
    from aibridge_cli.views.top import render

    con = console()
    with _keys() as pressed, Live(console=con, screen=True, auto_refresh=False) as live:
        try:
            while True:
                live.update(render(_snapshot(ctx, top), con.width), refresh=True)
                if pressed(seconds) in ("q", "Q"):
                    return
        except KeyboardInterrupt:
            return


class _keys:
    """Single key presses from the terminal, without echo, while the view is shown."""

    def __enter__(self):
        import termios
        import tty

        self.fd = sys.stdin.fileno() if sys.stdin.isatty() else None
        if self.fd is not None:
            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self.wait

    def wait(self, seconds: float) -> str | None:
        """The key pressed within `seconds`, or None."""
        import os
        import select
        import time

        if self.fd is None:
            time.sleep(seconds)
            return None
        ready, _, _ = select.select([self.fd], [], [], seconds)
        return os.read(self.fd, 1).decode(errors="replace") if ready else None

    def __exit__(self, *exc):
        if self.fd is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        return False
