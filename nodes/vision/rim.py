"""A ball's rim along rays from a guessed centre, at full resolution.

On each ray (:mod:`nodes.vision.ray`) the rim is a strong step near the expected radius: the
log-colour change plus twice the drop in distance from the felt's colour (leaving the ball for
the felt), weighted by a prior around the expected radius and counted three times when felt
lies just beyond it. The outermost step close to the strongest is the silhouette (a ball's
stripe and number lie inside it); once the circle is nearly known, the next strongest steps
are kept too, and the fit takes the one nearest the circle (where balls touch, the outermost
step may be the neighbour's). Between two balls the rim is placed as any other step, half way
(the darkest point of the crevice between them was tried: it lies off both silhouettes, and
the centres came out worse, touching balls 0.53 -> 0.49 px on nine bench scenes without it).

The step is placed where the luma is half way from half a pixel inside to a pixel outside:
close enough to the silhouette that the darkening towards a lit sphere's limb does not pull the
rim in (on an ideal render, nine lone balls: 0.06 px mean, 0.18 px at most). Luma, not colour,
because a camera's colour is coarser than its brightness: JPEG and MJPEG keep chroma at half
resolution (demosaicing blurs it too), which smears a colour edge over 2-3 px and moves it by
up to 1-2 px, most where the ball's colour is the felt's; Y' (Rec. 601 on the sRGB bytes, what
JPEG keeps at full resolution) is left sharp. On the bench's JPEG scenes the centre error was
twice that of the same frames uncompressed. Where the luma hardly changes across the step (a
ball as bright as the felt), the colour's crossing is used, in linear light; on frames whose
chroma was subsampled its levels are read beyond the smear, 1.5 px inside and 2 px outside
(half a pixel inside and one outside, the levels lie on the smeared ramp, and the crossing
follows the step found rather than the edge: such rims lay 0.39 px outside the silhouette on
average on the bench's JPEG scenes). There, too, the felt beyond a step is sought half a
pixel further out, past the ball's colour smeared onto it. When the centre is refined, whether
luma or colour places a step is judged there on the colour beyond the smear too (``find``'s
``choose_beyond``): the smear leaves half a colour edge's change within the luma's levels, and
a ball's dark limb on the cloth it shades, whose luma dips rather than steps, was placed by its
luma outside the silhouette.

The search runs ray by ray in one compiled loop (numba): a frame's few hundred rays of 20-40
samples each are too small for numpy, whose per-call cost was most of the time (see
bench/README.md, "Vision"). Arithmetic is in float32 where the samples are, as it was in numpy.
Its helpers are inlined into that loop (a few per cent of its time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge, ray
from nodes.vision.ray import DIRS, INNER, OUTER, RAYS

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Bools = NDArray[np.bool_]

HALF = 2  # samples either side of a point for its step (1 px)
INSIDE, OUTSIDE = 1, 2  # samples from the step to the colours it lies between
SMEARED_INSIDE, SMEARED_OUTSIDE = 3, 4  # ... in colour, where the chroma was subsampled
FELT_BONUS = 2.0  # a step with felt 1-2.5 px beyond it counts this much more
SMEARED_BEYOND = 1  # ... and samples further out where the chroma was subsampled
LEAVE = 2.0  # a step out of the felt's colour counts this much more than its colour change
OUTERMOST = 0.7  # the rim is the outermost step this close to the ray's strongest...
RATIO = 0.35  # ... else (where balls touch) one of the others this strong, nearest the circle
CANDIDATES = 3  # steps kept per ray when the circle is nearly known
MIN_STEP = 8.0  # log units x 40, summed over B, G, R: weaker steps are noise
NOISE_STEPS = 2.0  # ... and so are steps (in sRGB levels) under this many times the median
MIN_PLAIN = 6.0  # step on bare felt (or this many levels when too little felt is seen)
MIN_BARE = 30  # ... too little: this many steps or fewer
LUMA = edge.LUMA_BGR.astype(np.float32)[None, :]  # Y' from B, G, R (Rec. 601, as JPEG)
LUMA_SHARE = 0.05  # luma places a step whose luma change (squared) is this share of its colour's
LOG_SCALE = 40.0
FELT_CHROMA = 0.3 * LOG_SCALE  # a sample within this log chroma of the felt is felt...
FELT_BRIGHT = (-1.2 * LOG_SCALE, 0.45 * LOG_SCALE)  # ... if this much darker or brighter

_PRIORS: dict[tuple[int, float], F32] = {}  # the prior on where the rim lies, per (samples, spread)

LOG_LUT: F32 = np.log(np.arange(256, dtype=np.float32) + 6.0) * np.float32(LOG_SCALE)
"""sRGB byte -> 40 log(v + 6): a dark ball against its dark shadow still shows its step."""
_LINEAR: F32 = edge.LINEAR_LUT.ravel()  # sRGB byte -> linear light (0-255)


@dataclass(frozen=True, slots=True)
class Rims:
    """Rim candidates of a batch of balls: (B, RAYS, K, 2) image px, which are valid steps,
    and each step's strength."""

    points: F64
    ok: Bools
    strength: F64


