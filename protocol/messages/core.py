"""Messages of the core node: the table state, predicted trajectories and the table geometry.

Everything is in table metres, metres per second and degrees (DESIGN.md §3).
"""

from __future__ import annotations

import msgspec

from protocol.messages.base import Message, Point
from protocol.messages.vision import BallKind


class PocketGeometry(Message, frozen=True, kw_only=True):
    """A pocket: name (``top_left`` ... ``bottom_right``), capture centre and radius."""

    name: str
    x: float
    y: float
    radius: float


class TableGeometry(Message, frozen=True, kw_only=True):
    """The playing surface between cushion noses, centred on the origin, x along its length."""

    length: float
    width: float
    ball_radius: float
    cushion_height: float
    pockets: list[PocketGeometry] = msgspec.field(default_factory=list)


class BallState(Message, frozen=True, kw_only=True):
    """A tracked ball. ``id`` is stable for the life of the track; ``number`` once known."""

    id: int
    number: int | None = None
    kind: BallKind = "unknown"
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    moving: bool = False
    pocketed: bool = False
    pocket: str | None = None
    visible: bool = True
    confidence: float = 1.0


class CueState(Message, frozen=True, kw_only=True):
    """The cue stick as the core sees it, with the ball it points at."""

    tip_x: float
    tip_y: float
    direction_deg: float
    visible_fraction: float = 1.0
    confidence: float = 1.0
    target: int | None = None


class State(Message, frozen=True, kw_only=True):
    """The table now. Topic: ``core.state``. Since 1.0.

    ``frame`` and ``t_capture_ns`` are those of the newest detections that went into it.
    """

    TYPE = "core.state"
    frame: int
    t_capture_ns: int
    balls: list[BallState] = msgspec.field(default_factory=list)
    cue: CueState | None = None
    table: TableGeometry | None = None
    moving: bool = False
    shot: int = 0
    cameras: list[str] = msgspec.field(default_factory=list)


class TipOffset(Message, frozen=True, kw_only=True):
    """Cue-tip offset from the ball centre in ball radii: side > 0 right, height > 0 follow."""

    side: float = 0.0
    height: float = 0.0


class PathPoint(Message, frozen=True, kw_only=True):
    """A point of a predicted path: seconds after the strike and table metres."""

    t: float
    x: float
    y: float


class PredictedEvent(Message, frozen=True, kw_only=True):
    """One predicted event: ``ball_ball``, ``cushion``, ``pocket``, ``rolling``, ``rest`` ..."""

    t: float
    type: str
    balls: list[int]
    x: float
    y: float
    angle_deg: float | None = None
    pocket: str | None = None


class BallPath(Message, frozen=True, kw_only=True):
    """A ball's predicted path until it rests or drops, with where it ends."""

    id: int
    number: int | None = None
    path: list[PathPoint]
    final: Point
    pocket: str | None = None
    t_rest: float = 0.0


class Prediction(Message, frozen=True, kw_only=True):
    """The predicted outcome of a shot (the reply of ``predict_shot``)."""

    cue_ball: int
    target: int | None = None
    ghost: Point | None = None
    direction_deg: float
    speed: float
    tip: TipOffset = msgspec.field(default_factory=TipOffset)
    events: list[PredictedEvent] = msgspec.field(default_factory=list)
    balls: list[BallPath] = msgspec.field(default_factory=list)
    duration: float = 0.0
    compute_ms: float = 0.0


class Trajectory(Message, frozen=True, kw_only=True):
    """The shot the cue is aiming, or ``cleared``. Topic: ``core.trajectory``. Since 1.0."""

    TYPE = "core.trajectory"
    t_capture_ns: int
    frame: int = 0
    cleared: bool = False
    reason: str | None = None
    prediction: Prediction | None = None
