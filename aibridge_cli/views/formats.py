"""Rows in, text out: table / json / jsonl / csv / tsv / markdown.

Pure: never touches the database and never imports psycopg. Machine formats
stream row by row so a million-row export never holds a million rows.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import IO, Iterable, Iterator, Mapping, Sequence

# Value conversions live in views.text; they are named here too because the formats are where
# callers look for "the JSON of a row".
from aibridge_cli.views.table import numeric_values, rows_table
from aibridge_cli.views.text import cell_text, dumps, to_json_value  # noqa: F401

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "markdown")
MACHINE_FORMATS = ("json", "jsonl", "csv", "tsv")


def document(value) -> str:
    """One record as an indented JSON document (the `show` commands' --format json)."""
    return json.dumps(to_json_value(value), ensure_ascii=False, indent=2) + "\n"


def columns_of(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    return list(rows[0].keys()) if rows else []


def write_rows(rows: Iterable[dict], fmt: str, out: IO[str] | None = None,
               columns: Sequence[str] | None = None, title: str | None = None,
               numeric: Sequence[str] = (), layout: Mapping[str, dict] | None = None) -> int:
    """Write rows in a format; returns how many rows were written."""
    out = out or sys.stdout
    if fmt == "json":
        return _json_array(rows, out)
    if fmt == "jsonl":
        n = 0
        for row in rows:
            out.write(dumps(row) + "\n")
            n += 1
        return n
    if fmt in ("csv", "tsv"):
        return _delimited(rows, out, columns, "," if fmt == "csv" else "\t")
    materialised = list(rows)
    cols = columns_of(materialised, columns)
    if fmt == "markdown":
        from tabulate import tabulate

        body = [[cell_text(r.get(c)).replace("|", "\\|").replace("\n", " ") for c in cols] for r in materialised]
        align = ["right" if c in numeric or numeric_values([r.get(c) for r in materialised]) else "left" for c in cols]
        out.write(tabulate(body, headers=cols, tablefmt="github", disable_numparse=True,
                           colalign=align if cols else None) + "\n")
        return len(materialised)
    if fmt == "table":
        console(out).print(rows_table(materialised, cols, title=title, numeric=numeric, layout=layout))
        return len(materialised)
    raise ValueError(f"unknown format {fmt!r}")


def _json_array(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    out.write("[")
    for row in rows:
        out.write(("\n  " if n == 0 else ",\n  ") + dumps(row))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def _delimited(rows: Iterable[dict], out: IO[str], columns: Sequence[str] | None, delimiter: str) -> int:
    it: Iterator[dict] = iter(rows)
    first = next(it, None)
    cols = list(columns) if columns else (list(first.keys()) if first else [])
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(cols)
    if first is None:
        return 0
    n = 0
    for row in _chain(first, it):
        writer.writerow([cell_text(row.get(c)) for c in cols])
        n += 1
    return n


def _chain(first, rest):
    yield first
    yield from rest


# The width of a table written to a file or a pipe (no COLUMNS): every column of the widest list.
FILE_WIDTH = 200


def _is_terminal(file) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False


def console(out: IO[str] | None = None, stderr: bool = False):
    """A Rich console; width follows COLUMNS (tests pin it), then the terminal; a file or pipe,
    which has no width, gets FILE_WIDTH so that a redirected table keeps its columns.
    Colour follows the terminal and NO_COLOR."""
    from rich.console import Console

    file = out or (sys.stderr if stderr else sys.stdout)
    width = None
    if os.environ.get("COLUMNS", "").isdigit():
        width = int(os.environ["COLUMNS"])
    elif not _is_terminal(file):
        width = FILE_WIDTH
    return Console(file=file, width=width,
                   highlight=False, soft_wrap=False)


def stderr_line(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")
