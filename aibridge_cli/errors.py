"""Error types that the boundary in cli.py turns into one-line messages and exit codes.

Raise these anywhere; only the boundary prints them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
# A second prune refused because another one holds the advisory lock: distinct so
# cron wrappers can tell "skipped" from "failed".
EXIT_LOCKED = 3
# `spend check` found spend over a budget, or `spend reconcile` found the deployment's daily
# accumulator disagreeing with its rows: distinct so cron can tell "over" from "failed".
EXIT_OVER_BUDGET = 4


class AibridgeError(Exception):
    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class BadInput(AibridgeError):
    """Bad usage or bad input: an option value, a UUID, a time, a JSON document."""

    exit_code = EXIT_USAGE


class NotFound(AibridgeError):
    """A well-formed reference to something the database does not have."""


class DatabaseUnavailable(AibridgeError):
    """The server cannot be reached or refused the login."""


class SchemaMissing(AibridgeError):
    """The AI Bridge tables (or a column a query needs) are not in the database."""


class QueryTimeout(AibridgeError):
    """The statement ran past --timeout, or waited too long for a lock."""


class PermissionDenied(AibridgeError):
    """The connected role lacks a privilege the command needs."""


class QueryFileError(AibridgeError):
    """A .sql file could not be parsed, or a query was called with the wrong parameters."""


MIGRATE_HINT = "run 'aibridge db migrate' to create the AI Bridge tables (or point --dsn at a deployment's database)"
