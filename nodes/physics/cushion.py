"""What a cushion does to a ball touching it: which way it faces, and holding a pressed ball.

A sliding ball whose cloth friction drives it into a cushion (spin pulling it back after a
bounce, or running along the rail) would bounce ever lower and faster (e.g 0.85^k) without end.
Once a rebound would come back within T_REBOUND, the ball is held instead: the cushion takes
the normal parts of its velocity and acceleration (`motion.press`), in steps short enough that
the friction direction stays current, until the friction lets go of the cushion.
"""

from __future__ import annotations

import math

from nodes.physics import motion as mo
from nodes.physics.constant import Physics
from nodes.physics.geometry import Geometry
from nodes.physics.polynomial import A_PRESS, D_TOUCH, V_APPROACH

MIN_HOLD = 1e-12  # s: a ball about to slide off a cushion's end is not held
T_REBOUND = 2e-3  # s: a rebound that would come back sooner than this becomes a hold
T_STEP_LINE = 0.05  # s: longest held stretch along a straight cushion
T_STEP_TIP = 0.002  # s: longest held stretch on a rounded jaw tip (its tangent leaves it)


def normal(geo: Geometry, link: int, x: float, y: float) -> tuple[float, float]:
    """Unit normal of cushion `link` (straight ones first, then tips) facing a ball at (x, y)."""
    n_lines = len(geo.lines)
    if link < n_lines:
        return geo.lines[link][5], geo.lines[link][6]
    cx, cy = geo.tip_c[link - n_lines].tolist()
    d = math.hypot(x - cx, y - cy)
    return ((x - cx) / d, (y - cy) / d) if d > 0.0 else (1.0, 0.0)


def hold(row: mo.Row, link: int, geo: Geometry, phys: Physics) -> mo.Row:
    """`row` held against cushion `link` if it slides into it while touching it, else `row`."""
    if row[mo.PHASE] != mo.SLIDING:
        return row
    t, x, y = row[mo.T0], row[mo.RX], row[mo.RY]
    nx, ny = normal(geo, link, x, y)
    an = row[mo.AX] * nx + row[mo.AY] * ny
    vn = row[mo.VX] * nx + row[mo.VY] * ny
    if an >= -A_PRESS or abs(vn) > max(V_APPROACH, -0.5 * an * T_REBOUND):
        return row
    limit = _leaves(row, link, geo, phys.R)
    if limit is None or limit <= MIN_HOLD:  # not touching, or about to slide off its end
        return row
    held = mo.press(row, nx, ny, link, t + limit, phys)
    return row if held is None else held


def release(row: mo.Row, link: int, geo: Geometry, phys: Physics) -> mo.Row:
    """The segment after a held stretch: held again if still pressing, and never creeping into
    the cushion (snapping to rolling, v - 2u/7, can leave a tiny normal velocity)."""
    held = hold(row, link, geo, phys)
    if held is not row or row[mo.PHASE] != mo.ROLLING:
        return held
    nx, ny = normal(geo, link, row[mo.RX], row[mo.RY])
    vn = row[mo.VX] * nx + row[mo.VY] * ny
    if not -1e3 * V_APPROACH < vn < 0.0:
        return row
    vx, vy = row[mo.VX] - vn * nx, row[mo.VY] - vn * ny
    state = (row[mo.RX], row[mo.RY], vx, vy, -vy / phys.R, vx / phys.R, row[mo.WZ])
    return mo.segment(row[mo.T0], state, phys)


def _leaves(row: mo.Row, link: int, geo: Geometry, radius: float) -> float | None:
    """How long the ball may stay held (None if it does not touch the cushion now)."""
    x, y = row[mo.RX], row[mo.RY]
    if link >= len(geo.lines):
        cx, cy = geo.tip_c[link - len(geo.lines)].tolist()
        reach = radius + float(geo.tip_r[link - len(geo.lines)])
        return T_STEP_TIP if math.hypot(x - cx, y - cy) - reach <= D_TOUCH else None
    x0, y0, dx, dy, length, nx, ny = geo.lines[link]
    along = (x - x0) * dx + (y - y0) * dy
    gap = (x - x0) * nx + (y - y0) * ny - radius
    if not (-radius < gap <= D_TOUCH and 0.0 <= along <= length):
        return None
    v, a = row[mo.VX] * dx + row[mo.VY] * dy, 0.5 * (row[mo.AX] * dx + row[mo.AY] * dy)
    return min(T_STEP_LINE, stay(along, length, v, a))


def stay(along: float, length: float, v: float, a: float) -> float:
    """Time until a ball at `along` on a cushion of this length, moving along it as
    along + v t + a t^2, passes either end (inf if it never does)."""
    return min(_crossing(along, -v, -a), _crossing(length - along, v, a))


def _crossing(g0: float, g1: float, g2: float) -> float:
    """First t >= 0 where g0 - g1 t - g2 t^2 (>= 0 now) reaches 0, or inf."""
    if g2 == 0.0:
        return g0 / g1 if g1 > 0.0 else math.inf
    disc = g1 * g1 + 4.0 * g2 * g0
    if disc < 0.0:
        return math.inf
    root = math.sqrt(disc)
    roots = [t for t in ((-g1 + root) / (2.0 * g2), (-g1 - root) / (2.0 * g2)) if t >= 0.0]
    return min(roots, default=math.inf)


def pressing(sliding: bool, g0: float, g1: float, g2: float, radius: float) -> bool:
    """A sliding ball touching a cushion (gap g0), not leaving it (g1), driven into it (g2)."""
    return sliding and -radius < g0 <= D_TOUCH and g1 <= V_APPROACH and 2.0 * g2 < -A_PRESS
