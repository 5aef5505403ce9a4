"""What `aibridge export parquet` and `aibridge export otlp` share: the optional packages they
need, and the scope of an export (the filters, --as and the privacy options), which both keep in
their state so that a later run into the same place must match it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import typer

from aibridge_cli.errors import AibridgeError
from aibridge_cli.options import redaction, resolve_user


def need(module: str) -> None:
    """The export packages are an optional extra: say how to get them rather than a traceback."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise AibridgeError(f"{module} is not installed; the export commands need it",
                            hint="pip install 'aibridge[export]'") from None


@dataclass(frozen=True)
class Scope:
    filters: object  # data.export.Filters
    subject: object  # --as, or None
    policy: object  # policy.redaction.Policy
    signature: dict

    @property
    def restricted(self) -> bool:
        """--as a user who may not see everything."""
        return self.subject is not None and not self.subject.sees_all


def scope(ctx: typer.Context, conn, initiator: Optional[str], provider: Optional[str], model: Optional[str],
          client: Optional[str]) -> Scope:
    from aibridge_cli.data.export import Filters, signature
    from aibridge_cli.policy.redaction import Policy

    policy = redaction(ctx) or Policy()
    filters = Filters(resolve_user(conn, initiator), provider, model, client)
    subject = getattr(conn, "subject", None)
    return Scope(filters, subject, policy, signature(filters, subject, policy))
