"""`aibridge spend`: what token usage cost, per user, day, model, session...; `spend check` for
budgets (exit 4 when over); `spend reconcile` against the deployment's daily accumulator."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Optional

import typer

from aibridge_cli.errors import EXIT_OVER_BUDGET, AibridgeError, BadInput
from aibridge_cli.options import (
    ClientOpt,
    FormatOpt,
    InitiatorOpt,
    ModelOpt,
    ProviderOpt,
    complete_tz,
    emit,
    note,
    parse_time,
    profile_default,
    read_db,
    resolve_user,
)

app = typer.Typer(help="Spend: what token usage cost, priced from stored costs, your price file, the "
                       "deployment's prices or genai-prices; budgets for cron.",
                  invoke_without_command=True)

SinceOpt = typer.Option(None, "--since", help="Token usage at or after this time (default: the start of this month in --tz).")
UntilOpt = typer.Option(None, "--until", help="Token usage before this time (default: now, or the end of this month).")


def _profile_tz(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    return profile_default(ctx, param, value, "tz")


def _profile_prices(ctx: typer.Context, param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    return profile_default(ctx, param, value, "prices")


TzOpt = typer.Option("UTC", "--tz", help="Time zone of the default month and of day/week/month groups (IANA name).",
                     callback=_profile_tz, autocompletion=complete_tz)
PricesOpt = typer.Option(None, "--prices", envvar="AIBRIDGE_PRICES", metavar="FILE", callback=_profile_prices,
                         help="A TOML file of price overrides ([[price]] model, input_mtok, output_mtok, ...); "
                              "also the profile's 'prices' setting.")
SourceOpt = typer.Option("auto", "--price-source",
                         help="auto (stored, then --prices, then the deployment's table, then genai-prices), "
                              "stored, deployment, genai-prices or file.")


class OverBudget(AibridgeError):
    exit_code = EXIT_OVER_BUDGET


def _check_chart(chart: Optional[str], keys, fmt: str) -> None:
    from aibridge_cli.views.spend import CHART_METRICS, PERIODS

    if chart is None:
        return
    if chart not in CHART_METRICS:
        raise BadInput(f"--chart: unknown series {chart!r}", hint=f"use one of {', '.join(CHART_METRICS)}")
    if not any(k in PERIODS for k in keys):
        raise BadInput("--chart needs --by day, week or month", hint="e.g. --since 30d --by day,model --chart cost")
    if fmt != "table":
        raise BadInput(f"--chart draws on a terminal; it does not go with --format {fmt}",
                       hint="leave out --chart for machine formats")


def register(root: typer.Typer, name: str) -> None:
    root.add_typer(app, name=name)


def _prepare(ctx, conn, since, until, tz, initiator, prices, price_source):
    from aibridge_cli.data import spend as data
    from aibridge_cli.data.telemetry import resolve_tz

    zone = resolve_tz(conn, tz)
    start, end = data.default_window(conn, zone, parse_time(since, "--since"), parse_time(until, "--until"))
    present = data.layout(conn)
    pricer = data.make_pricer(conn, price_source.strip().lower(), prices, present)
    return zone, start, end, present, pricer, resolve_user(conn, initiator)


@app.callback()
def spend_cmd(
    ctx: typer.Context,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    by: Optional[str] = typer.Option(None, "--by", help="Group by any of user, day, week, month, provider, model, "
                                                         "client, session, group (comma-separated)."),
    tz: str = TzOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    prices: Optional[str] = PricesOpt,
    price_source: str = SourceOpt,
    chart: Optional[str] = typer.Option(None, "--chart", help="Draw cost or tokens per --by day|week|month as bars, "
                                        "stacked by the first other --by key (table format)."),
    exact: bool = typer.Option(False, "--exact", help="Read raw rows only, never history (an error where prune "
                                                        "has deleted rows of the window)."),
    fmt: str = FormatOpt,
):
    """Tokens and cost of the token usages created in [--since, --until), one total or one row
    per group, sorted by cost. Stored costs win; other rows are priced per row (tiers, price
    changes) from the sources --price-source names; tokens nothing prices are counted apart.

    Examples:

    \b
      aibridge spend --since 30d --by user
      aibridge spend --by day,model --tz Europe/Berlin -f csv
      aibridge spend --since 7d --by session -u alice-haddad
      aibridge spend --since 30d --by day,model --chart cost
    """
    if ctx.invoked_subcommand is not None:
        return
    from aibridge_cli.data import spend as data

    keys = data.parse_by(by)
    _check_chart(chart, keys, fmt)
    with read_db(ctx) as conn:
        zone, start, end, present, pricer, initiator_id = _prepare(ctx, conn, since, until, tz, initiator, prices, price_source)
        cov, why = data.history_for(conn, since=start, until=end, by=keys, pricer=pricer, prices_path=prices, exact=exact)
        if why:
            note(why)
        result = data.summarize(conn, since=start, until=end, tz=zone, by=keys, pricer=pricer, present=present,
                                filters=data.Filters(provider or "", model or "", client or "", initiator_id),
                                history=cov)
    window = f"[{start.isoformat()}, {end.isoformat()})"
    if fmt == "table":
        from aibridge_cli.views import spend as view
        from aibridge_cli.views.formats import console

        note(f"window: token usage created in {window}" + (f", by {','.join(keys)}" if keys else ""))
        total = result.total()
        if chart:
            from aibridge_cli.data.telemetry import zone as zone_info

            period = next(k for k in keys if k in view.PERIODS)
            con = console()
            con.print(view.chart(result.rows, keys, chart, view.periods(start, end, period, zone_info(zone)), con.width))
        elif result.rows:
            console().print(view.spend_table(result.rows, result.columns, total))
        else:
            note("no token usage in this window")
        for text in (view.sources_note(total), view.unpriced_note(result.unpriced)):
            if text:
                note(text)
        return
    emit(ctx, result.rows, fmt, columns=result.columns)
    if result.unpriced:
        note("unpriced: " + ", ".join(f"{u['provider']}/{u['model']}" for u in result.unpriced))


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    budget: Optional[str] = typer.Option(None, "--budget", metavar="USD", help="The budget in US dollars."),
    per: str = typer.Option("user", "--per", help="Apply the budget to each user (user) or to all together (total)."),
    warn_at: Optional[float] = typer.Option(None, "--warn-at", metavar="SHARE",
                                            help="Also list those past this share of their budget (e.g. 0.8)."),
    deployment_budgets: bool = typer.Option(False, "--deployment-budgets",
                                            help="Check each user against the deployment's own limits (override, "
                                                 "else their effective group's budget) instead of --budget."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing when no one is over or past --warn-at."),
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    tz: str = TzOpt,
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
    prices: Optional[str] = PricesOpt,
    price_source: str = SourceOpt,
    fmt: str = FormatOpt,
):
    """Exit 4 when spend in the window exceeds the budget, listing who is over, by how much and
    the share used; exit 0 otherwise. For cron: add --quiet.

    Examples:

    \b
      aibridge spend check --budget 1000 --warn-at 0.8
      aibridge spend check --budget 5000 --per total --since 30d --quiet
      aibridge spend check --deployment-budgets
    """
    from aibridge_cli.data import spend as data

    per = per.strip().lower()
    if per not in ("user", "total"):
        raise BadInput(f"--per: unknown value {per!r}", hint="use --per user or --per total")
    if warn_at is not None and not 0 < warn_at <= 1:
        raise BadInput(f"--warn-at: {warn_at} is not a share between 0 and 1", hint="e.g. --warn-at 0.8 for 80 %")
    if deployment_budgets == (budget is not None):
        raise BadInput("spend check needs exactly one of --budget USD and --deployment-budgets",
                       hint="e.g. aibridge spend check --budget 100")
    amount = _usd(budget) if budget is not None else None
    with read_db(ctx) as conn:
        zone, start, end, present, pricer, initiator_id = _prepare(ctx, conn, since, until, tz, initiator, prices, price_source)
        if deployment_budgets:
            data.require_see_all(conn, "--deployment-budgets")
            lines = data.deployment_budget_lines(conn, start, end, initiator_id, present)
            per = "user"
        else:
            result = data.summarize(conn, since=start, until=end, tz=zone, by=("user",) if per == "user" else (),
                                    pricer=pricer, present=present,
                                    filters=data.Filters(provider or "", model or "", client or "", initiator_id))
            lines = data.budget_lines(result, amount, per)
            if result.unpriced and not quiet:
                from aibridge_cli.views import spend as view

                note(view.unpriced_note(result.unpriced) + " (not counted against the budget)")
    rows = data.classify(lines, warn_at)
    columns = ["user", "group", "spend_usd", "budget_usd", "share", "over_by_usd", "limit", "status"]
    if not deployment_budgets:
        columns = [c for c in columns if c not in ("group", "limit")]
    if rows or not quiet:
        from aibridge_cli.views import spend as view

        if fmt == "table":
            if rows:
                from aibridge_cli.views.formats import console

                console().print(view.budget_table(rows, columns))
            note(view.budget_summary(rows, len(lines), per) + f" in [{start.isoformat()}, {end.isoformat()})")
        else:
            emit(ctx, rows, fmt, columns=columns)
    over = [r for r in rows if r["status"] == "over"]
    if over:
        raise OverBudget(f"over budget: {', '.join(r['user'] for r in over)}",
                         hint="exit code 4 means a budget was exceeded; see the lines above")


@app.command("reconcile")
def reconcile_cmd(
    ctx: typer.Context,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    initiator: Optional[str] = InitiatorOpt,
    fmt: str = FormatOpt,
):
    """Compare, per user, effective group and UTC day, the rows' stored costs with the
    deployment's ai_user_daily_spend; list every difference. Exit 0 when they agree, 4 when not.

    Examples:

    \b
      aibridge spend reconcile
      aibridge spend reconcile --since 2026-11-01 --until 2026-12-01 -f csv
    """
    from aibridge_cli.data import spend as data

    with read_db(ctx) as conn:
        data.require_see_all(conn, "spend reconcile")
        start, end = data.default_window(conn, "UTC", parse_time(since, "--since"), parse_time(until, "--until"))
        present = data.layout(conn)
        from_day, to_day, rows = data.reconcile(conn, start, end, resolve_user(conn, initiator), present)
    columns = ["day", "user_username", "user_id", "group_name", "effective_group_id", "rows_micros",
               "daily_spend_micros", "difference_micros", "unpriced_rows"]
    span = f"UTC days [{from_day.date().isoformat()}, {to_day.date().isoformat()})"
    if fmt == "table":
        if rows:
            from aibridge_cli.views import spend as view
            from aibridge_cli.views.formats import console

            console().print(view.reconcile_table(rows, columns))
        note(f"{len(rows)} difference(s) between stored costs and ai_user_daily_spend in {span}")
    else:
        emit(ctx, rows, fmt, columns=columns)
    if rows:
        raise OverBudget(f"{len(rows)} (user, group, day) total(s) differ from ai_user_daily_spend",
                         hint="exit code 4 means the accumulator and the rows disagree")


def _usd(value: str) -> Decimal:
    try:
        d = Decimal(value.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise BadInput(f"--budget: {value!r} is not an amount", hint="give US dollars, e.g. --budget 100 or --budget 12.50") from None
    if not d.is_finite() or d <= 0:
        raise BadInput(f"--budget: {value!r} must be more than zero", hint="e.g. --budget 100")
    return d
