"""The deployment as it is today (2026-08, issue 15): the same commands on three layouts (the
embedded one after all migrations, a deployment still on the seed's layout, and a real 2026-08
deployment built from the spec's schema), and agreement with aibridge-2026-08.sql's queries."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import deployment
import factories
import psycopg
import pytest
from conftest import make_cli
from factories import T0

CACHE_KEYS = ("cache_read_input", "input_cached", "prompt_cached")


def has_column(conn, table, column) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                        "AND column_name = %s)", [table, column]).fetchone()[0]


def add_user(conn, layout, username, **kw):
    if layout == "deploy2026":
        return deployment.add_coder_user(conn, username, **kw)
    return factories.add_user(conn, username, **kw)


def add_interception(conn, layout, user, **kw):
    if layout == "deploy2026":
        return deployment.add_interception(conn, user, **kw)
    return factories.add_interception(conn, user, **kw)


def expected_cache(meta, read_col, write_col):
    """The one rule, by hand: the column above zero, else the greatest numeric metadata key."""
    def num(k):
        v = (meta or {}).get(k)
        return v if isinstance(v, int) and not isinstance(v, bool) else 0

    read = read_col if read_col > 0 else max(num(k) for k in CACHE_KEYS)
    write = write_col if write_col > 0 else num("cache_creation_input")
    return read, write


def random_cache_rows(rnd):
    metas = [None, {}, {"input_cached": 293}, {"prompt_cached": 40, "input_cached": 7},
             {"cache_read_input": 12, "cache_creation_input": 30}, {"input_cached": "x", "prompt_cached": 5},
             {"cache_read_input": 3, "input_cached": 90, "prompt_cached": 60, "cache_creation_input": 4}]
    return [(rnd.choice(metas), rnd.choice([0, 0, rnd.randrange(1, 500)]), rnd.choice([0, 0, rnd.randrange(1, 50)]))
            for _ in range(rnd.randrange(1, 5))]


@pytest.mark.parametrize("seed", [1, 2])
def test_one_cache_rule_in_telemetry_sessions_and_show(layout_dsn, seed):
    """Telemetry, `sessions show` and `interceptions show` count the same cached tokens, the
    rule's (by hand) on every layout: the columns where present, else the metadata."""
    layout, dsn = layout_dsn
    rnd = random.Random(seed)
    run = make_cli(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = has_column(conn, "aibridge_token_usages", "cache_read_input_tokens")
        assert columns == (layout != "seed")
        user = add_user(conn, layout, "codex-user")
        want_read = want_write = 0
        per_interception = {}
        for k in range(6):
            i = add_interception(conn, layout, user, provider="openai", model="gpt-5", client="Codex",
                                 client_session_id="codex-sess", started_at=T0 + timedelta(minutes=k))
            rows = random_cache_rows(rnd)
            got_r = got_w = 0
            for meta, read_col, write_col in rows:
                if not columns:
                    read_col = write_col = 0
                if layout == "deploy2026":
                    deployment.add_token_usage(conn, i, metadata=meta, cache_read=read_col, cache_write=write_col)
                else:
                    t = factories.add_token_usage(conn, i, metadata=meta)
                    if columns:
                        conn.execute("UPDATE aibridge_token_usages SET cache_read_input_tokens = %s, "
                                     "cache_write_input_tokens = %s WHERE id = %s", [read_col, write_col, t["id"]])
                r, w = expected_cache(meta, read_col, write_col)
                got_r, got_w = got_r + r, got_w + w
            per_interception[str(i["id"])] = (got_r, got_w)
            want_read, want_write = want_read + got_r, want_write + got_w
    assert want_read > 0

    tel = run("telemetry", "summary", "--since", (T0 - timedelta(hours=1)).isoformat(),
              "--until", (T0 + timedelta(hours=1)).isoformat(), "-f", "json")
    assert tel.exit_code == 0, tel.stderr
    row = json.loads(tel.stdout)[0]
    assert (row["token_count_cached_read"], row["token_count_cached_written"]) == (want_read, want_write)

    show = run("sessions", "show", "codex-sess", "-f", "json")
    assert show.exit_code == 0, show.stderr
    tree = json.loads(show.stdout)
    assert (tree["cache_read_tokens"], tree["cache_write_tokens"]) == (want_read, want_write)

    for iid, (r, w) in per_interception.items():
        rec = json.loads(run("interceptions", "show", iid, "-f", "json").stdout)
        toks = rec["token_usages"]
        assert (sum(t["cache_read_tokens"] for t in toks), sum(t["cache_write_tokens"] for t in toks)) == (r, w)


# ---------------------------------------------------------------- writes

def test_users_add_refuses_a_coder_users_table_and_writes_nothing(deploy_dsn):
    run = make_cli(deploy_dsn)
    r = run("users", "add", "newbie", "--email", "newbie@example.com")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: users add: this database's users table is Coder's own")
    assert "hint: create the user in Coder" in r.stderr and "Traceback" not in r.stderr
    with psycopg.connect(deploy_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_users_add_still_works_on_the_embedded_and_seed_layouts(dsn, seed_dsn):
    for d in (dsn, seed_dsn):
        r = make_cli(d)("users", "add", "newbie")
        assert r.exit_code == 0, r.stderr
        with psycopg.connect(d) as conn:
            assert conn.execute("SELECT username FROM users").fetchall() == [("newbie",)]


def _record_session(run, user):
    """One interception with everything the 2026-08 layout holds, written by `aibridge record`."""
    fw = str(uuid.uuid4())
    iid = run("record", "interception", "-u", user, "--provider", "openai", "--model", "gpt-5", "--client", "Codex",
              "--credential-kind", "byok", "--credential-hint", "sk-a***efgh", "--firewall-session-id", fw,
              "--firewall-sequence", "7", "--started-at", T0.isoformat())
    assert iid.exit_code == 0, iid.stderr
    iid = iid.stdout.strip()
    tok = run("record", "token-usage", iid, "--input-tokens", "1000", "--output-tokens", "20",
              "--metadata", '{"input_cached": 700, "prompt_cached": 5}', "--created-at", T0.isoformat())
    assert tok.exit_code == 0, tok.stderr
    tool = run("record", "tool-usage", iid, "--tool", "web_search", "--provider-item-id", "ws_123",
               "--created-at", T0.isoformat())
    assert tool.exit_code == 0, tool.stderr
    end = run("record", "end", iid, "--ended-at", (T0 + timedelta(seconds=3)).isoformat(),
              "--error-type", "rate_limited", "--error-message", "429 Too Many Requests")
    assert end.exit_code == 0, end.stderr
    return iid, fw


def test_record_writes_the_2026_08_columns(newer_layout_dsn):
    """Embedded and a real 2026-08 deployment: every newer column lands as the deployment's
    own insert and end queries would store it; provider_name defaults to the provider.
    (The seed layout refuses these options: test_record_refuses_newer_fields_on_the_seed_layout.)"""
    layout, dsn = newer_layout_dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        add_user(conn, layout, "rita")
    run = make_cli(dsn)
    iid, fw = _record_session(run, "rita")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT provider_name, credential_kind::text, credential_hint, agent_firewall_session_id::text, "
                           "agent_firewall_sequence_number, error_type::text, error_message FROM aibridge_interceptions "
                           "WHERE id = %s", [iid]).fetchone()
        assert row == ("openai", "byok", "sk-a***efgh", fw, 7, "rate_limited", "429 Too Many Requests")
        tok = conn.execute("SELECT cache_read_input_tokens, cache_write_input_tokens FROM aibridge_token_usages").fetchone()
        assert tok == (700, 0)  # the greatest of the metadata's cache keys
        assert conn.execute("SELECT provider_item_id FROM aibridge_tool_usages").fetchone() == ("ws_123",)
    shown = run("interceptions", "show", iid)
    assert "ws_123" in shown.stdout and "rate_limited: 429 Too Many Requests" in shown.stdout
    assert "cache read 700" in shown.stdout
    tree = _json(run, "sessions", "show", iid)  # no client session: the session is the interception
    assert tree["threads"][0]["interceptions"][0]["tool_usages"][0]["provider_item_id"] == "ws_123"
    # --provider-name overrides the default, and the columns can be given outright.
    r = run("record", "interception", "-u", "rita", "--provider", "openai", "--provider-name", "openai-eu",
            "--model", "gpt-5")
    t = run("record", "token-usage", r.stdout.strip(), "--cache-read-tokens", "9", "--metadata", '{"input_cached": 3}')
    assert r.exit_code == t.exit_code == 0, r.stderr + t.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT provider_name FROM aibridge_interceptions WHERE id = %s",
                            [r.stdout.strip()]).fetchone() == ("openai-eu",)
        assert conn.execute("SELECT cache_read_input_tokens FROM aibridge_token_usages WHERE id = %s",
                            [t.stdout.strip()]).fetchone() == (9,)


