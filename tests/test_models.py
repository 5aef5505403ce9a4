"""`aibridge models list`: distinct models of ended interceptions, a literal prefix, pages."""

from __future__ import annotations

import csv
import io
import json

import pytest
from factories import add_interception, add_user, at

MODELS = ["a%b", "abc", "claude-opus-4", "claude-sonnet-4", "gpt-5", "gpt-5-mini", "gpt_5", "gptx5", "x\\y", "xy"]


@pytest.fixture
def data(conn):
    u = add_user(conn, "alice")
    for i, m in enumerate(MODELS):
        add_interception(conn, u, model=m, started_at=at(i))
        add_interception(conn, u, model=m, started_at=at(i + 0.5))  # a second row: models appear once
    add_interception(conn, u, model="only-in-flight", started_at=at(50), ended_at=None)
    return u


def db_sorted(conn, names):
    """The database's own text order (its collation), as ORDER BY model gives it."""
    return [r[0] for r in conn.execute("SELECT m FROM unnest(%s::text[]) AS m ORDER BY m", [list(names)])]


def models(cli, *args):
    res = cli("models", "list", "-f", "json", *args)
    assert res.exit_code == 0, res.stderr
    return [r["model"] for r in json.loads(res.stdout)]


def test_lists_each_ended_model_once_in_order(cli, conn, data):
    assert models(cli) == db_sorted(conn, MODELS)  # the in-flight-only model is left out


@pytest.mark.parametrize("prefix", ["gpt", "gpt_", "gpt-5", "a%", "%", "_", "x\\", "claude-", "zzz", "GPT"])
def test_prefix_matches_literally(cli, conn, data, prefix):
    assert models(cli, "--prefix", prefix) == db_sorted(conn, [m for m in MODELS if m.startswith(prefix)])


def test_limit_and_offset_page_through(cli, conn, data):
    want = db_sorted(conn, MODELS)
    assert models(cli, "--limit", "3") == want[:3]
    assert models(cli, "--limit", "3", "--offset", "3") == want[3:6]
    assert models(cli, "--prefix", "gpt", "--limit", "2", "--offset", "1") == [m for m in want if m.startswith("gpt")][1:3]


def test_formats(cli, conn, data):
    rows = list(csv.DictReader(io.StringIO(cli("models", "list", "-f", "csv").stdout)))
    assert [r["model"] for r in rows] == db_sorted(conn, MODELS)
    lines = cli("models", "list", "-f", "jsonl", "--prefix", "claude").stdout.splitlines()
    assert [json.loads(line) for line in lines] == [{"model": "claude-opus-4"}, {"model": "claude-sonnet-4"}]
    table = cli("models", "list", "--limit", "2")
    assert table.exit_code == 0 and all(m in table.stdout for m in db_sorted(conn, MODELS)[:2])
    assert "--offset 2" in table.stderr


def test_empty(cli):
    res = cli("models", "list")
    # The table format prints no header over nothing: only the note, on stderr.
    assert res.exit_code == 0 and res.stdout == "" and "no ended interceptions" in res.stderr
    assert models(cli) == []
    assert cli("models", "list", "-f", "csv").stdout == "model\n"
