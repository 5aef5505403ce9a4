"""Driver errors to our error types, so that no expected failure shows a traceback."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from aibridge_cli.errors import (
    MIGRATE_HINT,
    AibridgeError,
    BadInput,
    DatabaseUnavailable,
    PermissionDenied,
    QueryTimeout,
    SchemaMissing,
)


def first_line(e: Exception) -> str:
    text = str(e).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else e.__class__.__name__


@contextmanager
def translate_errors(statement: str | None = None, role: str | None = None) -> Iterator[None]:
    """Turn driver errors into our error types, so no expected failure shows a traceback.
    Given the statement and role, a refused privilege is named in the message."""
    try:
        yield
    except AibridgeError:
        raise
    except Exception as e:
        ours = translated(e, statement, role)
        if ours is None:
            raise
        raise ours from None


def translated(e: Exception, statement: str | None = None, role: str | None = None) -> AibridgeError | None:
    """Our error for a driver error, or None for anything else."""
    # psycopg is imported here, not at the top: whoever raised a driver error has loaded it
    # already, and commands that never connect (--help, bad input) need not pay for it.
    import psycopg
    from psycopg import errors as pgerrors

    if not isinstance(e, psycopg.Error):
        return None
    if isinstance(e, (pgerrors.UndefinedTable, pgerrors.UndefinedColumn, pgerrors.UndefinedFunction)):
        return SchemaMissing(f"the database lacks what the query needs: {first_line(e)}", hint=MIGRATE_HINT)
    if isinstance(e, pgerrors.QueryCanceled):
        return QueryTimeout(f"the query was cancelled: {first_line(e)}",
                            hint="raise --timeout (e.g. --timeout 120s) or narrow the filters")
    if isinstance(e, pgerrors.LockNotAvailable):
        return QueryTimeout(f"gave up waiting for a lock: {first_line(e)}",
                            hint="another transaction holds the rows; try again later")
    if isinstance(e, pgerrors.ReadOnlySqlTransaction):
        return PermissionDenied(f"permission denied: {first_line(e)}",
                                hint="connect as a role with that privilege (see 'aibridge db grant')")
    if isinstance(e, pgerrors.InsufficientPrivilege):
        from aibridge_cli.policy.access import denied_message

        return PermissionDenied(denied_message(first_line(e), statement, role),
                                hint="connect as a role with that privilege; only the tables' owner can migrate "
                                     "or prune (see 'aibridge db grant')")
    if isinstance(e, pgerrors.FeatureNotSupported):
        if "row-level security" not in str(e):
            return AibridgeError(f"database error: {first_line(e)}")
        who = f"role {role!r}" if role else "the connected role"
        return PermissionDenied(f"permission denied: {who} is subject to row-level security, and PostgreSQL "
                                "does not allow COPY into such tables",
                                hint="load in bulk as the tables' owner; a recorder role writes one record at a time "
                                     "('aibridge record ...')")
    if isinstance(e, (pgerrors.InvalidTextRepresentation, pgerrors.InvalidDatetimeFormat,
                      pgerrors.DatetimeFieldOverflow, pgerrors.NumericValueOutOfRange,
                      pgerrors.StringDataRightTruncation)):
        return BadInput(f"the database rejected a value: {first_line(e)}")
    if isinstance(e, psycopg.OperationalError):
        return DatabaseUnavailable(f"lost the database connection: {first_line(e)}",
                                   hint="check that the server is running and reachable")
    return AibridgeError(f"database error: {first_line(e)}")