def find(
    image: U8, centres: F64, radii: F64, log_felt: F32, spread: float, candidates: int = 1,
    smeared: bool = False, noise_steps: float = NOISE_STEPS, shapes: F64 | None = None,
    choose_beyond: bool = False,
) -> Rims:  # fmt: skip
    """Rims around ``centres`` (B, 2) of balls of expected ``radii`` (B,) (full-res px) and
    silhouette ``shapes`` (B, 2, 2, :mod:`nodes.vision.ray`; round if None); ``log_felt``
    (B, 3) is the felt's colour near each ball as 40 log(BGR + 6).

    ``spread`` is how far (in radii) the rim may lie from the expected radius around this
    centre: wide for a seed, narrow once the centre is known. ``smeared``: the frame's chroma
    was subsampled (:func:`nodes.vision.edge.chroma_detail`). ``noise_steps``: a step smaller
    (in sRGB levels over a pixel) than this many times the median step on bare felt is noise.
    ``choose_beyond``: where the chroma was subsampled, whether luma or colour places a step is
    judged on the colour's change between the levels beyond the smear (as
    :func:`_half_way` reads them for a colour crossing), not between those it reads the luma at.
    """
    shapes = ray.round_shapes(len(centres)) if shapes is None else shapes
    pixels, frac = ray.sample(image, centres, radii, shapes)
    felt = np.ascontiguousarray(log_felt, np.float32)
    prior = _PRIORS.get((len(frac), spread))
    if prior is None:
        prior = np.exp(-0.5 * ((frac - 1.0) / spread) ** 2).astype(np.float32)
        _PRIORS[len(frac), spread] = prior
    beyond = smeared and choose_beyond
    pos, ok, strength = _search(pixels, felt, prior, candidates, smeared, noise_steps, beyond)
    shape = (len(centres), RAYS, candidates)
    centres = np.ascontiguousarray(centres, np.float64)
    shapes = np.ascontiguousarray(shapes, np.float64)
    points = _points(pos, centres, radii.astype(np.float64), shapes, len(frac))
    return Rims(points.reshape(*shape, 2), ok.reshape(shape), strength.reshape(shape))


