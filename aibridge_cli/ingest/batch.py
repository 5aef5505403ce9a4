"""A batch of `record import`'s checked lines: one named record type per kind of line.

lines.Parser fills a Batch; loader.Loader writes it. NamedTuples: as cheap to build as the
plain tuples they replace, and read by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Optional

ID_KINDS = ("token_usage", "user_prompt", "tool_usage")  # child records with an id of their own


class UserLine(NamedTuple):
    line: int
    rec: dict  # fields.user's record; the loader fills in "id" when the line gave none


class InterceptionLine(NamedTuple):
    line: int
    id: str
    initiator: Optional[str]       # a username, or None when the line named the user by id
    initiator_id: Optional[str]
    started_at: datetime
    ended_at: Optional[datetime]
    ended_text: str                # ended_at as COPY text (NULL when in flight)
    tool_call_id: Optional[str]
    thread_parent_id: Optional[str]
    thread_root_id: Optional[str]
    # The COPY row's columns that lineage and ends do not change, as COPY text:
    head: str                      # provider, model, started_at, metadata
    key_client: str                # api key id, client
    session: str                   # client session id
    newer: str                     # the 2026-08 columns as COPY text, each with its leading tab ("" on the seed's)


class EndLine(NamedTuple):
    line: int
    id: str
    ended_at: datetime
    ended_text: str


class EndError(NamedTuple):
    """What an interception_end line sets beside ended_at on the 2026-08 layout."""
    line: int
    id: str
    error_type: Optional[str]
    error_message: Optional[str]
    credential_hint: str


class ChildRow(NamedTuple):
    """A token usage, user prompt or tool usage: its COPY row, which starts with its id."""
    line: int
    id: str
    interception_id: str
    copy: str


class ToolCall(NamedTuple):
    """A tool usage that carries a call id: a later interception may answer it."""
    line: int
    call_id: str
    created_at: datetime
    interception_id: str


class ThoughtLine(NamedTuple):
    line: int
    interception_id: str
    copy: str
    created_at: datetime
    content: str


class Batch:
    """The lines of one batch, per type, in line order (line numbers are the file's).

    rows per ID_KINDS: ChildRow; calls: the ToolCalls among the tool usages; refs: the
    interception ids the child records name."""

    __slots__ = ("users", "inters", "ends", "errors", "rows", "calls", "thoughts", "refs", "size")

    def __init__(self):
        self.users: list[UserLine] = []
        self.inters: list[InterceptionLine] = []
        self.ends: list[EndLine] = []
        self.errors: list[EndError] = []
        self.rows: dict[str, list[ChildRow]] = {k: [] for k in ID_KINDS}
        self.calls: list[ToolCall] = []
        self.thoughts: list[ThoughtLine] = []
        self.refs: set = set()
        self.size = 0

    def count(self, kind: str) -> int:
        if kind in self.rows:
            return len(self.rows[kind])
        return len({"user": self.users, "interception": self.inters, "interception_end": self.ends,
                    "model_thought": self.thoughts}[kind])
