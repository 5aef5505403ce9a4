"""The manual's examples run: every shell example in README.md and docs/*.md, and the
examples of every command's --help, against a small demo data set on the test server.

How a page is read (docs/README.md says the same for writers):
- fenced blocks marked sh, bash, shell or console are examples; in console blocks only the
  lines starting with `$ ` are commands; a trailing backslash continues a line;
- a block preceded by `<!-- no-run: reason -->` is not run (the reason is required);
- `<!-- file: NAME -->` before a block writes its text to NAME in the page's scratch folder;
- `aibridge ...` without shell syntax runs in process (CliRunner); anything with a pipe,
  redirection, `$`, `~` or another program runs in bash with AIBRIDGE_DSN set, the venv's
  aibridge first on PATH and the scratch folder as cwd and $HOME;
- `x=$(...)` keeps the output in a variable that the page's later commands can use;
- a command must exit 0, or with the code of a trailing `# exit N`;
- a page runs on the shared demo database only when every command on it is a known read;
  any other page runs on its own copy, its examples in document order.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import TEMPLATE, _drop_database, _fresh_database, make_cli
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
SHELL_LANGS = {"sh", "bash", "shell", "console"}
# The demo the examples are written for is `aibridge demo --seed 7` (49 users by default);
# the same seed and user count give the same usernames with fewer interceptions.
DEMO = ("demo", "--interceptions", "300", "--users", "49", "--seed", "7")
# Commands known to only read; a page that runs anything else gets its own copy of the data.
READS = re.compile(r"^(sessions|interceptions|models|telemetry|users list|db status)\b")
VALUED_GLOBALS = {"--dsn", "--timeout", "--as", "--redact-pattern"}
EXIT = re.compile(r"#\s*exit\s+(\d+)\b")
MARKER = re.compile(r"^<!--\s*(no-run|file):(.*?)-->\s*$")
AIBRIDGE = Path(sys.executable).parent / "aibridge"


@dataclass
class Example:
    where: str            # page:line, for messages
    text: str             # the command
    expect: int = 0


@dataclass
class Page:
    examples: list = field(default_factory=list)
    no_run: list = field(default_factory=list)    # (where, reason)
    files: dict = field(default_factory=dict)     # name -> text
    stray_markers: list = field(default_factory=list)


def _commands(lines: list[str], lang: str) -> list[tuple[int, str]]:
    """(offset, command) pairs of a block: continuations joined, comments and output skipped."""
    out, i = [], 0
    while i < len(lines):
        start, line = i, lines[i]
        if lang == "console":
            if not line.startswith("$ "):
                i += 1
                continue
            line = line[2:]
        elif line.startswith("$ "):
            line = line[2:]  # a prompt in an sh block: the command all the same
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        if line.strip() and not line.lstrip().startswith("#"):
            out.append((start, line.strip()))
    return out


def parse(path: Path) -> Page:
    page, lines, pending = Page(), path.read_text().splitlines(), None
    name, i = path.relative_to(ROOT), 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.strip())
        if m:
            if pending:
                page.stray_markers.append(f"{name}:{pending[2]}")
            pending = (m.group(1), m.group(2).strip(), i + 1)
            i += 1
            continue
        if not line.lstrip().startswith("```"):
            if line.strip() and pending:
                page.stray_markers.append(f"{name}:{pending[2]}")
                pending = None
            i += 1
            continue
        lang, begin = line.strip()[3:].strip().lower(), i + 1
        end = next((j for j in range(begin, len(lines)) if lines[j].strip() == "```"), len(lines))
        body = lines[begin:end]
        kind, arg, _ = pending or (None, None, None)
        pending, i = None, end + 1
        if kind == "file":
            page.files[arg] = "\n".join(body) + "\n"
        if kind == "no-run":
            page.no_run.append((f"{name}:{begin}", arg))
            continue
        if lang not in SHELL_LANGS:
            continue
        for off, cmd in _commands(body, lang):
            m = EXIT.search(cmd)
            page.examples.append(Example(f"{name}:{begin + off + 1}", cmd, int(m.group(1)) if m else 0))
    if pending:
        page.stray_markers.append(f"{name}:{pending[2]}")
    return page


def invoked(text: str) -> list[str]:
    """The commands (first two words after the global options) of every aibridge in a line."""
    out = []
    for m in re.finditer(r"\baibridge\s+(?=([^|;&)]*))", text):
        words, i = m.group(1).split(), 0
        while i < len(words) and words[i].startswith("-"):
            i += 2 if words[i] in VALUED_GLOBALS else 1
        out.append(" ".join(words[i:i + 2]))
    return out


def writes(page: Page) -> bool:
    return any(not READS.match(cmd) for ex in page.examples for cmd in invoked(ex.text))


def in_process_args(cmd: str):
    """The arguments for CliRunner, or None when the command needs a shell."""
    if "$" in cmd or "`" in cmd:
        return None
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lex.whitespace_split, lex.commenters = True, "#"
    try:
        tokens = list(lex)
    except ValueError:
        return None
    if not tokens or tokens[0] != "aibridge" or any(t and (set(t) <= set("|&;<>()") or t.startswith("~")) for t in tokens):
        return None
    return tokens[1:]


class Runner:
    """Runs examples against one database, in one scratch folder, line by line.

    Shell variables live in `self.vars`: `x=$(aibridge ...)` runs the command and keeps its
    output, and a later `"$x"` is replaced by it, so that most lines of a script still run in
    process; a line that needs bash gets the variables in its environment.
    """

    def __init__(self, dsn: str, scratch: Path, variables: dict | None = None):
        self.dsn, self.scratch = dsn, scratch
        self.vars = {"AIBRIDGE_DSN": dsn, **(variables or {})}
        self.cli = CliRunner()

    def _expand(self, cmd: str) -> str:
        """"$x" and $x of known variables, quoted; unknown ones stay for bash."""
        def sub(m):
            name = m.group(1) or m.group(2)
            return shlex.quote(self.vars[name]) if name in self.vars else m.group(0)
        return re.sub(r'"\$(\w+)"|\$(\w+)\b(?!\()', sub, cmd)

    def _in_process(self, args: list[str]) -> tuple[int, str, str]:
        from aibridge_cli.cli import app

        cwd = os.getcwd()
        os.chdir(self.scratch)
        try:
            r = self.cli.invoke(app, args, env={"AIBRIDGE_DSN": self.dsn}, catch_exceptions=True)
        finally:
            os.chdir(cwd)
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            return -1, "", f"{type(r.exception).__name__}: {r.exception}"
        return r.exit_code, r.stdout, r.stderr

    def _bash(self, cmd: str) -> tuple[int, str, str]:
        assert AIBRIDGE.exists(), f"{AIBRIDGE} is missing: run the tests with the venv's python"
        assert "jq " not in cmd or shutil.which("jq"), "the manual's examples use jq: install it (apt-get install jq)"
        env = dict(os.environ, HOME=str(self.scratch), **self.vars,
                   PATH=f"{AIBRIDGE.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=self.scratch, env=env,
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def run(self, cmd: str) -> tuple[int, str, str]:
        m = re.match(r"^([A-Za-z_]\w*)=\$\((.*)\)$", cmd)
        if m:
            code, out, err = self.run(m.group(2))
            self.vars[m.group(1)] = out.strip()
            return code, out, err
        args = in_process_args(self._expand(cmd))
        return self._in_process(args) if args is not None else self._bash(cmd)

    def check(self, examples) -> list[str]:
        failures = []
        for ex in examples:
            code, _, err = self.run(ex.text)
            if code != ex.expect:
                tail = " | ".join(err.strip().splitlines()[-3:])
                failures.append(f"{ex.where}: exit {code}, expected {ex.expect}: {ex.text!r}: {tail}")
        return failures


@pytest.fixture(scope="module")
def demo_db(server_dsn, template_dsn):
    """A migrated database holding a small `aibridge demo --seed 7`; read-only examples share it."""
    name = _fresh_database(server_dsn, TEMPLATE)
    dsn = make_conninfo(server_dsn, dbname=name)
    r = make_cli(dsn)(*DEMO)
    assert r.exit_code == 0, r.stderr
    yield name
    _drop_database(server_dsn, name)


@pytest.fixture
def copy_of(server_dsn, demo_db):
    """Copies of the demo database for examples that write; dropped afterwards."""
    made = []

    def copy() -> str:
        made.append(_fresh_database(server_dsn, demo_db))
        return make_conninfo(server_dsn, dbname=made[-1])

    yield copy
    for name in made:
        _drop_database(server_dsn, name)


# --- the pages --------------------------------------------------------------------

def test_the_manual_has_pages_and_examples():
    names = {p.name for p in PAGES}
    for topic in ("connecting", "output", "sessions", "interceptions", "telemetry", "prune",
                  "recording", "access", "development", "README"):
        assert f"{topic}.md" in names, topic
    assert sum(len(parse(p).examples) for p in PAGES) >= 60
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_the_index_links_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    unlisted = [p.name for p in PAGES if p.parent.name == "docs" and p.name != "README.md" and f"]({p.name}" not in index]
    assert not unlisted, f"add a line for {unlisted} to the table in docs/README.md"


def test_the_readme_keeps_the_ci_line():
    line = "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/pytest"
    assert line in (ROOT / "README.md").read_text().splitlines()
    assert f"# README: {line}" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_files_and_links_a_page_names_exist(path):
    text = path.read_text()
    named = re.findall(r"`((?:sql|bench|tests|aibridge_cli|docs|\.ci)/[\w./-]+)`", text)
    linked = [t.split("#")[0] for t in re.findall(r"\]\(([^)#:]+(?:#[^)]*)?)\)", text)]
    missing = [n for n in named if not (ROOT / n).exists()]
    missing += [n for n in linked if n and not (path.parent / n).exists()]
    assert not missing, f"{path.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_blocks_that_do_not_run_say_why(path):
    page = parse(path)
    assert not page.stray_markers, f"markers not directly before a fenced block: {page.stray_markers}"
    for where, reason in page.no_run:
        assert len(reason.split()) >= 2, f"{where}: a no-run block needs a reason"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_runs(path, server_dsn, demo_db, copy_of, tmp_path):
    page = parse(path)
    dsn = copy_of() if writes(page) else make_conninfo(server_dsn, dbname=demo_db)
    for name, text in page.files.items():
        (tmp_path / name).write_text(text)
    failures = Runner(dsn, tmp_path).check(page.examples)
    assert not failures, "\n".join(failures)


def test_the_parser_reads_what_the_manual_promises(tmp_path):
    md = tmp_path / "x.md"
    md.write_text(
        "```sh\naibridge sessions list \\\n  -n 5   # five\n# a comment\naibridge x  # exit 2\n```\n"
        "```console\n$ aibridge models list\nclaude-opus\n```\n"
        "```bash\n$ aibridge users list\n```\n"
        "<!-- no-run: another server entirely -->\n```sh\naibridge --dsn postgresql://h/db sessions list\n```\n"
        "<!-- file: a.ndjson -->\n```json\n{\"type\": \"user\"}\n```\n"
        "```bash\nid=$(aibridge record interception)\naibridge record end \"$id\"\n```\n"
        "```python\naibridge = 1\n```\n"
        "<!-- no-run: stray -->\n\ntext\n")
    page = Page()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys.modules[__name__], "ROOT", tmp_path)
        page = parse(md)
    assert [(e.text, e.expect) for e in page.examples] == [
        ("aibridge sessions list  -n 5   # five", 0),
        ("aibridge x  # exit 2", 2),
        ("aibridge models list", 0),
        ("aibridge users list", 0),
        ("id=$(aibridge record interception)", 0),
        ('aibridge record end "$id"', 0),
    ]
    assert page.no_run == [("x.md:15", "another server entirely")]
    assert page.files == {"a.ndjson": '{"type": "user"}\n'}
    assert page.stray_markers == ["x.md:29"]
    assert in_process_args("aibridge sessions list -n 5 # five") == ["sessions", "list", "-n", "5"]
    assert in_process_args("aibridge --redact-pattern 'a-[0-9]{3}' sessions list") == \
        ["--redact-pattern", "a-[0-9]{3}", "sessions", "list"]
    assert invoked('aibridge --dsn "$X" --redact prune -q') == ["prune -q"]
    assert invoked('aibridge sessions show "$(aibridge --as a users add b)"') == ['sessions show', 'users add']
    assert writes(page) and not writes(Page(examples=[Example("", "aibridge --as x sessions list | jq .")]))
    for shell in ("aibridge sessions list | jq .", "aibridge x > out.csv", "aibridge x < in",
                  "aibridge x ~/p", "aibridge x \"$ID\"", "X=1 aibridge x", "head -c 3 f"):
        assert in_process_args(shell) is None, shell


# --- the examples in --help ---------------------------------------------------------

def leaf_commands():
    import typer

    from aibridge_cli.cli import app

    def walk(cmd, path):
        if not hasattr(cmd, "list_commands"):
            yield path
            return
        ctx = typer.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from walk(cmd.get_command(ctx, name), path + [name])

    return list(walk(typer.main.get_command(app), []))


def help_examples(path: list[str]) -> list[Example]:
    from aibridge_cli.cli import app

    r = CliRunner().invoke(app, path + ["--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    at = next((i for i, line in enumerate(lines) if line.strip() == "Examples:"), None)
    assert at is not None, f"'aibridge {' '.join(path)} --help' has no Examples: section"
    out = []
    for line in lines[at + 1:]:
        if line and not line[0].isspace():
            break  # the next section (Arguments:, Options:)
        if line.strip().startswith("aibridge "):
            m = EXIT.search(line)
            out.append(Example(f"aibridge {' '.join(path)} --help", line.strip(), int(m.group(1)) if m else 0))
    assert out, f"'aibridge {' '.join(path)} --help' has no example lines"
    return out


# Help examples that cannot run on the test's DSN, each with its reason.
HELP_NO_RUN = {("db", "stop"): "it manages the embedded server only, and the test runs on a DSN"}
# Help examples that need a database without data.
HELP_EMPTY_DB = {("demo",)}


def test_every_command_has_examples_in_its_help():
    paths = leaf_commands()
    assert len(paths) >= 20 and ["sessions", "list"] in paths and ["prune"] in paths
    for path in paths:
        help_examples(path)


def test_the_examples_in_help_run(server_dsn, demo_db, copy_of, tmp_path):
    """`$id` in a help example is an interception still in flight, recorded for each command;
    `$session` a session of alice-haddad (the demo's busiest user)."""
    dsn = copy_of()
    cli = make_cli(dsn)
    r = cli("sessions", "list", "-u", "alice-haddad", "-n", "1", "-f", "jsonl")
    assert r.exit_code == 0 and r.stdout.strip(), r.stderr
    import json

    session = json.loads(r.stdout)["session_id"]
    failures = []
    for path in leaf_commands():
        if tuple(path) in HELP_NO_RUN:
            continue
        examples = help_examples(path)
        if tuple(path) in HELP_EMPTY_DB:
            name = _fresh_database(server_dsn, TEMPLATE)
            try:
                failures += Runner(make_conninfo(server_dsn, dbname=name), tmp_path).check(examples)
            finally:
                _drop_database(server_dsn, name)
            continue
        r = cli("record", "interception", "-u", "alice-haddad", "--provider", "openai", "--model", "gpt-5")
        assert r.exit_code == 0, r.stderr
        env = {"id": r.stdout.strip(), "session": session}
        scratch = tmp_path / "-".join(path)
        scratch.mkdir()
        (scratch / "records.ndjson").write_text('{"type": "user", "username": "frank"}\n')
        failures += Runner(dsn, scratch, env).check(examples)
    assert not failures, "\n".join(failures)
