"""aibridge record interception|end|token-usage|prompt|tool-usage|thought, read back with SQL."""

import json
import uuid
from datetime import datetime, timedelta, timezone

from factories import T0, add_interception, add_tool_usage, add_user

TABLES = ("users", "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
          "aibridge_tool_usages", "aibridge_model_thoughts")


def counts(conn):
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def row(conn, table, id):
    cur = conn.execute(f"SELECT * FROM {table} WHERE id = %s", (id,))
    names = [d.name for d in cur.description]
    got = cur.fetchone()
    return None if got is None else dict(zip(names, got))


def record(cli, *args, input=None):
    r = cli("record", *args, input=input)
    assert r.exit_code == 0, r.stderr
    return r.stdout.strip()


def test_interception_by_username_stores_every_field(cli, conn):
    alice = add_user(conn, "alice")
    before = datetime.now(timezone.utc)
    out = record(cli, "interception", "--initiator", "alice", "--provider", "anthropic", "--model", "claude-opus-4",
                 "--api-key-id", "key-1", "--client", "Claude Code", "--client-session-id", "sess-9",
                 "--metadata", '{"ip": "10.0.0.1"}')
    after = datetime.now(timezone.utc)
    got = row(conn, "aibridge_interceptions", uuid.UUID(out))
    assert got["initiator_id"] == alice["id"]
    assert (got["provider"], got["model"], got["api_key_id"], got["client"], got["client_session_id"]) == \
        ("anthropic", "claude-opus-4", "key-1", "Claude Code", "sess-9")
    assert got["metadata"] == {"ip": "10.0.0.1"}
    assert got["ended_at"] is None and got["thread_parent_id"] is None and got["thread_root_id"] is None
    assert before <= got["started_at"] <= after
    assert got["session_id"] == "sess-9"


def test_interception_by_uuid_with_defaults_and_json_output(cli, conn):
    bob = add_user(conn, "bob")
    iid = uuid.uuid4()
    r = cli("record", "interception", "-u", str(bob["id"]), "--provider", "openai", "--model", "gpt-5",
            "--id", str(iid), "--started-at", "2026-11-01T12:00:00Z", "--format", "json")
    assert r.exit_code == 0, r.stderr
    printed = json.loads(r.stdout)[0]
    got = row(conn, "aibridge_interceptions", iid)
    assert printed["id"] == str(iid) and printed["session_id"] == str(iid)
    assert set(printed) == set(got)
    assert got["client"] == "Unknown" and got["metadata"] == {} and got["started_at"] == T0


def test_unknown_initiator_is_an_error_and_writes_nothing(cli, conn):
    add_user(conn, "carol")
    for who in ("nobody", str(uuid.uuid4())):
        r = cli("record", "interception", "-u", who, "--provider", "openai", "--model", "gpt-5")
        assert r.exit_code == 1, r.stderr
        assert r.stderr.startswith("error: --initiator: no user") and "hint:" in r.stderr
    assert counts(conn)["aibridge_interceptions"] == 0


def test_bad_options_exit_2_and_write_nothing(cli, conn):
    add_user(conn, "dan")
    base = ["record", "interception", "-u", "dan", "--provider", "openai", "--model", "gpt-5"]
    for extra in (["--metadata", "{nope"], ["--metadata", "[1, 2]"], ["--started-at", "yesterdayish"],
                  ["--id", "123"], ["--client", "x" * 65], ["--provider", " "], ["--thread-root-id", str(uuid.uuid4())],
                  ["--tool-call-id", "c1", "--thread-parent-id", str(uuid.uuid4())]):
        r = cli(*base, *extra)
        assert r.exit_code == 2, (extra, r.stderr)
        assert r.stderr.startswith("error: ") and len(r.stderr.splitlines()) <= 2
    assert counts(conn)["aibridge_interceptions"] == 0


def test_duplicate_interception_id_is_refused(cli, conn):
    user = add_user(conn, "erin")
    existing = add_interception(conn, user, model="m1")
    r = cli("record", "interception", "-u", "erin", "--provider", "openai", "--model", "m2", "--id", str(existing["id"]))
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert row(conn, "aibridge_interceptions", existing["id"])["model"] == "m1"


