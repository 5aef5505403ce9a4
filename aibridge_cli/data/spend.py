"""Spend: the cost of token usage per group, budgets, and the deployment's own accounting.

Python prices each (provider, model, price period, tier) once (data/prices.py) and sends the
rates to SpendSummary as one JSON parameter; PostgreSQL applies them to the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Optional, Sequence

from aibridge_cli.errors import BadInput, PermissionDenied, SchemaMissing

BY_KEYS = ("user", "day", "week", "month", "provider", "model", "client", "session", "group")
# The result columns each --by key brings, in this order.
KEY_COLUMNS = {"user": ("initiator_id", "user_username"), "day": ("day",), "week": ("week",), "month": ("month",),
               "provider": ("provider",), "model": ("model",), "client": ("client",), "session": ("session_id",),
               "group": ("effective_group_id", "group_name")}
NUMBER_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
                  "unpriced_tokens")
SOURCE_BITS = ((1, "stored"), (2, "file"), (4, "deployment"), (8, "genai-prices"))
# The groups' hash tables (a million sessions with --by session) stay in memory with this, for
# the command's own read-only transaction only.
WORK_MEM = "64MB"
LAYOUT_HINT = "this needs the 2026-08 layout's spend tables (a current deployment, or 'aibridge db migrate')"


def parse_by(value: Optional[str]) -> tuple[str, ...]:
    if not value:
        return ()
    keys = []
    for part in value.split(","):
        k = part.strip().lower()
        if not k:
            continue
        if k not in BY_KEYS:
            raise BadInput(f"--by: unknown key {part.strip()!r}", hint=f"use any of {', '.join(BY_KEYS)}, e.g. --by day,user")
        if k not in keys:
            keys.append(k)
    return tuple(keys)


def columns_for(by: Sequence[str]) -> list[str]:
    cols = [c for k in by for c in KEY_COLUMNS[k]]
    return cols + list(NUMBER_COLUMNS) + ["price_source"]


def layout(conn) -> dict:
    from aibridge_cli.db import query as db

    return db.one(conn, "SpendTablesPresent")


def default_window(conn, tz: str, since: Optional[datetime], until: Optional[datetime]):
    """[since, until): the current calendar month in tz by default; --since alone runs to now,
    --until alone starts at the beginning of the month it ends in."""
    from aibridge_cli.db import query as db
    from aibridge_cli.timeparse import utcnow

    if since is None:
        at = until - timedelta(microseconds=1) if until else utcnow()
        month = db.one(conn, "SpendDefaultWindow", tz=tz, at=at)
        since = month["since"]
        until = until or month["until"]
    until = until or utcnow()
    if since >= until:
        raise BadInput(f"--since ({since.isoformat()}) must be earlier than --until ({until.isoformat()})",
                       hint="the window is [since, until); e.g. --since 30d, or --since 2026-10-01 --until 2026-11-01")
    return since, until


def make_pricer(conn, mode: str, prices_path: Optional[str], present: dict):
    from aibridge_cli.data.prices import MODES, Pricer, load_overrides
    from aibridge_cli.db import query as db

    if mode not in MODES:
        raise BadInput(f"--price-source: unknown source {mode!r}", hint=f"use one of {', '.join(MODES)}")
    overrides = load_overrides(prices_path) if prices_path else []
    if mode == "file" and not prices_path:
        raise BadInput("--price-source file needs --prices FILE", hint="e.g. --prices prices.toml")
    if mode == "stored" and not present["stored_costs"]:
        raise SchemaMissing("--price-source stored: this database keeps no stored costs (no cost_micros column)",
                            hint="use --price-source auto or genai-prices")
    deployment = None
    if mode in ("auto", "deployment") and present["model_prices"]:
        deployment = {(r["provider"], r["model"]): r for r in db.many(conn, "ListDeploymentModelPrices")}
    if mode == "deployment" and deployment is None:
        raise SchemaMissing("--price-source deployment: this database has no ai_model_prices table", hint=LAYOUT_HINT)
    return Pricer(mode=mode, overrides=overrides, overrides_path=prices_path or "", deployment=deployment)


def provider_types(conn, present: dict) -> list[dict]:
    from aibridge_cli.db import query as db

    if not present["providers"]:
        return []
    return [{"name": r["name"], "type": r["type"]} for r in db.many(conn, "ListDeploymentProviderTypes")]


@dataclass
class Filters:
    provider: str = ""
    model: str = ""
    client: str = ""
    initiator_id: object = None

    def params(self) -> dict:
        return {"provider": self.provider or "", "model": self.model or "", "client": self.client or "",
                "initiator_id": self.initiator_id}


@dataclass
class Spend:
    since: datetime
    until: datetime
    tz: str
    by: tuple
    rows: list
    columns: list
    unpriced: list = field(default_factory=list)   # [{provider, model, unpriced_tokens}]

    def total(self) -> dict:
        t = {c: sum((r[c] for r in self.rows), Decimal(0) if c == "cost_usd" else 0) for c in NUMBER_COLUMNS}
        t["price_source"] = _join_sources([r["price_source"] for r in self.rows])
        return t


def history_for(conn, *, since, until, by: Sequence[str], pricer, prices_path: Optional[str], exact: bool):
    """The history coverage SpendSummaryWithHistory may use, or None (raw rows only), and a note
    for the user when history could not answer hours whose raw rows prune deleted."""
    from aibridge_cli.data import history
    from aibridge_cli.data.telemetry_history import check_exact, history_applies

    cov = history.coverage(conn)
    if exact:
        check_exact(cov, since)
        return None, None
    if not history_applies(cov, since, until):
        return None, None
    why = ("--by session" if "session" in by else
           f"--price-source {pricer.mode}" if pricer.mode != "auto" else
           "other --prices than the refresh's" if cov.prices != history.prices_label(prices_path) else None)
    if why is None:
        return cov, None
    if cov.frozen_before is not None and since < cov.frozen_before:
        return None, (f"history not used ({why}): raw rows before {cov.frozen_before.isoformat()} were pruned, "
                      "so those hours count only what is left")
    return None, None


def summarize(conn, *, since, until, tz: str, by: Sequence[str], filters: Filters, pricer, present: dict,
              history=None) -> Spend:
    from aibridge_cli.data.prices import Key
    from aibridge_cli.db import query as db

    if "group" in by and not present["groups"]:
        raise SchemaMissing("--by group: this database has no groups table", hint=LAYOUT_HINT)
    ptypes = provider_types(conn, present)
    window = dict(since=since, until=until, provider_types=ptypes, **filters.params())
    keys = [Key(r["provider"], r["model"], since, until)
            for r in db.many(conn, "ListSpendPriceKeys", **filters.params(), provider_types=ptypes)]
    rates = [r.as_json() for r in pricer.rates(keys)]
    flags = {f"by_{k}": k in by for k in BY_KEYS}
    db.run(conn, "SetSpendWorkMem", work_mem=WORK_MEM)
    if history is None:
        rows = db.many(conn, "SpendSummary", **window, rates=rates, tz=tz, use_stored=pricer.uses_stored, **flags)
    else:
        from aibridge_cli.data.telemetry_history import ZERO, covered

        del flags["by_session"]
        lo, hi = covered(history, since, until)
        frozen = history.frozen_before or ZERO
        dated = any(k in by for k in ("day", "week", "month"))
        straddles = db.one(conn, "HistoryHoursStraddle", from_hour=lo, to_hour=hi, frozen_before=frozen,
                           bucket="any" if dated else "", tz=tz)["straddles"]
        rows = db.many(conn, "SpendSummaryWithHistory", **window, rates=rates, tz=tz, use_stored=pricer.uses_stored,
                       first_hour=history.first_hour, watermark=history.watermark, frozen_before=frozen,
                       raw_before=lo, raw_from=hi, straddles=straddles, **flags)
    if "group" in by:
        ids = sorted({r["group_id"] for r in rows if r["group_id"]}, key=str)
        names = {g["id"]: g["name"] for g in db.many(conn, "ListGroupNames", ids=ids)} if ids else {}
        for r in rows:
            r["effective_group_id"] = r["group_id"]
            r["group_name"] = names.get(r["group_id"])
    columns = columns_for(by)
    out = []
    for r in rows:
        r["price_source"] = ",".join(name for bit, name in SOURCE_BITS if r["sources"] & bit)
        out.append({c: r.get(c) for c in columns})
    unpriced = []
    if any(r["unpriced_tokens"] for r in out):
        unpriced = db.many(conn, "ListSpendUnpricedModels", **window, rates=rates, use_stored=pricer.uses_stored)
    return Spend(since=since, until=until, tz=tz, by=tuple(by), rows=out, columns=columns, unpriced=unpriced)


def _join_sources(values) -> str:
    seen = {s for v in values if v for s in v.split(",")}
    return ",".join(name for _, name in SOURCE_BITS if name in seen)


# ---------------------------------------------------------------- budgets

@dataclass
class BudgetLine:
    who: str                 # a username, a user id, or "total"
    user_id: object
    group: Optional[str]
    spend_usd: Decimal
    budget_usd: Decimal
    limit_source: str

    @property
    def share(self) -> float:
        return float(self.spend_usd / self.budget_usd) if self.budget_usd > 0 else (float("inf") if self.spend_usd > 0 else 0.0)

    @property
    def over(self) -> bool:
        return self.spend_usd > self.budget_usd

    def as_row(self, status: str) -> dict:
        return {"user": self.who, "user_id": self.user_id, "group": self.group, "spend_usd": self.spend_usd,
                "budget_usd": self.budget_usd, "share": round(self.share, 4) if self.share != float("inf") else None,
                "over_by_usd": max(self.spend_usd - self.budget_usd, Decimal(0)), "limit": self.limit_source,
                "status": status}


def budget_lines(spend: Spend, budget: Decimal, per: str) -> list[BudgetLine]:
    if per == "total":
        total = spend.total()["cost_usd"]
        return [BudgetLine("total", None, None, total, budget, "--budget")]
    return [BudgetLine(r["user_username"] or str(r["initiator_id"]), r["initiator_id"], None, r["cost_usd"], budget,
                       "--budget") for r in spend.rows]


def deployment_budget_lines(conn, since, until, initiator_id, present: dict) -> list[BudgetLine]:
    from aibridge_cli.db import query as db

    if not (present["budgets"] and present["groups"] and present["stored_costs"]):
        raise SchemaMissing("--deployment-budgets: this database has no budget tables", hint=LAYOUT_HINT)
    rows = db.many(conn, "ListDeploymentBudgets", since=since, until=until, initiator_id=initiator_id)
    return [BudgetLine(r["user_username"] or str(r["user_id"]), r["user_id"], r["group_name"] or str(r["effective_group_id"]),
                       Decimal(r["spend_micros"]) / 1_000_000, Decimal(r["limit_micros"]) / 1_000_000, r["limit_source"])
            for r in rows if r["limit_micros"] is not None]


def classify(lines: list[BudgetLine], warn_at: Optional[float]) -> list[dict]:
    """Who is over (and, with warn_at, who is past that share), most over first."""
    out = []
    for line in sorted(lines, key=lambda b: (-b.share, b.who)):
        if line.over:
            out.append(line.as_row("over"))
        elif warn_at is not None and line.share >= warn_at and line.spend_usd > 0:
            out.append(line.as_row("warn"))
    return out


# ---------------------------------------------------------------- reconcile

def reconcile(conn, since: datetime, until: datetime, initiator_id, present: dict):
    """Whole UTC days covering [since, until): the days the accumulator keeps."""
    from aibridge_cli.db import query as db

    if not (present["daily_spend"] and present["stored_costs"] and present["groups"]):
        raise SchemaMissing("spend reconcile: this database has no ai_user_daily_spend table", hint=LAYOUT_HINT)
    from_day = datetime.combine(since.astimezone(timezone.utc).date(), datetime.min.time(), tzinfo=timezone.utc)
    last = (until - timedelta(microseconds=1)).astimezone(timezone.utc).date()
    to_day = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    rows = db.many(conn, "SpendReconcile", from_day=from_day, to_day=to_day, initiator_id=initiator_id)
    return from_day, to_day, rows


def require_see_all(conn, what: str) -> None:
    """The deployment's accumulator and budgets are not filtered by `--as`: a finance view."""
    subject = getattr(conn, "subject", None)
    if subject is not None and not subject.sees_all:
        raise PermissionDenied(f"{what}: {subject.describe()} may not read the deployment's accounting",
                               hint="use --as with an owner or auditor, or drop --as")
