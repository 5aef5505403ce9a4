"""`aibridge spend`: every sum equals the per-row oracle (genai-prices' own calc_price per row,
the override's rates, or the stored cost) to 1e-6 USD."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from spend_fixtures import T, build, cached, oracle_cost, oracle_groups

NOV = ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z")
MARCH = ("--since", "2026-03-12T00:00:00Z", "--until", "2026-03-14T00:00:00Z")
OVERRIDES = """
[[price]]
model = "acme-internal-1"
input_mtok = 1.0
output_mtok = 2.0
cache_read_mtok = 0.1

[[price]]
provider = "openai"
model = "gpt-5"
input_mtok = 0.5
output_mtok = 4
from = 2026-11-01T12:00:00Z
"""
OVERRIDE_RATES = [("", "acme-internal-1", datetime.min.replace(tzinfo=timezone.utc),
                   (Decimal("1.0"), Decimal("2.0"), Decimal("0.1"), Decimal("1.0"))),
                  ("openai", "gpt-5", datetime(2026, 11, 1, 12, tzinfo=timezone.utc),
                   (Decimal("0.5"), Decimal("4"), Decimal("0.5"), Decimal("0.5")))]


@pytest.fixture
def data(conn):
    return build(conn)


def spend(cli, *args):
    r = cli("spend", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def close(a, b):
    return abs(Decimal(str(a)) - Decimal(b)) <= Decimal("0.000001")


def in_window(rows, since, until):
    return [r for r in rows if since <= r["created_at"] < until]


def test_total_equals_the_per_row_oracle(cli, data):
    rows = in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3))
    [got] = spend(cli, *NOV)
    want = oracle_groups(rows, lambda r: ())[()]
    assert close(got["cost_usd"], want[0]) and got["unpriced_tokens"] == want[1] > 0
    assert got["cache_read_tokens"] == sum(cached(r)[0] for r in rows)
    assert got["cache_write_tokens"] == sum(cached(r)[1] for r in rows)
    assert got["input_tokens"] == sum(r["input_tokens"] for r in rows)
    assert got["price_source"] == "stored,genai-prices"


@pytest.mark.parametrize("by,key", [
    ("user", lambda r: str(r["initiator_id"])),
    ("model", lambda r: r["model"]),
    ("client,provider", lambda r: (r["client"], r["provider"])),
])
def test_groups_equal_the_oracle(cli, data, by, key):
    rows = in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3))
    want = oracle_groups(rows, key)
    got = spend(cli, *NOV, "--by", by)
    cols = {"user": ["initiator_id"], "model": ["model"], "client,provider": ["client", "provider"]}[by]
    seen = {}
    for g in got:
        k = tuple(str(g[c]) if c == "initiator_id" else g[c] for c in cols)
        seen[k[0] if len(k) == 1 else k] = g
    assert set(seen) == set(want)
    for k, (cost, unpriced, _) in want.items():
        assert close(seen[k]["cost_usd"], cost), k
        assert seen[k]["unpriced_tokens"] == unpriced, k
    costs = [g["cost_usd"] for g in got]
    assert costs == sorted(costs, reverse=True)


def test_the_tier_applies_per_row(cli, data):
    """One request past 200k total input (cached tokens included) pays the higher rate for all its tokens."""
    from genai_prices import Usage, calc_price

    tiered = data["rows"][1]
    read, write = cached(tiered)
    assert tiered["input_tokens"] + read + write > 200_000
    [got] = spend(cli, "--since", "2026-11-01T10:00:02Z", "--until", "2026-11-01T10:00:03Z")
    assert close(got["cost_usd"], oracle_cost(tiered)[0])
    flat = calc_price(Usage(input_tokens=199_000, cache_read_tokens=read - 7000, cache_write_tokens=write,
                            output_tokens=tiered["output_tokens"]), tiered["model"], provider_id="anthropic")
    assert Decimal(str(got["cost_usd"])) > flat.total_price * Decimal("1.5")  # the tier's rates, not the base's


def test_a_price_change_inside_the_window(cli, data):
    before, after = data["rows"][-2], data["rows"][-1]
    got = {g["day"]: g for g in spend(cli, *MARCH, "--by", "day")}
    assert close(got["2026-03-12"]["cost_usd"], oracle_cost(before)[0])
    assert close(got["2026-03-13"]["cost_usd"], oracle_cost(after)[0])
    assert oracle_cost(before)[0] != oracle_cost(after)[0]  # the same usage, two prices


def test_stored_costs_beside_computed_ones(cli, data):
    stored = next(r for r in data["rows"] if r["cost_micros"] is not None)
    window = ("--since", "2026-11-02T01:00:00Z", "--until", "2026-11-02T01:00:01Z")
    [got] = spend(cli, *window)
    assert got["cost_usd"] == pytest.approx(0.123456) and got["price_source"] == "stored"
    [recomputed] = spend(cli, *window, "--price-source", "genai-prices")
    assert close(recomputed["cost_usd"], oracle_cost(stored, use_stored=False)[0])
    assert recomputed["price_source"] == "genai-prices" and recomputed["cost_usd"] != got["cost_usd"]


def test_an_override_file(cli, data, tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDES)
    rows = in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3))
    want = oracle_groups(rows, lambda r: r["model"], overrides=OVERRIDE_RATES)
    got = {g["model"]: g for g in spend(cli, *NOV, "--by", "model", "--prices", str(path))}
    for model, (cost, unpriced, _) in want.items():
        assert close(got[model]["cost_usd"], cost), model
        assert got[model]["unpriced_tokens"] == unpriced == 0
    # gpt-5 before 12:00 is priced by genai-prices, after by the file (the stored row stays stored)
    assert got["gpt-5"]["price_source"] == "stored,file"
    assert got["acme-internal-1"]["price_source"] == "file"
    only_file = {g["model"]: g for g in spend(cli, *NOV, "--by", "model", "--prices", str(path), "--price-source", "file")}
    assert only_file["claude-haiku-4-5-20251001"]["cost_usd"] == 0
    assert only_file["claude-haiku-4-5-20251001"]["unpriced_tokens"] > 0


def test_an_unknown_model_is_counted_and_named(cli, data):
    r = cli("spend", *NOV, "--by", "model")
    assert r.exit_code == 0
    assert "acme/acme-internal-1 (11,500 tokens)" in r.stderr
    acme = next(g for g in spend(cli, *NOV, "--by", "model") if g["model"] == "acme-internal-1")
    assert acme["cost_usd"] == 0 and acme["unpriced_tokens"] == 11_500 and acme["price_source"] == ""


def test_tz_moves_day_boundaries(cli, data):
    rows = in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3))
    for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        zone = ZoneInfo(tz)
        want = oracle_groups(rows, lambda r, zone=zone: r["created_at"].astimezone(zone).date().isoformat())
        got = {g["day"]: g for g in spend(cli, *NOV, "--by", "day", "--tz", tz)}
        assert set(got) == set(want), tz
        for day, (cost, _, _tokens) in want.items():
            assert close(got[day]["cost_usd"], cost), (tz, day)


def test_as_a_member_sees_only_their_own(cli, data):
    alice = data["users"]["alice"]
    rows = [r for r in in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3)) if r["initiator_id"] == alice["id"]]
    r = cli("--as", "alice", "spend", *NOV, "--by", "user", "--format", "json")
    assert r.exit_code == 0, r.stderr
    [got] = json.loads(r.stdout)
    assert got["user_username"] == "alice"
    assert close(got["cost_usd"], oracle_groups(rows, lambda r: ())[()][0])
    everyone = cli("--as", "olive", "spend", *NOV, "--by", "user", "--format", "json")
    assert len(json.loads(everyone.stdout)) == 3


def test_filters(cli, data):
    rows = [r for r in in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3)) if r["client"] == "Unknown"]
    [got] = spend(cli, *NOV, "--client", "Unknown")
    assert close(got["cost_usd"], oracle_groups(rows, lambda r: ())[()][0]) and rows
    [bob] = spend(cli, *NOV, "-u", "bob", "--provider", "openai")
    assert close(bob["cost_usd"], oracle_groups(
        [r for r in rows if r["provider"] == "openai"], lambda r: ())[()][0])


def test_table_has_money_and_a_total_line(cli, data):
    r = cli("spend", *NOV, "--by", "user")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["user", "cost"]
    assert lines[-1].split()[0] == "total"
    total = oracle_groups(in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 3)), lambda r: ())[()][0]
    assert f"${total:,.2f}" in lines[-1]


def test_bad_input(cli, data, tmp_path):
    for args, text in [(("--by", "year"), "--by: unknown key 'year'"),
                       (("--price-source", "magic"), "--price-source: unknown source"),
                       (("--price-source", "file"), "--price-source file needs --prices"),
                       (("--since", "2026-11-03", "--until", "2026-11-01"), "must be earlier"),
                       (("--tz", "Mars/Olympus"), "--tz: unknown time zone"),
                       (("--prices", str(tmp_path / "missing.toml")), "--prices: cannot read")]:
        r = cli("spend", *args)
        assert r.exit_code == 2 and r.stderr.startswith("error: "), (args, r.stderr)
        assert text in r.stderr and "Traceback" not in r.stderr and r.stdout == ""
    bad = tmp_path / "bad.toml"
    bad.write_text('[[price]]\nmodel = "x"\ninput_mtok = -1\noutput_mtok = 1\n')
    r = cli("spend", "--prices", str(bad))
    assert r.exit_code == 2 and "'input_mtok' must be a number of at least 0" in r.stderr


def test_the_seed_layout_without_the_2026_08_columns(cli, conn):
    """A deployment still on the seed's layout: no cache columns, no stored costs, no
    provider_name, no spend tables; cached tokens come from the metadata alone."""
    from factories import add_interception, add_user
    from spend_fixtures import usage

    for table, column in (("aibridge_token_usages", "cache_read_input_tokens"), ("aibridge_token_usages", "cache_write_input_tokens"),
                          ("aibridge_token_usages", "cost_micros"), ("aibridge_token_usages", "effective_group_id"),
                          ("aibridge_token_usages", "input_price_micros"), ("aibridge_token_usages", "output_price_micros"),
                          ("aibridge_token_usages", "cache_read_price_micros"), ("aibridge_token_usages", "cache_write_price_micros"),
                          ("aibridge_interceptions", "provider_name")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column} CASCADE")
    for table in ("ai_model_prices", "ai_providers", "ai_user_daily_spend", "group_ai_budgets", "user_ai_budget_overrides",
                  "groups"):
        conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    u = add_user(conn, "sam")
    i = add_interception(conn, u, provider="anthropic", model="claude-sonnet-4-5-20250929", started_at=T(2026, 11, 1, 9))
    rows = [usage(conn, i, T(2026, 11, 1, 9, 1), 3000, 200, {"cache_read_input": 210000, "cache_creation_input": 900}, extra=False),
            usage(conn, i, T(2026, 11, 1, 9, 2), 3000, 200, {"cache_read_input": 1000}, extra=False)]
    [got] = spend(cli, *NOV)
    assert close(got["cost_usd"], sum(oracle_cost(r)[0] for r in rows))
    assert got["cache_read_tokens"] == 211000 and got["price_source"] == "genai-prices"
    r = cli("spend", *NOV, "--by", "group")
    assert r.exit_code == 1 and "no groups table" in r.stderr
    r = cli("spend", "reconcile", *NOV)
    assert r.exit_code == 1 and "ai_user_daily_spend" in r.stderr


def test_a_2026_08_deployment(deploy_dsn):
    """A deployment's layout (built from the spec's schema, Coder's users table included): stored
    costs where it priced, the columns' cache tokens, a provider instance of type bedrock."""
    import psycopg
    from conftest import make_cli
    from deployment import add_coder_user
    from factories import _insert
    from spend_fixtures import usage

    with psycopg.connect(deploy_dsn, autocommit=True) as conn:
        u = add_coder_user(conn, "dana", roles=["owner"])
        conn.execute("INSERT INTO ai_providers (type, name, base_url) VALUES ('bedrock', 'corp-bedrock', 'https://x.example')")
        i1 = _insert(conn, "aibridge_interceptions", {
            "id": uuid.uuid4(), "initiator_id": u["id"], "provider": "anthropic", "provider_name": "corp-bedrock",
            "model": "claude-sonnet-4-5-20250929", "started_at": T(2026, 11, 1, 9), "ended_at": T(2026, 11, 1, 9, 5),
            "client": "Claude Code"})
        i2 = _insert(conn, "aibridge_interceptions", {
            "id": uuid.uuid4(), "initiator_id": u["id"], "provider": "openai", "provider_name": "openai",
            "model": "gpt-5", "started_at": T(2026, 11, 1, 10), "ended_at": None, "client": "Codex"})
        rows = [usage(conn, i1, T(2026, 11, 1, 9, 1), 2000, 300, {}, cache_read=205000, cache_write=100),
                usage(conn, i1, T(2026, 11, 1, 9, 2), 100, 30, {}, cost_micros=4321),
                usage(conn, i2, T(2026, 11, 1, 10, 1), 900, 80, {}, cache_read=4000)]
    # The provider_name names a bedrock instance: genai-prices prices it as provider 'aws'
    # (Bedrock's own prices for the model), not as anthropic's.
    cli = make_cli(deploy_dsn)
    got = {g["model"]: g for g in spend(cli, *NOV, "--by", "model")}
    sonnet = oracle_cost({**rows[0], "provider": "aws"})[0] + Decimal("0.004321")
    assert oracle_cost({**rows[0], "provider": "aws"})[0] != oracle_cost(rows[0])[0]
    assert close(got["claude-sonnet-4-5-20250929"]["cost_usd"], sonnet)
    assert got["claude-sonnet-4-5-20250929"]["price_source"] == "stored,genai-prices"
    assert close(got["gpt-5"]["cost_usd"], oracle_cost(rows[2])[0])  # in flight: the money is spent
    assert got["gpt-5"]["cache_read_tokens"] == 4000


