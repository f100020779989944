"""Next contact times of balls whose motion just changed: with other balls, cushions, pockets.

Every ball's current segment has a bounding box (`box`), so one vectorised overlap test picks
the few balls, jaw tips and pockets that can be reached at all; only those get an exact
contact time. While a ball's centre stays in the box |x| <= L/2 - R, |y| <= W/2 - R, only the
straight rails can stop it, which needs four scalar quadratics (`_rail_contact`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from nodes.physics import cushion
from nodes.physics import motion as mo
from nodes.physics.geometry import Geometry
from nodes.physics.polynomial import BATCH, D_TOUCH, V_APPROACH, contact_time, first_contact

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]
# c0 (x, y), c1 (x, y), c2 (x, y), rho, horizon, press: d(t) = c0 + c1 t + c2 t^2 reaches rho?
# press = 1 also counts touching and being driven together as contact (a ball on a jaw tip).
Offset = tuple[float, float, float, float, float, float, float, float, float]


@dataclass(slots=True)
class Scene:
    """The engine's current segments, as the contact search needs them."""

    rows: list[mo.Row]  # current segment of each ball
    boxes: Array  # (N, 4): xmin, xmax, ymin, ymax of each current segment until its end
    alive: Mask  # not pocketed
    moving: Mask  # sliding or rolling
    t_max: float


@dataclass(frozen=True, slots=True)
class Found:
    """Next contacts of one ball (absolute times; inf for none)."""

    others: list[int]  # balls that may be reached (all others stay at inf)
    pair: list[float]  # contact time with each of `others`
    cushion: float  # earliest cushion or jaw tip contact
    cushion_index: int  # cushions 0..S-1, then tips S..S+T-1
    pocket: float
    pocket_index: int


def box(row: mo.Row, t_max: float) -> tuple[float, float, float, float]:
    """Bounding box of the ball's centre over the whole segment (up to t_max)."""
    span = max(min(row[mo.TEND], t_max) - row[mo.T0], 0.0)
    out: list[float] = []
    for p, v, a in ((row[mo.RX], row[mo.VX], row[mo.AX]), (row[mo.RY], row[mo.VY], row[mo.AY])):
        end = p + (v + 0.5 * a * span) * span
        lo, hi = min(p, end), max(p, end)
        if a != 0.0 and 0.0 < -v / a < span:
            turn = p - 0.5 * v * v / a
            lo, hi = min(lo, turn), max(hi, turn)
        out += (lo, hi)
    return out[0], out[1], out[2], out[3]


@dataclass(slots=True)
class _Plan:
    """What is being checked for one ball: these others, tips and pockets; the best line."""

    ball: int
    others: list[int]
    cushion: float = math.inf
    cushion_index: int = -1
    tips: list[int] = field(default_factory=list)
    pockets: list[int] = field(default_factory=list)


def find(scene: Scene, balls: list[int], t: float, geo: Geometry, radius: float) -> list[Found]:
    """Next contacts of each ball in `balls` (all alive) with everything else, from time t."""
    offsets: list[Offset] = []
    plans = []
    for i in balls:
        plan = _Plan(i, _reachable(scene, i, 2.0 * radius))
        me = mo.position(scene.rows[i], t)
        offsets += [_offset(scene, i, me, j, t, 2.0 * radius) for j in plan.others]
        if scene.moving[i]:
            _plan_fixed(scene, plan, t, geo, radius, offsets)
        plans.append(plan)
    times = _solve(offsets)
    found, at, n_lines = [], 0, len(geo.lines)
    for plan in plans:
        pair = [t + x for x in times[at : at + len(plan.others)]]
        at += len(plan.others)
        for k in plan.tips:
            if times[at] < plan.cushion:
                plan.cushion, plan.cushion_index = times[at], n_lines + k
            at += 1
        pocket, pocket_k = math.inf, -1
        for k in plan.pockets:
            if times[at] < pocket:
                pocket, pocket_k = times[at], k
            at += 1
        found.append(
            Found(plan.others, pair, t + plan.cushion, plan.cushion_index, t + pocket, pocket_k)
        )
    return found


