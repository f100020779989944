"""Where a ball's centre can be: inside the cushions, or in a pocket's mouth.

A ball's centre stays at least one radius inside the cushion noses, except where it drops into
a pocket. Predictions respect that: a coasting track that reaches a cushion line bounces off it
(mirror image, normal speed times the restitution) instead of sailing off the table, and a
track whose centre is beyond the table away from every pocket is not a ball on the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nodes.core.kalman import Kalman
from protocol.messages import TableGeometry

#: a pocket's mouth zone: within its capture radius plus this many ball radii of its centre
POCKET_ZONE_R = 2.5


@dataclass(frozen=True, slots=True)
class Bounce:
    """A predicted cushion contact: seconds before the end of the prediction step."""

    ago: float
    normal_speed: float


class Boundary:
    """The region a ball's centre can occupy on one table."""

    def __init__(
        self, table: TableGeometry, restitution: float = 0.8, min_bounce: float = 0.05
    ) -> None:
        self.table = table
        self.restitution = restitution
        self.min_bounce = min_bounce
        self.half_x = table.length / 2 - table.ball_radius
        self.half_y = table.width / 2 - table.ball_radius
        zone = POCKET_ZONE_R * table.ball_radius
        self._zones = [(p.x, p.y, p.radius + zone) for p in table.pockets]

    def in_pocket_zone(self, x: float, y: float) -> bool:
        """Whether (x, y) is in a pocket's mouth, where a ball may cross the cushion line."""
        return any(math.hypot(x - px, y - py) < r for px, py, r in self._zones)

    def outside(self, x: float, y: float, margin: float = 0.0) -> float:
        """How far (x, y) lies beyond the cushion lines plus ``margin`` (0 if inside)."""
        dx = max(abs(x) - self.half_x - margin, 0.0)
        dy = max(abs(y) - self.half_y - margin, 0.0)
        return math.hypot(dx, dy)

    def off_table(self, x: float, y: float) -> bool:
        """A centre no ball on the table can have: beyond a cushion nose by more than a radius
        away from the pockets."""
        r = self.table.ball_radius
        return self.outside(x, y, r) > 0.0 and not self.in_pocket_zone(x, y)

    def reflect(self, kf: Kalman, dt: float) -> Bounce | None:
        """Bounce a filter that was just predicted ``dt`` seconds past a cushion line.

        The position is mirrored about the line, the normal velocity reversed and scaled by the
        restitution, and the velocity uncertainty widened by the normal speed (the rebound's
        speed and spin are unknown). Slower than ``min_bounce`` normal to the cushion (a ball
        rolling along it), the ball is only kept on the line. Nothing happens in a pocket's
        mouth (the pocket rule decides there). Returns the contact, or None.
        """
        if self.outside(kf.x, kf.y) == 0.0 or self.in_pocket_zone(kf.x, kf.y):
            return None
        x, vx, bx = self._axis(kf.x, kf.vx, self.half_x, dt)
        y, vy, by = self._axis(kf.y, kf.vy, self.half_y, dt)
        kf.x, kf.vx, kf.y, kf.vy = x, vx, y, vy
        bounces = [b for b in (bx, by) if b is not None]
        if not bounces:
            return None
        bounce = max(bounces, key=lambda b: b.ago)
        kf.impulse(bounce.ago, (0.5 * bounce.normal_speed) ** 2)
        return bounce

    def _axis(
        self, p: float, v: float, half: float, dt: float
    ) -> tuple[float, float, Bounce | None]:
        """One coordinate against its two cushion lines: position, velocity and the bounce."""
        if abs(p) <= half:
            return p, v, None
        edge = math.copysign(half, p)
        if v * p <= 0.0:
            return edge, v, None  # beyond the line but already coming back: onto the line
        if abs(v) < self.min_bounce:
            return edge, 0.0, None
        ago = min((p - edge) / v, dt)
        return edge - self.restitution * (p - edge), -self.restitution * v, Bounce(ago, abs(v))

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        """The nearest point a resting ball's centre can have (unchanged in a pocket's mouth)."""
        if self.in_pocket_zone(x, y):
            return x, y
        return (
            min(max(x, -self.half_x), self.half_x),
            min(max(y, -self.half_y), self.half_y),
        )