@pytest.mark.parametrize("args, option", [
    (("record", "interception", "-u", "sam", "--provider", "openai", "--model", "m", "--credential-kind", "byok"),
     "--credential-kind"),
    (("record", "interception", "-u", "sam", "--provider", "openai", "--model", "m", "--provider-name", "x"),
     "--provider-name"),
])
def test_record_refuses_newer_fields_on_the_seed_layout(seed_dsn, args, option):
    with psycopg.connect(seed_dsn, autocommit=True) as conn:
        factories.add_user(conn, "sam")
    r = make_cli(seed_dsn)(*args)
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {option}: this database has the seed's layout")
    with psycopg.connect(seed_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0] == 0


def test_record_on_the_seed_layout_works_as_before(seed_dsn):
    with psycopg.connect(seed_dsn, autocommit=True) as conn:
        factories.add_user(conn, "sam")
    run = make_cli(seed_dsn)
    iid = run("record", "interception", "-u", "sam", "--provider", "openai", "--model", "gpt-5").stdout.strip()
    assert run("record", "token-usage", iid, "--metadata", '{"input_cached": 4}').exit_code == 0
    assert run("record", "end", iid).exit_code == 0
    bad = run("record", "end", iid, "--error-type", "timeout")
    assert bad.exit_code == 2 and "--error-type" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (("--credential-kind", "sso"), "--credential-kind: expected centralized or byok"),
    (("--credential-hint", "x" * 16), "--credential-hint"),
    (("--firewall-sequence", "3"), "needs agent_firewall_session_id"),
])
def test_record_interception_checks_the_newer_options(dsn, args, message):
    with psycopg.connect(dsn, autocommit=True) as conn:
        factories.add_user(conn, "sam")
    r = make_cli(dsn)("record", "interception", "-u", "sam", "--provider", "openai", "--model", "m", *args)
    assert r.exit_code == 2 and message in r.stderr, r.stderr


