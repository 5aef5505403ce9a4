"""What the export commands report on stderr when they finish."""

from __future__ import annotations

from pathlib import Path


def parquet_summary(results, directory: Path) -> str:
    lines = [f"exported to {directory}:"]
    for r in results:
        if r.table == "users":
            lines.append(f"  users: {r.rows:,} rows")
            continue
        parts = [f"{r.rows:,} rows in {r.days_written} day(s) written", f"{r.days_unchanged} unchanged"]
        if r.days_removed:
            parts.append(f"{r.days_removed} removed")
        lines.append(f"  {r.table}: " + ", ".join(parts))
        if r.days_kept:
            lines.append(f"  warning: {r.table}: the database has fewer rows than were exported on "
                         f"{_days(r.days_kept)} (pruned?); kept the exported files (--full rewrites them)")
    return "\n".join(lines)


def _days(days: list) -> str:
    days = sorted(days)
    return ", ".join(days) if len(days) <= 3 else f"{days[0]} .. {days[-1]} ({len(days)} days)"


def otlp_summary(spans: int, interceptions: int, batches: int, where: str) -> str:
    return f"exported {interceptions:,} interceptions as {spans:,} spans in {batches} batch(es) to {where}"
