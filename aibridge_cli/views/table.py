"""The one terminal table: declared columns, fitted to the console's width when printed.

The rules, enforced here for every table:
- a number, an id or a name a user copies (a `whole` column: every numeric column is one) is
  shown whole or not at all: its column is dropped, never cut;
- columns leave a narrow terminal by their declared `drop` rank (1 first); a whole column
  without a rank is dropped only when nothing else helps, rightmost first, and one with
  `keep=True` (an id) never;
- text that may shrink (a prompt, a URL) shrinks first: it is counted at `fit` (or `flex`)
  cells while deciding what to drop, then given its share of the room left, never less than
  `min_width`; one `flex` column takes whatever room is left over.
Every value is wrapped in Text, so data is never read as Rich markup.

The fitting happens in __rich_console__, at the width the caller's console prints at, so
renderers return a FitTable and never need to know (or ask for) the terminal's width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping, Optional, Sequence

from aibridge_cli.views.text import cell, cut

# Cells between two columns: one space of padding either side of SIMPLE_HEAD's one-space
# divider; a dense table drops the left padding.
GAP = 3
DENSE_GAP = 2
# A shrinkable column without a min_width keeps at least this much of itself.
SHRINK_MIN = 8


@dataclass
class Column:
    header: str
    cells: Sequence[str]
    numeric: bool = False        # right-aligned, and whole
    drop: Optional[int] = None   # leaves a narrow terminal in this order (1 first)
    fit: Optional[int] = None    # counted at most this wide when choosing what to drop: it may shrink
    flex: Optional[int] = None   # claims this much (or its own width) when fitting; then takes the room left
    min_width: Optional[int] = None  # for a shrinkable column: the least it is given however narrow the terminal
    footer: str = ""
    whole: Optional[bool] = None  # never cut (default: numeric columns, and columns neither fit nor flex)
    keep: bool = False           # never dropped (an id the user pastes into `show`)

    def __post_init__(self) -> None:
        if self.whole is None:
            self.whole = self.numeric or (self.fit is None and self.flex is None)

    def natural(self) -> int:
        return max([len(self.header), len(self.footer)] + [len(c) for c in self.cells])

    def least(self) -> int:
        """The narrowest this column may be drawn."""
        if self.whole:
            return self.natural()
        floor = self.min_width if self.min_width is not None else SHRINK_MIN
        return min(self.natural(), floor)

    def counted(self) -> int:
        """The width this column claims when deciding what to drop."""
        if self.whole:
            return self.natural()
        limit = self.flex if self.flex is not None else self.fit
        claim = self.natural() if limit is None else min(self.natural(), limit)
        return max(claim, self.least())


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
        """The columns that fit `width`, and the width given to each shrinkable column (by index)."""
        gap = DENSE_GAP if self.dense else GAP

        def total(cols: list[Column], size) -> int:
            return sum(size(c) for c in cols) + gap * (len(cols) - 1)

        # Most telling first: the kept columns, then those without a rank (left to right), then
        # by rank, highest first. Each is taken if it fits at its claimed width; a shrinkable one
        # that does not is tried again at its least width once the others are placed.
        order = sorted(range(len(self.columns)), key=lambda i: (
            0 if self.columns[i].keep else 1 if self.columns[i].drop is None else 2,
            -(self.columns[i].drop or 0), i))
        chosen: set[int] = set()

        def fits(extra: int, size) -> bool:
            return total([self.columns[j] for j in sorted(chosen | {extra})], size) <= width

        for i in order:
            if self.columns[i].keep or fits(i, Column.counted):
                chosen.add(i)
        for i in order:
            if i not in chosen and not self.columns[i].whole and fits(i, Column.least):
                chosen.add(i)
        shown = [self.columns[i] for i in sorted(chosen)]
        # The room left over goes to the shrinkable columns, the flex one last.
        sizes = {i: c.least() for i, c in enumerate(shown) if not c.whole}
        room = width - total(shown, Column.least)
        for i in sorted(sizes, key=lambda i: shown[i].flex is not None):
            c = shown[i]
            target = c.natural() if c.flex is not None else c.counted()
            grow = max(0, min(target - sizes[i], room))
            sizes[i] += grow
            room -= grow
        for i in sorted(sizes, key=lambda i: shown[i].flex is not None):
            grow = max(0, min(shown[i].natural() - sizes[i], room))
            sizes[i] += grow
            room -= grow
        return shown, sizes

    def table(self, width: int):
        # Rich loads only when a table is drawn: machine formats start faster without it.
        from rich import box
        from rich.table import Table
        from rich.text import Text

        shown, sizes = self.fitted(width)
        table = Table(title=self.title, box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False,
                      padding=(0, 1, 0, 0) if self.dense else (0, 1), show_footer=self.footer, footer_style="bold")
        for i, c in enumerate(shown):
            w = sizes.get(i, c.natural())
            table.add_column(cut(c.header, w), footer=c.footer, justify="right" if c.numeric else "left",
                             no_wrap=True, overflow="ellipsis", width=w, min_width=w)
        cells = [[cut(v, sizes[i]) for v in c.cells] if i in sizes else c.cells for i, c in enumerate(shown)]
        for r in range(self.rows):
            table.add_row(*(Text(col[r]) for col in cells))
        return table

    def __rich_console__(self, console, options):
        yield self.table(options.max_width)


def numeric_values(values: Sequence) -> bool:
    """A column of numbers (missing values aside): right-aligned in every table format."""
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in present)


def rows_table(rows: Sequence[dict], cols: Sequence[str], title: Optional[str] = None,
               numeric: Sequence[str] = (), layout: Optional[Mapping[str, dict]] = None) -> FitTable:
    """Any rows as a table, every value a short cell; a column whose values are all numbers
    is right-aligned. `layout` gives a column its Column options (drop, keep, fit, min_width);
    a column without one is whole, and dropped (rightmost first) only when it cannot fit."""
    columns = []
    for c in cols:
        values = [r.get(c) for r in rows]
        options = dict((layout or {}).get(c, {}))
        columns.append(Column(c, [cell(v, 200 if options else 60) for v in values], **options,
                              numeric=c in numeric or numeric_values(values)))
    return FitTable(columns, title=title)
