"""Telemetry summaries from history for the rolled-up hours and the raw rows for the rest
(data/history.py); the same counts as the raw path, percentiles within 1 %. Also the window
arithmetic spend uses for the same split."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from aibridge_cli.errors import BadInput

ZERO = datetime(1, 1, 1, tzinfo=timezone.utc)
PERCENTILES = ((0.50, "interception_duration_p50_millis"), (0.90, "interception_duration_p90_millis"),
               (0.95, "interception_duration_p95_millis"), (0.99, "interception_duration_p99_millis"))


def check_exact(cov, start: datetime) -> None:
    """--exact reads raw rows only: refused where the window reaches hours prune has thinned."""
    if cov is not None and cov.frozen_before is not None and start < cov.frozen_before:
        raise BadInput(f"--exact: the window starts at {start.isoformat()}, but prune deleted raw rows before "
                       f"{cov.frozen_before.isoformat()}",
                       hint="drop --exact to read those hours from history, or start the window later")


def covered(cov, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The rolled-up whole hours [lo, hi) of [start, end) (empty when lo >= hi)."""
    from aibridge_cli.data.history import hour_ceil, hour_floor

    return max(hour_ceil(start), cov.first_hour), min(hour_floor(end), cov.watermark)


def history_applies(cov, start: datetime, end: datetime) -> bool:
    """Whether some whole hour of [start, end) is rolled up."""
    if cov is None or not cov.usable:
        return False
    lo, hi = covered(cov, start, end)
    return lo < hi


def summarize_with_history(conn, cov, params: dict) -> list[dict]:
    """The summary rows, the durations' percentiles read from the merged histograms."""
    from aibridge_cli.data.history import percentile_from_histogram
    from aibridge_cli.db import query

    lo, hi = covered(cov, params["ended_at_after"], params["ended_at_before"])
    frozen = cov.frozen_before or ZERO
    straddles = query.one(conn, "HistoryHoursStraddle", from_hour=lo, to_hour=hi, frozen_before=frozen,
                          bucket=params["bucket"], tz=params["tz"])["straddles"]
    rows = query.many(conn, "SummarizeTelemetryWithHistory", **params, first_hour=cov.first_hour,
                      watermark=cov.watermark, frozen_before=frozen, raw_before=lo, raw_from=hi, straddles=straddles)
    out = []
    for r in rows:
        buckets, counts = r.pop("duration_buckets"), r.pop("duration_counts")
        for p, column in PERCENTILES:
            r[column] = round(percentile_from_histogram(buckets, counts, p) * 1000)
        out.append(r)
    return out


def edge_note(cov, start: datetime, end: Optional[datetime]) -> Optional[str]:
    """Where the window cuts an hour that prune thinned: history holds whole hours only."""
    if cov is None or cov.frozen_before is None or not cov.usable:
        return None
    from aibridge_cli.data.history import hour_floor

    cut = [t for t in (start, end) if t is not None and t < cov.frozen_before and hour_floor(t) != t]
    if not cut:
        return None
    return ("the window cuts a pruned hour (at " + ", ".join(t.isoformat() for t in cut) +
            "): history holds whole UTC hours, so only the raw rows left in it count; give whole hours")
