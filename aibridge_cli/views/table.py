"""The one terminal table: declared columns, fitted to the console's width when printed.

A narrow terminal loses whole columns, least telling first, before Rich squeezes what is
left; numbers are never cut, and one "flex" column (a prompt) takes whatever room the others
leave. Every value is wrapped in Text, so data is never read as Rich markup.

The fitting happens in __rich_console__, at the width the caller's console prints at, so
renderers return a FitTable and never need to know (or ask for) the terminal's width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional, Sequence

from aibridge_cli.views.text import cell, cut

# Cells between two columns: one space of padding either side of SIMPLE_HEAD's one-space
# divider; a dense table drops the left padding.
GAP = 3
DENSE_GAP = 2


@dataclass
class Column:
    header: str
    cells: Sequence[str]
    numeric: bool = False        # right-aligned
    drop: Optional[int] = None   # leaves a narrow terminal in this order (1 first); None: never
    fit: Optional[int] = None    # counted at most this wide when choosing what to drop: Rich may squeeze it
    flex: Optional[int] = None   # claims this much (or its own width) when fitting; then takes the room left
    min_width: Optional[int] = None  # for a flex column: the least it is given however narrow the terminal
    footer: str = ""

    def natural(self) -> int:
        return max([len(self.header), len(self.footer)] + [len(c) for c in self.cells])

    def counted(self) -> int:
        """The width this column claims when deciding what fits."""
        limit = self.flex if self.flex is not None else self.fit
        return self.natural() if limit is None else min(self.natural(), limit)


@dataclass
class FitTable:
    columns: list[Column]
    title: Optional[str] = None
    dense: bool = False
    footer: bool = False
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = len(self.columns[0].cells) if self.columns else 0

    def fitted(self, width: int) -> tuple[list[Column], dict[int, int]]:
        """The columns that fit `width`, and the width given to each flex column (by index)."""
        gap = DENSE_GAP if self.dense else GAP
        shown = list(self.columns)

        def total(cols: list[Column]) -> int:
            return sum(c.counted() for c in cols) + gap * (len(cols) - 1)

        for victim in sorted((c for c in shown if c.drop is not None), key=lambda c: c.drop):
            if total(shown) <= width:
                break
            shown.remove(victim)
        flex = {}
        for i, c in enumerate(shown):
            if c.flex is not None:
                room = width - total([o for o in shown if o is not c]) - gap
                floor = c.counted() if c.min_width is None else c.min_width
                flex[i] = min(c.natural(), max(floor, room))
        return shown, flex

    def table(self, width: int):
        # Rich loads only when a table is drawn: machine formats start faster without it.
        from rich import box
        from rich.table import Table
        from rich.text import Text

        shown, flex = self.fitted(width)
        table = Table(title=self.title, box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False,
                      padding=(0, 1, 0, 0) if self.dense else (0, 1), show_footer=self.footer, footer_style="bold")
        for i, c in enumerate(shown):
            table.add_column(c.header, footer=c.footer, justify="right" if c.numeric else "left", no_wrap=True,
                             overflow="ellipsis", min_width=c.min_width, width=flex.get(i))
        cells = [[cut(v, flex[i]) for v in c.cells] if i in flex else c.cells for i, c in enumerate(shown)]
        for r in range(self.rows):
            table.add_row(*(Text(col[r]) for col in cells))
        return table

    def __rich_console__(self, console, options):
        yield self.table(options.max_width)


def rows_table(rows: Sequence[dict], cols: Sequence[str], title: Optional[str] = None,
               numeric: Sequence[str] = ()) -> FitTable:
    """Any rows as a table, every value a short cell; a column whose values are all numbers
    is right-aligned. Nothing is dropped: these are the columns the caller asked for."""
    def is_number(v) -> bool:
        return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)

    columns = []
    for c in cols:
        values = [r.get(c) for r in rows]
        present = [v for v in values if v is not None]
        columns.append(Column(c, [cell(v) for v in values], min_width=min(len(c), 12),
                              numeric=c in numeric or bool(present) and all(is_number(v) for v in present)))
    return FitTable(columns, title=title)