def test_import_writes_the_newer_fields_and_fills_the_defaults(layout_dsn, tmp_path):
    layout, dsn = layout_dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        add_user(conn, layout, "ivy")
    a, b, t1, t2, tool = (str(uuid.uuid4()) for _ in range(5))
    fw = str(uuid.uuid4())
    plain = [  # the seed's fields only: the fast path
        {"type": "interception", "id": a, "initiator": "ivy", "provider": "anthropic", "model": "claude",
         "started_at": T0.isoformat()},
        {"type": "token_usage", "id": t1, "interception_id": a, "input_tokens": 10,
         "metadata": {"cache_read_input": 40, "cache_creation_input": 6}},
        {"type": "interception_end", "id": a, "ended_at": (T0 + timedelta(seconds=1)).isoformat()},
    ]
    newer = [  # the 2026-08 fields: the checked path
        {"type": "interception", "id": b, "initiator": "ivy", "provider": "openai", "provider_name": "openai-eu",
         "model": "gpt-5", "started_at": T0.isoformat(), "credential_kind": "byok", "credential_hint": "sk-***1",
         "agent_firewall_session_id": fw, "agent_firewall_sequence_number": 2},
        {"type": "token_usage", "id": t2, "interception_id": b, "metadata": {"input_cached": 300},
         "cache_write_input_tokens": 4},
        {"type": "tool_usage", "id": tool, "interception_id": b, "tool": "web_search", "provider_item_id": "ws_1"},
        {"type": "interception_end", "id": b, "ended_at": (T0 + timedelta(seconds=2)).isoformat(),
         "error_type": "overloaded", "error_message": "529"},
    ]
    path = tmp_path / "in.ndjson"
    run = make_cli(dsn)
    if layout == "seed":
        path.write_text("".join(json.dumps(x) + "\n" for x in plain + newer))
        r = run("record", "import", str(path))
        assert r.exit_code == 2 and "provider_name needs the 2026-08 layout" in r.stderr, r.stderr
        path.write_text("".join(json.dumps(x) + "\n" for x in plain))
        assert run("record", "import", str(path)).exit_code == 0
        return
    path.write_text("".join(json.dumps(x) + "\n" for x in plain + newer))
    r = run("record", "import", str(path))
    assert r.exit_code == 0, r.stderr
    with psycopg.connect(dsn) as conn:
        got = {str(i): rest for i, *rest in conn.execute(
            "SELECT id, provider_name, credential_kind::text, credential_hint, agent_firewall_session_id::text, "
            "agent_firewall_sequence_number, error_type::text, error_message, ended_at IS NOT NULL "
            "FROM aibridge_interceptions")}
        assert got[a] == ["anthropic", "centralized", "", None, None, None, None, True]
        assert got[b] == ["openai-eu", "byok", "sk-***1", fw, 2, "overloaded", "529", True]
        toks = dict((str(i), (r, w)) for i, r, w in conn.execute(
            "SELECT id, cache_read_input_tokens, cache_write_input_tokens FROM aibridge_token_usages"))
        assert toks == {t1: (40, 6), t2: (300, 4)}
        assert conn.execute("SELECT provider_item_id FROM aibridge_tool_usages").fetchall() == [("ws_1",)]


