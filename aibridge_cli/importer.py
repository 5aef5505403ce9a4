"""`aibridge record import`: NDJSON records, checked line by line, loaded with COPY in batches.

One transaction for the whole file: any error rolls everything back. Each batch asks the
database what it already holds for the batch's ids (records already stored, or stored by an
earlier batch of the same file, are skipped: that is what makes a second import a no-op),
resolves initiators and thread lineage, then COPYs straight into the tables.

Knows psycopg through db/bulk; never prints (progress goes through a callback).
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Optional

from aibridge_cli import bulk, db, records
from aibridge_cli.errors import AibridgeError, BadInput
from aibridge_cli.records import CHECKERS, FieldError

BATCH_LINES = 20_000
ORDER = ("user", "interception", "interception_end", "token_usage", "user_prompt", "tool_usage", "model_thought")
# The column order of each COPY this module formats rows for (checked against bulk.sql).
COPY_COLUMNS = {
    "users": ["id", "username", "name", "avatar_url", "email", "rbac_roles", "deleted", "created_at", "updated_at"],
    "aibridge_interceptions": ["id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at",
                               "api_key_id", "client", "thread_parent_id", "thread_root_id", "client_session_id"],
    "aibridge_token_usages": ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens",
                              "metadata", "created_at"],
    "aibridge_user_prompts": ["id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"],
    "aibridge_tool_usages": ["id", "interception_id", "provider_response_id", "server_url", "tool", "input",
                             "injected", "invocation_error", "metadata", "created_at", "provider_tool_call_id"],
    "aibridge_model_thoughts": ["interception_id", "content", "metadata", "created_at"],
}


class LineError(BadInput):
    def __init__(self, line: int, message: str, hint: str | None = None):
        super().__init__(f"line {line}: {message}", hint=hint)
        self.line = line


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


# ---- COPY text format --------------------------------------------------------------------

NULL = "\\N"


def _esc(s: str) -> str:
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _opt(s: Optional[str]) -> str:
    return NULL if s is None else _esc(s)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json(d: dict) -> str:
    return _esc(_dumps(d)) if d else "{}"


def _ts(t: Optional[datetime]) -> str:
    return NULL if t is None else t.isoformat()


# ---- parsing -------------------------------------------------------------------------------

def parse_line(raw: bytes | str, lineno: int, now: datetime):
    """One line to (type, record); None for a blank line. Raises LineError."""
    try:
        obj = json.loads(raw)
    except UnicodeDecodeError:
        raise LineError(lineno, "not valid UTF-8") from None
    except json.JSONDecodeError as e:
        raise LineError(lineno, f"not valid JSON ({e.msg} at column {e.colno})") from None
    if type(obj) is not dict:
        raise LineError(lineno, "expected a JSON object with a \"type\" field")
    kind = obj.get("type")
    checker = CHECKERS.get(kind) if type(kind) is str else None
    if checker is None:
        what = "missing field 'type'" if kind is None else f"unknown type {kind!r}"
        raise LineError(lineno, what, hint=f"type is one of {', '.join(records.TYPES)}")
    if (b"\\u" if isinstance(raw, bytes) else "\\u") in raw:
        _check_escapes(obj, lineno)
    try:
        return kind, checker(obj, now)
    except FieldError as e:
        raise LineError(lineno, f"{kind}: {e.message}") from None


def _check_escapes(obj, lineno: int) -> None:
    """JSON may spell characters PostgreSQL cannot store: NUL, and lone surrogates."""
    text = json.dumps(obj, ensure_ascii=False)
    if "\\u0000" in text:
        raise LineError(lineno, "contains \\u0000 (NUL), which PostgreSQL cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LineError(lineno, "contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None


# ---- loading -------------------------------------------------------------------------------

def _ids(values) -> str:
    return ",".join(values)


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
        for table, cols in COPY_COLUMNS.items():
            if bulk.columns(table) != cols:
                raise AibridgeError(f"internal: COPY column order of {table} changed in bulk.sql")

    def load(self, batch: list[tuple[str, int, dict]]) -> None:
        from psycopg import errors as pgerrors

        by_type: dict[str, list] = {t: [] for t in ORDER}
        for item in batch:
            by_type[item[0]].append(item)
        self._users(by_type["user"])
        with db.translate_errors():
            try:
                with self.conn.transaction():
                    done = self._rest(batch, by_type, self.careful)
            except pgerrors.UniqueViolation as e:
                if self.careful:
                    raise AibridgeError(f"another writer stored the same records meanwhile: {str(e).splitlines()[0]}",
                                        hint="import the file again: records already stored are skipped") from None
                self.careful = True
                with self.conn.transaction():
                    done = self._rest(batch, by_type, True)
        roots, created, thoughts, orphans, written = done
        self.roots.update(roots)
        self.created.update(created)
        self.thoughts.update(thoughts)
        for iid, line in orphans.items():
            self.orphans.setdefault(iid, line)
        for t in ORDER:
            self.stats.lines[t] += len(by_type[t])
            self.stats.written[t] += written.get(t, 0)

    def _users(self, users: list) -> None:
        if not users:
            return
        for _, _, r in users:
            if r["id"] is None:
                r["id"] = records.user_id_for(r["username"])
        known = db.many(self.conn, "ImportKnownUsers", ids=_ids(r["id"] for _, _, r in users),
                        usernames=[r["username"] for _, _, r in users])
        db_ids = {str(k["id"]) for k in known}
        db_name = {k["username"]: str(k["id"]) for k in known if not k["deleted"]}
        out = []
        now = self.now.isoformat()
        for _, line, r in users:
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
            out.append("\t".join((uid, _esc(name), _esc(r["name"]), _esc(r["avatar_url"]), _esc(r["email"]),
                                  roles, "f", now, now)) + "\n")
        if out:
            with db.translate_errors():
                _copy(self.conn, "users", out)
            self.stats.written["user"] += len(out)

    def _rest(self, batch: list, by_type: dict, careful: bool):
        conn = self.conn
        inters, ends = by_type["interception"], by_type["interception_end"]
        roots, created = self.roots, self.created
        batch_ids = {r["id"] for _, _, r in inters}

        # What the database holds that this batch depends on, in a few round trips.
        self._resolve_initiators(inters)
        db_calls = {}
        call_ids = list({r["tool_call_id"] for _, _, r in inters if r["tool_call_id"] is not None})
        if call_ids:
            for row in db.many(conn, "ImportNewestToolCalls", tool_call_ids=call_ids):
                db_calls[row["tool_call_id"]] = (row["created_at"], str(row["interception_id"]))
        ask = {r["id"] for _, _, r in ends} - batch_ids
        ask.update(r["thread_parent_id"] for _, _, r in inters if r["thread_parent_id"])
        ask.update(iid for _, iid in db_calls.values())
        ask.update(r["interception_id"] for _, _, r in by_type["tool_usage"] if r["tool_call_id"] is not None)
        ask -= batch_ids
        ask = {i for i in ask if i not in roots or i in created}
        if careful:
            ask |= batch_ids
        stored = {}
        if ask:
            for row in db.many(conn, "ImportStoredInterceptions", ids=_ids(ask)):
                stored[str(row["id"])] = (row["started_at"], row["ended_at"], str(row["thread_root_id"]))
        skip_ids = {"token_usage": set(), "user_prompt": set(), "tool_usage": set()}
        if careful:
            for t, query in (("token_usage", "ImportStoredTokenUsageIDs"),
                             ("user_prompt", "ImportStoredUserPromptIDs"),
                             ("tool_usage", "ImportStoredToolUsageIDs")):
                if by_type[t]:
                    skip_ids[t] = {str(row["id"]) for row in db.many(conn, query, ids=_ids(r["id"] for _, _, r in by_type[t]))}
        stored_thoughts = set()
        ask_thoughts = {r["interception_id"] for _, _, r in by_type["model_thought"]} - created
        if ask_thoughts:
            for row in db.many(conn, "ImportStoredThoughts", interception_ids=_ids(ask_thoughts)):
                stored_thoughts.add((str(row["interception_id"]), row["created_at"], row["content_md5"]))
        stored_thought_iids = {k[0] for k in stored_thoughts}

        # Walk the batch in line order: lineage and ends look back only.
        new_roots: dict[str, Optional[str]] = {}
        new_created: set[str] = set()
        new_thoughts: set[int] = set()
        new_orphans: dict[str, int] = {}
        new_inters: dict[str, dict] = {}
        written = {t: 0 for t in ORDER}
        calls: dict[str, tuple] = {}       # call id -> (created_at, interception id), newest in the file
        db_ends: dict[str, datetime] = {}
        seen = {"token_usage": set(), "user_prompt": set(), "tool_usage": set()}
        out = {t: [] for t in ("token_usage", "user_prompt", "tool_usage", "model_thought")}

        def known(iid):
            return iid in roots or iid in new_roots

        for kind, line, r in batch:
            if kind == "tool_usage" or kind == "token_usage" or kind == "user_prompt":
                rid = r["id"]
                if rid in skip_ids[kind] or rid in seen[kind]:
                    continue
                seen[kind].add(rid)
                iid = r["interception_id"]
                if iid not in roots and iid not in new_roots and iid not in self.orphans and iid not in new_orphans:
                    new_orphans[iid] = line
                meta = _json(r["metadata"]) if r["metadata"] else "{}"
                if kind == "tool_usage":
                    cid = r["tool_call_id"]
                    if cid is not None:
                        prev = calls.get(cid)
                        if prev is None or r["created_at"] >= prev[0]:
                            calls[cid] = (r["created_at"], iid)
                    out[kind].append("\t".join((
                        rid, iid, _esc(r["provider_response_id"]), _opt(r["server_url"]), _esc(r["tool"]),
                        _esc(r["input"]), "t" if r["injected"] else "f", _opt(r["invocation_error"]), meta,
                        r["created_at"].isoformat(), _opt(cid))) + "\n")
                elif kind == "token_usage":
                    out[kind].append(f"{rid}\t{iid}\t{_esc(r['provider_response_id'])}\t{r['input_tokens']}\t"
                                     f"{r['output_tokens']}\t{meta}\t{r['created_at'].isoformat()}\n")
                else:
                    out[kind].append(f"{rid}\t{iid}\t{_esc(r['provider_response_id'])}\t{_esc(r['prompt'])}\t"
                                     f"{meta}\t{r['created_at'].isoformat()}\n")
            elif kind == "model_thought":
                iid = r["interception_id"]
                key = hash((iid, r["created_at"], r["content"]))
                if key in self.thoughts or key in new_thoughts:
                    continue
                if iid in stored_thought_iids and (
                        iid, r["created_at"], hashlib.md5(r["content"].encode()).hexdigest()) in stored_thoughts:
                    continue
                new_thoughts.add(key)
                if iid not in roots and iid not in new_roots and iid not in self.orphans and iid not in new_orphans:
                    new_orphans[iid] = line
                out[kind].append(f"{iid}\t{_esc(r['content'])}\t{_json(r['metadata'])}\t"
                                 f"{r['created_at'].isoformat()}\n")
            elif kind == "interception":
                iid = r["id"]
                if known(iid):
                    continue
                if iid in stored:  # careful mode: already stored
                    root = stored[iid][2]
                    new_roots[iid] = None if root == iid else root
                    continue
                row = self._interception(line, r, stored, calls, db_calls, known, new_roots)
                new_inters[iid] = row
                new_roots[iid] = row["thread_root_id"]
                new_created.add(iid)
            elif kind == "interception_end":
                iid, ended = r["id"], r["ended_at"]
                row = new_inters.get(iid)
                if row is not None:
                    if row["ended_at"] is None:
                        if ended < row["started_at"]:
                            raise LineError(line, "interception_end: ended_at is before the interception's started_at")
                        row["ended_at"] = ended
                        written[kind] += 1
                elif iid in stored:
                    started, stored_end, _ = stored[iid]
                    if stored_end is None and iid not in db_ends:
                        if ended < started:
                            raise LineError(line, "interception_end: ended_at is before the interception's started_at")
                        db_ends[iid] = ended
                elif not known(iid):
                    raise LineError(line, f"interception_end: no interception {iid} earlier in the file or in the database")

        _copy(conn, "aibridge_interceptions", [
            "\t".join((i["id"], i["initiator_id"], _esc(i["provider"]), _esc(i["model"]), i["started_at"].isoformat(),
                       _json(i["metadata"]), _ts(i["ended_at"]), _opt(i["api_key_id"]), _esc(i["client"]),
                       i["thread_parent_id"] or NULL, i["thread_root_id"] or NULL, _opt(i["client_session_id"])))
            + "\n" for i in new_inters.values()])
        written["interception"] = len(new_inters)
        for kind, table in (("token_usage", "aibridge_token_usages"), ("user_prompt", "aibridge_user_prompts"),
                            ("tool_usage", "aibridge_tool_usages"), ("model_thought", "aibridge_model_thoughts")):
            _copy(conn, table, out[kind])
            written[kind] = len(out[kind])
        if db_ends:
            written["interception_end"] += db.run(conn, "ImportEndInterceptions", ids=_ids(db_ends),
                                                  ended_ats=list(db_ends.values()))
        return new_roots, new_created, new_thoughts, new_orphans, written

    def _interception(self, line, r, stored, calls, db_calls, known, new_roots) -> dict:
        initiator = r["initiator_id"] or r["initiator"]
        uid = self.user_by_name.get(initiator) if r["initiator"] else (initiator if initiator in self.user_ids else None)
        if uid is None:
            uid = self.initiators.get(initiator)
        if uid is None:
            raise LineError(line, f"interception: unknown initiator {initiator!r}",
                            hint="add the user first: a \"user\" line earlier in the file, or 'aibridge users add'")
        parent, root = r["thread_parent_id"], r["thread_root_id"]
        cid = r["tool_call_id"]
        if cid is not None:
            a, b = calls.get(cid), db_calls.get(cid)
            chosen = a if (a is not None and (b is None or a[0] >= b[0])) else b
            if chosen is not None:
                parent = chosen[1]
                if not known(parent) and parent not in stored:
                    parent = None  # the bridge finds no lineage when the parent is gone
        if parent is not None and root is None:
            if parent in new_roots:
                root = new_roots[parent] or parent
            elif parent in self.roots:
                root = self.roots[parent] or parent
            elif parent in stored:
                root = stored[parent][2]
            else:
                root = parent
        row = dict(r)
        row["initiator_id"], row["thread_parent_id"], row["thread_root_id"] = uid, parent, root
        return row

    def _resolve_initiators(self, inters: list) -> None:
        names, ids = set(), set()
        for _, _, r in inters:
            if r["initiator"] is not None:
                if r["initiator"] not in self.user_by_name and r["initiator"] not in self.initiators:
                    names.add(r["initiator"])
            elif r["initiator_id"] not in self.user_ids and r["initiator_id"] not in self.initiators:
                ids.add(r["initiator_id"])
        if not names and not ids:
            return
        for k in names | ids:
            self.initiators[k] = None
        for row in db.many(self.conn, "ImportKnownUsers", ids=_ids(ids), usernames=list(names)):
            uid = str(row["id"])
            if uid in ids:
                self.initiators[uid] = uid
            if row["username"] in names and not row["deleted"]:
                self.initiators[row["username"]] = uid

    def finish(self) -> None:
        """Child records may name an interception anywhere in the file; those still unseen must be stored."""
        missing = {iid: line for iid, line in self.orphans.items() if iid not in self.roots}
        if missing:
            found = {str(row["id"]) for row in db.many(self.conn, "ImportStoredInterceptions", ids=_ids(missing))}
            bad = [(line, iid) for iid, line in missing.items() if iid not in found]
            if bad:
                line, iid = min(bad)
                raise LineError(line, f"no interception {iid} in the file or in the database",
                                hint="records of an interception need its interception line (or a stored interception)")


def _copy(conn, table: str, lines: list) -> None:
    """COPY text-format lines; driver errors come through untranslated (the caller decides)."""
    if not lines:
        return
    from aibridge_cli import queries

    sql = queries.get(bulk.COPY_QUERIES[table]).sql
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for i in range(0, len(lines), 2000):
            copy.write("".join(lines[i:i + 2000]))


class _Worker:
    """Loads batches on a thread of its own while the caller parses the next one: the
    database works on one core while Python parses on the other."""

    def __init__(self, load: Callable[[list], None]):
        self.load = load
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="aibridge-import", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    self.load(batch)
                except BaseException as e:  # handed to the caller's thread
                    self.error = e

    def submit(self, batch: list) -> None:
        self._raise()
        self.queue.put(batch)

    def close(self) -> None:
        """Wait for the batches handed over; raise the first error one of them met."""
        self.queue.put(None)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def run(conn, lines: Iterable[bytes], now: datetime, on_progress: Optional[Callable[[int], None]] = None) -> Stats:
    """Check and load every line, in one transaction (the caller's); on bad input raise for
    the first bad line, counting the others."""
    db.run(conn, "ImportPrepareSession")
    loader = Loader(conn, now)
    worker = _Worker(loader.load)
    first: Optional[LineError] = None
    bad = 0
    try:
        batch: list = []
        consumed = 0
        for lineno, raw in enumerate(lines, start=1):
            consumed += len(raw)
            if lineno % 5000 == 0 and on_progress is not None:
                on_progress(consumed)
                consumed = 0
            if not raw.strip():
                continue
            try:
                kind, rec = parse_line(raw, lineno, now)
            except LineError as e:
                bad += 1
                if first is None:
                    first = e
                    batch = []
                continue
            if first is None:
                batch.append((kind, lineno, rec))
                if len(batch) >= BATCH_LINES:
                    worker.submit(batch)
                    batch = []
        if on_progress is not None:
            on_progress(consumed)
        if first is None and batch:
            worker.submit(batch)
    finally:
        worker.close()
    if first is not None:
        more = f"; {bad - 1:,} more bad line{'s' if bad > 2 else ''}" if bad > 1 else ""
        raise BadInput(f"{first.message}{more}; nothing was imported",
                       hint=first.hint or "fix the line and import the file again (records already stored are skipped)")
    loader.finish()
    return loader.stats
