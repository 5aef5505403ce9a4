"""Parse sqlc-format query files and translate them for psycopg 3.

A file holds named queries (`-- name: ListAIBridgeSessions :many`) that use sqlc's
parameter syntax: `@param`, `sqlc.arg(param)`, `sqlc.narg('param')` and
`sqlc.embed(table)`. aiosql rejects the `:many` header and does not escape `%`,
so this is a small lexer of our own: it copies strings, quoted identifiers,
comments and dollar-quoted bodies through, protects the `@>`, `<@` and `@@`
operators, doubles every literal `%`, and records each parameter's cast type so
that omitted filters can take the zero value the SQL's guards expect.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from aibridge_cli.errors import QueryFileError

HEADER = re.compile(r"^--\s*name:\s*(\w+)\s+:(\w+)\s*$")
KINDS = {"one", "many", "exec", "execrows"}
IDENT_START = re.compile(r"[A-Za-z_]")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
SQLC_CALL = re.compile(r"sqlc\.(arg|narg|embed)\s*\(\s*('?)([A-Za-z_][A-Za-z0-9_]*)\2\s*\)", re.IGNORECASE)
MULTIWORD_TYPES = [
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time with time zone", "timetz"),
    ("time without time zone", "time"),
    ("double precision", "float8"),
    ("character varying", "varchar"),
]
# The marker columns around an embedded table let the row builder nest its
# columns under the table's name, as sqlc's generated structs do, without a
# catalog lookup and without duplicate keys (two `id`s) colliding.
EMBED_START = "__embed__"
EMBED_END = "__embed_end__"

ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
NIL_UUID = uuid.UUID(int=0)
_ZERO_BY_TYPE = {
    "text": "", "varchar": "", "char": "", "bpchar": "", "name": "", "citext": "",
    "uuid": NIL_UUID,
    "timestamptz": ZERO_TIME, "timestamp": ZERO_TIME.replace(tzinfo=None),
    "int": 0, "integer": 0, "int2": 0, "int4": 0, "int8": 0, "smallint": 0, "bigint": 0,
    "numeric": 0, "float8": 0.0, "real": 0.0,
    "bool": False, "boolean": False,
    "json": None, "jsonb": None,
    "interval": None,
}


@dataclass
class Param:
    name: str
    cast: str | None = None
    nullable: bool = False

    def zero(self):
        """The value an omitted parameter takes, or raise if it has none."""
        if self.nullable:
            return None
        if self.cast is None:
            raise KeyError(self.name)
        if self.cast.endswith("[]"):
            return []
        base = self.cast.split("(")[0]
        if base not in _ZERO_BY_TYPE:
            raise KeyError(self.name)
        return _ZERO_BY_TYPE[base]


@dataclass
class Query:
    name: str
    kind: str
    sql: str
    params: dict[str, Param]
    file: str
    line: int
    embeds: list[str] = field(default_factory=list)
    authorize_filter: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line} {self.name}"


def parse_file(path: Path) -> list[Query]:
    return parse_text(path.read_text(encoding="utf-8"), path.name)


def parse_text(text: str, filename: str = "<string>") -> list[Query]:
    queries: list[Query] = []
    current: tuple[str, str, int] | None = None
    body: list[str] = []

    def finish():
        if current is None:
            if "".join(body).strip() and _has_code("\n".join(body)):
                raise QueryFileError(f"{filename}:1: SQL before the first '-- name:' header")
            return
        name, kind, line = current
        queries.append(translate("\n".join(body), filename, line, name, kind))

    for lineno, line in enumerate(text.splitlines(), start=1):
        m = HEADER.match(line.strip())
        if m:
            finish()
            name, kind = m.group(1), m.group(2).lower()
            if kind not in KINDS:
                raise QueryFileError(f"{filename}:{lineno} {name}: unknown query kind ':{kind}'",
                                     hint=f"use one of {', '.join(sorted(':' + k for k in KINDS))}")
            current, body = (name, kind, lineno), []
        elif line.strip().startswith("-- name:"):
            raise QueryFileError(f"{filename}:{lineno}: malformed query header {line.strip()!r}",
                                 hint="write it as '-- name: QueryName :one|:many|:exec|:execrows'")
        else:
            body.append(line)
    finish()
    seen: dict[str, Query] = {}
    for q in queries:
        if q.name in seen:
            raise QueryFileError(f"{q.where}: query name already used at line {seen[q.name].line}")
        seen[q.name] = q
    return queries


def _has_code(text: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith("--") for ln in text.splitlines())


def translate(body: str, filename: str, line: int, name: str, kind: str = "many") -> Query:
    """Turn one sqlc query body into psycopg's `%(name)s` form."""
    where = f"{filename}:{line} {name}"
    out: list[str] = []
    params: dict[str, Param] = {}
    embeds: list[str] = []
    authorize = False
    i, n = 0, len(body)

    def lineno_at(pos: int) -> int:
        return line + body.count("\n", 0, pos) + 1

    def fail(pos: int, msg: str):
        raise QueryFileError(f"{filename}:{lineno_at(pos)} {name}: {msg}")

    def add_param(pname: str, pos_after: int, nullable: bool) -> int:
        out.append(f"%({pname})s")
        cast, end = _read_cast(body, pos_after)
        p = params.setdefault(pname, Param(pname))
        p.nullable = p.nullable or nullable
        if cast and p.cast is None:
            p.cast = cast
        if cast:
            out.append(body[pos_after:end])
            return end
        return pos_after

    while i < n:
        c = body[i]
        nxt = body[i + 1] if i + 1 < n else ""
        if c == "%":
            out.append("%%")
            i += 1
        elif c == "'":
            escaped = i > 0 and body[i - 1] in "eE" and (i < 2 or not re.match(r"\w", body[i - 2]))
            end = _string_end(body, i, escaped)
            if end < 0:
                fail(i, "unterminated string literal")
            out.append(body[i:end].replace("%", "%%"))
            i = end
        elif c == '"':
            end = body.find('"', i + 1)
            while end >= 0 and body[end + 1:end + 2] == '"':
                end = body.find('"', end + 2)
            if end < 0:
                fail(i, "unterminated quoted identifier")
            out.append(body[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif c == "-" and nxt == "-":
            end = body.find("\n", i)
            end = n if end < 0 else end
            comment = body[i:end]
            if comment[2:].strip() == "@authorize_filter":
                authorize = True
            out.append(comment.replace("%", "%%"))
            i = end
        elif c == "/" and nxt == "*":
            end = _block_comment_end(body, i)
            if end < 0:
                fail(i, "unterminated block comment")
            out.append(body[i:end].replace("%", "%%"))
            i = end
        elif c == "$" and (m := DOLLAR_TAG.match(body, i)) and not (i > 0 and re.match(r"\w", body[i - 1])):
            tag = m.group(0)
            end = body.find(tag, m.end())
            if end < 0:
                fail(i, f"unterminated dollar-quoted string {tag}")
            out.append(body[i:end + len(tag)].replace("%", "%%"))
            i = end + len(tag)
        elif c == ":" and nxt == ":":
            out.append("::")
            i += 2
        elif c == "@" and IDENT_START.match(nxt) and not (i > 0 and body[i - 1] in "<@"):
            m = IDENT.match(body, i + 1)
            i = add_param(m.group(0), m.end(), nullable=False)
        elif c in "sS" and body[i:i + 5].lower() == "sqlc." and not (i > 0 and re.match(r"\w", body[i - 1])):
            m = SQLC_CALL.match(body, i)
            if not m:
                fail(i, "unsupported sqlc macro (expected sqlc.arg(x), sqlc.narg('x') or sqlc.embed(t))")
            fn, ident = m.group(1).lower(), m.group(3)
            if fn == "embed":
                embeds.append(ident)
                out.append(f'NULL AS "{EMBED_START}{ident}", {ident}.*, NULL AS "{EMBED_END}"')
                i = m.end()
            else:
                i = add_param(ident, m.end(), nullable=(fn == "narg"))
        else:
            out.append(c)
            i += 1

    sql = "".join(out).strip().rstrip(";").rstrip()
    if not _has_code(sql):
        raise QueryFileError(f"{where}: empty query")
    return Query(name=name, kind=kind, sql=sql, params=params, file=filename, line=line,
                 embeds=embeds, authorize_filter=authorize)


def _string_end(body: str, start: int, escaped: bool) -> int:
    i = start + 1
    while i < len(body):
        ch = body[i]
        if escaped and ch == "\\":
            i += 2
            continue
        if ch == "'":
            if body[i + 1:i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def _block_comment_end(body: str, start: int) -> int:
    depth, i = 0, start
    while i < len(body) - 1:
        pair = body[i:i + 2]
        if pair == "/*":
            depth += 1
            i += 2
        elif pair == "*/":
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1


def _read_cast(body: str, pos: int) -> tuple[str | None, int]:
    """Read a `::type` that directly follows a parameter; return (normalised type, end)."""
    if body[pos:pos + 2] != "::":
        return None, pos
    rest = body[pos + 2:]
    low = rest.lower()
    for phrase, norm in MULTIWORD_TYPES:
        if low.startswith(phrase) and not re.match(r"\w", low[len(phrase):len(phrase) + 1]):
            end = pos + 2 + len(phrase)
            return _array_suffix(body, end, norm)
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", rest)
    if not m:
        return None, pos
    name = m.group(0).lower()
    end = pos + 2 + m.end()
    mod = re.match(r"\(\s*\d+(\s*,\s*\d+)?\s*\)", body[end:])
    if mod:
        name += re.sub(r"\s+", "", mod.group(0))
        end += mod.end()
    return _array_suffix(body, end, name)


def _array_suffix(body: str, end: int, name: str) -> tuple[str, int]:
    while body[end:end + 2] == "[]":
        name += "[]"
        end += 2
    return name, end
