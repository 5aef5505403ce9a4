"""aibridge record import: every type in bulk, idempotency, lineage, and errors that write nothing."""

import json
import uuid
from datetime import timedelta

import pytest
from factories import T0, add_interception, add_thought, add_tool_usage, add_user
from import_data import at, counts, every_type, ids, ndjson, one, rejected_as_line_7, write


def test_every_type_is_written_and_reads_back(cli, conn, tmp_path):
    k, recs = every_type()
    r = cli("record", "import", write(tmp_path, recs), "--format", "json")
    assert r.exit_code == 0, r.stderr
    summary = {row["type"]: row for row in json.loads(r.stdout)}
    assert summary["tool_usage"] == {"type": "tool_usage", "lines": 2, "written": 2, "skipped": 0}
    assert counts(conn) == {"users": 1, "aibridge_interceptions": 2, "aibridge_token_usages": 1,
                            "aibridge_user_prompts": 1, "aibridge_tool_usages": 2, "aibridge_model_thoughts": 1}
    user = one(conn, "SELECT * FROM users")
    assert (str(user["id"]), user["username"], user["name"], user["email"], user["avatar_url"]) == \
        (k["uid"], "alice", "Alice", "alice@example.com", "https://example.com/a.png")
    assert sorted(user["rbac_roles"]) == ["auditor", "owner"]
    i1 = one(conn, "SELECT * FROM aibridge_interceptions WHERE id = %s", k["i1"])
    assert (str(i1["initiator_id"]), i1["client"], i1["client_session_id"], i1["api_key_id"], i1["metadata"]) == \
        (k["uid"], "Claude Code", "s-1", "k1", {"ip": "10.0.0.1"})
    assert (i1["started_at"], i1["ended_at"]) == (T0, T0 + timedelta(seconds=3))
    assert i1["thread_parent_id"] is None
    i2 = one(conn, "SELECT * FROM aibridge_interceptions WHERE id = %s", k["i2"])
    assert (str(i2["thread_parent_id"]), str(i2["thread_root_id"]), i2["session_id"]) == (k["i1"], k["i1"], k["i1"])
    assert i2["client"] == "Unknown" and i2["metadata"] == {} and i2["ended_at"] == T0 + timedelta(seconds=9)
    prompt = one(conn, "SELECT * FROM aibridge_user_prompts")
    assert (prompt["prompt"], prompt["provider_response_id"]) == ("fix\tthe\nbug \\ now", "msg_1")
    tokens = one(conn, "SELECT * FROM aibridge_token_usages")
    assert (tokens["input_tokens"], tokens["output_tokens"], tokens["metadata"]) == (1500, 40, {"cache_read_input": 1200})
    bash = one(conn, "SELECT * FROM aibridge_tool_usages WHERE id = %s", k["u1"])
    assert (json.loads(bash["input"]), bash["provider_tool_call_id"], bash["injected"], bash["server_url"]) == \
        ({"command": "ls"}, "toolu_1", False, None)
    mcp = one(conn, "SELECT * FROM aibridge_tool_usages WHERE id = %s", k["u2"])
    assert (mcp["input"], mcp["injected"], mcp["server_url"], mcp["invocation_error"], mcp["provider_response_id"]) == \
        ('{"t": 1}', True, "https://mcp.example.com", "timeout", "")
    thought = one(conn, "SELECT * FROM aibridge_model_thoughts")
    assert (thought["content"], thought["metadata"], thought["created_at"]) == \
        ("thinking about it", {"source": "thinking"}, T0 + timedelta(seconds=1))


