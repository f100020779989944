"""Where a vanished ball went: the pocket its last seen motion carries it into.

Pocket positions and capture radii are the physics table's (``TableGeometry.pockets``): the
physics engine drops a ball when its centre enters the capture circle.
"""

from __future__ import annotations

import math

from protocol.messages import PocketGeometry, TableGeometry


def pocket_entry(
    table: TableGeometry,
    seen: tuple[float, float],
    velocity: tuple[float, float],
    horizon: float,
    min_speed: float,
) -> tuple[PocketGeometry, float] | None:
    """The pocket a ball last seen at ``seen`` moving at ``velocity`` ran into, and the seconds
    after that sighting: its straight path enters a capture circle (or passes within a ball
    radius of it, inbound) within ``horizon``, or, slower than ``min_speed`` (too slow for a
    path), it was last seen on the lip of a circle (a ball dying into the jaws)."""
    px, py = seen
    vx, vy = velocity
    if vx * vx + vy * vy < min_speed * min_speed:
        lip = table.ball_radius / 2
        near = (p for p in table.pockets if math.hypot(px - p.x, py - p.y) <= p.radius + lip)
        return next(((p, 0.0) for p in near), None)
    best: tuple[PocketGeometry, float] | None = None
    for pocket in table.pockets:
        dx, dy = px - pocket.x, py - pocket.y
        s = _entry_time(dx, dy, vx, vy, pocket.radius, horizon)
        if s is None:
            s = _entry_time(dx, dy, vx, vy, pocket.radius + table.ball_radius, horizon)
        if s is not None and (best is None or s < best[1]):
            best = (pocket, s)
    return best


def _entry_time(
    px: float, py: float, vx: float, vy: float, radius: float, horizon: float
) -> float | None:
    """When a point at p moving at v enters the circle of ``radius`` about the origin, within
    ``horizon`` seconds (0 if already inside), or None if it does not (or moves away)."""
    c = px * px + py * py - radius * radius
    b = px * vx + py * vy
    if c <= 0.0:
        return 0.0 if b < 0.0 or c < -0.25 * radius * radius else None
    a = vx * vx + vy * vy
    disc = b * b - a * c
    if b >= 0.0 or disc < 0.0:
        return None
    s = (-b - math.sqrt(disc)) / a
    return s if s <= horizon else None
