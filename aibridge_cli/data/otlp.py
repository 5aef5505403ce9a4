"""`aibridge export otlp`: ended interceptions as OpenTelemetry spans (GenAI semantic conventions),
built as the official protobuf messages (opentelemetry-proto), in batches of
ExportTraceServiceRequest; the command writes them as OTLP JSON or posts them with OTLP/HTTP.

- A session is a trace: the trace id is the session's UUID when the session key is one (thread
  root or interception id), else the first 16 bytes of the key's SHA-256. An interception is a
  CLIENT span `chat {model}` whose span id is the first 8 bytes of its UUID; its thread parent is
  its parent span when both are in the same session, a link otherwise.
- Tool calls are INTERNAL child spans `execute_tool {tool}`; prompts are span events
  `gen_ai.user.message` (left out with --no-content; masked with --redact).
- gen_ai.usage.input_tokens is the input the provider reported, summed over the interception's
  token usages; the cache tokens are reported beside it as gen_ai.usage.cache_read.input_tokens
  and gen_ai.usage.cache_creation.input_tokens. Cost is not exported yet.

Imported only by the export command: the protobuf packages are heavy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from aibridge_cli import __version__

ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)


@dataclass
class Watermark:
    """How far an incremental export got: the last (ended_at, id) sent."""
    ended_at: datetime = ZERO_TIME
    id: uuid.UUID = uuid.UUID(int=0)

    def to_json(self) -> dict:
        return {"ended_at": self.ended_at.isoformat(), "id": str(self.id)}

    @classmethod
    def from_json(cls, data: dict) -> "Watermark":
        return cls(datetime.fromisoformat(data["ended_at"]), uuid.UUID(data["id"]))


@dataclass
class Batch:
    request: ExportTraceServiceRequest
    interceptions: int
    spans: int
    last: Watermark


def trace_id(session_id: str) -> bytes:
    try:
        return uuid.UUID(session_id).bytes
    except ValueError:
        return hashlib.sha256(session_id.encode()).digest()[:16]


def span_id(id: uuid.UUID | str) -> bytes:
    return (id if isinstance(id, uuid.UUID) else uuid.UUID(str(id))).bytes[:8]


def _nanos(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


def _value(v) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def _attrs(pairs: dict) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in pairs.items() if v is not None and v != ""]


class SpanBuilder:
    def __init__(self, policy, service_name: str = "aibridge"):
        self.policy = policy
        self.resource = Resource(attributes=_attrs({"service.name": service_name}))
        self.scope = InstrumentationScope(name="aibridge", version=__version__)

    def _text(self, value: Optional[str]) -> Optional[str]:
        if value is None or not self.policy.redact:
            return value
        return self.policy.text(value)

    def interception(self, row: dict, tools: list[dict], prompts: list[dict]) -> list[Span]:
        tid = trace_id(row["session_id"])
        sid = span_id(row["id"])
        span = Span(trace_id=tid, span_id=sid, name=f"chat {row['model']}", kind=Span.SPAN_KIND_CLIENT,
                    start_time_unix_nano=_nanos(row["started_at"]), end_time_unix_nano=_nanos(row["ended_at"]))
        parent = row["thread_parent_id"]
        if parent is not None:
            if row["parent_session_id"] == row["session_id"]:
                span.parent_span_id = span_id(parent)
            elif row["parent_session_id"] is not None:
                span.links.add(trace_id=trace_id(row["parent_session_id"]), span_id=span_id(parent),
                               attributes=_attrs({"aibridge.link": "thread_parent"}))
        span.attributes.extend(_attrs({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": row["provider_name"] or row["provider"],
            "gen_ai.system": row["provider"],
            "gen_ai.request.model": row["model"],
            "gen_ai.usage.input_tokens": int(row["input_tokens"]),
            "gen_ai.usage.output_tokens": int(row["output_tokens"]),
            "gen_ai.usage.cache_read.input_tokens": int(row["cache_read_tokens"]),
            "gen_ai.usage.cache_creation.input_tokens": int(row["cache_write_tokens"]),
            "gen_ai.conversation.id": row["session_id"],
            "session.id": row["session_id"],
            "user.id": str(row["initiator_id"]),
            "user.name": row["username"],
            "aibridge.interception.id": str(row["id"]),
            "aibridge.client": row["client"],
            "aibridge.client_session_id": row["client_session_id"],
            "aibridge.thread.root_id": str(row["thread_root_id"]) if row["thread_root_id"] else None,
            "aibridge.thread.parent_id": str(parent) if parent else None,
            "aibridge.token_usages": int(row["token_usages"]),
            "error.type": row["error_type"],
        }))
        if row["error_type"]:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=self._text(row["error_message"]) or ""))
        if not self.policy.no_content:
            for p in prompts:
                span.events.add(time_unix_nano=_nanos(p["created_at"]), name="gen_ai.user.message",
                                attributes=_attrs({"gen_ai.prompt": self._text(p["prompt"]),
                                                   "aibridge.prompt.id": str(p["id"])}))
        spans = [span]
        for t in tools:
            at = _nanos(t["created_at"])
            child = Span(trace_id=tid, span_id=span_id(t["id"]), parent_span_id=sid, name=f"execute_tool {t['tool']}",
                         kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=at, end_time_unix_nano=at)
            child.attributes.extend(_attrs({
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": t["tool"],
                "gen_ai.tool.call.id": t["provider_tool_call_id"],
                "gen_ai.tool.call.arguments": None if self.policy.no_content else self._text(t["input"]),
                "aibridge.tool.injected": bool(t["injected"]),
                "aibridge.tool.server_url": t["server_url"],
                "aibridge.tool_usage.id": str(t["id"]),
            }))
            if t["invocation_error"]:
                child.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=self._text(t["invocation_error"])))
            spans.append(child)
        return spans

    def request(self, spans: list[Span]) -> ExportTraceServiceRequest:
        return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            resource=self.resource, scope_spans=[ScopeSpans(scope=self.scope, spans=spans)])])


def batches(conn, builder: SpanBuilder, *, after: Watermark, since, until, filters: dict,
            size: int) -> Iterator[Batch]:
    """Requests of at most `size` interceptions (with their tool spans), oldest end first."""
    from aibridge_cli.db import query

    rows = query.stream(conn, "ExportOtlpInterceptions", itersize=size, after_ended=after.ended_at, after_id=after.id,
                     since=since, until=until, **filters)
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield _batch(conn, builder, chunk)
            chunk = []
    if chunk:
        yield _batch(conn, builder, chunk)


def _batch(conn, builder: SpanBuilder, rows: list[dict]) -> Batch:
    from aibridge_cli.db import query

    ids = [r["id"] for r in rows]
    tools: dict = {}
    for t in query.many(conn, "ExportOtlpToolUsages", interception_ids=ids):
        tools.setdefault(t["interception_id"], []).append(t)
    prompts: dict = {}
    if not builder.policy.no_content:
        for p in query.many(conn, "ExportOtlpUserPrompts", interception_ids=ids):
            prompts.setdefault(p["interception_id"], []).append(p)
    spans: list[Span] = []
    for r in rows:
        spans += builder.interception(r, tools.get(r["id"], []), prompts.get(r["id"], []))
    last = rows[-1]
    return Batch(builder.request(spans), len(rows), len(spans), Watermark(last["ended_at"], last["id"]))


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def to_otlp_json(request: ExportTraceServiceRequest) -> str:
    """The OTLP JSON encoding: protobuf's JSON mapping with lowerCamelCase names and enums as
    integers, except that trace and span ids are hex strings rather than base64."""
    from google.protobuf import json_format

    data = json_format.MessageToDict(request, use_integers_for_enums=True)

    def fix(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in _ID_KEYS and isinstance(v, str):
                    obj[k] = base64.b64decode(v).hex()
                else:
                    fix(v)
        elif isinstance(obj, list):
            for v in obj:
                fix(v)

    fix(data)
    return json.dumps(data, separators=(",", ":"))


def send(url: str, body: bytes, headers: dict, *, retries: int, timeout: float,
         sleep: Callable[[float], None]) -> int:
    """POST one protobuf request; retry what OTLP/HTTP calls retryable (429, 502, 503, 504 and
    connection failures) with exponential backoff, honouring Retry-After. Returns the number of
    spans the receiver reports as rejected (partial success)."""
    import urllib.error
    import urllib.request

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    from aibridge_cli.errors import AibridgeError

    delay = 0.5
    for attempt in range(retries + 1):
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-protobuf", **headers})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                payload = resp.read()
            response = ExportTraceServiceResponse()
            try:
                response.ParseFromString(payload)
            except Exception:  # a receiver may answer with an empty or a JSON body
                return 0
            return int(response.partial_success.rejected_spans)
        except urllib.error.HTTPError as e:
            retryable = e.code in (429, 502, 503, 504)
            if not retryable or attempt == retries:
                text = e.read()[:200].decode("utf-8", "replace").strip()
                raise AibridgeError(f"the OTLP endpoint {url} answered {e.code} {e.reason}" + (f": {text}" if text else ""),
                                    hint="check --endpoint and --header (authentication)" if not retryable
                                    else "the receiver is busy or down; the next run resends from the state file") from None
            wait = e.headers.get("Retry-After") if e.headers else None
            pause = float(wait) if wait and wait.isdigit() else delay
        except (urllib.error.URLError, OSError) as e:
            if attempt == retries:
                reason = getattr(e, "reason", e)
                raise AibridgeError(f"cannot reach the OTLP endpoint {url}: {reason}",
                                    hint="check --endpoint and that the collector is running") from None
            pause = delay
        sleep(min(pause, 30.0))
        delay *= 2
    return 0  # unreachable