def test_importing_twice_stores_every_record_once(cli, conn, tmp_path):
    _, recs = every_type()
    path = write(tmp_path, recs)
    assert cli("record", "import", path).exit_code == 0
    first = counts(conn)
    ended = conn.execute("SELECT id, ended_at FROM aibridge_interceptions ORDER BY id").fetchall()
    r = cli("record", "import", path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert all(row["written"] == 0 for row in json.loads(r.stdout))
    assert counts(conn) == first
    assert conn.execute("SELECT id, ended_at FROM aibridge_interceptions ORDER BY id").fetchall() == ended


def test_a_file_overlapping_a_previous_import_adds_only_the_new_records(cli, conn, tmp_path, small_batches):
    _, recs = every_type()
    assert cli("record", "import", write(tmp_path, recs[:5], "a.ndjson")).exit_code == 0
    assert counts(conn)["aibridge_tool_usages"] == 1
    r = cli("record", "import", write(tmp_path, recs, "b.ndjson"))
    assert r.exit_code == 0, r.stderr
    assert counts(conn) == {"users": 1, "aibridge_interceptions": 2, "aibridge_token_usages": 1,
                            "aibridge_user_prompts": 1, "aibridge_tool_usages": 2, "aibridge_model_thoughts": 1}


def test_same_records_on_several_lines_are_stored_once(cli, conn, tmp_path):
    _, recs = every_type()
    r = cli("record", "import", write(tmp_path, recs + recs))
    assert r.exit_code == 0, r.stderr
    assert counts(conn)["aibridge_model_thoughts"] == 1 and counts(conn)["aibridge_tool_usages"] == 2


def test_thoughts_of_stored_interceptions_are_not_duplicated(cli, conn, tmp_path):
    user = add_user(conn, "bob")
    inter = add_interception(conn, user)
    add_thought(conn, inter, "already here", created_at=T0)
    line = {"type": "model_thought", "interception_id": str(inter["id"]), "created_at": at(0)}
    path = write(tmp_path, [dict(line, content="already here"), dict(line, content="new one"),
                            dict(line, content="already here", created_at=at(5))])
    assert cli("record", "import", path).exit_code == 0
    assert cli("record", "import", path).exit_code == 0
    got = conn.execute("SELECT content, created_at FROM aibridge_model_thoughts ORDER BY content, created_at").fetchall()
    assert got == [("already here", T0), ("already here", T0 + timedelta(seconds=5)), ("new one", T0)]


def test_lineage_chains_within_the_file_and_across_batches(cli, conn, tmp_path, small_batches):
    a, b, c, d = ids(4)
    base = {"type": "interception", "initiator": "carol", "provider": "p", "model": "m"}
    recs = [
        {"type": "user", "username": "carol"},
        dict(base, id=a, started_at=at(0)),
        {"type": "tool_usage", "id": ids(1)[0], "interception_id": a, "tool": "Bash", "tool_call_id": "c-a", "created_at": at(1)},
        dict(base, id=b, tool_call_id="c-a", started_at=at(2)),
        {"type": "tool_usage", "id": ids(1)[0], "interception_id": b, "tool": "Read", "tool_call_id": "c-b", "created_at": at(3)},
        dict(base, id=c, tool_call_id="c-b", started_at=at(4)),
        dict(base, id=d, tool_call_id="c-later", started_at=at(5)),  # its tool usage comes later: no lineage
        {"type": "tool_usage", "id": ids(1)[0], "interception_id": c, "tool": "Read", "tool_call_id": "c-later", "created_at": at(6)},
    ]
    assert cli("record", "import", write(tmp_path, recs)).exit_code == 0
    got = {str(r[0]): (r[1] and str(r[1]), r[2] and str(r[2])) for r in
           conn.execute("SELECT id, thread_parent_id, thread_root_id FROM aibridge_interceptions")}
    assert got == {a: (None, None), b: (a, a), c: (b, a), d: (None, None)}


def test_lineage_against_stored_tool_usages_takes_the_newest(cli, conn, tmp_path):
    user = add_user(conn, "dora")
    root = add_interception(conn, user, started_at=T0)
    mid = add_interception(conn, user, started_at=T0 + timedelta(minutes=1), thread_parent_id=root["id"],
                           thread_root_id=root["id"])
    add_tool_usage(conn, root, provider_tool_call_id="call", created_at=T0)
    add_tool_usage(conn, mid, provider_tool_call_id="call", created_at=T0 + timedelta(minutes=1))
    other = add_interception(conn, user, started_at=T0)
    add_tool_usage(conn, other, provider_tool_call_id="call-2", created_at=T0 + timedelta(minutes=9))
    x, y = ids(2)
    base = {"type": "interception", "initiator": "dora", "provider": "p", "model": "m"}
    recs = [dict(base, id=x, tool_call_id="call", started_at=at(600)),
            # an older tool usage in the file loses against the newer stored one
            {"type": "tool_usage", "id": ids(1)[0], "interception_id": x, "tool": "t", "tool_call_id": "call-2",
             "created_at": at(60)},
            dict(base, id=y, tool_call_id="call-2", started_at=at(700))]
    assert cli("record", "import", write(tmp_path, recs)).exit_code == 0
    gx = one(conn, "SELECT thread_parent_id, thread_root_id FROM aibridge_interceptions WHERE id = %s", x)
    assert (gx["thread_parent_id"], gx["thread_root_id"]) == (mid["id"], root["id"])
    gy = one(conn, "SELECT thread_parent_id, thread_root_id FROM aibridge_interceptions WHERE id = %s", y)
    assert (gy["thread_parent_id"], gy["thread_root_id"]) == (other["id"], other["id"])


def test_ends_of_stored_interceptions(cli, conn, tmp_path):
    user = add_user(conn, "eve")
    inflight = add_interception(conn, user, started_at=T0, ended_at=None)
    done = add_interception(conn, user, started_at=T0)
    path = write(tmp_path, [{"type": "interception_end", "id": str(inflight["id"]), "ended_at": at(30)},
                            {"type": "interception_end", "id": str(done["id"]), "ended_at": at(60)}])
    r = cli("record", "import", path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    ends = {row["type"]: row for row in json.loads(r.stdout)}["interception_end"]
    assert (ends["written"], ends["skipped"]) == (1, 1)
    assert one(conn, "SELECT ended_at FROM aibridge_interceptions WHERE id = %s", inflight["id"])["ended_at"] == \
        T0 + timedelta(seconds=30)
    assert one(conn, "SELECT ended_at FROM aibridge_interceptions WHERE id = %s", done["id"])["ended_at"] == done["ended_at"]


def test_user_lines_without_id_mean_the_existing_user(cli, conn, tmp_path):
    bob = add_user(conn, "bob")
    iid = ids(1)[0]
    path = write(tmp_path, [{"type": "user", "username": "bob", "name": "Someone Else"},
                            {"type": "interception", "id": iid, "initiator": "bob", "provider": "p", "model": "m"}])
    assert cli("record", "import", path).exit_code == 0
    assert counts(conn)["users"] == 1
    assert one(conn, "SELECT initiator_id FROM aibridge_interceptions")["initiator_id"] == bob["id"]
    assert one(conn, "SELECT name FROM users")["name"] == "Bob"


def test_import_from_stdin_and_dry_run(cli, conn):
    _, recs = every_type()
    r = cli("record", "import", "-", "--dry-run", input=ndjson(recs))
    assert r.exit_code == 0, r.stderr
    assert "would write 9" in r.stderr
    assert sum(counts(conn).values()) == 0
    r = cli("record", "import", "-", input="\n" + ndjson(recs) + "\n\n")
    assert r.exit_code == 0, r.stderr
    assert counts(conn)["aibridge_interceptions"] == 2


BAD_LINES = [
    ('{"type": "user", "username": "x"', "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"username": "x"}', "missing field 'type'"),
    ('{"type": "session"}', "unknown type 'session'"),
    ('{"type": "interception", "id": "%s", "initiator": "frank", "model": "m"}' % uuid.uuid4(), "missing field 'provider'"),
    ('{"type": "token_usage", "id": "nope", "interception_id": "%s"}' % uuid.uuid4(), "id: 'nope' is not a valid UUID"),
    ('{"type": "user_prompt", "id": "%s", "interception_id": "%s", "prompt": "x", "created_at": "last tuesday"}'
     % (uuid.uuid4(), uuid.uuid4()), "created_at: 'last tuesday' is not an RFC 3339 time"),
    ('{"type": "token_usage", "id": "%s", "interception_id": "%s", "input_tokens": -3}' % (uuid.uuid4(), uuid.uuid4()),
     "input_tokens"),
    ('{"type": "tool_usage", "id": "%s", "interception_id": "%s", "tool": "t", "injected": "yes"}'
     % (uuid.uuid4(), uuid.uuid4()), "injected"),
    ('{"type": "model_thought", "interception_id": "%s", "content": "c"}' % uuid.uuid4(), "missing field 'created_at'"),
    ('{"type": "user_prompt", "id": "%s", "interception_id": "%s", "prompt": "a\\u0000b"}' % (uuid.uuid4(), uuid.uuid4()),
     "NUL"),
    ('{"type": "interception", "id": "%s", "initiator": "frank", "provider": "p", "model": "m", "colour": 1}'
     % uuid.uuid4(), "unknown field 'colour'"),
]


@pytest.mark.parametrize("bad, message", BAD_LINES)
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_written(cli, conn, tmp_path, small_batches, bad, message):
    first = rejected_as_line_7(cli, conn, tmp_path, bad)
    assert first.startswith("error: line 7: ") and message in first, first
    assert "nothing was imported" in first


def test_every_bad_line_is_counted(cli, conn, tmp_path):
    _, recs = every_type()
    text = ndjson(recs[:2]) + "{oops\n" + ndjson(recs[2:4]) + '{"type": 1}\n{"type": "x"}\n'
    r = cli("record", "import", write(tmp_path, text))
    assert r.exit_code == 2
    assert "line 3:" in r.stderr and "2 more bad lines" in r.stderr
    assert sum(counts(conn).values()) == 0


def reference_errors():
    uid, iid, other = ids(3)
    user = {"type": "user", "id": uid, "username": "gil"}
    inter = {"type": "interception", "id": iid, "initiator": "gil", "provider": "p", "model": "m", "started_at": at(10)}
    return [
        ([user, dict(inter, initiator="nobody")], 2, "unknown initiator 'nobody'"),
        ([user, dict(inter, initiator=other)], 2, f"unknown initiator '{other}'"),
        ([user, inter, {"type": "token_usage", "id": ids(1)[0], "interception_id": other}], 3,
         f"no interception {other}"),
        ([user, inter, {"type": "interception_end", "id": other}], 3, f"no interception {other}"),
        ([user, inter, {"type": "interception_end", "id": iid, "ended_at": at(0)}], 3, "before"),
        ([user, {"type": "user", "id": other, "username": "gil"}], 2, "already belongs to user"),
    ]


@pytest.mark.parametrize("recs, line, message", reference_errors())
def test_a_bad_reference_is_reported_with_its_line_and_nothing_is_written(cli, conn, tmp_path, small_batches,
                                                                           recs, line, message):
    r = cli("record", "import", write(tmp_path, recs))
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"error: line {line}: ") and message in r.stderr.splitlines()[0], r.stderr
    assert sum(counts(conn).values()) == 0


def reference_errors_beside_child_records():
    """Errors found while the batch's child records are already streaming to the server."""
    uid, iid, tid, pid = ids(4)
    user = {"type": "user", "id": uid, "username": "gus"}
    inter = {"type": "interception", "id": iid, "initiator": "gus", "provider": "p", "model": "m", "started_at": at(10)}
    token = {"type": "token_usage", "id": tid, "interception_id": iid, "input_tokens": 3, "created_at": at(11)}
    prompt = {"type": "user_prompt", "id": pid, "interception_id": iid, "prompt": "hi", "created_at": at(10)}
    return [
        ([user, token, prompt, dict(inter, initiator="nobody")], 4, "unknown initiator 'nobody'"),
        ([user, inter, token, prompt, {"type": "interception_end", "id": iid, "ended_at": at(0)}], 5, "before"),
        ([user, token, {"type": "interception_end", "id": ids(1)[0]}, inter], 3, "no interception"),
    ]


@pytest.mark.parametrize("recs, line, message", reference_errors_beside_child_records())
def test_a_bad_reference_among_child_records_writes_nothing(cli, conn, tmp_path, recs, line, message):
    r = cli("record", "import", write(tmp_path, recs))
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"error: line {line}: ") and message in r.stderr.splitlines()[0], r.stderr
    assert "Traceback" not in r.stderr
    assert sum(counts(conn).values()) == 0


def test_a_file_longer_than_the_first_batch_loads_in_order(cli, conn, tmp_path):
    """The first batch is smaller than the others: lineage and ends reach across its end."""
    recs, calls = [{"type": "user", "username": "ola"}], []
    parent = None
    for n in range(1_200):  # three lines each: the first batch (2,000 lines) ends inside the loop
        iid, tool = ids(2)
        inter = {"type": "interception", "id": iid, "initiator": "ola", "provider": "p", "model": "m",
                 "started_at": at(n)}
        if parent is not None:
            inter["tool_call_id"] = f"call_{n - 1}"
        recs += [inter, {"type": "tool_usage", "id": tool, "interception_id": iid, "tool": "Bash",
                         "tool_call_id": f"call_{n}", "created_at": at(n)},
                 {"type": "interception_end", "id": iid, "ended_at": at(n + 1)}]
        calls.append((iid, parent))
        parent = iid
    r = cli("record", "import", write(tmp_path, recs))
    assert r.exit_code == 0, r.stderr
    got = dict(conn.execute("SELECT id::text, thread_parent_id::text FROM aibridge_interceptions").fetchall())
    assert got == dict(calls)
    roots = {row[0] for row in conn.execute("SELECT DISTINCT thread_root_id::text FROM aibridge_interceptions "
                                             "WHERE thread_root_id IS NOT NULL")}
    assert roots == {calls[0][0]}
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE ended_at IS NULL").fetchone()[0] == 0


def test_unreadable_file_is_bad_input(cli, tmp_path):
    r = cli("record", "import", str(tmp_path / "missing.ndjson"))
    assert r.exit_code == 2 and "cannot read" in r.stderr


def test_a_thought_before_its_interception_and_again_in_a_later_batch_is_stored_once(cli, conn, tmp_path, small_batches):
    iid = ids(1)[0]
    thought = {"type": "model_thought", "interception_id": iid, "content": "hmm", "created_at": at(1)}
    recs = [{"type": "user", "username": "hal"}, thought,
            {"type": "interception", "id": iid, "initiator": "hal", "provider": "p", "model": "m", "started_at": at(0)},
            {"type": "user", "username": "ida"}, {"type": "user", "username": "jon"}, thought]
    assert cli("record", "import", write(tmp_path, recs)).exit_code == 0
    assert counts(conn)["aibridge_model_thoughts"] == 1


def test_an_end_in_a_later_batch_ends_an_interception_of_an_earlier_one(cli, conn, tmp_path, small_batches):
    a, b = ids(2)
    base = {"type": "interception", "initiator": "kai", "provider": "p", "model": "m", "started_at": at(0)}
    recs = [{"type": "user", "username": "kai"}, dict(base, id=a), dict(base, id=b),
            {"type": "user", "username": "lia"}, {"type": "interception_end", "id": a, "ended_at": at(5)},
            {"type": "interception_end", "id": a, "ended_at": at(50)}]
    assert cli("record", "import", write(tmp_path, recs)).exit_code == 0
    got = dict(conn.execute("SELECT id::text, ended_at FROM aibridge_interceptions").fetchall())
    assert got == {a: T0 + timedelta(seconds=5), b: None}


def test_reimporting_with_an_added_end_ends_the_stored_interception(cli, conn, tmp_path, small_batches):
    a = ids(1)[0]
    recs = [{"type": "user", "username": "mo"},
            {"type": "interception", "id": a, "initiator": "mo", "provider": "p", "model": "m", "started_at": at(0)}]
    assert cli("record", "import", write(tmp_path, recs, "a.ndjson")).exit_code == 0
    assert one(conn, "SELECT ended_at FROM aibridge_interceptions")["ended_at"] is None
    recs += [{"type": "user", "username": "ned"}, {"type": "interception_end", "id": a, "ended_at": at(8)}]
    assert cli("record", "import", write(tmp_path, recs, "b.ndjson")).exit_code == 0
    assert one(conn, "SELECT ended_at FROM aibridge_interceptions")["ended_at"] == T0 + timedelta(seconds=8)
