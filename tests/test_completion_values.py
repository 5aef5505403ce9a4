"""The values shell completion offers after --model, --provider and --client (one query,
CompleteInterceptionValues, for the three): the last 30 days only, most used first, ties by
name, a missing client as 'Unknown', cut at 200 models and 50 providers or clients. The oracle
counts the rows inserted here in Python."""

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from factories import add_interception, add_user

from aibridge_cli import completion


def expected(rows, key, cut):
    counted = Counter(key(r) for r in rows)
    return [v for v, _ in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))][:cut]


@pytest.fixture
def recent_rows(conn, dsn, tmp_path, monkeypatch):
    monkeypatch.setenv("AIBRIDGE_DSN", dsn)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    zoe = add_user(conn, "zoe")
    now = datetime.now(timezone.utc)
    rows = []
    # More distinct models, providers and clients than the lists keep; a few used more often.
    for i in range(205):
        rows.append({"model": f"model-{i:03d}", "provider": f"prov-{i % 53:02d}",
                     "client": None if i % 7 == 0 else f"client-{i % 52:02d}"})
    for i in (5, 5, 5, 9, 9, 120):
        rows.append({"model": f"model-{i:03d}", "provider": "prov-40", "client": "client-07"})
    for r in rows:
        add_interception(conn, zoe, started_at=now - timedelta(days=1), **r)
    # Older than 30 days: never offered, however often used.
    for _ in range(10):
        add_interception(conn, zoe, model="model-old", provider="prov-old", client="client-old",
                         started_at=now - timedelta(days=40))
    return rows


@pytest.mark.parametrize("kind, key, cut", [
    ("models", lambda r: r["model"], 200),
    ("providers", lambda r: r["provider"], 50),
    ("clients", lambda r: r["client"] or "Unknown", 50),
])
def test_recent_values_most_used_first_and_cut(recent_rows, kind, key, cut):
    got = completion.values(kind)
    assert got == expected(recent_rows, key, cut)
    assert len(got) == cut and not any(v.endswith("-old") for v in got)
