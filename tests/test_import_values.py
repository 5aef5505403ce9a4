"""aibridge record import's fast path (text COPY): what it lets through and what it must not —
escapes, characters beyond the BMP, unusual spellings of ids and times, lines that only look
right, invalid UTF-8, values PostgreSQL refuses."""

import json
import uuid
from datetime import timedelta

import pytest
from factories import T0
from import_data import at, counts, every_type, ids, ndjson, one, rejected_as_line_7, write

# ---- what the fast path lets through, and what it must not -----------------------------------

# COPY escapes; the text \u0000 (a backslash, not NUL); characters beyond the BMP.
TRICKY = "back\\slash\ttab\nnewline\r\ncr \\N \\t \\u0000 \\\\u0000 . 😀 𝔘 \u2028 end\\"


def test_text_copy_must_escape_and_non_bmp_characters_read_back_unchanged(cli, conn, tmp_path):
    iid, pid, tid, u1, u2 = ids(5)
    recs = [
        {"type": "user", "username": "tess", "name": TRICKY, "email": "t@example.com"},
        {"type": "interception", "id": iid, "initiator": "tess", "provider": TRICKY, "model": TRICKY,
         "client": "C\\li\tent 😀", "client_session_id": TRICKY, "api_key_id": TRICKY,
         "metadata": {"k": TRICKY, TRICKY: [TRICKY]}, "started_at": at(0)},
        {"type": "user_prompt", "id": pid, "interception_id": iid, "provider_response_id": TRICKY, "prompt": TRICKY,
         "metadata": {"m": TRICKY}, "created_at": at(1)},
        {"type": "token_usage", "id": tid, "interception_id": iid, "provider_response_id": TRICKY,
         "metadata": {"m": TRICKY}, "created_at": at(1)},
        {"type": "tool_usage", "id": u1, "interception_id": iid, "provider_response_id": TRICKY, "tool": TRICKY,
         "input": {"cmd": TRICKY}, "tool_call_id": TRICKY, "server_url": TRICKY, "invocation_error": TRICKY,
         "injected": True, "metadata": {"m": TRICKY}, "created_at": at(2)},
        {"type": "tool_usage", "id": u2, "interception_id": iid, "tool": "t", "input": TRICKY, "created_at": at(2)},
        {"type": "model_thought", "interception_id": iid, "content": TRICKY, "source": "thinking",
         "metadata": {"m": TRICKY}, "created_at": at(3)},
    ]
    # Half the lines with \u escapes (surrogate pairs for the non-BMP characters), half as raw UTF-8.
    text = "".join(json.dumps(r, ensure_ascii=i % 2 == 0) + "\n" for i, r in enumerate(recs))
    r = cli("record", "import", write(tmp_path, text))
    assert r.exit_code == 0, r.stderr
    assert one(conn, "SELECT name FROM users")["name"] == TRICKY
    got = one(conn, "SELECT provider, model, client, client_session_id, api_key_id, metadata "
                    "FROM aibridge_interceptions WHERE id = %s", iid)
    assert got == {"provider": TRICKY, "model": TRICKY, "client": "C\\li\tent 😀", "client_session_id": TRICKY,
                   "api_key_id": TRICKY, "metadata": {"k": TRICKY, TRICKY: [TRICKY]}}
    assert one(conn, "SELECT provider_response_id, prompt, metadata FROM aibridge_user_prompts") == \
        {"provider_response_id": TRICKY, "prompt": TRICKY, "metadata": {"m": TRICKY}}
    assert one(conn, "SELECT provider_response_id, metadata FROM aibridge_token_usages") == \
        {"provider_response_id": TRICKY, "metadata": {"m": TRICKY}}
    assert one(conn, "SELECT provider_response_id, tool, input, provider_tool_call_id, server_url, invocation_error, "
                     "metadata FROM aibridge_tool_usages WHERE id = %s", u1) == {
        "provider_response_id": TRICKY, "tool": TRICKY, "input": json.dumps({"cmd": TRICKY}, ensure_ascii=False),
        "provider_tool_call_id": TRICKY, "server_url": TRICKY, "invocation_error": TRICKY, "metadata": {"m": TRICKY}}
    assert one(conn, "SELECT input FROM aibridge_tool_usages WHERE id = %s", u2)["input"] == TRICKY
    assert one(conn, "SELECT content, metadata FROM aibridge_model_thoughts") == \
        {"content": TRICKY, "metadata": {"m": TRICKY, "source": "thinking"}}
    # and the thought is recognised as stored: a second import writes nothing
    r = cli("record", "import", write(tmp_path, text, "again.ndjson"))
    assert r.exit_code == 0 and "wrote 0," in r.stderr, r.stderr


