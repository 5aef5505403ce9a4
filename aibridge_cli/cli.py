"""The root Typer app: global options, command groups, and the one error boundary."""

from __future__ import annotations

import errno
import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from aibridge_cli import __version__
from aibridge_cli.errors import EXIT_USAGE, AibridgeError
from aibridge_cli.options import State

# Command name -> its module in aibridge_cli.commands, in the order --help lists them. A module is
# imported only when its command runs (or for the root --help): start-up time is a feature.
COMMANDS = {
    "db": "db", "users": "users", "record": "record", "demo": "demo", "interceptions": "interceptions",
    "models": "models", "clients": "clients", "sessions": "sessions", "telemetry": "telemetry", "spend": "spend",
    "prices": "prices", "top": "top", "prune": "prune", "export": "export", "history": "history",
}

# Typer vendors click and exposes its exception classes only through the public ones' bases.
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def load_command(name: str):
    """The click command for one top-level name, built from its module's register()."""
    module = importlib.import_module(f"aibridge_cli.commands.{COMMANDS[name]}")
    holder = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    holder.callback()(_no_op)  # a callback makes Typer build a group even for a single command
    module.register(holder, name)
    return typer.main.get_command(holder).commands[name]


def _no_op() -> None:
    return None


# The root's options, which users (as with psql) also write after the command.
GLOBAL_VALUE_OPTIONS = frozenset({"--dsn", "--timeout", "--as", "--redact-pattern", "--profile"})
GLOBAL_FLAGS = frozenset({"--redact", "--no-content", "--no-pager"})


def hoist_global_options(args: list[str]) -> list[str]:
    """`aibridge sessions list --dsn X` as `aibridge --dsn X sessions list`: global options found
    after the command move in front of it, values and all; `--` ends the scan."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":  # the root's own options
        i += 2 if args[i] in GLOBAL_VALUE_OPTIONS else 1
    front, rest = args[:i], args[i:]
    kept: list[str] = []
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--":
            kept.extend(rest[j:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS and "=" in arg or arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_VALUE_OPTIONS and j + 1 < len(rest):
            front.extend(rest[j:j + 2])
            j += 1
        else:
            kept.append(arg)
        j += 1
    return front + kept


class RootGroup(TyperGroup):
    """Loads commands on demand and runs every command inside the error boundary, also under CliRunner.

    Typer's own main() turns a broken pipe into exit 1 before any handler of ours runs, so
    the context is made and invoked here, as click's main() does, with our handlers."""

    def list_commands(self, ctx):
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx, name):
        found = super().get_command(ctx, name)
        if found is None and name in COMMANDS:
            found = load_command(name)
            self.add_command(found, name)
        return found

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        prog_name = "aibridge"  # CliRunner would otherwise name it after the callback
        args = hoist_global_options(list(sys.argv[1:] if args is None else args))
        try:
            _check_text(args)
            self._main_shell_completion(extra, prog_name, complete_var)
            try:
                with self.make_context(prog_name, list(args), **extra) as ctx:  # it consumes its list
                    rv = self.invoke(ctx)
            except typer.Exit as e:
                rv = e.exit_code
            except EOFError:
                raise typer.Abort() from None
            code = rv if isinstance(rv, int) else 0
            if code == 130:
                sys.stderr.write("\naborted\n")
        except AibridgeError as e:
            _print_error(e.message, e.hint, args)
            code = e.exit_code
        except _UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # a group called bare: its help, as usage
                sys.stderr.write(e.ctx.get_help() + "\n" if e.ctx else "")
            else:
                cmd = e.ctx.command_path if e.ctx else prog_name
                _print_error(e.format_message(), f"see '{cmd} --help'", args)
            code = EXIT_USAGE
        except _ClickException as e:
            _print_error(e.format_message(), None, args)
            code = e.exit_code
        except (typer.Abort, KeyboardInterrupt):
            sys.stderr.write("\naborted\n")
            code = 130
        except OSError as e:
            if e.errno != errno.EPIPE:  # BrokenPipeError included
                raise
            # `aibridge ... | head`: the reader left; not an error worth a message, nor a failure.
            _silence_stdout()
            code = 0
        if standalone_mode:
            sys.exit(code)
        return code


