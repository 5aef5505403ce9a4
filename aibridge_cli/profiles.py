"""Profiles: named settings in `$XDG_CONFIG_HOME/aibridge/config.toml`.

    [profiles.default]          # applies when no profile is named
    dsn = "postgresql://analyst@db.internal/coder"
    tz = "Europe/Berlin"

    [profiles.prod]
    service = "coder-prod"      # a libpq service name instead of a DSN
    format = "json"
    redact = true
    prices = "~/negotiated.toml"

Command-line options and their environment variables win over the profile, and the profile
over the built-in defaults. A file that others can read is refused when it holds a password,
as libpq refuses such a ~/.pgpass.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, fields
from pathlib import Path

from aibridge_cli.errors import BadInput

KEYS = {"dsn": str, "service": str, "tz": str, "format": str, "prices": str, "redact": bool}
# `password=...` in a key=value DSN, or `user:password@` in a URL
_PASSWORD = re.compile(r"(?i)\bpassword\s*=|://[^/@\s]*:[^/@\s]*@")


@dataclass(frozen=True)
class Profile:
    name: str | None = None
    dsn: str | None = None
    service: str | None = None
    tz: str | None = None
    format: str | None = None
    prices: str | None = None
    redact: bool = False

    @property
    def connection(self) -> str | None:
        """The DSN this profile connects with, if it names one."""
        return self.dsn or (f"service={self.service}" if self.service else None)


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "aibridge" / "config.toml"


def load(name: str | None) -> Profile:
    """The named profile (an error when it does not exist), else `default` when the file has
    one, else no profile at all."""
    path = config_path()
    if name is not None and not name.strip():
        raise BadInput("--profile: the profile name is empty", hint="give a name, or leave --profile out")
    if not path.is_file():
        if name:
            raise BadInput(f"--profile {name}: there is no profile file at {path}",
                           hint="create it with a [profiles.NAME] table (see docs/output.md)")
        return Profile()
    profiles = _read(path)
    wanted = name or "default"
    if wanted not in profiles:
        if name is None:
            return Profile()
        known = ", ".join(sorted(profiles)) or "none"
        raise BadInput(f"--profile: no profile named {name!r} in {path}", hint=f"profiles there: {known}")
    return _profile(path, wanted, profiles[wanted])


def _read(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read the profile file {path}: {e}", hint="check the file's permissions") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"the profile file {path} is not valid TOML: {e}", hint="fix the file, or move it away") from None
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise BadInput(f"{path}: profiles must be tables, as [profiles.NAME]", hint="see docs/output.md")
    if _PASSWORD.search(raw.decode("utf-8")) and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadInput(f"{path} holds a password and others can read it",
                       hint=f"chmod 600 {path} (or keep the password in ~/.pgpass)")
    return profiles


def _profile(path: Path, name: str, table: dict) -> Profile:
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise BadInput(f"{path} [profiles.{name}]: unknown setting {unknown[0]!r}",
                       hint=f"settings: {', '.join(KEYS)}")
    for key, value in table.items():
        if not isinstance(value, KEYS[key]):
            raise BadInput(f"{path} [profiles.{name}]: {key} must be a {KEYS[key].__name__}",
                           hint='e.g. tz = "UTC", redact = true')
    if table.get("dsn") and table.get("service"):
        raise BadInput(f"{path} [profiles.{name}]: give dsn or service, not both", hint="keep one of them")
    values = {f.name: table[f.name] for f in fields(Profile) if f.name in table}
    if "prices" in values:
        values["prices"] = os.path.expanduser(values["prices"])
    return Profile(name=name, **values)
