"""A ball's rim along rays from a guessed centre, at full resolution.

Each ray runs outwards from ``INNER`` to ``OUTER`` expected radii, sampled every half pixel.
The rim is the strongest colour step near the expected radius, measured in log space (so a
dark ball against its dark contact shadow still shows its step); a step with felt just outside
it counts three times (the ball's edge, not its number circle or stripe). Whatever the ball
meets (felt, its shadow, the crevice at another ball), its silhouette is a step there.

The step is then placed where the colour, in linear light (where a camera mixes a ball and
what lies behind it), is half way from half a pixel inside to a pixel outside: close enough
to the silhouette that the darkening towards a lit sphere's limb does not pull the rim in
(measured on ideal renders: radius bias under 0.06 px, centres within 0.1 px).
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
Bools = NDArray[np.bool_]

RAYS = 32
ANGLES = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
DIRS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # (RAYS, 2)
INNER, OUTER = 0.45, 1.6  # ray extent in expected radii
STEP = 0.5  # px between samples (for the largest ball of a batch)
HALF = 2  # samples either side of a point for its step (1 px)
INSIDE, OUTSIDE = 1, 2  # samples from the step to the colours it lies between
LOG_LUT = (np.log(np.arange(256, dtype=np.float32) + 6.0) * 40).reshape(1, 256).astype(np.float32)
FELT_BONUS = 2.0
LEAVE = 2.0  # a step out of the felt's colour counts this much more than its colour change
OUTERMOST = 0.7  # the rim is the outermost step this close to the ray's strongest...
RATIO = 0.35  # ... else (where balls touch) one of the others this strong, nearest the circle
CANDIDATES = 3  # steps kept per ray when the circle is nearly known
VALLEY = 3  # samples inside a step onto another ball where the crevice between them is sought
DEEP = 0.8  # a crevice is this much darker than both balls
FELT_CHROMA = 0.3 * 40  # a sample within this log chroma of the felt (x 40) is felt...
FELT_BRIGHT = (-1.2 * 40, 0.45 * 40)  # ... if its brightness is within these of the felt's
MIN_STEP = 8.0  # log units x 40, summed over B, G, R: weaker steps are noise
NOISE_STEPS = 2.0  # ... and so are steps (in sRGB levels) under this many times the median
MIN_PLAIN = 6.0  # step on bare felt (or this many levels when too little felt is seen)


@dataclass(frozen=True, slots=True)
class Rims:
    """Rim candidates of a batch of balls: (B, RAYS, K, 2) image px, which are valid steps,
    and each step's strength."""

    points: F64
    ok: Bools
    strength: F64


