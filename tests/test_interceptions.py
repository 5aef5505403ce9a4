"""`aibridge interceptions list|count|show` on a small data set whose answers are computed
here, independently of the SQL: each filter, combinations, keyset pages with tied
started_at, the user join, and every output format."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user, at

GHOST = uuid.UUID("99999999-9999-4999-8999-999999999999")  # an initiator with no users row


@pytest.fixture
def data(conn):
    alice = add_user(conn, "alice", name="Alice Liddell", avatar_url="https://example.com/a.png")
    bob = add_user(conn, "bob", name="Bob Builder")
    rows = [
        add_interception(conn, alice, provider="anthropic", model="claude-sonnet-4", client="Claude Code", started_at=at(0)),
        add_interception(conn, alice, provider="openai", model="gpt-5", client="Codex", started_at=at(10)),
        add_interception(conn, bob, provider="anthropic", model="claude-opus-4", client=None, started_at=at(20)),
        add_interception(conn, bob, provider="anthropic", model="claude-sonnet-4", client="Unknown", started_at=at(30)),
        add_interception(conn, alice, provider="anthropic", model="claude-sonnet-4", started_at=at(40), ended_at=None),
        add_interception(conn, GHOST, provider="anthropic", model="claude-sonnet-4", started_at=at(50)),
    ]
    # Five interceptions that start at the same instant: pages must split them by id.
    rows += [add_interception(conn, alice if i % 2 else bob, provider="openai", model="gpt-5", client="Cursor",
                              started_at=at(60)) for i in range(5)]
    rows += [add_interception(conn, bob, provider="openai", model="gpt-5-mini", client="Codex", started_at=at(70))]
    return {"alice": alice, "bob": bob, "rows": rows, "users": {alice["id"]: alice, bob["id"]: bob}}


def expected(data, *, after=None, before=None, initiator=None, provider=None, model=None, client=None,
             join_users=True):
    """The matching interceptions, newest first by (started_at, id), by plain Python."""
    out = []
    for r in data["rows"]:
        if r["ended_at"] is None:
            continue
        if join_users and r["initiator_id"] not in data["users"]:
            continue
        if after is not None and r["started_at"] < after:
            continue
        if before is not None and r["started_at"] > before:
            continue
        if initiator is not None and r["initiator_id"] != initiator:
            continue
        if provider is not None and r["provider"] != provider:
            continue
        if model is not None and r["model"] != model:
            continue
        if client is not None and (r["client"] or "Unknown") != client:
            continue
        out.append(r)
    # PostgreSQL orders uuids by their bytes, as Python orders them by their integer value.
    return sorted(out, key=lambda r: (r["started_at"], r["id"]), reverse=True)


def ids(rows):
    return [str(r["id"]) for r in rows]


def list_json(cli, *args):
    res = cli("interceptions", "list", "-f", "json", *args)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def test_list_default_is_ended_joined_interceptions_newest_first(cli, data):
    got = list_json(cli)
    assert [g["id"] for g in got] == ids(expected(data))
    assert str(GHOST) not in {g["initiator_id"] for g in got}


def test_each_row_carries_the_interception_columns_and_its_initiator(cli, data):
    got = {g["id"]: g for g in list_json(cli)}
    first = data["rows"][0]
    row = got[str(first["id"])]
    # The 2026-08 layout's columns (0004) come after the seed's, in the table's order.
    assert list(row) == ["id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at",
                         "api_key_id", "client", "thread_parent_id", "thread_root_id", "client_session_id",
                         "session_id", "provider_name", "credential_kind", "credential_hint",
                         "agent_firewall_session_id", "agent_firewall_sequence_number", "error_type", "error_message",
                         "initiator_username", "initiator_name", "initiator_avatar_url"]
    assert row["initiator_username"] == "alice"
    assert row["initiator_name"] == "Alice Liddell"
    assert row["initiator_avatar_url"] == "https://example.com/a.png"
    assert row["started_at"] == first["started_at"].isoformat()
    for g in got.values():
        user = data["users"][uuid.UUID(g["initiator_id"])]
        assert g["initiator_username"] == user["username"]


FILTERS = [
    ({}, ()),
    ({"after": at(20)}, ("--started-after", at(20).isoformat())),
    ({"after": at(20)}, ("--since", at(20).isoformat())),
    ({"before": at(20)}, ("--started-before", at(20).isoformat())),
    ({"before": at(20)}, ("--until", at(20).isoformat())),
    ({"after": at(10), "before": at(30)}, ("--since", at(10).isoformat(), "--until", at(30).isoformat())),
    ({"provider": "openai"}, ("--provider", "openai")),
    ({"model": "claude-sonnet-4"}, ("--model", "claude-sonnet-4")),
    ({"client": "Codex"}, ("--client", "Codex")),
    ({"client": "Unknown"}, ("--client", "Unknown")),
    ({"provider": "openai", "model": "gpt-5", "client": "Cursor"},
     ("--provider", "openai", "--model", "gpt-5", "--client", "Cursor")),
    ({"provider": "anthropic", "before": at(25)}, ("--provider", "anthropic", "--until", at(25).isoformat())),
    ({"model": "nothing-like-this"}, ("--model", "nothing-like-this")),
]


@pytest.mark.parametrize("want,args", FILTERS)
def test_list_filters(cli, data, want, args):
    assert [g["id"] for g in list_json(cli, *args)] == ids(expected(data, **want))


@pytest.mark.parametrize("want,args", FILTERS)
def test_count_filters(cli, data, want, args):
    # Like the reference's count, initiators without a users row are counted.
    res = cli("interceptions", "count", *args)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == f"{len(expected(data, join_users=False, **want))}\n"


def test_client_unknown_matches_null_and_the_literal_value(cli, data):
    got = {g["id"] for g in list_json(cli, "--client", "Unknown")}
    assert got == {str(data["rows"][2]["id"]), str(data["rows"][3]["id"])}


@pytest.mark.parametrize("by", ["username", "id"])
def test_initiator_by_username_or_uuid(cli, data, by):
    value = "bob" if by == "username" else str(data["bob"]["id"])
    want = expected(data, initiator=data["bob"]["id"])
    assert [g["id"] for g in list_json(cli, "--initiator", value)] == ids(want)
    res = cli("interceptions", "count", "--initiator", value, "-f", "json")
    assert json.loads(res.stdout) == [{"count": len(want)}]


def test_initiator_combined_with_model_and_time(cli, data):
    want = expected(data, initiator=data["alice"]["id"], model="gpt-5", after=at(5))
    assert [g["id"] for g in list_json(cli, "-u", "alice", "--model", "gpt-5", "--since", at(5).isoformat())] == ids(want)
    assert len(want) == 3  # the one at 10 minutes and alice's two of the tied five


def test_initiator_without_users_row_is_counted_but_not_listed(cli, data):
    assert list_json(cli, "--initiator", str(GHOST)) == []
    assert cli("interceptions", "count", "--initiator", str(GHOST)).stdout == "1\n"


def test_keyset_pages_neither_skip_nor_repeat_rows_with_tied_start(cli, data):
    want = ids(expected(data))
    seen, cursor = [], None
    for _ in range(20):
        page = list_json(cli, "--limit", "2", *(["--after-id", cursor] if cursor else []))
        if not page:
            break
        assert len(page) <= 2
        seen += [g["id"] for g in page]
        cursor = page[-1]["id"]
    assert seen == want
    assert len(set(seen)) == len(seen)


def test_keyset_pages_with_filters(cli, data):
    want = ids(expected(data, provider="openai"))
    seen, cursor = [], None
    for _ in range(10):
        page = list_json(cli, "--provider", "openai", "-n", "3", *(["--after-id", cursor] if cursor else []))
        if not page:
            break
        seen += [g["id"] for g in page]
        cursor = page[-1]["id"]
    assert seen == want


def test_after_id_of_a_row_outside_the_filter_still_positions_the_page(cli, data):
    ghost_row = data["rows"][5]  # started at 50, not listed itself
    got = list_json(cli, "--after-id", str(ghost_row["id"]))
    assert [g["id"] for g in got] == ids([r for r in expected(data) if r["started_at"] < ghost_row["started_at"]])


def test_offset_and_limit(cli, data):
    want = ids(expected(data))
    assert [g["id"] for g in list_json(cli, "--offset", "2", "--limit", "3")] == want[2:5]
    assert [g["id"] for g in list_json(cli, "--limit", "0")] == want  # 0 means the default page


def test_table_ends_with_the_next_page_command_only_when_there_is_more(cli, data):
    want = ids(expected(data))
    res = cli("interceptions", "list", "--limit", "4", "--model", "gpt-5")
    assert res.exit_code == 0
    gpt5 = ids(expected(data, model="gpt-5"))
    assert f"--after-id {gpt5[3]}" in res.stderr
    assert "--model gpt-5" in res.stderr and "--limit 4" in res.stderr
    assert gpt5[3] in res.stdout and gpt5[4] not in res.stdout
    exact = cli("interceptions", "list", "--limit", str(len(want)))
    assert "--after-id" not in exact.stderr  # a full page that is also the last one
    assert all(i in exact.stdout for i in want)


def test_next_page_command_pins_relative_times(cli, data):
    res = cli("interceptions", "list", "--limit", "1", "--since", "3650d")
    assert "--started-after 20" in res.stderr  # an absolute time, not '3650d'


def test_table_shows_usernames_and_whole_ids_within_the_width(cli, data):
    res = cli("interceptions", "list", env={"COLUMNS": "100"})
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert all(len(line.rstrip()) <= 100 for line in lines)
    for r in expected(data):
        assert str(r["id"]) in res.stdout
    assert "alice" in res.stdout and "bob" in res.stdout


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_formats(cli, data, fmt):
    res = cli("interceptions", "list", "-f", fmt)
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout), delimiter="," if fmt == "csv" else "\t"))
    assert [r["id"] for r in rows] == ids(expected(data))
    by_id = {r["id"]: r for r in rows}
    null_client = by_id[str(data["rows"][2]["id"])]
    assert null_client["client"] == "" and null_client["initiator_username"] == "bob"


def test_delimited_header_without_rows(cli, data):
    res = cli("interceptions", "list", "-f", "csv", "--model", "none")
    assert res.stdout.splitlines() == [
        "id,initiator_id,provider,model,started_at,metadata,ended_at,api_key_id,client,thread_parent_id,"
        "thread_root_id,client_session_id,session_id,initiator_username,initiator_name,initiator_avatar_url"]


def test_jsonl_and_markdown(cli, data):
    want = ids(expected(data))
    res = cli("interceptions", "list", "-f", "jsonl")
    assert [json.loads(line)["id"] for line in res.stdout.splitlines()] == want
    md = cli("interceptions", "list", "-f", "markdown").stdout.splitlines()
    assert md[0].startswith("| id") and len(md) == 2 + len(want)


def test_empty_database_lists_nothing(cli):
    assert list_json(cli) == []
    res = cli("interceptions", "list")
    assert res.exit_code == 0 and "no interceptions match" in res.stderr
    assert cli("interceptions", "count").stdout == "0\n"


@pytest.fixture
def detailed(conn, data):
    a, b = data["rows"][0], data["rows"][1]
    t_late = add_token_usage(conn, a, input_tokens=7, output_tokens=3, created_at=at(1))
    t_early = add_token_usage(conn, a, input_tokens=11, output_tokens=5, created_at=at(0.5))
    long_prompt = "explain " + "the whole repository " * 40
    p = add_prompt(conn, a, long_prompt)
    tools = [add_tool_usage(conn, a, "bash", created_at=at(0.2)), add_tool_usage(conn, b, "read_file", injected=True,
                                                                                   server_url="https://mcp.example")]
    return {"a": a, "b": b, "tokens": [t_early, t_late], "prompt": p, "tools": tools, "long_prompt": long_prompt}


def test_with_details_attaches_each_rows_children(cli, data, detailed):
    got = {g["id"]: g for g in list_json(cli, "--with-details")}
    a = got[str(detailed["a"]["id"])]
    assert [t["id"] for t in a["token_usages"]] == [str(t["id"]) for t in detailed["tokens"]]  # oldest first
    assert [p["prompt"] for p in a["user_prompts"]] == [detailed["long_prompt"]]
    assert [t["tool"] for t in a["tool_usages"]] == ["bash"]
    b = got[str(detailed["b"]["id"])]
    assert b["token_usages"] == [] and b["user_prompts"] == []
    assert [(t["tool"], t["injected"], t["server_url"]) for t in b["tool_usages"]] == [("read_file", True, "https://mcp.example")]
    others = [g for i, g in got.items() if i not in (str(detailed["a"]["id"]), str(detailed["b"]["id"]))]
    assert all(g["token_usages"] == [] and g["tool_usages"] == [] for g in others)


def test_with_details_in_batches_gives_the_same_rows(cli, data, detailed, monkeypatch):
    from aibridge_cli.data import interceptions

    whole = list_json(cli, "--with-details")
    monkeypatch.setattr(interceptions, "DETAIL_BATCH", 2)
    assert list_json(cli, "--with-details") == whole
    lines = cli("interceptions", "list", "--with-details", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == whole


def test_long_prompt_is_shortened_in_the_table_only(cli, data, detailed):
    table = cli("interceptions", "list", "--with-details", "--model", "claude-sonnet-4")
    assert table.exit_code == 0
    assert "explain the whole" in table.stdout
    assert detailed["long_prompt"] not in table.stdout and "…" in table.stdout
    assert "18" in table.stdout  # 11 + 7 input tokens
    rows = list(csv.DictReader(io.StringIO(cli("interceptions", "list", "--with-details", "-f", "csv").stdout)))
    cell = next(r for r in rows if r["id"] == str(detailed["a"]["id"]))["user_prompts"]
    assert json.loads(cell)[0]["prompt"] == detailed["long_prompt"]


@pytest.mark.parametrize("args,needle", [
    (("--after-id", "nope"), "--after-id"),
    (("--since", "yesterdayish"), "--started-after"),
    (("--since", at(30).isoformat(), "--until", at(10).isoformat()), "later than"),
    (("--format", "xml"), "--format"),
])
def test_bad_input_is_one_clear_error(cli, data, args, needle):
    res = cli("interceptions", "list", *args)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and needle in res.stderr.splitlines()[0]
    assert "Traceback" not in res.stderr


def test_unknown_after_id_is_an_error_not_an_empty_page(cli, data):
    res = cli("interceptions", "list", "--after-id", str(uuid.uuid4()), "-f", "json")
    assert res.exit_code == 2 and res.stdout == ""
    assert "no interception with id" in res.stderr


def test_unknown_initiator_username(cli, data):
    res = cli("interceptions", "count", "--initiator", "nobody")
    assert res.exit_code == 1 and "no user named 'nobody'" in res.stderr and res.stdout == ""


# --- show -------------------------------------------------------------------------------

@pytest.fixture
def thread(conn, data):
    alice = data["alice"]
    root = add_interception(conn, alice, started_at=at(100), client_session_id="sess-1")
    mid = add_interception(conn, alice, started_at=at(101), thread_parent_id=root["id"], thread_root_id=root["id"],
                           metadata={"turn": 2})
    kids = [add_interception(conn, alice, started_at=at(102 + i), thread_parent_id=mid["id"], thread_root_id=root["id"])
            for i in range(3)]
    add_token_usage(conn, mid, input_tokens=40, output_tokens=9, metadata={"cache_read_input": 30})
    add_prompt(conn, mid, "why is the build red?")
    add_tool_usage(conn, mid, "grep", invocation_error="exit 2", injected=True)
    add_thought(conn, mid, "second thought", created_at=at(101.5))
    add_thought(conn, mid, "first thought", source="reasoning_summary", created_at=at(101.2))
    return {"root": root, "mid": mid, "kids": kids}


def test_show_json_is_the_whole_record(cli, data, thread):
    mid = thread["mid"]
    res = cli("interceptions", "show", str(mid["id"]), "-f", "json")
    assert res.exit_code == 0, res.stderr
    rec = json.loads(res.stdout)
    assert isinstance(rec, dict)
    assert rec["id"] == str(mid["id"]) and rec["metadata"] == {"turn": 2}
    assert rec["initiator_username"] == "alice" and rec["initiator_name"] == "Alice Liddell"
    assert rec["session_id"] == str(thread["root"]["id"])  # the thread root, as the generated column says
    assert [(t["input_tokens"], t["output_tokens"]) for t in rec["token_usages"]] == [(40, 9)]
    assert [p["prompt"] for p in rec["user_prompts"]] == ["why is the build red?"]
    assert [(t["tool"], t["invocation_error"]) for t in rec["tool_usages"]] == [("grep", "exit 2")]
    assert [t["content"] for t in rec["model_thoughts"]] == ["first thought", "second thought"]
    assert rec["thread_parent"]["id"] == str(thread["root"]["id"])
    assert rec["thread_root"]["id"] == str(thread["root"]["id"])
    assert [c["id"] for c in rec["thread_children"]] == [str(k["id"]) for k in thread["kids"]]
    assert rec["thread_children_count"] == 3


def test_show_root_has_no_parent(cli, data, thread):
    rec = json.loads(cli("interceptions", "show", str(thread["root"]["id"]), "-f", "json").stdout)
    assert rec["thread_parent"] is None and rec["thread_root"] is None
    assert [c["id"] for c in rec["thread_children"]] == [str(thread["mid"]["id"])]
    assert rec["token_usages"] == [] and rec["model_thoughts"] == []


def test_show_initiator_without_users_row_and_in_flight(cli, data):
    ghost = data["rows"][5]
    rec = json.loads(cli("interceptions", "show", str(ghost["id"]), "-f", "json").stdout)
    assert rec["initiator_id"] == str(GHOST) and rec["initiator_username"] is None
    in_flight = data["rows"][4]
    res = cli("interceptions", "show", str(in_flight["id"]))
    assert res.exit_code == 0 and "in flight" in res.stdout


def test_show_table_layout(cli, data, thread):
    res = cli("interceptions", "show", str(thread["mid"]["id"]))
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    for needle in ("alice (Alice Liddell)", "Thread", str(thread["root"]["id"]), "Token usages (1)", "input 40",
                   "why is the build red?", "Tool usages (1)", "grep", "exit 2", "Thoughts (2)", "first thought",
                   "reasoning_summary", str(thread["kids"][2]["id"])):
        assert needle in out, needle
    assert out.index("first thought") < out.index("second thought")


def test_show_other_formats_give_one_row(cli, data, thread):
    lines = cli("interceptions", "show", str(thread["mid"]["id"]), "-f", "jsonl").stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == str(thread["mid"]["id"])
    rows = list(csv.DictReader(io.StringIO(cli("interceptions", "show", str(thread["mid"]["id"]), "-f", "csv").stdout)))
    assert len(rows) == 1 and json.loads(rows[0]["user_prompts"])[0]["prompt"] == "why is the build red?"


def test_show_unknown_and_malformed_ids(cli, data):
    res = cli("interceptions", "show", str(uuid.uuid4()))
    assert res.exit_code == 1 and res.stderr.startswith("error: no interception with id") and res.stdout == ""
    res = cli("interceptions", "show", "12345")
    assert res.exit_code == 2 and "not a valid UUID" in res.stderr and res.stdout == ""


def test_show_children_beyond_the_cap_are_counted(cli, conn, data, monkeypatch):
    from aibridge_cli.data import interceptions

    parent = add_interception(conn, data["bob"], started_at=at(200))
    kids = [add_interception(conn, data["bob"], started_at=at(201) + timedelta(seconds=i), thread_parent_id=parent["id"],
                             thread_root_id=parent["id"]) for i in range(4)]
    monkeypatch.setattr(interceptions, "CHILDREN_SHOWN", 2)
    rec = json.loads(cli("interceptions", "show", str(parent["id"]), "-f", "json").stdout)
    assert [c["id"] for c in rec["thread_children"]] == [str(k["id"]) for k in kids[:2]]
    assert rec["thread_children_count"] == 4
    assert "… and 2 more" in cli("interceptions", "show", str(parent["id"])).stdout
