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

RAYS = 36
STEP = 0.5  # px between samples along a ray
OUTER, INNER = 1.75, 0.45  # ray extent in expected radii
ANGLES = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
COS, SIN = np.cos(ANGLES), np.sin(ANGLES)
LOG_TABLE = np.log(np.arange(256, dtype=np.float32) + 6.0).astype(np.float32)
LINEAR_TABLE = edge.LINEAR_LUT.ravel().astype(np.float32)
FELT_SCORE = 0.3  # felt score below which a ray's outer end counts as felt


@dataclass(frozen=True, slots=True)
class Circle:
    """A ball's silhouette: centre and radius in image pixels, and how well the rim fit."""

    x: float
    y: float
    r: float
    support: float  # share of rays with a rim on the circle
    rms: float  # px
    confidence: float


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def seeds(mask: U8, light: U8 | None, radius: float) -> tuple[F64, list[Box]]:
    """Candidate centres (working-resolution px) in a ball mask; ``radius`` in the same px.
    Also the boxes of blobs bigger than one ball (clusters), where balls may hide.

    A blob the size of one ball (sharp or smeared by motion) is one seed at its centroid;
    larger blobs get the peaks of their distance transform and, when too wide for that to
    separate the balls (a rack), the brightness maxima inside them.
    """
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area1 = np.pi * radius * radius
    points: list[F64] = []
    boxes: list[Box] = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < 0.3 * area1:
            continue
        if area <= 1.7 * area1 and max(w, h) <= 3.2 * radius:
            points.append(np.asarray(centroids[label], dtype=np.float64).reshape(1, 2))
            continue
        x0, y0 = max(0, x - 1), max(0, y - 1)
        boxes.append((x, y, x + w, y + h))
        crop = np.where(labels[y0 : y + h + 1, x0 : x + w + 1] == label, 255, 0).astype(np.uint8)
        sub_light = None if light is None else light[y0 : y + h + 1, x0 : x + w + 1]
        found = _blob_seeds(crop, sub_light, radius)
        if len(found):
            points.append(found + np.array([x0, y0], dtype=np.float64))
    if not points:
        return np.zeros((0, 2)), boxes
    return _merge(np.vstack(points), radius), boxes


