"""`aibridge top`: the last hour only, counted as the rows were written, at every width."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from conftest import make_cli
from factories import add_interception, add_token_usage, add_tool_usage, add_user

from aibridge_cli.views.top import sparkline

SECRET = "sk-ant-api03-" + "x" * 40


@pytest.fixture
def traffic(conn):
    """Random traffic over the last two hours, some of it still running; what was written."""
    rnd = random.Random(7)
    now = datetime.now(timezone.utc)
    users = [add_user(conn, name) for name in ("ana", "ben", "cleo")]
    written = []
    for _ in range(60):
        user = rnd.choice(users)
        started = now - timedelta(minutes=rnd.uniform(1, 119))
        running = rnd.random() < 0.2
        ic = add_interception(conn, user, model=rnd.choice(["claude-opus-4-1", "gpt-5"]),
                              provider="anthropic", started_at=started,
                              ended_at=None if running else started + timedelta(seconds=5))
        tok = add_token_usage(conn, ic, input_tokens=rnd.randint(1, 5000), output_tokens=rnd.randint(1, 900),
                              created_at=started + timedelta(seconds=1))
        error = None
        if rnd.random() < 0.3:
            error = f"401 for key {SECRET}"
            add_tool_usage(conn, ic, "bash", invocation_error=error, created_at=started + timedelta(seconds=2))
        written.append({"user": user["username"], "model": ic["model"], "started": started, "running": running,
                        "tokens": tok["input_tokens"] + tok["output_tokens"], "error": error})
    return now, written


def snapshot(cli, *args):
    r = cli(*args, "top", "--once", "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_once_counts_the_last_hour_only(cli, traffic):
    now, written = traffic
    snap = snapshot(cli)
    # the command's clock is read a moment after the fixture's: allow rows within a second of the edge
    recent = [w for w in written if w["started"] > now - timedelta(hours=1)]
    edge = [w for w in written if abs((w["started"] - (now - timedelta(hours=1))).total_seconds()) < 5]
    assert edge == [] or abs(snap["requests_last_hour"] - len(recent)) <= len(edge)
    if not edge:
        assert snap["requests_last_hour"] == len(recent)
        assert snap["tokens_last_hour"] == sum(w["tokens"] for w in recent)
        assert len(snap["in_flight"]) == sum(w["running"] for w in recent)
        users = Counter(w["user"] for w in recent)
        assert {u["user_username"]: u["requests"] for u in snap["top_users"]} == dict(users)
        assert [u["requests"] for u in snap["top_users"]] == sorted(users.values(), reverse=True)
        models = Counter(w["model"] for w in recent)
        assert {m["model"]: m["requests"] for m in snap["top_models"]} == dict(models)
        assert len(snap["errors"]) == min(8, sum(1 for w in recent if w["error"]))
    assert len(snap["per_minute"]) == 60
    assert sum(m["requests"] for m in snap["per_minute"]) == snap["requests_last_hour"]
    minutes = [m["minute"] for m in snap["per_minute"]]
    assert minutes == sorted(minutes)
    running = [r["running_seconds"] for r in snap["in_flight"]]
    assert running == sorted(running, reverse=True) and all(0 < s < 3600 for s in running)


def test_as_a_member_sees_only_their_own(cli, traffic):
    now, written = traffic
    snap = snapshot(cli, "--as", "ana")
    assert {u["user_username"] for u in snap["top_users"]} <= {"ana"}
    assert {r["user_username"] for r in snap["in_flight"]} <= {"ana"}
    assert {e["user_username"] for e in snap["errors"]} <= {"ana"}
    mine = [w for w in written if w["user"] == "ana" and w["started"] > now - timedelta(minutes=59)]
    assert snap["requests_last_hour"] >= len(mine)


def test_redact_masks_tool_errors(cli, traffic):
    plain = json.dumps(snapshot(cli))
    masked = json.dumps(snapshot(cli, "--redact"))
    assert SECRET in plain and SECRET not in masked and "REDACTED" in masked


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_view_keeps_numbers_and_names_whole(dsn, traffic, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    cli = make_cli(dsn)
    snap = snapshot(cli)
    r = cli("top", "--once")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    text = r.stdout
    for user in snap["top_users"]:
        assert user["user_username"] in text and f"{user['requests']:,}" in text
    for model in snap["top_models"]:
        assert model["model"] in text
    assert f"{snap['requests_last_hour']:,} requests" in text


def test_sparkline_scales_to_the_largest_and_never_hides_activity():
    assert sparkline([0, 0, 0]) == "   "
    line = sparkline([0, 1, 50, 100])
    assert line[0] == " " and line[1] != " " and line[3] == "█" and len(line) == 4


def test_interval_must_be_sensible(cli):
    r = cli("top", "--interval", "10ms", "--once")
    assert r.exit_code == 2 and "--interval" in r.stderr
