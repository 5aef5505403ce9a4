"""The filter blocks that several queries repeat (sqlc has no includes), found by their marker
lines `-- filter:NAME begin` / `-- filter:NAME end`, and the mutations of one condition of a
block that tests/test_sql_filters.py runs to prove every condition of every copy matters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg

from aibridge_cli.db.query import row_factory
from aibridge_cli.sqlc import registry

ROOT = Path(__file__).resolve().parents[1]
QUERY_DIR = ROOT / "sql" / "queries"
MARKER = re.compile(r"^[ \t]*-- filter:(?P<family>[\w-]+) (?P<edge>begin|end)[ \t]*$", re.M)
HEADER = re.compile(r"^--\s*name:\s*(\w+)", re.M)


@dataclass(frozen=True)
class Block:
    file: str
    query: str
    family: str
    start: int  # offsets of the body (between the marker lines) in the text it was found in
    end: int
    text: str

    @property
    def body(self) -> str:
        return self.text[self.start:self.end]


def blocks_in(text: str, *, file: str = "", query: str = "") -> list[Block]:
    """The marked blocks of one text; unbalanced or nested markers are an error."""
    found, open_ = [], None
    for m in MARKER.finditer(text):
        if m.group("edge") == "begin":
            if open_ is not None:
                raise AssertionError(f"{file} {query}: filter:{m.group('family')} begins inside filter:{open_.group('family')}")
            open_ = m
        else:
            if open_ is None or open_.group("family") != m.group("family"):
                raise AssertionError(f"{file} {query}: filter:{m.group('family')} end without its begin")
            found.append(Block(file, query, m.group("family"), open_.end() + 1, m.start(), text))
            open_ = None
    if open_ is not None:
        raise AssertionError(f"{file} {query}: filter:{open_.group('family')} begin without its end")
    return found


def file_blocks() -> list[Block]:
    """Every marked block of every query file, with the query it sits in."""
    out = []
    for path in sorted(QUERY_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        heads = list(HEADER.finditer(text))
        for k, h in enumerate(heads):
            chunk = text[h.start(): heads[k + 1].start() if k + 1 < len(heads) else len(text)]
            out += blocks_in(chunk, file=path.name, query=h.group(1))
        if heads:
            before_first = text[: heads[0].start()]
            assert not MARKER.search(before_first), f"{path.name}: a filter marker before the first query"
    return out


def normalised(body: str) -> str:
    """A block's text without comments and layout, and without the connective (WHERE / AND) of
    its first condition, which depends on what comes before the block."""
    text = re.sub(r"--[^\n]*", "", body)
    text = " ".join(text.split())
    return re.sub(r"^(WHERE|AND)\s+", "", text)


# ---------------------------------------------------------------- mutations

_STARTS_CONDITION = re.compile(r"^\s*(WHERE|AND)\b")
_OPERATOR = re.compile(r">=|<=|<>|!=|=|<|>")
_FLIP = {">=": ">", "<=": "<", ">": ">=", "<": "<=", "=": "<>", "<>": "=", "!=": "="}
_WORDS = ((re.compile(r"\bOR\b"), "AND"), (re.compile(r"\bIS NOT NULL\b"), "IS NULL"),
          (re.compile(r"(?<!NOT )\bIS NULL\b"), "IS NOT NULL"))


def conditions(block: Block) -> list[tuple[int, int]]:
    """(start, end) offsets in block.text of each top-level condition: a condition begins on a
    line that starts with WHERE or AND (or on the block's first line) and runs to the next."""
    spans, start = [], None
    pos = block.start
    for line in block.body.splitlines(keepends=True):
        if line.strip().startswith("--") or not line.strip():
            pos += len(line)
            continue
        if start is None or _STARTS_CONDITION.match(line):
            if start is not None:
                spans.append((start, pos))
            start = pos
        pos += len(line)
    if start is not None:
        spans.append((start, block.end))
    return spans


def _outside_literals(text: str, start: int, end: int) -> list[bool]:
    inside, flags = False, []
    for ch in text[start:end]:
        if ch == "'":
            inside = not inside
        flags.append(not inside)
    return flags


def mutants(block: Block) -> Iterator[tuple[str, str]]:
    """(description, mutated text): each changes one thing in one condition of the block —
    the condition dropped (made true), one comparison operator flipped, one OR made AND, one
    IS [NOT] NULL turned round."""
    text = block.text
    for start, end in conditions(block):
        cond = text[start:end]
        label = " ".join(cond.split())[:70]
        lead = re.match(r"\s*(?:(?:WHERE|AND)\s+)?", cond).group(0)
        tail = cond[len(cond.rstrip()):]
        yield f"dropped: {label}", text[:start] + lead + "true" + tail + text[end:]
        free = _outside_literals(text, start, end)
        for m in _OPERATOR.finditer(cond):
            if free[m.start()]:
                a, b = start + m.start(), start + m.end()
                yield f"{m.group(0)} -> {_FLIP[m.group(0)]} at {m.start()}: {label}", text[:a] + _FLIP[m.group(0)] + text[b:]
        for pattern, repl in _WORDS:
            for m in pattern.finditer(cond):
                if free[m.start()]:
                    a, b = start + m.start(), start + m.end()
                    yield f"{m.group(0)} -> {repl} at {m.start()}: {label}", text[:a] + repl + text[b:]


# ---------------------------------------------------------------- running the copies

def run_sql(conn, q, sql, params):
    cur = conn.cursor(row_factory=row_factory)
    cur.execute(sql, registry.bind(q, params))
    return cur.fetchall()


def first_difference(conn, q, sql, checks, *, rolled_back=False):
    """The first check whose answer differs from the oracle's (or that fails), else None. With
    rolled_back (queries that delete), each statement runs in a transaction that is rolled back."""
    for params, observe, expected in checks:
        try:
            if rolled_back:
                with conn.transaction(force_rollback=True):
                    got = observe(run_sql(conn, q, sql, params))
            else:
                got = observe(run_sql(conn, q, sql, params))
        except psycopg.Error as e:
            return params, f"error: {e}"
        if got != expected:
            return params, got
    return None


def assert_every_condition_matters(conn, q, checks, *, at_least, rolled_back=False):
    """The query as written agrees with the oracle on every check, and a copy with any one
    condition of its filter block broken (see mutants) does not; at_least mutants are tried."""
    assert first_difference(conn, q, q.sql, checks, rolled_back=rolled_back) is None
    (block,) = blocks_in(q.sql, query=q.name)
    tried, survivors = 0, []
    for what, sql in mutants(block):
        tried += 1
        if first_difference(conn, q, sql, checks, rolled_back=rolled_back) is None:
            survivors.append(what)
    assert survivors == []
    assert tried >= at_least  # the block was found and split into conditions
