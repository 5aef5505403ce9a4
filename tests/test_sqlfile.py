"""The sqlc-format translator: table tests of what it copies, rewrites and records."""

import uuid

import pytest

from aibridge_cli.errors import QueryFileError
from aibridge_cli.sqlc.registry import bind
from aibridge_cli.sqlc.translate import EMBED_END, EMBED_START, ZERO_TIME, parse_text, translate


def tr(body: str):
    return translate(body, "t.sql", 1, "Q")


@pytest.mark.parametrize("body, expected", [
    ("SELECT @a", "SELECT %(a)s"),
    ("SELECT @a::uuid", "SELECT %(a)s::uuid"),
    ("SELECT sqlc.arg(b)::text", "SELECT %(b)s::text"),
    ("SELECT sqlc.narg('c')::uuid", "SELECT %(c)s::uuid"),
    ("SELECT 'it''s @not %' || @x::text", "SELECT 'it''s @not %%' || %(x)s::text"),
    ("SELECT E'a\\'@b' , @y::int", "SELECT E'a\\'@b' , %(y)s::int"),
    ('SELECT "we@ird%" FROM t', 'SELECT "we@ird%%" FROM t'),
    ("SELECT 1 -- @p and 50%\n, @q::int", "SELECT 1 -- @p and 50%%\n, %(q)s::int"),
    ("SELECT /* @p /* nested @q */ */ 2", "SELECT /* @p /* nested @q */ */ 2"),
    ("SELECT $$ @p % $$, $tag$ @q $tag$", "SELECT $$ @p %% $$, $tag$ @q $tag$"),
    ("SELECT m @> '{}'::jsonb, a <@ b, t @@ q", "SELECT m @> '{}'::jsonb, a <@ b, t @@ q"),
    ("SELECT a<@b", "SELECT a<@b"),
    ("SELECT 5 % 3", "SELECT 5 %% 3"),
    ("SELECT x::text, @a::text[]", "SELECT x::text, %(a)s::text[]"),
    ("SELECT $1", "SELECT $1"),
])
def test_translate_text(body, expected):
    assert tr(body).sql == expected


def test_casts_are_recorded_and_normalised():
    q = tr("SELECT @a::timestamptz, @b::timestamp with time zone, @c::uuid[], @d::varchar(64), "
           "@e::integer, sqlc.narg('f')::text, @g")
    p = q.params
    assert p["a"].cast == "timestamptz"
    assert p["b"].cast == "timestamptz"
    assert p["c"].cast == "uuid[]"
    assert p["d"].cast == "varchar(64)"
    assert p["e"].cast == "integer"
    assert p["f"].nullable and p["f"].cast == "text"
    assert p["g"].cast is None
    assert "%(b)s::timestamp with time zone" in q.sql


def test_repeated_parameter_keeps_first_cast():
    q = tr("SELECT @a::text, @a")
    assert list(q.params) == ["a"] and q.params["a"].cast == "text"
    assert q.sql.count("%(a)s") == 2


def test_zero_values_match_the_guards():
    q = tr("SELECT @t::text, @u::uuid, @ts::timestamptz, @n::integer, @b::boolean, @arr::uuid[], "
           "sqlc.narg('maybe')::uuid, @j::jsonb")
    bound = bind(q, {})
    assert bound == {"t": "", "u": uuid.UUID(int=0), "ts": ZERO_TIME, "n": 0, "b": False, "arr": [],
                     "maybe": None, "j": None}


def test_bind_rejects_unknown_and_missing_parameters():
    q = tr("SELECT @known::text, @nocast")
    with pytest.raises(QueryFileError, match=r"t.sql:1 Q: unknown parameter\(s\) other"):
        bind(q, {"other": 1, "nocast": 1})
    with pytest.raises(QueryFileError, match="missing parameter 'nocast'"):
        bind(q, {})


def test_embed_is_wrapped_in_markers():
    q = tr("SELECT sqlc.embed(a), sqlc.embed(b) FROM a JOIN b ON true")
    assert q.embeds == ["a", "b"]
    assert f'NULL AS "{EMBED_START}a", a.*, NULL AS "{EMBED_END}"' in q.sql


def test_authorize_marker_is_noted_and_kept():
    q = tr("SELECT 1 WHERE true\n-- @authorize_filter\n")
    assert q.authorize_filter
    assert "-- @authorize_filter" in q.sql


def test_parse_text_names_kinds_and_lines():
    text = "-- a comment\n-- name: First :one\nSELECT 1;\n\n-- name: Second :many\nSELECT @x::int;\n"
    first, second = parse_text(text, "f.sql")
    assert (first.name, first.kind, first.line) == ("First", "one", 2)
    assert (second.name, second.kind, second.line) == ("Second", "many", 5)
    assert second.sql == "SELECT %(x)s::int"


@pytest.mark.parametrize("text, message", [
    ("-- name: A :bogus\nSELECT 1", r"f.sql:1 A: unknown query kind ':bogus'"),
    ("-- name: A :one\nSELECT 'open", r"f.sql:2 A: unterminated string literal"),
    ("-- name: A :one\nSELECT 1\n-- name: A :one\nSELECT 2", r"f.sql:3 A: query name already used at line 1"),
    ("-- name: A :one\n\nSELECT $x$ never", r"f.sql:3 A: unterminated dollar-quoted"),
    ("-- name: A :one\nSELECT /* open", r"f.sql:2 A: unterminated block comment"),
    ("-- name: A :one\nSELECT sqlc.slice(x)", r"f.sql:2 A: unsupported sqlc macro"),
    ("-- name: A :one\n-- only a comment", r"f.sql:1 A: empty query"),
    ("SELECT 1\n-- name: A :one\nSELECT 2", r"f.sql:1: SQL before the first"),
    ("-- name:A\nSELECT 1", r"f.sql:1: malformed query header"),
])
def test_errors_name_file_line_and_query(text, message):
    with pytest.raises(QueryFileError, match=message):
        parse_text(text, "f.sql")