def find(
    image: U8, centres: F64, radii: F64, log_felt: F32, spread: float, candidates: int = 1
) -> Rims:
    """Rims around ``centres`` (B, 2) of balls of expected ``radii`` (B,) (full-res px);
    ``log_felt`` (B, 3) is the felt's colour near each ball as 40 log(BGR + 6).

    ``spread`` is how far (in radii) the rim may lie from the expected radius around this
    centre: wide for a seed, narrow once the centre is known.
    """
    count = len(centres)
    samples = int(np.ceil((OUTER - INNER) * float(radii.max(initial=1.0)) / STEP)) + 1
    frac = np.linspace(INNER, OUTER, samples)
    pixels = _sample(image, centres, radii, frac)
    logs = np.asarray(cv2.LUT(pixels, LOG_LUT), np.float32)  # (N, S, 3)
    step = np.zeros(pixels.shape[:2], np.float32)
    step[:, HALF:-HALF] = np.abs(logs[:, 2 * HALF :] - logs[:, : -2 * HALF]).sum(axis=2)
    felt, away = _felt(logs, np.repeat(log_felt, RAYS, axis=0))
    leave = np.zeros(step.shape, np.float32)
    leave[:, HALF:-HALF] = np.maximum(away[:, : -2 * HALF] - away[:, 2 * HALF :], 0)
    step += LEAVE * leave
    ahead = _ahead(felt)
    prior = np.exp(-0.5 * ((frac - 1.0) / spread) ** 2).astype(np.float32)
    ks, valid = _peaks(step * prior[None, :] * (1 + FELT_BONUS * ahead), candidates)  # (N, K)
    rows = np.repeat(np.arange(len(ks)), candidates)
    k = ks.ravel()
    strength = step[rows, k]
    plain = np.abs(
        pixels[rows, np.minimum(k + HALF, samples - 1)].astype(np.float32)
        - pixels[rows, np.maximum(k - HALF, 0)]
    ).sum(axis=1)
    noise = _noise(pixels, felt & (ahead > 0.99))
    ok = valid.ravel() & (strength > MIN_STEP) & (plain > NOISE_STEPS * noise)
    ok &= (k > HALF) & (k < samples - HALF - 1)
    lin = np.asarray(cv2.LUT(pixels, edge.LINEAR_LUT), np.float32)
    pos = _half_way(lin, rows, k, INSIDE, OUTSIDE)
    pos = _valleys(lin.sum(axis=2), rows, k, pos, ahead[rows, k] < 0.5)
    shape = (count, RAYS, candidates)
    dist = (INNER + pos * (OUTER - INNER) / (samples - 1)).reshape(shape) * radii[:, None, None]
    points = centres[:, None, None, :] + dist[..., None] * DIRS[None, :, None, :]
    return Rims(points, ok.reshape(shape), strength.reshape(shape).astype(np.float64))


def _peaks(score: F32, count: int) -> tuple[NDArray[np.intp], Bools]:
    """Per row, ``count`` local maxima of ``score`` (N, K) and which are valid: first the
    outermost one within ``OUTERMOST`` of the row's highest (a ball's silhouette is its
    outermost edge: its stripe and number lie inside), then the highest others that reach
    ``RATIO`` of it (where balls touch, the outermost step may be the neighbour's)."""
    peak = np.zeros(score.shape, bool)
    peak[:, 1:-1] = (score[:, 1:-1] >= score[:, :-2]) & (score[:, 1:-1] > score[:, 2:])
    top = score.max(axis=1, keepdims=True)
    strong = peak & (score >= OUTERMOST * top)
    last = score.shape[1] - 1 - np.argmax(strong[:, ::-1], axis=1)
    first = np.where(strong.any(axis=1), last, np.argmax(score, axis=1))
    if count == 1:
        return first[:, None], (top[:, 0] > 0)[:, None]
    masked = np.where(peak, score, -1.0)
    masked[np.arange(len(first)), first] = -1.0
    others = np.argpartition(-masked, count - 2, axis=1)[:, : count - 1]
    level = np.take_along_axis(masked, others, axis=1)
    ks = np.concatenate([first[:, None], others], axis=1)
    valid = np.concatenate([top > 0, level >= RATIO * np.maximum(top, 1e-6)], axis=1)
    return ks, valid


def _valleys(
    light: F32, rows1: NDArray[np.intp], k: NDArray[np.intp], pos: F64, between: Bools
) -> F64:
    """Where the rim lies ``between`` two balls, the darkest point of the crevice just inside
    the step onto the other ball is where they touch (the step itself is the other ball's)."""
    size = light.shape[1]
    rows = rows1[:, None]
    kk = np.clip(k, VALLEY + 1, size - 3)[:, None]
    window = kk + np.arange(-VALLEY, 2)[None, :]
    vals = light[rows, window]
    j = np.argmin(vals, axis=1)
    idx = np.arange(len(k))
    low = vals[idx, j]
    inner = light[rows1, np.maximum(kk[:, 0] - VALLEY - 1, 0)]
    outer = light[rows1, np.minimum(kk[:, 0] + 2, size - 1)]
    deep = between & (low < DEEP * np.minimum(inner, outer)) & (j > 0) & (j < VALLEY + 1)
    mid = np.clip(j, 1, VALLEY)
    v0, v1, v2 = vals[idx, mid - 1], vals[idx, mid], vals[idx, mid + 1]
    curve = v0 - 2 * v1 + v2
    shift = np.where(curve > 1e-6, 0.5 * (v0 - v2) / np.maximum(curve, 1e-6), 0.0)
    at = kk[:, 0] - VALLEY + mid + np.clip(shift, -0.5, 0.5)
    return np.asarray(np.where(deep, at, pos), np.float64)


