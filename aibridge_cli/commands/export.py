"""`aibridge export parquet DIR` and `aibridge export otlp`: the data out, in the formats other
engines read (a data lake of Parquet files; OpenTelemetry spans)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from aibridge_cli.commands.export_otlp import otlp_cmd
from aibridge_cli.commands.export_scope import need, scope
from aibridge_cli.options import ClientOpt, InitiatorOpt, ModelOpt, ProviderOpt, note, parse_time, read_db

app = typer.Typer(help="Export the data: Parquet files for a data lake, OpenTelemetry spans for a tracing backend.",
                  no_args_is_help=True)

SinceOpt = typer.Option(None, "--since", help="Only rows from this time on (widened to the start of its UTC day).")
UntilOpt = typer.Option(None, "--until", help="Only rows up to this time (widened to the end of its UTC day).")


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


@app.command("parquet")
def parquet_cmd(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., metavar="DIR", help="The export directory (created if missing)."),
    tables: list[str] = typer.Option([], "--tables", "-t", metavar="TABLE[,TABLE]",
                                     help="Only these tables: interceptions, token_usages, user_prompts, tool_usages, "
                                          "model_thoughts, users (repeatable or comma-separated; default all)."),
    full: bool = typer.Option(False, "--full", help="Rewrite every day in the window, not only the changed ones, "
                                                    "and drop exported days the database no longer has."),
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
):
    """Write every table as Parquet under DIR/<table>/day=YYYY-MM-DD/ (hive partitioning by UTC day).

    Incremental: DIR/_aibridge_export.json remembers what was written; the next run rewrites only
    the days that changed. --no-content and --redact (global options) apply to the exported text.
    Read it back with e.g. DuckDB: read_parquet('DIR/interceptions/*/*.parquet', hive_partitioning=true).

    Examples:

    \b
      aibridge export parquet lake
      aibridge export parquet lake --tables interceptions,token_usages --since 30d
      aibridge --no-content export parquet lake-without-content
    """
    need("pyarrow")
    from aibridge_cli.data import export

    wanted = export.parse_tables(tables)
    window = export.Window.whole_days(parse_time(since, "--since"), parse_time(until, "--until"))
    if directory.exists() and not directory.is_dir():
        from aibridge_cli.errors import BadInput

        raise BadInput(f"{directory} is not a directory", hint="give a directory for the export (created if missing)")
    with read_db(ctx) as conn:
        sc = scope(ctx, conn, initiator, provider, model, client)
        with export.locked(directory), _progress("exporting") as (on_total, advance):
            job = export.ParquetExport(conn, directory, sc.filters, window, full=full, policy=sc.policy,
                                       signature=sc.signature, all_users=not sc.filters.any() and not sc.restricted,
                                       on_total=on_total, advance=advance)
            results = job.run(wanted)
    from aibridge_cli.views.export import parquet_summary

    note(parquet_summary(results, directory))


@contextmanager
def _progress(label: str):
    """The shared progress bar over rows, on a terminal's stderr only; the total is known once
    the days to write are counted."""
    from aibridge_cli.views.progress import ProgressBar

    with ProgressBar(label, total=0, unit="rows") as bar:
        yield (lambda n: bar.update(total=n)), bar.advance


app.command("otlp")(otlp_cmd)
