"""Cushion hits, read from tracked motion.

A moving ball heading into a cushion (normal speed above ``min_inbound``, within 10 cm of it)
whose normal velocity then turns outbound is a candidate; it is a **cushion hit** if its path
before the turn (fitted to the raw measurements since its previous abrupt change) reaches the
cushion by now, so a ball turned back short of the cushion by another ball is not one. The hit
is reported ``after_s`` later, when a constant-acceleration fit of the rebound (a ball leaving a
cushion slides and curves) gives the angle out; time and point are where the inbound path
touches the cushion. Angles are measured from the cushion's normal (0 = square on), as in the
physics engine's events. Cushions are named ``top`` (+y), ``bottom``, ``left`` (-x), ``right``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nodes.core.track import Sample, Track
from protocol.messages import TableGeometry

#: name and inward normal of each cushion
CUSHIONS = (("right", -1.0, 0.0), ("left", 1.0, 0.0), ("top", 0.0, -1.0), ("bottom", 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class CushionConfig:
    """Thresholds. Speeds in m/s, times in seconds."""

    min_inbound: float = 0.03
    cooldown_s: float = 0.15
    after_s: float = 0.1


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


class CushionDetector:
    """Finds cushion hits in successive tracked states."""

    def __init__(self, table: TableGeometry, config: CushionConfig | None = None) -> None:
        self.table = table
        self.config = config or CushionConfig()
        self._pending: list[tuple[float, CushionContact]] = []
        self._inbound: dict[tuple[int, str], Sample] = {}
        self._last_hit: dict[tuple[int, str], float] = {}

    def reset(self) -> None:
        """Forget hits in progress."""
        self._pending.clear()
        self._inbound.clear()

    def update(self, t: float, frame: int, balls: Sequence[Track]) -> list[CushionContact]:
        """Look at the newest state of the moving balls; return hits confirmed now."""
        for tr in balls:
            if tr.moving and tr.history:
                self._ball(t, frame, tr)
        done = [c for due, c in self._pending if due <= t]
        if done:
            self._pending = [(due, c) for due, c in self._pending if due > t]
        return [self._finish(c) for c in done]

    def _ball(self, t: float, frame: int, tr: Track) -> None:
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
            recent = t - self._last_hit.get(key, -math.inf) > c.cooldown_s
            if recent and t - before.t < 0.25:
                step = t - tr.history[-2].t if len(tr.history) > 1 else 1.0 / 60.0
                self._cushion_candidate(t, step, frame, tr, (name, nx, ny), tr.before(before.t))

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
        due = max(t, contact.t) + self.config.after_s
        self._pending.append((due, contact))

    def _finish(self, hit: CushionContact) -> CushionContact:
        name = hit.cushion
        nx, ny = next((nx, ny) for n, nx, ny in CUSHIONS if n == name)
        end = hit.t + self.config.after_s
        curved = hit.ball.fit_curved(hit.t + 0.004, end, hit.t)
        vx, vy = (curved[2], curved[3]) if curved else (hit.ball.after(hit.t, end) or (0.0, 0.0))
        v_out = vx * nx + vy * ny
        v_t = abs(vx * ny - vy * nx)
        hit.angle_out = math.degrees(math.atan2(v_t, max(v_out, 1.0e-9)))
        return hit
