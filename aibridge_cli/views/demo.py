"""What `aibridge demo` says once the data is in. Pure: counts and names in, lines out."""

from __future__ import annotations

from typing import Optional


def loaded_lines(interceptions: int, where: str, elapsed_s: float, seed: int, end_stamp: str,
                 counts: dict[str, int]) -> list[str]:
    return [f"loaded {interceptions:,} interceptions into {where} in {elapsed_s:.1f} s "
            f"(--seed {seed} --end {end_stamp} make the same data again):",
            "  " + ", ".join(f"{t} {n:,}" for t, n in counts.items())]


def suggestions(busiest: Optional[str], member: Optional[str], embedded: bool) -> list[str]:
    """Commands worth trying on the new data: the busiest user's sessions, and the view of a
    member (`--as`) who is not that user."""
    base = "aibridge" if embedded else "aibridge --dsn ..."
    cmds = ["sessions list", "telemetry summary --since 7d", "interceptions list --limit 20"]
    if busiest:
        cmds.append(f"sessions list --initiator {busiest}")
    if member:
        cmds.append(f"--as {member} sessions list")
    return ["try next:"] + [f"  {base} {cmd}" for cmd in cmds]
