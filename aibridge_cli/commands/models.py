"""`aibridge models list`: the models seen in ended interceptions."""

from __future__ import annotations

from typing import Optional

import typer

from aibridge_cli.data.models import list_models
from aibridge_cli.options import FormatOpt, LimitOpt, OffsetOpt, emit, note, read_db
from aibridge_cli.timeparse import TIME_FORMS, parse_time

app = typer.Typer(help="Models seen in ended interceptions.", no_args_is_help=True)


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Only models whose name starts with this text (% and _ match themselves)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only models of interceptions started at or "
                                        "after this time (" + TIME_FORMS + ")."),
    limit: int = LimitOpt,
    offset: int = OffsetOpt,
    fmt: str = FormatOpt,
):
    """Distinct model names of ended interceptions, in alphabetical order.

    Examples:

    \b
      aibridge models list
      aibridge models list --prefix gpt- -f json
      aibridge models list --since 7d
    """
    after = parse_time(since, "--since") if since is not None else None
    limit = limit or 100
    with read_db(ctx) as conn:
        rows = list_models(conn, prefix or "", limit=limit, offset=offset, since=after)
    if fmt != "table" or rows:
        emit(ctx, rows, fmt, columns=["model"])
    if fmt == "table":
        if not rows:
            note("no models match" if prefix or since else "no ended interceptions yet")
        elif len(rows) == limit:
            note(f"showing {limit}; next page: --offset {offset + limit}")
