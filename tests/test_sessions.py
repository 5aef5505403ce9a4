"""`aibridge sessions list|count|show` on a small data set whose answers are worked out by hand."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from factories import T0, add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user, at

GHOST = uuid.UUID("00000000-0000-4000-8000-0000000000ff")  # an initiator without a users row


def iso(dt):
    return dt.isoformat()


@pytest.fixture
def data(conn):
    """Users alice, bob, carol (and an initiator with no users row); sessions:

    sess-shared/alice  4 ended interceptions in 2 threads (+1 in flight), two providers
    sess-shared/bob    the same key from another user: NULL client, NULL metadata, no tokens
    <i6 id>/carol      no client session key: the thread root's id is the session id
    ghost-sess/GHOST   not listed (no users row)
    sess-later/alice   the newest
    tie-a/alice, tie-a/bob, tie-b/carol   three sessions starting at the same instant
    """
    d = {}
    d["alice"] = add_user(conn, "alice", name="Alice A", avatar_url="https://img/alice")
    d["bob"] = add_user(conn, "bob", name="Bob B")
    d["carol"] = add_user(conn, "carol", name="Carol C")
    alice, bob, carol = d["alice"], d["bob"], d["carol"]

    i1 = add_interception(conn, alice, started_at=at(0), client="Claude Code", client_session_id="sess-shared",
                          metadata={"a": 1}, provider="anthropic", model="claude-sonnet-4")
    i2 = add_interception(conn, alice, started_at=at(1), client="Claude Code", client_session_id="sess-shared",
                          metadata={"a": 2}, provider="anthropic", model="claude-opus-4",
                          thread_parent_id=i1["id"], thread_root_id=i1["id"])
    i3 = add_interception(conn, alice, started_at=at(5), client="Cursor", client_session_id="sess-shared",
                          metadata={"b": 2}, provider="openai", model="gpt-5")
    i3b = add_interception(conn, alice, started_at=at(6), ended_at=at(7), client="Cursor",
                           client_session_id="sess-shared", provider="openai", model="gpt-5",
                           thread_parent_id=i3["id"], thread_root_id=i3["id"])
    inflight = add_interception(conn, alice, started_at=at(10), ended_at=None, client_session_id="sess-shared",
                                provider="google", model="gemini")
    add_token_usage(conn, i1, input_tokens=100, output_tokens=50)
    add_token_usage(conn, i1, input_tokens=10, output_tokens=5, provider_response_id="resp_2")
    add_token_usage(conn, i2, input_tokens=200, output_tokens=20,
                    metadata={"cache_read_input": 70, "cache_creation_input": 30})
    add_token_usage(conn, i3, input_tokens=1, output_tokens=2, metadata={"prompt_cached": 9})
    add_token_usage(conn, inflight, input_tokens=99999, output_tokens=99999)
    add_prompt(conn, i1, "first prompt", created_at=at(0))
    add_prompt(conn, i2, "second prompt", created_at=at(1))
    add_prompt(conn, i3, "third prompt", created_at=at(5))
    add_prompt(conn, inflight, "in flight prompt", created_at=at(10))
    add_tool_usage(conn, i1, "bash", created_at=at(0.1))
    add_tool_usage(conn, i2, "search_docs", injected=True, server_url="https://mcp.example/docs",
                   invocation_error="upstream 502", created_at=at(1.1))
    add_thought(conn, i2, "let me look at the docs")

    i5 = add_interception(conn, bob, started_at=at(3), client=None, metadata=None, client_session_id="sess-shared",
                          provider="openai", model="gpt-5-mini")

    i6 = add_interception(conn, carol, started_at=at(20), client="Codex", provider="openai", model="gpt-5")
    i7 = add_interception(conn, carol, started_at=at(21), client="Codex", provider="openai", model="gpt-5",
                          thread_parent_id=i6["id"], thread_root_id=i6["id"])
    add_token_usage(conn, i7, input_tokens=7, output_tokens=3)
    add_prompt(conn, i7, "carol asks", created_at=at(21))

    add_interception(conn, GHOST, started_at=at(30), client_session_id="ghost-sess")

    i8 = add_interception(conn, alice, started_at=at(40), client="Codex", client_session_id="sess-later",
                          provider="openai", model="gpt-5-mini", metadata={})
    add_prompt(conn, i8, "older", created_at=at(40))
    p_new = add_prompt(conn, i8, "same instant A", created_at=at(41))
    p_new2 = add_prompt(conn, i8, "same instant B", created_at=at(41))
    d["later_prompt"] = max((p_new, p_new2), key=lambda p: p["id"])["prompt"]  # ties: the greater id wins

    for user, key in ((alice, "tie-a"), (bob, "tie-a"), (carol, "tie-b")):
        add_interception(conn, user, started_at=at(50), client_session_id=key, client="Claude Code")

    d.update(i1=i1, i2=i2, i3=i3, i3b=i3b, i5=i5, i6=i6, i7=i7, i8=i8)
    return d


def rows_of(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def keys(rows):
    return [(r["session_id"], r["user_username"]) for r in rows]


def expected_order(d):
    tie_a = sorted([(d["alice"]["id"], "alice"), (d["bob"]["id"], "bob")], reverse=True)
    shared = [("sess-shared", "bob"), ("sess-shared", "alice")]  # bob starts at 3, alice at 0
    return ([("tie-b", "carol")] + [("tie-a", name) for _, name in tie_a] + [("sess-later", "alice"),
            (str(d["i6"]["id"]), "carol")] + shared)


def test_list_every_column(cli, data):
    rows = rows_of(cli("sessions", "list", "--format", "json"))
    assert keys(rows) == expected_order(data)
    by = {(r["session_id"], r["user_username"]): r for r in rows}
    assert list(rows[0]) == ["session_id", "user_id", "user_username", "user_name", "user_avatar_url", "providers",
                             "models", "client", "metadata", "started_at", "ended_at", "threads", "input_tokens",
                             "output_tokens", "last_prompt"]

    a = by[("sess-shared", "alice")]
    assert a == {
        "session_id": "sess-shared", "user_id": str(data["alice"]["id"]), "user_username": "alice",
        "user_name": "Alice A", "user_avatar_url": "https://img/alice",
        "providers": ["anthropic", "openai"], "models": ["claude-opus-4", "claude-sonnet-4", "gpt-5"],
        "client": "Claude Code", "metadata": {"a": 1},
        "started_at": iso(T0), "ended_at": iso(at(7)),  # the in-flight interception is no part of it
        "threads": 2, "input_tokens": 311, "output_tokens": 77, "last_prompt": "third prompt",
    }
    b = by[("sess-shared", "bob")]
    assert (b["client"], b["metadata"], b["threads"], b["input_tokens"], b["output_tokens"], b["last_prompt"]) == \
        ("", None, 1, 0, 0, "")
    assert (b["providers"], b["models"], b["started_at"], b["user_name"], b["user_avatar_url"]) == \
        (["openai"], ["gpt-5-mini"], iso(at(3)), "Bob B", "")
    c = by[(str(data["i6"]["id"]), "carol")]
    assert (c["threads"], c["input_tokens"], c["output_tokens"], c["last_prompt"], c["client"]) == \
        (1, 7, 3, "carol asks", "Codex")
    assert (c["started_at"], c["ended_at"]) == (iso(at(20)), iso(at(21) + timedelta(seconds=2)))
    later = by[("sess-later", "alice")]
    assert later["metadata"] == {} and later["last_prompt"] == data["later_prompt"]


def test_initiators_without_a_users_row_are_not_listed_or_counted(cli, data):
    rows = rows_of(cli("sessions", "list", "--format", "json"))
    assert "ghost-sess" not in {r["session_id"] for r in rows}
    assert rows_of(cli("sessions", "count", "--format", "json")) == [{"count": len(rows)}]
    r = cli("sessions", "count")
    assert r.exit_code == 0 and r.stdout == f"{len(rows)}\n"
    # Filtering on the ghost's UUID finds interceptions but no listed session.
    assert rows_of(cli("sessions", "list", "--initiator", str(GHOST), "--format", "json")) == []
    assert rows_of(cli("sessions", "count", "--initiator", str(GHOST), "--format", "json")) == [{"count": 0}]


@pytest.mark.parametrize("args, expect", [
    (["--initiator", "bob"], [("tie-a", "bob"), ("sess-shared", "bob")]),
    (["--provider", "google"], []),  # only the in-flight interception uses it
    (["--session-id", "sess-shared"], [("sess-shared", "bob"), ("sess-shared", "alice")]),
    (["--client", "Unknown"], [("sess-shared", "bob")]),
    (["--model", "gpt-5-mini"], [("sess-later", "alice"), ("sess-shared", "bob")]),
])
def test_filters_select_sessions(cli, data, args, expect):
    rows = rows_of(cli("sessions", "list", *args, "--format", "json"))
    assert keys(rows) == expect
    assert rows_of(cli("sessions", "count", *args, "--format", "json")) == [{"count": len(expect)}]


def test_filters_recompute_each_session_over_the_interceptions_that_pass(cli, data):
    # Only alice's openai interceptions of sess-shared pass: i3 and its child i3b.
    rows = rows_of(cli("sessions", "list", "--provider", "openai", "--session-id", "sess-shared",
                       "--initiator", "alice", "--format", "json"))
    assert len(rows) == 1
    r = rows[0]
    assert (r["started_at"], r["ended_at"], r["providers"], r["models"], r["client"], r["metadata"]) == \
        (iso(at(5)), iso(at(7)), ["openai"], ["gpt-5"], "Cursor", {"b": 2})
    assert (r["threads"], r["input_tokens"], r["output_tokens"], r["last_prompt"]) == (1, 1, 2, "third prompt")

    # The model filter keeps i2 alone: its thread root i1 is outside, the thread still counts once.
    r = rows_of(cli("sessions", "list", "--model", "claude-opus-4", "--format", "json"))[0]
    assert (r["session_id"], r["started_at"], r["threads"], r["input_tokens"], r["last_prompt"], r["metadata"]) == \
        ("sess-shared", iso(at(1)), 1, 200, "second prompt", {"a": 2})

    # --client Cursor: i3, i3b only.
    r = rows_of(cli("sessions", "list", "--client", "Cursor", "--format", "json"))
    assert keys(r) == [("sess-shared", "alice")] and r[0]["started_at"] == iso(at(5))


def test_time_window_filters(cli, data):
    args = ["--started-after", iso(at(4)), "--started-before", iso(at(25))]
    rows = rows_of(cli("sessions", "list", *args, "--format", "json"))
    assert keys(rows) == [(str(data["i6"]["id"]), "carol"), ("sess-shared", "alice")]
    assert rows[1]["started_at"] == iso(at(5)) and rows[1]["input_tokens"] == 1
    # Bounds are inclusive on both ends.
    rows = rows_of(cli("sessions", "list", "--started-after", iso(at(50)), "--started-before", iso(at(50)),
                       "--format", "json"))
    assert len(rows) == 3
    assert rows_of(cli("sessions", "count", *args, "--format", "json")) == [{"count": 2}]


def test_limit_offset_and_cursor_pages(cli, data):
    everything = keys(rows_of(cli("sessions", "list", "--format", "json")))
    assert keys(rows_of(cli("sessions", "list", "--limit", "2", "--offset", "3", "--format", "json"))) == \
        everything[3:5]
    seen, after = [], None
    for _ in range(10):
        args = ["sessions", "list", "--limit", "2", "--format", "jsonl"] + (["--after", after] if after else [])
        r = cli(*args)
        assert r.exit_code == 0, r.stderr
        page = [json.loads(line) for line in r.stdout.splitlines()]
        seen += keys(page)
        after = next((w for w in r.stderr.split() if w.startswith("s1.")), None)
        if after is None:
            break
    assert seen == everything  # each session once, in order, ties at one instant included
    assert len(everything) == 7 and "next page" not in r.stderr  # pages of 2, 2, 2, 1: the last says so


def test_after_session_id_where_unambiguous(cli, data):
    everything = keys(rows_of(cli("sessions", "list", "--format", "json")))
    rows = rows_of(cli("sessions", "list", "--after-session-id", "sess-later", "--format", "json"))
    assert keys(rows) == everything[everything.index(("sess-later", "alice")) + 1:]
    # Under a filter that leaves one user with the key, it is unambiguous again.
    rows = rows_of(cli("sessions", "list", "--initiator", "bob", "--after-session-id", "tie-a", "--format", "json"))
    assert keys(rows) == [("sess-shared", "bob")]


def test_after_session_id_shared_by_two_users_names_them(cli, data):
    r = cli("sessions", "list", "--after-session-id", "sess-shared")
    assert r.exit_code == 2 and r.stdout == ""
    first = r.stderr.splitlines()[0]
    assert first.startswith("error:") and "alice" in first and "bob" in first
    assert str(data["alice"]["id"]) in first and "--after" in r.stderr


def test_after_session_id_unknown(cli, data):
    r = cli("sessions", "list", "--after-session-id", "no-such-session")
    assert r.exit_code == 1 and r.stdout == "" and "no listed session" in r.stderr
    r = cli("sessions", "list", "--after-session-id", "ghost-sess")  # exists, but not listed
    assert r.exit_code == 1 and r.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--after", "garbage"], "not a cursor"),
    (["--after", "s1.!!!!"], "not a cursor"),
    (["--after", "s1.aGVsbG8"], "not a cursor"),  # base64 of "hello": no fields
    (["--after", "x", "--after-session-id", "y"], "both give where to start"),
    (["--started-after", "not a time"], "--started-after"),
    (["--started-after", "2026-11-02T00:00:00Z", "--started-before", "2026-11-01T00:00:00Z"], "later than"),
    (["--initiator", "nobody"], "no user named"),
    (["--format", "yaml"], "unknown format"),
])
def test_bad_input_is_one_clear_line(cli, data, args, message):
    r = cli("sessions", "list", *args)
    assert r.exit_code in (1, 2) and r.stdout == ""
    assert r.stderr.startswith("error:") and message in r.stderr.splitlines()[0]
    assert "Traceback" not in r.stderr


def test_table_output_and_next_page_hint(cli, data):
    r = cli("sessions", "list", "--limit", "3", "--model", "claude-sonnet-4", "--session-id", "sess-shared")
    assert r.exit_code == 0
    assert "sess-shared" in r.stdout and "first prompt" in r.stdout and "next page" not in r.stderr
    r = cli("sessions", "list", "--limit", "3", "--client", "Claude Code")
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("next page:")]
    assert len(lines) == 1 and "--client 'Claude Code'" in lines[0] and "--limit 3" in lines[0]
    assert "next page" not in r.stdout
    r = cli("sessions", "list", "--provider", "nope")
    assert r.exit_code == 0 and r.stdout == "" and "no sessions match" in r.stderr


def test_machine_formats_carry_every_column(cli, data):
    r = cli("sessions", "list", "--format", "csv", "--initiator", "bob")
    lines = r.stdout.splitlines()
    assert lines[0].split(",") == ["session_id", "user_id", "user_username", "user_name", "user_avatar_url",
                                   "providers", "models", "client", "metadata", "started_at", "ended_at",
                                   "threads", "input_tokens", "output_tokens", "last_prompt"]
    assert len(lines) == 3
    r = cli("sessions", "list", "--format", "csv", "--provider", "nope")
    assert r.stdout.splitlines() == [lines[0]]


# --- show -----------------------------------------------------------------------------------

def test_show_json_tree(cli, data):
    d = data
    r = cli("sessions", "show", "sess-shared", "--initiator", "alice", "--format", "json")
    assert r.exit_code == 0, r.stderr
    tree = json.loads(r.stdout)
    assert (tree["session_id"], tree["user_username"], tree["thread_count"], tree["interception_count"]) == \
        ("sess-shared", "alice", 2, 4)
    assert (tree["input_tokens"], tree["output_tokens"], tree["cache_read_tokens"], tree["cache_write_tokens"]) == \
        (311, 77, 79, 30)
    assert (tree["tool_calls"], tree["tool_errors"]) == (2, 1)
    assert tree["started_at"] == iso(T0) and tree["ended_at"] == iso(at(7))
    assert tree["duration_seconds"] == 7 * 60

    t1, t2 = tree["threads"]  # oldest first
    assert t1["thread_root_id"] == str(d["i1"]["id"]) and t2["thread_root_id"] == str(d["i3"]["id"])
    assert (t1["interception_count"], t1["input_tokens"], t1["cache_read_tokens"], t1["cache_write_tokens"]) == \
        (2, 310, 70, 30)
    assert t2["duration_seconds"] == 120 and t2["cache_read_tokens"] == 9

    (root,) = t1["interceptions"]  # i2 nests under its parent i1
    assert root["id"] == str(d["i1"]["id"]) and root["duration_seconds"] == 2
    assert [p["prompt"] for p in root["prompts"]] == ["first prompt"]
    assert [u["tool"] for u in root["tool_usages"]] == ["bash"] and root["input_tokens"] == 110
    (child,) = root["children"]
    assert child["id"] == str(d["i2"]["id"]) and child["children"] == []
    (tool,) = child["tool_usages"]
    assert (tool["tool"], tool["injected"], tool["invocation_error"], tool["server_url"]) == \
        ("search_docs", True, "upstream 502", "https://mcp.example/docs")
    assert [(t["source"], t["content"]) for t in child["thoughts"]] == [("thinking", "let me look at the docs")]
    assert (child["cache_read_tokens"], child["cache_write_tokens"]) == (70, 30)
    assert [c["id"] for c in t2["interceptions"][0]["children"]] == [str(d["i3b"]["id"])]


def test_show_tree_on_a_terminal(cli, data):
    r = cli("sessions", "show", "sess-shared", "-u", "alice")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "thread 1" in out and "thread 2" in out and "anthropic/claude-opus-4" in out
    assert "[injected from https://mcp.example/docs]" in out and "upstream 502" in out
    assert "2 threads, 4 interceptions, 2 tool calls (1 failed)" in out
    # A parent with one child is a loop: a flat numbered sequence, the child as step 2 at the
    # parent's depth (the csv below still gives the real depth).
    indent = {name: next(len(ln) - len(ln.lstrip("│├└─ 12.")) for ln in out.splitlines() if name in ln)
              for name in ("anthropic/claude-sonnet-4", "anthropic/claude-opus-4")}
    assert indent["anthropic/claude-opus-4"] == indent["anthropic/claude-sonnet-4"]
    assert "1. anthropic/claude-sonnet-4" in out and "2. anthropic/claude-opus-4" in out


def test_show_flat_formats(cli, data):
    r = cli("sessions", "show", "sess-shared", "--initiator", str(data["alice"]["id"]), "--format", "csv")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 5
    header = lines[0].split(",")
    depth = [ln.split(",")[header.index("depth")] for ln in lines[1:]]
    assert depth == ["0", "1", "0", "1"]


def test_show_ambiguous_key_asks_for_initiator(cli, data):
    r = cli("sessions", "show", "sess-shared")
    assert r.exit_code == 2 and r.stdout == ""
    assert "alice" in r.stderr and "bob" in r.stderr and "--initiator" in r.stderr


def test_show_errors(cli, data):
    r = cli("sessions", "show", "nope")
    assert r.exit_code == 1 and "no session" in r.stderr and r.stdout == ""
    r = cli("sessions", "show", "sess-later", "--initiator", "bob")
    assert r.exit_code == 1 and "bob" in r.stderr and "alice" in r.stderr
    r = cli("sessions", "show", "sess-later", "--initiator", "nobody")
    assert r.exit_code == 1 and "no user named" in r.stderr


def test_show_session_of_initiator_without_user_row(cli, data):
    r = cli("sessions", "show", "ghost-sess", "--format", "json")
    assert r.exit_code == 0
    tree = json.loads(r.stdout)
    assert tree["user_id"] == str(GHOST) and tree["user_username"] is None and tree["interception_count"] == 1


def test_show_unknown_newer_token_columns(cli, conn, data):
    # Newer deployments have cache_*_input_tokens columns: they win over the metadata keys.
    conn.execute("ALTER TABLE aibridge_token_usages DROP COLUMN cache_read_input_tokens, DROP COLUMN cache_write_input_tokens")  # back to the seed's layout
    conn.execute("ALTER TABLE aibridge_token_usages ADD COLUMN cache_read_input_tokens bigint, "
                 "ADD COLUMN cache_write_input_tokens bigint")
    conn.execute("UPDATE aibridge_token_usages SET cache_read_input_tokens = 1000, cache_write_input_tokens = 3 "
                 "WHERE interception_id = %s", (data["i2"]["id"],))
    tree = json.loads(cli("sessions", "show", "sess-shared", "-u", "alice", "--format", "json").stdout)
    assert (tree["cache_read_tokens"], tree["cache_write_tokens"]) == (1009, 3)


def test_empty_database(cli):
    assert rows_of(cli("sessions", "list", "--format", "json")) == []
    assert cli("sessions", "count").stdout == "0\n"


def test_as_a_member_sees_only_their_own_sessions(cli, data, conn):
    add_user(conn, "auditor1", roles=["auditor"])
    rows = rows_of(cli("--as", "bob", "sessions", "list", "--format", "json"))
    assert keys(rows) == [("tie-a", "bob"), ("sess-shared", "bob")]
    assert cli("--as", "bob", "sessions", "count").stdout == "2\n"
    # The shared key is no longer ambiguous for bob, and alice's session is not his to see.
    tree = json.loads(cli("--as", "bob", "sessions", "show", "sess-shared", "--format", "json").stdout)
    assert tree["user_username"] == "bob"
    assert cli("--as", "bob", "sessions", "show", "sess-later").exit_code == 1
    assert len(rows_of(cli("--as", "auditor1", "sessions", "list", "--format", "json"))) == 7


def test_next_page_hint_pins_relative_times(cli, data):
    r = cli("sessions", "list", "--limit", "1", "--since", "3650d", "--format", "jsonl")
    assert r.exit_code == 0, r.stderr
    hint = next(ln for ln in r.stderr.splitlines() if ln.startswith("next page:"))
    assert "3650d" not in hint and "--started-after 20" in hint and "--format jsonl" in hint
    # Following the hint word for word gives the second session.
    import shlex
    argv = shlex.split(hint.split(":", 1)[1])[1:]
    argv[argv.index("--format") + 1] = "json"
    second = rows_of(cli(*argv))
    assert keys(second) == expected_order(data)[1:2]


def test_a_narrow_table_shortens_the_prompt_not_the_fixed_columns(cli, conn):
    from factories import add_interception, add_prompt, add_user, at

    u = add_user(conn, "narrow-user")
    i = add_interception(conn, u, started_at=at(0), client_session_id="narrow-session")
    add_prompt(conn, i, "a long prompt " * 20)
    res = cli("sessions", "list", env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 120
    row = next(line for line in lines if "narrow-session" in line)
    assert "2026-11-01 12:00:00" in row and "narrow-user" in row
    assert "a long prompt" in row and row.rstrip().endswith("…")
