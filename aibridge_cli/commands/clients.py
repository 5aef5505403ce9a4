"""`aibridge clients list`: the clients seen in ended interceptions (ListAIBridgeClients)."""

from __future__ import annotations

from typing import Optional

import typer

from aibridge_cli.data.clients import list_clients
from aibridge_cli.options import FormatOpt, LimitOpt, OffsetOpt, emit, note, read_db

app = typer.Typer(help="Clients seen in ended interceptions.", no_args_is_help=True)


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Only clients whose name starts with this text (% and _ match themselves)."),
    limit: int = LimitOpt,
    offset: int = OffsetOpt,
    fmt: str = FormatOpt,
):
    """Distinct clients of ended interceptions, in alphabetical order; a missing one is 'Unknown'.

    Examples:

    \b
      aibridge clients list
      aibridge clients list --prefix C -f json
    """
    limit = limit or 100
    with read_db(ctx) as conn:
        rows = list_clients(conn, prefix or "", limit, offset)
    emit(ctx, rows, fmt, columns=["client"])
    if fmt == "table":
        if not rows:
            note("no clients match" if prefix else "no ended interceptions yet")
        elif len(rows) == limit:
            note(f"showing {limit}; next page: --offset {offset + limit}")
