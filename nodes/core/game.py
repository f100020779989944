"""The core's world model: detections in; state, events and the live trajectory out. No I/O.

The node shell feeds every ``vision.detections.<camera>`` message to :meth:`Game.update` and
publishes what it returns: a ``State`` when one is due (every input frame while anything moves,
``still_hz`` when the table is still, at once when the set of balls or the cue changes), the
events now due (chronological), and a ``Trajectory`` when the aim preview changes or clears. The
control requests map to :meth:`Game.predict_shot`, :meth:`Game.reset_game`, :meth:`Game.history`
and :meth:`Game.snapshot`. Ids are the tracker's (see ``docs/core.md``), the same in every stream.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nodes.core.aim import AimConfig, AimPolicy
from nodes.core.clock import Clock
from nodes.core.cue import CueConfig, CueTracker, struck_ball
from nodes.core.events import EventDetector
from nodes.core.history import History
from nodes.core.hygiene import Hygiene, HygieneConfig
from nodes.core.prediction import ShotArgs, TableBall, parse_args, predict
from nodes.core.track import Track
from nodes.core.tracker import Tracker, TrackerConfig
from nodes.physics import Physics, Table
from protocol.messages import (
    BallState,
    Calibration,
    Detections,
    Event,
    PocketGeometry,
    Prediction,
    State,
    TableCalibrated,
    TableGeometry,
    Trajectory,
)

Output = tuple[State | None, list[Event], Trajectory | None]


def table_geometry(table: Table, phys: Physics) -> TableGeometry:
    """The protocol's view of the physics table: the one source of pocket positions and radii."""
    pockets = [PocketGeometry(name=p.name, x=p.x, y=p.y, radius=p.radius) for p in table.pockets]
    return TableGeometry(
        length=table.length,
        width=table.width,
        ball_radius=phys.R,
        cushion_height=table.cushion_height,
        pockets=pockets,
    )


@dataclass(frozen=True, slots=True)
class GameConfig:
    """Everything the core's logic can be tuned with (seconds, metres, hertz)."""

    still_hz: float = 2.0
    fusion_window_s: float = 0.02
    event_delay_s: float = 0.2
    camera_timeout_s: float = 1.0
    hidden_confidence_s: float = 2.0
    history_states: int = 2000
    history_events: int = 5000
    camera_noise_std: dict[str, float] = field(default_factory=dict)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    hygiene: HygieneConfig = field(default_factory=HygieneConfig)
    cue: CueConfig = field(default_factory=CueConfig)
    aim: AimConfig = field(default_factory=AimConfig)


