"""The deployment as it is today (2026-08, issue 15): the same commands on three layouts (the
embedded one after all migrations, a deployment still on the seed's layout, and a real 2026-08
deployment built from the spec's schema), and agreement with aibridge-2026-08.sql's queries."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import psycopg
import pytest

import deployment
import factories
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
