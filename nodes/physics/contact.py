"""Next contact times of balls whose motion just changed: with other balls, cushions, pockets.

Every ball's current segment has a bounding box (`box`), so one vectorised overlap test picks
the few balls, jaw tips and pockets that can be reached at all; only those get an exact
contact time. While a ball's centre stays in the box |x| <= L/2 - R, |y| <= W/2 - R, only the
straight rails can stop it, which needs four scalar quadratics (`_rail_contact`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.physics import motion as mo
from nodes.physics.polynomial import BATCH, D_TOUCH, V_APPROACH, contact_time, first_contact
from nodes.physics.table import Geometry

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]
# c0 (x, y), c1 (x, y), c2 (x, y), rho, horizon: d(t) = c0 + c1 t + c2 t^2 reaches rho?
Offset = tuple[float, float, float, float, float, float, float, float]


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


def find(scene: Scene, balls: list[int], t: float, geo: Geometry, radius: float) -> list[Found]:
    """Next contacts of each ball in `balls` (all alive) with everything else, from time t."""
    offsets: list[Offset] = []
    plans = []
    for i in balls:
        others = _reachable(scene, i, 2.0 * radius)
        offsets += [_offset(scene, i, j, t, 2.0 * radius) for j in others]
        fixed = _fixed(scene, i, t, geo, radius, offsets) if scene.moving[i] else (np.inf, -1)
        plans.append((i, others, fixed))
    times = _solve(offsets)
    found, at = [], 0
    for i, others, fixed in plans:
        pair = [t + x for x in times[at : at + len(others)]]
        at += len(others)
        if fixed is None:  # tips and pockets were queued too
            n_tip, n_pocket = len(geo.tip_r), len(geo.pocket_r)
            tips = np.array(times[at : at + n_tip])
            pockets = np.array(times[at + n_tip : at + n_tip + n_pocket])
            at += n_tip + n_pocket
            cushion, k = _earliest_cushion(scene.rows[i], t, scene.t_max, geo, radius, tips)
            p = int(np.argmin(pockets))
            found.append(Found(others, pair, t + cushion, k, t + float(pockets[p]), p))
        else:
            found.append(Found(others, pair, t + fixed[0], fixed[1], np.inf, -1))
    return found


def _reachable(scene: Scene, i: int, reach: float) -> list[int]:
    b, bi = scene.boxes, scene.boxes[i]
    near = (b[:, 0] <= bi[1] + reach) & (b[:, 1] >= bi[0] - reach)
    near &= (b[:, 2] <= bi[3] + reach) & (b[:, 3] >= bi[2] - reach)
    near &= scene.alive if scene.moving[i] else scene.alive & scene.moving
    near[i] = False
    return [int(j) for j in np.flatnonzero(near)]


def _offset(scene: Scene, i: int, j: int, t: float, rho: float) -> Offset:
    ri, rj = scene.rows[i], scene.rows[j]
    xi, yi, vxi, vyi, *_ = mo.evaluate(ri, t)
    xj, yj, vxj, vyj, *_ = mo.evaluate(rj, t)
    horizon = min(ri[mo.TEND], rj[mo.TEND], scene.t_max) - t
    ax, ay = 0.5 * (rj[mo.AX] - ri[mo.AX]), 0.5 * (rj[mo.AY] - ri[mo.AY])
    return xj - xi, yj - yi, vxj - vxi, vyj - vyi, ax, ay, rho, horizon


def _solve(offsets: list[Offset]) -> list[float]:
    if len(offsets) < BATCH:
        return [contact_time(*o) for o in offsets]
    a = np.array(offsets)
    c0, c1, c2 = a[:, 0:2], a[:, 2:4], a[:, 4:6]
    return [float(x) for x in first_contact(c0, c1, c2, a[:, 6], a[:, 7])]


def _fixed(
    scene: Scene, i: int, t: float, geo: Geometry, radius: float, offsets: list[Offset]
) -> tuple[float, int] | None:
    """The rail contact from the fast path, or None after queueing tips and pockets."""
    row = scene.rows[i]
    x, y, vx, vy, *_ = mo.evaluate(row, t)
    horizon = min(row[mo.TEND], scene.t_max) - t
    rail = _rail_contact(x, y, vx, vy, row[mo.AX], row[mo.AY], horizon, geo, radius)
    if rail is not None:
        return rail
    ax, ay = 0.5 * row[mo.AX], 0.5 * row[mo.AY]
    for (cx, cy), rho in zip(geo.tip_c.tolist(), (radius + geo.tip_r).tolist(), strict=True):
        offsets.append((x - cx, y - cy, vx, vy, ax, ay, rho, horizon))
    for (cx, cy), rho in zip(geo.pocket_c.tolist(), geo.pocket_r.tolist(), strict=True):
        offsets.append((x - cx, y - cy, vx, vy, ax, ay, rho, horizon))
    return None


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
        tau = approach_time(limit - p, -v, -0.5 * a, horizon)
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
    den = root - g1  # the closing root is 2 g0 / (sqrt(disc) - g1)
    if root <= V_APPROACH or den <= 0.0:
        return math.inf
    tau = 2.0 * g0 / den
    return tau if 0.0 <= tau <= horizon else math.inf


def _earliest_cushion(
    row: mo.Row, t: float, t_max: float, geo: Geometry, radius: float, tips: Array
) -> tuple[float, int]:
    x, y, vx, vy, *_ = mo.evaluate(row, t)
    horizon = min(row[mo.TEND], t_max) - t
    pos, vel = np.array([x, y]), np.array([vx, vy])
    lines = line_contact(pos, vel, np.array([row[mo.AX], row[mo.AY]]), horizon, geo, radius)
    both = np.concatenate([lines, tips])
    k = int(np.argmin(both))
    return float(both[k]), k


def line_contact(
    pos: Array, vel: Array, acc: Array, horizon: float, geo: Geometry, radius: float
) -> Array:
    """Time until the ball's centre comes within `radius` of each straight cushion, moving
    towards it, with the touching point inside the segment; inf where it does not."""
    n = geo.seg_n
    rel = pos - geo.seg_p0
    g0 = np.einsum("ij,ij->i", rel, n) - radius
    g1 = n @ vel
    g2 = 0.5 * (n @ acc)
    disc = g1 * g1 - 4.0 * g2 * g0
    root = np.sqrt(np.maximum(disc, 0.0))
    den = root - g1  # the closing root is 2 g0 / (sqrt(disc) - g1)
    with np.errstate(all="ignore"):
        tau = np.where((disc >= 0.0) & (den > 0.0), 2.0 * g0 / den, np.inf)
    tau = np.where((tau >= 0.0) & (tau <= horizon) & (root > V_APPROACH), tau, np.inf)
    now = (g0 <= D_TOUCH) & (g0 > -radius) & (g1 < -V_APPROACH)
    tau = np.where(now, 0.0, tau)
    at = np.where(np.isfinite(tau), tau, 0.0)[:, None]
    along = np.einsum("ij,ij->i", rel + (vel + 0.5 * acc * at) * at, geo.seg_dir)
    inside = (along >= 0.0) & (along <= geo.seg_len)
    return np.where(inside, tau, np.inf)