class Game:
    """Tracker, events, cue, aim preview and history for one table."""

    def __init__(
        self,
        table: Table | None = None,
        phys: Physics | None = None,
        config: GameConfig | None = None,
    ) -> None:
        self.table = table or Table.nine_foot()
        self.phys = phys or Physics()
        self.config = config or GameConfig()
        self.geometry = table_geometry(self.table, self.phys)
        self.clock = Clock()
        self.hygiene = Hygiene(self.geometry, self.config.hygiene)
        self.hygiene.noise_std.update(self.config.camera_noise_std)
        self.tracker = Tracker(self.geometry, self.config.tracker)
        self.cue = CueTracker(self.config.cue)
        self.events = EventDetector(self.geometry, self.clock, self.config.event_delay_s)
        self.aim = AimPolicy(self.table, self.phys, self.config.aim)
        self.history_rings = History(self.config.history_states, self.config.history_events)
        self.counters: Counter[str] = Counter()
        self._newest = (0, 0)
        self._t = -math.inf
        self._camera_t: dict[str, float] = {}
        self._camera_ns: dict[str, int] = {}
        self._calibrations: dict[str, tuple[float, ...]] = {}
        self._published: tuple[float, tuple[Any, ...]] | None = None
        self._struck: tuple[Track, float] | None = None

    # -- the input path ---------------------------------------------------------------------

    def update(self, det: Detections) -> Output:
        """Fold in one camera frame; return (state or None, events due, trajectory or None)."""
        t = self._admit(det)
        if t is None:
            return None, [], None
        self.counters["frames"] += 1
        sighting = self.hygiene.cue(det)
        transition = self.cue.update(t, sighting)
        touch = [(sighting.tip_x, sighting.tip_y)] if sighting else []
        if self.cue.visible and not touch:
            touch.append(self.cue.tip)
        report = self.tracker.update(t, self.hygiene.balls(det), touch)
        balls = self.tracker.on_table()
        self._struck = self._find_struck(balls)
        target = self._struck[0].id if self._struck else None
        self.events.cue(t, det.frame, transition, self.cue, target)
        aim_target = self.aim.target if self.aim.active else None
        events = self.events.update(t, det.frame, self.tracker, report, aim_target)
        self.history_rings.add_events(events)
        trajectory = self._trajectory(t, det.frame, balls)
        return self._maybe_state(t), events, trajectory

    def _admit(self, det: Detections) -> float | None:
        """Seconds of a frame worth processing, or None (stale, late or untimed: counted)."""
        t_ns, camera = det.t_capture_ns, det.camera
        if not det.calibrated:
            self.counters["frame_uncalibrated"] += 1  # its table coordinates mean nothing yet
            return None
        if t_ns <= 0:
            self.counters["frame_bad_time"] += 1
            return None
        if t_ns <= self._camera_ns.get(camera, -1):
            self.counters["frame_stale"] += 1
            return None
        t = self.clock.seconds(t_ns)
        if t < self._t - self.config.fusion_window_s:
            self.counters["frame_late"] += 1
            return None
        self._camera_ns[camera] = t_ns
        self._camera_t[camera] = t
        if t >= self._t:
            self._t, self._newest = t, (t_ns, det.frame)
        return t

    def _find_struck(self, balls: list[Track]) -> tuple[Track, float] | None:
        if not self.cue.visible:
            return None
        return struck_ball(
            self.cue.tip,
            self.cue.direction_deg,
            balls,
            self.geometry.ball_radius,
            self.config.cue.reach,
        )

    def _trajectory(self, t: float, frame: int, balls: list[Track]) -> Trajectory | None:
        t_ns = self._newest[0]
        if self.tracker.any_moving():
            return self.aim.clear(t_ns, frame, "shot_started")
        if not self.cue.visible:
            return self.aim.clear(t_ns, frame, "cue_lost")
        struck = (self._struck[0].id, self._struck[1]) if self._struck else None
        table_balls = [TableBall(b.id, b.identity.number, b.kf.x, b.kf.y) for b in balls]
        return self.aim.update(t, t_ns, frame, struck, self.cue.direction_deg, table_balls)

    # -- state ----------------------------------------------------------------------------------

    def _maybe_state(self, t: float) -> State | None:
        moving = self.tracker.any_moving()
        shape = self._shape()
        last = self._published
        due = (
            last is None or moving or last[1] != shape or t - last[0] >= 1.0 / self.config.still_hz
        )
        if not due:
            return None
        if not moving:
            self.tracker.reconcile()
            shape = self._shape()
        state = self.snapshot()
        self._published = (t, shape)
        self.history_rings.add_state(state)
        return state

    def _shape(self) -> tuple[Any, ...]:
        """What makes a still table's state worth publishing at once when it changes."""
        balls = tuple(
            (tr.id, tr.status, tr.identity.kind, tr.identity.number, self._visible(tr))
            for tr in self.tracker.reported()
        )
        return balls, self.cue.visible, self.tracker.any_moving()

    def _visible(self, tr: Track) -> bool:
        recent = tr.missing(self._t) <= self.config.tracker.visible_s
        return recent and not self.tracker.dropping(tr)

    def _ball_state(self, tr: Track) -> BallState:
        pocketed = tr.pocket is not None
        missing = 0.0 if pocketed else max(tr.missing(self._t), 0.0)
        confidence = tr.confidence * math.exp(-missing / self.config.hidden_confidence_s)
        return BallState(
            id=tr.id,
            number=tr.identity.number,
            kind=tr.identity.kind,
            x=tr.kf.x,
            y=tr.kf.y,
            vx=tr.kf.vx if tr.moving else 0.0,
            vy=tr.kf.vy if tr.moving else 0.0,
            moving=tr.moving,
            pocketed=pocketed,
            pocket=tr.pocket,
            visible=not pocketed and self._visible(tr),
            confidence=min(max(confidence, 0.0), 1.0),
        )

    def snapshot(self) -> State:
        """The table now (the ``snapshot`` request and every published ``core.state``)."""
        target = self._struck[0].id if self._struck and self.cue.visible else None
        cameras = sorted(
            c for c, t in self._camera_t.items() if self._t - t <= self.config.camera_timeout_s
        )
        return State(
            frame=self._newest[1],
            t_capture_ns=self._newest[0],
            balls=[self._ball_state(tr) for tr in self.tracker.reported()],
            cue=self.cue.state(target),
            table=self.geometry,
            moving=self.tracker.any_moving(),
            shot=self.events.shots.number,
            cameras=cameras,
        )

    # -- control requests ------------------------------------------------------------------------

    def predict_shot(self, args: Any) -> Prediction:
        """The ``predict_shot`` request (DESIGN.md §4); ``ControlError`` on bad arguments."""
        return self.simulate_shot(self.shot_args(args))

    def shot_args(self, args: Any) -> ShotArgs:
        """Validated ``predict_shot`` arguments, with the current balls when none are given.

        Reads the tracker: call it where :meth:`update` runs. The result is immutable, so
        :meth:`simulate_shot` may then run in a worker thread.
        """
        current = [
            TableBall(tr.id, tr.identity.number, tr.kf.x, tr.kf.y) for tr in self.tracker.on_table()
        ]
        return parse_args(args, current, self.table, self.phys)

    def simulate_shot(self, shot: ShotArgs) -> Prediction:
        """Simulate validated arguments (pure: touches no state of the game, thread-safe)."""
        return predict(shot, self.table, self.phys)

    def reset_game(self, by: str | None = None, reason: str = "request") -> list[Event]:
        """Start a new game: pending events, then ``game_reset``; shot numbers restart at 1.

        Balls on the table keep their ids; pocketed and lost balls are forgotten (a ball put
        back later gets a new id).
        """
        t = max(self._t, 0.0)
        events = self.events.reset(t, self._newest[1], reason, by)
        self.tracker.forget_off_table()
        self.history_rings.add_events(events)
        return events

    def flush_events(self) -> list[Event]:
        """Release every queued event now (the shell calls this when input stops)."""
        events = self.events.queue.flush()
        self.history_rings.add_events(events)
        return events

    def history(self, args: Any) -> dict[str, Any]:
        """The ``history`` request: states and events since a capture time (``History.query``)."""
        return self.history_rings.query(args)

    def calibration(self, cal: Calibration) -> list[Event]:
        """A ``vision.calibration`` message: ``table_calibrated`` when a camera's changed."""
        key = (*cal.homography, cal.rms_px or 0.0)
        if self._calibrations.get(cal.camera) == key:
            return []
        self._calibrations[cal.camera] = key
        t_ns = cal.t_ns or self._newest[0]
        event = TableCalibrated(
            t_ns=t_ns,
            frame=self._newest[1],
            shot=self.events.shots.number,
            camera=cal.camera,
            method=cal.method,
            rms_px=cal.rms_px,
        )
        self.history_rings.add_events([event])
        return [event]

    def stats(self) -> dict[str, Any]:
        """Counters for ``status`` and heartbeats: frames, rejections per reason, tracks."""
        tracks = Counter(tr.status.value for tr in self.tracker.tracks)
        return {
            "frames": dict(self.counters),
            "rejected": dict(self.hygiene.rejected),
            "tracks": dict(tracks),
            "shot": self.events.shots.number,
        }
