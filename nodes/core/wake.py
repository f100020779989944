"""Which balls at rest may start moving: a ball cannot move unless something touches it.

A resting ball is *awake* when a moving ball could reach it within a few frames or the cue's
tip is at it: only then is a sudden jump of its detections taken as motion at once, and its
filter follows the detections freely. A ball with no neighbour close by (nothing to confuse the
detector) is *isolated*: a jump there is believed too (a cue the detector did not see). A jump
of a sleeping ball in a cluster must be confirmed by the next detection moving on the same way;
until then it is a circle the detector fitted in the wrong place (a rack is full of them).

A moving ball whose path this frame runs into a resting ball has hit it: both are looked for
where the collision sends them as well as where they were predicted (:func:`after_contact`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nodes.core.track import Track

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class WakeConfig:
    """Distances in metres beyond contact (two radii), times in seconds."""

    reach_gap: float = 0.02
    reach_s: float = 0.05
    cue_reach: float = 0.08
    moving_speed: float = 0.05
    neighbour_gap: float = 0.02


@dataclass(slots=True)
class Wake:
    """The ids of the resting balls that are awake and of those that are isolated."""

    awake: set[int]
    isolated: set[int]


def wake(
    tracks: Sequence[Track], touch: Sequence[Point], radius: float, config: WakeConfig
) -> Wake:
    """Awake and isolated resting balls among confirmed ``tracks`` (``touch``: cue tips)."""
    if not tracks:
        return Wake(set(), set())
    pos = np.array([(t.kf.x, t.kf.y) for t in tracks])
    speed = np.array([t.kf.speed if t.moving else 0.0 for t in tracks])
    d = np.hypot(pos[:, None, 0] - pos[None, :, 0], pos[:, None, 1] - pos[None, :, 1])
    np.fill_diagonal(d, np.inf)
    contact = 2.0 * radius
    # d[i, j] < reach of the moving ball j
    reach = contact + config.reach_gap + speed * config.reach_s
    pushed = ((d < reach[None, :]) & (speed[None, :] > config.moving_speed)).any(axis=1)
    for tx, ty in touch:
        pushed |= np.hypot(pos[:, 0] - tx, pos[:, 1] - ty) < radius + config.cue_reach
    alone = d.min(axis=1) > contact + config.neighbour_gap
    resting = np.array([not t.moving for t in tracks])
    ids = [t.id for t in tracks]
    return Wake(
        {ids[i] for i in np.flatnonzero(pushed & resting)},
        {ids[i] for i in np.flatnonzero(alone & resting)},
    )


def after_contact(
    movers: Sequence[Track], resting: Sequence[Track], t: float, radius: float, span_s: float
) -> list[tuple[Track, Point, Track, Point]]:
    """Where a collision this frame leaves its two balls: for each moving track whose
    predicted path since its last detection (at most ``span_s`` long) runs into a resting
    track, ``(mover, where the mover is, struck, where the struck ball is)`` at ``t``.

    Equal balls: at contact the struck ball takes the striker's velocity along the line of
    centres, the striker keeps the rest. Without this, a ball stopped by a full hit is looked
    for where its straight prediction went (beyond the ball it hit, whose detection lies
    there), and the ball it hit, gone farther than a resting ball's gate, is given the
    striker's detection: the two swap ids.
    """
    out: list[tuple[Track, Point, Track, Point]] = []
    contact = 2.0 * radius
    for tr in movers:
        speed = tr.kf.speed
        if speed <= 0.0:
            continue
        span = min(max(t - tr.last_seen, 0.0), span_s)
        px, py = tr.predicted(t - tr.t)
        vx, vy = tr.kf.vx, tr.kf.vy
        ux, uy = vx / speed, vy / speed
        sx, sy = px - vx * span, py - vy * span  # where the path of this frame starts
        length = speed * span
        first: tuple[float, Track] | None = None
        for other in resting:
            if other is tr:
                continue
            cx, cy = other.kf.x - sx, other.kf.y - sy
            along = cx * ux + cy * uy
            off2 = cx * cx + cy * cy - along * along
            if along <= 0.0 or off2 >= contact * contact:
                continue  # behind, or passed beside it
            enter = along - math.sqrt(contact * contact - off2)
            if enter > length or (enter < 0.0 and cx * cx + cy * cy < 0.25 * contact * contact):
                continue  # not reached this frame, or already on it (a bad prediction)
            enter = max(enter, 0.0)
            if first is None or enter < first[0]:
                first = (enter, other)
        if first is None:
            continue
        enter, other = first
        gx, gy = sx + ux * enter, sy + uy * enter  # the striker's centre at contact
        nx, ny = other.kf.x - gx, other.kf.y - gy
        norm = math.hypot(nx, ny)
        if norm <= 0.0:
            continue
        nx, ny = nx / norm, ny / norm
        after = (length - enter) / speed  # seconds since contact
        vn = vx * nx + vy * ny
        mover = (gx + (vx - vn * nx) * after, gy + (vy - vn * ny) * after)
        struck = (other.kf.x + vn * nx * after, other.kf.y + vn * ny * after)
        out.append((tr, mover, other, struck))
    return out
