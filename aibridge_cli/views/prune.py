"""What `aibridge prune` reports: one summary line, a JSON document, or a table per table.

Pure: an Outcome in, text or rows out; the command prints them.
"""

from __future__ import annotations

from typing import Optional

from aibridge_cli.views.formats import dumps

# The tables come in the order of Outcome.deleted (data/prune.TABLES): interceptions first.
TABLE_LABELS = {"interceptions": "interceptions", "token_usages": "token usages", "user_prompts": "user prompts",
                "tool_usages": "tool usages", "model_thoughts": "model thoughts"}


def _children(out) -> list[str]:
    return [t for t in out.deleted if t != "interceptions"]


def summary(out, max_duration: Optional[str] = None) -> str:
    """One line: what was (or would be) deleted, how long it took, and what remains."""
    verb = "would delete" if out.dry_run else "deleted"
    children = ", ".join(f"{TABLE_LABELS[t]} {out.deleted[t]:,}" for t in _children(out))
    text = (f"{'dry run: ' if out.dry_run else ''}{verb} {out.total:,} rows: "
            f"{out.deleted['interceptions']:,} interceptions started before {out.before_time.isoformat()} "
            f"and their {children}")
    if out.orphans is not None:
        parts = ", ".join(f"{TABLE_LABELS[t]} {out.orphans[t]:,}" for t in _children(out))
        text += f"; orphans: {out.orphans_total:,} ({parts})"
    if not out.dry_run:
        text += f"; {out.batches:,} batches in {out.elapsed_s:.1f}s, longest {out.longest_batch_s * 1000:,.0f}ms"
    if out.stopped_early:
        text += (f"; stopped early by --max-duration {max_duration}: "
                 f"{out.remaining_interceptions:,} older interceptions remain for the next run")
    return text


def json_text(out) -> str:
    """The counts as one JSON object (one line)."""
    doc = {"before_time": out.before_time, "dry_run": out.dry_run, **out.deleted, "total_deleted": out.total}
    if out.orphans is not None:
        doc.update({f"orphan_{t}": out.orphans[t] for t in _children(out)})
        doc["orphans_deleted"] = out.orphans_total
    doc.update({"batches": out.batches, "longest_batch_ms": round(out.longest_batch_s * 1000, 1),
                "elapsed_ms": round(out.elapsed_s * 1000, 1), "stopped_early": out.stopped_early,
                "remaining_interceptions": out.remaining_interceptions})
    return dumps(doc)


def table_rows(out) -> tuple[list[dict], list[str]]:
    """(rows, columns) of the terminal table: one row per table, then the total."""
    head = "would delete" if out.dry_run else "deleted"
    tables = list(out.deleted)
    rows = [{"table": f"aibridge_{t}", head: out.deleted[t]} for t in tables]
    cols = ["table", head]
    if out.orphans is not None:
        cols.append("orphans")
        for r, t in zip(rows, tables):
            r["orphans"] = out.orphans.get(t)  # interceptions have no orphans: blank
    total = {"table": "total", head: out.total}
    if out.orphans is not None:
        total["orphans"] = out.orphans_total
    return rows + [total], cols


def progress_detail(out) -> tuple[str, str]:
    """(description, detail) of the progress bar after a batch."""
    rows = out.total + out.orphans_total
    return ("deleting orphans" if out.orphans is not None else "pruning interceptions"), f"{rows:,} rows"