def _check_text(args: list[str]) -> None:
    """Arguments and AIBRIDGE_* settings that are not UTF-8 (Python hands them over as lone
    surrogates) are bad input here, before any parser or the database sees them."""
    for i, a in enumerate(args):
        if not _is_utf8(a):
            before = args[i - 1] if i and args[i - 1].startswith("-") and _is_utf8(args[i - 1]) else None
            opt = a.split("=", 1)[0] if a.startswith("--") and "=" in a and _is_utf8(a.split("=", 1)[0]) else None
            what = f"the value of {before}" if before else f"the value of {opt}" if opt else f"argument {i + 1}"
            raise AibridgeError(f"{what} is not valid UTF-8", hint="pass text as UTF-8 (check the terminal's or "
                                "the script's encoding)", exit_code=EXIT_USAGE)
    for k, v in os.environ.items():
        if k.startswith("AIBRIDGE_") and not _is_utf8(v):
            raise AibridgeError(f"the setting {k} is not valid UTF-8", hint="set it to UTF-8 text",
                                exit_code=EXIT_USAGE)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _print_error(message: str, hint: str | None = None, args: list[str] | None = None) -> None:
    """One line of error, one of hint; any password of the DSNs in use masked, whatever raised it."""
    from aibridge_cli.db.dsn import scrub, secrets_in_use

    secrets = secrets_in_use(args)
    sys.stderr.write(f"error: {scrub(' '.join(str(message).split()), secrets)}\n")
    if hint:
        sys.stderr.write(f"hint: {scrub(' '.join(str(hint).split()), secrets)}\n")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


app = typer.Typer(
    cls=RootGroup,
    help="Analytics for AI Bridge data: sessions, interceptions, telemetry and retention, from PostgreSQL.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh and fish
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool):
    if value:
        sys.stdout.write(f"aibridge {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    dsn: str = typer.Option(None, "--dsn", envvar="AIBRIDGE_DSN", show_envvar=True,
                            help="PostgreSQL URL or key=value DSN. Without it: the embedded server in AIBRIDGE_HOME."),
    timeout: str = typer.Option("30s", "--timeout", envvar="AIBRIDGE_TIMEOUT",
                                help="Statement timeout for every query (30s, 5m, ...; 0 turns it off)."),
    as_user: str = typer.Option(None, "--as", envvar="AIBRIDGE_AS",
                                help="Read as this user (username or UUID): owners and auditors see everything, others their own."),
    redact: bool = typer.Option(False, "--redact", help="Mask secrets (API keys, tokens, passwords, e-mail addresses) in prompts, tool inputs and thoughts."),
    redact_pattern: list[str] = typer.Option([], "--redact-pattern", metavar="REGEX",
                                             help="Also mask matches of this regular expression (repeatable; implies --redact)."),
    no_content: bool = typer.Option(False, "--no-content", help="Leave prompts, tool inputs, thoughts and error texts out of the output."),
    profile: str = typer.Option(None, "--profile", envvar="AIBRIDGE_PROFILE", show_envvar=True,
                                help="Settings from [profiles.NAME] of ~/.config/aibridge/config.toml "
                                     "(the 'default' profile applies when none is named)."),
    no_pager: bool = typer.Option(False, "--no-pager", help="Never page long tables (as psql's \\pset pager off)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
):
    from aibridge_cli.db.connect import Settings
    from aibridge_cli.timeparse import parse_timeout, start_clock

    start_clock()  # one reading of "now" for the whole command (--since 7d, defaults, prune's cutoff)
    # 0 turns the statement timeout off, as psql users know it from statement_timeout = 0
    ms = parse_timeout(timeout, "--timeout", zero_is_off=True)
    if dsn is not None and not dsn.strip():
        raise AibridgeError("--dsn: must not be empty", hint="give a DSN, or leave --dsn out for the embedded "
                            "database", exit_code=EXIT_USAGE)
    if as_user is not None and not as_user.strip():
        raise AibridgeError("--as: must not be empty", hint="give a username or a user's UUID, or leave --as out",
                            exit_code=EXIT_USAGE)
    from aibridge_cli import profiles

    chosen = profiles.load(profile)
    redact = redact or chosen.redact
    policy = None
    if redact or redact_pattern or no_content:
        from aibridge_cli.policy.redaction import Policy

        policy = Policy(redact, redact_pattern, no_content)
    settings = Settings(dsn=dsn or chosen.connection, timeout_ms=ms, as_user=as_user or None)
    ctx.obj = State(settings=settings, redaction=policy, profile=chosen, pager=not no_pager)


def main() -> None:
    app(prog_name="aibridge")


if __name__ == "__main__":
    main()
