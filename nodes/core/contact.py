"""Ball-ball collisions, read from tracked motion.

A pair of balls, at least one moving, that comes within touching distance (twice the radius,
plus a noise allowance and the distance they close in one frame) is a candidate. Its contact
time and point come from the two balls' motion just before (fitted to the raw measurements since
each ball's previous abrupt change) extrapolated to a centre distance of 2R. The candidate is a
**collision** if those paths really meet (``gap_tol``), the balls were closing along the line of
centres, and ``confirm_s`` later their velocities show an impulse along that line pushing them
apart of at least ``impulse_rel`` of the closing speed; a near miss or a graze shows none. Two
balls seen at rest that start moving together while touching (a ball struck into a neighbour
within a frame) are confirmed by the struck ball departing along the line of centres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nodes.core.track import Sample, Track
from protocol.messages import TableGeometry


@dataclass(frozen=True, slots=True)
class CollisionConfig:
    """Thresholds. Distances in metres, speeds in m/s, times in seconds."""

    touch_tol: float = 0.005
    release: float = 0.01
    confirm_s: float = 0.08
    gap_tol: float = 0.004
    impulse_min: float = 0.02
    impulse_rel: float = 0.4


@dataclass(slots=True)
class BallContact:
    """A confirmed collision: ``a`` is the striking (faster) ball, (x, y) its centre at contact
    (the ghost-ball position, as in the physics engine's events)."""

    t: float
    frame: int
    a: Track
    b: Track
    x: float
    y: float
    speed: float
    cut_deg: float | None


@dataclass(slots=True)
class _Pending:
    t_confirm: float
    contact: BallContact
    before: tuple[Sample, Sample]
    gap: float = 0.0
    strike: bool = False


class CollisionDetector:
    """Finds ball-ball collisions in successive tracked states."""

    def __init__(self, table: TableGeometry, config: CollisionConfig | None = None) -> None:
        self.table = table
        self.config = config or CollisionConfig()
        self._touching: dict[tuple[int, int], float] = {}
        self._pending: list[_Pending] = []
        self._t_prev = -math.inf
        self._contact_times: dict[int, list[float]] = {}

    def reset(self) -> None:
        """Forget contacts in progress."""
        self._touching.clear()
        self._pending.clear()

    def update(self, t: float, frame: int, balls: Sequence[Track]) -> list[BallContact]:
        """Look at the newest state of the balls on the table; return collisions confirmed now."""
        self._pairs(t, frame, [b for b in balls if b.history])
        return self._confirm(t)

    def _pairs(self, t: float, frame: int, balls: Sequence[Track]) -> None:
        """Pairs (one moving) newly within touching distance become collision candidates;
        pairs that separated may touch again."""
        c, step = self.config, min(max(t - self._t_prev, 0.0), 0.1)
        self._t_prev = t
        if len(balls) < 2:
            self._touching.clear()
            return
        p = np.array([(b.kf.x, b.kf.y, b.kf.vx, b.kf.vy) for b in balls])
        moving = np.array([b.moving for b in balls])
        d = np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])
        v_rel = np.hypot(p[:, None, 2] - p[None, :, 2], p[:, None, 3] - p[None, :, 3])
        touch = 2.0 * self.table.ball_radius + c.touch_tol + 0.6 * v_rel * step
        close = (d <= touch + c.release) & (moving[:, None] | moving[None, :])
        kept: dict[tuple[int, int], float] = {}
        pending = {_key(q.contact.a, q.contact.b) for q in self._pending}
        for i, j in zip(*np.nonzero(np.triu(close, 1)), strict=True):
            a, b = balls[i], balls[j]
            key = _key(a, b)
            last = self._touching.get(key)
            again = last is not None and key not in pending and self._again(t, last, p[i], p[j])
            if d[i, j] <= touch[i, j] and (last is None or again):
                self._collision_candidate(t, frame, a, b)
                kept[key] = t
            elif last is not None:
                kept[key] = last
        self._touching = kept

    @staticmethod
    def _again(t: float, last: float, a: np.ndarray, b: np.ndarray) -> bool:
        """A pair still close after a collision touches again if it is closing in once more
        (a cue ball following through into the ball it just hit)."""
        closing = (b[0] - a[0]) * (b[2] - a[2]) + (b[1] - a[1]) * (b[3] - a[3])
        return t - last > 0.1 and closing < -0.05 * math.hypot(b[0] - a[0], b[1] - a[1])

    def _collision_candidate(self, t: float, frame: int, a: Track, b: Track) -> None:
        sa, sb = a.before(), b.before()
        if sa.vx == sa.vy == sb.vx == sb.vy == 0.0:
            self._strike_contact(t, frame, a, b)
            return
        if math.hypot(sb.vx, sb.vy) > math.hypot(sa.vx, sa.vy):
            a, b, sa, sb = b, a, sb, sa
        px, py = sb.x - sa.x, sb.y - sa.y
        vx, vy = sa.vx - sb.vx, sa.vy - sb.vy
        tau = _time_to_distance(px, py, -vx, -vy, 2.0 * self.table.ball_radius)
        tau = min(max(tau, 0.0), t - sa.t + self.config.confirm_s)
        ax, ay = sa.x + sa.vx * tau, sa.y + sa.vy * tau
        bx, by = sb.x + sb.vx * tau, sb.y + sb.vy * tau
        speed = math.hypot(vx, vy)
        cut = None
        if speed > 1.0e-6:
            nx, ny = bx - ax, by - ay
            cosang = (vx * nx + vy * ny) / (speed * (math.hypot(nx, ny) or 1.0))
            cut = math.degrees(math.acos(max(-1.0, min(1.0, cosang))))
        contact = BallContact(sa.t + tau, frame, a, b, ax, ay, speed, cut)
        due = max(t, contact.t + _skip(_normal(contact, sa, sb)[2])) + self.config.confirm_s
        gap = math.hypot(bx - ax, by - ay) - 2.0 * self.table.ball_radius
        self._pending.append(_Pending(due, contact, (sa, sb), gap))
        self._mark(contact.t, a, b)

    def _strike_contact(self, t: float, frame: int, a: Track, b: Track) -> None:
        """Two balls seen at rest both start moving while touching: one was struck (by the cue
        or another ball) and hit the other within a frame, too soon for any motion before the
        contact to be seen. Judged at confirmation by the departure directions."""
        step = t - a.history[-2].t if len(a.history) > 1 else 1.0 / 60.0
        sa = a.sample_before(a.moving_since - 1e-6) or a.history[0]
        sb = b.sample_before(b.moving_since - 1e-6) or b.history[0]
        contact = BallContact(t - step / 2.0, frame, a, b, sa.x, sa.y, 0.0, None)
        self._pending.append(_Pending(t + self.config.confirm_s, contact, (sa, sb), strike=True))
        self._mark(t - step / 2.0, a, b)

    def _mark(self, t: float, *balls: Track) -> None:
        for ball in balls:
            times = self._contact_times.setdefault(ball.id, [])
            times.append(t)
            del times[:-8]

    # -- confirmation ------------------------------------------------------------------------------

    def _confirm(self, t: float) -> list[BallContact]:
        done = [p for p in self._pending if p.t_confirm <= t]
        if not done:
            return []
        self._pending = [p for p in self._pending if p.t_confirm > t]
        return [p.contact for p in done if self._struck(p.contact, p, t)]

    def _after_until_next(
        self, tr: Track, c: BallContact, now: float, skip: float
    ) -> tuple[float, float] | None:
        """Velocity after a contact, fitted only up to the ball's next contact."""
        later = [x for x in self._contact_times.get(tr.id, ()) if x > c.t + 0.008]
        return tr.after(c.t, min([now, *later]), skip)

    def _struck(self, c: BallContact, p: _Pending, now: float) -> bool:
        """Whether the balls really touched: their paths met, and their velocities changed by
        an impulse along the line of centres, pushing them apart, of about the closing speed
        (a near miss changes nothing; friction changes both balls alike)."""
        cfg = self.config
        sa, sb = p.before
        if p.strike:
            skip = 0.004
            va, vb = (
                self._after_until_next(c.a, c, now, skip),
                self._after_until_next(c.b, c, now, skip),
            )
            return self._departed(c, sa, sb, va, vb)
        if p.gap > cfg.gap_tol:
            return False
        nx, ny, closing = _normal(c, sa, sb)
        skip = _skip(closing)
        va, vb = (
            self._after_until_next(c.a, c, now, skip),
            self._after_until_next(c.b, c, now, skip),
        )
        if closing < cfg.impulse_min:
            return False  # paths only grazed: no speed along the line of centres to exchange
        pushes = []
        if va is not None:
            pushes.append(-((va[0] - sa.vx) * nx + (va[1] - sa.vy) * ny))
        if vb is not None:
            pushes.append((vb[0] - sb.vx) * nx + (vb[1] - sb.vy) * ny)
        impulse = sum(pushes) / len(pushes) if pushes else 0.0
        return impulse >= max(cfg.impulse_min, cfg.impulse_rel * closing)

    def _departed(
        self,
        c: BallContact,
        sa: Sample,
        sb: Sample,
        va: tuple[float, float] | None,
        vb: tuple[float, float] | None,
    ) -> bool:
        """A strike contact is real if one ball left along the line from the other's centre
        (a struck ball departs along the line of centres); that ball is the one hit."""
        for struck, rest, v, other in ((c.b, sb, vb, sa), (c.a, sa, va, sb)):
            if v is None:
                continue
            speed = math.hypot(*v)
            ux, uy = rest.x - other.x, rest.y - other.y
            along = (v[0] * ux + v[1] * uy) / ((math.hypot(ux, uy) or 1.0) * (speed or 1.0))
            if speed >= self.config.impulse_min and along > 0.95:
                if struck is c.a:
                    c.a, c.b = c.b, c.a
                c.x, c.y, c.speed = other.x, other.y, speed
                return True
        return False


