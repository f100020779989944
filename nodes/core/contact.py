"""Ball-ball collisions and cushion hits, read from tracked motion.

A **collision** is two balls, at least one moving, coming within touching distance (twice the
radius, plus the noise allowance and the distance they close in one frame) *and* at least one of
them changing velocity clearly within ``confirm_s`` (a near miss changes nothing and is
dropped). A pair must separate before it can collide again. A **cushion hit** is a moving ball
within touching distance of a cushion whose velocity component into that cushion turns from
inbound to outbound. Both are reported ``confirm_s`` after contact, when the velocities after
it are known; times and points are extrapolated back to the moment of contact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nodes.core.track import Sample, Track
from protocol.messages import TableGeometry


@dataclass(frozen=True, slots=True)
class ContactConfig:
    """Thresholds. Distances in metres, speeds in m/s, times in seconds."""

    touch_tol: float = 0.005
    release: float = 0.01
    confirm_s: float = 0.08
    gap_tol: float = 0.004
    impulse_min: float = 0.02
    impulse_rel: float = 0.4
    min_inbound: float = 0.03
    cushion_cooldown_s: float = 0.15
    cushion_after_s: float = 0.1


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
class CushionContact:
    """A confirmed cushion hit, angles from the cushion's normal (0 = square on)."""

    t: float
    frame: int
    ball: Track
    cushion: str
    x: float
    y: float
    speed: float
    angle_in: float
    angle_out: float


@dataclass(slots=True)
class _Pending:
    t_confirm: float
    contact: BallContact | CushionContact
    before: tuple[Sample, Sample | None]
    gap: float = 0.0


CUSHIONS = (("right", -1.0, 0.0), ("left", 1.0, 0.0), ("top", 0.0, -1.0), ("bottom", 0.0, 1.0))


FIT_S = 0.07


def _before(tr: Track, t_ref: float | None = None) -> Sample:
    """The ball's motion up to ``t_ref`` (default: two frames back, before the newest change),
    fitted over the seen samples since it started moving: position at ``t_ref`` and velocity."""
    h = tr.history
    if t_ref is None:
        t_ref = (h[-3] if len(h) >= 3 else h[0]).t
    last = tr.sample_before(t_ref) or h[0]
    if not tr.moving or tr.moving_since > t_ref:
        return Sample(last.t, last.x, last.y, 0.0, 0.0, True)
    fit = tr.fit(max(t_ref - FIT_S, tr.moving_since), last.t)
    if fit is None:
        return last
    return Sample(last.t, fit[0], fit[1], fit[2], fit[3], True)


def _after(tr: Track, t_contact: float, now: float) -> tuple[float, float]:
    """The ball's velocity fitted from just after a contact until ``now``."""
    fit = tr.fit(t_contact + 0.004, now)
    return (tr.kf.vx, tr.kf.vy) if fit is None else (fit[2], fit[3])


