"""Property-based tests (Hypothesis) of the tool's edge: for every input, a parser returns a
value or raises BadInput; no message contains the DSN's password; an import line is either
imported whole or refused with one line and nothing written."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import psycopg
import pytest
import typer
from conftest import TEMPLATE, _drop_database, _fresh_database, make_cli
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from aibridge_cli.db import dsn as dsn_mod
from aibridge_cli.errors import BadInput
from aibridge_cli.ingest.limits import loads_json, strict_uuid
from aibridge_cli.options import StrictInt
from aibridge_cli.timeparse import MAX_TIME, MIN_TIME, parse_duration, parse_time

NOW = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)
FAST = settings(max_examples=200, deadline=None)
UNITS = {"ms": timedelta(milliseconds=1), "s": timedelta(seconds=1), "m": timedelta(minutes=1),
         "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def _non_ascii_digit(text: str) -> bool:
    return any(unicodedata.category(c) == "Nd" and not c.isascii() for c in text)


# ---- times and durations ------------------------------------------------------------------

@FAST
@given(st.text(max_size=40))
def test_parse_time_returns_a_time_in_range_or_bad_input(text):
    try:
        got = parse_time(text, "--since", now=NOW)
    except BadInput as e:
        assert e.message.startswith("--since")
        return
    assert got.tzinfo is not None and MIN_TIME <= got <= MAX_TIME
    assert not _non_ascii_digit(text)  # '٣d', '٢٠٢٦-...' never pass


@FAST
@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(-23 * 60 - 59, 23 * 60 + 59), st.sampled_from(["T", "t", " "]), st.booleans())
def test_rfc3339_times_mean_what_they_say(local, offset_min, sep, colon):
    tz = timezone(timedelta(minutes=offset_min))
    sign = "-" if offset_min < 0 else "+"
    hh, mm = divmod(abs(offset_min), 60)
    frac = f".{local.microsecond:06d}" if local.microsecond else ""
    text = f"{local:%Y-%m-%d}{sep}{local:%H:%M:%S}{frac}{sign}{hh:02d}{':' if colon else ''}{mm:02d}"
    got = parse_time(text, "--until", now=NOW)
    assert got == local.replace(tzinfo=tz)  # the oracle: datetime's own arithmetic


@FAST
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(UNITS))), min_size=1, max_size=4))
def test_durations_add_up_their_parts(parts):
    text = "".join(f"{n}{u}" for n, u in parts)
    want = sum((n * UNITS[u] for n, u in parts), timedelta())
    assert parse_duration(text, "--older-than") == want


@FAST
@given(st.text(max_size=30))
def test_parse_duration_returns_a_duration_or_bad_input(text):
    try:
        got = parse_duration(text, "--timeout")
    except BadInput as e:
        assert e.message.startswith("--timeout")
        return
    assert got >= timedelta(0)
    assert re.fullmatch(r"[0-9a-z \t]+", text.strip(" \t").lower(), re.ASCII)


@pytest.mark.parametrize("text", ["2026-W01", "2026-W01-1", "20261126", "20261126T093000Z", "٣d", "2026-11-2٦",
                                  "", "   ", "1e20d", "999999999999d", "0001-01-01", "9999-12-31T23:59:59-14:00"])
def test_the_named_loose_and_out_of_range_forms_are_refused(text):
    with pytest.raises(BadInput) as e:
        parse_time(text, "--since", now=NOW)
    assert "--since" in e.value.message and e.value.hint


# ---- option parsers -----------------------------------------------------------------------

@FAST
@given(st.text(max_size=25))
def test_counts_take_ascii_digits_only(text):
    parse = StrictInt(0, 1_000_000)
    try:
        n = parse(text)
    except typer.BadParameter:
        return
    assert 0 <= n <= 1_000_000
    assert n == int(text.strip(" \t")) and re.fullmatch(r"-?[0-9]+", text.strip(" \t"), re.ASCII)


@FAST
@given(st.text(max_size=40))
def test_strict_uuid_takes_ascii_hex_only(text):
    got = strict_uuid(text)
    if got is not None:
        assert got == str(uuid.UUID(got)) and not _non_ascii_digit(text)
        assert uuid.UUID(text.strip(" \t")) == uuid.UUID(got)


@FAST
@given(st.uuids(), st.sampled_from([str, lambda u: str(u).upper(), lambda u: u.hex]))
def test_strict_uuid_reads_every_ascii_spelling(u, spell):
    assert strict_uuid(spell(u)) == str(u)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=10)


@FAST
@given(st.one_of(st.text(max_size=60), JSON.map(json.dumps), st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)))
def test_json_options_parse_or_refuse_in_one_line(text):
    try:
        doc = loads_json(text, "--metadata")
    except BadInput as e:
        assert e.message.startswith("--metadata") and "\n" not in e.message
        return
    assert json.loads(text) == doc


# ---- DSNs ---------------------------------------------------------------------------------

# Any password, but one that is part of the fixed text around every message: the labels
# "error: " and "hint: " and the mask "***" cannot be masked (a password "n" is masked in the
# message, and still found in "hint").
FIXED = ("error: ", "hint: ", "***", "\n", "use " + dsn_mod.FORMS, "--dsn / AIBRIDGE_DSN: the connection string does not parse",
         "the host name is not a valid host name", "check the host part; ")
PASSWORDS = st.text(min_size=1, max_size=20).filter(lambda p: "\x00" not in p and not any(p in f for f in FIXED))


def _dsns(pw: str):
    """Well-formed and malformed DSNs that carry pw, in both accepted forms."""
    quoted = pw.replace("\\", "\\\\").replace("'", "\\'")
    return st.sampled_from([
        f"postgresql://u:{quote(pw, safe='')}@127.0.0.1:1/db",          # well-formed
        f"postgresql://u:{pw}@127.0.0.1:1/db",                          # not percent-encoded
        f"postgresql://u:{pw}@[::1/db",                                 # a bad IPv6 bracket after it
        f"postgresql://u:{quote(pw, safe='')}%zz@127.0.0.1:1/db",       # a bad percent escape in it
        f"host=127.0.0.1 port=1 user=u password='{quoted}'",             # well-formed
        f"host=127.0.0.1 port=1 user=u password='{quoted}",              # an unterminated quote
        f"host=127.0.0.1 port=1 user=u password={pw}",                  # unquoted
        f"password='{quoted}' host",                                    # a key without '='
    ])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_no_message_contains_the_dsn_password(monkeypatch, data):
    pw = data.draw(PASSWORDS)
    dsn = data.draw(_dsns(pw))
    try:
        dsn.encode("utf-8")
    except UnicodeEncodeError:
        assume(False)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    via = data.draw(st.sampled_from(["option", "env"]))
    cli = make_cli(dsn if via == "option" else None)
    r = cli("users", "list", env={"AIBRIDGE_DSN": dsn} if via == "env" else None)
    assert r.exit_code in (1, 2), r.stderr
    assert pw not in r.stderr and pw not in r.stdout, (dsn, r.stderr)
    assert quote(pw, safe="") not in r.stderr
    if r.exit_code == 2 and pw not in "--dsn / AIBRIDGE_DSN: " + dsn_mod.FORMS:  # else our own words are masked
        assert r.stderr.startswith("error: --dsn / AIBRIDGE_DSN: ") and "postgresql://" in r.stderr


@FAST
@given(PASSWORDS.filter(lambda p: not set(p) & set("@/?#[")))
def test_a_dsn_that_does_not_parse_is_bad_input_naming_both_forms(pw):
    with pytest.raises(BadInput) as e:
        dsn_mod.check(f"postgresql://u:{pw}@[::1/db")
    # the same words whatever the DSN: nothing of it is quoted
    assert e.value.message == "--dsn / AIBRIDGE_DSN: the connection string does not parse"
    assert e.value.hint == f"use {dsn_mod.FORMS}" and "postgresql://" in e.value.hint and "key=value" in e.value.hint


# ---- import lines -------------------------------------------------------------------------

TABLES = ("users", "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
          "aibridge_tool_usages", "aibridge_model_thoughts")


@pytest.fixture(scope="module")
def import_db(server_dsn, template_dsn):
    name = _fresh_database(server_dsn, TEMPLATE)
    yield make_conninfo(server_dsn, dbname=name)
    _drop_database(server_dsn, name)


def _counts(dsn):
    with psycopg.connect(dsn) as c:
        return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["2026-11-01T10:00:00Z", "2026-W44-1", "20261101", "9999-12-31T23:59:59-14:00",
                     "0001-01-01T00:00:00+14:00", "2026-11-01T10:00:00", "1969-12-31T23:59:59Z",
                     "x" * 1100, "é" * 600, "\x00", str(uuid.UUID(int=1)), "{%s}" % uuid.UUID(int=1)]),
    st.integers(60, 400).map(lambda n: json.loads("[" * n + "]" * n)),  # deeper: test_hardening_records
    JSON,
)
FIELDS = ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", "prompt", "tool", "input",
          "tool_call_id", "server_url", "injected", "invocation_error", "metadata", "created_at", "content",
          "source", "provider", "model", "client", "client_session_id", "started_at", "ended_at", "initiator",
          "thread_parent_id", "api_key_id", "unknown_field"]


def _valid(kind: str, iid: str, user: str) -> dict:
    base = {"type": kind, "id": str(uuid.uuid4()), "interception_id": iid, "created_at": "2026-11-01T10:00:01Z"}
    return {
        "interception": {"type": kind, "id": str(uuid.uuid4()), "initiator": user, "provider": "p", "model": "m",
                         "started_at": "2026-11-01T10:00:00Z"},
        "token_usage": {**base, "input_tokens": 3, "output_tokens": 4},
        "user_prompt": {**base, "prompt": "hi"},
        "tool_usage": {**base, "tool": "bash", "input": {"cmd": "ls"}},
        "model_thought": {"type": kind, "interception_id": iid, "content": "c", "created_at": "2026-11-01T10:00:02Z"},
    }[kind]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["interception", "token_usage", "user_prompt", "tool_usage", "model_thought"]),
       st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3), st.sampled_from(["", "", " x", "\xff", "}"]))
def test_an_import_line_imports_whole_or_is_refused_with_nothing_written(import_db, tmp_path, kind, changes, tail):
    user, iid = f"u{uuid.uuid4().hex[:12]}", str(uuid.uuid4())
    head = [{"type": "user", "username": user},
            {"type": "interception", "id": iid, "initiator": user, "provider": "p", "model": "m",
             "started_at": "2026-11-01T10:00:00Z"}]
    rec = {**_valid(kind, iid, user), **changes}
    text = "".join(json.dumps(r) + "\n" for r in head).encode() + json.dumps(rec).encode() + tail.encode("latin-1")
    path = tmp_path / f"{uuid.uuid4().hex}.ndjson"
    path.write_bytes(text + b"\n")
    before = _counts(import_db)
    r = make_cli(import_db)("record", "import", str(path))
    after = _counts(import_db)
    assert r.exit_code in (0, 2), r.stderr
    assert "Traceback" not in r.stderr
    if r.exit_code == 2:
        assert after == before, r.stderr  # nothing half-written
        lines = r.stderr.splitlines()
        assert lines[0].startswith("error: line ") and len(lines) <= 2, r.stderr
    else:
        assert after["users"] == before["users"] + 1 and after["aibridge_interceptions"] > before["aibridge_interceptions"]
