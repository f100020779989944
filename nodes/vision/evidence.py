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

import numpy as np
from numpy.typing import NDArray

from nodes.vision import ray
from nodes.vision.circle import Fit
from nodes.vision.palette import quantile_rows

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
    expected = fit.radius
    w = fit.inlier.astype(np.float64)
    n = np.maximum(w.sum(axis=1), 1.0)
    m1 = np.hypot((w * _COS).sum(1), (w * _SIN).sum(1)) / n
    m2 = np.hypot((w * _COS2).sum(1), (w * _SIN2).sum(1)) / n
    shift = np.hypot(*(fit.centre - seeds).T) / expected
    return np.column_stack(
        [
            fit.support,
            fit.rms / expected,
            np.abs(fit.sized / expected - 1.0),
            largest_gap(fit.inlier) / ray.RAYS,
            m1,
            m2,
            inside,
            shift,
            occluded,
            shine(disc),
        ]
    )


def shine(disc: U8) -> F64:
    """How far the brightest samples of each disc stand above its median (a glossy ball shows
    the lamp; skin, sleeves and cloth do not)."""
    grey = np.sort(disc.astype(np.float32).sum(axis=2), axis=1)
    top, mid = quantile_rows(grey, 0.99), quantile_rows(grey, 0.5)
    return np.asarray((top - mid) / (mid + 90.0), np.float64)


def confidence(measured: F64, model: F64) -> F64:
    """Probability that each circle is a ball, under a logistic ``model``."""
    z = measured @ model[:-1] + model[-1]
    return np.asarray(1.0 / (1.0 + np.exp(-np.minimum(np.maximum(z, -30), 30))), np.float64)


def largest_gap(inlier: Bools) -> F64:
    """Longest circular run of rays without a rim, per ball (in rays)."""
    rays = inlier.shape[1]
    twice = np.concatenate([inlier, inlier], axis=1)
    index = np.arange(2 * rays)[None, :]
    last = np.maximum.accumulate(np.where(twice, index, -1), axis=1)
    runs = np.where(last >= 0, index - last, index + 1)
    return np.asarray(np.minimum(runs[:, rays:].max(axis=1), rays), np.float64)
