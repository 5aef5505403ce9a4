"""`--chart`: a series per period as horizontal bars, stacked by a second key.

Built from Rich's own Table and Text rather than a plotting library: one line per period
keeps dates readable at any width, the bars take whatever width the terminal leaves, and each
series has its own fill character (█ ▓ ▒ ░ ...) as well as its own colour, so the chart reads the
same without colour (NO_COLOR, a pipe, a printout). See docs/development.md.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterable, Sequence

FILLS = "█▓▒░▚▞"
COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")
MAX_SERIES = len(FILLS)  # the rest are summed as "other" (its fill: the last one)


def series(rows: Iterable[dict], period_key: str, value_key: str, split_key: str | None = None,
           max_series: int = MAX_SERIES, periods: Sequence[str] = ()) -> tuple[list[str], list[str], dict]:
    """(periods: the given ones, then any others in first-seen order; series names by total
    descending; values per (period, series)). Series past max_series - 1 are summed into 'other'."""
    periods = OrderedDict((p, None) for p in periods)
    values: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for row in rows:
        period = str(row.get(period_key))
        name = str(row.get(split_key)) if split_key else value_key
        value = float(row.get(value_key) or 0)
        periods.setdefault(period)
        values[(period, name)] = values.get((period, name), 0.0) + value
        totals[name] = totals.get(name, 0.0) + value
    names = sorted(totals, key=lambda n: (-totals[n], n))
    if len(names) > max_series:
        keep, rest = names[:max_series - 1], set(names[max_series - 1:])
        merged: dict[tuple[str, str], float] = {}
        for (period, name), v in values.items():
            key = (period, name if name not in rest else "other")
            merged[key] = merged.get(key, 0.0) + v
        values, names = merged, [*keep, "other"]
    return list(periods), names, values


def segments(parts: Sequence[float], scale: float) -> list[int]:
    """Cells per part such that the cells add up to round(sum * scale): rounding the running
    total, not each part, so stacked bars are exactly as long as their total says."""
    cells, running, shown = [], 0.0, 0
    for part in parts:
        running += max(part, 0.0)
        upto = round(running * scale)
        cells.append(upto - shown)
        shown = upto
    return cells


def bar_chart(rows: Iterable[dict], period_key: str, value_key: str, split_key: str | None = None,
              width: int = 80, title: str | None = None, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
              periods: Sequence[str] = ()):
    """A Rich renderable: one bar per period, stacked by split_key, the total at its end. `periods`
    lists every period of the window in order, so that empty ones show as empty lines."""
    from rich.console import Group
    from rich.text import Text

    periods, names, values = series(rows, period_key, value_key, split_key, periods=periods)
    totals = [sum(values.get((p, n), 0.0) for n in names) for p in periods]
    labels = [fmt(t) for t in totals]
    label_w = max((len(p) for p in periods), default=0)
    number_w = max((len(s) for s in labels), default=0)
    bar_w = max(10, width - label_w - number_w - 4)
    top = max(totals, default=0.0)
    scale = bar_w / top if top > 0 else 0.0
    lines = []
    if title:
        lines.append(Text(title, style="bold"))
    for period, total, label in zip(periods, totals, labels):
        line = Text(period.ljust(label_w) + " │")
        for i, cells in enumerate(segments([values.get((period, n), 0.0) for n in names], scale)):
            line.append(FILLS[min(i, len(FILLS) - 1)] * cells, style=COLOURS[min(i, len(COLOURS) - 1)])
        if total > 0 and round(total * scale) == 0:
            line.append("▏")  # activity too small for a cell still shows
        line.append(" " + label)
        lines.append(line)
    if not periods:
        lines.append(Text("no data in the window", style="dim"))
    elif split_key:
        legend = Text("")
        for i, name in enumerate(names):
            legend.append(FILLS[min(i, len(FILLS) - 1)] * 2, style=COLOURS[min(i, len(COLOURS) - 1)])
            legend.append(f" {name}   ")
        lines.append(legend)
    return Group(*lines)
