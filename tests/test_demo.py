"""`aibridge demo`: the data set's size, shape and lineage, reproducibility, and when it refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from factories import add_user

from aibridge_cli.db import copy_format
from aibridge_cli.demo.generator import COLUMNS, TABLES, DemoData

END = "2026-11-01T00:00:00Z"
END_DT = datetime(2026, 11, 1, tzinfo=timezone.utc)
N = 3000
SEED = 7


def counts(conn) -> dict:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def dump(conn) -> dict:
    """Every row of every table, as text, in a stable order."""
    out = {}
    for t in TABLES:
        cols = ", ".join(c for c in COLUMNS[t])
        out[t] = conn.execute(f"SELECT ({cols})::text FROM {t} ORDER BY 1").fetchall()
    return out


def truncate(conn) -> None:
    conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")  # CASCADE: boundary_logs and budgets refer to users


@pytest.fixture
def loaded(cli, conn):
    r = cli("demo", "--interceptions", N, "--seed", SEED, "--end", END)
    assert r.exit_code == 0, r.stderr
    return r


# --- size and summary ----------------------------------------------------------

def test_loads_exactly_the_requested_interceptions_and_fills_every_table(loaded, conn):
    got = counts(conn)
    assert got["aibridge_interceptions"] == N
    assert all(n > 0 for n in got.values()), got
    # About five rows per interception in all.
    assert 4 * N <= sum(got.values()) - got["users"] <= 6 * N


def test_prints_the_summary_and_next_steps_on_stderr_only(loaded, conn):
    assert loaded.stdout == ""
    got = counts(conn)
    summary = next(line for line in loaded.stderr.splitlines() if line.strip().startswith("users "))
    for table, n in got.items():
        assert f"{table} {n:,}" in summary
    assert f"--seed {SEED} --end 2026-11-01T00:00:00Z make the same data again" in loaded.stderr
    # With --dsn the suggestions remind the user to pass it too.
    for cmd in ("sessions list", "telemetry summary --since 7d", "interceptions list --limit 20"):
        assert f"  aibridge --dsn ... {cmd}\n" in loaded.stderr


def test_the_suggested_usernames_exist(loaded, conn):
    names = [line.split("--initiator ")[1].split()[0] for line in loaded.stderr.splitlines() if "--initiator " in line]
    names += [line.split("--as ")[1].split()[0] for line in loaded.stderr.splitlines() if "--as " in line]
    assert len(names) == 2
    for name in names:
        assert conn.execute("SELECT count(*) FROM users WHERE username = %s AND NOT deleted", [name]).fetchone()[0] == 1
    member = names[1]
    assert conn.execute("SELECT rbac_roles FROM users WHERE username = %s", [member]).fetchone()[0] == []


def test_users_option_sets_the_number_of_users(cli, conn):
    assert cli("demo", "-n", 500, "--users", 12, "--seed", 1, "--end", END).exit_code == 0
    # Under 20 users every initiator has a users row.
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 12
    assert conn.execute("SELECT count(DISTINCT initiator_id) FROM aibridge_interceptions").fetchone()[0] <= 12


# --- reproducibility -------------------------------------------------------------

def test_same_seed_and_end_give_identical_data_ids_included(cli, conn):
    args = ("demo", "-n", 1500, "--seed", 42, "--end", END)
    assert cli(*args).exit_code == 0
    first = dump(conn)
    truncate(conn)
    assert cli(*args).exit_code == 0
    assert dump(conn) == first
    truncate(conn)
    assert cli("demo", "-n", 1500, "--seed", 43, "--end", END).exit_code == 0
    other = dump(conn)
    assert other["aibridge_interceptions"] != first["aibridge_interceptions"]
    assert not set(other["users"]) & set(first["users"])


def test_the_printed_seed_and_end_reproduce_a_default_run(cli, conn):
    r = cli("demo", "-n", 400)
    assert r.exit_code == 0
    first = dump(conn)
    seed, end = r.stderr.split("(--seed ")[1].split(" make the same")[0].split(" --end ")
    truncate(conn)
    assert cli("demo", "-n", 400, "--seed", seed, "--end", end).exit_code == 0
    assert dump(conn) == first


def test_generator_text_does_not_depend_on_chunk_size():
    def text(size):
        gen = DemoData(2000, 5, end=END_DT)
        parts = {t: [] for t in TABLES[1:]}
        for chunk in gen.chunks(size):
            for t, s in chunk.text.items():
                parts[t].append(s)
        return gen.users_text(), {t: "".join(p) for t, p in parts.items()}

    assert text(300) == text(100_000)


def test_copy_columns_match_the_generator():
    for t in TABLES:
        assert copy_format.columns(t) == COLUMNS[t]


# --- shape of the data -------------------------------------------------------------

def q(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def test_lineage_follows_the_tool_call_ids(loaded, conn):
    children = q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE thread_parent_id IS NOT NULL")
    assert children > N / 3
    # A root has neither parent nor root; a child has both.
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions "
                   "WHERE (thread_parent_id IS NULL) <> (thread_root_id IS NULL)") == 0
    # The bridge's lookup: the newest tool usage carrying a call id names the parent. Every
    # child's parent made at least one client tool call whose id leads back to the parent.
    bad = q(conn, """
        SELECT count(*) FROM aibridge_interceptions c
        WHERE c.thread_parent_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM aibridge_tool_usages tu
            WHERE tu.interception_id = c.thread_parent_id AND NOT tu.injected
              AND tu.provider_tool_call_id IS NOT NULL
              AND (SELECT t2.interception_id FROM aibridge_tool_usages t2
                   WHERE t2.provider_tool_call_id = tu.provider_tool_call_id
                   ORDER BY t2.created_at DESC LIMIT 1) = c.thread_parent_id)""")
    assert bad == 0
    # Root rule: the parent's root, or the parent itself when it is a root.
    assert q(conn, """
        SELECT count(*) FROM aibridge_interceptions c
        LEFT JOIN aibridge_interceptions p ON p.id = c.thread_parent_id
        WHERE c.thread_parent_id IS NOT NULL
          AND (p.id IS NULL OR c.thread_root_id <> COALESCE(p.thread_root_id, p.id))""") == 0
    # A child starts after its parent ended, for the same user, client and session key.
    assert q(conn, """
        SELECT count(*) FROM aibridge_interceptions c JOIN aibridge_interceptions p ON p.id = c.thread_parent_id
        WHERE p.ended_at IS NULL OR c.started_at < p.ended_at OR c.initiator_id <> p.initiator_id
           OR c.client IS DISTINCT FROM p.client OR c.client_session_id IS DISTINCT FROM p.client_session_id""") == 0
    # Call ids are unique, so the lookup is unambiguous.
    assert q(conn, "SELECT count(*) - count(DISTINCT provider_tool_call_id) FROM aibridge_tool_usages "
                   "WHERE provider_tool_call_id IS NOT NULL") == 0


def test_session_id_falls_back_to_the_thread_root_then_the_id(loaded, conn):
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions "
                   "WHERE session_id <> COALESCE(client_session_id, thread_root_id::text, id::text)") == 0
    # Children without a session key land in their root's session.
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE client_session_id IS NULL "
                   "AND thread_root_id IS NOT NULL AND session_id = thread_root_id::text") > 0
    # Sessions with a key hold several threads.
    assert q(conn, """SELECT max(threads) FROM (
                        SELECT count(DISTINCT COALESCE(thread_root_id, id)) AS threads FROM aibridge_interceptions
                        WHERE client_session_id IS NOT NULL GROUP BY session_id, initiator_id) s""") >= 3


def test_clients_session_keys_and_in_flight(loaded, conn):
    by_client = dict(conn.execute("SELECT COALESCE(client, '<null>'), count(*) FROM aibridge_interceptions GROUP BY 1").fetchall())
    for c in ("Claude Code", "Codex", "Cursor", "Zed", "<null>"):
        assert by_client.get(c, 0) > 0, by_client
    assert by_client["Claude Code"] == max(by_client.values())
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE client_session_id IS NOT NULL") > 0
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE client_session_id IS NULL") > 0
    # Claude Code sends a key most of the time; Cursor never does.
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE client = 'Cursor' AND client_session_id IS NOT NULL") == 0
    in_flight = q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE ended_at IS NULL")
    assert 1 <= in_flight <= N / 100
    # A request still in flight has no token usage yet and no children.
    assert q(conn, """SELECT count(*) FROM aibridge_interceptions i WHERE i.ended_at IS NULL AND (
                        EXISTS (SELECT 1 FROM aibridge_token_usages t WHERE t.interception_id = i.id)
                        OR EXISTS (SELECT 1 FROM aibridge_interceptions c WHERE c.thread_parent_id = i.id))""") == 0


def test_times_spread_over_the_window_with_log_normal_durations(loaded, conn):
    lo, hi, days = conn.execute("SELECT min(started_at), max(started_at), count(DISTINCT started_at::date) "
                                "FROM aibridge_interceptions").fetchone()
    assert END_DT - timedelta(days=30) <= lo and hi <= END_DT
    assert days >= 25
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions WHERE ended_at < started_at OR ended_at > %s", END_DT) == 0
    p50, p99 = conn.execute("SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP "
                            "(ORDER BY extract(epoch FROM ended_at - started_at)) FROM aibridge_interceptions").fetchone()[0]
    assert 1 < p50 < 60 and p99 > 4 * p50
    # Child rows are stamped inside (or right at the end of) their interception.
    for table in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages", "aibridge_model_thoughts"):
        assert q(conn, f"SELECT count(*) FROM {table} x JOIN aibridge_interceptions i ON i.id = x.interception_id "
                       f"WHERE x.created_at < i.started_at OR x.created_at > COALESCE(i.ended_at, %s)", END_DT) == 0


def test_users_have_skewed_activity_roles_and_every_initiator_is_a_user(loaded, conn):
    shares = [r[0] for r in conn.execute("SELECT count(*) FROM aibridge_interceptions GROUP BY initiator_id ORDER BY 1 DESC")]
    top = shares[:max(1, len(shares) // 10)]
    assert sum(top) > 0.25 * N  # the busiest tenth make well over a tenth of the traffic
    assert shares[0] > 5 * shares[len(shares) // 2]
    roles = [r[0] for r in conn.execute("SELECT rbac_roles FROM users")]
    assert ["owner"] in roles and ["auditor"] in roles and roles.count([]) > len(roles) / 2
    missing = q(conn, "SELECT count(DISTINCT initiator_id) FROM aibridge_interceptions i "
                      "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = i.initiator_id)")
    assert missing == 0  # the initiator's foreign key (2026-08) admits no other
    assert q(conn, "SELECT count(*) - count(DISTINCT username) FROM users WHERE NOT deleted") == 0


def test_token_usage_metadata_uses_each_providers_keys(loaded, conn):
    anthropic = {"cache_read_input", "cache_creation_input", "cache_ephemeral_5m_input", "cache_ephemeral_1h_input",
                 "web_search_requests"}
    chat = {"prompt_cached", "completion_reasoning", "prompt_audio", "completion_audio",
            "completion_accepted_prediction", "completion_rejected_prediction"}
    responses = {"input_cached", "output_reasoning", "total_tokens"}
    rows = conn.execute("SELECT i.provider, i.client, t.metadata, t.input_tokens, t.output_tokens "
                        "FROM aibridge_token_usages t JOIN aibridge_interceptions i ON i.id = t.interception_id").fetchall()
    seen = {"anthropic": 0, "chat": 0, "responses": 0, "null": 0}
    for provider, client, meta, inp, out in rows:
        assert inp >= 0 and out >= 1
        if meta is None:
            seen["null"] += 1
        elif provider == "anthropic":
            assert set(meta) == anthropic
            assert meta["cache_creation_input"] == meta["cache_ephemeral_5m_input"] + meta["cache_ephemeral_1h_input"]
            seen["anthropic"] += 1
        else:
            assert provider == "openai" and set(meta) in (chat, responses), meta
            if set(meta) == responses:
                assert meta["total_tokens"] == inp + out
                seen["responses"] += 1
            else:
                seen["chat"] += 1
            if client == "Codex":
                assert set(meta) == responses
    assert all(seen.values()), seen
    assert q(conn, "SELECT count(*) FROM aibridge_token_usages WHERE (metadata->>'cache_read_input')::bigint > 0") > 0
    assert q(conn, "SELECT count(*) FROM aibridge_token_usages WHERE (metadata->>'prompt_cached')::bigint > 0") > 0


def test_tools_prompts_and_thoughts(loaded, conn):
    # Injected tools come from an MCP server and are the only ones the bridge invokes.
    assert q(conn, "SELECT count(*) FROM aibridge_tool_usages WHERE injected <> (server_url IS NOT NULL)") == 0
    assert q(conn, "SELECT count(*) FROM aibridge_tool_usages WHERE NOT injected AND invocation_error IS NOT NULL") == 0
    assert q(conn, "SELECT count(*) FROM aibridge_tool_usages WHERE injected AND invocation_error IS NOT NULL") > 0
    assert q(conn, "SELECT count(*) FROM aibridge_tool_usages WHERE injected AND invocation_error IS NULL") > 0
    for (text,) in conn.execute("SELECT DISTINCT input FROM aibridge_tool_usages"):
        json.loads(text)
    # Every thread root has the user's prompt.
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions i WHERE thread_root_id IS NULL AND NOT EXISTS "
                   "(SELECT 1 FROM aibridge_user_prompts p WHERE p.interception_id = i.id)") == 0
    assert q(conn, "SELECT count(*) FROM aibridge_user_prompts WHERE prompt LIKE %s", "%\n%") > 0  # multi-line text survives COPY
    sources = dict(conn.execute("SELECT i.provider || ':' || COALESCE(t.metadata->>'source', '<null>'), count(*) "
                                "FROM aibridge_model_thoughts t JOIN aibridge_interceptions i ON i.id = t.interception_id "
                                "GROUP BY 1").fetchall())
    assert set(sources) <= {"anthropic:thinking", "openai:reasoning_summary", "openai:commentary",
                            "anthropic:<null>", "openai:<null>"}
    assert sources.get("anthropic:thinking") and sources.get("openai:reasoning_summary")


def test_rows_come_in_time_order_like_a_real_deployment(loaded, conn):
    corr = q(conn, "SELECT correlation FROM pg_stats WHERE tablename = 'aibridge_interceptions' AND attname = 'started_at'")
    assert corr is not None and corr > 0.9


def index_definitions(conn) -> list:
    return conn.execute("SELECT tablename, indexname, indexdef FROM pg_indexes "
                        "WHERE schemaname = current_schema() ORDER BY 1, 2").fetchall()


def index_oids(conn) -> set:
    return {r[0] for r in conn.execute("SELECT indexname::regclass::oid FROM pg_indexes "
                                       "WHERE tablename = 'aibridge_interceptions'")}


def test_indexes_are_the_same_after_loading_and_appending(cli, conn):
    before = index_definitions(conn)
    assert len(before) > 20
    assert cli("demo", "-n", 600, "--seed", 3).exit_code == 0
    assert index_definitions(conn) == before
    # Appending less than the tables hold updates the indexes in place...
    oids = index_oids(conn)
    assert cli("demo", "-n", 300, "--seed", 4, "--append").exit_code == 0
    assert index_oids(conn) == oids
    assert index_definitions(conn) == before
    # ... appending more than they hold rebuilds them, the same as before.
    assert cli("demo", "-n", 1000, "--seed", 5, "--append").exit_code == 0
    assert len(index_oids(conn) - oids) == len(oids) - 1  # all but the primary key are new
    assert index_definitions(conn) == before
    assert q(conn, "SELECT count(*) FROM aibridge_interceptions") == 1900


# --- safety ------------------------------------------------------------------------

def test_refuses_a_database_with_data_and_writes_nothing(loaded, cli, conn):
    before = counts(conn)
    r = cli("demo", "-n", 100, "--seed", 99)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: the database already has users and interceptions")
    assert "--append" in r.stderr and "Traceback" not in r.stderr
    assert counts(conn) == before


def test_refuses_when_only_users_exist(cli, conn):
    add_user(conn, "alice")
    r = cli("demo", "-n", 100)
    assert r.exit_code == 1 and "already has users;" in r.stderr
    assert counts(conn)["aibridge_interceptions"] == 0 and counts(conn)["users"] == 1


def test_append_adds_and_renames_clashing_usernames(loaded, cli, conn):
    before = counts(conn)
    clash = DemoData(400, 1234, end=END_DT).usernames[0]
    add_user(conn, clash)
    r = cli("demo", "-n", 400, "--seed", 1234, "--end", END, "--append")
    assert r.exit_code == 0, r.stderr
    after = counts(conn)
    assert after["aibridge_interceptions"] == before["aibridge_interceptions"] + 400
    assert q(conn, "SELECT count(*) FROM users WHERE username = %s", clash + "-2") == 1
    # The same seed again would duplicate every id: refused, nothing written.
    again = cli("demo", "-n", 400, "--seed", 1234, "--end", END, "--append")
    assert again.exit_code == 1 and "seed 1234 is already in this database" in again.stderr
    assert counts(conn) == after


def test_refuses_a_coder_deployments_database(cli, conn):
    conn.execute("CREATE TABLE workspaces (id uuid)")
    conn.execute("CREATE TABLE templates (id uuid)")
    r = cli("demo", "-n", 100, "--append")
    assert r.exit_code == 1 and "Coder deployment" in r.stderr
    assert sum(counts(conn).values()) == 0


@pytest.mark.parametrize("args, option", [
    (("--interceptions", "0"), "--interceptions"),
    (("--interceptions", "many"), "--interceptions"),
    (("--seed", "-1"), "--seed"),
    (("--users", "0"), "--users"),
    (("--days", "0"), "--days"),
    (("--end", "last tuesday"), "--end"),
])
def test_bad_options_exit_2_and_write_nothing(cli, conn, args, option):
    r = cli("demo", *args)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: ") and option in r.stderr
    assert sum(counts(conn).values()) == 0


def test_missing_tables_are_a_clear_error(empty_dsn):
    from conftest import make_cli

    r = make_cli(empty_dsn)("demo", "-n", 10)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "aibridge db migrate" in r.stderr
