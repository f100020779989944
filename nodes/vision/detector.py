"""Balls in a frame: coarse blobs at half resolution, then sub-pixel circles at full resolution.

1. Seeds: the felt score (:mod:`nodes.vision.felt`) is thresholded inside the table; peaks of
   the distance transform of that mask are ball centres for lone balls, pairs and chains; blobs
   too big for that (a rack) add the local maxima of smoothed brightness (each ball is brightest
   near its top).
2. Rims: from each seed, rays run from outside the expected rim inwards. Where the ray starts
   on felt, the rim is the steepest rise of the colour distance from the felt (linear light,
   sub-sample by a parabola through the gradient peak); where it starts on another ball (a
   rack), the rim is the dark valley where the two balls touch.
3. A robust circle through the rim points gives the centre and radius; a seed is a ball when
   enough of its rim fits a circle of about the expected size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

RAYS = 48
STEP = 0.5  # px between samples along a ray
OUTER, INNER = 1.75, 0.45  # ray extent in expected radii
ANGLES = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
COS, SIN = np.cos(ANGLES), np.sin(ANGLES)


@dataclass(frozen=True, slots=True)
class Circle:
    """A ball's silhouette: centre and radius in image pixels, and how well the rim fit."""

    x: float
    y: float
    r: float
    support: float  # share of rays with a rim on the circle
    rms: float  # px
    confidence: float


