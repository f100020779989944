"""Game events the core derives, one schema each. Topic: ``core.event`` (reliable). Since 1.0.

Every event carries ``t_ns`` (capture time of the frame it was seen in), ``frame`` and ``shot``
(the shot number it belongs to, 0 before the first shot). Positions are table metres.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from protocol.messages.base import Message
from protocol.messages.vision import BallKind


class Event(Message, frozen=True, kw_only=True):
    """Fields every event has."""

    t_ns: int
    frame: int = 0
    shot: int = 0


class ShotStarted(Event, frozen=True, kw_only=True):
    """The cue ball was struck."""

    TYPE = "event.shot_started"
    ball: int
    speed: float
    direction_deg: float
    x: float
    y: float
    target: int | None = None


class ShotEnded(Event, frozen=True, kw_only=True):
    """Every ball is at rest again after a shot."""

    TYPE = "event.shot_ended"
    duration_s: float
    balls_moved: list[int] = msgspec.field(default_factory=list)
    pocketed: list[int] = msgspec.field(default_factory=list)
    first_contact: int | None = None
    cushion_hits: int = 0
    scratch: bool = False


class BallMotion(Event, frozen=True, kw_only=True):
    """A ball started or stopped moving."""

    TYPE = "event.ball_motion"
    ball: int
    number: int | None = None
    state: Literal["started", "stopped"]
    x: float
    y: float
    speed: float = 0.0


class Collision(Event, frozen=True, kw_only=True):
    """Two balls hit each other. ``angle_deg`` is the cut angle seen from the first ball."""

    TYPE = "event.collision"
    balls: list[int]
    x: float
    y: float
    speed: float = 0.0
    angle_deg: float | None = None


class CushionHit(Event, frozen=True, kw_only=True):
    """A ball bounced off a cushion (``top``, ``bottom``, ``left``, ``right``)."""

    TYPE = "event.cushion_hit"
    ball: int
    cushion: str
    x: float
    y: float
    speed: float = 0.0
    angle_in_deg: float | None = None
    angle_out_deg: float | None = None


class BallPocketed(Event, frozen=True, kw_only=True):
    """A ball dropped into a pocket."""

    TYPE = "event.ball_pocketed"
    ball: int
    number: int | None = None
    kind: BallKind = "unknown"
    pocket: str
    x: float
    y: float


class Scratch(Event, frozen=True, kw_only=True):
    """A foul with the cue ball: pocketed, off the table, or no ball hit."""

    TYPE = "event.scratch"
    ball: int
    reason: Literal["cue_pocketed", "no_contact", "off_table"]
    pocket: str | None = None


class BallSpotted(Event, frozen=True, kw_only=True):
    """A pocketed ball is back on the table (placed by hand, ball in hand)."""

    TYPE = "event.ball_spotted"
    ball: int
    number: int | None = None
    x: float
    y: float


class BallLost(Event, frozen=True, kw_only=True):
    """A ball left ``core.state`` without dropping into a pocket.

    ``hidden``: out of sight for longer than the core's hold time (picked up, or covered). If
    the ball comes back it gets its old id again. Added in 1.0 by the core (not in the seed).
    """

    TYPE = "event.ball_lost"
    ball: int
    number: int | None = None
    x: float
    y: float
    reason: str = "hidden"


class CueVisible(Event, frozen=True, kw_only=True):
    """The cue stick came into view (aiming)."""

    TYPE = "event.cue_visible"
    tip_x: float
    tip_y: float
    direction_deg: float
    target: int | None = None


class CueLost(Event, frozen=True, kw_only=True):
    """The cue stick left the view."""

    TYPE = "event.cue_lost"


class TableCalibrated(Event, frozen=True, kw_only=True):
    """A camera's calibration changed."""

    TYPE = "event.table_calibrated"
    camera: str
    method: str
    rms_px: float | None = None


class GameReset(Event, frozen=True, kw_only=True):
    """The game was reset (``reset_game`` request, or a fresh rack)."""

    TYPE = "event.game_reset"
    reason: str = "request"
    by: str | None = None


class Foul(Event, frozen=True, kw_only=True):
    """A rule broken in a shot that is not a scratch (``no_rail``, ``wrong_ball_first`` ...)."""

    TYPE = "event.foul"
    reason: str
    balls: list[int] = msgspec.field(default_factory=list)
    details: dict[str, Any] = msgspec.field(default_factory=dict)