def _blob_seeds(crop: U8, light: U8 | None, radius: float) -> F64:
    dist = np.asarray(cv2.distanceTransform(crop, cv2.DIST_L2, 5), dtype=np.float32)
    size = max(3, int(radius * 0.9) * 2 + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    peaks = (dist >= cv2.dilate(dist, kernel)) & (dist >= 0.45 * radius) & (dist <= 1.4 * radius)
    ys, xs = np.nonzero(peaks)
    points = [np.column_stack([xs, ys]).astype(np.float64)]
    if light is not None and float(dist.max(initial=0.0)) > 1.4 * radius:
        points.append(_bright_peaks(crop, dist, light, radius))
    return np.vstack(points)


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
    out: list[F64] = []
    used = np.zeros(len(points), dtype=bool)
    for i in range(len(points)):
        if used[i]:
            continue
        near = (np.hypot(*(points - points[i]).T) < 0.8 * radius) & ~used
        used |= near
        out.append(points[near].mean(axis=0))
    return np.array(out).reshape(-1, 2)


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


def refine_all(image: U8, seeds_px: F64, radii: F64, felt_bgr: F64) -> list[Circle | None]:
    """Fit every seed (full-res px) with its expected radius; ``felt_bgr`` (B, 3) is the
    felt's sRGB colour near each seed. Rays from the seed, then again from the fit where
    the seed was off."""
    centres = np.asarray(seeds_px, dtype=np.float64).reshape(-1, 2).copy()
    radii = np.asarray(radii, dtype=np.float64).ravel()
    if len(centres) == 0:
        return []
    log_felt = np.log(np.asarray(felt_bgr, dtype=np.float32).reshape(-1, 3) + 6.0)
    points, ok = rim_points(image, centres, radii, log_felt)
    fit = fit_circles(points, ok, centres)
    # a second round, rays from the fitted centre, where the seed was more than 0.3 px off
    again = fit.valid(radii) & (np.hypot(*(fit.centre - centres).T) > 0.3)
    if again.any():
        sel = np.flatnonzero(again)
        more_points, more_ok = rim_points(image, fit.centre[sel], fit.radius[sel], log_felt[sel])
        more = fit_circles(more_points, more_ok, fit.centre[sel])
        points[sel], ok[sel] = more_points, more_ok
        fit = fit.replaced(sel, more)
    good = fit.valid(radii)
    out = [fit.circle(i, radii[i]) if good[i] else None for i in range(len(centres))]
    for i in np.flatnonzero(~good):
        out[i] = _fixed_radius(points[i], ok[i], centres[i], float(radii[i]))
    return out


def _fixed_radius(points: F64, ok: NDArray[np.bool_], origin: F64, radius: float) -> Circle | None:
    """A ball hemmed in by others (the middle of a rack): the free circle fit failed, so
    trust the expected radius; each rim point then says where the centre is (one radius back
    along its ray). Accepted when enough rays agree."""
    if ok.sum() < RAYS * 0.45:
        return None
    dirs = np.stack([COS, SIN], axis=1)
    votes = points[ok] - radius * dirs[ok]
    centre = np.median(votes, axis=0)
    spread = np.hypot(*(votes - centre).T)
    agree = spread < 0.2 * radius
    if agree.sum() < RAYS * 0.4 or np.hypot(*(centre - origin)) > 0.5 * radius:
        return None
    rms = float(np.sqrt(np.mean(spread[agree] ** 2)))
    support = float(agree.sum()) / RAYS
    return Circle(float(centre[0]), float(centre[1]), radius, support, rms, 0.2 + 0.2 * support)


@dataclass(frozen=True, slots=True)
class CircleFit:
    """Robust circle fits of a batch: centres (B, 2), radii, share of rays kept, rms (px)."""

    centre: F64
    radius: F64
    support: F64
    rms: F64

    @staticmethod
    def empty(count: int) -> CircleFit:
        """No fits."""
        zeros = np.zeros(count)
        return CircleFit(np.zeros((count, 2)), zeros, zeros, zeros + np.inf)

    def replaced(self, index: NDArray[np.intp], other: CircleFit) -> CircleFit:
        """These fits with rows ``index`` taken from ``other``."""
        centre, radius = self.centre.copy(), self.radius.copy()
        support, rms = self.support.copy(), self.rms.copy()
        centre[index], radius[index] = other.centre, other.radius
        support[index], rms[index] = other.support, other.rms
        return CircleFit(centre, radius, support, rms)

    def valid(self, expected: F64) -> NDArray[np.bool_]:
        """Fits that look like a ball of about the expected radius."""
        r = self.radius
        return (
            (self.support >= 0.3) & (r >= 0.7 * expected) & (r <= 1.35 * expected)
            & (self.rms <= 0.25 * expected)
        )  # fmt: skip

    def circle(self, i: int, expected: float) -> Circle:
        """Fit ``i`` as a Circle with its confidence."""
        rms = float(self.rms[i])
        confidence = float(
            np.clip(self.support[i] * 1.3, 0, 1) * np.exp(-rms / max(1.0, 0.1 * expected))
        )
        return Circle(
            float(self.centre[i, 0]), float(self.centre[i, 1]), float(self.radius[i]),
            float(self.support[i]), rms, confidence,
        )  # fmt: skip


def fit_circles(points: F64, ok: NDArray[np.bool_], origin: F64) -> CircleFit:
    """Batched algebraic (Kasa) circle fits with outlier rejection: points (B, R, 2)."""
    rel = points - origin[:, None, :]
    x, y = rel[..., 0], rel[..., 1]
    design = np.stack([x, y, np.ones_like(x)], axis=2)  # (B, R, 3)
    target = x * x + y * y
    keep = ok.copy()
    centre = np.zeros((len(points), 2))
    radius = rms = np.zeros(len(points))
    for _ in range(3):
        w = keep.astype(np.float64)
        normal = np.einsum("bri,brj,br->bij", design, design, w) + np.eye(3) * 1e-9
        rhs = np.einsum("bri,br,br->bi", design, target, w)
        sol = np.linalg.solve(normal, rhs[..., None])[..., 0]
        centre = sol[:, :2] / 2
        radius = np.sqrt(np.maximum(sol[:, 2] + (centre**2).sum(axis=1), 0.0))
        resid = np.hypot(x - centre[:, :1], y - centre[:, 1:]) - radius[:, None]
        count = np.maximum(keep.sum(axis=1), 1)
        rms = np.sqrt((resid**2 * keep).sum(axis=1) / count)
        keep = ok & (np.abs(resid) <= np.maximum(3.0 * rms, 0.6)[:, None])
    support = keep.sum(axis=1) / points.shape[1]
    return CircleFit(centre + origin, radius, support, rms)


def rim_points(image: U8, centres: F64, radii: F64, log_felt: F32) -> tuple[F64, NDArray[np.bool_]]:
    """Rim points (B, RAYS, 2) on rays around each centre, and which are valid (B, RAYS)."""
    count = len(centres)
    samples = max(24, int(np.ceil((OUTER - INNER) * float(radii.max()) / STEP)))
    frac = np.linspace(OUTER, INNER, samples)
    along = radii[:, None] * frac[None, :]  # (B, S), outside in
    xs = centres[:, 0, None, None] + COS[None, :, None] * along[:, None, :]
    ys = centres[:, 1, None, None] + SIN[None, :, None] * along[:, None, :]
    pixels = edge.sample_u8(
        image, xs.reshape(count * RAYS, samples), ys.reshape(count * RAYS, samples)
    )
    felt = np.repeat(log_felt, RAYS, axis=0)
    lb = LOG_TABLE[pixels[..., 0]] - felt[:, 0, None]
    lg = LOG_TABLE[pixels[..., 1]] - felt[:, 1, None]
    lr = LOG_TABLE[pixels[..., 2]] - felt[:, 2, None]
    score = np.maximum(np.maximum(lb, lg), lr) - np.minimum(np.minimum(lb, lg), lr)
    bright = (lb + lg + lr) * np.float32(1 / 3)
    score += np.maximum(bright - np.float32(0.45), 0) + np.maximum(-bright - np.float32(1.1), 0)
    pos, ok = _felt_rims(score)
    pos = _half_way(pixels, pos)
    light = pixels[..., 0].astype(np.float32) + pixels[..., 1] + pixels[..., 2]
    valley, ok_valley = _valleys(light, frac)
    use_valley = ~ok & ok_valley
    pos = np.where(use_valley, valley, pos)
    ok |= use_valley
    step = (frac[0] - frac[-1]) / (samples - 1)
    r_at = (OUTER - pos * step).reshape(count, RAYS) * radii[:, None]
    points = np.stack(
        [centres[:, 0, None] + COS[None, :] * r_at, centres[:, 1, None] + SIN[None, :] * r_at],
        axis=2,
    )
    return points, ok.reshape(count, RAYS)


def _felt_rims(score: F32) -> tuple[F64, NDArray[np.bool_]]:
    """Steepest first rise of the felt score, for rays that start on felt."""
    count, size = score.shape
    smooth = score.copy()
    smooth[:, 1:-1] = 0.25 * score[:, :-2] + 0.5 * score[:, 1:-1] + 0.25 * score[:, 2:]
    grad = np.zeros_like(smooth)
    grad[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    lead = max(3, size // 6)
    on_felt = score[:, :lead].mean(axis=1) < FELT_SCORE
    top = grad.max(axis=1)
    strong = grad >= np.maximum(0.4 * top, 0.05)[:, None]
    local = np.zeros_like(strong)
    local[:, 1:-1] = (grad[:, 1:-1] >= grad[:, :-2]) & (grad[:, 1:-1] >= grad[:, 2:])
    hits = strong & local
    first = np.argmax(hits, axis=1)
    found = hits.any(axis=1) & (first >= 2) & (first <= size - 3)
    k = np.clip(first, 1, size - 2)
    rows = np.arange(count)
    g0, g1, g2 = grad[rows, k - 1], grad[rows, k], grad[rows, k + 1]
    denom = g0 - 2 * g1 + g2
    safe = np.where(np.abs(denom) > 1e-9, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (g0 - g2) / safe, 0.0)
    return k + np.clip(shift, -0.5, 0.5), on_felt & found


def _half_way(pixels: U8, pos: F64) -> F64:
    """Polish each rim to where the colour is half way, in linear light, from the felt just
    outside to the ball just inside (the log score rises early at a bright ball's edge)."""
    count, size = pixels.shape[:2]
    lin = LINEAR_TABLE[pixels]
    rows = np.arange(count)[:, None]
    k = np.clip(np.round(pos).astype(np.intp), 4, size - 5)[:, None]
    outer = lin[rows, k + np.array([-3, -2])].mean(axis=1)
    inner = lin[rows, k + np.array([1])].mean(axis=1)
    delta = inner - outer
    norm = (delta * delta).sum(axis=1)
    window = k + np.arange(-3, 4)
    t = ((lin[rows, window] - outer[:, None, :]) * delta[:, None, :]).sum(axis=2)
    t /= np.maximum(norm, 1e-6)[:, None]
    cross = (t[:, :-1] < 0.5) & (t[:, 1:] >= 0.5)
    j = np.argmax(cross, axis=1)
    t0, t1 = t[rows[:, 0], j], t[rows[:, 0], j + 1]
    frac = np.clip((0.5 - t0) / np.maximum(t1 - t0, 1e-6), 0.0, 1.0)
    fine = k[:, 0] - 3 + j + frac
    good = cross.any(axis=1) & (norm > 4.0)
    return np.where(good, fine, pos)


def _valleys(light: F32, frac: F64) -> tuple[F64, NDArray[np.bool_]]:
    """The darkest point between 0.8 and 1.2 radii, where two touching balls meet."""
    idx = np.flatnonzero((frac <= 1.2) & (frac >= 0.8))
    if len(idx) < 3:
        return np.zeros(len(light)), np.zeros(len(light), dtype=bool)
    sub = light[:, idx]
    k = np.argmin(sub, axis=1)
    inner = np.clip(k, 1, len(idx) - 2)
    rows = np.arange(len(light))
    v0, v1, v2 = sub[rows, inner - 1], sub[rows, inner], sub[rows, inner + 1]
    denom = v0 - 2 * v1 + v2
    safe = np.where(denom > 1e-6, denom, 1.0)
    shift = np.where(denom > 1e-6, 0.5 * (v0 - v2) / safe, 0.0)
    around = np.maximum(light[:, idx[0]], light[:, idx[-1]])
    deep = (v1 < 0.8 * around) & (k > 0) & (k < len(idx) - 1)
    return idx[0] + inner + np.clip(shift, -0.5, 0.5), deep


def dedupe(circles: list[Circle]) -> list[Circle]:
    """Drop circles whose centre lies within another, better-supported circle."""
    ordered = sorted(circles, key=lambda c: -c.confidence)
    out: list[Circle] = []
    for c in ordered:
        if all(np.hypot(c.x - o.x, c.y - o.y) > 1.2 * min(c.r, o.r) for o in out):
            out.append(c)
    return out
