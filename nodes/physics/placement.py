"""Input checks and clean-up before a simulation.

Decisions (documented in docs/physics.md):
- NaN/inf anywhere, duplicate ids: ValueError.
- A centre beyond the back of the cushions (more than cushion_width outside the playing
  surface): ValueError, that is not a ball on this table.
- A ball overlapping a cushion or jaw is moved out perpendicular to it until it touches.
- Overlapping balls are pushed apart symmetrically along their line of centres until they touch
  (frozen), in repeated passes; overlaps under D_TOUCH (1 nm, round-off in a frozen rack) are
  touching already. Whatever still overlaps after PASSES passes (a pile of balls on one spot)
  is left as it is and treated as touching by the simulation.
- Speeds above phys.max_speed and spins above phys.max_spin are scaled down to those caps.
- A ball whose centre starts inside a pocket's capture circle drops at t = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from nodes.physics.ball import Ball
from nodes.physics.constant import Physics
from nodes.physics.polynomial import D_TOUCH
from nodes.physics.table import Table

PASSES = 100  # overlap passes; what is left after them is treated as contact


def prepare(balls: Sequence[Ball], table: Table, phys: Physics) -> list[Ball]:
    """Checked, capped and separated copies of `balls` (pocketed ones unchanged)."""
    ids = [b.id for b in balls]
    if len(set(ids)) != len(ids):
        raise ValueError(f"ball ids must be unique, got {ids}")
    out = [_capped(_checked(b, table), phys) for b in balls]
    for _ in range(PASSES):
        out = [b if b.pocketed else _out_of_cushions(b, table, phys.R) for b in out]
        if not _separate(out, phys.R):
            break
    return out


def _checked(ball: Ball, table: Table) -> Ball:
    for name in ("x", "y", "vx", "vy", "wx", "wy", "wz"):
        if not math.isfinite(getattr(ball, name)):
            raise ValueError(f"ball {ball.id}: {name} is not finite")
    if ball.pocketed:
        return ball
    lx = table.length / 2 + table.cushion_width
    ly = table.width / 2 + table.cushion_width
    if abs(ball.x) > lx or abs(ball.y) > ly:
        raise ValueError(
            f"ball {ball.id} at ({ball.x:.3f}, {ball.y:.3f}) is off the table "
            f"(|x| <= {lx:.3f}, |y| <= {ly:.3f})"
        )
    return ball


def _capped(ball: Ball, phys: Physics) -> Ball:
    speed = math.hypot(ball.vx, ball.vy)
    if speed > phys.max_speed:
        k = phys.max_speed / speed
        ball = replace(ball, vx=ball.vx * k, vy=ball.vy * k)
    spin = math.sqrt(ball.wx**2 + ball.wy**2 + ball.wz**2)
    if spin > phys.max_spin:
        k = phys.max_spin / spin
        ball = replace(ball, wx=ball.wx * k, wy=ball.wy * k, wz=ball.wz * k)
    return ball


def _out_of_cushions(ball: Ball, table: Table, radius: float) -> Ball:
    x, y = ball.x, ball.y
    if abs(x) <= table.length / 2 - radius and abs(y) <= table.width / 2 - radius:
        return ball  # no cushion, jaw or tip reaches inside this box
    for c in table.cushions:
        dx, dy = c.x1 - c.x0, c.y1 - c.y0
        length = math.hypot(dx, dy)
        along = ((x - c.x0) * dx + (y - c.y0) * dy) / length
        depth = (x - c.x0) * c.nx + (y - c.y0) * c.ny
        if 0.0 <= along <= length and -table.cushion_width - radius < depth < radius:
            x, y = x + (radius - depth) * c.nx, y + (radius - depth) * c.ny
    for tip in table.tips:
        dx, dy = x - tip.x, y - tip.y
        dist = math.hypot(dx, dy)
        reach = radius + tip.radius
        if 0.0 < dist < reach:
            x, y = tip.x + dx / dist * reach, tip.y + dy / dist * reach
    return ball if (x, y) == (ball.x, ball.y) else replace(ball, x=x, y=y)


def _separate(balls: list[Ball], radius: float) -> bool:
    """Push overlapping pairs apart in place; True if anything moved."""
    live = [k for k, b in enumerate(balls) if not b.pocketed]
    if len(live) < 2:
        return False
    xy = np.array([[balls[k].x, balls[k].y] for k in live])
    gap = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    overlapping = np.argwhere(np.triu(gap < 2.0 * radius - D_TOUCH, 1))
    for a, b in overlapping.tolist():
        i, j = live[a], live[b]
        p, q = balls[i], balls[j]
        dx, dy = q.x - p.x, q.y - p.y
        dist = math.hypot(dx, dy)
        if dist >= 2.0 * radius - D_TOUCH:
            continue
        nx, ny = (dx / dist, dy / dist) if dist > 0.0 else (1.0, 0.0)
        push = (2.0 * radius - dist) / 2.0
        balls[i] = replace(p, x=p.x - nx * push, y=p.y - ny * push)
        balls[j] = replace(q, x=q.x + nx * push, y=q.y + ny * push)
    return len(overlapping) > 0
