"""The cue stick over time: smoothing, visibility with hysteresis, and the ball it points at.

The cue counts as visible after ``show_hits`` sightings within ``show_window_s`` and as lost
after ``lose_s`` without one, so a cue flickering in and out of a detector (a hand over it,
motion blur) gives one ``cue_visible`` and one ``cue_lost``, not a burst.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from nodes.core.hygiene import CueSighting
from nodes.core.track import Track
from protocol.messages import CueState


@dataclass(frozen=True, slots=True)
class CueConfig:
    """Visibility hysteresis and smoothing. Times in seconds, distances in metres."""

    show_hits: int = 3
    show_window_s: float = 0.15
    lose_s: float = 0.25
    smoothing: float = 0.5
    reach: float = 0.35


def struck_ball(
    tip: tuple[float, float],
    direction_deg: float,
    balls: Iterable[Track],
    radius: float,
    reach: float,
) -> tuple[Track, float] | None:
    """The first ball ahead of the cue tip on the cue's line, and the tip's side offset.

    The offset is the signed distance of the ball centre from the cue line in ball radii,
    positive for right english (the cue passes to the right of the centre).
    """
    ux, uy = math.cos(math.radians(direction_deg)), math.sin(math.radians(direction_deg))
    best: tuple[Track, float, float] | None = None
    for tr in balls:
        dx, dy = tr.kf.x - tip[0], tr.kf.y - tip[1]
        along = dx * ux + dy * uy
        side = dy * ux - dx * uy
        if -radius < along < reach and abs(side) < radius and (best is None or along < best[1]):
            best = (tr, along, side / radius)
    return None if best is None else (best[0], best[2])


class CueTracker:
    """Smoothed cue pose and visibility transitions."""

    def __init__(self, config: CueConfig | None = None) -> None:
        self.config = config or CueConfig()
        self.visible = False
        self.last: CueSighting | None = None
        self.tip = (0.0, 0.0)
        self.ux = 1.0
        self.uy = 0.0
        self.last_seen = -math.inf
        self._recent: deque[float] = deque(maxlen=16)

    @property
    def direction_deg(self) -> float:
        """Smoothed direction the cue points along, degrees in [0, 360)."""
        return math.degrees(math.atan2(self.uy, self.ux)) % 360.0

    def update(self, t: float, sighting: CueSighting | None) -> str | None:
        """Fold in one frame; return ``"visible"`` or ``"lost"`` on a transition."""
        c = self.config
        if sighting is not None:
            self._smooth(sighting)
            self.last_seen = t
            self._recent.append(t)
        if not self.visible:
            hits = sum(1 for s in self._recent if t - s <= c.show_window_s)
            if hits >= c.show_hits:
                self.visible = True
                return "visible"
        elif t - self.last_seen > c.lose_s:
            self.visible = False
            self._recent.clear()
            return "lost"
        return None

    def _smooth(self, s: CueSighting) -> None:
        ux, uy = math.cos(math.radians(s.direction_deg)), math.sin(math.radians(s.direction_deg))
        if self.last is None or not self.visible:
            self.tip, self.ux, self.uy = (s.tip_x, s.tip_y), ux, uy
        else:
            a = self.config.smoothing
            self.tip = (
                self.tip[0] + a * (s.tip_x - self.tip[0]),
                self.tip[1] + a * (s.tip_y - self.tip[1]),
            )
            vx, vy = self.ux + a * (ux - self.ux), self.uy + a * (uy - self.uy)
            norm = math.hypot(vx, vy) or 1.0
            self.ux, self.uy = vx / norm, vy / norm
        self.last = s

    def state(self, target: int | None) -> CueState | None:
        """The cue for ``core.state`` while visible."""
        if not self.visible or self.last is None:
            return None
        return CueState(
            tip_x=self.tip[0],
            tip_y=self.tip[1],
            direction_deg=self.direction_deg,
            visible_fraction=self.last.visible_fraction,
            confidence=self.last.confidence,
            target=target,
        )
