"""Shots: from the first ball moving on a still table until every ball rests again.

A shot starts when a ball starts moving while no shot is in progress; ``measure_s`` later the
striker's speed and direction are fitted to its positions since it started (a straight-line
least-squares fit: the filter's velocity just after a strike is still settling), and the strike
time is set back to when the fitted line leaves the ball's rest position. A start whose striker
never reaches ``min_speed`` is a nudge, not a shot, and is dropped. The shot ends ``settle_s``
after the last ball stopped; then the fouls are judged:
the cue ball touched no ball (``scratch``, reason ``no_contact``), or after the first contact
no ball reached a cushion and none was pocketed (``foul``, reason ``no_rail``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from nodes.core.contact import BallContact
from nodes.core.cushion import CushionContact
from nodes.core.track import Track
from protocol.messages import Event, Foul, Scratch, ShotEnded, ShotStarted

Emit = tuple[float, int, type[Event], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ShotConfig:
    """Times in seconds, speeds in m/s."""

    measure_s: float = 0.05
    min_speed: float = 0.1
    settle_s: float = 0.25
    max_s: float = 60.0


@dataclass(slots=True)
class Shot:
    """What has happened so far in one shot."""

    t_start: float
    frame: int
    striker: Track
    x: float
    y: float
    target: int | None
    number: int = 0
    confirmed: bool = False
    moved: list[int] = field(default_factory=list)
    pocketed: list[int] = field(default_factory=list)
    first_contact: int | None = None
    cushion_hits: int = 0
    rails_after_contact: int = 0
    scratch: bool = False
    t_last_motion: float = 0.0
    still_since: float | None = None


class ShotTracker:
    """The shot state machine; returns events as (time, frame, type, fields)."""

    def __init__(self, config: ShotConfig | None = None) -> None:
        self.config = config or ShotConfig()
        self.number = 0
        self.current: Shot | None = None
        self._starts: list[float] = []

    def reset(self) -> None:
        """A new game: shot numbers start again at 1."""
        self.number = 0
        self.current = None
        self._starts.clear()

    def number_at(self, t: float) -> int:
        """The shot a moment belongs to (0 before the first shot of the game)."""
        return bisect.bisect_right(self._starts, t)

    def started(self, t: float, frame: int, tr: Track, target: int | None) -> None:
        """A ball started moving."""
        shot = self.current
        if shot is None:
            self.current = Shot(t, frame, tr, tr.anchor[0], tr.anchor[1], target, moved=[tr.id])
        elif tr.id not in shot.moved:
            shot.moved.append(tr.id)

    def contact(self, c: BallContact | CushionContact) -> None:
        """A confirmed collision or cushion hit."""
        shot = self.current
        if shot is None:
            return
        if isinstance(c, CushionContact):
            shot.cushion_hits += 1
            if shot.first_contact is not None:
                shot.rails_after_contact += 1
        elif shot.first_contact is None and shot.striker in (c.a, c.b):
            shot.first_contact = (c.b if c.a is shot.striker else c.a).id

    def pocketed(self, tr: Track, is_cue: bool) -> None:
        """A ball dropped."""
        shot = self.current
        if shot is not None:
            shot.pocketed.append(tr.id)
            shot.scratch |= is_cue

    def step(self, t: float, frame: int, moving: bool, is_cue: bool) -> list[Emit]:
        """Advance the machine; ``is_cue`` says whether the striker is (or may be) the cue ball."""
        shot = self.current
        if shot is None:
            return []
        if not shot.confirmed:
            return self._measure(t, shot)
        if moving:
            shot.still_since = None
            shot.t_last_motion = t
            return []
        if shot.still_since is None:
            shot.still_since = t
        if t - shot.still_since >= self.config.settle_s or t - shot.t_start > self.config.max_s:
            self.current = None
            return self._end(t, frame, shot, is_cue)
        return []

    def _measure(self, t: float, shot: Shot) -> list[Emit]:
        if t - shot.t_start < self.config.measure_s:
            return []
        fit = shot.striker.fit(shot.t_start, t)
        speed = 0.0 if fit is None else math.hypot(fit[2], fit[3])
        if fit is None or speed < self.config.min_speed:
            self.current = None
            return []
        self.number += 1
        shot.number, shot.confirmed, shot.t_last_motion = self.number, True, t
        travelled = math.hypot(fit[0] - shot.x, fit[1] - shot.y)
        shot.t_start = min(max(t - travelled / speed, shot.t_start - 0.05), shot.t_start)
        self._starts.append(shot.t_start)
        fields: dict[str, Any] = {
            "ball": shot.striker.id,
            "speed": speed,
            "direction_deg": math.degrees(math.atan2(fit[3], fit[2])) % 360.0,
            "x": shot.x,
            "y": shot.y,
            "target": shot.target,
        }
        return [(shot.t_start, shot.frame, ShotStarted, fields)]

    def _end(self, t: float, frame: int, shot: Shot, is_cue: bool) -> list[Emit]:
        out: list[Emit] = []
        no_contact = is_cue and shot.first_contact is None
        if no_contact and shot.striker.id not in shot.pocketed:
            shot.scratch = True
            out.append((t, frame, Scratch, {"ball": shot.striker.id, "reason": "no_contact"}))
        elif shot.first_contact is not None and not shot.pocketed and not shot.rails_after_contact:
            balls = [shot.striker.id, shot.first_contact]
            out.append((t, frame, Foul, {"reason": "no_rail", "balls": balls}))
        fields: dict[str, Any] = {
            "duration_s": max(shot.t_last_motion - shot.t_start, 0.0),
            "balls_moved": list(shot.moved),
            "pocketed": list(shot.pocketed),
            "first_contact": shot.first_contact,
            "cushion_hits": shot.cushion_hits,
            "scratch": shot.scratch,
        }
        out.append((t, frame, ShotEnded, fields))
        return out
