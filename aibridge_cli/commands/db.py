"""`aibridge db`: migrate, status and stop the database the tool works on."""

from __future__ import annotations

import typer

from aibridge_cli.commands import grants
from aibridge_cli.options import FormatOpt, emit, note, settings

app = typer.Typer(help="Create and inspect the AI Bridge schema; manage the embedded server.", no_args_is_help=True)


def register(root: typer.Typer, name: str) -> None:
    grants.register(app)
    root.add_typer(app, name=name)


@app.command("migrate")
def migrate_cmd(ctx: typer.Context, fmt: str = FormatOpt):
    """Apply pending schema migrations (a no-op where the tables already exist).

    Examples:

    \b
      aibridge db migrate
      aibridge db migrate --format json
    """
    from aibridge_cli.data import db

    done = db.migrate(settings(ctx))
    if fmt == "table":
        if done.applied:
            note(f"applied {len(done.applied)} migration(s): {', '.join(done.applied)}")
        else:
            note("nothing to do: the schema is up to date")
        if done.kept_tables:
            note(f"existing tables kept as they were: {', '.join(done.kept_tables)}")
    else:
        emit(ctx, [{"version": v, "status": "applied"} for v in done.applied], fmt, columns=["version", "status"])
    if done.unbuilt_indexes:
        # Migrations build them only on a fresh database; see sql/schema/0003_aibridge_indexes.sql.
        note(f"aibridge's own indexes not built: {', '.join(done.unbuilt_indexes)} (migrate never builds them on "
             "tables that hold rows or on a Coder deployment's database); run 'aibridge db optimize' to build "
             "them concurrently")


@app.command("status")
def status_cmd(ctx: typer.Context, fmt: str = FormatOpt):
    """Show where the data is, the server, and applied and pending migrations.

    Examples:

    \b
      aibridge db status
      aibridge db status -f json
    """
    from aibridge_cli.data import db

    s = settings(ctx)
    st = db.status(s)
    if fmt == "table":
        from aibridge_cli.db import embedded
        from aibridge_cli.views.db import status_notes

        where = f"embedded server in {embedded.pgdata()}" if s.embedded else st.target
        for line in status_notes(st, where):
            note(line)
        emit(ctx, st.migrations, fmt, columns=["version", "status", "applied_at"])
    else:
        emit(ctx, [{"target": "embedded" if s.embedded else st.target, **st.server, "tables": st.tables,
                    "indexes": st.indexes, "migrations": st.migrations}], fmt)


@app.command("optimize")
def optimize_cmd(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show which indexes exist and which would be built."),
    drop: bool = typer.Option(False, "--drop", help="Drop our own indexes again (back to a deployment's layout)."),
    fmt: str = FormatOpt,
):
    """Create aibridge's own indexes CONCURRENTLY (writers are not blocked); never done implicitly.

    Examples:

    \b
      aibridge db optimize --dry-run
      aibridge db optimize
    """
    from aibridge_cli.data import db

    changed, rows = db.optimize(settings(ctx), dry_run=dry_run, drop=drop)
    if fmt == "table":
        verb = "dropped" if drop else "built"
        note(f"{verb} {len(changed)} index(es){': ' + ', '.join(changed) if changed else ''}" if not dry_run
             else "dry run: nothing changed")
    emit(ctx, rows, fmt, columns=["index", "state", "size", "why"])


@app.command("stop")
def stop_cmd(ctx: typer.Context):
    """Stop the embedded PostgreSQL server (the next command starts it again).

    Examples:

    \b
      aibridge db stop
      AIBRIDGE_HOME=~/aibridge-demo aibridge db stop
    """
    from aibridge_cli.data import db
    from aibridge_cli.errors import BadInput

    if not settings(ctx).embedded:
        raise BadInput("'db stop' manages the embedded server only", hint="unset --dsn / AIBRIDGE_DSN")
    stopped = db.stop_embedded()
    if stopped:
        note(f"stopped the embedded PostgreSQL in {stopped}")
    else:
        note("the embedded PostgreSQL was not running")
