"""The shared view primitives: the fit-to-width table and the text formatters."""

import io
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from aibridge_cli.views import text
from aibridge_cli.views.table import Column, FitTable


def draw(renderable, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, soft_wrap=False, color_system=None).print(renderable)
    return out.getvalue().splitlines()


def sample() -> FitTable:
    return FitTable([
        Column("name", ["alpha", "beta"]),
        Column("kind", ["a-rather-long-kind", "short"], drop=2),
        Column("tokens", ["1,234,567", "89"], numeric=True),
        Column("note", ["[bold]not markup[/bold]", "x"], drop=1),
        Column("prompt", ["a prompt that goes on " * 5, "tiny"], flex=8),
    ])


def headers(lines: list[str]) -> list[str]:
    return lines[0].split()


def test_columns_leave_in_their_drop_order_and_lines_fit():
    seen = []
    for width in range(160, 40, -4):
        lines = draw(sample(), width)
        assert max(len(line) for line in lines) <= width, width
        seen.append(headers(lines))
    # Wide: everything; then note goes, then kind; name, tokens and prompt stay throughout.
    assert seen[0] == ["name", "kind", "tokens", "note", "prompt"]
    assert ["name", "kind", "tokens", "prompt"] in seen and ["name", "tokens", "prompt"] in seen
    first_without = {h: next(i for i, hs in enumerate(seen + [[]]) if h not in hs) for h in ("note", "kind")}
    assert first_without["note"] < first_without["kind"]
    assert all({"name", "tokens", "prompt"} <= set(hs) for hs in seen)


def test_numbers_are_whole_and_right_aligned_and_data_is_not_markup():
    lines = draw(sample(), 200)
    col = lines[0].index("tokens") + len("tokens")
    assert lines[2][:col].endswith("1,234,567") and lines[3][:col].endswith("89")
    assert "[bold]not markup[/bold]" in lines[2]


def test_the_flex_column_takes_the_room_left_and_is_cut_with_an_ellipsis():
    for width in (70, 90, 120):
        lines = draw(sample(), width)
        row = lines[2].rstrip()
        assert len(row) <= width and row.endswith(text.ELLIPSIS)
        start = lines[0].index("prompt")
        shown = row[start:-1]
        assert ("a prompt that goes on " * 5).startswith(shown)
        # Everything the others leave goes to the prompt: the row reaches the edge.
        assert len(row) == width
    wide = draw(sample(), 400)
    assert ("a prompt that goes on " * 5).strip() in wide[2]


@pytest.mark.parametrize("seconds, want", [
    (0.04, "0.0s"), (59.94, "59.9s"), (60, "1m00s"), (125.4, "2m05s"), (3599.4, "59m59s"), (3600, "1h00m"),
    (3 * 3600 + 7 * 60 + 31, "3h07m"),  # hours: the minutes are cut, not rounded
])
def test_duration_reads_like_a_clock(seconds, want):
    assert text.duration(seconds) == want


def test_duration_agrees_with_timedelta_arithmetic():
    start = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    for secs in (1, 61, 3661, 86399):
        end = start + timedelta(seconds=secs)
        h, rest = divmod(secs, 3600)
        m, s = divmod(rest, 60)
        want = f"{secs:.1f}s" if secs < 60 else f"{m}m{s:02d}s" if secs < 3600 else f"{h}h{m:02d}m"
        assert text.span(start, end) == want
    assert text.span(start, None) == "" and text.duration(None, "?") == "?"


def test_shortening_keeps_a_prefix_within_the_width():
    sample_text = "line one\n\tline  two " * 10
    folded = " ".join(sample_text.split())
    for width in (1, 5, 17, len(folded), len(folded) + 3):
        got = text.one_line(sample_text, width)
        assert len(got) <= width
        assert got == folded if len(folded) <= width else (got.endswith(text.ELLIPSIS) and folded.startswith(got[:-1]))
    clipped = text.clip("x" * 2500, 2000)
    assert clipped.startswith("x" * 2000) and "500 more characters" in clipped


def test_times_are_shown_in_utc():
    east = datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert text.when(east) == "2026-10-31 23:30:00"
    assert text.clock(east, datetime(2026, 10, 31, 8, tzinfo=timezone.utc)) == "23:30:00"
    assert text.clock(east, east) == "23:30:00"
    assert text.clock(east, datetime(2026, 11, 1, 8, tzinfo=timezone.utc)) == "2026-10-31 23:30:00"


def test_compact_numbers_and_percentages():
    assert [text.compact(n) for n in (None, 9_999, 10_000, 12_345, 2_500_000, 3 * 10**9)] == \
        ["", "9,999", "10.0k", "12.3k", "2.5M", "3.0G"]
    assert [text.percent(p, 1000) for p in (0, 3, 10, 995, 1000)] == ["0%", "<1%", "1%", ">99%", "100%"]
    assert text.percent(1, 0) == "–"
