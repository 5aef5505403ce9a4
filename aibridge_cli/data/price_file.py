"""`--prices FILE`: a TOML file of price overrides (negotiated rates, internal models).

    [[price]]
    provider = "acme"          # optional: any provider
    model = "acme-internal-1"
    input_mtok = 1.0           # USD per million tokens
    output_mtok = 2.0
    cache_read_mtok = 0.1      # optional: default input_mtok
    cache_write_mtok = 1.25    # optional: default input_mtok
    from = 2026-10-01          # optional: applies to usage at or after this time (a date is UTC midnight)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from aibridge_cli.errors import BadInput

KEYS = {"provider", "model", "input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "from"}
NEVER = datetime.min.replace(tzinfo=timezone.utc)
HINT = "see 'aibridge spend --help': [[price]] entries with model, input_mtok, output_mtok (USD per million tokens)"


@dataclass(frozen=True)
class Override:
    provider: str
    model: str
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    valid_from: datetime


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def load_overrides(path: str) -> list[Override]:
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"--prices: cannot read {path}: {e.strerror or e}", hint=HINT) from None
    toml = _toml()
    try:
        doc = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise BadInput(f"--prices: {path} is not valid TOML: {e}", hint=HINT) from None
    unknown = set(doc) - {"price"}
    if unknown:
        raise BadInput(f"--prices: {path}: unknown table(s) {', '.join(sorted(unknown))}", hint=HINT)
    entries = doc.get("price", [])
    if not isinstance(entries, list):
        raise BadInput(f"--prices: {path}: 'price' must be an array of tables ([[price]])", hint=HINT)
    out = []
    for i, e in enumerate(entries, 1):
        where = f"{path}: price #{i}"
        extra = set(e) - KEYS
        if extra:
            raise BadInput(f"--prices: {where}: unknown key(s) {', '.join(sorted(extra))}", hint=HINT)
        model = e.get("model")
        if not isinstance(model, str) or not model.strip():
            raise BadInput(f"--prices: {where}: 'model' is required (a string)", hint=HINT)
        provider = e.get("provider", "")
        if not isinstance(provider, str):
            raise BadInput(f"--prices: {where}: 'provider' must be a string", hint=HINT)
        rin = _money(e, "input_mtok", where, required=True)
        rout = _money(e, "output_mtok", where, required=True)
        cr = _money(e, "cache_read_mtok", where, required=False)
        cw = _money(e, "cache_write_mtok", where, required=False)
        out.append(Override(provider=provider.strip(), model=model.strip(), input=rin, output=rout,
                            cache_read=rin if cr is None else cr, cache_write=rin if cw is None else cw,
                            valid_from=_from(e.get("from"), where)))
    return out


def _money(e: dict, key: str, where: str, required: bool):
    if key not in e:
        if required:
            raise BadInput(f"--prices: {where}: '{key}' is required (USD per million tokens)", hint=HINT)
        return None
    v = e[key]
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise BadInput(f"--prices: {where}: '{key}' must be a number", hint=HINT)
    try:
        d = Decimal(str(v))  # str(): 0.1 stays 0.1, not its binary neighbour
    except InvalidOperation:
        raise BadInput(f"--prices: {where}: '{key}' must be a number, not {v!r}", hint=HINT) from None
    if not d.is_finite() or d < 0:
        raise BadInput(f"--prices: {where}: '{key}' must be a number of at least 0, not {v!r}", hint=HINT)
    if d != d.quantize(Decimal("0.000001")):
        raise BadInput(f"--prices: {where}: '{key}' has more than 6 decimals ({v!r})",
                       hint="prices are applied in millionths of a dollar per million tokens")
    return d


def _from(v, where: str) -> datetime:
    if v is None:
        return NEVER
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, date):
        return datetime.combine(v, time(0), tzinfo=timezone.utc)
    if isinstance(v, str):
        from aibridge_cli.timeparse import parse_time

        return parse_time(v, f"--prices {where} 'from'")
    raise BadInput(f"--prices: {where}: 'from' must be a date or a time, e.g. from = 2026-10-01", hint=HINT)
