"""The contract between the code and sql/queries/: every query a command runs exists, its name
is written as a literal (or comes from literals this test can follow), and the parameters the
code passes bind — none unknown, none missing that has no zero value. Calls that pass
`**params` are checked by running the commands and recording every bind."""

from __future__ import annotations

import ast
import json
import uuid

import pytest
from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user, at
from query_calls import Call, _Resolver, calls

from aibridge_cli.errors import QueryFileError
from aibridge_cli.sqlc import registry


def problems(found: list[Call]) -> list[str]:
    out = []
    for c in found:
        if c.names is None:
            out.append(f"{c.where}: the query name {c.source} is built, not a literal")
            continue
        for name in sorted(c.names):
            if name not in registry.registry():
                out.append(f"{c.where}: no query named {name!r}")
                continue
            q = registry.get(name)
            unknown = c.keywords - set(q.params)
            if unknown:
                out.append(f"{c.where}: {name} has no parameter(s) {', '.join(sorted(unknown))}")
            elif not c.spread:
                try:  # what the call leaves out must have a zero value
                    registry.bind(q, dict.fromkeys(c.keywords, "x"))
                except QueryFileError as e:
                    out.append(f"{c.where}: {e}")
    return out


def test_the_scan_finds_the_calls():
    found = calls()
    assert len(found) > 60
    names = set().union(*(c.names for c in found if c.names))
    assert {"ListAIBridgeSessions", "PruneInterceptionBatch", "PruneOrphanToolUsages", "CopyUsers",
            "SummarizeAIBridgeInterceptionsTelemetryFewInterceptions", "AuthorizeFilter"} <= names


def test_every_query_a_command_runs_exists_and_binds():
    assert problems(calls()) == []


def _calls_in(source: str) -> list[Call]:
    """The scan over one made-up module."""
    tree = ast.parse(source)
    resolver = _Resolver(tree, {"TABLE": {"CountAIBridgeInterceptions"}})
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "one":
            out.append(Call(f"m.py:{node.lineno}", ast.unparse(node.args[1]), resolver.names(node.args[1]),
                            {k.arg for k in node.keywords if k.arg}, any(k.arg is None for k in node.keywords)))
    return out


@pytest.mark.parametrize("source, fragment", [
    ("query.one(c, 'NoSuchQuery')", "no query named 'NoSuchQuery'"),
    ("query.one(c, 'CountAIBridgeInterceptions', provder='x')", "has no parameter(s) provder"),
    ("query.one(c, 'Count' + 'AIBridgeInterceptions')", "is built, not a literal"),
    ("query.one(c, f'Count{x}')", "is built, not a literal"),
    ("def f(n):\n    query.one(c, n)\nf(g())", "is built, not a literal"),
    ("SHAPE = 'Count'\ndef f(SHAPE):\n    query.one(c, SHAPE)\nf(g())", "is built, not a literal"),
    ("SHAPE = 'Count'\ndef f():\n    SHAPE = g()\n    query.one(c, SHAPE)", "is built, not a literal"),
])
def test_the_contract_refuses(source, fragment):
    found = problems(_calls_in("from aibridge_cli.db import query\n" + source))
    assert len(found) == 1 and fragment in found[0]


@pytest.mark.parametrize("source", [
    "query.one(c, 'CountAIBridgeInterceptions', provider='x')",
    "query.one(c, 'CountAIBridgeInterceptions' if y else TABLE[k])",
    "def f(n):\n    query.one(c, n, model='m')\nf('CountAIBridgeInterceptions')",
    "def pick():\n    return 'CountAIBridgeInterceptions'\nquery.one(c, pick())",
    "SHAPE = 'CountAIBridgeInterceptions'\ndef pick(few):\n    return SHAPE\nquery.one(c, pick(1))",
])
def test_the_contract_follows_literals(source):
    found = _calls_in("from aibridge_cli.db import query\n" + source)
    assert found and problems(found) == [] and found[0].names == {"CountAIBridgeInterceptions"}


# ---------------------------------------------------------------- the **params calls, run

@pytest.fixture
def binds(monkeypatch):
    """Every bind while the commands run: (query name, parameter names), and any refusal."""
    seen, refused = [], []
    original = registry.bind

    def recording(q, values):
        seen.append((q.name, frozenset(values)))
        try:
            return original(q, values)
        except QueryFileError as e:
            refused.append(str(e))
            raise

    monkeypatch.setattr(registry, "bind", recording)
    return seen, refused


def test_every_call_that_spreads_its_parameters_binds_when_the_commands_run(cli, conn, binds, tmp_path):
    seen, refused = binds
    alice = add_user(conn, "alice")
    first = add_interception(conn, alice, started_at=at(0), client_session_id="s-1")
    add_interception(conn, alice, started_at=at(5), client_session_id="s-1", thread_root_id=first["id"])
    add_token_usage(conn, first)
    add_prompt(conn, first, "hello")
    add_tool_usage(conn, first)
    add_thought(conn, first, "hmm")
    old = add_interception(conn, alice, started_at=at(-60 * 24 * 400))
    add_prompt(conn, old, "old")
    conn.execute("INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, "
                 "output_tokens, created_at) VALUES (%s, %s, 'r', 1, 1, %s)", [uuid.uuid4(), uuid.uuid4(), at(0)])
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmodel = "none-of-these"\ninput_mtok = 1\noutput_mtok = 1\n')
    runs = [
        ("sessions", "list", "--provider", "anthropic", "-n", "1"),
        ("sessions", "list", "--after-session-id", "s-1"),
        ("sessions", "count", "--model", "claude-sonnet-4"),
        ("sessions", "show", "s-1", "-f", "json"),
        ("interceptions", "list", "--client", "Claude Code", "-n", "1"),
        ("interceptions", "list", "-f", "jsonl", "--with-details"),
        ("interceptions", "count", "--initiator", "alice"),
        ("telemetry", "summary", "--since", at(-60).isoformat(), "--until", at(60).isoformat(), "-f", "json"),
        ("spend", "--since", at(-60).isoformat(), "--until", at(60).isoformat(), "--by", "user,day", "-f", "json"),
        # a price file that prices none of the rows: the unpriced models are listed too
        ("spend", "--since", at(-60).isoformat(), "--until", at(60).isoformat(), "--price-source", "file",
         "--prices", str(prices), "-f", "json"),
        # history: the readers' queries over rolled-up hours
        ("history", "refresh"),
        ("telemetry", "summary", "--since", at(-60).isoformat(), "--until", at(60).isoformat(), "-f", "json"),
        ("spend", "--since", at(-60).isoformat(), "--until", at(60).isoformat(), "--by", "user,day", "-f", "json"),
        ("export", "otlp", "--model", "claude-sonnet-4", "-o", "-"),
        ("export", "parquet", str(tmp_path / "lake"), "--model", "claude-sonnet-4"),
        # The 2026-08 layout's commands and variants (docs/deployment.md).
        ("sessions", "list", "--sort", "last-active", "--provider-name", "anthropic"),
        ("sessions", "show", "s-1", "--limit", "1", "--network", "-f", "json"),
        ("clients", "list"),
        ("prune", "--before", at(-60).isoformat(), "--orphans", "-f", "json"),
    ]
    for args in runs:
        r = cli(*args)
        assert r.exit_code == 0, (args, r.stderr)
    assert json.loads(r.stdout)["interceptions"] == 1  # the prune did delete
    assert refused == []
    bound = {name for name, _ in seen}
    spread = {name for c in calls() if c.spread for name in c.names or ()}
    assert spread and spread - bound == set(), "a call with **params that no command above runs"