def _reachable(scene: Scene, i: int, reach: float) -> list[int]:
    b, bi = scene.boxes, scene.boxes[i]
    near = (b[:, 0] <= bi[1] + reach) & (b[:, 1] >= bi[0] - reach)
    near &= (b[:, 2] <= bi[3] + reach) & (b[:, 3] >= bi[2] - reach)
    near &= scene.alive if scene.moving[i] else scene.alive & scene.moving
    near[i] = False
    return [int(j) for j in np.flatnonzero(near)]


def _offset(
    scene: Scene, i: int, me: tuple[float, float, float, float], j: int, t: float, rho: float
) -> Offset:
    ri, rj = scene.rows[i], scene.rows[j]
    xi, yi, vxi, vyi = me
    xj, yj, vxj, vyj = mo.position(rj, t)
    horizon = min(ri[mo.TEND], rj[mo.TEND], scene.t_max) - t
    ax, ay = 0.5 * (rj[mo.AX] - ri[mo.AX]), 0.5 * (rj[mo.AY] - ri[mo.AY])
    return xj - xi, yj - yi, vxj - vxi, vyj - vyi, ax, ay, rho, horizon, 0.0


def _solve(offsets: list[Offset]) -> list[float]:
    if len(offsets) < BATCH:
        return [contact_time(*o) for o in offsets]
    a = np.array(offsets)
    c0, c1, c2 = a[:, 0:2], a[:, 2:4], a[:, 4:6]
    return [float(x) for x in first_contact(c0, c1, c2, a[:, 6], a[:, 7], a[:, 8])]


def _plan_fixed(
    scene: Scene, plan: _Plan, t: float, geo: Geometry, radius: float, offsets: list[Offset]
) -> None:
    """The rail contact from the fast path; near a pocket, the earliest line contact and the
    jaw tips and capture circles within reach (queued in `offsets` for the root solver)."""
    row = scene.rows[plan.ball]
    x, y, vx, vy = mo.position(row, t)
    horizon = min(row[mo.TEND], scene.t_max) - t
    ax, ay = row[mo.AX], row[mo.AY]
    sliding = row[mo.PHASE] == mo.SLIDING
    rail = _rail_contact(x, y, vx, vy, ax, ay, horizon, geo, radius, sliding)
    if rail is not None:
        plan.cushion, plan.cushion_index = rail
        return
    box = scene.boxes[plan.ball]
    for k in _near(box, geo.seg_box, radius):
        tau = _line_time(geo.lines[k], x, y, vx, vy, ax, ay, horizon, radius, sliding)
        if tau < plan.cushion:
            plan.cushion, plan.cushion_index = tau, k
    for k in _near(box, _circle_boxes(geo.tip_c, radius + geo.tip_r), 0.0):
        cx, cy = geo.tip_c[k].tolist()
        rho = radius + float(geo.tip_r[k])
        press = 1.0 if sliding else 0.0
        offsets.append((x - cx, y - cy, vx, vy, 0.5 * ax, 0.5 * ay, rho, horizon, press))
        plan.tips.append(k)
    for k in _near(box, _circle_boxes(geo.pocket_c, geo.pocket_r), 0.0):
        cx, cy = geo.pocket_c[k].tolist()
        rho = float(geo.pocket_r[k])
        offsets.append((x - cx, y - cy, vx, vy, 0.5 * ax, 0.5 * ay, rho, horizon, 0.0))
        plan.pockets.append(k)


def _circle_boxes(centres: Array, reach: Array) -> Array:
    r = reach[:, None]
    return np.concatenate(
        [centres[:, :1] - r, centres[:, :1] + r, centres[:, 1:] - r, centres[:, 1:] + r], axis=1
    )


def _near(box: Array, boxes: Array, margin: float) -> list[int]:
    """Indices of `boxes` (N, 4: xmin, xmax, ymin, ymax) within `margin` of `box`."""
    hit = (boxes[:, 0] <= box[1] + margin) & (boxes[:, 1] >= box[0] - margin)
    hit &= (boxes[:, 2] <= box[3] + margin) & (boxes[:, 3] >= box[2] - margin)
    return [int(k) for k in np.flatnonzero(hit)]