def test_unusual_spellings_of_ids_and_times_are_stored_as_what_they_mean(cli, conn, tmp_path):
    iid, pid, tid = (uuid.uuid4() for _ in range(3))
    recs = [
        {"type": "user", "username": "uma"},
        # an upper-case id; a time without offset (UTC) and one with an offset PostgreSQL cannot read (+20:00)
        {"type": "interception", "id": str(iid).upper(), "initiator": "uma", "provider": "p", "model": "m",
         "started_at": "2026-11-01T12:00:00", "ended_at": "2026-11-02T08:00:05+20:00"},
        # more than six fractional digits (cut to microseconds), a space for the T
        {"type": "user_prompt", "id": str(pid), "interception_id": str(iid), "prompt": "x",
         "created_at": "2026-11-01 12:00:01.1234567+00:00"},
        # 32 hex digits without hyphens, an offset without its colon
        {"type": "token_usage", "id": tid.hex, "interception_id": str(iid).upper(),
         "created_at": "2026-11-01T12:00:02+0000"},
        {"type": "interception_end", "id": str(iid).upper(), "ended_at": at(9)},
    ]
    r = cli("record", "import", write(tmp_path, recs), "--format", "json")
    assert r.exit_code == 0, r.stderr
    got = one(conn, "SELECT id, started_at, ended_at FROM aibridge_interceptions")
    assert got == {"id": iid, "started_at": T0, "ended_at": T0 + timedelta(seconds=5)}
    assert one(conn, "SELECT id, interception_id, created_at FROM aibridge_user_prompts") == \
        {"id": pid, "interception_id": iid, "created_at": T0 + timedelta(seconds=1, microseconds=123456)}
    assert one(conn, "SELECT id, interception_id, created_at FROM aibridge_token_usages") == \
        {"id": tid, "interception_id": iid, "created_at": T0 + timedelta(seconds=2)}
    ends = {row["type"]: row for row in json.loads(r.stdout)}["interception_end"]
    assert (ends["written"], ends["skipped"]) == (0, 1)  # it had ended on its own line


@pytest.mark.parametrize("field, value", [
    ("id", "{%s}" % uuid.UUID(int=7)),                     # braces: uuid.UUID() reads them
    ("id", "urn:uuid:%s" % uuid.UUID(int=7)),
    ("id", str(uuid.UUID(int=7)).replace("0", "\uff10")),  # full-width digits: int() reads them
    ("created_at", "2026-W44-7T12:00:01+00:00"),             # an ISO week date: fromisoformat reads it
    ("created_at", "20261101T120002Z"),                      # ISO 8601 basic format
    ("created_at", "2026-11-01T12:00:0\u0663Z"),            # an Arabic-Indic digit
])
def test_loose_spellings_of_ids_and_times_are_refused(cli, conn, tmp_path, field, value):
    rec = {"type": "user_prompt", "id": str(uuid.uuid4()), "interception_id": str(uuid.uuid4()), "prompt": "x",
           field: value}
    path = tmp_path / "loose.ndjson"
    path.write_text(json.dumps(rec).replace("\\\\u", "\\u") + "\n")
    r = cli("record", "import", str(path))
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith(f"error: line 1: user_prompt: {field}: "), r.stderr
    assert one(conn, "SELECT count(*) AS n FROM aibridge_user_prompts") == {"n": 0}