def test_import_refuses_user_lines_into_a_coder_users_table(deploy_dsn, tmp_path):
    path = tmp_path / "u.ndjson"
    path.write_text(json.dumps({"type": "user", "username": "zed"}) + "\n")
    r = make_cli(deploy_dsn)("record", "import", str(path))
    assert r.exit_code == 2 and "users table is Coder's own" in r.stderr, r.stderr


# ---------------------------------------------------------------- reads

@pytest.fixture
def newer_data(layout_dsn):
    """Two providers' instances, a byok request, a failed one; written as each layout's writer would."""
    layout, dsn = layout_dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        u = add_user(conn, layout, "nora")
        rows = []
        for k, (name, err, kind) in enumerate([("openai", None, "centralized"), ("openai-eu", "rate_limited", "byok"),
                                               ("openai-eu", None, "centralized")]):
            kw = {"provider": "openai", "model": "gpt-5", "client": "Codex", "client_session_id": f"s{k % 2}",
                  "started_at": T0 + timedelta(minutes=k)}
            if layout == "deploy2026":
                kw.update(provider_name=name, error_type=err, error_message=err and "429", credential_kind=kind,
                          credential_hint="sk-***9" if kind == "byok" else "")
            i = add_interception(conn, layout, u, **kw)
            if layout == "embedded":
                conn.execute("UPDATE aibridge_interceptions SET provider_name = %s, error_type = %s, error_message = %s, "
                             "credential_kind = %s, credential_hint = %s WHERE id = %s",
                             [name, err, err and "429", kind, "sk-***9" if kind == "byok" else "", i["id"]])
            rows.append((str(i["id"]), name, err))
    return layout, dsn, rows


