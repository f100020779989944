"""Shared helpers for the physics tests: a 9-ft table, default constants, shot builders."""

from __future__ import annotations

import math

import pytest

from nodes.physics import Ball, Physics, Simulation, Table


@pytest.fixture(scope="session")
def table() -> Table:
    return Table.nine_foot()


@pytest.fixture(scope="session")
def phys() -> Physics:
    return Physics()


def first(sim: Simulation, kind: str, ball: int | None = None):
    """The first event of this type (involving `ball`, if given)."""
    for e in sim.events:
        if e.type == kind and (ball is None or ball in e.balls):
            return e
    raise AssertionError(f"no {kind} event for ball {ball}: {sim.events}")


def heading(vx: float, vy: float) -> float:
    """Direction of a velocity in degrees, counter-clockwise from +x."""
    return math.degrees(math.atan2(vy, vx))


def rolling(ball: Ball, phys: Physics) -> Ball:
    """The same ball with the spin of natural roll for its velocity."""
    return Ball(ball.id, ball.x, ball.y, ball.vx, ball.vy, -ball.vy / phys.R, ball.vx / phys.R)
