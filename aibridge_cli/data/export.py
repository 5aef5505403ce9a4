"""`aibridge export parquet`: which UTC days of which tables to (re)write, and their rows.

The unit of work is a table's UTC day, stored as one file, DIR/<table>/day=YYYY-MM-DD/part-0.parquet
(users, which have no time of their own, as DIR/users/part-0.parquet). A day is written whole,
under a hidden temporary name, and renamed into place, so a reader sees the day's old file or
its new one, never both and never half of one: no duplicate rows, whatever was killed when.

Incremental: the state file DIR/_aibridge_export.json keeps, per table and day, the fingerprint
the database had when the day was written: its row count and, for interceptions, how many had
ended and the latest end. The next run counts again (one GROUP BY per table) and writes the days
whose fingerprint changed: new days, days with rows added late (an import of old records), days
where an interception ended since. A day with fewer rows than were exported (pruned since) is
kept as exported, so the lake keeps what retention removed; `--full` rewrites everything in the
window and makes it mirror the database. Each table's counts and rows are read in one
REPEATABLE READ snapshot, so the fingerprint stored is the one of the rows written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from time import monotonic as time_now
from typing import Callable, Iterator, Optional

from aibridge_cli.errors import AibridgeError, BadInput

TABLES = ("interceptions", "token_usages", "user_prompts", "tool_usages", "model_thoughts", "users")
# table -> the query that streams its rows; their rows per day are counted by
# ExportInterceptionDays, and for the other tables with time by ExportChildDays
_ROW_QUERIES = {
    "interceptions": "ExportInterceptionRows", "token_usages": "ExportTokenUsageRows",
    "user_prompts": "ExportUserPromptRows", "tool_usages": "ExportToolUsageRows",
    "model_thoughts": "ExportModelThoughtRows",
}
TEXT_TYPES = ("uuid", "json", "jsonb", "numeric")
JSON_OIDS = (114, 3802)
DAY_COLUMN = "export_day"
STATE = "_aibridge_export.json"
LOCK = "_aibridge_export.lock"
STATE_VERSION = 1
BATCH = 10_000


@dataclass(frozen=True)
class Filters:
    initiator_id: Optional[uuid.UUID] = None
    provider: Optional[str] = None
    model: Optional[str] = None
    client: Optional[str] = None

    def params(self) -> dict:
        return {"initiator_id": self.initiator_id, "provider": self.provider or "", "model": self.model or "",
                "client": self.client or ""}

    def any(self) -> bool:
        return any((self.initiator_id, self.provider, self.model, self.client))


@dataclass(frozen=True)
class Window:
    """Whole UTC days: since at midnight, until exclusive at the next midnight."""
    since: Optional[datetime] = None
    until: Optional[datetime] = None

    @classmethod
    def whole_days(cls, since: Optional[datetime], until: Optional[datetime]) -> "Window":
        def midnight(t: datetime) -> datetime:
            return datetime.combine(t.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)

        lo = midnight(since) if since else None
        hi = midnight(until) + timedelta(days=1) if until else None
        if lo and hi and lo >= hi:
            raise BadInput("--since is after --until", hint="give the older time to --since")
        return cls(lo, hi)

    def contains(self, day: date) -> bool:
        t = datetime.combine(day, time(0), tzinfo=timezone.utc)
        return (self.since is None or t >= self.since) and (self.until is None or t < self.until)

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None


@dataclass
class TableResult:
    table: str
    rows: int = 0
    days_written: int = 0
    days_unchanged: int = 0
    days_kept: list = field(default_factory=list)  # fewer rows in the database than exported
    days_removed: int = 0


def parse_tables(values: list[str]) -> list[str]:
    wanted: list[str] = []
    for value in values:
        for name in (v.strip() for v in value.split(",")):
            if not name:
                continue
            if name not in TABLES:
                raise BadInput(f"--tables: unknown table {name!r}", hint=f"use some of {', '.join(TABLES)}")
            if name not in wanted:
                wanted.append(name)
    return [t for t in TABLES if t in wanted] if wanted else list(TABLES)


class State:
    """The state file: the filters the directory was exported with, and per table and day the
    fingerprint written. Saved atomically after every day."""

    def __init__(self, out_dir: Path, signature: dict):
        self.path = out_dir / STATE
        self.signature = signature
        self.data = {"version": STATE_VERSION, "filters": signature, "tables": {}}
        self.existing = False
        self.saved = 0.0
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise AibridgeError(f"cannot read the export state {self.path}: {e}",
                                    hint="move the file away and run with --full to export everything again") from None
            if loaded.get("version") != STATE_VERSION:
                raise AibridgeError(f"{self.path} has state version {loaded.get('version')!r}, this aibridge writes {STATE_VERSION}",
                                    hint="export into a new directory, or run with --full")
            self.data, self.existing = loaded, True

    def days(self, table: str) -> dict:
        return self.data["tables"].setdefault(table, {"days": {}})["days"]

    def save_now_and_then(self) -> None:
        """Saved at most once a second while a table is written (and always at its end): a day
        written but not yet recorded is only written again by the next run, never lost."""
        if time_now() - self.saved >= 1.0:
            self.save()

    def save(self) -> None:
        self.saved = time_now()
        self.data["filters"] = self.signature
        self.data["saved_at"] = datetime.now(timezone.utc).isoformat()
        tmp = self.path.with_name(f".{STATE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


@contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """One export at a time per directory; temporary files left by a killed run are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK, "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AibridgeError(f"another export is writing to {out_dir}", hint="wait for it to finish") from None
        for stale in [*out_dir.glob("*/day=*/.*.tmp"), *out_dir.glob("*/.*.tmp"), *out_dir.glob(".*.tmp")]:
            stale.unlink(missing_ok=True)
        yield


