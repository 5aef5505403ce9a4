"""Driver errors to our error types, so that no expected failure shows a traceback."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg import errors as pgerrors

from aibridge_cli.errors import (
    MIGRATE_HINT, AibridgeError, BadInput, DatabaseUnavailable, PermissionDenied, QueryTimeout, SchemaMissing,
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
    except (pgerrors.UndefinedTable, pgerrors.UndefinedColumn, pgerrors.UndefinedFunction) as e:
        raise SchemaMissing(f"the database lacks what the query needs: {first_line(e)}", hint=MIGRATE_HINT) from None
    except pgerrors.QueryCanceled as e:
        raise QueryTimeout(f"the query was cancelled: {first_line(e)}",
                           hint="raise --timeout (e.g. --timeout 120s) or narrow the filters") from None
    except pgerrors.LockNotAvailable as e:
        raise QueryTimeout(f"gave up waiting for a lock: {first_line(e)}",
                           hint="another transaction holds the rows; try again later") from None
    except pgerrors.ReadOnlySqlTransaction as e:
        raise PermissionDenied(f"permission denied: {first_line(e)}",
                               hint="connect as a role with that privilege (see 'aibridge db grant')") from None
    except pgerrors.InsufficientPrivilege as e:
        from aibridge_cli.policy.access import denied_message

        raise PermissionDenied(denied_message(first_line(e), statement, role),
                               hint="connect as a role with that privilege; only the tables' owner can migrate "
                                    "or prune (see 'aibridge db grant')") from None
    except pgerrors.FeatureNotSupported as e:
        if "row-level security" not in str(e):
            raise AibridgeError(f"database error: {first_line(e)}") from None
        who = f"role {role!r}" if role else "the connected role"
        raise PermissionDenied(f"permission denied: {who} is subject to row-level security, and PostgreSQL "
                               "does not allow COPY into such tables",
                               hint="load in bulk as the tables' owner; a recorder role writes one record at a time "
                                    "('aibridge record ...')") from None
    except (pgerrors.InvalidTextRepresentation, pgerrors.InvalidDatetimeFormat, pgerrors.DatetimeFieldOverflow,
            pgerrors.NumericValueOutOfRange, pgerrors.StringDataRightTruncation) as e:
        raise BadInput(f"the database rejected a value: {first_line(e)}") from None
    except psycopg.OperationalError as e:
        raise DatabaseUnavailable(f"lost the database connection: {first_line(e)}",
                                  hint="check that the server is running and reachable") from None
    except psycopg.Error as e:
        raise AibridgeError(f"database error: {first_line(e)}") from None
