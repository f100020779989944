"""Robust fits of circles of known radius to a batch of rims.

The calibration knows a ball's apparent radius at every pixel to about 0.1 %, so only the
centre is fitted: Gauss-Newton on the distance of each rim point to the circle, with Tukey
weights so rim points on a stripe, a shadow or a neighbouring ball drop out. Where a ray has
several candidate rims, each iteration takes the one nearest the current circle. The 2 x 2
normal equations are solved in closed form. A silhouette that is an ellipse of known shape
(off the optical axis, ``TableCalibration.silhouette_shape``) is fitted as a circle in the
frame where it is one: the rim points are mapped through the shape's inverse about the start,
and the centre found there is mapped back. The fit runs ball by ball in a compiled loop
(numba): on 32 rays per ball, numpy's per-call cost was most of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import ray

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]

MIN_SCALE = 0.35  # px: residual scale below which the Tukey weights stop tightening
TUKEY = 3.5  # in robust scales


@dataclass(frozen=True, slots=True)
class Fit:
    """Circles of a batch: centres (B, 2), radii (B,), inlier rims (B, RAYS), rms of inliers
    (px), the share of rays that are inliers, and the inliers' mean distance from the centre
    (what a free fit would call the radius: a check on the object's size)."""

    centre: F64
    radius: F64
    inlier: Bools
    rms: F64
    support: F64
    sized: F64

    def subset(self, keep: Bools) -> Fit:
        """The fits where ``keep``."""
        return Fit(
            self.centre[keep], self.radius[keep], self.inlier[keep], self.rms[keep],
            self.support[keep], self.sized[keep],
        )  # fmt: skip


def fit(
    candidates: F64, valid: Bools, start: F64, radius: F64, iterations: int = 4,
    shapes: F64 | None = None,
) -> Fit:  # fmt: skip
    """Fit circles of ``radius`` (B,) to rim ``candidates`` (B, R, K, 2) where ``valid``,
    from ``start`` centres (B, 2); or, with ``shapes`` (B, 2, 2), the silhouettes that are
    ``radius`` times those shapes (rms and ``sized`` then in radius-scaled px of the circle)."""
    start = np.asarray(start, np.float64)
    shapes = ray.round_shapes(len(start)) if shapes is None else shapes
    centre, inlier, rms, support, sized = _fit(
        np.ascontiguousarray(candidates, np.float64), np.ascontiguousarray(valid, np.bool_),
        start, np.asarray(radius, np.float64), np.ascontiguousarray(shapes, np.float64),
        iterations,
    )  # fmt: skip
    return Fit(centre, np.asarray(radius, np.float64), inlier, rms, support, sized)


@numba.njit(cache=True, nogil=True)
def _fit(
    candidates: F64, valid: Bools, start: F64, radius: F64, shapes: F64, iterations: int
) -> tuple[F64, Bools, F64, F64, F64]:
    """Centres (B, 2), inliers (B, R), rms of the inliers, the share of rays that are inliers
    and the inliers' mean distance from the centre (B,) of each ball's fit; each ball's rim
    points mapped through its shape's inverse about its start, and its centre back."""
    count, rays, many = valid.shape
    centre = start.copy()
    inlier = np.zeros((count, rays), np.bool_)
    rms, support, sized = np.zeros(count), np.zeros(count), np.zeros(count)
    ok = np.empty(rays, np.bool_)
    weight, resid, dist = np.empty(rays), np.empty(rays), np.empty(rays)
    ux, uy, px, py = np.empty(rays), np.empty(rays), np.empty(rays), np.empty(rays)
    scratch = np.empty(rays)
    rounded = np.empty((rays, many, 2))
    for b in range(count):
        sx, sy = start[b, 0], start[b, 1]
        a, c, e, d = shapes[b, 0, 0], shapes[b, 0, 1], shapes[b, 1, 0], shapes[b, 1, 1]
        det = a * d - c * e
        for i in range(rays):
            for j in range(many):
                x, y = candidates[b, i, j, 0] - sx, candidates[b, i, j, 1] - sy
                rounded[i, j, 0] = sx + (d * x - c * y) / det
                rounded[i, j, 1] = sy + (a * y - e * x) / det
        cx, cy, r = sx, sy, radius[b]
        for i in range(rays):
            ok[i] = valid[b, i].any()
            weight[i] = 1.0 if ok[i] else 0.0
            px[i], py[i] = rounded[i, 0, 0], rounded[i, 0, 1]
        for _ in range(iterations):
            sxx = sxy = syy = bx = by = 0.0
            for i in range(rays):
                if many > 1:  # the valid candidate closest to the circle
                    best = np.inf
                    for j in range(many):
                        x, y = rounded[i, j, 0], rounded[i, j, 1]
                        off = abs(np.hypot(x - cx, y - cy) - r) if valid[b, i, j] else np.inf
                        if off < best or j == 0:
                            best, px[i], py[i] = off, x, y
                rx, ry = px[i] - cx, py[i] - cy
                dist[i] = max(np.hypot(rx, ry), 1e-9)
                ux[i], uy[i] = rx / dist[i], ry / dist[i]
                resid[i] = dist[i] - r
                # residual falls by u . delta when the centre moves by delta: a 2 x 2 system
                wx, wy = weight[i] * ux[i], weight[i] * uy[i]
                sxx += wx * ux[i]
                sxy += wx * uy[i]
                syy += wy * uy[i]
                bx += wx * resid[i]
                by += wy * resid[i]
            det2 = max(sxx * syy - sxy * sxy, 1e-9)
            dx, dy = (syy * bx - sxy * by) / det2, (sxx * by - sxy * bx) / det2
            cx += dx
            cy += dy
            for i in range(rays):
                resid[i] = resid[i] - ux[i] * dx - uy[i] * dy
            _tukey(resid, ok, weight, scratch)
        centre[b, 0] = sx + a * (cx - sx) + c * (cy - sy)
        centre[b, 1] = sy + e * (cx - sx) + d * (cy - sy)
        kept, square, far = 0, 0.0, 0.0
        for i in range(rays):
            if ok[i] and weight[i] > 0.2:
                inlier[b, i] = True
                kept += 1
                square += resid[i] * resid[i]
                far += dist[i]
        rms[b], sized[b] = np.sqrt(square / max(kept, 1)), far / max(kept, 1)
        support[b] = kept / rays
    return centre, inlier, rms, support, sized


@numba.njit(cache=True, nogil=True)
def _tukey(resid: F64, ok: Bools, weight: F64, scratch: F64) -> None:
    """``weight`` (R,) becomes Tukey biweights with a robust scale (median absolute residual
    of the rays that were kept); ``scratch`` is as long."""
    kept = 0
    for i in range(len(resid)):
        if ok[i] and weight[i] > 0:
            scratch[kept] = abs(resid[i])
            kept += 1
    scale = MIN_SCALE
    if kept:
        mad = _select(scratch, kept, (kept - 1) // 2)
        scale = max(1.4826 * mad, MIN_SCALE)
    for i in range(len(resid)):
        u = abs(resid[i]) / (TUKEY * scale)
        near = 1 - u * u
        weight[i] = near * near if ok[i] and u < 1 else 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _select(values: F64, count: int, order: int) -> float:
    """The ``order``-th smallest (from 0) of the first ``count`` ``values``: the one with at
    most ``order`` of them below it and more at or below it. A few dozen values, each counted
    against all, without a branch to mispredict: the fits took a tenth less time than with an
    insertion sort (np.sort had cost a quarter of them)."""
    for i in range(count):
        below = same = 0
        for j in range(count):
            below += values[j] < values[i]
            same += values[j] == values[i]
        if below <= order < below + same:
            return float(values[i])
    return float(values[0])
