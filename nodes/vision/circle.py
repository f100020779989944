"""Robust fits of circles of known radius to a batch of rims.

The calibration knows a ball's apparent radius at every pixel to about 0.1 %, so only the
centre is fitted: Gauss-Newton on the distance of each rim point to the circle, with Tukey
weights so rim points on a stripe, a shadow or a neighbouring ball drop out. Where a ray has
several candidate rims, each iteration takes the one nearest the current circle. All balls of
a frame are fitted at once; each step is a handful of numpy calls on (B, RAYS) arrays and
the 2 x 2 normal equations are solved in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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


def fit(candidates: F64, valid: Bools, start: F64, radius: F64, iterations: int = 4) -> Fit:
    """Fit circles of ``radius`` (B,) to rim ``candidates`` (B, R, K, 2) where ``valid``,
    from ``start`` centres (B, 2)."""
    centre = np.array(start, np.float64)
    ok = np.asarray(valid.any(axis=2), bool)
    weight = np.asarray(ok, np.float64)
    # x and y apart: numpy is slow on a last axis of two
    xs, ys = candidates[..., 0].copy(), candidates[..., 1].copy()  # (B, R, K)
    px, py = xs[:, :, 0], ys[:, :, 0]
    dist = resid = np.zeros(ok.shape)
    count, rays, many = candidates.shape[:3]
    if many > 1:
        barred = np.where(valid, 0.0, np.inf)  # added to a candidate's offset: invalid never wins
        first = np.arange(count * rays) * many
    sums = np.empty((5, *ok.shape))  # the five sums of the normal equations, reduced at once
    for _ in range(iterations):
        if many > 1:
            px, py = _nearest(xs, ys, barred, first, centre, radius)
        rx, ry = px - centre[:, 0, None], py - centre[:, 1, None]
        dist = np.maximum(np.hypot(rx, ry), 1e-9)
        ux, uy = rx / dist, ry / dist
        resid = dist - radius[:, None]
        # residual falls by u . delta when the centre moves by delta: solve the 2 x 2 system
        wx, wy = weight * ux, weight * uy
        np.multiply(wx, ux, out=sums[0])
        np.multiply(wx, uy, out=sums[1])
        np.multiply(wy, uy, out=sums[2])
        np.multiply(wx, resid, out=sums[3])
        np.multiply(wy, resid, out=sums[4])
        sxx, sxy, syy, bx, by = sums.sum(axis=2)
        det = np.maximum(sxx * syy - sxy * sxy, 1e-9)
        dx, dy = (syy * bx - sxy * by) / det, (sxx * by - sxy * bx) / det
        centre[:, 0] += dx
        centre[:, 1] += dy
        resid = resid - ux * dx[:, None] - uy * dy[:, None]
        weight = _tukey(resid, ok, weight)
    inlier = np.asarray(ok & (weight > 0.2), bool)
    count_in = np.maximum(inlier.sum(axis=1), 1)
    rms = np.sqrt((resid * resid * inlier).sum(axis=1) / count_in)
    sized = (dist * inlier).sum(axis=1) / count_in
    return Fit(
        centre, np.asarray(radius, np.float64), inlier, rms, inlier.sum(1) / ok.shape[1], sized
    )


def _nearest(
    xs: F64, ys: F64, barred: F64, first: NDArray[np.intp], centre: F64, radius: F64
) -> tuple[F64, F64]:
    """Per ray, the valid candidate closest to the circle: its x and y (B, R) from the
    candidates' ``xs`` and ``ys`` (B, R, K); ``barred`` is 0 for valid candidates and
    infinite for the others, ``first`` the flat index of each ray's first candidate."""
    rx, ry = xs - centre[:, 0, None, None], ys - centre[:, 1, None, None]
    off = np.abs(np.hypot(rx, ry) - radius[:, None, None]) + barred
    pick = first + np.argmin(off, axis=2).ravel()
    shape = xs.shape[:2]
    return xs.ravel()[pick].reshape(shape), ys.ravel()[pick].reshape(shape)


def _tukey(resid: F64, ok: Bools, weight: F64) -> F64:
    """Tukey biweights with a robust scale per ball (median absolute residual of the rays
    that were kept)."""
    kept = ok & (weight > 0)
    absr = np.sort(np.where(kept, np.abs(resid), np.inf), axis=1)
    count = kept.sum(axis=1)
    rays = resid.shape[1]
    mad = absr.ravel()[np.arange(len(count)) * rays + np.maximum(count - 1, 0) // 2]
    scale = np.maximum(np.where(count > 0, 1.4826 * mad, MIN_SCALE), MIN_SCALE)
    u = np.abs(resid) / (TUKEY * scale[:, None])
    near = 1 - u * u
    return np.asarray(near * near * (ok & (u < 1)), np.float64)
