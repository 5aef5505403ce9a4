"""Terminal layouts for `aibridge interceptions`: the list table and the `show` page.

Only for the table format: long text is shortened here and nowhere else. Data comes in
as plain records (dicts); nothing here reads the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from aibridge_cli.views.formats import console, short_text

# A prompt or thought longer than this is cut on the `show` page (--format json has it all).
SHOW_TEXT_LIMIT = 2000
# The list table's columns to leave out, in this order, when the terminal is too narrow.
DROP_ORDER = ("provider", "duration", "client", "tools", "out", "in")


def duration(record: dict) -> str:
    start, end = record.get("started_at"), record.get("ended_at")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return ""
    secs = (end - start).total_seconds()
    if secs < 60:
        return f"{secs:.1f}s"
    minutes, s = divmod(int(round(secs)), 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def client_name(record: dict) -> str:
    # NULL reads as 'Unknown', as the --client filter matches it.
    return record.get("client") or "Unknown"


def _tool_names(tools: Sequence[dict]) -> str:
    counts: dict[str, int] = {}
    for t in tools:
        counts[t["tool"]] = counts.get(t["tool"], 0) + 1
    return ", ".join(name if n == 1 else f"{name}×{n}" for name, n in counts.items())


def print_interceptions(rows: Sequence[dict], *, with_details: bool = False) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    headers = ["started_at", "id", "initiator", "provider", "model", "client", "duration"]
    right = {"duration", "in", "out"}
    if with_details:
        headers += ["in", "out", "tools", "prompt"]
    body = []
    for r in rows:
        cells = [short_text(r.get("started_at")), str(r["id"]), r.get("initiator_username") or str(r["initiator_id"]),
                 r.get("provider") or "", r.get("model") or "", client_name(r), duration(r)]
        if with_details:
            tokens = r.get("token_usages") or []
            prompts = r.get("user_prompts") or []
            cells += [short_text(sum(t["input_tokens"] for t in tokens)),
                      short_text(sum(t["output_tokens"] for t in tokens)),
                      short_text(_tool_names(r.get("tool_usages") or []), 40),
                      prompts[-1]["prompt"] if prompts else ""]
        body.append(cells)
    con = console()
    # Too wide for the terminal: leave out the least telling columns first, then give the
    # prompt what the others leave (3 = the gap between two columns).
    widths = {h: max([len(h)] + [len(c[i]) for c in body]) for i, h in enumerate(headers)}
    if with_details:
        widths["prompt"] = min(widths["prompt"], 20)
    for victim in DROP_ORDER:
        if sum(widths.values()) + 3 * (len(widths) - 1) <= con.width:
            break
        if victim in widths:
            del widths[victim]
    keep = [i for i, h in enumerate(headers) if h in widths]
    headers = [headers[i] for i in keep]
    body = [[c[i] for i in keep] for c in body]
    if with_details:
        fixed = sum(widths[h] for h in headers[:-1])
        room = max(10, con.width - fixed - 3 * (len(headers) - 1))
        for c in body:
            c[-1] = short_text(c[-1], room)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
    for h in headers:
        # The id is never shortened: it is what `show` and --after-id take.
        table.add_column(h, justify="right" if h in right else "left", no_wrap=True, overflow="ellipsis",
                         min_width=36 if h == "id" else None)
    for cells in body:
        table.add_row(*[Text(c) for c in cells])  # Text: data is never read as markup
    con.print(table)


def _clip(text: str, limit: int = SHOW_TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit:,} more characters; --format json shows all)"


def _when(value: Any) -> str:
    return short_text(value) + " UTC" if isinstance(value, datetime) else ""


def _one_line(record: dict | None) -> str:
    if record is None:
        return ""
    return f"{record['id']}  {record.get('model', '')}  {_when(record.get('started_at'))}"


def print_record(record: dict) -> None:
    """The `show` page: fields, thread, then each kind of child row."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console()

    def heading(text: str) -> None:
        con.print()
        con.print(Text(text, style="bold"))

    def fields(pairs: Sequence[tuple[str, Any]]) -> None:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for k, v in pairs:
            grid.add_row(Text(k), Text(v if isinstance(v, str) else short_text(v, 10_000)))
        con.print(grid)

    def table(cols: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]]) -> None:
        t = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)
        for name, justify in cols:
            t.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")
        for row in rows:
            t.add_row(*[Text(c) for c in row])
        con.print(t)

    r = record
    con.print(Text(f"Interception {r['id']}", style="bold"))
    who = r.get("initiator_username")
    initiator = f"{who} ({r.get('initiator_name') or who})  {r['initiator_id']}" if who else \
        f"{r['initiator_id']} (no users row)"
    ended = r.get("ended_at")
    fields([
        ("initiator", initiator),
        ("provider", r.get("provider") or ""),
        ("model", r.get("model") or ""),
        ("client", client_name(r)),
        ("started", _when(r.get("started_at"))),
        ("ended", f"{_when(ended)}  ({duration(r)})" if ended else "in flight"),
        ("session", r.get("session_id") or ""),
    ] + [(label, r[key]) for label, key in (("client session", "client_session_id"), ("api key", "api_key_id"))
         if r.get(key)] + [("metadata", r.get("metadata"))])

    heading("Thread")
    children = r.get("thread_children") or []
    total = r.get("thread_children_count", len(children))
    pairs = [("parent", _one_line(r.get("thread_parent")) or (str(r["thread_parent_id"]) + " (not found)"
                                                            if r.get("thread_parent_id") else "none")),
             ("root", _one_line(r.get("thread_root")) or (str(r["thread_root_id"]) + " (not found)"
                                                        if r.get("thread_root_id") else "none (this is a root)")),
             ("children", str(total) if total else "none")]
    pairs += [("", _one_line(c)) for c in children]
    if total > len(children):
        pairs.append(("", f"… and {total - len(children):,} more"))
    fields(pairs)

    tokens = r.get("token_usages") or []
    heading(f"Token usages ({len(tokens)})  input {sum(t['input_tokens'] for t in tokens):,} · "
            f"output {sum(t['output_tokens'] for t in tokens):,}")
    if tokens:
        table([("created", "left"), ("provider response", "left"), ("input", "right"), ("output", "right"),
               ("metadata", "left")],
              [[short_text(t["created_at"]), t["provider_response_id"], short_text(t["input_tokens"]),
                short_text(t["output_tokens"]), short_text(t.get("metadata"), 200)] for t in tokens])

    prompts = r.get("user_prompts") or []
    heading(f"Prompts ({len(prompts)})")
    for p in prompts:
        con.print(Text(_when(p["created_at"]), style="dim"))
        con.print(Text(_clip(p["prompt"])))

    tools = r.get("tool_usages") or []
    heading(f"Tool usages ({len(tools)})")
    if tools:
        table([("created", "left"), ("tool", "left"), ("injected", "left"), ("server", "left"),
               ("error", "left"), ("input", "left")],
              [[short_text(t["created_at"]), t["tool"], short_text(t["injected"]), t.get("server_url") or "",
                short_text(t.get("invocation_error"), 120), short_text(t["input"], 200)] for t in tools])

    thoughts = r.get("model_thoughts") or []
    heading(f"Thoughts ({len(thoughts)})")
    for th in thoughts:
        source = (th.get("metadata") or {}).get("source") if isinstance(th.get("metadata"), dict) else None
        con.print(Text(_when(th["created_at"]) + (f"  {source}" if source else ""), style="dim"))
        con.print(Text(_clip(th["content"])))