def seeds(mask: U8, light: U8 | None, radius: float) -> F64:
    """Candidate centres (working-resolution px) in a ball mask; ``radius`` in the same px."""
    dist = np.asarray(cv2.distanceTransform(mask, cv2.DIST_L2, 5), dtype=np.float32)
    size = max(3, int(radius * 1.2) * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    peaks = (dist >= cv2.dilate(dist, kernel)) & (dist >= 0.45 * radius) & (dist <= 1.4 * radius)
    ys, xs = np.nonzero(peaks)
    points = [np.column_stack([xs, ys]).astype(np.float64)]
    if light is not None and float(dist.max(initial=0.0)) > 1.4 * radius:
        points.append(_bright_peaks(mask, dist, light, radius))
    return _merge(np.vstack(points), radius)


def _bright_peaks(mask: U8, dist: F32, light: U8, radius: float) -> F64:
    """Brightness maxima inside blobs too wide for one ball (clusters, the rack)."""
    blur = np.asarray(cv2.GaussianBlur(light, (0, 0), max(0.8, radius * 0.4)))
    size = max(3, int(radius * 1.4) * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    inside = (dist >= 0.6 * radius) & (mask > 0)
    peaks = (blur >= cv2.dilate(blur, kernel)) & inside
    ys, xs = np.nonzero(peaks)
    return np.column_stack([xs, ys]).astype(np.float64)


def _merge(points: F64, radius: float) -> F64:
    """Collapse seeds closer than 0.8 radius (plateaus of the distance transform) to one."""
    if len(points) == 0:
        return points.reshape(0, 2)
    out: list[F64] = []
    used = np.zeros(len(points), dtype=bool)
    for i in range(len(points)):
        if used[i]:
            continue
        near = np.hypot(*(points - points[i]).T) < 0.8 * radius
        near &= ~used
        used |= near
        out.append(points[near].mean(axis=0))
    return np.array(out)


def fit_circle(points: F64, weights: F64 | None = None) -> tuple[F64, float]:
    """Algebraic (Kasa) least-squares circle: centre and radius."""
    x, y = points[:, 0], points[:, 1]
    w = np.ones(len(x)) if weights is None else weights
    a = np.column_stack([x, y, np.ones_like(x)]) * w[:, None]
    b = (x * x + y * y) * w
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    r2 = sol[2] + cx * cx + cy * cy
    return np.array([cx, cy]), float(np.sqrt(max(r2, 0.0)))


def rim_points(
    image: U8, centre: F64, radius: float, felt_lin: F64
) -> tuple[F64, NDArray[np.bool_]]:
    """Rim point on each of the RAYS rays around ``centre`` (full-res px) and which are valid."""
    reach = OUTER * radius + 2
    x0, y0 = int(max(0, centre[0] - reach)), int(max(0, centre[1] - reach))
    x1 = int(min(image.shape[1], centre[0] + reach + 2))
    y1 = int(min(image.shape[0], centre[1] + reach + 2))
    patch = edge.linear(np.ascontiguousarray(image[y0:y1, x0:x1]))
    radii = np.arange(OUTER * radius, INNER * radius, -STEP)
    xs = (centre[0] - x0 + np.outer(COS, radii)).astype(np.float32)
    ys = (centre[1] - y0 + np.outer(SIN, radii)).astype(np.float32)
    samples = edge.sample(patch, xs, ys)
    dist = np.linalg.norm(samples - felt_lin[None, None, :].astype(np.float32), axis=2)
    light = samples.sum(axis=2)
    felt_level = float(np.linalg.norm(felt_lin))
    pos, ok = _felt_rims(dist, felt_level)
    valley, ok_valley = _valleys(light, radii, radius)
    use_valley = ~ok & ok_valley
    pos = np.where(use_valley, valley, pos)
    ok = ok | use_valley
    r_at = OUTER * radius - pos * STEP
    points = np.column_stack([centre[0] + COS * r_at, centre[1] + SIN * r_at])
    return points, ok


def _felt_rims(dist: F32, felt_level: float) -> tuple[F64, NDArray[np.bool_]]:
    """Steepest first rise of the distance from the felt, for rays that start on felt."""
    count, size = dist.shape
    smooth = dist.copy()
    smooth[:, 1:-1] = 0.25 * dist[:, :-2] + 0.5 * dist[:, 1:-1] + 0.25 * dist[:, 2:]
    grad = np.zeros_like(smooth)
    grad[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    lead = max(3, size // 6)
    floor = np.median(dist[:, :lead], axis=1)
    on_felt = floor < 0.35 * felt_level + 6.0
    top = grad.max(axis=1)
    strong = grad >= np.maximum(0.4 * top, 2.0)[:, None]
    local = np.zeros_like(strong)
    local[:, 1:-1] = (grad[:, 1:-1] >= grad[:, :-2]) & (grad[:, 1:-1] >= grad[:, 2:])
    first = np.argmax(strong & local, axis=1)
    found = (strong & local).any(axis=1) & (first >= 2) & (first <= size - 3)
    k = np.clip(first, 1, size - 2)
    rows = np.arange(count)
    g0, g1, g2 = grad[rows, k - 1], grad[rows, k], grad[rows, k + 1]
    denom = g0 - 2 * g1 + g2
    shift = np.where(np.abs(denom) > 1e-6, 0.5 * (g0 - g2) / np.where(denom == 0, 1, denom), 0.0)
    return k + np.clip(shift, -0.5, 0.5), on_felt & found


def _valleys(light: F32, radii: F64, radius: float) -> tuple[F64, NDArray[np.bool_]]:
    """The darkest point between 0.8 and 1.2 radii, where two touching balls meet."""
    band = (radii <= 1.2 * radius) & (radii >= 0.8 * radius)
    idx = np.flatnonzero(band)
    if len(idx) < 3:
        return np.zeros(len(light)), np.zeros(len(light), dtype=bool)
    sub = light[:, idx]
    k = np.argmin(sub, axis=1)
    inner = np.clip(k, 1, len(idx) - 2)
    rows = np.arange(len(light))
    v0, v1, v2 = sub[rows, inner - 1], sub[rows, inner], sub[rows, inner + 1]
    denom = v0 - 2 * v1 + v2
    shift = np.where(denom > 1e-6, 0.5 * (v0 - v2) / np.where(denom == 0, 1, denom), 0.0)
    around = np.maximum(light[:, idx[0]], light[:, idx[-1]])
    deep = (v1 < 0.8 * around) & (k > 0) & (k < len(idx) - 1)
    return idx[0] + inner + np.clip(shift, -0.5, 0.5), deep


def refine(image: U8, seed: F64, radius: float, felt_lin: F64) -> Circle | None:
    """The ball around ``seed`` (full-res px), or None if no ball-sized circle fits there."""
    centre, r = seed.astype(np.float64), radius
    circle: Circle | None = None
    for _ in range(2):
        points, ok = rim_points(image, centre, r, felt_lin)
        circle = _robust_circle(points, ok, radius)
        if circle is None:
            return None
        centre, r = np.array([circle.x, circle.y]), circle.r
    return circle


def _robust_circle(points: F64, ok: NDArray[np.bool_], radius: float) -> Circle | None:
    keep = ok.copy()
    centre, r, rms = np.zeros(2), 0.0, 0.0
    for _ in range(3):
        if keep.sum() < RAYS * 0.25:
            return None
        centre, r = fit_circle(points[keep])
        resid = np.hypot(*(points - centre).T) - r
        rms = float(np.sqrt(np.mean(resid[keep] ** 2)))
        keep = ok & (np.abs(resid) <= max(3.0 * rms, 0.6))
    support = float(keep.sum()) / RAYS
    if support < 0.3 or not 0.7 * radius <= r <= 1.35 * radius or rms > 0.25 * radius:
        return None
    confidence = float(np.clip(support * 1.3, 0, 1) * np.exp(-rms / max(1.0, 0.1 * radius)))
    return Circle(float(centre[0]), float(centre[1]), r, support, rms, confidence)


def dedupe(circles: list[Circle]) -> list[Circle]:
    """Drop circles whose centre lies within another, better-supported circle."""
    ordered = sorted(circles, key=lambda c: -c.confidence)
    out: list[Circle] = []
    for c in ordered:
        if all(np.hypot(c.x - o.x, c.y - o.y) > 1.2 * min(c.r, o.r) for o in out):
            out.append(c)
    return out
