"""The `next page:` hint of `sessions list` and `interceptions list`: it carries every filter,
the times as absolute instants, and following it word for word, page after page, gives every
row in range exactly once, each with the values the first page's filters give it."""

from __future__ import annotations

import json
import shlex
from datetime import datetime

from factories import add_interception, add_user, at

PAGE = 2


def _hint(stderr: str) -> list[str] | None:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("next page:")]
    assert len(lines) <= 1
    return shlex.split(lines[0].split(":", 1)[1])[1:] if lines else None  # without "aibridge"


def _option(argv: list[str], opt: str) -> str | None:
    return argv[argv.index(opt) + 1] if opt in argv else None


def _follow(cli, argv: list[str], take, bounds: dict) -> list:
    seen = []
    for _ in range(20):
        r = cli(*argv)
        assert r.exit_code == 0, (argv, r.stderr)
        seen += take(r.stdout)
        argv = _hint(r.stderr)
        if argv is None:
            return seen
        for opt, when in bounds.items():  # the same instants, whatever the spelling
            assert _option(argv, opt) is not None and datetime.fromisoformat(_option(argv, opt)) == when, opt
    raise AssertionError("the hints never ended")


def _sessions(conn):
    """Eight sessions a minute apart, alternating providers; each also has a later interception,
    twenty minutes on, that the upper bound leaves out of its values. The bound falls on the
    fifth session's start."""
    u = add_user(conn, "pager")
    out = []
    for k, provider in enumerate(["anthropic", "openai"] * 4):
        first = add_interception(conn, u, started_at=at(k), client_session_id=f"page-{k}", provider=provider)
        add_interception(conn, u, started_at=at(k + 20), client_session_id=f"page-{k}", provider=provider,
                         model="late-model")
        out.append(first)
    return out, at(4), at(1)


def _values(rows):
    return [(r["session_id"], datetime.fromisoformat(r["ended_at"]), r["threads"], r["models"]) for r in rows]


def test_following_the_sessions_hints_keeps_both_bounds_and_the_filters(cli, conn):
    firsts, before, after = _sessions(conn)
    argv = ["sessions", "list", "--started-after", after.isoformat(), "--started-before", before.isoformat(),
            "--provider", "anthropic", "-n", "1", "-f", "json"]
    got = _follow(cli, argv, lambda out: _values(json.loads(out)),
                  {"--started-after": after, "--started-before": before})
    expected = [(i["client_session_id"], i["ended_at"], 1, [i["model"]])
                for i in sorted(firsts, key=lambda i: i["started_at"], reverse=True)
                if after <= i["started_at"] <= before and i["provider"] == "anthropic"]
    assert len(expected) == 2 and got == expected


def test_following_the_sessions_hints_with_only_an_upper_bound(cli, conn):
    firsts, before, _ = _sessions(conn)
    got = _follow(cli, ["sessions", "list", "--started-before", before.isoformat(), "-n", str(PAGE), "-f", "jsonl"],
                  lambda out: _values(json.loads(ln) for ln in out.splitlines()), {"--started-before": before})
    expected = [(i["client_session_id"], i["ended_at"], 1, [i["model"]])
                for i in sorted(firsts, key=lambda i: i["started_at"], reverse=True) if i["started_at"] <= before]
    assert len(expected) == 5 and got == expected


def test_following_the_interceptions_hints_keeps_the_upper_bound(cli, conn):
    u = add_user(conn, "pager")
    rows = [add_interception(conn, u, started_at=at(k)) for k in range(8)]
    before = at(4)
    argv = ["interceptions", "list", "--started-before", before.isoformat(), "-n", str(PAGE)]
    # The table does not show whole ids; each hint names the last row of its page (--after-id).
    pages, after_ids = 0, []
    while argv is not None:
        r = cli(*argv)
        assert r.exit_code == 0, r.stderr
        pages += 1
        argv = _hint(r.stderr)
        if argv is not None:
            after_ids.append(_option(argv, "--after-id"))
            assert datetime.fromisoformat(_option(argv, "--started-before") or "0001-01-01") == before
        assert pages < 20
    expected = [str(i["id"]) for i in sorted(rows, key=lambda i: (i["started_at"], i["id"]), reverse=True)
                if i["started_at"] <= before]
    assert len(expected) == 5
    assert pages == 3 and after_ids == [expected[PAGE - 1], expected[2 * PAGE - 1]]
