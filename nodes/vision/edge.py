"""Sub-pixel edges along sampled profiles, and robust lines through them.

A profile is a row of samples across an edge, from the inside (the felt) outwards. The edge is
where the colour has gone half way from the inside colour to the outside one, measured in linear
light (cameras and renderers mix colours at an edge in linear light, not in sRGB bytes).

JPEG and YUV video keep the luma Y' at full resolution and the chroma at half, blurred in sRGB,
which moves the colour's half-way point (towards the felt, on the bench's tables); there the mix
fraction is read from each pixel's Y' instead (``mix_from_luma``), given the two colours.
"""

from __future__ import annotations

from typing import Any

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
    return np.asarray(_remap(image, xs, ys), dtype=np.float32)


MAP_WIDTH = 32766  # the widest map cv2.remap takes (its dst.cols < SHRT_MAX)


def sample_u8(image: U8, xs: F32 | F64, ys: F32 | F64) -> U8:
    """Bilinear samples of an 8-bit BGR image at (xs, ys) (2-D arrays): (..., 3) uint8.

    The maps are handed to ``cv2.remap`` as one row (or, when larger, rows of 16 points):
    OpenCV 5 interpolates 16 points of a row at a time and the rest of each row one by one,
    which took half again as long for rows of 29 points (a ball's ray); the samples are the
    same, byte for byte (35 million random ones compared), wherever a point lies in its row."""
    count = xs.size
    if count <= MAP_WIDTH:
        rows = (1, count)
    elif count % 16 == 0:
        rows = (count // 16, 16)
    else:
        rows = xs.shape
    out = _remap(image, xs.reshape(rows), ys.reshape(rows))
    return np.asarray(out, dtype=np.uint8).reshape(*xs.shape, *out.shape[2:])


def _remap(image: NDArray[Any], xs: F32 | F64, ys: F32 | F64) -> NDArray[Any]:
    """``cv2.remap`` bilinear, edges replicated (float32 coordinates as they are, not copied)."""
    xs, ys = xs.astype(np.float32, copy=False), ys.astype(np.float32, copy=False)
    return np.asarray(cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


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


LUMA_BGR = np.array([0.114, 0.587, 0.299])
"""Y' from sRGB bytes (BT.601, what JPEG and YUV video keep at full resolution)."""
SUBSAMPLED = 0.4  # chroma detail below this fraction of the luma's: chroma was subsampled
_SECOND = np.array([[1.0, -2.0, 1.0]], np.float32)  # a second difference along x


def chroma_detail(image: U8) -> tuple[float, float]:
    """How much pixel-to-pixel detail the chroma has next to the luma, along x and along y:
    the rms second difference of Cb and Cr over that of Y' in the middle of the frame.

    A camera's noise is as fine in chroma as in luma (0.8-1.1 on the bench's scenes); JPEG's
    4:2:0 (and YUYV's or MJPEG's 4:2:2, along x) keep the chroma at half resolution and leave
    almost none (0.05-0.2, whatever the quality).

    The second differences are OpenCV's (a [1, -2, 1] filter, exact on bytes in float32, the
    border columns or rows dropped) and their squares summed in float64: numpy's diffs,
    squares and mean made a temporary per step and took 5 ms of a first frame (the same
    ratios to 1e-4, a more exact sum).
    """
    h, w = image.shape[:2]
    centre = image[int(h * 0.3) : int(h * 0.7), int(w * 0.3) : int(w * 0.7)]
    ycc = cv2.cvtColor(centre, cv2.COLOR_BGR2YCrCb)
    out = []
    for kernel in (_SECOND, _SECOND.T):
        second = cv2.filter2D(ycc, cv2.CV_32F, kernel, borderType=cv2.BORDER_REPLICATE)
        inner = second[:, 1:-1] if kernel.shape[0] == 1 else second[1:-1]
        sums = cv2.sumElems(cv2.multiply(inner, inner))
        energy = np.array(sums[:3]) / (inner.shape[0] * inner.shape[1])
        # a perfectly flat frame (no noise, no texture) tells nothing
        ratio = np.sqrt((energy[1] + energy[2]) / 2 / energy[0]) if energy[0] > 1e-4 else 1.0
        out.append(float(ratio))
    return out[0], out[1]


def luma(image: U8) -> F32:
    """Y' (BT.601, 0-255) of an 8-bit BGR image, as float32."""
    flat = cv2.transform(image, LUMA_BGR[None, :])
    return np.asarray(flat, np.float32).reshape(image.shape[:2])


def _to_srgb(linear_255: F64) -> F64:
    v = np.clip(linear_255 / 255.0, 0.0, 1.0)
    srgb = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.asarray(srgb * 255.0, dtype=np.float64)


def mix_from_luma(
    image: U8,
    xs: F32,
    ys: F32,
    inside: F64,
    outside: F64,
    ends: F64 | None = None,
    steps: int = 64,
) -> tuple[F32, NDArray[np.bool_]]:
    """The fraction of the way from ``inside`` to ``outside`` (linear BGR, one pair per row of
    ``xs``) of a linear-light mix of the two, read at (xs, ys) from the pixels' luma Y' alone.

    Each pixel's Y' is turned into a mix fraction before the bilinear interpolation (a camera
    mixes in linear light; Y' is not linear in it). Rows whose Y' does not rise or fall
    monotonically over at least the 20-80 % mixes, by 4 levels or more, are flagged False.

    ``ends`` (N, 2), the Y' measured on either side, stretch each row's Y'-to-mix table to
    meet them: the two colours, read a few pixels from the edge, still carry some of the
    other side's smeared chroma, and so miss their own Y' by a level or two, which on a weak
    edge is a tenth of the way across (the table keeps the colours' shape, not their levels).
    """
    levels = luma(image)
    h, w = image.shape[:2]
    fx, fy = np.floor(xs), np.floor(ys)
    ax, ay = xs - fx, ys - fy
    x0, y0 = np.clip(fx.astype(np.intp), 0, w - 1), np.clip(fy.astype(np.intp), 0, h - 1)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    taps = [(y0, x0, (1 - ax) * (1 - ay)), (y0, x1, ax * (1 - ay)),
            (y1, x0, (1 - ax) * ay), (y1, x1, ax * ay)]  # fmt: skip
    grid = np.linspace(0.0, 1.0, steps + 1)
    mixes = inside[:, None, :] + grid[None, :, None] * (outside - inside)[:, None, :]
    table = _to_srgb(mixes) @ LUMA_BGR
    if ends is not None:
        span = table[:, -1] - table[:, 0]
        span = np.where(np.abs(span) < 1e-6, 1e-6, span)
        stretch = (ends[:, 1] - ends[:, 0]) / span
        table = ends[:, :1] + (table - table[:, :1]) * stretch[:, None]
    sign = np.where(table[:, -1] >= table[:, 0], 1.0, -1.0)
    table *= sign[:, None]
    alpha = np.zeros(xs.shape, np.float32)
    good = np.zeros(len(xs), dtype=bool)
    mid = steps // 2
    for r in range(len(xs)):
        rising = np.diff(table[r]) > 0
        # the monotonic stretch of the table around the half mix
        lo = 0 if rising[:mid].all() else mid - int(np.argmin(rising[:mid][::-1]))
        hi = steps if rising[mid:].all() else mid + int(np.argmin(rising[mid:]))
        good[r] = grid[lo] <= 0.2 and grid[hi] >= 0.8 and table[r, hi] - table[r, lo] >= 4.0
        for yy, xx, weight in taps:
            values = levels[yy[r], xx[r]] * sign[r]
            alpha[r] += weight[r] * np.interp(values, table[r, lo : hi + 1], grid[lo : hi + 1])
    return alpha, good


def projected_mix(profiles: F32, inner: int) -> tuple[F64, F64]:
    """The fraction of the way from the inside colour to the outside one of each sample of
    (N, S, 3) linear-light profiles, and each profile's contrast (the linear distance between
    its two ends, the medians of its first and last ``inner`` samples).

    Each colour is projected on the line from the inside colour to the outside one (the
    medians over all profiles), each channel weighted by the inverse square of its noise in
    linear light: the noise is added to the bytes, and a byte step is worth more linear light
    in a bright channel than in a dark one. A projection is linear in the pixels, so noise
    scatters the half mix but does not move it; the distance from the inside colour, which
    the noise only ever adds to, read the edge of a dim, noisy table 0.1-0.3 px outwards.
    """
    inside = np.median(profiles[:, :inner].reshape(-1, 3), axis=0).astype(np.float64)
    outside = np.median(profiles[:, -inner:].reshape(-1, 3), axis=0).astype(np.float64)
    lut = LINEAR_LUT.ravel()
    level = np.clip(np.searchsorted(lut, 0.5 * (inside + outside)), 1, 254)
    noise = np.maximum((lut[level + 1] - lut[level - 1]) / 2, 1e-3)  # linear light per byte
    weights = (outside - inside) / noise**2
    along = profiles.astype(np.float64) @ weights
    low = np.median(along[:, :inner], axis=1)
    high = np.median(along[:, -inner:], axis=1)
    span = np.where(np.abs(high - low) < 1e-9, 1e-9, high - low)
    alpha = (along - low[:, None]) / span[:, None]
    ends = np.median(profiles[:, :inner], axis=1) - np.median(profiles[:, -inner:], axis=1)
    return alpha, np.linalg.norm(ends, axis=1).astype(np.float64)


def half_mix(alpha: F32 | F64, inner: int) -> tuple[F64, NDArray[np.bool_]]:
    """Where each row of mix fractions first reaches one half (in samples), and whether it
    starts below (the first ``inner`` samples) and ends above it.

    Below means under 0.4, not near 0: read from the luma, the first part of a mix can look
    like the inside colour itself (a little red wood in a blue cloth first raises Y', then
    lowers it), and such a row reads about 0.3 on the inside while its half mix is sound.
    """
    size = alpha.shape[1]
    above = alpha >= 0.5
    first = np.clip(np.argmax(above, axis=1), 1, size - 1)
    rows = np.arange(len(alpha))
    inside = np.asarray(np.median(alpha[:, :inner], axis=1), np.float64)
    ok = (first > inner // 2) & above[:, -1] & (inside < 0.4)
    a0, a1 = alpha[rows, first - 1], alpha[rows, first]
    frac = np.clip((0.5 - a0) / np.maximum(a1 - a0, 1e-6), 0.0, 1.0)
    return np.asarray(first - 1 + frac, np.float64), ok


def fit_line(points: F64, iterations: int = 4) -> tuple[F64, F64, float] | None:
    """Robust total-least-squares line: (point on it, unit direction, rms residual), or None.

    Points further than 3 robust sigmas (and 0.5 px) from the current fit are dropped
    (:func:`inliers` finds the points close to the line found).
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
        keep = _close(resid, resid[keep])
    return centre, direction, rms


def _close(resid: F64, spread_of: F64) -> NDArray[np.bool_]:
    """Which residuals are within 3 robust sigmas (of ``spread_of``'s) and 0.5 px."""
    sigma = 1.4826 * float(np.median(np.abs(spread_of)))
    return np.asarray(np.abs(resid) <= max(3.0 * sigma, 0.5), np.bool_)


def intersect(a: tuple[F64, F64], b: tuple[F64, F64]) -> F64 | None:
    """Intersection of two lines given as (point, direction); None if parallel."""
    (p, d), (q, e) = a, b
    det = d[0] * -e[1] - d[1] * -e[0]
    if abs(det) < 1e-9:
        return None
    rhs = q - p
    s = (rhs[0] * -e[1] - rhs[1] * -e[0]) / det
    return np.asarray(p + s * d, dtype=np.float64)


def inliers(points: F64, line: tuple[F64, F64, float]) -> F64:
    """The points (N, 2) close to a :func:`fit_line` ``line``: its test, with the robust
    sigma of all the points' residuals (the fit's last pass took it from those it kept)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    centre, direction, _ = line
    resid = (pts - centre) @ np.array([-direction[1], direction[0]])
    return np.asarray(pts[_close(resid, resid)], dtype=np.float64)
