"""The registry of named queries from sql/queries/*.sql, and parameter binding."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from aibridge_cli.errors import QueryFileError
from aibridge_cli.sqlc.translate import Query, parse_file

_NAME = re.compile(r"^--\s*name:\s*(\w+)", re.M)


def sql_dir() -> Path:
    # Installed wheels carry sql/ as aibridge_cli/sql; a source checkout has it beside the package.
    package = Path(__file__).resolve().parent.parent
    packaged = package / "sql"
    if (packaged / "queries").is_dir():
        return packaged
    return package.parent / "sql"


@lru_cache(maxsize=None)
def registry() -> dict[str, Query]:
    found: dict[str, Query] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        for q in parse_file(path):
            if q.name in found:
                raise QueryFileError(f"{q.where}: query name already defined in {found[q.name].where}")
            found[q.name] = q
    return found


@lru_cache(maxsize=None)
def _file_of() -> dict[str, Path]:
    """Which file names each query: a plain scan, so a command translates only the files it uses."""
    where: dict[str, Path] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        for m in _NAME.finditer(path.read_text(encoding="utf-8")):
            where.setdefault(m.group(1), path)
    return where


@lru_cache(maxsize=None)
def _parsed(path: Path) -> dict[str, Query]:
    return {q.name: q for q in parse_file(path)}


def get(name: str) -> Query:
    path = _file_of().get(name)
    if path is not None and name in _parsed(path):
        return _parsed(path)[name]
    found = registry().get(name)
    if found is None:
        raise QueryFileError(f"no query named {name!r} in {sql_dir() / 'queries'}")
    return found


def bind(query: Query, values: dict) -> dict:
    """Check the caller's parameters against the query and fill omitted ones with zero values."""
    unknown = set(values) - set(query.params)
    if unknown:
        raise QueryFileError(f"{query.where}: unknown parameter(s) {', '.join(sorted(unknown))}")
    bound = {}
    for name, param in query.params.items():
        if name in values:
            value = values[name]
            if value is None and not param.nullable:
                value = _zero(query, param)
            elif value is not None and param.cast in ("json", "jsonb") and not isinstance(value, str):
                from psycopg.types.json import Jsonb

                value = Jsonb(value)
            bound[name] = value
        else:
            bound[name] = _zero(query, param)
    return bound


def _zero(query: Query, param):
    try:
        return param.zero()
    except KeyError:
        raise QueryFileError(f"{query.where}: missing parameter {param.name!r} (it has no zero value)") from None