def test_tool_call_id_links_the_thread_as_the_bridge_does(cli, conn):
    add_user(conn, "fay")
    new = ["interception", "-u", "fay", "--provider", "anthropic", "--model", "claude"]
    a = uuid.UUID(record(cli, *new))
    record(cli, "tool-usage", str(a), "--tool", "Bash", "--tool-call-id", "call-a")
    b = uuid.UUID(record(cli, *new, "--tool-call-id", "call-a"))
    record(cli, "tool-usage", str(b), "--tool", "Read", "--tool-call-id", "call-b")
    c = uuid.UUID(record(cli, *new, "--tool-call-id", "call-b"))
    assert (row(conn, "aibridge_interceptions", b)["thread_parent_id"], row(conn, "aibridge_interceptions", b)["thread_root_id"]) == (a, a)
    got = row(conn, "aibridge_interceptions", c)
    assert (got["thread_parent_id"], got["thread_root_id"]) == (b, a)
    assert got["session_id"] == str(a)


def test_lineage_takes_the_newest_tool_usage_with_the_call_id(cli, conn):
    user = add_user(conn, "gus")
    old = add_interception(conn, user, started_at=T0)
    new = add_interception(conn, user, started_at=T0 + timedelta(minutes=5))
    add_tool_usage(conn, old, provider_tool_call_id="dup", created_at=T0 + timedelta(minutes=1))
    add_tool_usage(conn, new, provider_tool_call_id="dup", created_at=T0 + timedelta(minutes=6))
    iid = uuid.UUID(record(cli, "interception", "-u", "gus", "--provider", "p", "--model", "m", "--tool-call-id", "dup"))
    got = row(conn, "aibridge_interceptions", iid)
    assert (got["thread_parent_id"], got["thread_root_id"]) == (new["id"], new["id"])


def test_unknown_tool_call_id_starts_a_thread_with_a_note(cli, conn):
    add_user(conn, "hal")
    r = cli("record", "interception", "-u", "hal", "--provider", "p", "--model", "m", "--tool-call-id", "never")
    assert r.exit_code == 0 and "never" in r.stderr
    got = row(conn, "aibridge_interceptions", uuid.UUID(r.stdout.strip()))
    assert got["thread_parent_id"] is None and got["thread_root_id"] is None


def test_explicit_parent_takes_the_parents_root(cli, conn):
    user = add_user(conn, "ida")
    root = add_interception(conn, user)
    child = add_interception(conn, user, thread_parent_id=root["id"], thread_root_id=root["id"])
    iid = uuid.UUID(record(cli, "interception", "-u", "ida", "--provider", "p", "--model", "m",
                           "--thread-parent-id", str(child["id"])))
    got = row(conn, "aibridge_interceptions", iid)
    assert (got["thread_parent_id"], got["thread_root_id"]) == (child["id"], root["id"])


def test_end_sets_ended_at_once(cli, conn):
    user = add_user(conn, "jo")
    inflight = add_interception(conn, user, started_at=T0, ended_at=None)
    out = record(cli, "end", str(inflight["id"]), "--ended-at", "2026-11-01T12:00:07Z")
    assert out == str(inflight["id"])
    assert row(conn, "aibridge_interceptions", inflight["id"])["ended_at"] == T0 + timedelta(seconds=7)
    r = cli("record", "end", str(inflight["id"]))
    assert r.exit_code == 1 and "already ended" in r.stderr
    assert row(conn, "aibridge_interceptions", inflight["id"])["ended_at"] == T0 + timedelta(seconds=7)


def test_end_of_unknown_or_before_start_changes_nothing(cli, conn):
    user = add_user(conn, "kim")
    inflight = add_interception(conn, user, started_at=T0, ended_at=None)
    missing = uuid.uuid4()
    r = cli("record", "end", str(missing))
    assert r.exit_code == 1 and f"no interception {missing}" in r.stderr
    r = cli("record", "end", str(inflight["id"]), "--ended-at", "2026-10-01")
    assert r.exit_code == 2 and "before" in r.stderr
    r = cli("record", "end", "not-a-uuid")
    assert r.exit_code == 2
    assert row(conn, "aibridge_interceptions", inflight["id"])["ended_at"] is None


def test_token_usage(cli, conn):
    user = add_user(conn, "lee")
    inter = add_interception(conn, user)
    out = record(cli, "token-usage", str(inter["id"]), "--input-tokens", "1500", "--output-tokens", "230",
                 "--provider-response-id", "msg_1", "--metadata", '{"cache_read_input": 1200}',
                 "--created-at", "2026-11-01T12:00:01Z")
    got = row(conn, "aibridge_token_usages", uuid.UUID(out))
    assert (got["interception_id"], got["input_tokens"], got["output_tokens"], got["provider_response_id"]) == \
        (inter["id"], 1500, 230, "msg_1")
    assert got["metadata"] == {"cache_read_input": 1200} and got["created_at"] == T0 + timedelta(seconds=1)


