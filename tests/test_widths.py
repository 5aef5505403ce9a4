"""Every view at 80, 100 and 120 columns on a small demo data set (issue 18, "tables that never
cut a number"): no line wider than the terminal, every number the table shows whole (checked
against the JSON of the same command), and no id, username, model or client cut."""

from __future__ import annotations

import json
import re

import pytest
from conftest import TEMPLATE, _drop_database, _fresh_database, make_cli
from psycopg.conninfo import make_conninfo

from aibridge_cli.views.table import Column, FitTable
from aibridge_cli.views.text import ELLIPSIS

WIDTHS = (80, 100, 120)
DEMO = ("demo", "--interceptions", "160", "--users", "12", "--seed", "7")
WINDOW = ("--since", "60d")


@pytest.fixture(scope="module")
def run(server_dsn, template_dsn):
    name = _fresh_database(server_dsn, TEMPLATE)
    cli = make_cli(make_conninfo(server_dsn, dbname=name))
    r = cli(*DEMO)
    assert r.exit_code == 0, r.stderr

    def at(width, *args):
        res = cli(*args, env={"COLUMNS": str(width)})
        assert res.exit_code == 0, (args, res.stderr)
        return res.stdout

    def as_json(*args):
        res = cli(*args, "-f", "json")
        assert res.exit_code == 0, (args, res.stderr)
        return json.loads(res.stdout)

    yield at, as_json
    _drop_database(server_dsn, name)


def whole(n: int, text: str) -> bool:
    """`n` with its separators, neither cut nor part of a longer number."""
    return re.search(rf"(?<![\d,.]){re.escape(f'{n:,}')}(?![\d,.]|{ELLIPSIS})", text) is not None


def headers(table: str) -> list[str]:
    return re.split(r"\s{2,}", table.splitlines()[0].strip())


def body(table: str, n: int) -> list[str]:
    """The n data lines under the header rule."""
    lines = table.splitlines()
    rule = next(i for i, ln in enumerate(lines) if set(ln.strip()) == {"─"})
    return lines[rule + 1: rule + 1 + n]


def common(table: str, width: int, keys: set[str]) -> None:
    too_long = [ln for ln in table.splitlines() if len(ln) > width]
    assert too_long == [], too_long
    # A number cut by a narrow column ends in a separator or an ellipsis.
    # (A cell is followed by two spaces or the end of its line; `1. ` numbers a step of a loop.)
    assert not re.search(rf"\d[,.](?=\s{{2,}}|\s*$)|\d{ELLIPSIS}", table, re.M), table
    for key in keys:
        for cut in range(1, len(key)):
            assert not re.search(rf"(?<!\S){re.escape(key[:cut])}{ELLIPSIS}", table), (key, table)


def check_numbers(table: str, rows: list[dict], columns: dict[str, callable]) -> None:
    """For each header the table shows, each row's number sits whole on that row's line."""
    shown = headers(table)
    lines = body(table, len(rows))
    assert len(lines) == len(rows)
    for header, value in columns.items():
        if header not in shown:
            continue
        for row, line in zip(rows, lines):
            assert whole(value(row), line), (header, value(row), line)


def keys_of(rows: list[dict], *fields: str) -> set[str]:
    return {str(r[f]) for r in rows for f in fields if r.get(f)}


@pytest.mark.parametrize("width", WIDTHS)
def test_telemetry_summary(run, width):
    at, as_json = run
    for by in ((), ("--by", "day"), ("--by", "hour")):
        rows = as_json("telemetry", "summary", *WINDOW, *by)
        assert rows
        table = at(width, "telemetry", "summary", *WINDOW, *by)
        common(table, width, keys_of(rows, "model", "client"))
        assert "requests" in headers(table)  # the count of each group is never dropped
        check_numbers(table, rows, {
            "requests": lambda r: r["interception_count"], "input": lambda r: r["token_count_input"],
            "output": lambda r: r["token_count_output"], "prompts": lambda r: r["user_prompts_count"],
            "tools": lambda r: r["tool_calls_count_non_injected"], "users": lambda r: r["unique_initiator_count"],
            "mcp": lambda r: r["tool_calls_count_injected"]})
        for line, row in zip(body(table, len(rows)), rows):
            if "model" in headers(table):
                assert re.search(rf"(?<!\S){re.escape(row['model'])}(?!\S)", line)


