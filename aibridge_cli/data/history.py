"""History: hourly rollups that outlive prune (sql/schema/0007_history.sql, sql/queries/history.sql).

`refresh` rebuilds whole UTC hours from the raw rows, a batch of hours per transaction together
with the watermark, so a run killed at any point loses and doubles nothing: each batch is
either committed with its watermark or not at all, and a re-run rebuilds from the watermark.
It starts LOOKBACK hours before the watermark (late writes into recent hours), never before
`frozen_before` (hours whose raw rows prune deleted are kept as they are), and stops at the
current, still open hour. One refresh at a time: a session advisory lock, exit 3 when held.

Never prints: progress goes through a callback.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from aibridge_cli.db import query
from aibridge_cli.errors import EXIT_LOCKED, MIGRATE_HINT, AibridgeError, SchemaMissing

HOUR = timedelta(hours=1)
# Hours before the watermark rebuilt by every refresh, for rows written late (an interception
# that ends after its hour was rolled up stays in the hour of its ended_at).
LOOKBACK_HOURS = 3
# Hours per transaction: each batch reads the raw tables once (the children without an index on
# their time), so a first refresh of a year is a dozen passes; a kill loses one batch's work.
BATCH_HOURS = 24 * 31
RATIO = 1.02  # the histogram's bucket ratio (see 0007_history.sql)
NEVER = datetime.min.replace(tzinfo=timezone.utc)


class HistoryLocked(AibridgeError):
    exit_code = EXIT_LOCKED


@dataclass
class RefreshOutcome:
    from_hour: Optional[datetime] = None
    to_hour: Optional[datetime] = None
    hours: int = 0
    batches: int = 0
    interception_rows: int = 0
    usage_rows: int = 0
    elapsed_s: float = 0.0


def present(conn) -> bool:
    return bool(query.one(conn, "HistoryTablesPresent")["present"])


def require(conn) -> None:
    if not present(conn):
        raise SchemaMissing("the history tables do not exist in this database",
                            hint=f"history is created by 'aibridge db migrate' ({MIGRATE_HINT})")


def state(conn) -> dict:
    return query.one(conn, "GetHistoryState")


def acquire_lock(conn) -> None:
    if not query.one(conn, "TryHistoryLock")["acquired"]:
        raise HistoryLocked("another aibridge history refresh (or a prune refreshing history) is running; "
                            "this one did nothing",
                            hint=f"it holds the history lock until it ends; overlapping cron runs exit {EXIT_LOCKED}")


def release_lock(conn) -> None:
    if conn.closed or conn.broken:
        return
    try:
        query.one(conn, "ReleaseHistoryLock")
    except AibridgeError:
        pass


def prices_label(prices_path: Optional[str]) -> str:
    """What the costs were priced with: auto, plus the override file's name and content hash."""
    if not prices_path:
        return "auto"
    digest = hashlib.sha256(Path(prices_path).read_bytes()).hexdigest()[:16]
    return f"auto+file:{Path(prices_path).name}:{digest}"


def hour_floor(t: datetime) -> datetime:
    t = t.astimezone(timezone.utc)
    return t.replace(minute=0, second=0, microsecond=0)


def hour_ceil(t: datetime) -> datetime:
    f = hour_floor(t)
    return f if f == t else f + HOUR


def plan(conn, since: Optional[datetime] = None, until: Optional[datetime] = None) -> tuple[Optional[datetime], datetime]:
    """The hours [from, to) a refresh rebuilds: from LOOKBACK hours before the watermark (or the
    first raw hour, or --since), never before frozen_before; to the open hour (or --until)."""
    st = state(conn)
    raw = query.one(conn, "HistoryRawStart")
    to_hour = raw["open_hour"]
    if until is not None:
        to_hour = min(to_hour, hour_floor(until))
    if since is not None:
        from_hour = hour_floor(since)
    elif st["watermark"] is not None:
        from_hour = st["watermark"] - LOOKBACK_HOURS * HOUR
    else:
        from_hour = raw["first_hour"]
    if from_hour is None:  # no raw rows at all
        return None, to_hour
    frozen = st["frozen_before"]
    if frozen is not None and from_hour < frozen:
        from_hour = frozen
    return from_hour, to_hour


