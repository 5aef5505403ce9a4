"""DSNs given by the user: checked before libpq sees them, and their passwords kept out of messages.

libpq words its parse errors with the offending text (`invalid percent-encoded token:
"S3cr%zzetPW"`), so a DSN that does not parse is refused here with our own message, which
never quotes the DSN. Every message that might carry a connection's text goes through
`scrub`, and the boundary in cli.py scrubs every error once more with `secrets_in_use`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, unquote

from aibridge_cli.errors import BadInput

FORMS = ("a URL, postgresql://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=require, "
         "or key=value pairs, 'host=HOST port=5432 dbname=DBNAME user=USER'")
MASK = "***"
# Where a password sits in a DSN that libpq may not parse: the URL's user-info, a password= pair.
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:([^/?#]*)@")
_URL_PASSWORD_LAST_AT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:(.*)@")
_KV_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)")


def check(dsn: str, source: str = "--dsn / AIBRIDGE_DSN") -> dict:
    """The DSN's parameters, or BadInput (exit 2) that names neither libpq's words nor the DSN."""
    try:
        if "\x00" in dsn:
            raise ValueError("NUL")
        dsn.encode("utf-8")
        from psycopg.conninfo import conninfo_to_dict

        return conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError mostly; never echoed: it quotes the password
        raise BadInput(f"{source}: the connection string does not parse", hint=f"use {FORMS}") from None


def passwords(dsn: str | None) -> list[str]:
    """Every spelling of the passwords this DSN may carry, parsed or not (longest first)."""
    found: set[str] = set()
    if not dsn:
        return []
    try:
        from psycopg.conninfo import conninfo_to_dict

        pw = conninfo_to_dict(dsn).get("password")
        if pw:
            found.add(str(pw))
    except Exception:
        pass
    for pattern in (_URL_PASSWORD, _URL_PASSWORD_LAST_AT):
        m = pattern.match(dsn)
        if m and m.group(1):
            found.add(m.group(1))
    for m in _KV_PASSWORD.finditer(dsn):
        v = m.group(1)
        if v:
            found.add(v)
            if v.startswith("'"):
                found.add(v.strip("'"))
    spelled: set[str] = set()
    for pw in found:
        spelled |= {pw, unquote(pw), quote(pw, safe=""), pw.replace("\\", "\\\\"), pw.replace("'", "\\'")}
    return sorted((s for s in spelled if s), key=len, reverse=True)


def secrets_in_use(args: list[str] | None = None) -> list[str]:
    """Passwords from --dsn in the arguments, AIBRIDGE_DSN, DATABASE_URL-like settings and PGPASSWORD."""
    dsns = [os.environ.get("AIBRIDGE_DSN"), os.environ.get("AIBRIDGE_TEST_DSN")]
    args = list(args or [])
    for i, a in enumerate(args):
        if a == "--dsn" and i + 1 < len(args):
            dsns.append(args[i + 1])
        elif a.startswith("--dsn="):
            dsns.append(a[len("--dsn="):])
    out: set[str] = set()
    for d in dsns:
        out.update(passwords(d))
    pg = os.environ.get("PGPASSWORD")
    if pg:
        out.add(pg)
    return sorted(out, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """The text with every occurrence of every secret masked (longest first, so no tail survives)."""
    for s in secrets:
        if s and s in text:
            text = text.replace(s, MASK)
    return text
