"""Thread lineage: which interception a new one answers, and the root of its thread.

The same rules for `record interception` (one record, the database answers) and `record
import` (a file, where earlier lines answer before the database): a tool call id names the
newest tool usage that carried it, whose interception becomes the parent; a parent's root is
its own root, or the parent itself when it starts its thread or is not stored.
"""

from __future__ import annotations

from typing import Callable, Iterable, NamedTuple, Optional


class Thread(NamedTuple):
    parent: Optional[str]
    root: Optional[str]


class CallSite(NamedTuple):
    """A tool usage that carried a call id: when, and in which interception."""
    created_at: object
    interception_id: str


def newest_call(stored: Optional[CallSite], earlier: Iterable[CallSite]) -> Optional[CallSite]:
    """The newest of the stored tool usage and the file's earlier ones (ties: the file's, later line)."""
    chosen = stored
    for site in earlier:
        if chosen is None or site.created_at >= chosen.created_at:
            chosen = site
    return chosen


def thread(parent: Optional[str], root: Optional[str], root_of: Callable[[str], Optional[str]]) -> Thread:
    """(parent, root): a root given stands; otherwise the parent's root (`root_of` answers None
    when the parent starts its thread or is not known: then the parent is the root)."""
    if parent is not None and root is None:
        root = root_of(parent) or parent
    return Thread(parent, root)
