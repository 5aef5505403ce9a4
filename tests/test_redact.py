"""--redact / --redact-pattern / --no-content on realistic secrets, in every output format."""

import csv
import io
import json

import pytest

from aibridge_cli import options
from aibridge_cli.policy import redaction
from aibridge_cli.views.formats import FORMATS

# Realistic in shape (lengths, prefixes, alphabets); none of them is a live credential.
SECRETS = {
    "openai_key": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7cD",
    "anthropic_key": "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0Ed-AbCdEfGhIjKlMnOp_QrStUvWxYz012345-AbCdEfAA",
    "github_token": "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
    "github_pat": "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abc",
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "slack_token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "google_api_key": "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
           ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "bearer": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "url_password": "hunter2-Correct",
    "email": "jane.doe@example.com",
    "stripe_key": "sk_live_51HqLyjWDarjtT1zdp7dcXYZ1234",
    "password_value": "S3cr3t!Passw0rd",
}

PROMPT = (f"Deploy with OPENAI_API_KEY={SECRETS['openai_key']} and ANTHROPIC_API_KEY {SECRETS['anthropic_key']}; "
          f"clone using {SECRETS['github_token']} or {SECRETS['github_pat']}. "
          f"AWS: aws_access_key_id={SECRETS['aws_access_key']} aws_secret_access_key={SECRETS['aws_secret_key']}. "
          f"Post to Slack with {SECRETS['slack_token']}, maps key {SECRETS['google_api_key']}. "
          f"Mail {SECRETS['email']} when done, please deploy.")
TOOL_INPUT = json.dumps({"command": f"curl -H 'Authorization: Bearer {SECRETS['bearer']}' "
                                    f"https://api.internal/v1 && psql postgres://admin:{SECRETS['url_password']}@db.internal:5432/prod",
                         "env": {"STRIPE": SECRETS["stripe_key"], "password": SECRETS["password_value"]}})
THOUGHT = f"The token {SECRETS['jwt']} looks like a session JWT; ask acme-7f3a9c2e41 about it."


def rows():
    return [{"id": "a1", "prompt": PROMPT, "input": TOOL_INPUT, "content": THOUGHT, "tool": "bash", "input_tokens": 12},
            {"id": "a2", "last_prompt": PROMPT, "user_prompts": [{"id": "p1", "prompt": PROMPT}],
             "tool_usages": [{"id": "t1", "input": TOOL_INPUT, "invocation_error": f"401 for {SECRETS['openai_key']}"}],
             "model_thoughts": [{"content": THOUGHT}], "tool": "grep", "input_tokens": 7}]


POLICY = [None]  # the policy the test's emit() applies, as the root callback would pass it


@pytest.fixture(autouse=True)
def _reset():
    yield
    POLICY[0] = None


def emit(fmt, capsys, columns=None):
    options.emit_with(POLICY[0], rows(), fmt, columns=columns)
    return capsys.readouterr().out


def test_each_kind_of_secret_is_masked_and_the_rest_kept():
    p = redaction.Policy(redact=True)
    out = p.text(PROMPT) + p.text(TOOL_INPUT) + p.text(THOUGHT)
    for kind, secret in SECRETS.items():
        assert secret not in out, kind
    for label in ("openai_key", "anthropic_key", "github_token", "aws_access_key", "aws_secret_key", "slack_token",
                  "google_api_key", "jwt", "bearer_token", "url_password", "email", "stripe_key", "secret_value"):
        assert f"[REDACTED:{label}]" in out, label
    assert "please deploy" in out and "Authorization: Bearer [REDACTED:bearer_token]" in out
    assert "postgres://admin:[REDACTED:url_password]@db.internal:5432/prod" in out
    assert json.loads(p.text(TOOL_INPUT))["command"].startswith("curl -H")  # JSON stays JSON
    assert "acme-7f3a9c2e41" in out


@pytest.mark.parametrize("text", ["Use sk-learn for the model", "risk-free rate of 4%", "the password reset flow",
                                  "id 0b9f2d8e-6c1a-4a8e-9f43-3d2b5c7e1a90", "a @mention and user@localhost"])
def test_ordinary_text_is_untouched(text):
    assert redaction.Policy(redact=True).text(text) == text


def test_extra_patterns():
    p = redaction.Policy(patterns=[r"acme-[0-9a-f]{10}"])
    assert p.redact  # a pattern implies --redact
    out = p.text(THOUGHT)
    assert "acme-7f3a9c2e41" not in out and "[REDACTED]" in out and "[REDACTED:jwt]" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_redact_in_every_format(fmt, capsys):
    POLICY[0] = redaction.Policy(redact=True)
    out = emit(fmt, capsys)
    for kind, secret in SECRETS.items():
        if fmt in ("table", "markdown") and kind in ("password_value", "url_password", "bearer", "stripe_key"):
            continue  # may be cut from a shortened cell; the machine formats below have it all
        assert secret not in out, (fmt, kind)
    assert "REDACTED" in out
    if fmt == "json":
        data = json.loads(out)
        assert data[0]["tool"] == "bash" and data[0]["input_tokens"] == 12
        assert "[REDACTED:openai_key]" in data[1]["tool_usages"][0]["invocation_error"]
        assert data[1]["user_prompts"][0]["prompt"] == redaction.Policy(redact=True).text(PROMPT)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "tsv"])