class ContactDetector:
    """Finds collisions and cushion hits in successive tracked states."""

    def __init__(self, table: TableGeometry, config: ContactConfig | None = None) -> None:
        self.table = table
        self.config = config or ContactConfig()
        self._touching: set[tuple[int, int]] = set()
        self._pending: list[_Pending] = []
        self._inbound: dict[tuple[int, str], Sample] = {}
        self._last_hit: dict[tuple[int, str], float] = {}

    def reset(self) -> None:
        """Forget contacts in progress."""
        self._touching.clear()
        self._pending.clear()
        self._inbound.clear()

    def update(
        self, t: float, frame: int, balls: Sequence[Track]
    ) -> list[BallContact | CushionContact]:
        """Look at the newest state of the balls on the table; return contacts confirmed now."""
        seen = [b for b in balls if b.history]
        self._pairs(t, frame, seen)
        for tr in seen:
            if tr.moving:
                self._cushions(t, frame, tr)
        return self._confirm(t)

    # -- ball-ball -------------------------------------------------------------------------------

    def _pairs(self, t: float, frame: int, balls: Sequence[Track]) -> None:
        c, r2 = self.config, 2.0 * self.table.ball_radius
        for i, a in enumerate(balls):
            for b in balls[i + 1 :]:
                key = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if not (a.moving or b.moving):
                    self._touching.discard(key)
                    continue
                d = math.hypot(a.kf.x - b.kf.x, a.kf.y - b.kf.y)
                v_rel = math.hypot(a.kf.vx - b.kf.vx, a.kf.vy - b.kf.vy)
                step = t - a.history[-2].t if len(a.history) > 1 else 1.0 / 60.0
                touch = r2 + c.touch_tol + 0.6 * v_rel * step
                if d <= touch and key not in self._touching:
                    self._touching.add(key)
                    self._collision_candidate(t, frame, a, b)
                elif d > touch + c.release:
                    self._touching.discard(key)

    def _collision_candidate(self, t: float, frame: int, a: Track, b: Track) -> None:
        sa, sb = _before(a), _before(b)
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
        due = max(t, contact.t) + self.config.confirm_s
        gap = math.hypot(bx - ax, by - ay) - 2.0 * self.table.ball_radius
        self._pending.append(_Pending(due, contact, (sa, sb), gap))

    # -- cushions --------------------------------------------------------------------------------

    def _cushions(self, t: float, frame: int, tr: Track) -> None:
        c, radius = self.config, self.table.ball_radius
        kf = tr.kf
        for name, nx, ny in CUSHIONS:
            gap = self._gap(name, kf.x, kf.y) - radius
            inbound = -(kf.vx * nx + kf.vy * ny)
            key = (tr.id, name)
            if inbound > c.min_inbound and gap < 0.1:
                if len(tr.history) > 1:
                    self._inbound[key] = tr.history[-2]
                continue
            before = self._inbound.get(key)
            if before is None or inbound > -c.min_inbound:
                continue
            del self._inbound[key]
            recent = t - self._last_hit.get(key, -math.inf) > c.cushion_cooldown_s
            if recent and t - before.t < 0.25:
                step = t - tr.history[-2].t if len(tr.history) > 1 else 1.0 / 60.0
                self._cushion_candidate(t, step, frame, tr, (name, nx, ny), _before(tr, before.t))

    def _gap(self, name: str, x: float, y: float) -> float:
        half_l, half_w = self.table.length / 2, self.table.width / 2
        return {"right": half_l - x, "left": x + half_l, "top": half_w - y, "bottom": y + half_w}[
            name
        ]

    def _cushion_candidate(
        self,
        t: float,
        step: float,
        frame: int,
        tr: Track,
        cushion: tuple[str, float, float],
        s: Sample,
    ) -> None:
        """The ball turned back from a cushion: a hit if its inbound path reached the cushion
        by now (a ball turned back by another ball short of the cushion does not)."""
        name, nx, ny = cushion
        v_in = -(s.vx * nx + s.vy * ny)
        if v_in <= 0.0:
            return
        reach = max(self._gap(name, s.x, s.y) - self.table.ball_radius, 0.0) / v_in
        if s.t + reach > t + step:
            return
        self._last_hit[(tr.id, name)] = t
        x, y = s.x + s.vx * reach, s.y + s.vy * reach
        v_t = abs(s.vx * ny - s.vy * nx)
        angle_in = math.degrees(math.atan2(v_t, v_in))
        contact = CushionContact(
            s.t + reach, frame, tr, name, x, y, math.hypot(s.vx, s.vy), angle_in, 0.0
        )
        due = max(t, contact.t) + self.config.cushion_after_s
        self._pending.append(_Pending(due, contact, (s, None)))

    # -- confirmation ------------------------------------------------------------------------------

    def _confirm(self, t: float) -> list[BallContact | CushionContact]:
        done = [p for p in self._pending if p.t_confirm <= t]
        if not done:
            return []
        self._pending = [p for p in self._pending if p.t_confirm > t]
        out: list[BallContact | CushionContact] = []
        for p in done:
            c = p.contact
            if isinstance(c, CushionContact):
                out.append(self._finish_cushion(c, t))
            elif p.before[1] is not None and self._struck(c, p.before[0], p.before[1], p.gap, t):
                out.append(c)
        return out

    def _struck(self, c: BallContact, sa: Sample, sb: Sample, gap: float, now: float) -> bool:
        """Whether the balls really touched: their paths met, and their velocities changed by
        an impulse along the line of centres, pushing them apart, of about the closing speed
        (a near miss changes nothing; friction changes both balls alike)."""
        cfg = self.config
        if gap > cfg.gap_tol:
            return False
        bx, by = sb.x + sb.vx * (c.t - sb.t), sb.y + sb.vy * (c.t - sb.t)
        nx, ny = bx - c.x, by - c.y
        norm = math.hypot(nx, ny) or 1.0
        nx, ny = nx / norm, ny / norm
        ax_, ay_ = _after(c.a, c.t, now)
        bx_, by_ = _after(c.b, c.t, now)
        dva = (ax_ - sa.vx) * nx + (ay_ - sa.vy) * ny
        dvb = (bx_ - sb.vx) * nx + (by_ - sb.vy) * ny
        closing = (sa.vx - sb.vx) * nx + (sa.vy - sb.vy) * ny
        return (dvb - dva) / 2.0 >= max(cfg.impulse_min, cfg.impulse_rel * closing)

    def _finish_cushion(self, hit: CushionContact, now: float) -> CushionContact:
        name = hit.cushion
        nx, ny = next((nx, ny) for n, nx, ny in CUSHIONS if n == name)
        after = hit.ball.velocity_at(hit.t + 0.004, hit.t + self.config.cushion_after_s, hit.t)
        vx, vy = after or _after(hit.ball, hit.t, hit.t + self.config.cushion_after_s)
        v_out = vx * nx + vy * ny
        v_t = abs(vx * ny - vy * nx)
        hit.angle_out = math.degrees(math.atan2(v_t, max(v_out, 1.0e-9)))
        return hit


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
