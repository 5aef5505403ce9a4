"""Placeholder until its issue lands: registers no command yet."""

from __future__ import annotations


def register(root, name) -> None:
    return None