def _fingerprint(row: dict) -> list:
    last = row["last_end"]
    return [int(row["row_count"]), int(row["ended"]), last.astimezone(timezone.utc).isoformat() if last else None]


class ParquetExport:
    def __init__(self, conn, out_dir: Path, filters: Filters, window: Window, *, full: bool, policy,
                 signature: dict, all_users: bool,
                 on_total: Callable[[int], None] = lambda n: None, advance: Callable[[int], None] = lambda n: None):
        self.conn, self.out_dir, self.filters, self.window = conn, out_dir, filters, window
        self.full, self.policy, self.all_users = full, policy, all_users
        self.on_total, self.advance = on_total, advance
        self.state = State(out_dir, signature)
        if self.state.existing and self.state.data.get("filters") != signature:
            if not full or window.bounded:
                raise BadInput(f"{out_dir} was exported with other filters or privacy options "
                               f"({_describe(self.state.data.get('filters'))}; now {_describe(signature)})",
                               hint="export into another directory, or rewrite it with --full (without --since/--until)")

    def run(self, tables: list[str]) -> list[TableResult]:
        import psycopg

        if self.state.existing and self.state.data.get("filters") != self.state.signature and set(tables) != set(TABLES):
            raise BadInput("rewriting a directory with other filters or privacy options takes every table",
                           hint="drop --tables, so that no table keeps rows exported the old way")

        self.conn.commit()  # leave the connection's set-up transaction; each table gets a snapshot
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        plans = []
        for t in tables:
            plans.append((t, self._plan(t) if t != "users" else None))
            self.conn.commit()
        self.on_total(sum(sum(fp[0] for fp in p["write"].values()) for _, p in plans if p))
        results = []
        for t, plan in plans:
            results.append(self._users() if plan is None else self._table(t, plan))
            self.conn.commit()
        return results

    # --- plan ------------------------------------------------------------------------------

    def _days(self, table: str) -> dict[str, list]:
        from aibridge_cli.db import query

        window = {"since": self.window.since, "until": self.window.until, **self.filters.params()}
        if table == "interceptions":
            rows = query.many(self.conn, "ExportInterceptionDays", **window)
        else:
            rows = query.many(self.conn, "ExportChildDays", table_name=table, **window)
        return {r["day"].isoformat(): _fingerprint(r) for r in rows}

    def _plan(self, table: str) -> dict:
        in_db = self._days(table)
        done = self.state.days(table)
        table_dir = self.out_dir / table
        on_disk = {p.parent.name[4:] for p in table_dir.glob(f"day=*/{_part()}")}
        if self.full:
            stale = [d for d in on_disk | set(done) if d not in in_db and self.window.contains(date.fromisoformat(d))]
            return {"write": in_db, "unchanged": 0, "kept": [], "remove": stale, "db": in_db}
        write, kept, unchanged = {}, [], 0
        for day, fp in in_db.items():
            old = done.get(day)
            if old is not None and fp[0] < old[0]:
                kept.append(day)
            elif old is None or old != fp or day not in on_disk:
                write[day] = fp
            else:
                unchanged += 1
        kept += [d for d in done if d not in in_db and self.window.contains(date.fromisoformat(d))]
        return {"write": write, "unchanged": unchanged, "kept": kept, "remove": [], "db": in_db}

    # --- write -----------------------------------------------------------------------------

    def _table(self, table: str, plan: dict) -> TableResult:
        from aibridge_cli.data import parquet
        from aibridge_cli.db import query

        result = TableResult(table, days_unchanged=plan["unchanged"], days_kept=plan["kept"])
        done = self.state.days(table)
        table_dir = self.out_dir / table
        for day in plan["remove"]:
            shutil.rmtree(table_dir / f"day={day}", ignore_errors=True)
            done.pop(day, None)
            result.days_removed += 1
        if plan["remove"]:
            self.state.save()
        days = sorted(plan["write"])
        if not days:
            return result
        first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
        stream = query.stream_batches(
            self.conn, _ROW_QUERIES[table], size=BATCH, as_text=TEXT_TYPES, days=[date.fromisoformat(d) for d in days],
            since=datetime.combine(first, time(0), tzinfo=timezone.utc),
            until=datetime.combine(last + timedelta(days=1), time(0), tzinfo=timezone.utc), **self.filters.params())

        def on_day(day: date, rows: int) -> None:
            done[day.isoformat()] = plan["write"][day.isoformat()]
            result.days_written += 1
            self.state.save_now_and_then()

        result.rows = parquet.write_days(stream, table_dir, self._columns, on_day, self.advance)
        self.state.save()
        return result

    def _users(self) -> TableResult:
        from aibridge_cli.data import parquet
        from aibridge_cli.db import query

        stream = query.stream_batches(self.conn, "ExportUsers", size=BATCH, as_text=TEXT_TYPES,
                                   all_users=self.all_users, **self.filters.params())
        rows = parquet.write_file(stream, self.out_dir / "users" / _part(), self._columns, lambda n: None)
        self.state.data["tables"]["users"] = {"rows": rows}
        self.state.save()
        return TableResult("users", rows=rows, days_written=0)

    def _columns(self, description):
        from aibridge_cli.data import parquet
        from aibridge_cli.policy.redaction import CONTENT_KEYS, REDACT_KEYS

        policy = self.policy
        drop = CONTENT_KEYS if policy.no_content else ()
        transforms = {}
        if policy.redact:
            transforms.update({k: policy.text for k in REDACT_KEYS})
        if policy.active:
            for d in description:
                if d.type_code in JSON_OIDS:
                    transforms[d.name] = lambda text: json.dumps(policy.scrub(json.loads(text)), ensure_ascii=False)
        return parquet.Columns(description, drop=drop, transforms=transforms, day_column=DAY_COLUMN)


def _part() -> str:
    return "part-0.parquet"


def _describe(sig: Optional[dict]) -> str:
    if not sig:
        return "unknown"
    shown = [f"{k}={v}" for k, v in sorted(sig.items()) if v not in (None, False, "", [])]
    return ", ".join(shown) or "no filters"


def signature(filters: Filters, subject, policy) -> dict:
    """What decides which rows and which text a directory holds; a later run must match it."""
    return {
        "initiator_id": str(filters.initiator_id) if filters.initiator_id else None,
        "provider": filters.provider or None, "model": filters.model or None, "client": filters.client or None,
        "as": str(subject.id) if subject is not None and not subject.sees_all else None,
        "no_content": bool(policy.no_content), "redact": bool(policy.redact),
        "redact_patterns": [p.pattern for p in policy.extra],
    }