LOOK_RIGHT = [
    # shaped like a UUID, but a 'g'; one digit too many
    ('{"type": "token_usage", "id": "6f1d3f6e-2b7a-4c57-9a0e-5d1b8c2f7a1g", "interception_id": "%s"}' % uuid.uuid4(),
     "id: '6f1d3f6e-2b7a-4c57-9a0e-5d1b8c2f7a1g' is not a valid UUID"),
    ('{"type": "user_prompt", "id": "%s", "interception_id": "6f1d3f6e-2b7a-4c57-9a0e-5d1b8c2f7a111", "prompt": "x"}'
     % uuid.uuid4(), "interception_id: '6f1d3f6e-2b7a-4c57-9a0e-5d1b8c2f7a111' is not a valid UUID"),
    # shaped like RFC 3339, but no such day or hour
    ('{"type": "user_prompt", "id": "%s", "interception_id": "%s", "prompt": "x", "created_at": "2026-02-30T10:00:00Z"}'
     % (uuid.uuid4(), uuid.uuid4()), "created_at: '2026-02-30T10:00:00Z' is not an RFC 3339 time"),
    ('{"type": "interception", "id": "%s", "initiator": "frank", "provider": "p", "model": "m", '
     '"started_at": "2026-11-01T25:00:00+00:00"}' % uuid.uuid4(), "started_at: '2026-11-01T25:00:00+00:00'"),
    ('{"type": "model_thought", "interception_id": "%s", "content": "c", "created_at": "2026-13-01T00:00:00Z"}'
     % uuid.uuid4(), "created_at: '2026-13-01T00:00:00Z' is not an RFC 3339 time"),
    ('{"type": "interception_end", "id": "%s", "ended_at": "2026-11-31T00:00:00+00:00"}' % uuid.uuid4(),
     "ended_at: '2026-11-31T00:00:00+00:00' is not an RFC 3339 time"),
    ('{"type": "tool_usage", "id": "%s", "interception_id": "%s", "tool": "t", "created_at": "2026-11-01T10:00:00+24:00"}'
     % (uuid.uuid4(), uuid.uuid4()), "is not an RFC 3339 time"),
    # NUL spelled inside a JSON key, a lone surrogate in a value
    ('{"type": "token_usage", "id": "%s", "interception_id": "%s", "metadata": {"a\\u0000": 1}}'
     % (uuid.uuid4(), uuid.uuid4()), "NUL"),
    ('{"type": "model_thought", "interception_id": "%s", "content": "\\ud83d alone", "created_at": "2026-11-01T10:00:00Z"}'
     % uuid.uuid4(), "unpaired UTF-16 surrogate"),
    ('{"type": "token_usage", "id": "%s", "interception_id": "%s", "output_tokens": 9223372036854775808}'
     % (uuid.uuid4(), uuid.uuid4()), "output_tokens"),
    ('{"type": "token_usage", "id": "%s", "interception_id": "%s", "output_tokens": true}'
     % (uuid.uuid4(), uuid.uuid4()), "output_tokens"),
    ('{"type": "interception", "id": "%s", "initiator": "frank", "provider": "p", "model": "m", "client": "%s"}'
     % (uuid.uuid4(), "é" * 65), "client: longer than 64 characters"),
]


@pytest.mark.parametrize("bad, message", LOOK_RIGHT)
def test_a_line_that_only_looks_right_is_reported_and_nothing_is_written(cli, conn, tmp_path, small_batches,
                                                                         bad, message):
    first = rejected_as_line_7(cli, conn, tmp_path, bad)
    assert first.startswith("error: line 7: ") and message in first, first


def test_invalid_utf8_is_reported_with_its_line(cli, conn, tmp_path):
    _, recs = every_type()
    path = tmp_path / "bytes.ndjson"
    path.write_bytes(ndjson(recs[:3]).encode() + b'{"type": "user", "username": "\xff"}\n' + ndjson(recs[3:]).encode())
    r = cli("record", "import", str(path))
    assert r.exit_code == 2 and r.stderr.startswith("error: line 4: not valid UTF-8"), r.stderr
    assert sum(counts(conn).values()) == 0


def test_a_value_postgresql_refuses_after_the_checks_names_its_line(cli, conn, tmp_path, small_batches, monkeypatch):
    """The safety net: should a check ever let through what PostgreSQL cannot read, the COPY error
    is reported with the line it came from, and nothing is written."""
    from aibridge_cli.ingest import copytext

    monkeypatch.setattr(copytext, "RFC3339", lambda text: True)  # a check that lets everything through
    _, recs = every_type()
    recs[3] = dict(recs[3], created_at="2026-11-01T12:00:02+20:00")  # PostgreSQL allows offsets up to 15:59
    r = cli("record", "import", write(tmp_path, recs))
    assert r.exit_code == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: line 4: token_usage: created_at: ") and "out of range" in first, first
    assert "Traceback" not in r.stderr
    assert sum(counts(conn).values()) == 0