def test_the_profile_names_the_price_file(cli, data, tmp_path):
    """`prices = FILE` in the profile works as --prices; --prices on the command line wins."""
    path = tmp_path / "prices.toml"
    path.write_text(OVERRIDES)
    config = tmp_path / "config" / "aibridge"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'[profiles.default]\nprices = "{path}"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = cli("spend", *NOV, "--by", "model", "--format", "json", env=env)
    assert r.exit_code == 0, r.stderr
    acme = next(g for g in json.loads(r.stdout) if g["model"] == "acme-internal-1")
    assert acme["price_source"] == "file" and acme["unpriced_tokens"] == 0
    other = tmp_path / "other.toml"
    other.write_text('[[price]]\nmodel = "nothing-here"\ninput_mtok = 1\noutput_mtok = 1\n')
    r = cli("spend", *NOV, "--by", "model", "--format", "json", "--prices", str(other), env=env)
    acme = next(g for g in json.loads(r.stdout) if g["model"] == "acme-internal-1")
    assert acme["unpriced_tokens"] == 11_500


def test_week_and_month_start_dates_in_tz(cli, data):
    """Weeks start on Monday and months on the 1st, in --tz: the March rows (Thursday 12th and
    Friday 13th) fall in the week of Monday 9 March; in Tokyo the 23:59 UTC row is on the 13th."""
    from datetime import timedelta

    zone = ZoneInfo("Asia/Tokyo")

    def key(r):
        d = r["created_at"].astimezone(zone).date()
        return ((d - timedelta(days=d.weekday())).isoformat(), d.replace(day=1).isoformat())

    rows = in_window(data["rows"], T(2026, 3, 1), T(2026, 12, 1))
    want = oracle_groups(rows, key)
    got = {(g["week"], g["month"]): g for g in spend(cli, "--since", "2026-03-01", "--until", "2026-12-01",
                                                         "--by", "week,month", "--tz", "Asia/Tokyo")}
    assert set(got) == set(want) and ("2026-03-09", "2026-03-01") in got
    for k, (cost, _, _tokens) in want.items():
        assert close(got[k]["cost_usd"], cost), k


def test_until_alone_starts_at_the_first_of_its_month(cli, data):
    """--until 2026-11-02 (no --since) is [2026-11-01, 2026-11-02) in UTC; in Tokyo the month
    starts at 2026-10-31T15:00Z, which is all the same here."""
    rows = in_window(data["rows"], T(2026, 11, 1), T(2026, 11, 2))
    [got] = spend(cli, "--until", "2026-11-02T00:00:00Z")
    assert close(got["cost_usd"], oracle_groups(rows, lambda r: ())[()][0])
    r = cli("spend", "--until", "2026-11-02T00:00:00Z", "--tz", "Asia/Tokyo")
    assert "window: token usage created in [2026-11-01T00:00:00+09:00" in r.stderr or \
        "[2026-10-31T15:00:00+00:00" in r.stderr, r.stderr
