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


@pytest.fixture
def week(conn):
    """Interceptions on some days of a week, none on others; two models."""
    from datetime import datetime, timedelta, timezone

    from factories import add_interception, add_token_usage, add_user

    ana = add_user(conn, "ana")
    base = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
    for day, model, n in [(0, "claude-opus-4-1", 3), (0, "gpt-5", 1), (2, "gpt-5", 5), (5, "claude-opus-4-1", 2)]:
        for i in range(n):
            ic = add_interception(conn, ana, model=model, started_at=base + timedelta(days=day, minutes=i))
            add_token_usage(conn, ic, input_tokens=100 * (i + 1), output_tokens=7)
    return base


@pytest.mark.parametrize("metric, key", [("requests", None), ("tokens", None)])
def test_telemetry_chart_totals_equal_the_summary(cli, week, metric, key, monkeypatch):
    import json

    monkeypatch.setenv("COLUMNS", "90")
    window = ("--since", "2026-11-02T00:00:00Z", "--until", "2026-11-09T00:00:00Z", "--by", "day")
    rows = json.loads(cli("telemetry", "summary", *window, "-f", "json").stdout)
    expected: dict[str, int] = {}
    for r in rows:
        value = r["interception_count"] if metric == "requests" else (
            r["token_count_input"] + r["token_count_output"] + r["token_count_cached_read"]
            + r["token_count_cached_written"])
        expected[r["bucket"][:10]] = expected.get(r["bucket"][:10], 0) + value
    r = cli("telemetry", "summary", *window, "--chart", metric)
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line[:4] == "2026"]
    shown = {line[:10]: int(line.rsplit(" ", 1)[1].replace(",", "")) for line in lines}
    assert list(shown) == [f"2026-11-0{d}" for d in range(2, 9)]  # every day, the empty ones too
    assert {d: v for d, v in shown.items() if v} == expected
    assert all(len(line) <= 90 for line in r.stdout.splitlines())


def test_telemetry_chart_needs_by_and_a_known_series(cli):
    assert cli("telemetry", "summary", "--chart", "requests").exit_code == 2
    r = cli("telemetry", "summary", "--by", "day", "--chart", "bogus")
    assert r.exit_code == 2 and "unknown series" in r.stderr


def test_spend_chart_totals_equal_the_spend_rows(cli, week, monkeypatch):
    import json

    monkeypatch.setenv("COLUMNS", "100")
    window = ("--since", "2026-11-02T00:00:00Z", "--until", "2026-11-09T00:00:00Z", "--by", "day,model")
    rows = json.loads(cli("spend", *window, "-f", "json").stdout)
    expected: dict[str, float] = {}
    for r in rows:
        expected[r["day"]] = expected.get(r["day"], 0.0) + float(r["cost_usd"])
    assert expected and all(v > 0 for v in expected.values())
    r = cli("spend", *window, "--chart", "cost")
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line[:4] == "2026"]
    shown = {line[:10]: line.rsplit(" ", 1)[1] for line in lines}
    assert list(shown) == [f"2026-11-0{d}" for d in range(2, 9)]
    for day, label in shown.items():
        want = expected.get(day, 0.0)
        if label == "<$0.01":
            assert 0 < want < 0.01, (day, label, want)
        else:
            assert abs(float(label.lstrip("$").replace(",", "")) - want) < 0.006, (day, label, want)
    assert "by model" in r.stdout
    bad = cli("spend", "--by", "model", "--chart", "cost")
    assert bad.exit_code == 2 and "--by day, week or month" in bad.stderr
