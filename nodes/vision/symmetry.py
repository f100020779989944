"""Ball seeds from radial symmetry at the known ball radius (working resolution).

Every edge pixel votes for the point one expected ball radius away along its gradient: a
ball's rim, whatever its colour and whatever touches it, puts all its votes on the ball's
centre, while the felt's grain, shadows' soft edges, stripes and numbers scatter theirs. Two
edge maps vote: the felt score's (felt -> ball, signed: the ball is the side unlike the felt)
and the grey level's (unsigned: dark crevices between touching balls, a black ball on a pale
cloth, a white one on a dark cloth). The radius at each pixel comes from the calibration, so
one pass separates the balls of a rack without thresholding a mask.
"""

from __future__ import annotations

import functools

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I16 = NDArray[np.int16]
U8 = NDArray[np.uint8]

GREY_WEIGHT = 0.5  # a grey-level edge counts half a felt edge
NOISE_FACTOR = 3.0  # an edge is a gradient this many times the median one over the table
MAX_WEIGHT = 3.0  # a vote weighs its gradient over the noise level, at most this


def accumulator(
    score: I16,
    grey: U8,
    radius: F32,
    roi: U8,
    noise_at: NDArray[np.intp] | None = None,
    rim: F32 | None = None,
) -> F32:
    """Votes per pixel, per expected rim length (a ball seen all round scores about 2-4).

    ``noise_at``: flat indices of the pixels where the gradient's noise level is measured
    (:func:`noise_pixels` of ``roi``) and ``rim`` the rim length per pixel
    (:func:`rim_length` of ``radius``); given, they are not recomputed per frame."""
    if noise_at is None:
        noise_at = noise_pixels(roi)
    if rim is None:
        rim = rim_length(radius)
    h, w = score.shape
    # one count for both maps: the weights (in [0.5, 3], 24-bit mantissas) sum exactly in
    # float64 in any order
    counts = np.zeros(h * w)
    _votes(counts, score, radius, roi, noise_at, signed=True, scale=1.0)
    _votes(counts, grey, radius, roi, noise_at, signed=False, scale=GREY_WEIGHT)
    acc = counts.reshape(h, w).astype(np.float32)
    acc = np.asarray(cv2.GaussianBlur(acc, (0, 0), 1.0), np.float32)
    return np.asarray(np.divide(acc, rim, out=acc), np.float32)


def rim_length(radius: F32) -> F32:
    """A ball's rim length (px) at each pixel, from the expected radius there."""
    return np.asarray(2 * np.pi * np.maximum(radius, 1.0), np.float32)


def noise_pixels(roi: U8) -> NDArray[np.intp]:
    """Flat indices of every fifth pixel (both ways) inside ``roi``."""
    ys, xs = np.nonzero(roi[::5, ::5])
    return np.asarray(5 * ys * roi.shape[1] + 5 * xs, np.intp)


def peaks(acc: F32, radius: float, threshold: float) -> tuple[F64, F64]:
    """Local maxima above ``threshold`` at least about a ball radius apart: (N, 2) px and
    their strengths."""
    points = _maxima(acc, kernel_offsets(max(3, round(1.4 * radius) | 1)), threshold)
    return points.astype(np.float64), acc[points[:, 1], points[:, 0]].astype(np.float64)


