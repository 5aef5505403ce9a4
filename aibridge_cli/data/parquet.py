"""Rows from PostgreSQL into Parquet files with pyarrow: the column types, and a writer that
fills one UTC day's file at a time, writing row groups as they fill.

Types follow the database columns (by the result's type OIDs, so a deployment with more
columns exports them with their own types): uuid as strings (readable everywhere, joins on
text ids just work; fixed-size binary would save 20 bytes a value but reads back as bytes in
BigQuery and ClickHouse), timestamptz as timestamp[us, UTC], json/jsonb as their text, integers
and booleans as themselves, numeric as text (no precision lost), arrays as lists. Anything
else arrives as text.

Imported only by the export command: pyarrow is heavy.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from aibridge_cli.prefetch import prefetch

# PostgreSQL type OIDs to Arrow types; the loaders the export registers keep uuid, json, jsonb
# and numeric as text.
_BY_OID = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 26: pa.int64(),
    700: pa.float32(), 701: pa.float64(), 1082: pa.date32(),
    1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"),
    25: pa.string(), 1043: pa.string(), 1042: pa.string(), 19: pa.string(),
    114: pa.string(), 3802: pa.string(), 2950: pa.string(), 1700: pa.string(),
    1000: pa.list_(pa.bool_()), 1005: pa.list_(pa.int16()), 1007: pa.list_(pa.int32()),
    1016: pa.list_(pa.int64()), 1009: pa.list_(pa.string()), 1015: pa.list_(pa.string()),
    2951: pa.list_(pa.string()),
}
# Values that psycopg hands over in a form Arrow does not take for the chosen type.
_AS_TEXT = {2951}

ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 64 * 1024 * 1024
PART = "part-0.parquet"


def arrow_field(name: str, oid: int) -> pa.Field:
    return pa.field(name, _BY_OID.get(oid, pa.string()))


def _column(values: tuple, field: pa.Field, oid: int) -> pa.Array:
    if oid in _AS_TEXT:
        values = tuple(None if v is None else [None if x is None else str(x) for x in v] for v in values)
    elif oid not in _BY_OID:
        # Text as it is (e.g. an enum's label: the 2026-08 layout's credential_kind), the rest as text.
        values = tuple(v if v is None or isinstance(v, str) else str(v) for v in values)
    return pa.array(values, type=field.type)


class Columns:
    """The result's columns: which go to the file (the partition column and left-out content
    do not), their Arrow schema, and a transform per column (redaction)."""

    def __init__(self, description, drop: Iterable[str] = (), transforms: Optional[dict] = None,
                 day_column: Optional[str] = None):
        transforms = transforms or {}
        drop = set(drop)
        self.day_index = None
        self.keep: list[tuple[int, pa.Field, int, Optional[Callable]]] = []
        for i, d in enumerate(description):
            if d.name == day_column:
                self.day_index = i
            elif d.name not in drop:
                self.keep.append((i, arrow_field(d.name, d.type_code), d.type_code, transforms.get(d.name)))
        self.schema = pa.schema([f for _, f, _, _ in self.keep])

    def batch(self, rows: list[tuple]) -> pa.RecordBatch:
        cols = list(zip(*rows)) if rows else [()] * (max((i for i, *_ in self.keep), default=-1) + 1)
        arrays = []
        for i, field, oid, fn in self.keep:
            values = cols[i]
            if fn is not None:
                values = tuple(None if v is None else fn(v) for v in values)
            arrays.append(_column(values, field, oid))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


class AtomicParquet:
    """A Parquet file written under a hidden temporary name and renamed over `path` on close:
    readers see the old file or the new one, never half a file. Row groups go out as they fill."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        self.writer = pq.ParquetWriter(str(self.tmp), schema, compression="snappy")
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.pending_bytes = 0
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        self.pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_batches(self.pending), row_group_size=ROW_GROUP_ROWS)
            self.pending, self.pending_rows, self.pending_bytes = [], 0, 0

    def commit(self) -> None:
        self._flush()
        self.writer.close()
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def write_days(stream: Iterator[tuple], table_dir: Path, make_columns: Callable[[object], Columns],
               on_day: Callable[[date, int], None], advance: Callable[[int], None]) -> int:
    """Write a stream of (description, rows) batches, ordered by day, as one file per day
    under table_dir/day=YYYY-MM-DD/; on_day(day, rows) after each day's file is in place."""
    stream = prefetch(stream, name="aibridge-export-fetch")
    columns: Optional[Columns] = None
    current: Optional[AtomicParquet] = None
    current_day: Optional[date] = None
    total = 0
    try:
        for description, rows in stream:
            if columns is None:
                columns = make_columns(description)
            di = columns.day_index
            start = 0
            while start < len(rows):
                day = rows[start][di]
                end = start
                while end < len(rows) and rows[end][di] == day:
                    end += 1
                if day != current_day:
                    if current is not None:
                        current.commit()
                        on_day(current_day, current.rows)
                    current_day = day
                    current = AtomicParquet(table_dir / f"day={day.isoformat()}" / PART, columns.schema)
                current.write(columns.batch(rows[start:end]))
                total += end - start
                advance(end - start)
                start = end
        if current is not None:
            current.commit()
            on_day(current_day, current.rows)
            current = None
    finally:
        stream.close()  # stops the fetching thread before the connection is used again
        if current is not None:
            current.abort()
    return total


def write_file(stream: Iterator[tuple], path: Path, make_columns: Callable[[object], Columns],
               advance: Callable[[int], None]) -> int:
    """The whole stream as one file (users, which have no time of their own); no rows, no file."""
    out: Optional[AtomicParquet] = None
    try:
        for description, rows in stream:
            if out is None:
                columns = make_columns(description)
                out = AtomicParquet(path, columns.schema)
            out.write(columns.batch(rows))
            advance(len(rows))
        if out is None:
            path.unlink(missing_ok=True)
            return 0
        out.commit()
        rows, out = out.rows, None
        return rows
    finally:
        if out is not None:
            out.abort()
