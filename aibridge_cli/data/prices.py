"""Prices: the rates each (provider, model) costs, per price period and tier, from the sources
`--price-source` names; PostgreSQL then applies them to the token usage rows.

A rate row covers one provider key and model, one time span [valid_from, valid_to) and one
tier of the row's total input (lo < total input <= hi), and gives USD per million tokens for
uncached input, output, cache reads and cache writes, plus USD per request. Rows of one key
never overlap, so each token usage row matches at most one: no match means unpriced.

genai-prices is imported only here, and only when a command prices something (~0.25 s).
It is asked once per (model, price period, tier), never per row: its own calc_price applies
a ModelPrice to one usage; the rates below are read from the same ModelPrice with the same
rules (a missing cache price bills those tokens as input, a tier applies to all tokens of a
request whose total input exceeds its start), which the tests check against calc_price per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Iterable, Optional

from aibridge_cli.data.price_file import Override, load_overrides  # noqa: F401  (re-exported)

SOURCES = ("stored", "file", "deployment", "genai-prices")
MODES = ("auto",) + SOURCES
NEVER = datetime.min.replace(tzinfo=timezone.utc)
FOREVER = datetime.max.replace(tzinfo=timezone.utc)
NO_LIMIT = 2**63 - 1
# The deployment's provider types (ai_provider_type) that genai-prices names differently; a type
# genai-prices does not know is looked up by model alone.
GENAI_PROVIDER = {"bedrock": "aws", "copilot": "github-copilot", "anthropic": "anthropic", "openai": "openai",
                  "azure": "azure", "google": "google", "openrouter": "openrouter"}
RATE_KEYS = ("input", "output", "cache_read", "cache_write", "request")


@dataclass(frozen=True)
class Rate:
    provider: str
    model: str
    valid_from: datetime
    valid_to: datetime
    lo: int             # the tier holds rows whose total input is > lo ...
    hi: int             # ... and <= hi
    input: Decimal      # USD per million tokens
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    request: Decimal    # USD per request (token usage row)
    source: str
    version: str = ""   # the genai-prices version, the file, or the table

    def as_json(self) -> dict:
        """The row SpendSummary joins: rates in integer pico-dollars per token (micro-dollars per
        million tokens) and per request, so that PostgreSQL sums exact integers. Every price of
        the deployment's table and of the override files (at most 6 decimals) is exact at this
        unit; a few of genai-prices' are float artefacts (0.0833...34) and are rounded there,
        by less than a millionth of a dollar per million tokens."""
        def ts(t: datetime) -> str:
            return "-infinity" if t == NEVER else "infinity" if t == FOREVER else t.isoformat()

        return {"provider": self.provider, "model": self.model, "valid_from": ts(self.valid_from),
                "valid_to": ts(self.valid_to), "lo": self.lo, "hi": self.hi, "source": self.source,
                **{k: pico(getattr(self, k), 10**6) for k in RATE_KEYS if k != "request"},
                "request": pico(self.request, 10**12)}


@dataclass
class Key:
    """One (provider key, model) seen in the window, with its first and last token usage."""
    provider: str
    model: str
    first_at: datetime
    last_at: datetime


@dataclass
class Pricer:
    mode: str = "auto"
    overrides: list = field(default_factory=list)        # Override entries of --prices
    overrides_path: str = ""
    deployment: Optional[dict] = None                    # (provider type, model) -> table row
    _genai: object = None

    @property
    def uses_stored(self) -> bool:
        return self.mode in ("auto", "stored")

    def sources(self) -> list[str]:
        """The computed sources, in the order they win (stored costs are applied in SQL first)."""
        if self.mode == "auto":
            return [s for s in ("file", "deployment", "genai-prices")
                    if (s != "file" or self.overrides) and (s != "deployment" or self.deployment is not None)]
        return [] if self.mode == "stored" else [self.mode]

    def rates(self, keys: Iterable[Key]) -> list[Rate]:
        out: list[Rate] = []
        for key in keys:
            out.extend(self.rates_for(key.provider, key.model, key.first_at, key.last_at))
        return out

    def rates_for(self, provider: str, model: str, first_at: datetime, last_at: datetime) -> list[Rate]:
        """Every source in turn covers a suffix of time [start, forever); what the winning sources
        leave uncovered before their start falls to the next one."""
        out: list[Rate] = []
        cut = FOREVER  # time before `cut` is still unpriced
        for source in self.sources():
            if cut == NEVER:
                break
            if source == "file":
                spans = self._file_spans(provider, model)
            elif source == "deployment":
                spans = self._deployment_spans(provider, model)
            else:
                spans = self._genai_spans(provider, model, first_at, last_at)
            if not spans:
                continue
            start = min(r.valid_from for r in spans)
            for r in spans:
                if r.valid_from < cut:
                    out.append(_clip(r, cut))
            cut = min(cut, start)
        return out

    # ---------------------------------------------------------------- the file
    def _file_spans(self, provider: str, model: str) -> list[Rate]:
        entries = [o for o in self.overrides if o.model == model and o.provider in ("", provider)]
        if not entries:
            return []
        # An entry naming the provider wins over one for any provider from the same time on.
        entries.sort(key=lambda o: (o.valid_from, o.provider != ""))
        starts: dict[datetime, Override] = {}
        for o in entries:
            starts[o.valid_from] = o
        times = sorted(starts)
        out = []
        for i, t in enumerate(times):
            o = starts[t]
            end = times[i + 1] if i + 1 < len(times) else FOREVER
            out.append(Rate(provider, model, t, end, -1, NO_LIMIT, o.input, o.output, o.cache_read, o.cache_write,
                            Decimal(0), "file", self.overrides_path))
        return out

    # ---------------------------------------------------------------- the deployment's table
    def _deployment_spans(self, provider: str, model: str) -> list[Rate]:
        row = (self.deployment or {}).get((provider, model))
        if row is None:
            return []
        per_mtok = [Decimal(row.get(c) or 0) / 1_000_000 for c in
                    ("input_price", "output_price", "cache_read_price", "cache_write_price")]
        return [Rate(provider, model, NEVER, FOREVER, -1, NO_LIMIT, *per_mtok, Decimal(0), "deployment",
                     "ai_model_prices")]

    # ---------------------------------------------------------------- genai-prices
    def genai_model(self, provider: str, model: str):
        """(genai-prices provider, model info), or None when it does not know the model."""
        from genai_prices.data_snapshot import get_snapshot

        snapshot = get_snapshot()
        pid = GENAI_PROVIDER.get(provider.lower(), provider.lower())
        for candidate in (pid, None):
            try:
                return snapshot.find_provider_model(model, None, candidate, None)
            except LookupError:
                continue
        return None

    def _genai_spans(self, provider: str, model: str, first_at: datetime, last_at: datetime) -> list[Rate]:
        found = self.genai_model(provider, model)
        if found is None:
            return []
        import genai_prices

        _, info = found
        out: list[Rate] = []
        for start, end, price in periods(info, first_at, last_at):
            out.extend(_tiers(price, provider, model, start, end, f"genai-prices {genai_prices.__version__}"))
        return out


def periods(info, first_at: datetime, last_at: datetime):
    """(start, end, ModelPrice) spans over which the model's price stays one: the prices change
    only at the start dates (UTC midnight) and daily times of its conditional prices."""
    if not isinstance(info.prices, list):
        return [(NEVER, FOREVER, info.prices)]
    bounds: set[datetime] = set()
    for cp in info.prices:
        c = cp.constraint
        if c is None:
            continue
        if hasattr(c, "start_date"):
            bounds.add(datetime.combine(c.start_date, time(0), tzinfo=timezone.utc))
        else:  # a daily interval (off-peak prices): each day it starts and ends in the window
            day = first_at.astimezone(timezone.utc).date() - timedelta(days=1)
            while day <= last_at.astimezone(timezone.utc).date() + timedelta(days=1):
                for t in (c.start_time, c.end_time):
                    tt = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
                    bounds.add(datetime.combine(day, tt).astimezone(timezone.utc))
                day += timedelta(days=1)
    inside = sorted(b for b in bounds if first_at < b <= last_at)
    starts = [first_at] + inside
    out = []
    for i, s in enumerate(starts):
        price = info.get_prices(s)
        lo = NEVER if i == 0 else s
        hi = starts[i + 1] if i + 1 < len(starts) else FOREVER
        if out and out[-1][2] == price:
            out[-1] = (out[-1][0], hi, price)
        else:
            out.append((lo, hi, price))
    return out


def _tiers(price, provider: str, model: str, start: datetime, end: datetime, version: str) -> list[Rate]:
    """One rate per tier interval of total input; the thresholds of every price key together."""
    from genai_prices.types import TieredPrices

    keys = {"input": price.input_mtok, "output": price.output_mtok, "cache_read": price.cache_read_mtok,
            "cache_write": price.cache_write_mtok}
    if keys["input"] is None and keys["output"] is None:
        return []  # priced by something else than tokens (characters, images, ...): unpriced here
    request = price.requests_kcount
    thresholds = sorted({t.start for v in (*keys.values(), request) if isinstance(v, TieredPrices) for t in v.tiers})
    bounds = [-1] + thresholds + [NO_LIMIT]
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        probe = lo + 1  # any total input in (lo, hi] picks the same tier

        def at(v, probe=probe):
            if isinstance(v, TieredPrices):
                chosen = v.base
                for tier in reversed(v.tiers):
                    if probe > tier.start:
                        chosen = tier.price
                        break
                return chosen
            return v

        rin = at(keys["input"]) or Decimal(0)
        rates = {"input": rin, "output": at(keys["output"]) or Decimal(0),
                 # as calc_price: without their own price, cached tokens are billed as input
                 "cache_read": rin if keys["cache_read"] is None else at(keys["cache_read"]),
                 "cache_write": rin if keys["cache_write"] is None else at(keys["cache_write"]),
                 "request": (at(request) or Decimal(0)) / 1000}
        out.append(Rate(provider, model, start, end, lo, hi, source="genai-prices", version=version, **rates))
    return out


def pico(value: Decimal, scale: int) -> int:
    return int((Decimal(value) * scale).to_integral_value(rounding=ROUND_HALF_EVEN))


def _clip(r: Rate, cut: datetime) -> Rate:
    if r.valid_to <= cut:
        return r
    from dataclasses import replace

    return replace(r, valid_to=cut)


def row_cost(rate: Rate, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> Decimal:
    """One row's cost under a rate, as the SQL computes it (for `prices show` and the tests)."""
    return ((input_tokens * rate.input + output_tokens * rate.output + cache_read * rate.cache_read
             + cache_write * rate.cache_write) / 1_000_000 + rate.request)
