"""Which layout a database has: the seed's, or a deployment's at 2026-08 (docs/deployment.md).

The read queries run on both layouts by themselves; writes and the newer commands ask here
which columns and tables exist, and pick their query variant or refuse clearly."""

from __future__ import annotations

from dataclasses import dataclass

from aibridge_cli.db import query


@dataclass(frozen=True)
class Layout:
    interception_columns: bool = False   # provider_name, credential_*, agent_firewall_*, error_*
    token_cache_columns: bool = False    # cache_read_input_tokens, cache_write_input_tokens
    tool_item_column: bool = False       # aibridge_tool_usages.provider_item_id
    boundary_logs: bool = False          # the agent firewall's network calls
    coder_users: bool = False            # Coder's users table (hashed_password, login_type, ...)

    @property
    def name(self) -> str:
        return "2026-08" if self.interception_columns else "seed"


SEED = Layout()


def detect(conn) -> Layout:
    row = query.one(conn, "GetAIBridgeLayout")
    return Layout(**{k: bool(row[k]) for k in Layout.__dataclass_fields__})


# The cache rule for writes: what the deployment backfilled its columns with (telemetry.sql's top).
CACHE_READ_KEYS = ("cache_read_input", "input_cached", "prompt_cached")


def _number(meta: dict, key: str) -> int:
    v = meta.get(key)
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else 0


def cache_tokens(meta: dict | None) -> tuple[int, int]:
    """(cache read, cache write) of a token usage's metadata, by the deployment's backfill rule."""
    meta = meta or {}
    return max(_number(meta, k) for k in CACHE_READ_KEYS), _number(meta, "cache_creation_input")


def refuse_coder_users(layout: Layout, what: str) -> None:
    """Users belong to a Coder deployment: its users table has a login of its own (hashed
    password, login type, status), so aibridge writes none there rather than a half user."""
    if layout.coder_users:
        from aibridge_cli.errors import BadInput

        raise BadInput(f"{what}: this database's users table is Coder's own (it has hashed_password, "
                       "login_type, ...); users are created by the deployment, not by aibridge",
                       hint="create the user in Coder (coder users create), then name it with --initiator")


def newer_filters(layout: Layout, provider_name: str | None = None, failed: bool | None = None) -> dict:
    """The 2026-08 filters' parameters; refused on the seed's layout, which has no such column."""
    from aibridge_cli.errors import BadInput

    params = {}
    if provider_name is not None:
        params["provider_name"] = provider_name.strip()
    if failed is not None:
        params["failed"] = bool(failed)
    if not layout.interception_columns:
        for option, given in (("--provider-name", params.get("provider_name")), ("--failed", params.get("failed"))):
            if given:
                raise BadInput(f"{option}: this database has the seed's layout, without the column",
                               hint="the filter needs the 2026-08 layout (docs/deployment.md)")
    return params
