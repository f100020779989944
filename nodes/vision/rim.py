"""A ball's rim along rays from a guessed centre, at full resolution.

On each ray (:mod:`nodes.vision.ray`) the rim is a strong step near the expected radius: the
log-colour change plus twice the drop in distance from the felt's colour (leaving the ball for
the felt), weighted by a prior around the expected radius and counted three times when felt
lies just beyond it. The outermost step close to the strongest is the silhouette (a ball's
stripe and number lie inside it); once the circle is nearly known, the next strongest steps
are kept too, and the fit takes the one nearest the circle (where balls touch, the outermost
step may be the neighbour's). Between two balls, the darkest point of the crevice is where
they touch.

The step is placed where the luma is half way from half a pixel inside to a pixel outside:
close enough to the silhouette that the darkening towards a lit sphere's limb does not pull the
rim in (on an ideal render, nine lone balls: 0.06 px mean, 0.18 px at most). Luma, not colour,
because a camera's colour is coarser than its brightness: JPEG and MJPEG keep chroma at half
resolution (demosaicing blurs it too), which smears a colour edge over 2-3 px and moves it by
up to 1-2 px, most where the ball's colour is the felt's; Y' (Rec. 601 on the sRGB bytes, what
JPEG keeps at full resolution) is left sharp. On the bench's JPEG scenes the centre error was
twice that of the same frames uncompressed. Where the luma hardly changes across the step (a
ball as bright as the felt), the colour's crossing is used, in linear light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge, ray
from nodes.vision.ray import DIRS, INNER, OUTER, RAYS, Profiles

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Ints = NDArray[np.intp]
Bools = NDArray[np.bool_]

HALF = 2  # samples either side of a point for its step (1 px)
INSIDE, OUTSIDE = 1, 2  # samples from the step to the colours it lies between
FELT_BONUS = 2.0  # a step with felt 1-2.5 px beyond it counts this much more
LEAVE = 2.0  # a step out of the felt's colour counts this much more than its colour change
OUTERMOST = 0.7  # the rim is the outermost step this close to the ray's strongest...
RATIO = 0.35  # ... else (where balls touch) one of the others this strong, nearest the circle
CANDIDATES = 3  # steps kept per ray when the circle is nearly known
VALLEY = 3  # samples inside a step onto another ball where the crevice between them is sought
DEEP = 0.8  # a crevice is this much darker than both balls
MIN_STEP = 8.0  # log units x 40, summed over B, G, R: weaker steps are noise
NOISE_STEPS = 2.0  # ... and so are steps (in sRGB levels) under this many times the median
MIN_PLAIN = 6.0  # step on bare felt (or this many levels when too little felt is seen)
LUMA = np.array([[0.114, 0.587, 0.299]], np.float32)  # Y' from B, G, R (Rec. 601, as JPEG)
LUMA_SHARE = 0.05  # luma places a step whose luma change (squared) is this share of its colour's


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
    prof = ray.sample(image, centres, radii, log_felt)
    size, count = prof.shape  # samples per ray, rays
    step = ray.steps(prof.log, HALF)
    middle = step[HALF:-HALF]  # a view: the steps out of the felt's colour add in place
    middle += LEAVE * np.maximum(prof.away[: -2 * HALF] - prof.away[2 * HALF :], 0)
    ahead = _ahead(prof.felt)
    prior = np.exp(-0.5 * ((prof.frac - 1.0) / spread) ** 2).astype(np.float32)
    ks, valid = _peaks(step * prior[:, None] * (1 + FELT_BONUS * ahead), candidates)
    rows = np.repeat(np.arange(count), candidates)
    k = ks.ravel()
    at = k * count + rows  # flat sample index
    strength = step.ravel()[at]
    ok = valid.ravel() & (strength > MIN_STEP) & (k > HALF) & (k < size - HALF - 1)
    ok &= _plain(prof, k, rows) > NOISE_STEPS * _noise(prof, ahead)
    # only the valid steps are placed (the others keep their sample, never read)
    pos = k.astype(np.float64)
    if ok.any():
        use = np.flatnonzero(ok)
        flat = prof.pixels.reshape(-1, 3)  # read in linear light where needed
        pos[use] = _half_way(flat, size, count, rows[use], k[use])
        # where felt does not lie just beyond, the step may be onto another ball
        if (between := use[ahead.ravel()[at[use]] < 0.5]).size:
            pos[between] = _valleys(flat, size, count, rows[between], k[between], pos[between])
    shape = (len(centres), RAYS, candidates)
    along = INNER + pos * (OUTER - INNER) / (size - 1)
    dist = along.reshape(shape) * radii[:, None, None]
    points = np.empty((*shape, 2))  # centre + dist * direction, one coordinate at a time
    for axis in (0, 1):
        np.multiply(dist, DIRS[None, :, None, axis], out=points[..., axis])
        points[..., axis] += centres[:, None, None, axis]
    return Rims(points, ok.reshape(shape), strength.reshape(shape).astype(np.float64))


def _peaks(score: F32, count: int) -> tuple[Ints, Bools]:
    """Per ray (column of ``score``, (S, N)), ``count`` local maxima and which are valid
    ((N, count) each): first the outermost one within ``OUTERMOST`` of the ray's highest,
    then the highest others that reach ``RATIO`` of it."""
    size = score.shape[0]
    peak = np.zeros(score.shape, bool)
    peak[1:-1] = (score[1:-1] >= score[:-2]) & (score[1:-1] > score[2:])
    top = score.max(axis=0)
    strong = peak & (score >= OUTERMOST * top)
    # the outermost strong peak (1 + its index, 0 if none), else the highest sample
    after = (strong * _AFTER[:size]).max(axis=0)
    first = after.astype(np.intp) - 1
    if (none := after == 0).any():
        lone = np.flatnonzero(none)
        first[lone] = np.argmax(score[:, lone], axis=0)
    if count == 1:
        return first[:, None], (top > 0)[:, None]
    masked = np.where(peak, score, -1.0)
    masked[first, np.arange(len(first))] = -1.0
    others = np.argpartition(-masked, count - 2, axis=0)[: count - 1]
    level = np.take_along_axis(masked, others, axis=0)
    ks = np.concatenate([first[None, :], others], axis=0).T
    valid = np.concatenate([(top > 0)[None, :], level >= RATIO * np.maximum(top, 1e-6)]).T
    return ks, valid


_AFTER = np.arange(1, 4097, dtype=np.int16)[:, None]


def _ahead(felt: Bools) -> F32:
    """Share of the samples 1-2.5 px further out that are felt, per sample (S, N)."""
    flag = felt.view(np.uint8)
    count = np.zeros(flag.shape, np.uint8)
    for shift in range(HALF, 3 * HALF):
        count[:-shift] += flag[shift:]
    return np.asarray(count * np.float32(1 / (2 * HALF)), np.float32)


def _plain(prof: Profiles, k: Ints, rows: Ints) -> NDArray[np.int16]:
    """Each step's size in sRGB levels (summed over B, G, R, over 1 px) at samples ``k`` of
    rays ``rows``."""
    size, count = prof.shape
    hi = np.minimum(k + HALF, size - 1) * count + rows
    lo = np.maximum(k - HALF, 0) * count + rows
    flat = prof.pixels.reshape(-1, 3)
    diff = np.abs(flat[hi].astype(np.int16) - flat[lo])
    return np.asarray(diff[:, 0] + diff[:, 1] + diff[:, 2], np.int16)


def _noise(prof: Profiles, ahead: F32) -> float:
    """Median step (sRGB levels, as :func:`_plain`) between samples on bare felt: what noise
    alone makes (every third ray)."""
    bare = (prof.felt[:, ::3] & (ahead[:, ::3] > 0.99))[HALF:-HALF]
    on_felt = ray.byte_steps(prof.pixels[:, ::3], HALF)[bare]
    if on_felt.size <= 30:
        return MIN_PLAIN
    middle = [(on_felt.size - 1) // 2, on_felt.size // 2]
    part = np.partition(on_felt, middle)
    return float((float(part[middle[0]]) + float(part[middle[1]])) / 2)


def _half_way(flat: U8, size: int, count: int, rows: Ints, k: Ints) -> F64:
    """Sub-sample position where each profile crosses half way between its values ``INSIDE``
    samples inside and ``OUTSIDE`` samples outside sample ``k`` (``k`` itself when it does not
    cross): in luma, or in colour (linear light) where the luma changes less than
    ``LUMA_SHARE`` of the colour; ``flat`` is (S * N, 3) sRGB bytes, ``count`` = N rays."""
    kk = np.minimum(np.maximum(k, 3), size - 4)
    raw = flat[(kk[:, None] + _WINDOW[None, :]) * count + rows[:, None]]  # (M, 7, 3)
    window = _LINEAR[raw]
    inner, outer = window[:, 3 - INSIDE], window[:, 3 + OUTSIDE]
    delta = outer - inner
    part = (window - inner[:, None, :]) * delta[:, None, :]
    t = part[..., 0] + part[..., 1] + part[..., 2]
    square = delta * delta
    norm = square[:, 0] + square[:, 1] + square[:, 2]
    t /= np.maximum(norm, 1e-6)[:, None]
    jump = raw[:, 3 + OUTSIDE].astype(np.float32) - raw[:, 3 - INSIDE]  # (M, 3) sRGB
    luma = raw[..., 0] * _Y[0] + raw[..., 1] * _Y[1] + raw[..., 2] * _Y[2]  # (M, 7)
    change = luma[:, 3 + OUTSIDE] - luma[:, 3 - INSIDE]
    bright = change * change > LUMA_SHARE * (jump * jump).sum(axis=1)
    shift = (luma - luma[:, 3 - INSIDE, None]) / np.where(bright, change, 1.0)[:, None]
    t = np.where(bright[:, None], shift, t)
    cross = (t[:, :-1] < 0.5) & (t[:, 1:] >= 0.5)
    j = np.argmax(cross, axis=1)
    idx = np.arange(len(k))
    t0, t1 = t[idx, j], t[idx, j + 1]
    frac = np.minimum(np.maximum((0.5 - t0) / np.maximum(t1 - t0, 1e-6), 0.0), 1.0)
    fine = kk - 3 + j + frac
    good = cross.any(axis=1) & (norm > 1.0)
    return np.asarray(np.where(good, fine, k), np.float64)


_WINDOW = np.arange(-3, 4)
_Y = [np.float32(w) for w in LUMA[0]]
_LINEAR: F32 = edge.LINEAR_LUT.ravel()  # sRGB byte -> linear light (0-255)


def _valleys(flat: U8, size: int, count: int, rows: Ints, k: Ints, pos: F64) -> F64:
    """Where the rim lies between two balls, the darkest point of the crevice just inside
    the step onto the other ball is where they touch (the step itself is the other ball's):
    ``pos`` moved there, where there is such a crevice."""
    kk = np.minimum(np.maximum(k, VALLEY + 1), size - 3)
    window = _LINEAR[flat[(kk[:, None] + _AROUND[None, :]) * count + rows[:, None]]]
    total = window[..., 0] + window[..., 1] + window[..., 2]
    vals = total[:, 1:-1]  # VALLEY samples inside to one outside
    inner, outer = total[:, 0], total[:, -1]
    j = np.argmin(vals, axis=1)
    idx = np.arange(len(k))
    deep = (vals[idx, j] < DEEP * np.minimum(inner, outer)) & (j > 0) & (j < VALLEY + 1)
    mid = np.minimum(np.maximum(j, 1), VALLEY)
    v0, v1, v2 = vals[idx, mid - 1], vals[idx, mid], vals[idx, mid + 1]
    curve = v0 - 2 * v1 + v2
    shift = np.where(curve > 1e-6, 0.5 * (v0 - v2) / np.maximum(curve, 1e-6), 0.0)
    at = kk - VALLEY + mid + np.minimum(np.maximum(shift, -0.5), 0.5)
    return np.asarray(np.where(deep, at, pos), np.float64)


_AROUND = np.arange(-VALLEY - 1, 3)
