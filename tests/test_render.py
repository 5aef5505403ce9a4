"""Golden tests of every output format."""

import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from aibridge_cli.views.formats import FORMATS, write_rows

ROWS = [
    {"id": uuid.UUID("00000000-0000-0000-0000-0000000000a1"), "started_at": datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc),
     "models": ["claude-sonnet-4", "gpt-5"], "metadata": {"k": "v"}, "tokens": 1234567, "prompt": "line one\nline two, \"quoted\"|pipe",
     "ratio": Decimal("0.5"), "client": None},
    {"id": uuid.UUID("00000000-0000-0000-0000-0000000000b2"), "started_at": datetime(2026, 11, 1, 13, 0, tzinfo=timezone(timedelta(hours=2))),
     "models": [], "metadata": None, "tokens": 0, "prompt": "[bold]not markup[/bold]", "ratio": Decimal("2"), "client": "Codex"},
]


def render(fmt, rows=ROWS, **kw):
    out = io.StringIO()
    n = write_rows(iter(rows), fmt, out, **kw)
    return n, out.getvalue()


def test_json_is_an_array_with_rfc3339_times_and_string_uuids():
    n, text = render("json")
    data = json.loads(text)
    assert n == 2
    assert data[0] == {"id": "00000000-0000-0000-0000-0000000000a1", "started_at": "2026-11-01T12:00:00+00:00",
                       "models": ["claude-sonnet-4", "gpt-5"], "metadata": {"k": "v"}, "tokens": 1234567,
                       "prompt": "line one\nline two, \"quoted\"|pipe", "ratio": 0.5, "client": None}
    assert data[1]["started_at"] == "2026-11-01T13:00:00+02:00"
    assert data[1]["ratio"] == 2
    assert list(data[0]) == list(ROWS[0])


def test_json_of_nothing_is_an_empty_array():
    assert json.loads(render("json", [])[1]) == []


def test_jsonl_one_object_per_line():
    _, text = render("jsonl")
    lines = text.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["client"] == "Codex"


@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_delimited_header_and_quoting(fmt, sep):
    import csv

    _, text = render(fmt)
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    assert rows[0] == list(ROWS[0])
    assert rows[1][0] == "00000000-0000-0000-0000-0000000000a1"
    assert rows[1][1] == "2026-11-01T12:00:00+00:00"
    assert rows[1][2] == '["claude-sonnet-4", "gpt-5"]'
    assert rows[1][5] == "line one\nline two, \"quoted\"|pipe"
    assert rows[1][7] == "" and rows[2][7] == "Codex"


def test_delimited_with_no_rows_still_has_the_header_when_columns_are_known():
    _, text = render("csv", [], columns=["a", "b"])
    assert text == "a,b\n"


def test_markdown_escapes_pipes_and_folds_newlines():
    _, text = render("markdown")
    lines = text.splitlines()
    assert lines[0].startswith("| id")
    assert "line one line two, \"quoted\"\\|pipe" in text
    assert len(lines) == 4


def test_table_shortens_for_the_terminal_and_prints_no_markup(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, text = render("table", columns=["id", "started_at", "models", "tokens", "prompt"])
    assert "2026-11-01 12:00:00" in text
    assert "2026-11-01 11:00:00" in text  # shown in UTC
    assert "claude-sonnet-4, gpt-5" in text
    assert "1,234,567" in text
    assert "[bold]not markup[/bold]" in text
    assert "line one line two" in text


def test_every_format_is_covered():
    assert set(FORMATS) == {"table", "json", "jsonl", "csv", "tsv", "markdown"}


# Naive times (a `timestamp without time zone` column, a value built in Python) are UTC: every
# machine format writes them with the +00:00 offset, and aware times keep their own offset.
NAIVE = datetime(2026, 11, 1, 12, 30, 15, 250000)
PLUS_TWO = datetime(2026, 11, 1, 14, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2)))


def _times_in(fmt, text):
    if fmt == "json":
        (row,) = json.loads(text)
    elif fmt == "jsonl":
        row = json.loads(text)
    else:
        import csv

        header, values = list(csv.reader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
        row = dict(zip(header, values))
        row["nested"] = json.loads(row["nested"])
    return [datetime.fromisoformat(row["naive"]), datetime.fromisoformat(row["aware"]),
            datetime.fromisoformat(row["nested"]["at"][0])]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "tsv"])
def test_naive_times_are_written_as_utc_with_an_offset(fmt):
    _, text = render(fmt, [{"naive": NAIVE, "aware": PLUS_TWO, "nested": {"at": [NAIVE]}}])
    naive, aware, nested = _times_in(fmt, text)
    utc = NAIVE.replace(tzinfo=timezone.utc)
    assert naive.utcoffset() == timedelta(0) and naive == utc
    assert nested.utcoffset() == timedelta(0) and nested == utc
    assert aware.utcoffset() == timedelta(hours=2) and aware == PLUS_TWO == utc
