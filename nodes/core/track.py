"""One tracked ball: its filter, identity, lifecycle status and a short history.

Times are seconds on the tracker's clock (``t_capture_ns`` of the first frame is zero).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

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
    """The filtered state of a track after one update."""

    t: float
    x: float
    y: float
    vx: float
    vy: float
    seen: bool


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
        """Least-squares straight motion through the seen samples in [t0, t1]: position at t1
        and velocity. Steadier than the filter's velocity around collisions; None if fewer than
        two samples."""
        pts = [s for s in self.history if s.seen and t0 <= s.t <= t1]
        n = len(pts)
        if n < 2:
            return None
        mt = sum(s.t for s in pts) / n
        mx = sum(s.x for s in pts) / n
        my = sum(s.y for s in pts) / n
        stt = sum((s.t - mt) ** 2 for s in pts)
        if stt <= 0.0:
            return None
        vx = sum((s.t - mt) * (s.x - mx) for s in pts) / stt
        vy = sum((s.t - mt) * (s.y - my) for s in pts) / stt
        return mx + vx * (t1 - mt), my + vy * (t1 - mt), vx, vy

    def sample_before(self, t: float) -> Sample | None:
        """The newest sample at or before ``t``."""
        for s in reversed(self.history):
            if s.t <= t:
                return s
        return None

    def record(self, seen: bool) -> None:
        """Append the current filtered state to the history."""
        kf = self.kf
        self.history.append(Sample(self.t, kf.x, kf.y, kf.vx, kf.vy, seen))
