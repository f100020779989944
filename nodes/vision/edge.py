"""Sub-pixel edges along sampled profiles, and robust lines through them.

A profile is a row of samples across an edge, from the inside (the felt) outwards. The edge is
where the colour has gone half way from the inside colour to the outside one, measured in linear
light (cameras and renderers mix colours at an edge in linear light, not in sRGB bytes).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]


def _srgb_to_linear() -> F32:
    v = np.arange(256) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return np.asarray(lin * 255.0, dtype=np.float32).reshape(1, 256)


LINEAR_LUT: F32 = _srgb_to_linear()
"""cv2.LUT table from sRGB bytes to linear light on a 0-255 scale."""


def linear(image: U8) -> F32:
    """An 8-bit sRGB image in linear light (float32, 0-255)."""
    return np.asarray(cv2.LUT(image, LINEAR_LUT), dtype=np.float32)


def sample(image: F32, xs: F32, ys: F32) -> F32:
    """Bilinear samples of ``image`` at (xs, ys) (any 2-D shape; pixel centres are integers)."""
    out = cv2.remap(
        image, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return np.asarray(out, dtype=np.float32)


def sample_u8(image: U8, xs: F32 | F64, ys: F32 | F64) -> U8:
    """Bilinear samples of an 8-bit BGR image at (xs, ys) (2-D arrays): (..., 3) uint8."""
    out = cv2.remap(
        image, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return np.asarray(out, dtype=np.uint8)


def crossings(profiles: F32, inner: int, min_contrast: float) -> tuple[F64, NDArray[np.bool_]]:
    """Sub-sample position of the edge in each profile (rows of (N, S) or (N, S, C) samples).

    The inside colour is the median of the first ``inner`` samples; the distance from it rises
    to the outside level, taken just past the first sample that gets three quarters of the way
    to the profile's maximum. Returns the position (in samples, from the first) where the
    distance crosses half of the outside level, and which profiles had a clean edge.
    """
    prof = profiles if profiles.ndim == 3 else profiles[:, :, None]
    ref = np.median(prof[:, :inner], axis=1)
    dist = np.linalg.norm(prof - ref[:, None, :], axis=2)
    count, size = dist.shape
    top = dist.max(axis=1)
    first = np.argmax(dist >= 0.75 * top[:, None], axis=1)
    rows = np.arange(count)
    ahead = np.clip(first[:, None] + np.arange(3)[None, :], 0, size - 1)
    level = np.median(dist[rows[:, None], ahead], axis=1)
    floor = np.median(dist[:, :inner], axis=1)
    half = 0.5 * (level + floor)
    below = dist < half[:, None]
    idx = np.arange(size)[None, :]
    # last sample below half before the first high sample
    candidates = np.where(below & (idx < first[:, None]), idx, -1)
    last = candidates.max(axis=1)
    ok = (last >= 0) & (level - floor > min_contrast) & (first > inner // 2)
    last = np.clip(last, 0, size - 2)
    d0, d1 = dist[rows, last], dist[rows, last + 1]
    frac = np.clip((half - d0) / np.maximum(d1 - d0, 1e-6), 0.0, 1.0)
    return last + frac, ok


def fit_line(points: F64, iterations: int = 4) -> tuple[F64, F64, float] | None:
    """Robust total-least-squares line: (point on it, unit direction, rms residual), or None.

    Points further than 3 robust sigmas (and 0.5 px) from the current fit are dropped.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keep = np.ones(len(pts), dtype=bool)
    centre = direction = np.zeros(2)
    rms = 0.0
    for _ in range(iterations):
        if keep.sum() < 5:
            return None
        sel = pts[keep]
        centre = sel.mean(axis=0)
        _, _, vt = np.linalg.svd(sel - centre, full_matrices=False)
        direction = vt[0]
        normal = np.array([-direction[1], direction[0]])
        resid = (pts - centre) @ normal
        rms = float(np.sqrt(np.mean(resid[keep] ** 2)))
        sigma = 1.4826 * float(np.median(np.abs(resid[keep])))
        keep = np.abs(resid) <= max(3.0 * sigma, 0.5)
    return centre, direction, rms


def intersect(a: tuple[F64, F64], b: tuple[F64, F64]) -> F64 | None:
    """Intersection of two lines given as (point, direction); None if parallel."""
    (p, d), (q, e) = a, b
    det = d[0] * -e[1] - d[1] * -e[0]
    if abs(det) < 1e-9:
        return None
    rhs = q - p
    s = (rhs[0] * -e[1] - rhs[1] * -e[0]) / det
    return np.asarray(p + s * d, dtype=np.float64)