@pytest.mark.parametrize("width", WIDTHS)
def test_sessions_list_and_show(run, width):
    at, as_json = run
    rows = as_json("sessions", "list", *WINDOW, "-n", "40")
    table = at(width, "sessions", "list", *WINDOW, "-n", "40")
    common(table, width, keys_of(rows, "session_id", "user_username", "client") | {m for r in rows for m in r["models"]})
    check_numbers(table, rows, {"input": lambda r: r["input_tokens"], "output": lambda r: r["output_tokens"],
                                "threads": lambda r: r["threads"]})
    for row, line in zip(rows, body(table, len(rows))):
        assert row["session_id"] in line
        if "client" in headers(table):
            assert (row["client"] or "Unknown") in line
    if width >= 120:
        assert {"user", "client", "model"} <= set(headers(table))
    # The longest sessions: ids whole, and a loop is flat rather than a staircase.
    for row in sorted(rows, key=lambda r: -r["threads"])[:3]:
        tree = as_json("sessions", "show", row["session_id"], "-u", row["user_username"])
        shown = at(width, "sessions", "show", row["session_id"], "-u", row["user_username"])
        ids = set()
        todo = [n for t in tree["threads"] for n in t["interceptions"]]
        while todo:
            node = todo.pop()
            ids.add(node["id"])
            todo.extend(node["children"])
        # Prompts, thoughts and tool input are text, cut to the line: the labels are checked.
        labels = "\n".join(ln for ln in shown.splitlines()
                           if not re.match(r"[│├└─ ]*(prompt|thought|tool) ", ln))
        assert max(len(ln) for ln in shown.splitlines()) <= width
        common(labels, width, ids | {row["session_id"]})
        for i in ids:
            assert i in shown


def test_a_loop_is_flat_and_a_branch_is_deeper():
    """The view alone, on a hand-built tree: a chain of only children is numbered at one depth;
    the two children of its last step sit one level deeper."""
    from datetime import datetime, timezone

    from rich.console import Console

    from aibridge_cli.views.sessions import tree

    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)

    def node(i, children=()):
        return {"id": f"00000000-0000-0000-0000-{i:012d}", "provider": "anthropic", "model": f"m{i}",
                "started_at": t0, "duration_seconds": 1.0, "input_tokens": 1, "output_tokens": 1,
                "cache_read_tokens": 0, "cache_write_tokens": 0, "prompts": [], "thoughts": [], "tool_usages": [],
                "children": list(children)}

    chain = node(1, [node(2, [node(3, [node(4), node(5)])])])
    thread = {"started_at": t0, "duration_seconds": 1.0, "interception_count": 5, "input_tokens": 5,
              "output_tokens": 5, "cache_read_tokens": 0, "cache_write_tokens": 0, "interceptions": [chain]}
    session = {"session_id": "s", "user_username": "u", "user_id": "x", "started_at": t0, "duration_seconds": 1.0,
               "threads": [thread], "thread_count": 1, "interception_count": 5, "tool_calls": 0, "tool_errors": 0,
               "input_tokens": 5, "output_tokens": 5, "cache_read_tokens": 0, "cache_write_tokens": 0}
    con = Console(width=120, record=True, file=open("/dev/null", "w"))
    con.print(tree(session))
    out = con.export_text()
    col = {}
    for i in range(1, 6):
        line = next(ln for ln in out.splitlines() if f"anthropic/m{i} " in ln)
        col[i] = line.index("anthropic/")
    assert "1. anthropic/m1" in out and "3. anthropic/m3" in out
    assert col[1] == col[2] == col[3]
    assert col[4] == col[5] > col[3]


