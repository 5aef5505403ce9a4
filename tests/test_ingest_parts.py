"""The pure parts behind `record` and `record import`: lineage rules, the progress bar, and the
named records a parsed line becomes (checked against the line itself, not against the parser)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

from aibridge_cli.ingest import lineage
from aibridge_cli.ingest.batch import ChildRow, InterceptionLine, ToolCall
from aibridge_cli.ingest.lines import Parser
from aibridge_cli.views.progress import ProgressBar

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
A, B, C = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", \
    "cccccccc-0000-4000-8000-000000000003"


def test_a_given_root_stands_and_a_missing_one_is_the_parents_root_or_the_parent():
    roots = {A: None, B: A}  # A starts its thread; B belongs to A's
    root_of = roots.get
    assert lineage.thread(None, None, root_of) == (None, None)
    assert lineage.thread(A, None, root_of) == (A, A)
    assert lineage.thread(B, None, root_of) == (B, A)
    assert lineage.thread(C, None, root_of) == (C, C)  # not known: the parent is the root
    assert lineage.thread(B, C, root_of) == (B, C)


def test_the_newest_call_wins_and_a_tie_goes_to_the_file():
    stored = lineage.CallSite(T0, A)
    assert lineage.newest_call(None, []) is None
    assert lineage.newest_call(stored, []) == stored
    older = lineage.CallSite(T0 - timedelta(seconds=1), B)
    assert lineage.newest_call(stored, [older]) == stored
    assert lineage.newest_call(stored, [lineage.CallSite(T0, B)]).interception_id == B
    assert lineage.newest_call(None, [older, lineage.CallSite(T0, C)]).interception_id == C


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_on_a_terminal_only():
    quiet = io.StringIO()
    with ProgressBar("loading", 10, unit="interceptions", stream=quiet) as bar:
        bar.advance(5)
        bar.update(description="indexing")
    assert not bar.shown and quiet.getvalue() == ""

    term = _Terminal()
    with ProgressBar("loading", 10, unit="interceptions", stream=term) as bar:
        bar.advance(5)
        bar.update(description="indexing", detail="12 rows")
    assert bar.shown and term.getvalue()
    off = _Terminal()
    with ProgressBar("loading", 10, stream=off, enabled=False) as bar:
        bar.advance(1)
    assert off.getvalue() == ""


def test_parsed_lines_become_named_records_that_match_the_line():
    parser = Parser(T0)
    inter = {"type": "interception", "id": A, "initiator": "alice", "provider": "openai", "model": "gpt-5",
             "started_at": "2026-11-01T11:00:00Z", "tool_call_id": "call_1", "client_session_id": "s1"}
    tool = {"type": "tool_usage", "id": B, "interception_id": A, "tool": "Bash", "input": {"cmd": "ls"},
            "tool_call_id": "call_1", "created_at": "2026-11-01T11:00:01+00:00"}
    token = {"type": "token_usage", "id": C, "interception_id": A, "input_tokens": 3, "output_tokens": 4,
             "metadata": {"cache_read_input": 2}}
    for n, obj in enumerate((inter, tool, token), start=1):
        parser.parse(json.dumps(obj), n)
    batch = parser.take()

    [i] = batch.inters
    assert isinstance(i, InterceptionLine)
    assert (i.line, i.id, i.initiator, i.initiator_id, i.tool_call_id) == (1, A, "alice", None, "call_1")
    assert i.started_at == datetime(2026, 11, 1, 11, tzinfo=timezone.utc) and i.ended_at is None
    assert i.session == "s1" and i.head.split("\t")[:2] == ["openai", "gpt-5"]

    [t] = batch.rows["tool_usage"]
    assert isinstance(t, ChildRow) and (t.line, t.id, t.interception_id) == (2, B, A)
    cols = t.copy.rstrip("\n").split("\t")
    assert cols[:2] == [B, A] and cols[-1] == "call_1"
    assert json.loads(cols[5]) == {"cmd": "ls"} and cols[5] == json.dumps({"cmd": "ls"}, ensure_ascii=False)
    assert batch.calls == [ToolCall(2, "call_1", datetime(2026, 11, 1, 11, 0, 1, tzinfo=timezone.utc), A)]

    [k] = batch.rows["token_usage"]
    cols = k.copy.rstrip("\n").split("\t")
    assert (k.line, k.id, k.interception_id) == (3, C, A) and cols[3:5] == ["3", "4"]
    assert cols[5] == json.dumps({"cache_read_input": 2}, separators=(",", ":"))
    assert cols[6] == T0.isoformat()  # no created_at: the import's now
    assert batch.refs == {A}


def test_flat_objects_encode_as_json_dumps_does():
    """plain_json against json.dumps on random flat objects of what a backslash-free line can
    hold; anything else (nesting, floats, null) is left to the encoder."""
    import random

    from aibridge_cli.ingest.lines import plain_json

    rnd = random.Random(13)
    alphabet = [chr(c) for c in range(0x20, 0x250) if chr(c) not in '"\\'] + ["é", "名", "😀", "\u2028", "\x7f"]

    def text() -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 12)))

    for _ in range(500):
        d = {}
        for _ in range(rnd.randrange(0, 6)):
            d[text()] = rnd.choice([text(), rnd.randrange(-10**20, 10**20), True, False])
        assert plain_json(d, ":", ",") == json.dumps(d, ensure_ascii=False, separators=(",", ":"))
        assert plain_json(d, ": ", ", ") == json.dumps(d, ensure_ascii=False)
    for other in ({"a": 1.5}, {"a": None}, {"a": [1]}, {"a": {"b": 1}}):
        assert plain_json(other, ":", ",") is None


def test_the_fast_path_refuses_whatever_the_shared_checkers_refuse():
    """The import's fast path accepts a line only when fields.py (the rules `record ...` uses)
    accepts it too, and its errors come from fields.py: random mutations of good lines of every
    type, checked against fields.py's own answer."""
    import random

    from aibridge_cli.errors import BadInput
    from aibridge_cli.ingest import fields

    good = {
        "interception": {"type": "interception", "id": A, "initiator": "alice", "provider": "openai",
                         "model": "gpt-5", "started_at": "2026-11-01T11:00:00Z", "ended_at": "2026-11-01T11:00:05Z",
                         "client": "Codex", "client_session_id": "s", "api_key_id": "k", "metadata": {"a": 1}},
        "interception_end": {"type": "interception_end", "id": A, "ended_at": "2026-11-01T11:00:05+00:00"},
        "token_usage": {"type": "token_usage", "id": B, "interception_id": A, "input_tokens": 1, "output_tokens": 2,
                        "provider_response_id": "r", "metadata": {}, "created_at": "2026-11-01T11:00:01Z"},
        "user_prompt": {"type": "user_prompt", "id": B, "interception_id": A, "prompt": "hi",
                        "created_at": "2026-11-01T11:00:01Z"},
        "tool_usage": {"type": "tool_usage", "id": B, "interception_id": A, "tool": "Bash", "input": "{}",
                       "tool_call_id": "c", "server_url": "u", "injected": True, "invocation_error": "e",
                       "created_at": "2026-11-01T11:00:01Z"},
        "model_thought": {"type": "model_thought", "interception_id": A, "content": "hmm", "source": "thinking",
                          "created_at": "2026-11-01T11:00:01Z"},
    }
    odd_values = [None, "", " ", "x" * 300, -1, 2**63, 1.5, True, [], {}, {"k": [1]}, "2026-02-30T00:00:00Z",
                  "2026-11-01T10:00:00Z", "2026-11-01T11:00:00", "2026-11-01T11:00:00+16:00", A.upper(), "not-a-uuid",
                  C, "commentary", "reasoning", "a\x00b"]
    rnd = random.Random(7)
    refused = 0
    for _ in range(3000):
        kind = rnd.choice(list(good))
        obj = dict(good[kind])
        for _ in range(rnd.randrange(1, 3)):
            key = rnd.choice([k for k in obj if k != "type"] + ["extra"])
            value = rnd.choice(odd_values)
            if value is None and rnd.random() < 0.5:
                obj.pop(key, None)
            else:
                obj[key] = value
        try:
            fields.CHECKERS[kind](dict(obj), T0)
            ok = True
        except fields.FieldError:
            ok = False
        try:
            Parser(T0).parse(json.dumps(obj), 1)
            parsed = True
        except BadInput:
            parsed = False
        refused += not ok
        if "\\u0000" in json.dumps(obj):  # the import refuses a NUL anywhere in the line, before any field rule
            assert not parsed
        else:
            assert parsed == ok, (kind, json.dumps(obj))
    assert refused > 300  # the mutations did reach the rules
