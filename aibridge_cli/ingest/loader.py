"""The loader thread of `record import`: a batch of checked lines (batch.Batch) into the tables.

It holds what the whole file needs across batches (users, interceptions written, their
thread roots, thoughts written, children waiting for their interception), asks the database
what a batch depends on in a few round trips, and COPYs straight into the tables. Records
already stored are skipped (see Loader), which makes a second import of the same file a no-op.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Optional

from psycopg import errors as pgerrors

from aibridge_cli.db import copy_format, query
from aibridge_cli.db.copy_format import COPY_COLUMNS, NULL, esc
from aibridge_cli.db.errors import translate_errors
from aibridge_cli.errors import AibridgeError
from aibridge_cli.ingest import fields, lineage
from aibridge_cli.ingest.batch import ID_KINDS, Batch, ChildRow, InterceptionLine, ThoughtLine, UserLine
from aibridge_cli.ingest.lines import LineError
from aibridge_cli.ingest.tables import TABLES, copy_rows

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


class Stored(NamedTuple):
    """An interception the database holds that a batch depends on."""
    started_at: datetime
    ended_at: Optional[datetime]
    root: str  # its thread's root, itself when it starts the thread


@dataclass(slots=True)
class NewInterception:
    """An interception of the batch to write: its line, and what lineage and ends decided."""
    rec: InterceptionLine
    initiator_id: str
    parent: Optional[str]
    root: Optional[str]
    ended_at: Optional[datetime]
    ended_text: str

    def copy_row(self) -> str:
        r = self.rec
        return (f"{r.id}\t{self.initiator_id}\t{r.head}\t{self.ended_text}\t{r.key_client}\t"
                f"{self.parent or NULL}\t{self.root or NULL}\t{r.session}{r.newer}\n")


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
        from aibridge_cli.data.layout import detect

        self.conn = conn
        self.layout = detect(conn)  # the COPY variants and the rows' format follow it
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

    def _users(self, users: list[UserLine]) -> None:
        if not users:
            return
        if self.layout.coder_users:
            raise LineError(users[0].line, "user: this database's users table is Coder's own (hashed_password, "
                                           "login_type, ...); users are created by the deployment, not imported",
                            hint="create the users in Coder, leave the user lines out, and name them by username")
        for u in users:
            if u.rec["id"] is None:
                u.rec["id"] = fields.user_id_for(u.rec["username"])
        known = query.many(self.conn, "ImportKnownUsers", ids=_ids(u.rec["id"] for u in users),
                           usernames=[u.rec["username"] for u in users])
        db_ids = {str(k["id"]) for k in known}
        db_name = {k["username"]: str(k["id"]) for k in known if not k["deleted"]}
        out, out_lines = [], []
        now = self.now.isoformat()
        for line, r in users:  # UserLine
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
                copy_rows(self.conn, "users", out, out_lines, self.turn)
            self.stats.written["user"] += len(out)

    def _rest(self, batch: Batch, careful: bool):
        conn = self.conn
        inters, ends = batch.inters, batch.ends
        roots = self.roots
        batch_ids = {r.id for r in inters}

        # What the database holds that this batch depends on, in a few round trips.
        self._resolve_initiators(inters)
        db_calls: dict[str, lineage.CallSite] = {}
        wanted = {r.tool_call_id for r in inters if r.tool_call_id is not None}
        if wanted:
            for row in query.many(conn, "ImportNewestToolCalls", tool_call_ids=json.dumps(list(wanted))):
                db_calls[row["tool_call_id"]] = lineage.CallSite(row["created_at"], str(row["interception_id"]))
        batch_calls: dict[str, list] = {}  # call id -> this batch's ToolCalls that carry it
        if wanted:
            for call in batch.calls:
                if call.call_id in wanted:
                    batch_calls.setdefault(call.call_id, []).append(call)
        parents = {r.thread_parent_id for r in inters if r.thread_parent_id}
        parents.update(site.interception_id for site in db_calls.values())
        parents.update(c.interception_id for found in batch_calls.values() for c in found)
        ask = {i for i in parents if i not in roots and i not in batch_ids}
        ask.update(e.id for e in ends)  # their ended_at may have changed since
        if careful:
            ask |= batch_ids
        stored: dict[str, Stored] = {}
        if ask:
            for row in query.many(conn, "ImportStoredInterceptions", ids=_ids(ask)):
                stored[str(row["id"])] = Stored(row["started_at"], row["ended_at"], str(row["thread_root_id"]))
        out = {kind: self._kept(kind, batch.rows[kind], careful) for kind in ID_KINDS}
        thoughts_stored = self._stored_thoughts(batch.thoughts, batch_ids.difference(roots, stored))

        # The rest is Python: it runs while the server takes in the first COPY.
        done = []

        def resolve():
            done.append(self._resolve(batch, stored, db_calls, batch_calls, thoughts_stored))

        first = next((kind for kind in ID_KINDS if out[kind]), None)
        written = {t: 0 for t in ORDER}
        for kind in ID_KINDS:
            rows = out[kind]
            copy_rows(conn, TABLES[kind], [r.copy for r in rows], [r.line for r in rows], self.turn,
                      meanwhile=resolve if kind == first else None, layout=self.layout)
            written[kind] = len(rows)
        if first is None:
            resolve()
        new_roots, new_inters, ends_done, db_ends, thoughts, new_orphans = done[0]
        copy_rows(conn, "aibridge_interceptions", [new.copy_row() for new in new_inters.values()],
                  [new.rec.line for new in new_inters.values()], self.turn, layout=self.layout)
        copy_rows(conn, "aibridge_model_thoughts", [t.copy for t in thoughts], [t.line for t in thoughts], self.turn)
        written["interception"], written["model_thought"] = len(new_inters), len(thoughts)
        written["interception_end"] = ends_done
        if db_ends:
            written["interception_end"] += query.run(conn, "ImportEndInterceptions", ids=_ids(db_ends),
                                                     ended_ats=list(db_ends.values()))
        if batch.errors:  # after the ends, whether they ended a stored interception or one of this batch
            query.run(conn, "ImportInterceptionErrors", ids=_ids(e.id for e in batch.errors),
                      error_types=[e.error_type for e in batch.errors],
                      error_messages=[e.error_message for e in batch.errors],
                      credential_hints=[e.credential_hint or "" for e in batch.errors])
        return new_roots, set(new_inters), self._new_thoughts, new_orphans, written

    def _kept(self, kind: str, rows: list[ChildRow], careful: bool) -> list[ChildRow]:
        """The rows to COPY: careful batches drop the records already stored or repeated."""
        if not careful or not rows:
            return rows
        found = query.one(self.conn, STORED_ID_QUERIES[kind], ids=_ids(r.id for r in rows))["ids"]
        skip = set(found.split(",")) if found else set()
        kept = []
        for row in rows:
            if row.id not in skip:
                skip.add(row.id)
                kept.append(row)
        return kept

    def _resolve(self, batch: Batch, stored: dict, db_calls: dict, batch_calls: dict, thoughts_stored: set):
        """Lineage, ends, thoughts and orphans of a batch, from what the database said."""
        roots = self.roots
        # Interceptions in line order: lineage looks back only.
        new_roots: dict[str, Optional[str]] = {}
        new_inters: dict[str, NewInterception] = {}
        for r in batch.inters:
            iid = r.id
            if iid in roots or iid in new_roots:
                continue
            if iid in stored:  # careful mode: already stored
                root = stored[iid].root
                new_roots[iid] = None if root == iid else root
                continue
            uid, parent, root = self._lineage(r, stored, batch_calls, db_calls, new_roots)
            new_inters[iid] = NewInterception(r, uid, parent, root, r.ended_at, r.ended_text)
            new_roots[iid] = root
        ends_done = 0
        db_ends: dict[str, datetime] = {}
        for end in batch.ends:
            iid = end.id
            new = new_inters.get(iid)
            if new is not None and new.rec.line < end.line:
                if new.ended_at is None:
                    if end.ended_at < new.rec.started_at:
                        raise LineError(end.line, "interception_end: ended_at is before the interception's started_at")
                    new.ended_at, new.ended_text = end.ended_at, end.ended_text
                    ends_done += 1
            elif iid in stored:
                was = stored[iid]
                if was.ended_at is None and iid not in db_ends:
                    if end.ended_at < was.started_at:
                        raise LineError(end.line, "interception_end: ended_at is before the interception's started_at")
                    db_ends[iid] = end.ended_at
            elif iid not in roots:
                raise LineError(end.line, f"interception_end: no interception {iid} earlier in the file or in the database")

        # Children may name an interception of a later line; remember the ones not seen yet.
        new_orphans: dict[str, int] = {}
        unknown = batch.refs.difference(roots, new_roots, self.orphans)
        if unknown:
            named = [(row.line, row.interception_id) for kind in ID_KINDS for row in batch.rows[kind]]
            named += [(t.line, t.interception_id) for t in batch.thoughts]
            for line, iid in named:
                if iid in unknown and (iid not in new_orphans or line < new_orphans[iid]):
                    new_orphans[iid] = line
        return new_roots, new_inters, ends_done, db_ends, self._thoughts(batch.thoughts, thoughts_stored), new_orphans

    def _stored_thoughts(self, items: list[ThoughtLine], new_ids: set) -> set:
        """(interception id, created_at, md5 of content) of the stored thoughts of interceptions
        neither this batch nor an earlier one writes."""
        stored = set()
        asked = {t.interception_id for t in items}.difference(self.created, new_ids)
        if asked:
            for row in query.many(self.conn, "ImportStoredThoughts", interception_ids=_ids(asked)):
                stored.add((str(row["interception_id"]), row["created_at"], row["content_md5"]))
        return stored

    def _thoughts(self, items: list[ThoughtLine], stored: set) -> list[ThoughtLine]:
        """Thoughts have no id: one is a duplicate when the same interception, time and content
        was written by this import or is already stored."""
        self._new_thoughts = new = set()
        stored_iids = {k[0] for k in stored}
        kept = []
        seen = self.thoughts
        for t in items:
            key = hash((t.interception_id, t.created_at, t.content))
            if key in seen or key in new:
                continue
            if t.interception_id in stored_iids and (
                    t.interception_id, t.created_at, hashlib.md5(t.content.encode()).hexdigest()) in stored:
                continue
            new.add(key)
            kept.append(t)
        return kept

    def _lineage(self, r: InterceptionLine, stored, batch_calls, db_calls, new_roots) -> tuple:
        """(initiator id, thread parent, thread root) of an interception to write."""
        initiator = r.initiator_id or r.initiator
        uid = self.user_by_name.get(initiator) if r.initiator else (initiator if initiator in self.user_ids else None)
        if uid is None:
            uid = self.initiators.get(initiator)
        if uid is None:
            raise LineError(r.line, f"interception: unknown initiator {initiator!r}",
                            hint="add the user first: a \"user\" line earlier in the file, or 'aibridge users add'")
        roots = self.roots
        parent = r.thread_parent_id
        if r.tool_call_id is not None:
            earlier = (lineage.CallSite(c.created_at, c.interception_id)
                       for c in batch_calls.get(r.tool_call_id, ()) if c.line < r.line)
            chosen = lineage.newest_call(db_calls.get(r.tool_call_id), earlier)
            if chosen is not None:
                parent = chosen.interception_id
                if parent not in roots and parent not in new_roots and parent not in stored:
                    parent = None  # the bridge finds no lineage when the parent is not (yet) there
        if r.thread_parent_id is not None and parent not in new_roots and parent not in roots and parent not in stored:
            raise LineError(r.line, f"interception: thread_parent_id {parent} is not an interception (neither "
                                    "stored nor in the file)",
                            hint="record the parent first, or leave thread_parent_id out")

        def root_of(pid: str) -> Optional[str]:
            if pid in new_roots:
                return new_roots[pid]
            if pid in roots:
                return roots[pid]
            return stored[pid].root if pid in stored else None

        parent, root = lineage.thread(parent, r.thread_root_id, root_of)
        return uid, parent, root

    def _resolve_initiators(self, inters: list[InterceptionLine]) -> None:
        names, ids = set(), set()
        by_name, initiators, user_ids = self.user_by_name, self.initiators, self.user_ids
        for r in inters:
            name = r.initiator
            if name is not None:
                if name not in by_name and name not in initiators:
                    names.add(name)
            elif r.initiator_id not in user_ids and r.initiator_id not in initiators:
                ids.add(r.initiator_id)
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
