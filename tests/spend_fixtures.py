"""Data for the spend tests, and the oracle: every token usage row priced on its own with
genai-prices' calc_price (or the override's rates, or the stored cost), summed in Python."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal

from factories import _insert, add_interception, add_user

CACHE_READ_KEYS = ("cache_read_input", "input_cached", "prompt_cached")


def ensure_2026_08(conn) -> None:
    """The 2026-08 columns and spend tables the tests write into, where the migrations have not
    made them (IF NOT EXISTS: a no-op once the embedded database has the layout)."""
    conn.execute("""
        ALTER TABLE aibridge_token_usages
            ADD COLUMN IF NOT EXISTS cache_read_input_tokens bigint NOT NULL DEFAULT 0,
            ADD COLUMN IF NOT EXISTS cache_write_input_tokens bigint NOT NULL DEFAULT 0,
            ADD COLUMN IF NOT EXISTS effective_group_id uuid,
            ADD COLUMN IF NOT EXISTS cost_micros bigint;
        ALTER TABLE aibridge_interceptions ADD COLUMN IF NOT EXISTS provider_name text NOT NULL DEFAULT '';
        CREATE TABLE IF NOT EXISTS ai_model_prices (provider text NOT NULL, model text NOT NULL,
            input_price bigint, output_price bigint, cache_read_price bigint, cache_write_price bigint,
            created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (provider, model));
        CREATE TABLE IF NOT EXISTS ai_providers (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
            type text NOT NULL, name text NOT NULL, deleted boolean NOT NULL DEFAULT false, base_url text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS groups (id uuid PRIMARY KEY, name text NOT NULL, organization_id uuid NOT NULL);
        CREATE TABLE IF NOT EXISTS ai_user_daily_spend (user_id uuid NOT NULL, effective_group_id uuid NOT NULL,
            day date NOT NULL, spend_micros bigint NOT NULL, PRIMARY KEY (user_id, effective_group_id, day));
        CREATE TABLE IF NOT EXISTS group_ai_budgets (group_id uuid PRIMARY KEY, spend_limit_micros bigint NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS user_ai_budget_overrides (user_id uuid NOT NULL, group_id uuid NOT NULL,
            spend_limit_micros bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now());
    """)


def usage(conn, interception, created_at, input_tokens, output_tokens, metadata=None, *, cache_read=0,
          cache_write=0, cost_micros=None, group=None, extra=True) -> dict:
    row = {"id": uuid.uuid4(), "interception_id": interception["id"], "provider_response_id": "r",
           "input_tokens": input_tokens, "output_tokens": output_tokens, "metadata": metadata,
           "created_at": created_at}
    if extra:
        row.update(cache_read_input_tokens=cache_read, cache_write_input_tokens=cache_write,
                   cost_micros=cost_micros, effective_group_id=group)
    _insert(conn, "aibridge_token_usages", row)
    return {**row, "provider": interception["provider"], "model": interception["model"],
            "client": interception["client"] or "Unknown", "initiator_id": interception["initiator_id"],
            "provider_name": interception.get("provider_name", ""), "cache_read_input_tokens": cache_read,
            "cache_write_input_tokens": cache_write, "cost_micros": cost_micros, "effective_group_id": group}


def cached(row) -> tuple[int, int]:
    """The one cache rule, written again from its statement in the issue."""
    meta = row["metadata"] or {}
    read = row["cache_read_input_tokens"] if row["cache_read_input_tokens"] > 0 else \
        max([int(meta[k]) for k in CACHE_READ_KEYS if meta.get(k) is not None] or [0])
    write = row["cache_write_input_tokens"] if row["cache_write_input_tokens"] > 0 else int(meta.get("cache_creation_input") or 0)
    return read, write


def oracle_cost(row, overrides=(), use_stored=True):
    """(cost in USD or None when unpriced, source). overrides: [(provider or '', model, from, rates)]."""
    from genai_prices import Usage, calc_price

    if use_stored and row["cost_micros"] is not None:
        return Decimal(row["cost_micros"]) / 1_000_000, "stored"
    read, write = cached(row)
    for provider, model, start, (rin, rout, rcr, rcw) in sorted(overrides, key=lambda o: o[2], reverse=True):
        if model == row["model"] and provider in ("", row["provider"]) and row["created_at"] >= start:
            return (row["input_tokens"] * rin + row["output_tokens"] * rout + read * rcr + write * rcw) / 1_000_000, "file"
    try:
        price = calc_price(Usage(input_tokens=row["input_tokens"] + read + write, cache_read_tokens=read,
                                 cache_write_tokens=write, output_tokens=row["output_tokens"]),
                           row["model"], provider_id=row["provider"], genai_request_timestamp=row["created_at"])
    except LookupError:
        return None, None
    return price.total_price, "genai-prices"


def oracle_groups(rows, key, **kw):
    """{group key: (cost, unpriced tokens, tokens)}"""
    out = defaultdict(lambda: [Decimal(0), 0, 0])
    for r in rows:
        cost, _ = oracle_cost(r, **kw)
        read, write = cached(r)
        tokens = r["input_tokens"] + r["output_tokens"] + read + write
        g = out[key(r)]
        if cost is None:
            g[1] += tokens
        else:
            g[0] += cost
        g[2] += tokens
    return {k: tuple(v) for k, v in out.items()}


T = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731


def build(conn) -> dict:
    """Three users over two days of November 2026 and two around a price change in March 2026:
    tiered and flat models, cache tokens in columns and in each metadata key, an unknown model,
    stored costs beside computed ones."""
    ensure_2026_08(conn)
    alice = add_user(conn, "alice")
    bob = add_user(conn, "bob")
    olive = add_user(conn, "olive", roles=["owner"])
    rows = []

    def icpt(user, provider, model, started, client="Claude Code"):
        return add_interception(conn, user, provider=provider, model=model, started_at=started, client=client)

    a1 = icpt(alice, "anthropic", "claude-sonnet-4-5-20250929", T(2026, 11, 1, 10))
    rows.append(usage(conn, a1, T(2026, 11, 1, 10, 0, 1), 1200, 300,
                      {"cache_read_input": 150000, "cache_creation_input": 2000}))
    # 10,000 + 195,000 + 1,000 = 206,000 total input: past the 200k tier
    rows.append(usage(conn, a1, T(2026, 11, 1, 10, 0, 2), 10000, 900, {"cache_read_input": 1}, cache_read=195000,
                      cache_write=1000))
    rows.append(usage(conn, a1, T(2026, 11, 1, 23, 30), 500, 50, None))
    a2 = icpt(alice, "openai", "gpt-5", T(2026, 11, 1, 16), client="Codex")
    rows.append(usage(conn, a2, T(2026, 11, 1, 16, 0, 1), 4000, 700,
                      {"input_cached": 30000, "prompt_cached": 12000}))
    rows.append(usage(conn, a2, T(2026, 11, 2, 1), 800, 90, {"prompt_cached": 640}, cost_micros=123456))
    b1 = icpt(bob, "openai", "gpt-4.1-mini", T(2026, 11, 2, 9), client=None)
    rows.append(usage(conn, b1, T(2026, 11, 2, 9, 0, 1), 20000, 1500, {"prompt_cached": 5000}))
    b2 = icpt(bob, "acme", "acme-internal-1", T(2026, 11, 2, 11))
    rows.append(usage(conn, b2, T(2026, 11, 2, 11, 0, 1), 3000, 400, None))
    rows.append(usage(conn, b2, T(2026, 11, 2, 13, 0, 1), 7000, 100, None, cache_read=1000))
    o1 = icpt(olive, "anthropic", "claude-haiku-4-5-20251001", T(2026, 11, 2, 12))
    rows.append(usage(conn, o1, T(2026, 11, 2, 12, 0, 1), 900, 80, {"cache_creation_input": 4000}))
    # A price change: claude-sonnet-4-6 has tiers until 2026-03-13 and none after.
    c1 = icpt(olive, "anthropic", "claude-sonnet-4-6", T(2026, 3, 12, 23))
    rows.append(usage(conn, c1, T(2026, 3, 12, 23, 59), 2000, 1000, None, cache_read=240000))
    rows.append(usage(conn, c1, T(2026, 3, 13, 0, 1), 2000, 1000, None, cache_read=240000))
    return {"users": {"alice": alice, "bob": bob, "olive": olive}, "rows": rows}
