"""`aibridge top`: a snapshot of the last hour as one Rich renderable (the caller prints it,
once or inside a Live display). Readable without colour: bars are block characters."""

from __future__ import annotations

from typing import Sequence

from aibridge_cli.views.text import cell, duration

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; zero stays blank, any non-zero shows."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        level = 0 if v <= 0 else max(1, round(v / top * (len(BLOCKS) - 1)))
        out.append(BLOCKS[level])
    return "".join(out)


def _table(title: str, columns: Sequence[tuple[str, str, bool]], rows: Sequence[dict], empty: str):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
    for key, header, numeric in columns:
        # numbers and keys are never cut: only free text may shrink
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True,
                         overflow="fold" if numeric or key in ("user_username", "model") else "ellipsis")
    if not rows:
        table.add_row(Text(empty, style="dim"), *[""] * (len(columns) - 1))
    for row in rows:
        table.add_row(*[Text(cell(row.get(key), 60)) for key, _, _ in columns])
    return table


def render(snap, width: int = 120):
    from rich.columns import Columns
    from rich.console import Group
    from rich.text import Text

    when = snap.at.strftime("%H:%M:%S %Z").strip()
    head = Text.assemble(("aibridge top", "bold"), f"  {when}  last hour: {snap.requests:,} requests, "
                         f"{snap.tokens:,} tokens, {len(snap.in_flight):,} in flight, "
                         f"{len(snap.errors):,} recent tool errors   (q quits)")
    series = snap.per_minute[-max(10, min(60, width - 20)):]
    requests = [m["requests"] for m in series]
    tokens = [m["input_tokens"] + m["output_tokens"] for m in series]
    chart = Text.assemble(
        ("requests/min ", "bold"), sparkline(requests), f"  max {max(requests, default=0):,}\n",
        ("tokens/min   ", "bold"), sparkline(tokens), f"  max {max(tokens, default=0):,}",
    )
    in_flight = [{**r, "running": duration(r["running_seconds"])} for r in snap.in_flight]
    users = _table("Top users", [("user_username", "user", False), ("requests", "requests", True),
                                 ("input_tokens", "input", True), ("output_tokens", "output", True)],
                   snap.users, "no requests")
    models = _table("Top models", [("model", "model", False), ("requests", "requests", True),
                                   ("input_tokens", "input", True), ("output_tokens", "output", True)],
                    snap.models, "no requests")
    flight = _table("In flight", [("user_username", "user", False), ("model", "model", False),
                                  ("client", "client", False), ("running", "running for", True)],
                    in_flight, "nothing in flight")
    errors = _table("Tool errors", [("created_at", "time", False), ("user_username", "user", False),
                                    ("tool", "tool", False), ("invocation_error", "error", False)],
                    snap.errors, "none")
    return Group(head, Text(""), chart, Text(""), Columns([users, models], padding=(0, 4)), Text(""), flight,
                 Text(""), errors)
