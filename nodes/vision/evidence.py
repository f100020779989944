"""How much a fitted circle looks like a ball: a few measurements and a logistic model.

A ball's rim is found on nearly every ray, at nearly the expected radius, with small residuals
and no two-sided gaps; inside it the frame is unlike the felt. A player's sleeve gives rims on
two opposite sides only (its second circular moment is large), a knuckle or a palm fits with
large residuals or the wrong size, a table spot has felt inside. A circle inside the player's
blob (hand, arm and cue) needs better evidence than one on bare cloth (:mod:`detector` also
keeps one with a ball's whole rim there: a ball beside the arm). The weights were fitted
(logistic regression) on the synthetic camera's randomised scenes with seeds 2000-2015, which
the benchmark (seeds from 1000) does not use.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import ray, rim
from nodes.vision.circle import Fit
from nodes.vision.palette import pairwise_sum

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Bools = NDArray[np.bool_]

NAMES = ("support", "rms", "size", "gap", "m1", "m2", "inside", "shift", "occluded", "shine")

# weights per feature (in NAMES order) and the bias, for seeds with strong radial symmetry
# and for seeds in what the first balls leave unexplained (clusters)
STRONG = np.array([12.58, -27.71, -1.46, -0.85, -1.89, 5.26, -10.52, -5.91, -8.77, 4.61, 4.45])
LEFTOVER = np.array([10.61, -26.7, -9.45, -4.28, -0.75, 7.01, 8.96, -13.44, -12.19, 2.93, -12.73])


_COS, _SIN = np.cos(ray.ANGLES[None, :]), np.sin(ray.ANGLES[None, :])
_COS2, _SIN2 = np.cos(2 * ray.ANGLES[None, :]), np.sin(2 * ray.ANGLES[None, :])


def features(fit: Fit, seeds: F64, inside: F64, occluded: F64, disc: U8) -> F64:
    """(B, len(NAMES)) measurements of circles fitted with the expected radius; ``inside`` is
    the share of each disc unlike the felt,
    ``occluded`` the share in a hand-arm-cue blob, ``disc`` (B, P, 3) BGR
    samples spread over each disc (for the lamp's sharp highlight on a ball)."""
    measured = np.empty((len(seeds), len(NAMES)))
    _measure(measured, fit.inlier, fit.centre, seeds, fit.radius, fit.rms, fit.sized, fit.support)
    measured[:, NAMES.index("inside")] = inside
    measured[:, NAMES.index("occluded")] = occluded
    measured[:, NAMES.index("shine")] = shine(disc)
    return measured


@numba.njit(cache=True, nogil=True)
def _measure(
    out: F64, inlier: Bools, centre: F64, seeds: F64, expected: F64, rms: F64, sized: F64,
    support: F64,
) -> None:  # fmt: skip
    """Into ``out``, the rim's measurements of each circle: support, rms and size error (in
    radii), the largest gap, the first and second circular moments of the rays with a rim and
    the centre's shift from its seed (in radii). Compiled (a frame judges a few batches of a
    few circles, where numpy's calls cost more than the work), with numpy's arithmetic: its
    pairwise sums over the 32 rays and the same ``hypot``."""
    gaps = largest_gap(inlier)
    rays = inlier.shape[1]
    weights = np.empty((4, rays))
    for b in range(len(out)):
        count = 0.0
        for i in range(rays):
            w = 1.0 if inlier[b, i] else 0.0
            count += w
            weights[0, i], weights[1, i] = w * _COS[0, i], w * _SIN[0, i]
            weights[2, i], weights[3, i] = w * _COS2[0, i], w * _SIN2[0, i]
        n = max(count, 1.0)
        out[b, 0] = support[b]
        out[b, 1] = rms[b] / expected[b]
        out[b, 2] = abs(sized[b] / expected[b] - 1.0)
        out[b, 3] = gaps[b] / ray.RAYS
        cos, sin = pairwise_sum(weights[0], 0, rays), pairwise_sum(weights[1], 0, rays)
        out[b, 4] = np.hypot(cos, sin) / n
        cos, sin = pairwise_sum(weights[2], 0, rays), pairwise_sum(weights[3], 0, rays)
        out[b, 5] = np.hypot(cos, sin) / n
        out[b, 7] = np.hypot(centre[b, 0] - seeds[b, 0], centre[b, 1] - seeds[b, 1]) / expected[b]


@numba.njit(cache=True, nogil=True)
def shine(disc: U8) -> F64:
    """How far the brightest samples of each disc stand above its median (a glossy ball shows
    the lamp; skin, sleeves and cloth do not): the 0.99 and 0.5 quantiles (linear, as
    ``np.quantile``) of each disc's B + G + R, in float32. Compiled: a frame judges a few
    batches of a few discs, where numpy's calls cost more than the work; the sums are whole
    numbers up to 765, so their order statistics come from a histogram, not a sort."""
    count, size = disc.shape[0], disc.shape[1]
    out = np.zeros(count)
    histogram = np.zeros(3 * 255 + 1, np.int64)
    for b in range(count):
        histogram[:] = 0
        for p in range(size):
            grey = np.int32(disc[b, p, 0]) + np.int32(disc[b, p, 1]) + np.int32(disc[b, p, 2])
            histogram[grey] += 1
        top, mid = _quantile(histogram, size, 0.99), _quantile(histogram, size, 0.5)
        out[b] = np.float32(top - mid) / np.float32(mid + np.float32(90.0))
    return out


@numba.njit(cache=True, nogil=True)
def _quantile(histogram: NDArray[np.int64], size: int, q: float) -> np.float32:
    """:func:`palette._quantile` of the ``size`` values counted in ``histogram``
    (float32 arithmetic, as numpy does it on float32 values with a Python float)."""
    at = (size - 1) * q
    lo = int(np.floor(at))
    gamma = at - lo
    a = np.float32(rim.rank(histogram, lo))
    b = np.float32(rim.rank(histogram, min(lo + 1, size - 1)))
    diff = np.float32(b - a)
    if gamma >= 0.5:
        return np.float32(b - np.float32(diff * np.float32(1 - gamma)))
    return np.float32(a + np.float32(diff * np.float32(gamma)))


def confidence(measured: F64, model: F64) -> F64:
    """Probability that each circle is a ball, under a logistic ``model``."""
    z = measured @ model[:-1] + model[-1]
    return np.asarray(1.0 / (1.0 + np.exp(-np.minimum(np.maximum(z, -30), 30))), np.float64)


@numba.njit(cache=True, nogil=True)
def largest_gap(inlier: Bools) -> F64:
    """Longest circular run of rays without a rim, per ball (in rays): twice round the circle,
    the distance from the last ray with a rim (compiled, as :func:`shine`)."""
    count, rays = inlier.shape
    out = np.zeros(count)
    for b in range(count):
        last, best = -1, 0
        for i in range(2 * rays):
            if inlier[b, i % rays]:
                last = i
            if i >= rays:
                best = max(best, i - last if last >= 0 else i + 1)
        out[b] = min(best, rays)
    return out