def refresh(conn, pricer, prices: str, *, since: Optional[datetime] = None, until: Optional[datetime] = None,
            batch_hours: int = BATCH_HOURS, on_batch: Callable[[RefreshOutcome], None] = lambda out: None,
            ) -> RefreshOutcome:
    """Rebuild the planned hours on an autocommit connection that holds the history lock."""
    started = time.monotonic()
    out = RefreshOutcome()
    from_hour, to_hour = plan(conn, since, until)
    out.from_hour, out.to_hour = from_hour, to_hour
    if from_hour is None or from_hour >= to_hour:
        out.elapsed_s = time.monotonic() - started
        return out
    ptypes = _provider_types(conn)
    hour = from_hour
    while hour < to_hour:
        end = min(hour + batch_hours * HOUR, to_hour)
        with conn.transaction():
            keys = _price_keys(conn, hour, end, ptypes)
            rates = [r.as_json() for r in pricer.rates(keys)] if keys else []
            query.run(conn, "DeleteHistoryHours", from_hour=hour, to_hour=end)
            out.interception_rows += query.one(conn, "RollupInterceptionHours", from_hour=hour, to_hour=end)["rows_"]
            out.usage_rows += query.one(conn, "RollupUsageHours", from_hour=hour, to_hour=end, rates=rates,
                                        provider_types=ptypes, use_stored=pricer.uses_stored)["rows_"]
            query.run(conn, "SetHistoryWatermark", watermark=end, first_hour=from_hour, prices=prices)
        out.hours += int((end - hour) / HOUR)
        out.batches += 1
        on_batch(out)
        hour = end
    out.elapsed_s = time.monotonic() - started
    return out


def _provider_types(conn) -> list[dict]:
    from aibridge_cli.data import spend

    return spend.provider_types(conn, spend.layout(conn))


def _price_keys(conn, start: datetime, end: datetime, ptypes: list) -> list:
    from aibridge_cli.data.prices import Key

    return [Key(r["provider"], r["model"], start, end)
            for r in query.many(conn, "ListHistoryPriceKeys", from_hour=start, to_hour=end, provider_types=ptypes)]


def freeze_for_prune(conn, before_time: datetime) -> Optional[datetime]:
    """Before prune deletes the interceptions started before `before_time`: the hours holding
    any of their rows are never recomputed again (capped at the watermark: the open hour
    cannot be rolled up yet)."""
    through = query.one(conn, "HistoryPrunedThrough", before_time=before_time)["through"]
    if through is None:
        return None
    wm = state(conn)["watermark"]
    if wm is not None:
        through = min(through, wm)
    query.run(conn, "FreezeHistoryBefore", frozen_before=through)
    return through


def status(conn) -> dict:
    return query.one(conn, "HistoryStatus")


# ---------------------------------------------------------------- readers

@dataclass
class Coverage:
    """What history can answer for a reader: hours in [first_hour, watermark) are rolled up;
    hours before frozen_before have lost raw rows to prune."""
    first_hour: Optional[datetime]
    watermark: Optional[datetime]
    frozen_before: datetime
    prices: str = ""

    @property
    def usable(self) -> bool:
        return self.first_hour is not None and self.watermark is not None and self.watermark > self.first_hour


def coverage(conn) -> Optional[Coverage]:
    """None where the history tables do not exist."""
    if not present(conn):
        return None
    st = state(conn)
    frozen = st["frozen_before"] if st["frozen_before"] is not None else NEVER
    return Coverage(st["first_hour"], st["watermark"], max(frozen, NEVER), st["prices"])


def percentile_from_histogram(buckets: list[int], counts: list[int], p: float) -> float:
    """percentile_cont(p) in seconds, read from merged buckets (bucket numbers ascending): the
    ranks floor/ceil of p*(n-1) take their bucket's geometric midpoint, interpolated as
    percentile_cont interpolates the exact values."""
    n = sum(counts)
    if n == 0:
        return 0.0
    pos = p * (n - 1)
    lo = int(pos)
    frac = pos - lo

    def value_at(rank: int) -> float:
        seen = 0
        for b, c in zip(buckets, counts):
            seen += c
            if rank < seen:
                return 0.0 if b < 0 else RATIO ** (b + 0.5) / 1_000_000
        return 0.0 if buckets[-1] < 0 else RATIO ** (buckets[-1] + 0.5) / 1_000_000

    a = value_at(lo)
    return a if frac == 0 else a + (value_at(lo + 1) - a) * frac
