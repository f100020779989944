"""Robust circle fits of a batch of rims: free (centre and radius) or of a known radius.

Geometric least squares (Gauss-Newton on the distance of each point to the circle) with
Tukey weights, so rim points on a stripe, a shadow or a neighbouring ball drop out. All balls
of a frame are fitted at once: every step is a handful of numpy calls on (B, RAYS) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]

MIN_SCALE = 0.35  # px: residual scale below which the Tukey weights stop tightening
TUKEY = 3.5  # in robust scales
ITERATIONS = 5


@dataclass(frozen=True, slots=True)
class Fit:
    """Circles of a batch: centres (B, 2), radii (B,), inlier rims (B, RAYS), rms of inliers
    (px) and the share of rays that are inliers."""

    centre: F64
    radius: F64
    inlier: Bools
    rms: F64
    support: F64

    def subset(self, keep: Bools) -> Fit:
        """The fits where ``keep``."""
        return Fit(
            self.centre[keep], self.radius[keep], self.inlier[keep], self.rms[keep],
            self.support[keep],
        )  # fmt: skip


def fit(candidates: F64, valid: Bools, start: F64, radius: F64, free: Bools) -> Fit:
    """Fit circles to rim ``candidates`` (B, R, K, 2) where ``valid``, from ``start`` centres
    and ``radius``; the radius is fitted too where ``free``, else held. Each iteration uses,
    per ray, the candidate nearest to the current circle."""
    centre = start.astype(np.float64).copy()
    rad = radius.astype(np.float64).copy()
    ok = np.asarray(valid.any(axis=2), bool)
    weight = np.asarray(ok, np.float64)
    resid = np.zeros(ok.shape)
    points = candidates[:, :, 0]
    for _ in range(ITERATIONS):
        points = _nearest(candidates, valid, centre, rad)
        rel = points - centre[:, None, :]
        dist = np.maximum(np.hypot(rel[..., 0], rel[..., 1]), 1e-9)
        unit = rel / dist[..., None]
        resid = dist - rad[:, None]
        # Jacobian of resid in (cx, cy, r): (-ux, -uy, -1); the radius column only if free
        jac = np.concatenate([-unit, -np.ones((*ok.shape, 1)) * free[:, None, None]], axis=2)
        normal = np.einsum("bri,brj,br->bij", jac, jac, weight) + np.eye(3) * 1e-6
        rhs = -np.einsum("bri,br,br->bi", jac, resid, weight)
        delta = np.linalg.solve(normal, rhs[..., None])[..., 0]
        centre += delta[:, :2]
        rad += delta[:, 2] * free
        resid = resid - np.einsum("bri,bi->br", jac, delta)
        weight = _tukey(resid, ok, weight)
    inlier = np.asarray(ok & (weight > 0.2), bool)
    count = np.maximum(inlier.sum(axis=1), 1)
    rms = np.sqrt((resid * resid * inlier).sum(axis=1) / count)
    return Fit(centre, rad, inlier, rms, inlier.sum(axis=1) / ok.shape[1])


def _nearest(candidates: F64, valid: Bools, centre: F64, radius: F64) -> F64:
    """Per ray, the valid candidate closest to the circle (B, R, 2)."""
    rel = candidates - centre[:, None, None, :]
    off = np.abs(np.hypot(rel[..., 0], rel[..., 1]) - radius[:, None, None])
    pick = np.argmin(np.where(valid, off, np.inf), axis=2)
    return np.take_along_axis(candidates, pick[:, :, None, None], axis=2)[:, :, 0]


def _tukey(resid: F64, ok: Bools, weight: F64) -> F64:
    """Tukey biweights with a robust scale per ball (median absolute residual of the rays
    that were kept)."""
    absr = np.where(ok, np.abs(resid), np.nan)
    with np.errstate(all="ignore"):
        mad = np.nanmedian(np.where(weight > 0, absr, np.nan), axis=1)
    scale = np.maximum(np.nan_to_num(1.4826 * mad, nan=MIN_SCALE), MIN_SCALE)
    u = np.abs(resid) / (TUKEY * scale[:, None])
    return np.where(ok & (u < 1), (1 - u * u) ** 2, 0.0)
