"""Access control through the CLI: each granted role runs the commands, and `--as` gives the
same answers as the role-enforced database."""

import json
import uuid

import pytest
from access_helpers import granted, role_cli
from test_access_roles import world  # noqa: F401  (fixture)


def test_recorder_records_through_the_cli_and_cannot_read_prompts(cli, conn, dsn, world):
    gw = granted(cli, world, "gw", "recorder")
    rec = role_cli(dsn, gw)
    alice = world["users"]["alice"]["username"]
    r = rec("record", "interception", "-u", alice, "--provider", "openai", "--model", "gpt-5",
            "--tool-call-id", "call_alice_1")
    assert r.exit_code == 0, r.stderr
    new = uuid.UUID(r.stdout.strip())
    row = conn.execute("SELECT thread_parent_id, thread_root_id FROM aibridge_interceptions WHERE id = %s", [new]).fetchone()
    assert row == (world["ids"]["alice"][1], world["ids"]["alice"][1])  # the lineage lookup worked
    for args in (("token-usage", new, "--input-tokens", "5", "--output-tokens", "6"),
                 ("prompt", new, "--text", "a new prompt"),
                 ("tool-usage", new, "--tool", "bash", "--input", '{"cmd": "ls"}', "--tool-call-id", "call_new"),
                 ("thought", new, "--content", "a new thought")):
        r = rec("record", *args, "-f", "json")
        assert r.exit_code == 0, (args, r.stderr)
    r = rec("record", "prompt", new, "--text", "json echo", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["prompt"] == "json echo"
    r = rec("record", "end", new)
    assert r.exit_code == 0, r.stderr
    for table in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts"):
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE interception_id = %s", [new]).fetchone()[0] >= 1, table
    assert conn.execute("SELECT ended_at IS NOT NULL FROM aibridge_interceptions WHERE id = %s", [new]).fetchone()[0]


SINCE = ("--since", "2026-10-01", "--until", "2026-12-01")
READS = [
    ("interceptions", "list", "--with-details"),
    ("interceptions", "count"),
    ("models", "list"),
    ("sessions", "list"),
    ("sessions", "count"),
    ("telemetry", "summary", *SINCE),
]


def _json(r):
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_member_role_and_as_give_the_same_answer_and_only_own_rows(cli, conn, dsn, world, args):
    alice = granted(cli, world, "alice", "member")
    via_role = _json(role_cli(dsn, alice)(*args, "-f", "json"))
    via_as = _json(cli("--as", alice, *args, "-f", "json"))
    everything = _json(cli(*args, "-f", "json"))
    assert via_role == via_as
    assert via_as != everything  # bob's data is there for the owner
    text = json.dumps(via_as)
    bob = world["users"]["bob"]
    for leak in [bob["username"], str(bob["id"]), "bob secret", "bob thinks", "gpt-5"] + [str(i) for i in world["ids"]["bob"]]:
        assert leak not in text, leak
    if args[:2] == ("interceptions", "list"):
        assert {r["id"] for r in via_as} == {str(i) for i in world["ids"]["alice"]}
        assert all(p["prompt"].startswith("alice") for r in via_as for p in r["user_prompts"])
    if args[1] == "count":
        assert via_as[0]["count"] == 2  # alice's two ended interceptions (one session each)


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_auditor_role_and_as_see_everything(cli, conn, dsn, world, args):
    audrey = granted(cli, world, "audrey", "auditor")
    everything = _json(cli(*args, "-f", "json"))
    assert _json(role_cli(dsn, audrey)(*args, "-f", "json")) == everything
    assert _json(cli("--as", audrey, *args, "-f", "json")) == everything


def test_show_pages_follow_the_rule(cli, conn, dsn, world):
    alice = granted(cli, world, "alice", "member")
    mine, theirs = world["ids"]["alice"][0], world["ids"]["bob"][0]
    via_role = role_cli(dsn, alice)
    for run in (via_role, lambda *a: cli("--as", alice, *a)):
        r = run("interceptions", "show", mine, "-f", "json")
        assert r.exit_code == 0, r.stderr
        assert str(mine) in r.stdout and "alice" in r.stdout
        r = run("interceptions", "show", theirs, "-f", "json")
        assert r.exit_code == 1 and "bob" not in r.stdout + r.stderr.replace(str(theirs), "")
        session_of_theirs = conn.execute("SELECT session_id FROM aibridge_interceptions WHERE id = %s", [theirs]).fetchone()[0]
        r = run("sessions", "show", session_of_theirs, "-f", "json")
        assert r.exit_code == 1 and "bob secret" not in r.stdout
        session_of_mine = conn.execute("SELECT session_id FROM aibridge_interceptions WHERE id = %s", [mine]).fetchone()[0]
        r = run("sessions", "show", session_of_mine, "-f", "json")
        assert r.exit_code == 0 and "alice secret prompt 0" in r.stdout, r.stderr


def test_member_and_auditor_cannot_write_or_prune(cli, conn, dsn, world):
    before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
              ("aibridge_interceptions", "aibridge_user_prompts", "aibridge_model_thoughts")}
    for who, level in (("alice", "member"), ("audrey", "auditor"), ("gw", "recorder")):
        run = role_cli(dsn, granted(cli, world, who, level))
        r = run("prune", "--before", "2026-11-15")
        assert r.exit_code == 1, (who, r.stdout, r.stderr)
        role = f"aibridge_{world['users'][who]['username']}"
        assert r.stderr.startswith("error: ") and role in r.stderr.splitlines()[0] and "Traceback" not in r.stderr, r.stderr
        assert "owner" in r.stderr or "DELETE" in r.stderr, r.stderr
        if level != "recorder":
            r = run("record", "interception", "-u", world["users"][who]["username"], "--provider", "x", "--model", "y")
            assert r.exit_code == 1 and "lacks the INSERT privilege" in r.stderr, r.stderr
            r = run("record", "end", world["ids"]["alice"][0])
            assert r.exit_code == 1 and "permission denied" in r.stderr, r.stderr
    after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
    assert after == before


def test_recorder_cannot_bulk_import_and_is_told_why(cli, conn, dsn, world, tmp_path):
    """PostgreSQL refuses COPY into tables with row-level security: bulk loads are the owner's."""
    gw = granted(cli, world, "gw", "recorder")
    i = str(uuid.uuid4())
    f = tmp_path / "records.ndjson"
    f.write_text(json.dumps({"type": "interception", "id": i, "initiator": world["users"]["alice"]["username"],
                             "provider": "openai", "model": "gpt-5", "started_at": "2026-11-20T00:00:00Z"}) + "\n" +
                 json.dumps({"type": "user_prompt", "id": str(uuid.uuid4()), "interception_id": i, "prompt": "hello",
                             "created_at": "2026-11-20T00:00:01Z"}) + "\n")
    r = role_cli(dsn, gw)("record", "import", f)
    assert r.exit_code == 1 and r.stderr.startswith("error: permission denied:") and "row-level security" in r.stderr
    assert "Traceback" not in r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE id = %s", [i]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM aibridge_user_prompts WHERE interception_id = %s", [i]).fetchone()[0] == 0
    r = cli("record", "import", f)  # the owner loads the same file
    assert r.exit_code == 0, r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE id = %s", [i]).fetchone()[0] == 1
