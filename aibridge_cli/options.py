"""What the command modules share: option declarations, input parsing, output.

Options are declared once here so every command spells and documents them alike.
"""

from __future__ import annotations

import re
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Optional, Sequence

import typer

from aibridge_cli.errors import BadInput, NotFound
from aibridge_cli.views.formats import FORMATS

FORMAT_HELP = "Output format: table, json, jsonl, csv, tsv or markdown."


def profile_default(ctx: typer.Context, param: typer.CallbackParam, value: Any, key: str) -> Any:
    """The profile's setting where the option was left at its built-in default: options given on
    the command line (or by their environment variable) win over the profile."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source is not None and source.name != "DEFAULT":
        return value
    state = ctx.find_root().obj
    setting = getattr(getattr(state, "profile", None), key, None)
    return value if setting is None else setting


def _check_format(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    value = profile_default(ctx, param, value, "format")
    v = value.lower()
    if v not in FORMATS:
        raise BadInput(f"--format: unknown format {value!r}", hint=f"use one of {', '.join(FORMATS)}")
    return v


def StrictInt(min: int = 0, max: int = 2**63 - 1):  # noqa: N802  (reads like the type it stands for)
    """A parser for whole numbers in ASCII digits within [min, max]: click's INT goes through
    int(), which also reads '٣', '１２' and '1_000'."""

    def parse(value) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip(" \t")
        if not _INT.fullmatch(text) or len(text) > 20:
            raise typer.BadParameter(f"{value!r} is not a whole number (digits 0-9)")
        n = int(text)
        if not min <= n <= max:
            raise typer.BadParameter(f"{n} is not in the range {min}..{max:,}")
        return n

    return parse


_INT = re.compile(r"-?[0-9]+", re.ASCII)
def _complete_format(incomplete: str) -> list[str]:
    return [f for f in FORMATS if f.startswith(incomplete)]


def _check_tz(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    return profile_default(ctx, param, value, "tz")


def complete_tz(incomplete: str) -> list[str]:
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() | {"UTC"} if z.lower().startswith(incomplete.lower()))


def optional_format(ctx: typer.Context, param: typer.CallbackParam, value: Optional[str]) -> Optional[str]:
    """For a --format whose absence means something of its own (e.g. print only the new id)."""
    return None if value is None else _check_format(ctx, param, value)


FormatOpt = typer.Option("table", "--format", "-f", help=FORMAT_HELP, callback=_check_format,
                         autocompletion=_complete_format)
TzOpt = typer.Option("UTC", "--tz", help="Time zone of the day and hour buckets (IANA name, default UTC).",
                     callback=_check_tz, autocompletion=complete_tz)
LimitOpt = typer.Option(100, "--limit", "-n", parser=StrictInt(0, 1_000_000),
                        help="Rows per page (0 means the default, 100).")
OffsetOpt = typer.Option(0, "--offset", parser=StrictInt(0), help="Rows to skip before the page.")
StartedAfterOpt = typer.Option(None, "--started-after", "--since",
                               help="Only interceptions started at or after this time.")
StartedBeforeOpt = typer.Option(None, "--started-before", "--until",
                                help="Only interceptions started at or before this time.")


def _complete(kind: str):
    def complete(incomplete: str) -> list[str]:
        from aibridge_cli import completion  # only while the shell completes

        return completion.matching(kind, incomplete)

    return complete


InitiatorOpt = typer.Option(None, "--initiator", "-u", help="Only this user's interceptions (username or UUID).",
                            autocompletion=_complete("users"))
ProviderOpt = typer.Option(None, "--provider", help="Only this provider (anthropic, openai, ...).",
                           autocompletion=_complete("providers"))
ModelOpt = typer.Option(None, "--model", help="Only this model.", autocompletion=_complete("models"))
ProviderNameOpt = typer.Option(None, "--provider-name",
                               help="Only this provider instance (provider_name; 2026-08 layout).")
FailedOpt = typer.Option(False, "--failed", help="Only failed interceptions (an error_type; 2026-08 layout).")
ClientOpt = typer.Option(None, "--client", help="Only this client ('Unknown' matches interceptions without one).",
                         autocompletion=_complete("clients"))


@dataclass
class State:
    """What the root callback decided for this invocation, carried in the Typer context."""

    settings: Any  # db.connect.Settings: DSN, timeout, --as
    redaction: Any = None  # policy.redaction.Policy, or None when output is not redacted
    profile: Any = None  # profiles.Profile: the settings of --profile / AIBRIDGE_PROFILE / `default`
    pager: bool = True  # False with --no-pager


def settings(ctx: typer.Context):
    """The connection settings that the root callback stored (DSN, timeout, --as)."""
    return ctx.find_root().obj.settings


@contextmanager
def read_db(ctx: typer.Context) -> Iterator[Any]:
    """A read-only connection with the statement timeout set."""
    from aibridge_cli.db.connect import connect  # psycopg: imported only by commands that connect


    with connect(settings(ctx), read_only=True) as conn:
        yield conn


@contextmanager
def write_db(ctx: typer.Context) -> Iterator[Any]:
    """A connection whose writes commit together on success and roll back on any error."""
    from aibridge_cli.db.connect import connect


    with connect(settings(ctx), read_only=False) as conn:
        yield conn


def parse_time(value: Optional[str], option: str) -> Optional[datetime]:
    """None when the option was not given; an empty value is an error, not "not given"."""
    if value is None:
        return None
    from aibridge_cli.timeparse import parse_time as _parse

    return _parse(value, option)


def parse_time_range(started_after: Optional[str], started_before: Optional[str]) -> tuple:
    """--started-after and --started-before, checked against each other. Parse them before
    connecting: a bad time then fails before a connection (or the embedded server) is opened."""
    after = parse_time(started_after, "--started-after")
    before = parse_time(started_before, "--started-before")
    if after and before and after > before:
        raise BadInput(f"--started-after ({after.isoformat()}) is later than --started-before ({before.isoformat()})",
                       hint="swap the two times")
    return after, before


UUID_HINT = "a UUID looks like 0b9f2d8e-6c1a-4a8e-9f43-3d2b5c7e1a90"


def parse_uuid(value: Optional[str], option: str) -> Optional[uuid.UUID]:
    """ASCII hex digits only (uuid.UUID itself takes full-width digits and braces)."""
    if value is None:
        return None
    from aibridge_cli.ingest.limits import strict_uuid

    u = strict_uuid(value)
    if u is None:
        what = "must not be empty" if not value.strip() else f"{value!r} is not a valid UUID"
        raise BadInput(f"{option}: {what}", hint=UUID_HINT)
    return uuid.UUID(u)


def parse_json(value: Optional[str], option: str) -> Any:
    if value is None:
        return None
    from aibridge_cli.ingest.limits import loads_json

    return loads_json(value, option)


def parse_count(value: Optional[str], option: str, default: int | None = None) -> Optional[int]:
    """A whole number ≥ 0 in ASCII digits (int() also takes '٣' and '1_000')."""
    if value is None:
        return default
    from aibridge_cli.ingest.limits import strict_count

    return strict_count(value, option)


def resolve_user(conn, value: Optional[str], option: str = "--initiator") -> Optional[uuid.UUID]:
    """A username or UUID to the user's id. A UUID is taken as given, even without a users row,
    so that initiators missing from users can still be filtered on; a username must exist."""
    if value is None:
        return None
    from aibridge_cli.ingest.limits import NAME_BYTES, strict_uuid, too_long

    if not value.strip():
        raise BadInput(f"{option}: must not be empty", hint="give a username or a user's UUID")
    u = strict_uuid(value)
    if u is not None:
        return uuid.UUID(u)
    if too_long(value, NAME_BYTES):
        raise NotFound(f"{option}: no user named {value[:40]!r}...", hint="usernames are at most 64 characters")
    from aibridge_cli.db import query

    row = query.one(conn, "GetUserByUsername", username=value.strip())
    if row is None:
        raise NotFound(f"{option}: no user named {value!r}",
                       hint="list users with 'aibridge users list', or pass the user's UUID")
    return row["id"]


def redaction(ctx: typer.Context):
    """The invocation's redaction policy, or None when no --redact/--no-content was given."""
    return ctx.find_root().obj.redaction


