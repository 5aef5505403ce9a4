"""Rows in, text out: table / json / jsonl / csv / tsv / markdown.

Pure: never touches the database and never imports psycopg. Machine formats
stream row by row so a million-row export never holds a million rows.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import IO, Any, Iterable, Iterator, Sequence
from uuid import UUID

FORMATS = ("table", "json", "jsonl", "csv", "tsv", "markdown")
MACHINE_FORMATS = ("json", "jsonl", "csv", "tsv")


def to_json_value(value: Any) -> Any:
    """A JSON-ready value: RFC 3339 times with an offset, UUIDs and decimals as plain values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_json_value(value), ensure_ascii=False)


def cell_text(value: Any) -> str:
    """A value as one cell of csv/tsv/markdown text: lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return dumps(value)
    v = to_json_value(value)
    return v if isinstance(v, str) else str(v)


def short_text(value: Any, width: int = 60) -> str:
    """A value for a terminal cell: times shortened, newlines folded, long text cut."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, int):
        return f"{value:,}"
    else:
        text = cell_text(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def columns_of(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    return list(rows[0].keys()) if rows else []


def write_rows(rows: Iterable[dict], fmt: str, out: IO[str] | None = None,
               columns: Sequence[str] | None = None, title: str | None = None,
               numeric: Sequence[str] = ()) -> int:
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
        out.write(tabulate(body, headers=cols, tablefmt="github", disable_numparse=True) + "\n")
        return len(materialised)
    if fmt == "table":
        print_table(materialised, cols, out=out, title=title, numeric=numeric)
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


def console(out: IO[str] | None = None, stderr: bool = False):
    """A Rich console; width follows COLUMNS (tests pin it), colour follows the terminal and NO_COLOR."""
    from rich.console import Console

    width = None
    if os.environ.get("COLUMNS", "").isdigit():
        width = int(os.environ["COLUMNS"])
    return Console(file=out or (sys.stderr if stderr else sys.stdout), width=width,
                   highlight=False, soft_wrap=False)


def print_table(rows: Sequence[dict], cols: Sequence[str], out: IO[str] | None = None,
                title: str | None = None, numeric: Sequence[str] = ()) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console(out)
    table = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
    for c in cols:
        is_num = c in numeric or (rows and all(isinstance(r.get(c), (int, float, Decimal)) and not isinstance(r.get(c), bool)
                                              for r in rows if r.get(c) is not None) and any(r.get(c) is not None for r in rows))
        table.add_column(c, justify="right" if is_num else "left", overflow="ellipsis", no_wrap=True,
                         min_width=min(len(c), 12))
    for r in rows:
        table.add_row(*[Text(short_text(r.get(c))) for c in cols])  # Text: no markup in data
    con.print(table)


def stderr_line(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")
