"""`aibridge prices show MODEL`: the price spend would use for a model, its source and its date."""

from __future__ import annotations

from typing import Optional

import typer

from aibridge_cli.commands.spend import PricesOpt, SourceOpt
from aibridge_cli.errors import NotFound
from aibridge_cli.options import FormatOpt, emit, note, parse_time, read_db

app = typer.Typer(help="Prices: what a model costs per million tokens, and where that price comes from.",
                  no_args_is_help=True)

COLUMNS = ["provider", "model", "source", "version", "valid_from", "valid_to", "min_input_tokens", "max_input_tokens",
           "input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "request_usd"]


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="The model as interceptions name it, e.g. claude-sonnet-4-5-20250929."),
    provider: Optional[str] = typer.Option(None, "--provider",
                                           help="The provider (type) to price it for (default: the one genai-prices guesses)."),
    at: Optional[str] = typer.Option(None, "--at", help="The price in effect at this time (default: now)."),
    prices: Optional[str] = PricesOpt,
    price_source: str = SourceOpt,
    fmt: str = FormatOpt,
):
    """Every tier of the price in effect at --at (USD per million tokens; a tier holds requests
    whose total input, cached tokens included, is in [min_input_tokens, max_input_tokens]).
    Stored costs are per row and have no price to show: auto shows the first computed source.

    Examples:

    \b
      aibridge prices show claude-sonnet-4-5-20250929
      aibridge prices show gpt-5 --provider openai -f json
      aibridge prices show claude-sonnet-4-6 --at 2026-03-01
    """
    from aibridge_cli.data import spend as data
    from aibridge_cli.data.prices import FOREVER, NEVER, NO_LIMIT
    from aibridge_cli.timeparse import utcnow

    when = parse_time(at, "--at") or utcnow()
    with read_db(ctx) as conn:
        present = data.layout(conn)
        pricer = data.make_pricer(conn, price_source.strip().lower(), prices, present)
    name = provider
    if not name:
        found = pricer.genai_model("", model) if "genai-prices" in pricer.sources() else None
        name = found[0].id if found else ""
    from datetime import timedelta

    # A year ahead, so that a known coming price change shows as the end of this one.
    ahead = when + timedelta(days=366)
    rates = [r for r in pricer.rates_for(name, model, when, ahead) if r.valid_from <= when < r.valid_to]
    if not rates:
        raise NotFound(f"no price for {model!r}" + (f" from provider {name!r}" if name else "")
                       + f" in {', '.join(pricer.sources()) or 'stored costs only'}",
                       hint="add it to a --prices file: [[price]] model = \"...\" input_mtok = ... output_mtok = ...")
    rows = [{"provider": r.provider, "model": r.model, "source": r.source, "version": r.version,
             "valid_from": None if r.valid_from == NEVER else r.valid_from,
             "valid_to": None if r.valid_to == FOREVER else r.valid_to,
             "min_input_tokens": r.lo + 1, "max_input_tokens": None if r.hi == NO_LIMIT else r.hi,
             "input_mtok": r.input, "output_mtok": r.output, "cache_read_mtok": r.cache_read,
             "cache_write_mtok": r.cache_write, "request_usd": r.request} for r in rates]
    if fmt == "table":
        from aibridge_cli.views import spend as view
        from aibridge_cli.views.formats import console

        console().print(view.price_table(rows))
        first = rows[0]
        note(f"{first['provider'] or 'any provider'}/{model}: USD per million tokens from {first['version'] or first['source']}"
             f", in effect at {when.isoformat()}")
        return
    emit(ctx, rows, fmt, columns=COLUMNS)
