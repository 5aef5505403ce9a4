"""The terminal views of spend: the cost table with its total line, budget lines, reconcile.

Pure: rows in, Rich renderables or text out; never touches the database.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, Sequence

from aibridge_cli.views.table import Column, FitTable

HEADERS = {"initiator_id": "user id", "user_username": "user", "session_id": "session", "effective_group_id": "group id",
           "group_name": "group", "input_tokens": "input", "output_tokens": "output", "cache_read_tokens": "cache read",
           "cache_write_tokens": "cache write", "cost_usd": "cost", "unpriced_tokens": "unpriced", "price_source": "source"}
RIGHT = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "unpriced_tokens",
         "spend_usd", "budget_usd", "over_by_usd", "share", "rows_micros", "daily_spend_micros", "difference_micros"}
# On a narrow terminal these leave first, in this order (views/table.py): the counts give way, not
# the money; keys (model, user, session, client) and numbers are never cut.
DROP_ORDER = ("price_source", "cache_write_tokens", "cache_read_tokens", "output_tokens", "input_tokens",
              "unpriced_tokens", "share", "rows_micros", "daily_spend_micros")
MONEY = {"cost_usd", "spend_usd", "budget_usd", "over_by_usd"}


def money(value) -> str:
    """$1,234.56; amounts under a cent that are not zero show as <$0.01."""
    if value is None:
        return ""
    d = Decimal(value)
    if 0 < d < Decimal("0.005"):
        return "<$0.01"
    cents = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"-${-cents:,.2f}" if cents < 0 else f"${cents:,.2f}"


def micros(value) -> str:
    return "" if value is None else money(Decimal(value) / 1_000_000)


def cell(column: str, value) -> str:
    if value is None:
        return ""
    if column in MONEY:
        return money(value)
    if column.endswith("_micros"):
        return micros(value)
    if column == "share":
        return f"{float(value) * 100:.0f}%"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"  # one style per column: whole, with separators
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _table(rows: Sequence[dict], columns: Sequence[str], total: Optional[dict] = None) -> FitTable:
    columns_ = []
    for c in columns:
        footer = cell(c, total.get(c)) if total and c in total else ""
        columns_.append(Column(HEADERS.get(c, c), [cell(c, r.get(c)) for r in rows], numeric=c in RIGHT,
                               footer=footer, drop=DROP_ORDER.index(c) + 1 if c in DROP_ORDER else None))
    return FitTable(columns_, footer=total is not None)


def spend_table(rows: Sequence[dict], columns: Sequence[str], total: dict):
    """Sorted by cost (the query's order), with a total line when there is more than one row.
    `unpriced` and `source` are shown when they say something: some tokens unpriced, sources
    that differ between rows (the note under the table names the one source otherwise)."""
    rows = [_named(r) for r in rows]
    cols = [c for c in columns
            if c not in ("initiator_id", "effective_group_id")  # the name stands for the id (--format has both)
            and not (c == "unpriced_tokens" and not total.get("unpriced_tokens"))
            and not (c == "price_source" and len({r.get("price_source") for r in rows}) <= 1)]
    # The cost first after the keys: on a narrow terminal the token counts give way, not the money.
    cols = [c for c in cols if c not in RIGHT] + [c for c in ("cost_usd", "unpriced_tokens") if c in cols] + \
        [c for c in cols if c in RIGHT and c not in ("cost_usd", "unpriced_tokens")]
    cols = [c for c in cols if c != "price_source"] + [c for c in cols if c == "price_source"]
    first_key = next((c for c in cols if c not in RIGHT and c != "price_source"), None)
    if first_key is None or len(rows) < 2:
        return _table(rows, cols)
    foot = dict(total)
    foot[first_key] = "total"
    foot.pop("price_source", None)
    return _table(rows, cols, foot)


def _named(r: dict) -> dict:
    """A row whose user or group has no name (no users/groups row) shows its id instead."""
    out = dict(r)
    if "user_username" in r and not r["user_username"]:
        out["user_username"] = str(r.get("initiator_id") or "")
    if "group_name" in r and not r["group_name"]:
        out["group_name"] = str(r.get("effective_group_id") or "")
    return out


def sources_note(total: dict) -> Optional[str]:
    src = total.get("price_source")
    return f"priced from: {src.replace(',', ', ')}" if src else None


def unpriced_note(unpriced: Sequence[dict]) -> Optional[str]:
    if not unpriced:
        return None
    parts = [f"{u['provider']}/{u['model']} ({u['unpriced_tokens']:,} tokens)" for u in unpriced]
    return ("unpriced: no price source knows " + ", ".join(parts)
            + "; add them to a --prices file (see 'aibridge prices show MODEL')")


def budget_table(rows: Sequence[dict], columns: Sequence[str]):
    return _table(rows, columns)


def budget_summary(rows: Sequence[dict], checked: int, per: str) -> str:
    over = sum(1 for r in rows if r["status"] == "over")
    warn = sum(1 for r in rows if r["status"] == "warn")
    what = "the total" if per == "total" else f"{checked} user{'s' if checked != 1 else ''}"
    text = f"checked {what}: {over} over budget"
    return text + (f", {warn} past the warning share" if warn else "")


def reconcile_table(rows: Sequence[dict], columns: Sequence[str]):
    return _table(rows, columns)


def price_table(rows: Sequence[dict]):
    """One line per tier: which requests it holds (by total input), the four rates."""
    shown = []
    for r in rows:
        lo, hi = r["min_input_tokens"], r["max_input_tokens"]
        tier = "any size" if lo <= 0 and hi is None else (f"<= {hi:,}" if lo <= 0 else
                                                          f"> {lo - 1:,}" if hi is None else f"{lo:,}-{hi:,}")
        line = {"total input": tier, "input": _rate(r["input_mtok"]), "output": _rate(r["output_mtok"]),
                "cache read": _rate(r["cache_read_mtok"]), "cache write": _rate(r["cache_write_mtok"])}
        if any(x["request_usd"] for x in rows):
            line["per request"] = _rate(r["request_usd"])
        if any(x["valid_from"] or x["valid_to"] for x in rows):
            line["valid"] = " ".join(p for p in (_when("from", r["valid_from"]), _when("until", r["valid_to"])) if p)
        shown.append(line)
    cols = list(shown[0])
    return _table(shown, cols)


def _when(word: str, t: Optional[datetime]) -> str:
    if t is None:
        return ""
    return f"{word} {t.date().isoformat() if t.time() == datetime.min.time() else t.isoformat(timespec='seconds')}"


def _rate(value) -> str:
    return "$" + format(Decimal(value).normalize(), "f")


PERIODS = ("day", "week", "month")
CHART_METRICS = ("cost", "tokens")


def periods(start: datetime, end: datetime, period: str, zone) -> list[str]:
    """Every day, week (from Monday) or month of [start, end) in the zone, as its first date."""
    from datetime import timedelta

    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    if period == "week":
        first -= timedelta(days=first.weekday())
    elif period == "month":
        first = first.replace(day=1)
    out = []
    while first <= last:
        out.append(first.isoformat())
        if period == "day":
            first += timedelta(days=1)
        elif period == "week":
            first += timedelta(days=7)
        else:
            first = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def chart(rows: Sequence[dict], keys: Sequence[str], metric: str, labels: Sequence[str], width: int = 80):
    """`spend --chart`: cost (or tokens) per period, stacked by the first other --by key."""
    from aibridge_cli.views.chart import bar_chart

    period = next(k for k in keys if k in PERIODS)
    split = next((k for k in keys if k != period), None)
    split_col = "user_username" if split == "user" else split
    points = []
    for r in rows:
        value = r["cost_usd"] if metric == "cost" else (r["input_tokens"] + r["output_tokens"]
                                                         + r["cache_read_tokens"] + r["cache_write_tokens"])
        points.append({"period": str(r[period]), "split": str(r.get(split_col) or "Unknown") if split else None,
                       "value": value})
    fmt = money if metric == "cost" else (lambda v: f"{v:,.0f}")
    title = f"{metric} per {period}" + (f", by {split}" if split else "")
    return bar_chart(points, "period", "value", "split" if split else None, width=width, title=title,
                     fmt=fmt, periods=labels)
