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
    "models": "models", "sessions": "sessions", "telemetry": "telemetry", "top": "top", "prune": "prune", "export": "export",
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
    """Loads commands on demand and runs every command inside the error boundary, also under CliRunner."""

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
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
            if code == 130:  # typer turns Ctrl-C into Exit(130) before it reaches us
                sys.stderr.write("\naborted\n")
        except AibridgeError as e:
            _print_error(e.message, e.hint)
            code = e.exit_code
        except _UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # a group called bare: its help, as usage
                sys.stderr.write(e.ctx.get_help() + "\n" if e.ctx else "")
            else:
                cmd = e.ctx.command_path if e.ctx else prog_name
                _print_error(e.format_message(), f"see '{cmd} --help'")
            code = EXIT_USAGE
        except _ClickException as e:
            _print_error(e.format_message())
            code = e.exit_code
        except (typer.Abort, KeyboardInterrupt):
            sys.stderr.write("\naborted\n")
            code = 130
        except BrokenPipeError:
            # `aibridge ... | head`: the reader left; not an error worth a message.
            _silence_stdout()
            code = 0
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise
            _silence_stdout()
            code = 0
        if standalone_mode:
            sys.exit(code)
        return code


def _print_error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


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
    no_content: bool = typer.Option(False, "--no-content", help="Leave prompts, tool inputs and thoughts out of the output."),
    profile: str = typer.Option(None, "--profile", envvar="AIBRIDGE_PROFILE", show_envvar=True,
                                help="Settings from [profiles.NAME] of ~/.config/aibridge/config.toml "
                                     "(the 'default' profile applies when none is named)."),
    no_pager: bool = typer.Option(False, "--no-pager", help="Never page long tables (as psql's \\pset pager off)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
):
    from aibridge_cli.db.connect import Settings
    from aibridge_cli.timeparse import parse_duration

    # 0 turns the statement timeout off, as psql users know it from statement_timeout = 0
    ms = 0 if timeout.strip() == "0" else int(parse_duration(timeout, "--timeout").total_seconds() * 1000)
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