def _normal(c: BallContact, sa: Sample, sb: Sample) -> tuple[float, float, float]:
    """Unit line of centres (from a to b) at a contact, and the closing speed along it."""
    bx, by = sb.x + sb.vx * (c.t - sb.t), sb.y + sb.vy * (c.t - sb.t)
    nx, ny = bx - c.x, by - c.y
    norm = math.hypot(nx, ny) or 1.0
    nx, ny = nx / norm, ny / norm
    return nx, ny, (sa.vx - sb.vx) * nx + (sa.vy - sb.vy) * ny


def _skip(closing: float) -> float:
    """How long after an estimated contact the after-motion is surely under way: the estimate
    is uncertain by about twice the position noise over the closing speed."""
    return min(max(0.002 / max(closing, 1e-3), 0.004), 0.04)


def _key(a: Track, b: Track) -> tuple[int, int]:
    return (a.id, b.id) if a.id < b.id else (b.id, a.id)


def _time_to_distance(px: float, py: float, vx: float, vy: float, dist: float) -> float:
    """Earliest tau >= 0 with |p + v tau| = dist (closest approach if never)."""
    a = vx * vx + vy * vy
    if a < 1.0e-12:
        return 0.0
    b = px * vx + py * vy
    c = px * px + py * py - dist * dist
    disc = b * b - a * c
    if disc < 0.0:
        return max(-b / a, 0.0)
    return max((-b - math.sqrt(disc)) / a, 0.0)