def emit(ctx: typer.Context, rows: Iterable[dict], fmt: str, columns: Optional[Sequence[str]] = None,
         title: Optional[str] = None, numeric: Sequence[str] = (), layout: Optional[dict] = None) -> int:
    """`layout`: the table format's Column options per column (views.table.rows_table)."""
    return emit_with(redaction(ctx), rows, fmt, columns, title, numeric, page=ctx.find_root().obj.pager,
                     layout=layout)


def emit_with(policy, rows: Iterable[dict], fmt: str, columns: Optional[Sequence[str]] = None,
              title: Optional[str] = None, numeric: Sequence[str] = (), page: bool = False,
              layout: Optional[dict] = None) -> int:
    from aibridge_cli import pager
    from aibridge_cli.views.formats import write_rows

    if policy is not None and policy.active:
        rows, columns = policy.rows(rows), policy.columns(columns)
    if not pager.wanted(fmt, page):
        return write_rows(rows, fmt, sys.stdout, columns=columns, title=title, numeric=numeric, layout=layout)
    import io

    buf = io.StringIO()
    with pager.terminal_width():
        n = write_rows(rows, fmt, buf, columns=columns, title=title, numeric=numeric, layout=layout)
    pager.show(buf.getvalue())
    return n


def emit_count(ctx: typer.Context, n: int, fmt: str) -> None:
    if fmt == "table":
        sys.stdout.write(f"{n}\n")  # a bare number: easy to read and to use in a script
    else:
        emit(ctx, [{"count": n}], fmt, columns=["count"])


def scrub(ctx: typer.Context, obj: Any, keep_keys: bool = False) -> Any:
    """A row or nested record as the invocation's redaction policy lets it be printed."""
    policy = redaction(ctx)
    return policy.scrub(obj, keep_keys) if policy is not None and policy.active else obj


def next_page_hint(command: str, started_after: Optional[datetime], started_before: Optional[datetime],
                   flags: Sequence[tuple]) -> str:
    """The command for the next page. Times are given absolute, so that relative ones (--since 24h)
    do not drift between pages; a flag is (option, value), left out when the value is empty and
    given alone when it is True."""
    import shlex

    parts = ["aibridge", *command.split()]
    if started_after:
        parts += ["--started-after", started_after.isoformat()]
    if started_before:
        parts += ["--started-before", started_before.isoformat()]
    for opt, value in flags:
        if value is True:
            parts.append(opt)
        elif value:
            parts += [opt, str(value)]
    return "next page: " + " ".join(shlex.quote(p) for p in parts)


def note(text: str) -> None:
    """Progress, hints and warnings: to stderr, never mixed with data."""
    sys.stderr.write(text.rstrip("\n") + "\n")
