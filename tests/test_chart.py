"""`--chart`'s bars: lengths proportional to the totals, stacks that add up, readable without colour."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from aibridge_cli.views.chart import FILLS, bar_chart, segments, series


def render(renderable, width=80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, no_color=True, color_system=None).print(renderable)
    return out.getvalue().splitlines()


def test_segments_add_up_to_the_rounded_total():
    rnd = random.Random(3)
    for _ in range(500):
        parts = [rnd.uniform(0, 100) for _ in range(rnd.randint(1, 6))]
        scale = rnd.uniform(0.01, 2)
        cells = segments(parts, scale)
        assert sum(cells) == round(sum(parts) * scale)
        assert all(c >= 0 for c in cells)


def test_series_keeps_the_largest_and_sums_the_rest_as_other():
    rows = [{"day": "d1", "model": f"m{i}", "n": 10 - i} for i in range(10)]
    periods, names, values = series(rows, "day", "n", "model", max_series=4)
    assert periods == ["d1"] and names == ["m0", "m1", "m2", "other"]
    assert values[("d1", "other")] == sum(10 - i for i in range(3, 10))


@pytest.mark.parametrize("width", [60, 80, 120])
def test_bars_are_proportional_and_fit_the_width(width):
    rows = [{"day": "2026-11-01", "model": "a", "n": 100}, {"day": "2026-11-01", "model": "b", "n": 50},
            {"day": "2026-11-02", "model": "a", "n": 30}, {"day": "2026-11-03", "model": "b", "n": 1}]
    lines = render(bar_chart(rows, "day", "n", "model", width=width), width)
    bars = {line[:10]: line for line in lines if line.startswith("2026-")}
    assert set(bars) == {"2026-11-01", "2026-11-02", "2026-11-03"}
    assert all(len(line) <= width for line in lines)
    cells = {d: sum(line.count(f) for f in FILLS[:2]) for d, line in bars.items()}
    # 150 : 30 as the bars' lengths (within a cell of rounding)
    assert abs(cells["2026-11-02"] - cells["2026-11-01"] * 30 / 150) <= 1
    assert bars["2026-11-01"].endswith(" 150") and bars["2026-11-03"].endswith(" 1")
    assert "▏" in bars["2026-11-03"] or cells["2026-11-03"] >= 1  # a tiny value still shows
    # the stack: model a's fill then model b's, in that order, as long as their shares
    first = bars["2026-11-01"]
    assert first.index(FILLS[0]) < first.index(FILLS[1])
    assert abs(first.count(FILLS[0]) - 2 * first.count(FILLS[1])) <= 1
    legend = lines[-1]
    assert f"{FILLS[0] * 2} a" in legend and f"{FILLS[1] * 2} b" in legend


def test_empty_series_says_so():
    assert render(bar_chart([], "day", "n"))[0] == "no data in the window"