def test_redact_keeps_everything_else_byte_for_byte(fmt, capsys):
    plain = emit(fmt, capsys)
    POLICY[0] = redaction.Policy(redact=True)
    masked = emit(fmt, capsys)
    p = redaction.Policy(redact=True)
    if fmt in ("csv", "tsv"):
        delim = "," if fmt == "csv" else "\t"
        a = list(csv.reader(io.StringIO(masked), delimiter=delim))
        b = list(csv.reader(io.StringIO(plain), delimiter=delim))
        assert a[0] == b[0] and len(a) == len(b)
        for ra, rb in zip(a[1:], b[1:]):
            for col, va, vb in zip(a[0], ra, rb):
                if col in ("prompt", "last_prompt", "input", "content"):
                    assert va == p.text(vb)
                elif col in ("user_prompts", "tool_usages", "model_thoughts"):
                    assert json.loads(va) == redaction.Policy(redact=True).scrub(json.loads(vb))
                else:
                    assert va == vb
    else:
        docs_m = [json.loads(x) for x in masked.splitlines()] if fmt == "jsonl" else json.loads(masked)
        docs_p = [json.loads(x) for x in plain.splitlines()] if fmt == "jsonl" else json.loads(plain)
        assert docs_m == p.scrub(docs_p)
        assert docs_m[0]["prompt"] == p.text(PROMPT) and docs_m[0]["id"] == "a1"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_content_in_every_format(fmt, capsys):
    POLICY[0] = redaction.Policy(no_content=True)
    out = emit(fmt, capsys, columns=["id", "prompt", "input", "content", "tool", "input_tokens"])
    assert "Deploy with" not in out and "curl" not in out and "session JWT" not in out
    assert "bash" in out and "grep" in out
    if fmt == "json":
        data = json.loads(out)
        assert set(data[0]) == {"id", "tool", "input_tokens"}
        assert data[1]["user_prompts"] == [{"id": "p1"}] and data[1]["model_thoughts"] == [{}]
        assert "last_prompt" not in data[1]
    if fmt in ("csv", "tsv"):
        header = out.splitlines()[0].split("," if fmt == "csv" else "\t")
        assert header == ["id", "tool", "input_tokens"]


def test_invalid_pattern_is_a_usage_error(cli):
    r = cli("--redact-pattern", "acme-(", "db", "status")
    assert r.exit_code == 2 and r.stderr.startswith("error: --redact-pattern: 'acme-(' is not a valid regular expression")
    r = cli("--redact-pattern", "x*", "db", "status")
    assert r.exit_code == 2 and "matches the empty string" in r.stderr


def test_options_do_not_leak_into_the_next_invocation(cli, secret_session):
    args = ("interceptions", "show", str(secret_session["id"]), "-f", "json")
    assert SECRETS["openai_key"] not in cli("--redact", *args).stdout
    plain = cli(*args)
    assert plain.exit_code == 0 and SECRETS["openai_key"] in plain.stdout


@pytest.fixture
def secret_session(conn):
    from factories import add_interception, add_prompt, add_thought, add_token_usage, add_tool_usage, add_user

    carol = add_user(conn, "carol")
    ic = add_interception(conn, carol, client_session_id="sess-secret")
    add_token_usage(conn, ic)
    add_prompt(conn, ic, PROMPT)
    add_tool_usage(conn, ic, input=TOOL_INPUT, invocation_error=f"401 Unauthorized for key {SECRETS['openai_key']}")
    add_thought(conn, ic, THOUGHT)
    return ic


def _commands(ic):
    return [("interceptions", "list", "--with-details"), ("interceptions", "show", str(ic["id"])),
            ("sessions", "list"), ("sessions", "show", "sess-secret")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_redact_through_every_read_command(cli, secret_session, fmt):
    for args in _commands(secret_session):
        plain = cli(*args, "-f", fmt)
        masked = cli("--redact", *args, "-f", fmt)
        assert plain.exit_code == 0 and masked.exit_code == 0, (args, plain.stderr, masked.stderr)
        leaked = [k for k, v in SECRETS.items() if v[:12] in masked.stdout]
        assert leaked == [], (args, fmt, leaked)
        if fmt == "json":
            assert SECRETS["openai_key"] in plain.stdout  # the data really holds them
        if any(v[:12] in plain.stdout for v in SECRETS.values()):  # a secret was shown, not cut off
            assert "REDACTED" in masked.stdout, (args, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_content_through_every_read_command(cli, secret_session, fmt):
    for args in _commands(secret_session):
        r = cli("--no-content", *args, "-f", fmt)
        assert r.exit_code == 0, (args, r.stderr)
        # prompt, tool input, thought, and the tool's error text (it echoes the key)
        for text in ("Deploy with", "curl -H", "session JWT", "401 Unauthorized", SECRETS["openai_key"][:12]):
            assert text not in r.stdout, (args, fmt, text)
        assert "bash" in r.stdout or args[:2] in (("sessions", "list"),) or fmt in ("csv", "tsv", "markdown"), (args, fmt)
        if fmt == "json":
            doc = json.loads(r.stdout)
            blob = json.dumps(doc)
            assert '"prompt"' not in blob and '"input"' not in blob and '"content"' not in blob and '"last_prompt"' not in blob
            assert '"invocation_error"' not in blob


def test_redact_pattern_through_the_cli(cli, secret_session):
    r = cli("--redact-pattern", r"acme-[0-9a-f]{10}", "interceptions", "show", str(secret_session["id"]), "-f", "json")
    assert r.exit_code == 0 and "acme-7f3a9c2e41" not in r.stdout and "[REDACTED]" in r.stdout
    assert "[REDACTED:jwt]" in r.stdout