def _line_time(
    line: tuple[float, ...],
    x: float,
    y: float,
    vx: float,
    vy: float,
    ax: float,
    ay: float,
    horizon: float,
    radius: float,
    sliding: bool,
) -> float:
    """When the centre comes within `radius` of a straight cushion, moving towards it (or
    touching it and driven into it), touching it inside its length (else inf)."""
    x0, y0, dx, dy, length, nx, ny = line
    rx, ry = x - x0, y - y0
    g0 = rx * nx + ry * ny - radius
    if g0 < -radius:  # behind the cushion's face
        return math.inf
    g1, g2 = vx * nx + vy * ny, 0.5 * (ax * nx + ay * ny)
    if cushion.pressing(sliding, g0, g1, g2, radius):
        along = rx * dx + ry * dy
        stay = cushion.stay(along, length, vx * dx + vy * dy, 0.5 * (ax * dx + ay * dy))
        if 0.0 <= along <= length and stay > cushion.MIN_HOLD:
            return 0.0
    tau = approach_time(g0, g1, g2, horizon)
    if math.isinf(tau):
        return tau
    along = (rx + (vx + 0.5 * ax * tau) * tau) * dx + (ry + (vy + 0.5 * ay * tau) * tau) * dy
    return tau if 0.0 <= along <= length else math.inf


def _rail_contact(
    x: float,
    y: float,
    vx: float,
    vy: float,
    ax: float,
    ay: float,
    horizon: float,
    geo: Geometry,
    radius: float,
    sliding: bool,
) -> tuple[float, int] | None:
    """Fast path while the ball's centre is inside the box |x| <= L/2 - R, |y| <= W/2 - R, which
    no jaw, tip or capture circle reaches: the first contact, if any, is where the centre leaves
    the box. Returns (time, rail index), (inf, -1) for none, or None when the ball is outside
    the box or leaves it at a pocket (then everything must be checked)."""
    hx, hy = geo.half_x - radius, geo.half_y - radius
    if abs(x) > hx + D_TOUCH or abs(y) > hy + D_TOUCH or not geo.box_is_clear(radius):
        return None
    sides = ((x, vx, ax, hx), (-x, -vx, -ax, hx), (y, vy, ay, hy), (-y, -vy, -ay, hy))
    best, side = math.inf, -1
    for s, (p, v, a, limit) in enumerate(sides):
        g0, g1, g2 = limit - p, -v, -0.5 * a
        if cushion.pressing(sliding, g0, g1, g2, radius):
            return None  # held against a rail from now on: the slow path sorts out which
        tau = approach_time(g0, g1, g2, horizon)
        if tau < best:
            best, side = tau, s
    if side < 0:
        return math.inf, -1
    along = y + (vy + 0.5 * ay * best) * best if side < 2 else x + (vx + 0.5 * ax * best) * best
    for k, low, high in geo.rails[side]:
        if low <= along <= high:
            return best, k
    return None


def approach_time(g0: float, g1: float, g2: float, horizon: float) -> float:
    """First t in [0, horizon] where g0 + g1 t + g2 t^2 falls through 0 (a gap closing), or inf."""
    if g0 <= D_TOUCH and g1 < -V_APPROACH:
        return 0.0
    disc = g1 * g1 - 4.0 * g2 * g0
    if disc < 0.0:
        return math.inf
    root = math.sqrt(disc)
    if root <= V_APPROACH:  # never closes faster than a graze
        return math.inf
    # The closing root (slope -sqrt(disc)) is (-g1 - root) / (2 g2) = 2 g0 / (root - g1); take
    # the form without cancellation (the other one is 0/0 for a ball leaving a cushion it
    # touches, g0 = 0, that friction curves back into it).
    if g1 > 0.0:
        if g2 >= 0.0:
            return math.inf
        tau = (g1 + root) / (-2.0 * g2)
    else:
        tau = 2.0 * g0 / (root - g1)
    return tau if 0.0 <= tau <= horizon else math.inf