@pytest.mark.parametrize("width", WIDTHS)
def test_interceptions_list_and_show(run, width):
    at, as_json = run
    for extra in ((), ("--with-details",)):
        rows = as_json("interceptions", "list", *WINDOW, "-n", "30", *extra)
        table = at(width, "interceptions", "list", *WINDOW, "-n", "30", *extra)
        common(table, width, keys_of(rows, "id", "initiator_username", "model", "client"))
        for row, line in zip(rows, body(table, len(rows))):
            assert str(row["id"]) in line
        if extra:
            check_numbers(table, rows, {
                "in": lambda r: sum(t["input_tokens"] for t in r["token_usages"]),
                "out": lambda r: sum(t["output_tokens"] for t in r["token_usages"])})
            if width >= 120:
                assert {"model", "in", "out"} <= set(headers(table))
    for row in rows[:3]:
        rec = as_json("interceptions", "show", str(row["id"]))
        page = at(width, "interceptions", "show", str(row["id"]))
        common(page, width, {str(rec["id"]), rec["model"], str(rec.get("session_id") or "")} - {""})
        assert f"Interception {rec['id']}" in page
        for t in rec["token_usages"]:
            assert whole(t["input_tokens"], page) and whole(t["output_tokens"], page)


@pytest.mark.parametrize("width", WIDTHS)
def test_users_models_and_the_rest(run, width):
    at, as_json = run
    users = as_json("users", "list")
    table = at(width, "users", "list")
    common(table, width, keys_of(users, "username", "id"))
    assert "username" in headers(table)
    for row, line in zip(users, body(table, len(users))):
        assert re.search(rf"(?<!\S){re.escape(row['username'])}(?!\S)", line)
    models = as_json("models", "list")
    table = at(width, "models", "list")
    common(table, width, keys_of(models, "model"))
    assert [ln.strip() for ln in body(table, len(models))] == [m["model"] for m in models]
    for args in (("interceptions", "count"), ("db", "status"), ("top", "--once")):
        out = at(width, *args)
        common(out, width, set())
    # Off a terminal prune reports in a sentence (its table is for terminals): numbers whole.
    report = at(width, "prune", "--older-than", "1d", "--dry-run")
    assert re.fullmatch(r"dry run: would delete [\d,]+ rows: [\d,]+ interceptions .*\n", report)


@pytest.mark.parametrize("width", WIDTHS)
def test_spend(run, width):
    at, as_json = run
    rows = as_json("spend", *WINDOW, "--by", "user,model")
    assert rows
    table = at(width, "spend", *WINDOW, "--by", "user,model")
    common(table, width, keys_of(rows, "user_username", "model"))
    assert {"user", "model", "cost"} <= set(headers(table))
    check_numbers(table, rows, {"input": lambda r: r["input_tokens"], "output": lambda r: r["output_tokens"],
                                "cache read": lambda r: r["cache_read_tokens"]})


def test_since_on_users_and_models(run):
    """Against the interceptions themselves: the users and models seen since a time."""
    _, as_json = run
    rows = as_json("interceptions", "list", "--since", "7d", "-n", "1000")
    users = {r["initiator_username"] for r in rows}
    assert users and {u["username"] for u in as_json("users", "list", "--since", "7d")} >= users
    models = {m["model"] for m in as_json("models", "list", "--since", "7d")}
    # models list counts ended interceptions, as interceptions list does.
    assert models == {r["model"] for r in rows}
    assert len(as_json("users", "list", "--since", "7d")) < len(as_json("users", "list"))


def test_the_fitter_never_cuts_a_whole_column():
    """FitTable alone: columns without a rank still go before a number is cut."""
    from rich.console import Console

    cols = [Column("id", ["0b9f2d8e-6c1a-4a8e-9f43-3d2b5c7e1a90"], keep=True),
            Column("name", ["a fairly long display name"], fit=10, min_width=6, drop=1),
            Column("big", ["1,234,567,890"], numeric=True),
            Column("bigger", ["98,765,432,109,876"], numeric=True)]
    for width in (40, 50, 60, 80):
        con = Console(width=width, record=True, file=open("/dev/null", "w"))
        con.print(FitTable(cols))
        out = con.export_text()
        assert all(len(ln) <= width for ln in out.splitlines())
        assert "0b9f2d8e-6c1a-4a8e-9f43-3d2b5c7e1a90" in out
        for n in ("1,234,567,890", "98,765,432,109,876"):
            header = "big" if n.startswith("1") else "bigger"
            assert (n in out) == bool(re.search(rf"\b{header}\b", out.splitlines()[0]))
        assert not re.search(rf"\d{ELLIPSIS}|\d,\s", out)
