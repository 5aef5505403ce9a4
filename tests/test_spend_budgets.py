"""`spend check` (exit 4 over budget), the deployment's prices, groups, budgets and daily
accumulator (`--by group`, `reconcile`, `--deployment-budgets`), and `prices show`."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from factories import add_interception, add_user
from spend_fixtures import T, build, ensure_2026_08, oracle_groups, usage

NOV = ("--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z")


@pytest.fixture
def data(conn):
    return build(conn)


def per_user(data):
    rows = [r for r in data["rows"] if T(2026, 11, 1) <= r["created_at"] < T(2026, 11, 3)]
    return oracle_groups(rows, lambda r: r["initiator_id"])


def test_check_per_user_exits_4_and_names_who_is_over(cli, data):
    costs = per_user(data)
    names = {u["id"]: n for n, u in data["users"].items()}
    budget = sorted(c[0] for c in costs.values())[1] - Decimal("0.0001")  # two of three are over
    over = sorted(names[u] for u, c in costs.items() if c[0] > budget)
    r = cli("spend", "check", *NOV, "--budget", str(budget), "--format", "json")
    assert r.exit_code == 4, r.stderr
    got = json.loads(r.stdout)
    assert sorted(g["user"] for g in got) == over and len(over) == 2
    for g in got:
        uid = next(u for u, n in names.items() if n == g["user"])
        assert abs(Decimal(str(g["over_by_usd"])) - (costs[uid][0] - budget)) < Decimal("0.000001")
        assert g["status"] == "over" and g["share"] > 1
    assert "\nerror: over budget: " in r.stderr and "acme/acme-internal-1" in r.stderr


def test_check_under_budget_is_quiet_with_quiet(cli, data):
    top = max(c[0] for c in per_user(data).values())
    r = cli("spend", "check", *NOV, "--budget", str(top + 1), "--quiet")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    r = cli("spend", "check", *NOV, "--budget", str(top + 1))
    assert r.exit_code == 0 and "0 over budget" in r.stderr
    assert "acme/acme-internal-1 (11,500 tokens)" in r.stderr and "not counted against the budget" in r.stderr
    # past 80 % of the budget: listed, exit still 0
    r = cli("spend", "check", *NOV, "--budget", str(top / Decimal("0.9")), "--warn-at", "0.8", "--quiet", "--format", "json")
    assert r.exit_code == 0
    assert [g["status"] for g in json.loads(r.stdout)] == ["warn"]


def test_check_total(cli, data):
    total = sum(c[0] for c in per_user(data).values())
    assert cli("spend", "check", *NOV, "--budget", str(total + Decimal("0.01")), "--per", "total").exit_code == 0
    r = cli("spend", "check", *NOV, "--budget", str(total - Decimal("0.01")), "--per", "total", "--format", "json")
    assert r.exit_code == 4
    [line] = json.loads(r.stdout)
    assert line["user"] == "total" and abs(Decimal(str(line["over_by_usd"])) - Decimal("0.01")) < Decimal("0.000001")


def test_check_bad_input(cli, data):
    for args in (("--budget", "-3"), ("--budget", "ten"), ("--budget", "1", "--per", "team"),
                 ("--budget", "1", "--warn-at", "80"), ()):
        r = cli("spend", "check", *args)
        assert r.exit_code == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, args


@pytest.fixture
def deployment(conn):
    """A deployment's accounting: two groups with budgets, an override, a provider instance,
    configured prices, stored costs with effective groups, and the daily accumulator."""
    ensure_2026_08(conn)
    org = uuid.uuid4()
    eng, ops = uuid.uuid4(), uuid.uuid4()
    conn.execute("INSERT INTO groups (id, name, organization_id) VALUES (%s, 'eng', %s), (%s, 'ops', %s)", (eng, org, ops, org))
    ann, ben = add_user(conn, "ann"), add_user(conn, "ben")
    conn.execute("INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES (%s, 5000000), (%s, 1000000)", (eng, ops))
    conn.execute("INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES (%s, %s, 9000000)",
                 (ann["id"], eng))
    conn.execute("INSERT INTO ai_providers (type, name, base_url) VALUES ('bedrock', 'corp-bedrock', 'https://bedrock.example')")
    # input $2/Mtok, output $10/Mtok, cache read NULL (counts as zero), cache write $2.5/Mtok
    conn.execute("INSERT INTO ai_model_prices (provider, model, input_price, output_price, cache_read_price, cache_write_price)"
                 " VALUES ('bedrock', 'claude-sonnet-4-5-20250929', 2000000, 10000000, NULL, 2500000)")
    i1 = add_interception(conn, ann, provider="anthropic", model="claude-sonnet-4-5-20250929", started_at=T(2026, 11, 1, 9))
    conn.execute("UPDATE aibridge_interceptions SET provider_name = 'corp-bedrock' WHERE id = %s", (i1["id"],))
    i2 = add_interception(conn, ben, provider="openai", model="gpt-5", started_at=T(2026, 11, 1, 9))
    usage(conn, i1, T(2026, 11, 1, 9, 1), 1000, 100, None, cache_read=5000, cache_write=400, cost_micros=6_000_000, group=eng)
    usage(conn, i1, T(2026, 11, 1, 9, 2), 1000, 100, None, cache_read=5000, cache_write=400, cost_micros=None, group=eng)
    usage(conn, i2, T(2026, 11, 1, 9, 3), 1000, 100, None, cost_micros=1_500_000, group=ops)
    usage(conn, i2, T(2026, 11, 2, 9, 3), 1000, 100, None, cost_micros=250_000, group=ops)
    conn.execute("INSERT INTO ai_user_daily_spend VALUES (%s, %s, '2026-11-01', 6000000), (%s, %s, '2026-11-01', 1500000),"
                 " (%s, %s, '2026-11-02', 200000)", (ann["id"], eng, ben["id"], ops, ben["id"], ops))
    return {"eng": eng, "ops": ops, "ann": ann, "ben": ben}


def test_deployment_prices_by_provider_type(cli, deployment):
    got = {g["user_username"]: g for g in json.loads(cli("spend", *NOV, "--by", "user", "--format", "json").stdout)}
    # ann: one stored row ($6) and one priced from ai_model_prices under provider type bedrock
    computed = (Decimal(1000) * 2 + Decimal(100) * 10 + Decimal(5000) * 0 + Decimal(400) * Decimal("2.5")) / 1_000_000
    assert abs(Decimal(str(got["ann"]["cost_usd"])) - (Decimal(6) + computed)) < Decimal("0.000001")
    assert got["ann"]["price_source"] == "stored,deployment"
    assert got["ben"]["price_source"] == "stored" and got["ben"]["cost_usd"] == pytest.approx(1.75)
    r = cli("prices", "show", "claude-sonnet-4-5-20250929", "--provider", "bedrock", "--format", "json")
    [price] = json.loads(r.stdout)
    assert price["source"] == "deployment" and price["cache_read_mtok"] == 0 and price["input_mtok"] == 2


def test_by_group(cli, deployment):
    r = cli("spend", *NOV, "--by", "group", "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = {g["group_name"]: g for g in json.loads(r.stdout)}
    assert set(got) == {"eng", "ops"}
    assert got["ops"]["cost_usd"] == pytest.approx(1.75) and got["ops"]["effective_group_id"] == str(deployment["ops"])


def test_reconcile_lists_every_difference(cli, deployment):
    r = cli("spend", "reconcile", *NOV, "--format", "json")
    assert r.exit_code == 4, r.stderr
    [diff] = json.loads(r.stdout)
    assert (diff["user_username"], diff["day"], diff["rows_micros"], diff["daily_spend_micros"], diff["difference_micros"]) \
        == ("ben", "2026-11-02", 250000, 200000, 50000)
    agree = cli("spend", "reconcile", "--since", "2026-11-01", "--until", "2026-11-02")
    assert agree.exit_code == 0 and "0 difference(s)" in agree.stderr
    r = cli("--as", "ben", "spend", "reconcile", *NOV)
    assert r.exit_code == 1 and "may not read the deployment's accounting" in r.stderr


def test_deployment_budgets(cli, deployment):
    r = cli("spend", "check", "--deployment-budgets", *NOV, "--warn-at", "0.5", "--format", "json")
    assert r.exit_code == 4, r.stderr
    got = {g["user"]: g for g in json.loads(r.stdout)}
    # ben: $1.75 of ops' $1 budget; ann: $6 of her $9 override (not eng's $5): warned, not over
    assert got["ben"]["status"] == "over" and got["ben"]["limit"] == "group" and got["ben"]["over_by_usd"] == pytest.approx(0.75)
    assert got["ann"]["status"] == "warn" and got["ann"]["limit"] == "override" and got["ann"]["budget_usd"] == 9


def test_prices_show_genai_and_file(cli, tmp_path):
    r = cli("prices", "show", "claude-sonnet-4-5-20250929", "--format", "json")
    assert r.exit_code == 0, r.stderr
    tiers = json.loads(r.stdout)
    assert [t["min_input_tokens"] for t in tiers] == [0, 200001] and tiers[0]["source"] == "genai-prices"
    assert tiers[1]["input_mtok"] == 2 * tiers[0]["input_mtok"]
    f = tmp_path / "p.toml"
    f.write_text('[[price]]\nmodel = "claude-sonnet-4-5-20250929"\ninput_mtok = 1\noutput_mtok = 2\n')
    [mine] = json.loads(cli("prices", "show", "claude-sonnet-4-5-20250929", "--prices", str(f), "--format", "json").stdout)
    assert mine["source"] == "file" and mine["version"] == str(f) and mine["cache_read_mtok"] == 1
    r = cli("prices", "show", "acme-internal-1")
    assert r.exit_code == 1 and r.stderr.startswith("error: no price for 'acme-internal-1'")
