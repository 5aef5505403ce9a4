"""`aibridge export otlp`: the OTLP JSON parses into the official proto definitions with the values
the database holds; --endpoint posts protobuf that a receiver decodes, retrying a busy one;
--state sends only what ended since; --as and the privacy options shape the spans."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from factories import T0, add_interception, add_prompt, add_token_usage, add_tool_usage, add_user
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

END = "2026-11-01T00:00:00Z"


def parse_lines(text: str) -> list[ExportTraceServiceRequest]:
    """OTLP JSON lines into the official messages: ids are hex in OTLP JSON, base64 in protobuf's."""
    def unhex(obj):
        if isinstance(obj, dict):
            return {k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId") else unhex(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [unhex(v) for v in obj]
        return obj

    out = []
    for line in text.splitlines():
        data = json.loads(line)
        assert "resourceSpans" in data  # lowerCamelCase names, as OTLP JSON requires
        out.append(json_format.ParseDict(unhex(data), ExportTraceServiceRequest()))
    return out


def spans_of(requests) -> list[Span]:
    return [s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def attrs(span: Span) -> dict:
    out = {}
    for kv in span.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


def test_demo_spans_parse_into_the_official_protos_with_the_databases_values(cli, conn, tmp_path):
    r = cli("demo", "--interceptions", 200, "--days", 3, "--seed", 5, "--end", END)
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "spans.jsonl"
    r = cli("export", "otlp", "-o", str(out), "--batch-size", 64)
    assert r.exit_code == 0, r.stderr
    requests = parse_lines(out.read_text())
    ended = conn.execute("SELECT count(*) FROM aibridge_interceptions WHERE ended_at IS NOT NULL").fetchone()[0]
    assert len(requests) == -(-ended // 64)
    spans = spans_of(requests)
    chats = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    tools = [s for s in spans if s.kind == Span.SPAN_KIND_INTERNAL]
    assert len(chats) == ended
    assert len(tools) == conn.execute("""SELECT count(*) FROM aibridge_tool_usages t JOIN aibridge_interceptions i
                                         ON i.id = t.interception_id WHERE i.ended_at IS NOT NULL""").fetchone()[0]
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    assert all((t.trace_id, t.parent_span_id) in by_id for t in tools)  # every tool span hangs off its interception
    db = {str(row[0]): row for row in conn.execute("""
        SELECT i.id, i.session_id, i.model, i.provider, i.started_at, i.ended_at, u.username,
               (SELECT coalesce(sum(input_tokens), 0) FROM aibridge_token_usages WHERE interception_id = i.id),
               (SELECT coalesce(sum(output_tokens), 0) FROM aibridge_token_usages WHERE interception_id = i.id)
        FROM aibridge_interceptions i LEFT JOIN users u ON u.id = i.initiator_id WHERE i.ended_at IS NOT NULL""")}
    for span in chats:
        a = attrs(span)
        id_, session, model, provider, started, ended_at, username, tin, tout = db[a["aibridge.interception.id"]]
        assert span.name == f"chat {model}"
        assert (a["gen_ai.request.model"], a["gen_ai.system"], a["user.name"]) == (model, provider, username)
        assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (tin, tout)
        assert a["session.id"] == session and span.trace_id == uuid.UUID(session).bytes
        assert span.span_id == id_.bytes[:8]
        assert span.start_time_unix_nano == int(started.timestamp() * 1e6) * 1000
        assert span.end_time_unix_nano == int(ended_at.timestamp() * 1e6) * 1000
    # Thread parents in the same session are parent spans that exist in the export.
    parented = [s for s in chats if s.parent_span_id]
    assert parented and all((s.trace_id, s.parent_span_id) in by_id for s in parented)


class Receiver:
    """A tiny OTLP/HTTP receiver on 127.0.0.1: answers 503 to the first `busy` requests."""

    def __init__(self, busy: int = 0, status: int = 200):
        self.bodies, self.busy, self.status, self.paths, self.headers = [], busy, status, [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.headers.append(dict(self.headers))
                if receiver.busy > 0:
                    receiver.busy -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                if receiver.status != 200:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"no such tenant")
                    return
                receiver.bodies.append(body)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list[Span]:
        reqs = []
        for b in self.bodies:
            req = ExportTraceServiceRequest()
            req.ParseFromString(b)
            reqs.append(req)
        return spans_of(reqs)


@pytest.fixture
def small(conn):
    alice, bob = add_user(conn, "alice"), add_user(conn, "bob")
    root = add_interception(conn, alice, model="claude-opus-4")
    child = add_interception(conn, alice, started_at=T0 + timedelta(seconds=5), thread_parent_id=root["id"],
                             thread_root_id=root["id"])
    add_token_usage(conn, child, input_tokens=11, output_tokens=22, metadata={"cache_read_input": 5})
    add_tool_usage(conn, child, "read_file", input='{"path": "/etc/passwd", "token": "password=hunter22"}',
                   invocation_error="boom", provider_tool_call_id="call_1")
    add_prompt(conn, child, "the key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")
    b = add_interception(conn, bob, provider="openai", model="gpt-5")
    add_interception(conn, bob, ended_at=None)  # in flight: not a span yet
    return {"alice": alice, "bob": bob, "root": root, "child": child, "b": b}


def test_endpoint_receives_protobuf_in_batches_and_a_busy_receiver_is_retried(cli, small):
    with Receiver(busy=1) as rx:
        r = cli("export", "otlp", "--endpoint", rx.url, "--batch-size", 2, "--header", "Authorization=Bearer t0k")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert len(rx.bodies) == 2 and len(rx.paths) == 3  # the 503 was retried
    assert set(rx.paths) == {"/v1/traces"}
    assert all(h["Content-Type"] == "application/x-protobuf" and h["Authorization"] == "Bearer t0k" for h in rx.headers)
    spans = rx.spans()
    chats = {attrs(s)["aibridge.interception.id"]: s for s in spans if s.kind == Span.SPAN_KIND_CLIENT}
    assert set(chats) == {str(small[k]["id"]) for k in ("root", "child", "b")}
    child = chats[str(small["child"]["id"])]
    assert child.parent_span_id == chats[str(small["root"]["id"])].span_id
    a = attrs(child)
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"], a["gen_ai.usage.cache_read.input_tokens"]) == (11, 22, 5)
    tool = next(s for s in spans if s.kind == Span.SPAN_KIND_INTERNAL)
    assert tool.name == "execute_tool read_file" and tool.parent_span_id == child.span_id
    assert tool.status.code == tool.status.STATUS_CODE_ERROR and attrs(tool)["gen_ai.tool.call.id"] == "call_1"
    assert [e.name for e in child.events] == ["gen_ai.user.message"]

    with Receiver(status=401) as rx:
        r = cli("export", "otlp", "--endpoint", rx.url)
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "401" in r.stderr and "Traceback" not in r.stderr


def test_state_sends_only_what_ended_since(cli, conn, small, tmp_path):
    state = tmp_path / "otlp-state.json"
    first = tmp_path / "1.jsonl"
    r = cli("export", "otlp", "-o", str(first), "--state", str(state))
    assert r.exit_code == 0, r.stderr
    assert len([s for s in spans_of(parse_lines(first.read_text())) if s.kind == Span.SPAN_KIND_CLIENT]) == 3
    flight = conn.execute("SELECT id FROM aibridge_interceptions WHERE ended_at IS NULL").fetchone()[0]
    conn.execute("UPDATE aibridge_interceptions SET ended_at = now() WHERE id = %s", [flight])
    second = tmp_path / "2.jsonl"
    r = cli("export", "otlp", "-o", str(second), "--state", str(state))
    assert r.exit_code == 0, r.stderr
    assert [attrs(s)["aibridge.interception.id"] for s in spans_of(parse_lines(second.read_text()))] == [str(flight)]
    third = tmp_path / "3.jsonl"
    assert cli("export", "otlp", "-o", str(third), "--state", str(state)).exit_code == 0
    assert third.read_text() == ""
    r = cli("export", "otlp", "-o", str(third), "--state", str(state), "--provider", "openai")
    assert r.exit_code == 2 and "other filters" in r.stderr


def test_as_and_privacy_shape_the_spans(cli, small):
    r = cli("--as", "bob", "export", "otlp")
    assert r.exit_code == 0, r.stderr
    spans = spans_of(parse_lines(r.stdout))
    assert {attrs(s)["user.name"] for s in spans} == {"bob"}

    r = cli("--no-content", "export", "otlp")
    spans = spans_of(parse_lines(r.stdout))
    assert all(not s.events for s in spans)
    assert all("gen_ai.tool.call.arguments" not in attrs(s) for s in spans)

    r = cli("--redact", "export", "otlp")
    assert "hunter22" not in r.stdout and "sk-ant-api03" not in r.stdout
    assert "[REDACTED:anthropic_key]" in r.stdout

    for args, text in ((("--endpoint", "ftp://x"), "http(s)"), (("--header", "novalue"), "NAME=VALUE"),
                       (("--endpoint", "http://x", "-o", "f.json"), "not both")):
        r = cli("export", "otlp", *args)
        assert r.exit_code == 2 and r.stderr.startswith("error: ") and text in r.stderr, r.stderr
