"""Every ``core.event`` derived from the tracked table over time.

:class:`EventDetector` turns the tracker's transitions (motion, pocketing, spotting, loss), the
contact detector's collisions and cushion hits, the shot state machine and the cue's visibility
into protocol events. Each event carries the capture time of the moment it describes, which may
be a little before the frame that revealed it (a collision is confirmed 60 ms after contact), so
events wait in a queue for ``delay_s`` and leave it in time order: the ``core.event`` stream is
always chronological. When exactly each event fires is in ``docs/core.md``.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

from nodes.core.clock import Clock
from nodes.core.contact import BallContact, CollisionDetector
from nodes.core.cue import CueTracker
from nodes.core.cushion import CushionContact, CushionDetector
from nodes.core.shot import ShotTracker
from nodes.core.track import Track
from nodes.core.tracker import Report, Tracker
from protocol.messages import (
    BallLost,
    BallMotion,
    BallPocketed,
    BallSpotted,
    Collision,
    CueLost,
    CueVisible,
    CushionHit,
    Event,
    GameReset,
    Scratch,
    ShotStarted,
    TableGeometry,
)

#: Order of events with the same time: a shot starts before its first ball_motion.
PRIORITY: dict[type[Event], int] = {GameReset: -1, ShotStarted: 0}


@dataclass(order=True, slots=True)
class _Item:
    t: float
    priority: int
    seq: int
    frame: int = field(compare=False)
    cls: type[Event] = field(compare=False)
    fields: dict[str, Any] = field(compare=False)


class EventQueue:
    """Holds events for ``delay_s`` and releases them in time order, shot numbers resolved."""

    def __init__(self, clock: Clock, shots: ShotTracker, delay_s: float) -> None:
        self.clock, self.shots, self.delay_s = clock, shots, delay_s
        self._heap: list[_Item] = []
        self._seq = itertools.count()

    def push(self, t: float, frame: int, cls: type[Event], fields: dict[str, Any]) -> None:
        """Queue an event of type ``cls`` that happened at ``t`` seconds."""
        item = _Item(t, PRIORITY.get(cls, 1), next(self._seq), frame, cls, fields)
        heapq.heappush(self._heap, item)

    def release(self, now: float) -> list[Event]:
        """Events at least ``delay_s`` old, oldest first."""
        out: list[Event] = []
        while self._heap and self._heap[0].t <= now - self.delay_s:
            out.append(self._build(heapq.heappop(self._heap)))
        return out

    def flush(self) -> list[Event]:
        """Every queued event, oldest first."""
        return self.release(float("inf"))

    def _build(self, item: _Item) -> Event:
        shot = self.shots.number_at(item.t)
        return item.cls(t_ns=self.clock.ns(item.t), frame=item.frame, shot=shot, **item.fields)


def _ball(tr: Track) -> dict[str, Any]:
    return {"ball": tr.id, "number": tr.identity.number}


class EventDetector:
    """Derives events from successive tracker updates."""

    def __init__(self, table: TableGeometry, clock: Clock, delay_s: float = 0.2) -> None:
        self.table = table
        self.collisions = CollisionDetector(table)
        self.cushions = CushionDetector(table)
        self.shots = ShotTracker()
        self.queue = EventQueue(clock, self.shots, delay_s)

    def update(
        self,
        t: float,
        frame: int,
        tracker: Tracker,
        report: Report,
        aim_target: int | None = None,
    ) -> list[Event]:
        """Fold in one tracker update at ``t``; return the events now due, in time order."""
        self._transitions(t, frame, report, aim_target)
        balls = tracker.on_table()
        contacts: list[BallContact | CushionContact] = []
        contacts += self.collisions.update(t, frame, balls)
        contacts += self.cushions.update(t, frame, balls)
        for c in sorted(contacts, key=lambda c: c.t):
            self._contact(c)
        striker = self.shots.current.striker if self.shots.current else None
        is_cue = striker is not None and self._maybe_cue(striker, tracker)
        for t_e, frame_e, cls, fields in self.shots.step(t, frame, tracker.any_moving(), is_cue):
            self.queue.push(t_e, frame_e, cls, fields)
        return self.queue.release(t)

    def cue(
        self, t: float, frame: int, transition: str | None, cue: CueTracker, target: int | None
    ) -> None:
        """Queue ``cue_visible`` / ``cue_lost`` for a cue visibility transition."""
        if transition == "visible":
            fields = {
                "tip_x": cue.tip[0],
                "tip_y": cue.tip[1],
                "direction_deg": cue.direction_deg,
                "target": target,
            }
            self.queue.push(t, frame, CueVisible, fields)
        elif transition == "lost":
            self.queue.push(t, frame, CueLost, {})

    def reset(self, t: float, frame: int, reason: str, by: str | None) -> list[Event]:
        """A new game: flush what is queued, then ``game_reset``; shots count from 1 again."""
        out = self.queue.flush()
        self.shots.reset()
        self.collisions.reset()
        self.cushions.reset()
        self.queue.push(t, frame, GameReset, {"reason": reason, "by": by})
        return out + self.queue.flush()

    @staticmethod
    def _maybe_cue(tr: Track, tracker: Tracker) -> bool:
        if tr.identity.kind == "cue":
            return True
        known = any(t.identity.kind == "cue" for t in tracker.on_table())
        return tr.identity.kind == "unknown" and not known

    def _transitions(self, t: float, frame: int, r: Report, aim_target: int | None) -> None:
        push = self.queue.push
        for tr in r.started:
            self.shots.started(t, frame, tr, aim_target)
            fields = {**_ball(tr), "state": "started", "x": tr.anchor[0], "y": tr.anchor[1]}
            push(t, frame, BallMotion, {**fields, "speed": tr.kf.speed})
        for tr in r.stopped:
            push(
                t, frame, BallMotion, {**_ball(tr), "state": "stopped", "x": tr.kf.x, "y": tr.kf.y}
            )
        for tr in r.pocketed:
            self._pocketed(frame, tr)
        for tr in r.spotted:
            push(t, frame, BallSpotted, {**_ball(tr), "x": tr.kf.x, "y": tr.kf.y})
        for tr in r.lost:
            push(t, frame, BallLost, {**_ball(tr), "x": tr.kf.x, "y": tr.kf.y})

    def _pocketed(self, frame: int, tr: Track) -> None:
        is_cue = tr.identity.kind == "cue"
        self.shots.pocketed(tr, is_cue)
        where = {"pocket": tr.pocket, "x": tr.p_seen[0], "y": tr.p_seen[1]}
        fields = {**_ball(tr), "kind": tr.identity.kind, **where}
        self.queue.push(tr.t_gone, frame, BallPocketed, fields)
        if is_cue:
            self.queue.push(
                tr.t_gone,
                frame,
                Scratch,
                {"ball": tr.id, "reason": "cue_pocketed", "pocket": tr.pocket},
            )

    def _contact(self, c: BallContact | CushionContact) -> None:
        self.shots.contact(c)
        if isinstance(c, BallContact):
            fields = {
                "balls": [c.a.id, c.b.id],
                "x": c.x,
                "y": c.y,
                "speed": c.speed,
                "angle_deg": c.cut_deg,
            }
            self.queue.push(c.t, c.frame, Collision, fields)
            return
        fields = {
            "ball": c.ball.id,
            "cushion": c.cushion,
            "x": c.x,
            "y": c.y,
            "speed": c.speed,
            "angle_in_deg": c.angle_in,
            "angle_out_deg": c.angle_out,
        }
        self.queue.push(c.t, c.frame, CushionHit, fields)
