"""Balls in and out of the engine: the initial state `Ball` and the state at a time `BallAt`."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ball:
    """A ball's state at the start of a simulation (table frame, m, m/s, rad/s).

    w = (wx, wy, wz) is the angular velocity about the table axes: a ball rolling along +x has
    wy = vx / R; wz > 0 is counter-clockwise seen from above. Pocketed balls are ignored.
    """

    id: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    wx: float = 0.0
    wy: float = 0.0
    wz: float = 0.0
    pocketed: bool = False

    def __post_init__(self) -> None:
        for name in ("x", "y", "vx", "vy", "wx", "wy", "wz"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"ball {self.id}: {name} must be finite, got {value!r}")

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)


@dataclass(frozen=True, slots=True)
class BallAt:
    """A ball's exact state at some time of a simulation.

    phase is one of "sliding", "rolling", "spinning" (in place), "stationary", "pocketed".
    `moving` means translating. A pocketed ball sits at its pocket's centre, with `pocket` set.
    """

    id: int
    x: float
    y: float
    vx: float
    vy: float
    wx: float
    wy: float
    wz: float
    phase: str
    moving: bool
    pocketed: bool
    pocket: str | None = None

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)
