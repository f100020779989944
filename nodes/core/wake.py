"""Which balls at rest may start moving: a ball cannot move unless something touches it.

A resting ball is *awake* when a moving ball could reach it within a few frames or the cue's
tip is at it: only then is a sudden jump of its detections taken as motion at once, and its
filter follows the detections freely. A ball with no neighbour close by (nothing to confuse the
detector) is *isolated*: a jump there is believed too (a cue the detector did not see). A jump
of a sleeping ball in a cluster must be confirmed by the next detection moving on the same way;
until then it is a circle the detector fitted in the wrong place (a rack is full of them).
"""

from __future__ import annotations

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