def _json(run, *args):
    r = run(*args, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_provider_name_and_failed_filters(newer_data):
    layout, dsn, rows = newer_data
    run = make_cli(dsn)
    window = ("--since", (T0 - timedelta(hours=1)).isoformat(), "--until", (T0 + timedelta(hours=1)).isoformat())
    if layout == "seed":
        for args in (("interceptions", "list", "--provider-name", "openai-eu"), ("sessions", "list", "--failed"),
                     ("telemetry", "summary", "--provider-name", "x")):
            r = run(*args)
            assert r.exit_code == 2 and "seed's layout" in r.stderr, r.stderr
        # Without them, every command works as before and shows none of the newer fields.
        got = _json(run, "interceptions", "list")
        assert len(got) == 3 and "provider_name" not in got[0]
        assert "interception_failed_count" not in _json(run, "telemetry", "summary", *window)[0]
        return
    eu = {i for i, name, _ in rows if name == "openai-eu"}
    failed = {i for i, _, err in rows if err}
    assert {g["id"] for g in _json(run, "interceptions", "list", "--provider-name", "openai-eu")} == eu
    assert {g["id"] for g in _json(run, "interceptions", "list", "--failed")} == failed
    assert _json(run, "interceptions", "count", "--provider-name", "openai-eu", "--failed") == [{"count": len(eu & failed)}]
    assert {s["session_id"] for s in _json(run, "sessions", "list", "--failed")} == {"s1"}
    assert _json(run, "sessions", "count", "--provider-name", "openai") == [{"count": 1}]
    tel = _json(run, "telemetry", "summary", *window)
    assert [(t["interception_count"], t["interception_failed_count"]) for t in tel] == [(3, 1)]
    assert _json(run, "telemetry", "summary", *window, "--provider-name", "openai-eu")[0]["interception_count"] == 2


def test_show_has_the_newer_fields(newer_data):
    layout, dsn, rows = newer_data
    run = make_cli(dsn)
    failed_id = rows[1][0]
    rec = _json(run, "interceptions", "show", failed_id)
    tree = _json(run, "sessions", "show", "s1")
    node = next(n for t in tree["threads"] for n in t["interceptions"] if n["id"] == failed_id)
    table = run("interceptions", "show", failed_id).stdout
    if layout == "seed":
        assert "error_type" not in rec and "error_type" not in node and "credential" not in table
        return
    assert (rec["provider_name"], rec["error_type"], rec["error_message"]) == ("openai-eu", "rate_limited", "429")
    assert (rec["credential_kind"], rec["credential_hint"]) == ("byok", "sk-***9")
    assert {k: node[k] for k in ("provider_name", "credential_kind", "credential_hint", "error_type", "error_message")} == {
        "provider_name": "openai-eu", "credential_kind": "byok", "credential_hint": "sk-***9",
        "error_type": "rate_limited", "error_message": "429"}
    assert "rate_limited: 429" in table and "byok sk-***9" in table and "openai-eu" in table
    assert "rate_limited: 429" in run("sessions", "show", "s1").stdout


# ---------------------------------------------------------------- agreement with aibridge-2026-08.sql
# The deployment's own queries, read from the spec at test time and translated by the project's
# sqlc translator, run on the same rows (written by the deployment's own insert queries).

@pytest.fixture
def deployed(deploy_dsn):
    """Two users; sessions with threads, prompts, cache tokens written as columns, firewall calls."""
    rnd = random.Random(7)
    with psycopg.connect(deploy_dsn, autocommit=True) as conn:
        users = [deployment.add_coder_user(conn, n) for n in ("ann", "ben")]
        fw = uuid.uuid4()
        seq = 0
        sessions = {}
        for s in range(5):
            user = users[s % 2]
            root = None
            for k in range(rnd.randrange(1, 5)):
                start = T0 + timedelta(minutes=10 * s + k)
                seq += 1 + rnd.randrange(3)
                i = deployment.add_interception(
                    conn, user, provider=rnd.choice(["openai", "anthropic"]), model="m", client=rnd.choice(
                        ["Codex", None, "Claude Code"]), client_session_id=f"sess-{s}", started_at=start,
                    thread_parent_id=root and root["id"], thread_root_id=root and root["id"],
                    firewall_session_id=fw if s < 3 else None, firewall_sequence=seq if s < 3 else None)
                if rnd.random() < 0.5:
                    root = root or i
                meta = rnd.choice([{"input_cached": 50}, {"cache_read_input": 9, "cache_creation_input": 2}, None])
                r, w = expected_cache(meta, 0, 0)
                deployment.add_token_usage(conn, i, input_tokens=rnd.randrange(100), output_tokens=3, metadata=meta,
                                           cache_read=r, cache_write=w)
                if rnd.random() < 0.7:
                    deployment.add_prompt(conn, i, f"p{s}{k}", created_at=start + timedelta(seconds=rnd.randrange(50)))
                if s < 3:
                    for _ in range(rnd.randrange(3)):
                        seq += 1
                        deployment.add_boundary_log(
                            conn, fw, seq, created_at=start + timedelta(seconds=seq),
                            detail=rnd.choice(["https://github.com/x", "http://pypi.org:443/simple", "registry.npmjs.org"]),
                            matched_rule=rnd.choice([None, "domain=*"]))
            sessions[f"sess-{s}"] = user
    return deploy_dsn, sessions


def test_clients_list_agrees_with_the_deployment(deployed):
    dsn, _ = deployed
    with psycopg.connect(dsn) as conn:
        ref = {r["client"] for r in deployment.run_reference(conn, "ListAIBridgeClients", client="", limit_=0, offset_=0)}
        ref_prefix = {r["client"] for r in deployment.run_reference(conn, "ListAIBridgeClients", client="C",
                                                                    limit_=0, offset_=0)}
    got = _json(make_cli(dsn), "clients", "list")
    assert [g["client"] for g in got] == sorted(ref) and "Unknown" in ref
    assert {g["client"] for g in _json(make_cli(dsn), "clients", "list", "--prefix", "C")} == ref_prefix


def test_sessions_by_last_activity_agree_with_the_deployment(deployed):
    dsn, _ = deployed
    with psycopg.connect(dsn) as conn:
        ref = deployment.run_reference(conn, "ListAIBridgeSessions", after_session_id="", limit_=0, offset_=0)
    got = _json(make_cli(dsn), "sessions", "list", "--sort", "last-active")
    pairs = [("session_id", "session_id"), ("user_username", "user_username"), ("last_active_at", "last_active_at"),
             ("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
             ("cache_read_tokens", "cache_read_input_tokens"), ("cache_write_tokens", "cache_write_input_tokens"),
             ("network_calls_total", "network_calls_total"), ("network_calls_blocked", "network_calls_blocked"),
             ("firewall_active", "firewall_active"), ("threads", "threads"), ("last_prompt", "last_prompt")]
    from aibridge_cli.views.formats import to_json_value

    want = [{ours: to_json_value(r[theirs]) for ours, theirs in pairs} for r in ref]
    assert [{ours: g[ours] for ours, _ in pairs} for g in got] == want
    assert any(w["network_calls_total"] for w in want) and any(not w["firewall_active"] for w in want)
    # Paged by offset, the pages add up to the same order.
    run = make_cli(dsn)
    pages = _json(run, "sessions", "list", "--sort", "last-active", "--limit", "2") + \
        _json(run, "sessions", "list", "--sort", "last-active", "--limit", "2", "--offset", "2") + \
        _json(run, "sessions", "list", "--sort", "last-active", "--limit", "2", "--offset", "4")
    assert [p["session_id"] for p in pages] == [w["session_id"] for w in want]


def test_sessions_list_keeps_the_seed_order_by_default(deployed):
    dsn, _ = deployed
    got = _json(make_cli(dsn), "sessions", "list")
    assert [g["started_at"] for g in got] == sorted((g["started_at"] for g in got), reverse=True)
    assert "last_active_at" not in got[0]


def test_session_threads_page_as_the_deployment_pages_them(deployed):
    dsn, sessions = deployed
    run = make_cli(dsn)
    for sid in sessions:
        with psycopg.connect(dsn) as conn:
            ref = deployment.run_reference(conn, "ListAIBridgeSessionThreads", session_id=sid, limit_=0)
        ref_threads = list(dict.fromkeys(str(r["thread_id"]) for r in ref))
        full = _json(run, "sessions", "show", sid)
        seen, after = [], None
        while True:
            args = ["sessions", "show", sid, "--limit", "1"] + (["--after-thread", after] if after else [])
            page = _json(run, *args)
            assert (page["input_tokens"], page["cache_read_tokens"]) == (full["input_tokens"], full["cache_read_tokens"])
            if not page["threads"]:
                break
            seen += [str(t["thread_root_id"]) for t in page["threads"]]
            after = seen[-1]
        assert seen == ref_threads
        if len(ref_threads) > 1:
            before = _json(run, "sessions", "show", sid, "--before-thread", ref_threads[-1])
            assert [str(t["thread_root_id"]) for t in before["threads"]] == ref_threads[:-1]
        # Each thread's totals are its interceptions' tokens.
        for t in full["threads"]:
            nodes, stack = [], list(t["interceptions"])
            while stack:
                n = stack.pop()
                nodes.append(n)
                stack += n["children"]
            assert t["cache_read_tokens"] == sum(n["cache_read_tokens"] for n in nodes)
            assert t["input_tokens"] == sum(n["input_tokens"] for n in nodes)


def test_session_network_calls_agree_with_the_deployment(deployed):
    dsn, sessions = deployed
    run = make_cli(dsn)
    for sid in sessions:
        with psycopg.connect(dsn) as conn:
            calls = deployment.run_reference(conn, "ListAIBridgeSessionNetworkCalls", session_id=sid, limit_=0)
            top = deployment.run_reference(conn, "GetAIBridgeSessionTopDomains", session_id=sid, limit_=0)
        got = _json(run, "sessions", "show", sid, "--network")
        assert [c["id"] for c in got["network_calls"]] == [str(c["id"]) for c in calls]
        assert [(d["domain"], d["count"]) for d in got["top_domains"]] == [(d["domain"], d["count"]) for d in top]
        assert got["total_domains"] == (top[0]["total_domains"] if top else 0)
    table = run("sessions", "show", "sess-0", "--network").stdout
    assert "Network calls" in table and "Top hosts" in table


def test_network_needs_boundary_logs(seed_dsn):
    with psycopg.connect(seed_dsn, autocommit=True) as conn:
        u = factories.add_user(conn, "sam")
        factories.add_interception(conn, u, client_session_id="s")
    r = make_cli(seed_dsn)("sessions", "show", "s", "--network")
    assert r.exit_code == 2 and "boundary_logs" in r.stderr


def test_telemetry_agrees_with_the_deployments_summary(deployed):
    """On rows the deployment wrote (cache columns filled), the one cache rule gives the
    deployment's own numbers: its per-group query, which reads only the columns."""
    dsn, _ = deployed
    after, before = T0 - timedelta(hours=1), T0 + timedelta(hours=2)
    with psycopg.connect(dsn) as conn:
        groups = deployment.run_reference(conn, "ListAIBridgeInterceptionsTelemetrySummaries",
                                          ended_at_after=after, ended_at_before=before)
        want = {}
        for g in groups:
            row = deployment.run_reference(conn, "CalculateAIBridgeInterceptionsTelemetrySummary", ended_at_after=after,
                                           ended_at_before=before, **g)[0]
            want[(g["provider"], g["model"], g["client"])] = row
    got = _json(make_cli(dsn), "telemetry", "summary", "--since", after.isoformat(), "--until", before.isoformat())
    from aibridge_cli.data.telemetry import STAT_COLUMNS

    assert {(r["provider"], r["model"], r["client"]): {c: r[c] for c in STAT_COLUMNS} for r in got} == {
        k: {c: v[c] for c in STAT_COLUMNS} for k, v in want.items()}


def test_a_recorder_role_writes_the_newer_columns(dsn):
    """`db grant --role recorder` covers the 2026-08 columns the record commands write."""
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(dsn, autocommit=True) as conn:
        factories.add_user(conn, "gw")
        factories.add_user(conn, "pat")
    admin = make_cli(dsn)
    r = admin("db", "grant", "gw", "--role", "recorder")
    assert r.exit_code == 0, r.stderr
    rec = make_cli(make_conninfo(dsn, user="aibridge_gw"))  # the login role `db grant` made for gw
    iid = rec("record", "interception", "-u", "pat", "--provider", "openai", "--model", "gpt-5",
              "--credential-hint", "sk-***2")
    assert iid.exit_code == 0, iid.stderr
    iid = iid.stdout.strip()
    for args in (("tool-usage", iid, "--tool", "web_search", "--provider-item-id", "ws_9"),
                 ("token-usage", iid, "--metadata", '{"input_cached": 8}'),
                 ("end", iid, "--error-type", "timeout", "--error-message", "upstream timed out")):
        r = rec("record", *args)
        assert r.exit_code == 0, (args, r.stderr)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT error_type::text, error_message FROM aibridge_interceptions WHERE id = %s",
                            [iid]).fetchone() == ("timeout", "upstream timed out")