def test_child_of_unknown_interception_is_an_error(cli, conn):
    missing = str(uuid.uuid4())
    for args in (["token-usage", missing, "--input-tokens", "1"], ["prompt", missing, "--text", "hi"],
                 ["tool-usage", missing, "--tool", "Bash"], ["thought", missing, "--content", "hm"]):
        r = cli("record", *args)
        assert r.exit_code == 1 and f"no interception {missing}" in r.stderr, (args, r.stderr)
    assert sum(counts(conn).values()) == 0


def test_negative_tokens_and_bad_json_exit_2(cli, conn):
    user = add_user(conn, "max")
    inter = add_interception(conn, user)
    for args in (["token-usage", str(inter["id"]), "--input-tokens", "-1"],
                 ["token-usage", str(inter["id"]), "--metadata", "7"],
                 ["tool-usage", str(inter["id"]), "--tool", "Bash", "--input", "{broken"],
                 ["thought", str(inter["id"]), "--content", "x", "--source", "dreaming"]):
        r = cli("record", *args)
        assert r.exit_code == 2, (args, r.stderr)
    c = counts(conn)
    assert c["aibridge_token_usages"] == c["aibridge_tool_usages"] == c["aibridge_model_thoughts"] == 0


def test_prompt_from_option_and_from_stdin(cli, conn):
    user = add_user(conn, "ned")
    inter = add_interception(conn, user)
    a = record(cli, "prompt", str(inter["id"]), "--text", "fix the bug")
    b = record(cli, "prompt", str(inter["id"]), "--provider-response-id", "r2", input="multi\nline\tprompt\n")
    assert row(conn, "aibridge_user_prompts", uuid.UUID(a))["prompt"] == "fix the bug"
    got = row(conn, "aibridge_user_prompts", uuid.UUID(b))
    assert got["prompt"] == "multi\nline\tprompt\n" and got["provider_response_id"] == "r2"
    assert got["interception_id"] == inter["id"] and got["metadata"] == {}


def test_prompt_with_empty_stdin_is_an_error(cli, conn):
    user = add_user(conn, "oli")
    inter = add_interception(conn, user)
    r = cli("record", "prompt", str(inter["id"]), input="")
    assert r.exit_code == 2 and "--text" in r.stderr
    assert counts(conn)["aibridge_user_prompts"] == 0


def test_tool_usage_stores_every_field(cli, conn):
    user = add_user(conn, "pat")
    inter = add_interception(conn, user)
    out = record(cli, "tool-usage", str(inter["id"]), "--tool", "github.create_pr", "--input", '{"title": "x"}',
                 "--tool-call-id", "toolu_9", "--server-url", "https://mcp.example.com", "--injected",
                 "--invocation-error", "timeout", "--provider-response-id", "msg_3")
    got = row(conn, "aibridge_tool_usages", uuid.UUID(out))
    assert (got["tool"], got["input"], got["provider_tool_call_id"], got["server_url"], got["injected"],
            got["invocation_error"], got["provider_response_id"]) == \
        ("github.create_pr", '{"title": "x"}', "toolu_9", "https://mcp.example.com", True, "timeout", "msg_3")


def test_client_tool_defaults(cli, conn):
    user = add_user(conn, "quinn")
    inter = add_interception(conn, user)
    got = row(conn, "aibridge_tool_usages", uuid.UUID(record(cli, "tool-usage", str(inter["id"]), "--tool", "Read")))
    assert (got["input"], got["injected"], got["server_url"], got["invocation_error"], got["provider_tool_call_id"]) == \
        ("{}", False, None, None, None)


def test_thought_from_stdin_with_source(cli, conn):
    user = add_user(conn, "rae")
    inter = add_interception(conn, user)
    r = cli("record", "thought", str(inter["id"]), "--source", "reasoning_summary", input="considering options")
    assert r.exit_code == 0 and r.stdout == ""
    got = conn.execute("SELECT interception_id, content, metadata FROM aibridge_model_thoughts").fetchall()
    assert got == [(inter["id"], "considering options", {"source": "reasoning_summary"})]
    r = cli("record", "thought", str(inter["id"]), "--content", "second", "--format", "json")
    assert json.loads(r.stdout)[0]["content"] == "second"


def test_duplicate_child_id_is_refused(cli, conn):
    user = add_user(conn, "sam")
    inter = add_interception(conn, user)
    tid = record(cli, "token-usage", str(inter["id"]), "--input-tokens", "5")
    r = cli("record", "token-usage", str(inter["id"]), "--input-tokens", "9", "--id", tid)
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert row(conn, "aibridge_token_usages", uuid.UUID(tid))["input_tokens"] == 5
