"""The loader thread of `record import`: a batch of checked lines (lines.Batch) into the tables.

It holds what the whole file needs across batches (users, interceptions written, their
thread roots, thoughts written, children waiting for their interception), asks the database
what a batch depends on in a few round trips, and COPYs straight into the tables. Records
already stored are skipped (see Loader), which makes a second import of the same file a no-op.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional

from aibridge_cli.db import copy_format

from aibridge_cli.db import query
from aibridge_cli.db.copy_format import COPY_COLUMNS
from aibridge_cli.errors import AibridgeError
from aibridge_cli.ingest.lines import ID_KINDS, NULL, Batch, LineError, esc
from aibridge_cli.db.errors import translate_errors

ORDER = ("user", "interception", "interception_end", "token_usage", "user_prompt", "tool_usage", "model_thought")


@dataclass
class Stats:
    lines: dict = field(default_factory=lambda: {t: 0 for t in ORDER})
    written: dict = field(default_factory=lambda: {t: 0 for t in ORDER})

    def rows(self) -> list[dict]:
        return [{"type": t, "lines": self.lines[t], "written": self.written[t],
                 "skipped": self.lines[t] - self.written[t]} for t in ORDER]

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    @property
    def total_written(self) -> int:
        return sum(self.written.values())


# ---- loading -------------------------------------------------------------------------------

def _ids(values) -> str:
    return ",".join(values)


STORED_ID_QUERIES = {"token_usage": "ImportStoredTokenUsageIDs", "user_prompt": "ImportStoredUserPromptIDs",
                     "tool_usage": "ImportStoredToolUsageIDs"}


class Loader:
    """Loads batches in file order and holds what the whole file needs across them.

    Optimistic: a batch's interceptions and child records are COPYed without asking whether
    they are already stored, inside a savepoint. A unique-key clash (the file, or part of it,
    was imported before) rolls the batch back to the savepoint and redoes it carefully,
    asking the database for the batch's ids; from then on every batch is careful.
    """

    def __init__(self, conn, now: datetime):
        self.conn = conn
        self.now = now
        self.stats = Stats()
        self.careful = False
        self.user_by_name: dict[str, str] = {}     # users this file wrote or named: username -> id
        self.user_ids: set[str] = set()
        self.initiators: dict[str, Optional[str]] = {}  # stored: username or id -> id (None: unknown)
        self.roots: dict[str, Optional[str]] = {}   # interception in the file -> its root (None: itself)
        self.created: set[str] = set()              # interceptions this import writes
        self.thoughts: set[int] = set()             # hashes of the thoughts this import wrote
        self.orphans: dict[str, int] = {}           # interception id -> first child line naming it
        self._new_thoughts: set[int] = set()
        # The parser thread waits for this between lines: the loader's Python work between
        # COPYs leaves the server idle, so it must not share the GIL with the parser.
        self.turn = threading.Lock()
        for table, cols in COPY_COLUMNS.items():
            if copy_format.columns(table) != cols:
                raise AibridgeError(f"internal: COPY column order of {table} changed in copy_format.sql")

    def load(self, batch: Batch) -> None:
        """Load one batch of checked lines, holding `turn` except while COPY streams."""
        with self.turn:
            self._load(batch)

    def _load(self, batch: Batch) -> None:
        from psycopg import errors as pgerrors

        self._users(batch.users)
        with translate_errors():
            try:
                with self.conn.transaction():
                    done = self._rest(batch, self.careful)
            except pgerrors.UniqueViolation as e:
                if self.careful:
                    raise AibridgeError(f"another writer stored the same records meanwhile: {str(e).splitlines()[0]}",
                                        hint="import the file again: records already stored are skipped") from None
                self.careful = True
                with self.conn.transaction():
                    done = self._rest(batch, True)
        roots, created, thoughts, orphans, written = done
        self.roots.update(roots)
        self.created.update(created)
        self.thoughts.update(thoughts)
        for iid, line in orphans.items():
            self.orphans.setdefault(iid, line)
        for t in ORDER:
            self.stats.lines[t] += batch.count(t)
            self.stats.written[t] += written.get(t, 0)

    def _users(self, users: list) -> None:
        if not users:
            return
        from aibridge_cli.ingest import fields

        for _, r in users:
            if r["id"] is None:
                r["id"] = fields.user_id_for(r["username"])
        known = query.many(self.conn, "ImportKnownUsers", ids=_ids(r["id"] for _, r in users),
                        usernames=[r["username"] for _, r in users])
        db_ids = {str(k["id"]) for k in known}
        db_name = {k["username"]: str(k["id"]) for k in known if not k["deleted"]}
        out, out_lines = [], []
        now = self.now.isoformat()
        for line, r in users:
            name = r["username"]
            if r["id_given"]:
                uid = r["id"]
                for owner in (db_name.get(name), self.user_by_name.get(name)):
                    if owner is not None and owner != uid:
                        raise LineError(line, f"user: username {name!r} already belongs to user {owner}",
                                        hint="give that user's id, or leave the id out to mean the existing user")
            else:
                uid = db_name.get(name) or self.user_by_name.get(name) or r["id"]
            if uid in db_ids or uid in self.user_ids or name in db_name or name in self.user_by_name:
                self.user_ids.add(uid)
                continue
            self.user_ids.add(uid)
            self.user_by_name[name] = uid
            roles = "{" + ",".join(r["roles"]) + "}"
            out.append("\t".join((uid, esc(name), esc(r["name"]), esc(r["avatar_url"]), esc(r["email"]),
                                  roles, "f", now, now)) + "\n")
            out_lines.append(line)
        if out:
            with translate_errors():
                _copy(self.conn, "users", out, out_lines, self.turn)
            self.stats.written["user"] += len(out)

    def _rest(self, batch: Batch, careful: bool):
        conn = self.conn
        inters, ends = batch.inters, batch.ends
        roots = self.roots
        batch_ids = {r[1] for r in inters}

        # What the database holds that this batch depends on, in a few round trips.
        self._resolve_initiators(inters)
        db_calls = {}
        wanted = {r[7] for r in inters if r[7] is not None}
        if wanted:
            for row in query.many(conn, "ImportNewestToolCalls", tool_call_ids=json.dumps(list(wanted))):
                db_calls[row["tool_call_id"]] = (row["created_at"], str(row["interception_id"]))
        batch_calls: dict[str, list] = {}  # call id -> [(line, created_at, interception id)] of this batch
        if wanted:
            for line, call, created, iid in batch.calls:
                if call in wanted:
                    batch_calls.setdefault(call, []).append((line, created, iid))
        parents = {r[8] for r in inters if r[8]}
        parents.update(iid for _, iid in db_calls.values())
        parents.update(c[2] for found in batch_calls.values() for c in found)
        ask = {i for i in parents if i not in roots and i not in batch_ids}
        ask.update(e[1] for e in ends)  # their ended_at may have changed since
        if careful:
            ask |= batch_ids
        stored = {}
        if ask:
            for row in query.many(conn, "ImportStoredInterceptions", ids=_ids(ask)):
                stored[str(row["id"])] = (row["started_at"], row["ended_at"], str(row["thread_root_id"]))
        out = {kind: self._kept(kind, batch.rows[kind], batch.lines[kind], careful) for kind in ID_KINDS}
        thoughts_stored = self._stored_thoughts(batch.thoughts, batch_ids.difference(roots, stored))

        # The rest is Python: it runs while the server takes in the first COPY.
        done = []

        def resolve():
            done.append(self._resolve(batch, stored, db_calls, batch_calls, thoughts_stored))

        first = next((kind for kind in ID_KINDS if out[kind][0]), None)
        written = {t: 0 for t in ORDER}
        for kind in ID_KINDS:
            rows, lines = out[kind]
            _copy(conn, TABLES[kind], rows, lines, self.turn, meanwhile=resolve if kind == first else None)
            written[kind] = len(rows)
        if first is None:
            resolve()
        new_roots, new_inters, ends_done, db_ends, thoughts, new_orphans = done[0]
        _copy(conn, "aibridge_interceptions", [
            f"{r[1]}\t{uid}\t{r[10]}\t{ended}\t{r[11]}\t{parent or NULL}\t{root or NULL}\t{r[12]}\n"
            for r, uid, parent, root, _, ended in new_inters.values()],
            [new[0][0] for new in new_inters.values()], self.turn)
        _copy(conn, "aibridge_model_thoughts", thoughts[0], thoughts[1], self.turn)
        written["interception"], written["model_thought"] = len(new_inters), len(thoughts[0])
        written["interception_end"] = ends_done
        if db_ends:
            written["interception_end"] += query.run(conn, "ImportEndInterceptions", ids=_ids(db_ends),
                                                  ended_ats=list(db_ends.values()))
        return new_roots, set(new_inters), self._new_thoughts, new_orphans, written

    def _kept(self, kind: str, rows: list, lines: list, careful: bool) -> tuple:
        """(rows, lines) to COPY: careful batches drop the records already stored or repeated."""
        if not careful or not rows:
            return rows, lines
        found = query.one(self.conn, STORED_ID_QUERIES[kind], ids=_ids(r[:36] for r in rows))["ids"]
        skip = set(found.split(",")) if found else set()
        kept, kept_lines = [], []
        for row, line in zip(rows, lines):
            rid = row[:36]
            if rid not in skip:
                skip.add(rid)
                kept.append(row)
                kept_lines.append(line)
        return kept, kept_lines

    def _resolve(self, batch: Batch, stored: dict, db_calls: dict, batch_calls: dict, thoughts_stored: set):
        """Lineage, ends, thoughts and orphans of a batch, from what the database said."""
        roots = self.roots
        # Interceptions in line order: lineage looks back only.
        new_roots: dict[str, Optional[str]] = {}
        new_inters: dict[str, list] = {}
        for r in batch.inters:
            iid = r[1]
            if iid in roots or iid in new_roots:
                continue
            if iid in stored:  # careful mode: already stored
                root = stored[iid][2]
                new_roots[iid] = None if root == iid else root
                continue
            uid, parent, root = self._lineage(r, stored, batch_calls, db_calls, new_roots)
            new_inters[iid] = [r, uid, parent, root, r[5], r[6]]
            new_roots[iid] = root
        ends_done = 0
        db_ends: dict[str, datetime] = {}
        for line, iid, end, end_text in batch.ends:
            new = new_inters.get(iid)
            if new is not None and new[0][0] < line:
                if new[4] is None:
                    if end < new[0][4]:
                        raise LineError(line, "interception_end: ended_at is before the interception's started_at")
                    new[4], new[5] = end, end_text
                    ends_done += 1
            elif iid in stored:
                started, stored_end, _ = stored[iid]
                if stored_end is None and iid not in db_ends:
                    if end < started:
                        raise LineError(line, "interception_end: ended_at is before the interception's started_at")
                    db_ends[iid] = end
            elif iid not in roots:
                raise LineError(line, f"interception_end: no interception {iid} earlier in the file or in the database")

        # Children may name an interception of a later line; remember the ones not seen yet.
        new_orphans: dict[str, int] = {}
        unknown = batch.refs.difference(roots, new_roots, self.orphans)
        if unknown:
            named = [(line, row[37:73]) for kind in ID_KINDS for row, line in zip(batch.rows[kind], batch.lines[kind])]
            named += [(item[0], item[1]) for item in batch.thoughts]
            for line, iid in named:
                if iid in unknown and (iid not in new_orphans or line < new_orphans[iid]):
                    new_orphans[iid] = line
        return new_roots, new_inters, ends_done, db_ends, self._thoughts(batch.thoughts, thoughts_stored), new_orphans

    def _stored_thoughts(self, items: list, new_ids: set) -> set:
        """(interception id, created_at, md5 of content) of the stored thoughts of interceptions
        neither this batch nor an earlier one writes."""
        stored = set()
        asked = {item[1] for item in items}.difference(self.created, new_ids)
        if asked:
            for row in query.many(self.conn, "ImportStoredThoughts", interception_ids=_ids(asked)):
                stored.add((str(row["interception_id"]), row["created_at"], row["content_md5"]))
        return stored

    def _thoughts(self, items: list, stored: set) -> tuple:
        """Thoughts have no id: one is a duplicate when the same interception, time and content
        was written by this import or is already stored."""
        self._new_thoughts = new = set()
        stored_iids = {k[0] for k in stored}
        rows, lines = [], []
        seen = self.thoughts
        for line, iid, row, created, content in items:
            key = hash((iid, created, content))
            if key in seen or key in new:
                continue
            if iid in stored_iids and (iid, created, hashlib.md5(content.encode()).hexdigest()) in stored:
                continue
            new.add(key)
            rows.append(row)
            lines.append(line)
        return rows, lines

    def _lineage(self, r, stored, batch_calls, db_calls, new_roots) -> tuple:
        """(initiator id, thread parent, thread root) of an interception to write."""
        line, name, initiator_id = r[0], r[2], r[3]
        initiator = initiator_id or name
        uid = self.user_by_name.get(initiator) if name else (initiator if initiator in self.user_ids else None)
        if uid is None:
            uid = self.initiators.get(initiator)
        if uid is None:
            raise LineError(line, f"interception: unknown initiator {initiator!r}",
                            hint="add the user first: a \"user\" line earlier in the file, or 'aibridge users add'")
        roots = self.roots
        parent, root = r[8], r[9]
        cid = r[7]
        if cid is not None:
            # The newest tool usage with this call id on an earlier line, or stored (ties: the file's, later line).
            chosen = db_calls.get(cid)
            for c_line, c_created, c_iid in batch_calls.get(cid, ()):
                if c_line < line and (chosen is None or c_created >= chosen[0]):
                    chosen = (c_created, c_iid)
            if chosen is not None:
                parent = chosen[1]
                if parent not in roots and parent not in new_roots and parent not in stored:
                    parent = None  # the bridge finds no lineage when the parent is not (yet) there
        if parent is not None and root is None:
            if parent in new_roots:
                root = new_roots[parent] or parent
            elif parent in roots:
                root = roots[parent] or parent
            elif parent in stored:
                root = stored[parent][2]
            else:
                root = parent
        return uid, parent, root

    def _resolve_initiators(self, inters: list) -> None:
        names, ids = set(), set()
        by_name, initiators, user_ids = self.user_by_name, self.initiators, self.user_ids
        for r in inters:
            name = r[2]
            if name is not None:
                if name not in by_name and name not in initiators:
                    names.add(name)
            elif r[3] not in user_ids and r[3] not in initiators:
                ids.add(r[3])
        if not names and not ids:
            return
        for k in names | ids:
            self.initiators[k] = None
        for row in query.many(self.conn, "ImportKnownUsers", ids=_ids(ids), usernames=list(names)):
            uid = str(row["id"])
            if uid in ids:
                self.initiators[uid] = uid
            if row["username"] in names and not row["deleted"]:
                self.initiators[row["username"]] = uid

    def finish(self) -> None:
        """Child records may name an interception anywhere in the file; those still unseen must be stored."""
        missing = {iid: line for iid, line in self.orphans.items() if iid not in self.roots}
        if missing:
            found = {str(row["id"]) for row in query.many(self.conn, "ImportStoredInterceptions", ids=_ids(missing))}
            bad = [(line, iid) for iid, line in missing.items() if iid not in found]
            if bad:
                line, iid = min(bad)
                raise LineError(line, f"no interception {iid} in the file or in the database",
                                hint="records of an interception need its interception line (or a stored interception)")


def _copy(conn, table: str, rows: list, lines: Optional[list] = None, turn=None,
          meanwhile: Optional[Callable[[], None]] = None) -> None:
    """COPY text-format rows; `lines` are their line numbers in the file. Driver errors come
    through untranslated (the caller decides), except a value PostgreSQL refuses, which the
    checks should have caught: that names the line. `meanwhile` runs once the rows are sent,
    while the server is still taking them in."""
    if not rows:
        return
    from psycopg import errors as pgerrors

    from aibridge_cli.sqlc import registry

    sql = registry.get(copy_format.COPY_QUERIES[table]).sql
    if turn is not None:
        turn.release()  # the server works through the rows: the parser may run meanwhile
    try:
        with conn.cursor() as cur, cur.copy(sql) as copy:
            for i in range(0, len(rows), 2000):
                copy.write("".join(rows[i:i + 2000]))
            if meanwhile is not None:
                if turn is not None:
                    turn.acquire()
                try:
                    meanwhile()
                finally:
                    if turn is not None:
                        turn.release()
    except pgerrors.DataError as e:
        where = _COPY_CONTEXT(e.diag.context or "")
        if where is None or lines is None or not 0 < int(where[1]) <= len(lines):
            raise
        column = f"{where[2]}: " if where[2] else ""
        raise LineError(lines[int(where[1]) - 1], f"{TYPE_OF[table]}: {column}{e.diag.message_primary}") from None
    finally:
        if turn is not None:
            turn.acquire()


_COPY_CONTEXT = re.compile(r"COPY \S+, line (\d+)(?:, column (\w+))?").search
TABLES = {"token_usage": "aibridge_token_usages", "user_prompt": "aibridge_user_prompts",
          "tool_usage": "aibridge_tool_usages"}
TYPE_OF = {"users": "user", "aibridge_interceptions": "interception", "aibridge_token_usages": "token_usage",
           "aibridge_user_prompts": "user_prompt", "aibridge_tool_usages": "tool_usage",
           "aibridge_model_thoughts": "model_thought"}
