"""The import tests' helpers: record files, table counts, and one of every record type."""

import json
import uuid
from datetime import timedelta

from factories import T0

TABLES = ("users", "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
          "aibridge_tool_usages", "aibridge_model_thoughts")


def counts(conn):
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def ids(n):
    return [str(uuid.uuid4()) for _ in range(n)]


def at(seconds):
    return (T0 + timedelta(seconds=seconds)).isoformat()


def ndjson(records):
    return "".join(json.dumps(r) + "\n" for r in records)


def write(tmp_path, records, name="records.ndjson"):
    path = tmp_path / name
    path.write_text(records if isinstance(records, str) else ndjson(records))
    return str(path)


def one(conn, sql, *args):
    cur = conn.execute(sql, args)
    names = [d.name for d in cur.description]
    got = cur.fetchone()
    return None if got is None else dict(zip(names, got))


def every_type():
    uid, i1, i2, t1, p1, u1, u2 = ids(7)
    return {"uid": uid, "i1": i1, "i2": i2, "t1": t1, "p1": p1, "u1": u1, "u2": u2}, [
        {"type": "user", "id": uid, "username": "alice", "name": "Alice", "email": "alice@example.com",
         "avatar_url": "https://example.com/a.png", "roles": ["owner", "auditor"]},
        {"type": "interception", "id": i1, "initiator": "alice", "provider": "anthropic", "model": "claude-sonnet-4",
         "client": "Claude Code", "client_session_id": "s-1", "api_key_id": "k1", "started_at": at(0),
         "metadata": {"ip": "10.0.0.1"}},
        {"type": "user_prompt", "id": p1, "interception_id": i1, "provider_response_id": "msg_1",
         "prompt": "fix\tthe\nbug \\ now", "created_at": at(0)},
        {"type": "token_usage", "id": t1, "interception_id": i1, "provider_response_id": "msg_1",
         "input_tokens": 1500, "output_tokens": 40, "metadata": {"cache_read_input": 1200}, "created_at": at(2)},
        {"type": "tool_usage", "id": u1, "interception_id": i1, "provider_response_id": "msg_1", "tool": "Bash",
         "input": {"command": "ls"}, "tool_call_id": "toolu_1", "created_at": at(2)},
        {"type": "tool_usage", "id": u2, "interception_id": i1, "tool": "github.create_pr", "input": '{"t": 1}',
         "server_url": "https://mcp.example.com", "injected": True, "invocation_error": "timeout", "created_at": at(2)},
        {"type": "model_thought", "interception_id": i1, "content": "thinking about it", "source": "thinking",
         "created_at": at(1)},
        {"type": "interception_end", "id": i1, "ended_at": at(3)},
        {"type": "interception", "id": i2, "initiator_id": uid, "provider": "anthropic", "model": "claude-sonnet-4",
         "tool_call_id": "toolu_1", "started_at": at(4), "ended_at": at(9)},
    ]


def rejected_as_line_7(cli, conn, tmp_path, bad):
    """Import every_type() with `bad` as its 7th line: bad input (exit 2), no traceback and not
    a row written; returns the first line of stderr for the caller's own checks."""
    _, recs = every_type()
    r = cli("record", "import", write(tmp_path, ndjson(recs[:6]) + bad + "\n" + ndjson(recs[6:])))
    assert r.exit_code == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert sum(counts(conn).values()) == 0
    return r.stderr.splitlines()[0]
