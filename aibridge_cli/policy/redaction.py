"""`--redact`, `--redact-pattern` and `--no-content`: what of prompts, tool inputs and thoughts
reaches the output.

Content is recognised by key, wherever it sits in a row or a nested record: `prompt`,
`last_prompt`, `input` (tool inputs), `content` (thoughts); `--redact` also masks
`invocation_error`, which often echoes the input. The root callback builds one Policy per
invocation and keeps it in the Typer context; `options.emit` applies it to every listed row and
the show commands call `options.scrub` on what they print, so every format gets the same treatment.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Optional, Sequence

from aibridge_cli.errors import BadInput

# Free text from a model, a user or a tool: what --no-content leaves out and --redact masks.
# An error text is free text too (a tool's or provider's error often echoes the input); where a
# terminal view keeps the key, a left-out error still shows that there was one.
ERROR_KEYS = frozenset({"invocation_error", "error_message"})
CONTENT_KEYS = frozenset({"prompt", "last_prompt", "input", "content"}) | ERROR_KEYS
REDACT_KEYS = CONTENT_KEYS
LEFT_OUT = "[left out]"
MASK = "[REDACTED]"

# (kind, pattern, group to mask or 0 for the whole match). Order matters: the more specific
# first (an Anthropic key is also an `sk-` key; a URL's password part before e-mail addresses).
_BUILTIN: list[tuple[str, str, int]] = [
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", 0),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}", 0),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", 0),
    ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}", 0),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", 0),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    ("aws_secret_key", r"(?i)(aws_secret_access_key[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})", 2),
    ("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", 0),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", 0),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", 0),
    ("bearer_token", r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})", 2),
    ("url_password", r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(?=@)", 2),
    ("secret_value", r"(?i)(\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
                     r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]{4,})", 2),
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", 0),
]
BUILTIN = [(kind, re.compile(rx), group) for kind, rx, group in _BUILTIN]


class Policy:
    def __init__(self, redact: bool = False, patterns: Sequence[str] = (), no_content: bool = False):
        self.no_content = no_content
        self.extra = [_compile(p) for p in patterns]
        self.redact = redact or bool(self.extra)

    @property
    def active(self) -> bool:
        return self.redact or self.no_content

    def text(self, value: str) -> str:
        """`value` with every secret masked."""
        for kind, rx, group in BUILTIN:
            value = rx.sub(_masker(kind, group), value)
        for rx in self.extra:
            value = rx.sub(MASK, value)
        return value

    def scrub(self, obj: Any, keep_keys: bool = False) -> Any:
        """A copy of a row or nested record with content masked or left out. With keep_keys
        (for the terminal views, which lay out every prompt), left-out content becomes ''."""
        if not self.active:
            return obj
        return self._walk(obj, keep_keys)

    def _walk(self, obj: Any, keep_keys: bool = False) -> Any:
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if self.no_content and k in CONTENT_KEYS:
                    if keep_keys:
                        out[k] = LEFT_OUT if (k in ERROR_KEYS and v) else ""
                    continue
                if self.redact and k in REDACT_KEYS:
                    out[k] = self._all_text(v)
                else:
                    out[k] = self._walk(v, keep_keys)
            return out
        if isinstance(obj, list):
            return [self._walk(v, keep_keys) for v in obj]
        return obj

    def _all_text(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {k: self._all_text(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._all_text(v) for v in obj]
        return obj

    def rows(self, rows: Iterable[dict]) -> Iterator[dict]:
        for row in rows:
            yield self.scrub(row)

    def columns(self, columns: Optional[Sequence[str]]) -> Optional[list[str]]:
        if columns is None or not self.no_content:
            return None if columns is None else list(columns)
        return [c for c in columns if c not in CONTENT_KEYS]


def _masker(kind: str, group: int):
    label = f"[REDACTED:{kind}]"
    if group == 0:
        return lambda m: label

    def keep_around(m: re.Match) -> str:
        whole, start, end = m.group(0), m.start(group) - m.start(0), m.end(group) - m.start(0)
        return whole[:start] + label + whole[end:]

    return keep_around


def _compile(pattern: str) -> re.Pattern:
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise BadInput(f"--redact-pattern: {pattern!r} is not a valid regular expression ({e})",
                       hint="Python regular expression syntax, e.g. --redact-pattern 'acme-[0-9a-f]{32}'") from None
    if rx.search(""):
        raise BadInput(f"--redact-pattern: {pattern!r} matches the empty string", hint="give a pattern that matches something")
    return rx
