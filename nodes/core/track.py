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
#: seconds of measurements fitted for a ball's motion before a contact
FIT_S = 0.1
#: m/s: above this a sliding ball's deceleration (up to 2 m/s^2) biases a straight-line fit more
#: than the noise of a constant-acceleration fit costs, so the latter is used
CURVED_SPEED = 0.5


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
        "jumps",
        "kf",
        "last_seen",
        "moving",
        "moving_since",
        "p_gone",
        "p_seen",
        "pending",
        "pocket",
        "seen_now",
        "status",
        "t",
        "t_gone",
        "v_seen",
        "woken",
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
        self.jumps: deque[float] = deque(maxlen=8)
        self.confidence = 0.0
        self.jump: Innovation | None = None
        self.seen_now = False
        self.v_seen = (0.0, 0.0)
        self.p_seen = (kf.x, kf.y)
        self.anchor = (kf.x, kf.y)
        self.p_gone = (kf.x, kf.y)
        self.z = (kf.x, kf.y)
        #: a jump of a ball at rest not yet believed: (time, x, y) of that detection
        self.pending: tuple[float, float, float] | None = None
        #: the last time something could have pushed this ball while it rested
        self.woken = -math.inf
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

    def settled(self, t0: float, t1: float, v_stop: float, distance: float) -> bool:
        """At rest over [t0, t1]: the fitted speed is below ``v_stop`` and every sample lies
        within ``distance`` of the ball now (a rebound, whose net displacement can be zero,
        does not count)."""
        fit = self.fit(t0, t1)
        if fit is None or math.hypot(fit[2], fit[3]) >= v_stop:
            return False
        x, y = self.kf.x, self.kf.y
        return all(math.hypot(s.x - x, s.y - y) < distance for s in self.history if s.t >= t0)

    def fit_curved(
        self, t0: float, t1: float, at: float, least: int = 4
    ) -> tuple[float, float, float, float] | None:
        """Position and velocity at time ``at`` from a constant-acceleration least-squares fit
        through the measurements in [t0, t1] (a sliding ball curves and changes speed); None
        with fewer than ``least`` samples."""
        pts = [s for s in self.history if s.seen and t0 <= s.t <= t1]
        if len(pts) < max(least, 3):
            return None
        ts = np.array([s.t - at for s in pts])
        zs = np.array([[s.zx, s.zy] for s in pts])
        coef = np.polyfit(ts, zs, 2)
        return float(coef[2, 0]), float(coef[2, 1]), float(coef[1, 0]), float(coef[1, 1])

    def last_jump(self, t: float) -> float:
        """Time of the newest abrupt velocity change seen at or before ``t`` (-inf if none)."""
        return next((j for j in reversed(self.jumps) if j <= t), -math.inf)

    def before(self, t_ref: float | None = None) -> Sample:
        """The motion just before a contact seen now (or at ``t_ref``): position at the
        reference time and velocity fitted since the previous abrupt change (strike, collision,
        cushion). The reference is the previous frame if the filter saw a jump this frame (the
        contact lies in between), else this frame."""
        h = self.history
        if t_ref is None:
            t_ref = h[-2].t if self.jump is not None and len(h) > 1 else h[-1].t
        last = self.sample_before(t_ref) or h[0]
        if not self.moving or self.moving_since > last.t:
            return Sample(last.t, last.x, last.y, 0.0, 0.0, True, last.x, last.y)
        since = max(self.moving_since, self.last_jump(last.t))
        fit = self.fit(max(last.t - FIT_S, since), last.t)
        if fit is None:
            return last
        if math.hypot(fit[2], fit[3]) > CURVED_SPEED:
            # a curve's slope at the end of its window is noisy: fit it over twice as long
            fit = self.fit_curved(max(last.t - 2 * FIT_S, since), last.t, last.t, least=5) or fit
        return Sample(last.t, fit[0], fit[1], fit[2], fit[3], True, fit[0], fit[1])

    def after(
        self, t_contact: float, end: float, skip: float = 0.004
    ) -> tuple[float, float] | None:
        """Velocity fitted from ``skip`` after a contact until ``end`` (None: too few samples)."""
        fit = self.fit(t_contact + skip, end)
        return None if fit is None else (fit[2], fit[3])

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