@numba.njit(cache=True, nogil=True)
def _points(pos: F64, centres: F64, radii: F64, shapes: F64, size: int) -> F64:
    """Image points (N, candidates, 2) of the steps at sample positions ``pos`` (N = B * RAYS
    rays, ``candidates`` each; ``size`` samples from ``INNER`` to ``OUTER`` radii): the
    centre plus the distance times the ray's direction through the ball's shape (compiled: a
    handful of numpy calls on a few hundred numbers cost more than the work)."""
    rays, candidates = pos.shape
    out = np.empty((rays, candidates, 2))
    for n in range(rays):
        b, r = n // RAYS, n % RAYS
        dx = shapes[b, 0, 0] * DIRS[r, 0] + shapes[b, 0, 1] * DIRS[r, 1]
        dy = shapes[b, 1, 0] * DIRS[r, 0] + shapes[b, 1, 1] * DIRS[r, 1]
        for j in range(candidates):
            dist = (INNER + pos[n, j] * (OUTER - INNER) / (size - 1)) * radii[b]
            out[n, j, 0] = dist * dx + centres[b, 0]
            out[n, j, 1] = dist * dy + centres[b, 1]
    return out


# float32 constants: numba keeps float32 arithmetic float32 only against float32 operands
_F0, _F1 = np.float32(0.0), np.float32(1.0)
_CHROMA, _DARK, _LIGHT = (np.float32(v) for v in (FELT_CHROMA, *FELT_BRIGHT))
_THIRD, _QUARTER = np.float32(1 / 3), np.float32(1 / (2 * HALF))
_LEAVE, _BONUS = np.float32(LEAVE), np.float32(FELT_BONUS)
_OUTERMOST, _RATIO = np.float32(OUTERMOST), np.float32(RATIO)
_TINY, _HALF_WAY, _SHARE = np.float32(1e-6), np.float32(0.5), np.float32(LUMA_SHARE)
_Y0, _Y1, _Y2 = (np.float32(w) for w in LUMA[0])
_MIN_STEP = np.float32(MIN_STEP)


