"""One tracked ball: its filter, identity, lifecycle status and a short history.

Times are seconds on the tracker's clock (``t_capture_ns`` of the first frame is zero).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from nodes.core.identity import Identity
from nodes.core.kalman import Innovation, Kalman

HISTORY = 48


class Status(enum.Enum):
    """Lifecycle of a track.

    ``TENTATIVE`` until seen often enough; ``CONFIRMED`` while on the table (visible or held
    through an occlusion); ``POCKETED`` after dropping into a pocket; ``LOST`` after being gone
    longer than the hold time away from any pocket. Pocketed and lost tracks keep their id and
    votes so a ball that comes back is recognised.
    """

    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    POCKETED = "pocketed"
    LOST = "lost"


@dataclass(slots=True)
class Sample:
    """The filtered state of a track after one update, and the measurement if it was seen."""

    t: float
    x: float
    y: float
    vx: float
    vy: float
    seen: bool
    zx: float = 0.0
    zy: float = 0.0


class Track:
    """A ball on (or off) the table as the tracker believes it."""

    __slots__ = (
        "anchor",
        "born",
        "cameras",
        "confidence",
        "history",
        "hits",
        "id",
        "identity",
        "jump",
        "kf",
        "last_seen",
        "moving",
        "moving_since",
        "p_gone",
        "p_seen",
        "pocket",
        "seen_now",
        "status",
        "t",
        "t_gone",
        "v_seen",
        "z",
    )

    def __init__(self, track_id: int, kf: Kalman, t: float) -> None:
        self.id = track_id
        self.kf = kf
        self.t = t
        self.born = t
        self.last_seen = t
        self.hits = 1
        self.status = Status.TENTATIVE
        self.identity = Identity()
        self.moving = False
        self.moving_since = t
        self.pocket: str | None = None
        self.t_gone = 0.0
        self.confidence = 0.0
        self.jump: Innovation | None = None
        self.seen_now = False
        self.v_seen = (0.0, 0.0)
        self.p_seen = (kf.x, kf.y)
        self.anchor = (kf.x, kf.y)
        self.p_gone = (kf.x, kf.y)
        self.z = (kf.x, kf.y)
        self.cameras: set[str] = set()
        self.history: deque[Sample] = deque(maxlen=HISTORY)

    @property
    def on_table(self) -> bool:
        """Confirmed: reported in the state (visible or held while hidden)."""
        return self.status is Status.CONFIRMED

    @property
    def live(self) -> bool:
        """Takes part in assignment (tentative or confirmed)."""
        return self.status in (Status.TENTATIVE, Status.CONFIRMED)

    def missing(self, now: float) -> float:
        """Seconds since the last detection."""
        return now - self.last_seen

    def predicted(self, tau: float) -> tuple[float, float]:
        """Position ``tau`` seconds from the filter's time."""
        return self.kf.x + tau * self.kf.vx, self.kf.y + tau * self.kf.vy

    def speed_seen(self) -> float:
        """Speed at the last detection."""
        return math.hypot(*self.v_seen)

    def fit(self, t0: float, t1: float) -> tuple[float, float, float, float] | None:
        """Least-squares straight motion through the measurements in [t0, t1]: position at t1
        and velocity. Raw measurements have no filter lag, so around a collision this is
        steadier than the filter's velocity; None if fewer than two samples."""
        pts = [s for s in self.history if s.seen and t0 <= s.t <= t1]
        n = len(pts)
        if n < 2:
            return None
        mt = sum(s.t for s in pts) / n
        mx = sum(s.zx for s in pts) / n
        my = sum(s.zy for s in pts) / n
        stt = sum((s.t - mt) ** 2 for s in pts)
        if stt <= 0.0:
            return None
        vx = sum((s.t - mt) * (s.zx - mx) for s in pts) / stt
        vy = sum((s.t - mt) * (s.zy - my) for s in pts) / stt
        return mx + vx * (t1 - mt), my + vy * (t1 - mt), vx, vy

    def velocity_at(self, t0: float, t1: float, at: float) -> tuple[float, float] | None:
        """Velocity at time ``at`` from a constant-acceleration least-squares fit through the
        measurements in [t0, t1] (a ball sliding after a cushion or collision curves)."""
        pts = [s for s in self.history if s.seen and t0 <= s.t <= t1]
        if len(pts) < 4:
            return None
        ts = np.array([s.t - at for s in pts])
        zs = np.array([[s.zx, s.zy] for s in pts])
        coef = np.polyfit(ts, zs, 2)
        return float(coef[1, 0]), float(coef[1, 1])

    def sample_before(self, t: float) -> Sample | None:
        """The newest sample at or before ``t``."""
        for s in reversed(self.history):
            if s.t <= t:
                return s
        return None

    def record(self, seen: bool) -> None:
        """Append the current filtered state to the history."""
        kf = self.kf
        self.history.append(Sample(self.t, kf.x, kf.y, kf.vx, kf.vy, seen, *self.z))