def _noise(pixels: U8, bare: Bools) -> float:
    """Median step (sRGB levels summed over B, G, R, over 1 px) between samples on bare
    felt: what noise alone makes."""
    step = np.abs(pixels[:, 2 * HALF :].astype(np.float32) - pixels[:, : -2 * HALF]).sum(axis=2)
    on_felt = step[bare[:, HALF:-HALF]]
    return float(np.median(on_felt)) if on_felt.size > 50 else MIN_PLAIN


def _sample(image: U8, centres: F64, radii: F64, frac: F64) -> U8:
    """BGR samples (B * RAYS, S, 3) along the rays (bilinear)."""
    along = radii[:, None] * frac[None, :]  # (B, S) px from the centre
    xs = centres[:, 0, None, None] + DIRS[None, :, 0, None] * along[:, None, :]
    ys = centres[:, 1, None, None] + DIRS[None, :, 1, None] * along[:, None, :]
    shape = (len(centres) * RAYS, len(frac))
    return edge.sample_u8(image, xs.reshape(shape), ys.reshape(shape))


def _felt(logs: F32, log_felt: F32) -> tuple[Bools, F32]:
    """Samples (N, S) that look like the felt or its shadow, and how far each is from that
    (log chroma spread, and brightness beyond the felt's and its shadow's, x 40)."""
    rel = logs - log_felt[:, None, :]
    spread = rel.max(axis=2) - rel.min(axis=2)
    bright = rel.mean(axis=2)
    felt = (spread < FELT_CHROMA) & (bright > FELT_BRIGHT[0]) & (bright < FELT_BRIGHT[1])
    away = spread + np.maximum(bright - FELT_BRIGHT[1], 0) + np.maximum(FELT_BRIGHT[0] - bright, 0)
    return np.asarray(felt, bool), np.asarray(away, np.float32)


def _ahead(felt: Bools) -> F32:
    """Share of the samples 1-2.5 px further out that are felt, per sample (N, S)."""
    flag = felt.astype(np.float32)
    ahead = np.zeros(flag.shape, np.float32)
    for shift in range(HALF, 3 * HALF):
        ahead[:, :-shift] += flag[:, shift:]
    return np.asarray(ahead / (2 * HALF), np.float32)


def _half_way(
    lin: F32, rows1: NDArray[np.intp], k: NDArray[np.intp], inside: int, outside: int
) -> F64:
    """Sub-sample position where each profile crosses half way between its colours
    ``INSIDE`` samples inside and ``OUTSIDE`` samples outside sample ``k`` (``k`` itself
    when it does not cross)."""
    size = lin.shape[1]
    rows = rows1[:, None]
    kk = np.clip(k, 3, size - 4)[:, None]
    inner = lin[rows, kk - inside][:, 0]
    outer = lin[rows, kk + outside][:, 0]
    delta = outer - inner
    norm = (delta * delta).sum(axis=1)
    window = kk + np.arange(-3, 4)[None, :]
    t = ((lin[rows, window] - inner[:, None, :]) * delta[:, None, :]).sum(axis=2)
    t /= np.maximum(norm, 1e-6)[:, None]
    cross = (t[:, :-1] < 0.5) & (t[:, 1:] >= 0.5)
    j = np.argmax(cross, axis=1)
    idx = np.arange(len(k))
    t0, t1 = t[idx, j], t[idx, j + 1]
    frac = np.clip((0.5 - t0) / np.maximum(t1 - t0, 1e-6), 0.0, 1.0)
    fine = kk[:, 0] - 3 + j + frac
    good = cross.any(axis=1) & (norm > 1.0)
    return np.asarray(np.where(good, fine, k), np.float64)
