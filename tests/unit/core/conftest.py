"""Shared fixtures of the core tests: a 9-ft table, a fresh game, a standard rack."""

from __future__ import annotations

import math

import pytest

from nodes.core.game import Game
from nodes.physics import Physics, Table

R = Physics().R


@pytest.fixture
def game() -> Game:
    return Game()


@pytest.fixture(scope="session")
def table() -> Table:
    return Table.nine_foot()


def rack(apex_x: float = 0.64, gap: float = 0.0005) -> dict[int, tuple[float, float]]:
    """Fifteen object balls in a triangle (apex towards -x) plus the cue ball at the head."""
    order = [1, 9, 2, 10, 8, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]
    d = 2 * R + gap
    positions: dict[int, tuple[float, float]] = {0: (-0.635, 0.0)}
    k = 0
    for row in range(5):
        for i in range(row + 1):
            x = apex_x + row * d * math.sqrt(3) / 2
            y = (i - row / 2) * d
            positions[order[k]] = (x, y)
            k += 1
    return positions


def spread() -> dict[int, tuple[float, float]]:
    """Sixteen balls scattered over the table, well apart."""
    out: dict[int, tuple[float, float]] = {}
    for n in range(16):
        col, row = n % 4, n // 4
        out[n] = (-0.9 + col * 0.6, -0.45 + row * 0.3)
    return out
