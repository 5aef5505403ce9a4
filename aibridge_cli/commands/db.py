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
    from aibridge_cli.db import query
    from aibridge_cli.db import migrate
    from aibridge_cli.db import optimize

    s = settings(ctx)
    from aibridge_cli.db.connect import connect  # psycopg: only when connecting

    with connect(s, read_only=False, autocommit=True) as conn:
        before = query.one(conn, "DeploymentTablesPresent")["present"] or []
        done = migrate.apply(conn)
        unbuilt = [r["index"] for r in optimize.status(conn) if r["state"] != "valid"]
    if s.embedded:
        migrate.write_stamp()
    rows = [{"version": v, "status": "applied"} for v in done]
    if fmt == "table":
        if done:
            note(f"applied {len(done)} migration(s): {', '.join(done)}")
        else:
            note("nothing to do: the schema is up to date")
        if before and done:
            note(f"existing tables kept as they were: {', '.join(before)}")
    else:
        emit(ctx, rows, fmt, columns=["version", "status"])
    if unbuilt:
        # Migrations build them only on a fresh database; see sql/schema/0003_aibridge_indexes.sql.
        note(f"aibridge's own indexes not built: {', '.join(unbuilt)} (migrate never builds them on tables that "
             "hold rows or on a Coder deployment's database); run 'aibridge db optimize' to build them concurrently")


@app.command("status")
def status_cmd(ctx: typer.Context, fmt: str = FormatOpt):
    """Show where the data is, the server, and applied and pending migrations.

    Examples:

    \b
      aibridge db status
      aibridge db status -f json
    """
    from aibridge_cli.db import query
    from aibridge_cli.db import embedded
    from aibridge_cli.db import migrate
    from aibridge_cli.db import optimize

    s = settings(ctx)
    from aibridge_cli.db.connect import connect  # psycopg: only when connecting

    with connect(s) as conn:
        info = query.one(conn, "ServerInfo")
        indexes = [{"index": r["index"], "state": r["state"]} for r in optimize.status(conn)]
        done = migrate.applied(conn)
        present = query.one(conn, "DeploymentTablesPresent")["present"] or []
        target = conn.info.dsn  # libpq's view of the DSN, password left out
    rows = [{"version": v, "status": "applied" if v in done else "pending", "applied_at": done.get(v)}
            for v, _ in migrate.migration_files()]
    if fmt == "table":
        where = f"embedded server in {embedded.pgdata()}" if s.embedded else target
        note(f"database: {where}")
        note(f"server: PostgreSQL {info['server_version']}, database {info['database']} as {info['user']}, {info['size']}")
        missing = sorted(set(_REQUIRED) - set(present))
        if missing:
            note(f"missing tables: {', '.join(missing)} (run 'aibridge db migrate')")
        elif not done:
            note("the AI Bridge tables exist but were not created by aibridge (a deployment's database)")
        missing_idx = [i["index"] for i in indexes if i["state"] != "valid"]
        if missing_idx and not missing:
            note(f"aibridge's own indexes not built: {', '.join(missing_idx)} (see 'aibridge db optimize')")
        emit(ctx, rows, fmt, columns=["version", "status", "applied_at"])
    else:
        emit(ctx, [{"target": "embedded" if s.embedded else target, **info, "tables": present, "indexes": indexes,
               "migrations": [{k: v for k, v in r.items()} for r in rows]}], fmt)


_REQUIRED = ("users", "visible_users", "aibridge_interceptions", "aibridge_token_usages",
             "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts")


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
    from aibridge_cli.db import query
    from aibridge_cli.db import optimize

    from aibridge_cli.db.connect import connect  # psycopg: only when connecting

    with connect(settings(ctx), read_only=False, autocommit=True) as conn:
        # An index build takes as long as it takes; a timeout would leave an invalid index behind.
        query.run(conn, "SetStatementTimeout", timeout_ms=0)
        if dry_run:
            changed = []
        elif drop:
            changed = optimize.drop(conn)
        else:
            changed = optimize.create(conn)
        rows = optimize.status(conn)
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
    from aibridge_cli.db import embedded
    from aibridge_cli.errors import BadInput

    if not settings(ctx).embedded:
        raise BadInput("'db stop' manages the embedded server only", hint="unset --dsn / AIBRIDGE_DSN")
    if embedded.stop():
        note(f"stopped the embedded PostgreSQL in {embedded.pgdata()}")
    else:
        note("the embedded PostgreSQL was not running")
