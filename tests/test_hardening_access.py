"""Access at the edge: `--as` a member gives what the member's own role gives (users list
too), and prune --dry-run checks the same rights as the run it previews."""

import json

import pytest
from access_helpers import granted, role_cli
from test_access_roles import world  # noqa: F401  (fixture)


def _users(r):
    assert r.exit_code == 0, r.stderr
    return sorted((u["username"], u["email"]) for u in json.loads(r.stdout))


def test_users_list_as_a_member_is_what_the_members_role_reads(cli, dsn, world):
    alice = granted(cli, world, "alice", "member")
    via_as = _users(cli("--as", alice, "users", "list", "-f", "json"))
    via_role = _users(role_cli(dsn, alice)("users", "list", "-f", "json"))
    assert via_as == via_role == [(alice, f"{alice}@example.com")]
    # an auditor, and no --as, see everyone
    everyone = _users(cli("users", "list", "-f", "json"))
    assert len(everyone) == len(world["users"])
    assert _users(cli("--as", world["users"]["audrey"]["username"], "users", "list", "-f", "json")) == everyone


@pytest.mark.parametrize("dry", [False, True])
def test_prune_and_its_dry_run_refuse_as_a_member_alike(cli, conn, world, dry):
    alice = world["users"]["alice"]["username"]
    r = cli("--as", alice, "prune", "--older-than", "1d", *(["--dry-run"] if dry else []))
    assert r.exit_code == 1, r.stderr
    assert f"--as {alice}: " in r.stderr and "may only read" in r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0] == 5


@pytest.mark.parametrize("level", ["member", "recorder", "auditor"])
@pytest.mark.parametrize("dry", [False, True])
def test_prune_and_its_dry_run_refuse_a_granted_role_alike(cli, conn, dsn, world, level, dry):
    who = {"member": "alice", "recorder": "gw", "auditor": "audrey"}[level]
    name = granted(cli, world, who, level)
    r = role_cli(dsn, name)("prune", "--older-than", "1d", *(["--dry-run"] if dry else []))
    assert r.exit_code == 1, r.stderr
    assert "only the owner of the AI Bridge tables can prune" in r.stderr
    assert conn.execute("SELECT count(*) FROM aibridge_interceptions").fetchone()[0] == 5


def test_the_owner_may_dry_run_with_as_an_auditor(cli, world):
    r = cli("--as", world["users"]["audrey"]["username"], "prune", "--older-than", "1d", "--dry-run", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["interceptions"] == 5
