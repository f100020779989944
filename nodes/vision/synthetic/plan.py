"""What the synthetic player decides: racks, where to put the cue ball, which shot to play.

Pure functions of ball positions, the table and a random generator, so a seed replays a
session exactly. Ball numbers are ball ids (0 = cue ball).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nodes.physics import Pocket, Table
from nodes.vision.synthetic.ball import RADIUS

RACK_ORDER = (1, 9, 2, 10, 8, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)  # row by row, eight in the middle
Positions = dict[int, tuple[float, float]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShotPlan:
    """A shot: the cue ball's direction of travel and speed after the strike, the tip offset
    (ball radii; side > 0 right english, height > 0 follow), and what it aims at."""

    direction_deg: float
    speed: float
    tip_side: float = 0.0
    tip_height: float = 0.0
    target: int | None = None
    pocket: str | None = None
    cut_deg: float = 0.0
    is_break: bool = False


def rack(table: Table, rng: np.random.Generator) -> Positions:
    """A tight triangle with its apex on the foot spot, a hair of random play per ball, and
    the cue ball somewhere behind the head string."""
    foot = table.length / 4
    step = 2 * RADIUS * 1.0015
    out: Positions = {}
    k = 0
    for row in range(5):
        for j in range(row + 1):
            jitter = rng.uniform(-0.00004, 0.00004, 2)
            x = foot + row * step * math.sqrt(3) / 2 + jitter[0]
            y = (j - row / 2) * step + jitter[1]
            out[RACK_ORDER[k]] = (x, y)
            k += 1
    out[0] = kitchen_spot(table, out, rng, centred=True)
    return out


def kitchen_spot(
    table: Table, others: Positions, rng: np.random.Generator, *, centred: bool = False
) -> tuple[float, float]:
    """A free spot for the cue ball behind the head string (ball in hand)."""
    hx, hy = table.length / 2 - 2 * RADIUS, table.width / 2 - 2 * RADIUS
    for _ in range(200):
        if centred:
            x = -table.length / 4 - rng.uniform(0.0, 0.1)
            y = rng.uniform(-0.25, 0.25)
        else:
            x = rng.uniform(-hx, -table.length / 4)
            y = rng.uniform(-hy, hy)
        if all(math.hypot(x - ox, y - oy) > 2.2 * RADIUS for ox, oy in others.values()):
            return x, y
    return -table.length / 4, 0.0


def break_shot(positions: Positions, rng: np.random.Generator) -> ShotPlan:
    """Hard at the apex ball."""
    cx, cy = positions[0]
    apex = min((n for n in positions if n != 0), key=lambda n: positions[n][0])
    ax, ay = positions[apex]
    direction = math.degrees(math.atan2(ay - cy, ax - cx)) + rng.normal(0.0, 0.3)
    speed = float(rng.uniform(6.0, 10.0))
    height = float(rng.uniform(-0.15, 0.1))
    return ShotPlan(
        direction_deg=direction, speed=speed, tip_height=height, target=apex, is_break=True
    )


def choose_shot(positions: Positions, table: Table, rng: np.random.Generator) -> ShotPlan:
    """A pot if one is open (weighted towards easy ones), else a safety-ish hit at a ball."""
    cue = np.array(positions[0])
    options = []
    for number, xy in positions.items():
        if number == 0:
            continue
        for pocket in table.pockets:
            option = _pot(positions, number, np.array(xy), cue, pocket)
            if option is not None:
                options.append(option)
    side = float(rng.uniform(-0.35, 0.35)) if rng.random() < 0.4 else 0.0
    height = float(rng.uniform(-0.45, 0.45))
    if options:
        weights = np.array([o[0] for o in options])
        _, number, name, cut, direction, dist = options[
            rng.choice(len(options), p=weights / weights.sum())
        ]
        speed = float(np.clip(0.9 + 0.7 * dist + rng.uniform(-0.3, 0.9), 0.7, 4.5))
        return ShotPlan(
            direction_deg=direction,
            speed=speed,
            tip_side=side,
            tip_height=height,
            target=number,
            pocket=name,
            cut_deg=cut,
        )
    return _hit_any(positions, rng, side, height)


def _pot(
    positions: Positions, number: int, ball: np.ndarray, cue: np.ndarray, pocket: Pocket
) -> tuple[float, int, str, float, float, float] | None:
    """(weight, ball, pocket, cut, direction, distance) of potting ``number``, if open."""
    mouth = np.array([pocket.mouth_x, pocket.mouth_y])
    to_pocket = mouth - ball
    d2 = float(np.linalg.norm(to_pocket))
    if d2 < 1e-6:
        return None
    u = to_pocket / d2
    ghost = ball - 2 * RADIUS * u
    path = ghost - cue
    d1 = float(np.linalg.norm(path))
    if d1 < 2.5 * RADIUS:
        return None
    cut = math.degrees(math.acos(float(np.clip(path @ u / d1, -1.0, 1.0))))
    if cut > 70.0:
        return None
    blockers = [np.array(xy) for n, xy in positions.items() if n not in (0, number)]
    if _blocked(cue, ghost, blockers) or _blocked(ball, mouth, blockers):
        return None
    signed = cut if (path[0] * u[1] - path[1] * u[0]) > 0 else -cut
    weight = math.cos(math.radians(cut)) ** 2 / (0.5 + d1 + d2)
    direction = math.degrees(math.atan2(path[1], path[0]))
    return weight, number, pocket.name, signed, direction, d1 + d2


def _blocked(a: np.ndarray, b: np.ndarray, others: list[np.ndarray]) -> bool:
    """Does any ball lie within a ball's width of the segment a-b?"""
    ab = b - a
    length2 = float(ab @ ab)
    for p in others:
        s = float(np.clip((p - a) @ ab / length2, 0.0, 1.0)) if length2 > 0 else 0.0
        if np.linalg.norm(a + s * ab - p) < 2 * RADIUS:
            return True
    return False


def _hit_any(
    positions: Positions, rng: np.random.Generator, side: float, height: float
) -> ShotPlan:
    cx, cy = positions[0]
    numbers = [n for n in positions if n != 0]
    target = int(rng.choice(numbers)) if numbers else None
    if target is None:
        direction = float(rng.uniform(-180.0, 180.0))
        return ShotPlan(direction_deg=direction, speed=1.5, tip_side=side, tip_height=height)
    tx, ty = positions[target]
    dist = math.hypot(tx - cx, ty - cy)
    cut = float(rng.uniform(-50.0, 50.0))
    offset = math.degrees(
        math.asin(min(1.0, 2 * RADIUS * math.sin(math.radians(cut)) / max(dist, 1e-6)))
    )
    direction = math.degrees(math.atan2(ty - cy, tx - cx)) + offset
    speed = float(np.clip(1.0 + 0.8 * dist + rng.uniform(-0.2, 0.8), 0.8, 4.0))
    return ShotPlan(
        direction_deg=direction,
        speed=speed,
        tip_side=side,
        tip_height=height,
        target=target,
        cut_deg=cut,
    )