@numba.njit(cache=True, nogil=True)
def _search(
    pixels: U8, felt: F32, prior: F32, candidates: int, smeared: bool, noise_steps: float,
    choose_beyond: bool,
) -> tuple[F64, Bools, F64]:  # fmt: skip
    """Per ray of ``pixels`` (N, S, 3), with the felt's log colour ``felt`` (B, 3) near its
    ball (ray ``n`` is ball ``n // RAYS``'s) and the ``prior`` (S,) on where the rim lies:
    ``candidates`` steps (N, candidates) as sample positions, whether each is a valid rim, and
    its strength (``smeared``, ``noise_steps``: as :func:`find`; ``choose_beyond``: as
    :func:`find`, where ``smeared``)."""
    count, size = pixels.shape[0], pixels.shape[1]
    looks = np.zeros((count, size), np.bool_)  # looks like the felt or its shadow
    ahead = np.zeros((count, size), np.float32)  # share of felt 1-2.5 px further out...
    beyond = SMEARED_BEYOND if smeared else 0  # ... or 1.5-3 px, past the smeared colour
    step = np.zeros((count, size), np.float32)
    logs = np.empty((size, 3), np.float32)
    away = np.empty(size, np.float32)  # how far from the felt (log units x 40)
    for n in range(count):
        for s in range(size):
            # in float32 from the first channel on (the same values as from -inf and 0 in
            # float64: a comparison picks, and float32 differences here are exact in float64)
            logs[s, 0] = LOG_LUT[pixels[n, s, 0]]
            hi = lo = total = logs[s, 0] - felt[n // RAYS, 0]
            for c in range(1, 3):
                logs[s, c] = LOG_LUT[pixels[n, s, c]]
                rel = logs[s, c] - felt[n // RAYS, c]
                hi = rel if rel > hi else hi
                lo = rel if rel < lo else lo
                total += rel
            spread = hi - lo
            bright = total * _THIRD
            looks[n, s] = spread < _CHROMA and bright > _DARK and bright < _LIGHT
            away[s] = spread + abs(bright - min(max(bright, _DARK), _LIGHT))
        for s in range(HALF, size - HALF):
            change = _F0
            for c in range(3):
                change += abs(logs[s + HALF, c] - logs[s - HALF, c])
            # a step out of the felt's colour counts more
            step[n, s] = change + _LEAVE * max(away[s - HALF] - away[s + HALF], _F0)
        for s in range(size):
            seen = 0
            for shift in range(HALF + beyond, 3 * HALF + beyond):
                if s + shift < size and looks[n, s + shift]:
                    seen += 1
            ahead[n, s] = np.float32(seen) * _QUARTER
    noise = _noise(pixels, looks, ahead)
    pos = np.zeros((count, candidates))
    ok = np.zeros((count, candidates), np.bool_)
    strength = np.zeros((count, candidates))
    score, masked = np.empty(size, np.float32), np.empty(size, np.float32)
    ks, valid = np.empty(candidates, np.intp), np.empty(candidates, np.bool_)
    for n in range(count):
        for s in range(size):
            score[s] = step[n, s] * prior[s] * (_F1 + _BONUS * ahead[n, s])
        _peaks(score, masked, ks, valid)
        for j in range(candidates):
            k = ks[j]
            strength[n, j] = step[n, k]
            pos[n, j] = k
            good = valid[j] and step[n, k] > _MIN_STEP and HALF < k < size - HALF - 1
            if not good or _levels(pixels, n, k + HALF, k - HALF) <= noise_steps * noise:
                continue
            ok[n, j] = True
            pos[n, j] = _half_way(pixels, n, k, smeared, choose_beyond)
    return pos, ok, strength


@numba.njit(cache=True, nogil=True, inline="always")
def _levels(pixels: U8, n: int, a: int, b: int) -> int:
    """The step between samples ``a`` and ``b`` of ray ``n`` in sRGB levels (summed over B, G,
    R); samples past the ends are the end samples."""
    last = pixels.shape[1] - 1
    a, b = min(max(a, 0), last), min(max(b, 0), last)
    total = 0
    for c in range(3):  # (numba's int() of a byte subtracts as unsigned: np.int32 does not)
        total += int(abs(np.int32(pixels[n, a, c]) - np.int32(pixels[n, b, c])))
    return total


@numba.njit(cache=True, nogil=True)
def _noise(pixels: U8, looks: Bools, ahead: F32) -> float:
    """Median step (sRGB levels over 1 px, as :func:`_levels`) between samples on bare felt:
    what noise alone makes (every third ray)."""
    histogram = np.zeros(3 * 256, np.int64)
    seen = 0
    for n in range(0, pixels.shape[0], 3):
        for s in range(HALF, pixels.shape[1] - HALF):
            if looks[n, s] and ahead[n, s] > 0.99:
                histogram[_levels(pixels, n, s + HALF, s - HALF)] += 1
                seen += 1
    if seen <= MIN_BARE:
        return MIN_PLAIN
    return (rank(histogram, (seen - 1) // 2) + rank(histogram, seen // 2)) / 2


@numba.njit(cache=True, nogil=True)
def rank(histogram: NDArray[np.int64], order: int) -> float:
    """The value of the ``order``-th smallest (from 0) count in ``histogram``."""
    below = 0
    for value in range(len(histogram)):
        below += histogram[value]
        if below > order:
            return float(value)
    return float(len(histogram) - 1)


@numba.njit(cache=True, nogil=True, inline="always")
def _peaks(score: F32, masked: F32, ks: NDArray[np.intp], valid: Bools) -> None:
    """Into ``ks`` and ``valid``, as many local maxima of a ray's ``score`` and which are
    valid: first the outermost one within ``OUTERMOST`` of the ray's highest, then the highest
    others that reach ``RATIO`` of it (``masked`` is scratch space, as long as ``score``).
    The highest values are found by plain loops, the first of equals as ``np.argmax`` finds
    it (scores are never NaN, which its checks are for: they cost a tenth of the search)."""
    size = len(score)
    top, highest = score[0], 0
    for s in range(1, size):
        if score[s] > top:
            top, highest = score[s], s
    first = -1
    masked[0] = masked[size - 1] = -1.0
    for s in range(1, size - 1):
        if score[s] >= score[s - 1] and score[s] > score[s + 1]:
            masked[s] = score[s]
            if score[s] >= _OUTERMOST * top:
                first = s
        else:
            masked[s] = -1.0
    if first < 0:
        first = highest
    ks[0], valid[0] = first, top > 0
    masked[first] = -1.0
    floor = _RATIO * max(top, _TINY)
    for j in range(1, len(ks)):
        best = 0
        for s in range(1, size):
            if masked[s] > masked[best]:
                best = s
        ks[j], valid[j] = best, masked[best] >= floor
        masked[best] = -np.inf


@numba.njit(cache=True, nogil=True, inline="always")
def _half_way(pixels: U8, n: int, k: int, smeared: bool, choose_beyond: bool = False) -> float:
    """Sub-sample position where ray ``n`` crosses half way between its values ``INSIDE``
    samples inside and ``OUTSIDE`` samples outside sample ``k`` (``k`` itself when it does not
    cross): in luma, or in colour (linear light) where the luma changes less than
    ``LUMA_SHARE`` of the colour, between ``SMEARED_INSIDE`` and ``SMEARED_OUTSIDE`` samples
    where the chroma was subsampled (``smeared``). With ``choose_beyond`` (where ``smeared``)
    the colour change that luma is weighed against is read between those samples too."""
    size = pixels.shape[1]
    kk = min(max(k, 3), size - 4)
    inner, outer, reach = kk - INSIDE, kk + OUTSIDE, 3  # the crossing is sought within reach
    if _contrast(pixels, n, inner, outer) <= 1.0:
        return float(k)
    # the colour change the luma's is weighed against, beyond the smear where asked
    low, high = inner, outer
    if choose_beyond:
        low = max(kk - SMEARED_INSIDE, 0)
        high = min(kk + SMEARED_OUTSIDE, size - 1)
    jump = _F0
    for c in range(3):
        leap = np.float32(pixels[n, high, c]) - np.float32(pixels[n, low, c])
        jump += leap * leap
    base = _luma(pixels, n, inner)
    change = _luma(pixels, n, outer) - base
    bright = change * change > _SHARE * jump
    if smeared and not bright:
        reach = SMEARED_OUTSIDE + 1
        kk = min(max(k, reach), size - 1 - reach)
        inner, outer = kk - SMEARED_INSIDE, kk + SMEARED_OUTSIDE
    norm = max(_contrast(pixels, n, inner, outer), _TINY)
    before = _F0
    for at in range(kk - reach, kk + reach + 1):
        if bright:
            t = (_luma(pixels, n, at) - base) / change
        else:
            t = _F0
            for c in range(3):
                lo = _LINEAR[pixels[n, inner, c]]
                t += (_LINEAR[pixels[n, at, c]] - lo) * (_LINEAR[pixels[n, outer, c]] - lo)
            t /= norm
        if at > kk - reach and before < _HALF_WAY <= t:
            frac = min(max((_HALF_WAY - before) / max(t - before, _TINY), _F0), _F1)
            return float(at - 1 + frac)
        before = t
    return float(k)


@numba.njit(cache=True, nogil=True, inline="always")
def _contrast(pixels: U8, n: int, a: int, b: int) -> np.float32:
    """Squared distance between samples ``a`` and ``b`` of ray ``n`` in linear light."""
    total = _F0
    for c in range(3):
        d = _LINEAR[pixels[n, b, c]] - _LINEAR[pixels[n, a, c]]
        total += d * d
    return np.float32(total)


@numba.njit(cache=True, nogil=True, inline="always")
def _luma(pixels: U8, n: int, s: int) -> np.float32:
    """Y' of sample ``s`` of ray ``n``."""
    return np.float32(pixels[n, s, 0] * _Y0 + pixels[n, s, 1] * _Y1 + pixels[n, s, 2] * _Y2)