@functools.lru_cache(maxsize=8)
def kernel_offsets(size: int) -> NDArray[np.intp]:
    """(dy, dx) of the pixels of OpenCV's elliptic kernel ``size`` (odd) px across, from its
    centre (cached: shared, not to be written to)."""
    ys, xs = np.nonzero(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return np.asarray(np.column_stack([ys, xs]) - size // 2, np.intp)


@numba.njit(cache=True, nogil=True)
def _maxima(acc: F32, offsets: NDArray[np.intp], threshold: float) -> NDArray[np.intp]:
    """(x, y) of the pixels above ``threshold`` that no pixel at ``offsets`` (dy, dx: the
    kernel of a grey dilation, which ignores what lies past the border) exceeds, row by row.
    Compiled: only the few pixels above the threshold are looked around, where a dilation of
    the whole accumulator visited every one."""
    h, w = acc.shape
    out = np.empty((min(h * w, 1024), 2), np.intp)
    found = 0
    for y in range(h):
        for x in range(w):
            value = acc[y, x]
            if not np.float64(value) > threshold:
                continue
            top = True
            for k in range(len(offsets)):
                yy, xx = y + offsets[k, 0], x + offsets[k, 1]
                if 0 <= yy < h and 0 <= xx < w and acc[yy, xx] > value:
                    top = False
                    break
            if top:
                if found == len(out):
                    out = np.concatenate((out, np.empty_like(out)))
                out[found, 0], out[found, 1] = x, y
                found += 1
    return out[:found]


def _votes(
    counts: F64, image: I16 | U8, radius: F32, roi: U8, noise_at: NDArray[np.intp], *,
    signed: bool, scale: float,
) -> None:  # fmt: skip
    """Add to ``counts`` (flat, per pixel) gradient votes one radius along (and, unsigned,
    also against) each edge's gradient, weighing ``scale`` times the gradient over the noise
    (at most ``MAX_WEIGHT``)."""
    # OpenCV's float Sobel of 16-bit integers took twice as long as of their float32 copy,
    # whose derivatives are the same whole numbers (under 2**24 at every step: exact)
    source = image.astype(np.float32) if image.dtype == np.int16 else image
    gx, gy = _sobel(source, 1, 0), _sobel(source, 0, 1)
    mag = np.asarray(cv2.magnitude(gx, gy), np.float32)
    noise = _median(mag.ravel()[noise_at]) if len(noise_at) else 1.0
    limit = NOISE_FACTOR * max(noise, 1e-3)
    _cast(counts, roi, gx, gy, mag, radius, limit, signed, scale)


def _sobel(image: F32 | I16 | U8, dx: int, dy: int) -> F32:
    """OpenCV's 3 x 3 Sobel derivative in float32. Of bytes it is a whole number within 1020,
    which OpenCV's 16-bit integer filter gives exactly in half the time of its float one."""
    if image.dtype == np.uint8:
        return np.asarray(cv2.Sobel(image, cv2.CV_16S, dx, dy), np.int16).astype(np.float32)
    return np.asarray(cv2.Sobel(image, cv2.CV_32F, dx, dy), np.float32)


@numba.njit(cache=True, nogil=True)
def _cast(
    counts: F64, roi: U8, gx: F32, gy: F32, mag: F32, radius: F32, limit: float,
    signed: bool, scale: float,
) -> None:  # fmt: skip
    """The votes of the strong pixels in ``roi``, whose gradient is above ``limit`` (a
    compiled loop: a frame has 10-20 thousand; the test is made here, not on whole images
    first)."""
    h, w = roi.shape
    most, level = np.float32(MAX_WEIGHT), np.float32(limit)
    for y in range(h):
        for x in range(w):
            m = mag[y, x]
            if not (roi[y, x] and np.float64(m) > limit):
                continue
            reach = radius[y, x] / m
            dx, dy = gx[y, x] * reach, gy[y, x] * reach
            weight = float(min(m / level, most)) * scale
            for sign in (np.float32(1.0), np.float32(-1.0)):
                px, py = int(np.rint(x + sign * dx)), int(np.rint(y + sign * dy))
                if 0 <= px < w and 0 <= py < h:
                    counts[py * w + px] += weight
                if signed:
                    break


def _median(values: F32) -> float:
    """``float(np.median(values))`` of a float32 vector, by one partition."""
    n = len(values)
    middle = [(n - 1) // 2, n // 2]
    part = np.partition(values, middle)
    return float((part[middle[0]] + part[middle[1]]) / np.float32(2))
