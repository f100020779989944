"""The detector's compiled loops (numba): compiled before the first frame, and compiled again
when their cache cannot be read.

numba compiles each ``@njit(cache=True)`` function of :mod:`ray`, :mod:`rim`, :mod:`circle`,
:mod:`evidence`, :mod:`symmetry`, :mod:`felt`, :mod:`detector`, :mod:`contact`, :mod:`cue`,
:mod:`joint`, :mod:`palette` and :mod:`geometry` on its first call (about 20 s for all of them,
once per install) and keeps the machine code in the package's ``__pycache__`` (or in a
per-user folder where that is read-only); later processes load it in a fraction of a second.
numba writes those files whole (a temporary file, then a rename), but a cache file that cannot
be read (a disk that filled up, a file damaged by hand) makes it raise instead of compiling
again: :func:`warm_up` then empties the caches' indexes and compiles afresh, so detection never
dies of it.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType

import cv2
import numba
import numpy as np

from nodes.vision import (
    circle,
    contact,
    cue,
    detector,
    evidence,
    felt,
    geometry,
    joint,
    palette,
    ray,
    rim,
    symmetry,
)

log = logging.getLogger(__name__)

MODULES: tuple[ModuleType, ...] = (
    ray, rim, circle, evidence, symmetry, felt, detector, contact, cue, joint, palette, geometry,
)  # fmt: skip


def dispatchers() -> list[numba.core.registry.CPUDispatcher]:
    """Every compiled function of :data:`MODULES`."""
    return [
        value
        for module in MODULES
        for value in vars(module).values()
        if isinstance(value, numba.core.registry.CPUDispatcher)
    ]


def warm_up() -> float:
    """Compile (or load) every compiled loop by running it on a small blank frame; seconds it
    took. A cache that cannot be read is emptied and the loops compiled again."""
    start = time.perf_counter()
    try:
        exercise()
    except Exception as error:  # numba raises whatever reading a damaged file raised
        log.warning("the detector's compiled code could not be loaded (%r): compiling again", error)
        for dispatcher in dispatchers():
            # an empty index: nothing is read from the old files (numba keeps the cache private)
            dispatcher._cache.flush()  # type: ignore[attr-defined]
        exercise()
    return time.perf_counter() - start


def exercise() -> None:
    """Run the rim search, the circle fit, the judge's measurements, the seeds' votes and
    peaks, the felt score, the share of a disc in a mask and its opening at a point, the
    pixels nearest to points, the frame at half size and its brightest channel, what of a mask
    is thin, the player's blobs (pooled, and their components' stats), the spots between balls,
    the dedupe, the overlapping balls' separation, the cue's longest run, candidate lines,
    robust fits, cross-sections, tip walk, middles across it, the ball it strikes, clearance and
    its shaft's end, and the balls' kinds once each."""
    image = np.full((64, 64, 3), 90, np.uint8)
    cv2.circle(image, (32, 32), 10, (200, 200, 200), -1)
    log_felt = np.zeros((1, 3), np.float32)
    fit = detector.fit_circles(image, np.array([[32.0, 32.0]]), np.array([10.0]), log_felt)
    evidence.features(fit, fit.centre, np.zeros(1), np.zeros(1), image[None, 0])
    palette.classify_all(palette.disc_samples(image, fit.centre, fit.radius), np.zeros((1, 3)))
    grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
    roi = np.full(grey.shape, 255, np.uint8)
    felt.FeltModel.from_image(image, roi).score(image)
    detector._inside(roi, np.array([[32.0, 32.0]]), np.array([5.0]))
    geometry.nearest(np.array([[32.0, 32.0]]), roi)
    geometry._halved(image, 32, 32)
    cue._brightest_byte(image)
    cue.thinner(roi, 5)
    detector._opened_at(roi, np.array([[32.0, 32.0]]))
    detector._merged(detector._between(np.array([[0.0, 0.0], [2.0, 0.0]]), np.ones(2)), 1.0)
    detector._player(detector._pooled(roi), np.zeros(1, np.intp), 1.0)
    detector.dedupe([detector.Circle(32.0, 32.0, 10.0, 1.0, 0.0, 1.0)] * 2)
    contact.separate(np.array([[0.0, 0.0], [1.9, 0.0]]), np.ones(2), 1.0)
    cue._run(np.arange(4.0), 1.5)
    cue._run(np.arange(4.0))  # (a signature of its own)
    along, across = np.arange(12.0), np.zeros(12)  # contiguous, as in a frame
    line = np.column_stack([along, across])
    cue._band_fit(line, line[0], line[-1], 1.5)
    cue._principal(line)
    cue._robust_fit(along, across, 1.0)
    cue._sections(along, across)
    cue._shape(line, line[0], line[-1] - line[-2], roi)
    cue._any_inside(line, roi)
    cue._along_sides(line[:2], line[:2], np.ones((4, 4)), 1.0)
    cue._unlike(np.ones((4, 6, 3), np.float32), np.ones(3, np.float32), 0.3)
    cue._clearing(np.zeros(2), np.array([1.0, 0.0]), np.ones((2, 2)), 0.03, (1.0, 0.5), 0.04, 0.03)
    cue.struck(np.zeros(2), np.array([1.0, 0.0]), np.ones((2, 2)), 0.03)
    ts = np.arange(40.0)
    joint._shaft_end(ts, np.where(ts < 25, 5.0, 3.0), np.ones(40, np.bool_), 40.0)
    cue._middles(np.ones((2, 8, 3), np.float32), 2.0)
    radius = np.full(grey.shape, 10.0, np.float32)
    acc = symmetry.accumulator(grey.astype(np.int16), grey, radius, roi)
    symmetry.peaks(acc, 10.0, 0.1)
