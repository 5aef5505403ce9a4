"""`aibridge export otlp` (registered by commands/export.py): interceptions as OpenTelemetry spans, to an OTLP JSON file or an
OTLP/HTTP endpoint (an OpenTelemetry Collector, Langfuse, Grafana Tempo, ...)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from aibridge_cli.commands.export_scope import need, scope
from aibridge_cli.errors import AibridgeError, BadInput
from aibridge_cli.options import ClientOpt, InitiatorOpt, ModelOpt, ProviderOpt, note, parse_time, read_db

STATE_VERSION = 1


def otlp_cmd(
    ctx: typer.Context,
    output: str = typer.Option("-", "--output", "-o", metavar="FILE",
                               help="Write OTLP JSON here, one ExportTraceServiceRequest per line ('-': stdout)."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", metavar="URL",
                                           help="Send with OTLP/HTTP (protobuf) to this collector instead; "
                                                "/v1/traces is appended unless the URL ends with it."),
    headers: list[str] = typer.Option([], "--header", "-H", metavar="NAME=VALUE",
                                      help="An HTTP header for --endpoint, e.g. authentication (repeatable)."),
    batch_size: int = typer.Option(200, "--batch-size", min=1, max=10_000, help="Interceptions per request."),
    retries: int = typer.Option(5, "--retries", min=0, max=20,
                                help="Retries of a request the endpoint refuses as busy (429, 502-504) or cannot take."),
    state: Optional[Path] = typer.Option(None, "--state", metavar="FILE",
                                         help="Incremental: remember the last interception sent here; the next run "
                                              "sends only those that ended since."),
    service_name: str = typer.Option("aibridge", "--service-name", help="The spans' service.name."),
    since: Optional[str] = typer.Option(None, "--since", help="Only interceptions started at or after this time."),
    until: Optional[str] = typer.Option(None, "--until", help="Only interceptions started before this time."),
    initiator: Optional[str] = InitiatorOpt,
    provider: Optional[str] = ProviderOpt,
    model: Optional[str] = ModelOpt,
    client: Optional[str] = ClientOpt,
):
    """Ended interceptions as OpenTelemetry spans (GenAI semantic conventions): a trace per session,
    a span per interception, a child span per tool call, prompts as events. To a collector:
    --endpoint http://localhost:4318 (OTLP/HTTP, protobuf).

    Examples:

    \b
      aibridge export otlp -o spans.jsonl
      aibridge export otlp --since 24h --state otlp-state.json -o recent.jsonl
      aibridge --redact export otlp --model claude-sonnet-4-5-20250929 --batch-size 50
    """
    need("opentelemetry.proto")
    from aibridge_cli.data import otlp
    from aibridge_cli.views.export import otlp_summary

    if endpoint and output != "-":
        raise BadInput("give either --output or --endpoint, not both", hint="--endpoint sends; --output writes a file")
    url = _traces_url(endpoint) if endpoint else None
    extra = _headers(headers)
    after, before = parse_time(since, "--since"), parse_time(until, "--until")
    with read_db(ctx) as conn:
        sc = scope(ctx, conn, initiator, provider, model, client)
        sig = sc.signature
        saved = _load_state(state, sig)
        builder = otlp.SpanBuilder(sc.policy, service_name)
        stream = otlp.batches(conn, builder, after=saved, since=after, until=before, filters=sc.filters.params(),
                              size=batch_size)
        totals = [0, 0, 0, 0]  # interceptions, spans, batches, rejected
        if url:
            for batch in stream:
                totals[3] += otlp.send(url, batch.request.SerializeToString(), extra, retries=retries, timeout=30.0,
                                       sleep=time.sleep)
                _count(totals, batch)
                _save_state(state, sig, batch.last)
            where = url
        else:
            last = None
            with _output(output) as out:
                for batch in stream:
                    out.write(otlp.to_otlp_json(batch.request) + "\n")
                    _count(totals, batch)
                    last = batch.last
            if last is not None:
                _save_state(state, sig, last)
            where = "stdout" if output == "-" else output
    note(otlp_summary(totals[1], totals[0], totals[2], where))
    if totals[3]:
        note(f"warning: the endpoint rejected {totals[3]:,} span(s) (OTLP partial success)")


def _count(totals: list, batch) -> None:
    totals[0] += batch.interceptions
    totals[1] += batch.spans
    totals[2] += 1


def _traces_url(endpoint: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"--endpoint: {endpoint!r} is not an http(s) URL", hint="e.g. --endpoint http://localhost:4318")
    return endpoint if parts.path.rstrip("/").endswith("/v1/traces") else endpoint.rstrip("/") + "/v1/traces"


def _headers(values: list[str]) -> dict:
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--header: {v!r} is not NAME=VALUE", hint="e.g. --header 'Authorization=Basic ...'")
        out[name.strip()] = value.strip()
    return out


def _load_state(path: Optional[Path], sig: dict):
    from aibridge_cli.data.otlp import Watermark

    if path is None or not path.exists():
        return Watermark()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        mark = Watermark.from_json(data["watermark"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise AibridgeError(f"cannot read the OTLP export state {path}: {e}",
                            hint="move the file away to export everything again") from None
    if data.get("version") != STATE_VERSION or data.get("filters") != sig:
        raise BadInput(f"{path} belongs to an export with other filters or privacy options",
                       hint="use another --state file for this export")
    return mark


def _save_state(path: Optional[Path], sig: dict, mark) -> None:
    if path is None:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": STATE_VERSION, "filters": sig, "watermark": mark.to_json()}, indent=1),
                   encoding="utf-8")
    os.replace(tmp, path)


class _output:
    """stdout, or a file written under a temporary name and renamed into place when complete."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        if self.name == "-":
            return sys.stdout
        path = Path(self.name)
        if path.is_dir():
            raise BadInput(f"--output: {path} is a directory", hint="give a file name, e.g. -o spans.jsonl")
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.file = open(self.tmp, "w", encoding="utf-8")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        if self.name == "-":
            return False
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.name)
        else:
            self.tmp.unlink(missing_ok=True)
        return False
