"""The cue stick: a long, thin line; its tip, direction and how much is seen.

While the player aims, most of the cue lies off the felt, over the rail and the floor, and the
bridge hand cuts the part on the felt. :func:`find_cue_wide` looks at the whole frame: on the
table the working-resolution mask of non-felt pixels thinner than a ball, off it the thin
bright lines of :func:`ridges`; a straight run longer than six balls' radii that crosses into
the table is the cue and its end on the table the tip. Failing that, :func:`find_cue` takes a
component of the on-table mask much longer than a ball: a robust line through its pixels
(hands and arms are outliers) gives the axis; the tip is the end of the run of on-axis pixels
that lies away from the table's edge (the butt leaves the table) and, failing that, the
thinner end. :func:`refine_tip` walks the tip at full resolution, :func:`profile_axis` measures
the axis across the whole visible cue and :func:`straighten` fits it in undistorted pixels.

Direction in table degrees needs one assumption: a single camera sees the cue's image line,
which fits many (direction, elevation) pairs. The tip is taken at ball-centre height and the
butt raised by ``elevation_deg`` (players hold it 3-10 degrees up), or more where the cue must
clear the cushion or a ball behind the one it strikes; each axis point is placed on its camera
ray at the height that elevation implies, so the direction is the horizontal one. Where the
end of the pale shaft (the joint, a known length from the tip) is seen, the elevation it implies
is weighed in, with those measured earlier in the stroke (:mod:`nodes.vision.joint`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge, joint, symmetry
from nodes.vision.calibration import TableCalibration, TableSpec
from nodes.vision.detector import components
from nodes.vision.felt import LOG_LUT
from nodes.vision.intrinsics import Intrinsics

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

CUE_LENGTH = 1.47  # m, a standard pool cue
CLEARANCE = 0.012  # m: the axis passes this far above a rail or ball (the shaft's radius and a bit)
SHAFT_RADIUS = 0.007  # m: the cue's radius a hand's width behind the tip
# m: the farthest a tip addressing a ball stays behind it: a player getting down on the shot
# holds it up to half a metre back, and a tip raised above the ball's centre, seen at that
# height, is put up to 0.2 m further off along the line
REACH = 0.9
MAX_ELEVATION = 35.0  # degrees: steeper is a masse shot, which this does not model
# radii: a cue found on the felt is no wider (4 standard deviations across its axis): the butt
# is a ball's radius across and its shadow on the cloth beside it joins it in the mask where the
# cue is raised; an arm is more than twice as wide
WIDEST = 1.5
RUN_PX = 2.0  # the tip walk crosses only what is unlike the felt for this long
UNLIKE_FELT = 0.32  # log colour distance from the felt above which a sample is the cue's


@dataclass(frozen=True, slots=True)
class CueLine:
    """The cue in the image (full-res px): tip, unit direction butt -> tip, visible length."""

    tip: F64
    direction: F64
    length_px: float
    width_px: float
    confidence: float
    support: F64 | None = None  # the pixels (full-res px) the axis was fitted to
    back: F64 | None = None  # a point of the axis behind the tip, when the lens bends it
    joint: F64 | None = None  # where the shaft ends (seen) and a pixel further along its axis


def find_cue(mask: U8, edge: U8, radius: float, scale: float) -> CueLine | None:
    """The cue in a working-resolution mask (``edge``: 255 near the table's border).

    ``radius`` is a ball's radius in working px; ``scale`` maps working px to full-res px.
    """
    if not _may_hold_cue(mask, radius):
        return None
    _, labels, stats = components(mask)
    best: CueLine | None = None
    # most components are specks: pick the long, big ones in one go
    big = _long_and_big(stats, radius)
    big[0] = False
    for label in np.flatnonzero(big):
        x, y, w, h, _ = (int(v) for v in stats[label])
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
        points = np.column_stack([xs + x, ys + y]).astype(np.float64)
        line = _axis(points, edge, radius)
        if line is not None and (best is None or line.length_px > best.length_px):
            best = line
    if best is None:
        return None
    return _full(best, scale)


_POOL = np.ones((2, 2), np.uint8)


def _may_hold_cue(mask: U8, radius: float) -> bool:
    """Whether ``mask`` may hold a component as long and as big as :func:`find_cue` looks at,
    judged on the mask pooled 2 x 2 (a quarter of the pixels to label): each component lies
    within one of the pooled mask's, which is at least half as long and has at least a quarter
    as many pixels."""
    pooled = cv2.dilate(mask, _POOL, anchor=(0, 0))[::2, ::2]  # each cell's largest
    _, _, stats = components(np.ascontiguousarray(pooled))
    return bool(_long_and_big(stats[1:], radius, cell=2).any())


def _long_and_big(stats: NDArray[np.int32], radius: float, cell: int = 1) -> NDArray[np.bool_]:
    """Which components (OpenCV's stats, of a mask pooled ``cell`` x ``cell``) are long and
    big enough for :func:`find_cue`: seven ball radii long, four radii squared in pixels."""
    longest = cell * np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    return np.asarray(
        (longest >= 7 * radius) & (cell * cell * stats[:, cv2.CC_STAT_AREA] >= 4 * radius * radius),
        bool,
    )


def _full(line: CueLine, scale: float) -> CueLine:
    """A working-resolution line in full-resolution px."""
    support = None if line.support is None else (line.support + 0.5) * scale - 0.5
    return CueLine(
        (line.tip + 0.5) * scale - 0.5,
        line.direction,
        line.length_px * scale,
        line.width_px * scale,
        line.confidence,
        support,
    )


def _axis(points: F64, edge: U8, radius: float) -> CueLine | None:
    centre = points.mean(axis=0)
    direction = _principal(points - centre)
    keep = np.ones(len(points), dtype=bool)
    for band in (3.0 * radius, 1.5 * radius, 0.8 * radius):
        normal = np.array([-direction[1], direction[0]])
        keep = np.abs((points - centre) @ normal) <= band
        if keep.sum() < 10:
            return None
        centre = points[keep].mean(axis=0)
        direction = _principal(points[keep] - centre)
    on = points[keep]
    along = (on - centre) @ direction
    lo, hi = _run(along)
    length = hi - lo
    if length < 6 * radius:
        return None
    normal = np.array([-direction[1], direction[0]])
    across = (on - centre) @ normal
    width = float(4 * np.std(across))
    if width > WIDEST * radius:
        return None
    ends = [centre + lo * direction, centre + hi * direction]
    tip_hi = _tip_is_hi(ends, along, across, lo, hi, edge)
    tip = ends[1] if tip_hi else ends[0]
    pointing = direction if tip_hi else -direction
    confidence = float(np.clip(length / (12 * radius), 0.3, 1.0))
    run = on[(along >= lo) & (along <= hi)]
    return CueLine(tip, pointing, float(length), width, confidence, run)


LOG_UNITS = 255.0 / math.log(261.0 / 6.0)  # ridge units per unit of log(BGR + 6)
_LOG_TABLE = np.round(LOG_UNITS * np.log((np.arange(256) + 6.0) / 6.0)).astype(np.uint8)


def ridges(small: U8, radius: float) -> U8:
    """How much each working pixel stands out as part of a bright line thinner than a ball
    (the pale shaft): the top-hat of log(BGR + 6) of the brightest channel, in ``LOG_UNITS``.
    In log space a pale shaft over a dark floor stands out as much in a dim room as in a bright
    one; only bright lines, so that the shaft's shadow does not widen it. (The brightest
    channel first: the log table is increasing, so one channel is filtered, not three.)"""
    kernel, _ = _elliptic(2 * round(0.75 * radius) + 1)
    logs = cv2.GaussianBlur(cv2.LUT(_brightest_byte(small), _LOG_TABLE), (3, 3), 0.7)
    return np.asarray(cv2.morphologyEx(logs, cv2.MORPH_TOPHAT, kernel), np.uint8)


def find_cue_wide(
    thin: U8, ridge: U8, roi: U8, sides: F64, radius: float, scale: float,
    outside: U8 | None = None,
) -> CueLine | None:  # fmt: skip
    """The cue where most of it lies off the felt (the player aims from behind the rail).

    Working-resolution arrays of the whole frame: ``thin`` the felt-based mask of thin things
    on the table, ``ridge`` from :func:`ridges`, ``roi`` the table. Off the table the ridge mask
    stands in for the felt mask. A straight run of mask pixels, longer than six balls, that
    crosses into the table and is not one of the table's own edges (``sides``: the four sides
    as (x0, y0, x1, y1), working px) is the cue; its tip is the end on the table. ``outside``:
    ``roi``'s complement, when it is kept (:attr:`Geometry.wide_outside`).
    """
    if outside is None:
        outside = np.asarray(cv2.bitwise_not(roi), np.uint8)
    level = _level(ridge, outside)
    _, above = cv2.threshold(ridge, level, 255, cv2.THRESH_BINARY)
    # blobs as wide as a ball (pockets, the grip hand) are not lines: keep their rims only
    lines = thinner(np.asarray(above, np.uint8), 2 * round(0.75 * radius) + 1)
    mask = np.asarray(cv2.bitwise_or(cv2.bitwise_and(lines, outside), thin), np.uint8)
    # candidates only: every line is fitted again to its pixels. Cut past the last pixels on
    # the right and below, the mask gives the same segments for less (the same points, in the
    # same order, at the same coordinates; a walk along a line that stopped after a gap there
    # stops at the border instead, its end the same pixel)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:
        return None
    segments = cv2.HoughLinesP(
        mask[: y + h, : x + w], 1, np.pi / 180, int(4 * radius), minLineLength=int(6 * radius),
        maxLineGap=int(radius),
    )  # fmt: skip
    if segments is None:
        return None
    pixels = _pixels(mask)
    segments = segments.reshape(-1, 4).astype(np.float64)
    ends = segments.reshape(-1, 2, 2)
    vectors = ends[:, 1] - ends[:, 0]
    lengths = np.hypot(vectors[:, 0], vectors[:, 1])
    units = vectors / np.maximum(lengths, 1e-9)[:, None]
    table = ~_along_sides(ends.mean(axis=1), units, sides, radius)
    order = [int(i) for i in np.argsort(-lengths) if table[i]]
    best: CueLine | None = None
    tried: list[tuple[F64, F64]] = []
    for x0, y0, x1, y1 in segments[order[:8]]:
        a, b = np.array([x0, y0]), np.array([x1, y1])
        unit = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        if any(abs(float(unit @ u)) > 0.999 and _off_line(a, p, u) < 2.0 for p, u in tried):
            continue  # the same line again (Hough gives a long line in pieces)
        tried.append((a, unit))
        line = _wide_line(pixels, a, b, roi, sides, radius)
        if line is not None and (best is None or line.length_px > best.length_px):
            best = line
    if best is None:
        return None
    # the lamp lights one side of the shaft: for its middle take all of its width
    return _full(_middle(best, _loose(best, thin, ridge, roi, 0.5 * level)), scale)


def _level(ridge: U8, outside: U8) -> float:
    """The ridge level above which an off-table pixel (``outside``) may be the cue's: the
    floor's texture and the sensor's noise set it, four times their median, and at least
    ``0.25 * LOG_UNITS``. That least level wins whenever half the pixels are below a quarter of
    it, as in most frames: then two counts stand in for the histogram."""
    least = 0.25 * LOG_UNITS
    low = math.ceil(least / 4) - 1  # a median up to this gives the least level
    off = cv2.countNonZero(outside)
    if off:
        _, high = cv2.threshold(ridge, low, 255, cv2.THRESH_BINARY)
        if off - cv2.countNonZero(cv2.bitwise_and(high, outside)) >= 0.5 * off:
            return least
    counts = cv2.calcHist([ridge], [0], outside, [256], [0, 256]).ravel()
    if counts.sum() == 0:
        counts = np.ones(256)
    median = int(np.searchsorted(np.cumsum(counts), 0.5 * counts.sum()))
    return max(least, 4.0 * median)


@numba.njit(cache=True, nogil=True)
def _brightest_byte(image: U8) -> U8:
    """The brightest channel of each pixel of a BGR ``image`` (compiled: a loop the compiler
    vectorises took a tenth of the time of splitting the channels and two ``cv2.max``; a
    lookup in the same loop is not vectorised and took twice as long as ``cv2.LUT`` after)."""
    height, width = image.shape[:2]
    rows, out = image.reshape(height, 3 * width), np.empty((height, width), np.uint8)
    for y in range(height):
        row, brightest = rows[y], out[y]
        for x in range(width):
            blue, green, red = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            most = blue if blue > green else green
            brightest[x] = most if most > red else red
    return out


@functools.lru_cache(maxsize=8)
def _elliptic(size: int) -> tuple[U8, U8]:
    """The elliptic kernel ``size`` px across and the largest square inside it (both odd and
    centred)."""
    kernel = np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)
    c = k = size // 2
    while k > 0 and not kernel[c - k : c + k + 1, c - k : c + k + 1].all():
        k -= 1
    return kernel, np.ones((2 * k + 1, 2 * k + 1), np.uint8)


def thinner(mask: U8, size: int) -> U8:
    """What of a binary ``mask`` (0 and 255) is thinner than a disc ``size`` (odd) px across:
    the mask less its opening by the elliptic kernel, as ``cv2.subtract(mask,
    cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel))`` gives it, pixel for pixel. The erosion
    by the kernel lies within the erosion by the square inside it (a fifth of the cost), which
    is empty in most masks (then so is the opening, and the mask itself is returned) and a few
    dozen pixels in the rest, spread over most of the frame: the kernel is tried at those only
    (:func:`_opened_away`), where opening the box around them took a whole frame's work."""
    _, square = _elliptic(size)
    core = cv2.erode(mask, square)
    if cv2.countNonZero(core) == 0:
        return mask
    points = np.asarray(cv2.findNonZero(core), np.int32).reshape(-1, 2)
    return _opened_away(np.ascontiguousarray(mask), points, symmetry.kernel_offsets(size))


@numba.njit(cache=True, nogil=True)
def _opened_away(mask: U8, points: NDArray[np.int32], offsets: NDArray[np.intp]) -> U8:
    """A copy of a binary ``mask`` without its opening by the kernel at ``offsets`` (dy, dx,
    symmetric about its centre), whose erosion can be set only at ``points`` (x, y): at each
    point where the kernel lies on set pixels (pixels past the border count as set, as in
    OpenCV's erosion), the pixels it covers are cleared (those past the border ignored, as in
    its dilation). Compiled: a few dozen points, each looked around."""
    h, w = mask.shape
    out = mask.copy()
    for i in range(len(points)):
        x, y = points[i, 0], points[i, 1]
        whole = True
        for k in range(len(offsets)):
            yy, xx = y + offsets[k, 0], x + offsets[k, 1]
            if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] == 0:
                whole = False
                break
        if whole:
            for k in range(len(offsets)):
                yy, xx = y + offsets[k, 0], x + offsets[k, 1]
                if 0 <= yy < h and 0 <= xx < w:
                    out[yy, xx] = 0
    return out


def _loose(line: CueLine, thin: U8, ridge: U8, roi: U8, level: float) -> F64:
    """The pixels within 3 px of a working-resolution line: ``thin`` on the table (``roi``),
    ``ridge`` above ``level`` off it (only the line's bounding box is looked at)."""
    back = line.tip - line.length_px * line.direction
    h, w = roi.shape
    x0 = min(max(math.floor(min(line.tip[0], back[0])) - 5, 0), w)
    y0 = min(max(math.floor(min(line.tip[1], back[1])) - 5, 0), h)
    x1 = max(min(math.ceil(max(line.tip[0], back[0])) + 6, w), x0)
    y1 = max(min(math.ceil(max(line.tip[1], back[1])) + 6, h), y0)
    corner = np.array([x0, y0], np.float64)
    near = np.zeros((y1 - y0, x1 - x0), np.uint8)
    (ax, ay), (bx, by) = _point(line.tip), _point(back)
    cv2.line(near, (ax - x0, ay - y0), (bx - x0, by - y0), 255, 7)
    box = (slice(y0, y1), slice(x0, x1))
    loose = np.where(roi[box] == 0, ridge[box] > level, thin[box] > 0) & (near > 0)
    return _pixels(loose.astype(np.uint8)) + corner


def _point(p: F64) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def _pixels(mask: U8) -> F64:
    """(x, y) of a mask's non-zero pixels."""
    if cv2.countNonZero(mask) == 0:
        return np.zeros((0, 2), np.float64)
    return np.asarray(cv2.findNonZero(mask).reshape(-1, 2), np.float64)


def _wide_line(pixels: F64, a: F64, b: F64, roi: U8, sides: F64, radius: float) -> CueLine | None:
    keep, centre, direction = _band_fit(pixels, a, b, 1.5 * radius)
    if not keep.any():
        return None
    on = pixels[keep]
    lo, hi, filled, span, width = _shape(on, centre, direction, roi)
    # a cue is a solid line, not collinear specks; and most of it lies off the table
    if hi - lo < 6 * radius or filled < 0.7 or span < 4 * radius:
        return None
    # the bridge hand on the rail may hide where the cue enters the table: look ahead a little
    ahead = np.arange(0.0, 10 * radius, 1.0)
    inside = [
        _any_inside(centre + (lo - ahead)[:, None] * direction, roi),
        _any_inside(centre + (hi + ahead)[:, None] * direction, roi),
    ]
    if inside[0] == inside[1] or _along_sides(centre[None], direction[None], sides, radius)[0]:
        return None
    tip_hi = inside[1]
    tip = centre + (hi if tip_hi else lo) * direction
    pointing = direction if tip_hi else -direction
    confidence = float(np.clip((hi - lo) / (12 * radius), 0.3, 1.0))
    return CueLine(tip, pointing, hi - lo, width, confidence, on)


def _middle(line: CueLine, pixels: F64, reach: float = 3.0) -> CueLine:
    """The axis through the middle of each cross-section (the first and the last pixel within
    ``reach`` px of the line), not through the pixels' mean, which the lit side pulls over."""
    normal = np.array([-line.direction[1], line.direction[0]])
    along = (pixels - line.tip) @ line.direction
    across = (pixels - line.tip) @ normal
    near = (np.abs(across) <= reach) & (along <= 0.0) & (along >= -line.length_px)
    if near.sum() < 10:
        return line
    positions, middles = _sections(along[near], across[near])
    if len(middles) < 10:
        return line
    # cross-sections that touch something beside the cue (an arm's edge, a rail's) lean off
    good, slope, offset, ok = _robust_fit(positions, middles, 0.75)
    if not ok:
        return line
    positions, middles = positions[good], middles[good]
    direction = line.direction + slope * normal
    direction /= float(np.linalg.norm(direction))
    tip = line.tip + offset * normal
    support = line.tip + positions[:, None] * line.direction + middles[:, None] * normal
    return replace(line, tip=tip, direction=direction, support=support)


@numba.njit(cache=True, nogil=True)
def _sections(along: F64, across: F64) -> tuple[F64, F64]:
    """For each 1 px bin of ``along`` that holds pixels, its middle (``along``) and the middle
    of the pixels' extent across the line: half way between the least and the largest
    ``across``, in the order of ``along``."""
    first = math.floor(along.min())
    bins = math.floor(along.max()) - first + 1
    low = np.full(bins, np.inf)
    high = np.full(bins, -np.inf)
    for i in range(along.shape[0]):
        k = math.floor(along[i]) - first
        low[k] = min(low[k], across[i])
        high[k] = max(high[k], across[i])
    filled = np.isfinite(low)
    positions = np.flatnonzero(filled) + (first + 0.5)
    return positions, 0.5 * (low[filled] + high[filled])


def _off_line(point: F64, origin: F64, unit: F64) -> float:
    """Distance of ``point`` from the line through ``origin`` along ``unit``."""
    offset = point - origin
    return abs(float(offset[0] * unit[1] - offset[1] * unit[0]))


@numba.njit(cache=True, nogil=True)
def _any_inside(points: F64, roi: U8) -> bool:
    """Whether any of the points (N, 2) falls on a set pixel of ``roi`` (compiled: called
    twice for each candidate line)."""
    height, width = roi.shape
    for i in range(points.shape[0]):
        x, y = int(np.rint(points[i, 0])), int(np.rint(points[i, 1]))
        if 0 <= x < width and 0 <= y < height and roi[y, x] > 0:
            return True
    return False


_PARALLEL = math.cos(math.radians(10.0))


@numba.njit(cache=True, nogil=True)
def _along_sides(centres: F64, directions: F64, sides: F64, radius: float) -> NDArray[np.bool_]:
    """Which lines (centres and unit directions, (N, 2) each) run along one of the table's
    sides, near it (a rail's or cushion's edge, not a cue): within 10 degrees of its direction,
    within ``10 * radius`` of it and not beyond the table's corners. Compiled: a dozen numpy
    calls on a few lines and four sides, for each candidate."""
    out = np.zeros(centres.shape[0], np.bool_)
    for s in range(sides.shape[0]):
        vx, vy = sides[s, 2] - sides[s, 0], sides[s, 3] - sides[s, 1]
        length = math.hypot(vx, vy)
        if length <= 1e-9:
            continue
        ux, uy = vx / length, vy / length
        for i in range(centres.shape[0]):
            if abs(directions[i, 0] * ux + directions[i, 1] * uy) < _PARALLEL:
                continue
            ox, oy = centres[i, 0] - sides[s, 0], centres[i, 1] - sides[s, 1]
            along = ox * ux + oy * uy
            if 0.0 <= along <= length and abs(ox * uy - oy * ux) < 10 * radius:
                out[i] = True
    return out


@numba.njit(cache=True, nogil=True)
def _principal(points: F64) -> F64:
    """The unit direction of largest spread of points (N, 2) about the origin (the principal
    axis of their second moments, in closed form: it runs on every candidate line, and a 2 x 2
    ``eigh`` costs more in calling than in computing). Its sign is arbitrary."""
    n = max(points.shape[0], 1)
    a = b = c = 0.0
    for i in range(points.shape[0]):
        x, y = points[i, 0], points[i, 1]
        a += x * x
        b += x * y
        c += y * y
    a, b, c = a / n, b / n, c / n
    top = 0.5 * (a + c) + math.sqrt(0.25 * (a - c) ** 2 + b * b)
    out = np.empty(2, np.float64)
    if a >= c:
        out[0], out[1] = top - c, b
    else:
        out[0], out[1] = b, top - a
    size = math.hypot(out[0], out[1])
    if size == 0.0:
        out[0], out[1] = (1.0, 0.0) if a >= c else (0.0, 1.0)
        return out
    out /= size
    return out


@numba.njit(cache=True, nogil=True)
def _band_fit(pixels: F64, a: F64, b: F64, gap: float) -> tuple[NDArray[np.bool_], F64, F64]:
    """The pixels (N, 2) of a candidate line from ``a`` to ``b``: three times, those within a
    band of it (2, 1.5, 1.5 px) on its longest run with no gap wider than ``gap``
    (:func:`_run`), and the line fitted again through them. Returns which pixels, their centre
    and direction; no pixel where a band or run held fewer than ten. Compiled: it passes over
    every pixel of the mask for each candidate (three dozen numpy calls)."""
    n = pixels.shape[0]
    keep = np.zeros(n, np.bool_)
    centre = 0.5 * (a + b)
    direction = (b - a) / max(math.hypot(b[0] - a[0], b[1] - a[1]), 1e-9)
    along = np.empty(n, np.float64)
    near = np.zeros(n, np.bool_)
    for band in (2.0, 1.5, 1.5):
        count = 0
        for i in range(n):
            dx, dy = pixels[i, 0] - centre[0], pixels[i, 1] - centre[1]
            along[i] = dx * direction[0] + dy * direction[1]
            near[i] = abs(dy * direction[0] - dx * direction[1]) <= band
            count += near[i]
        if count < 10:
            return np.zeros(n, np.bool_), centre, direction
        lo, hi = _run(along[near], gap)
        count = 0
        sx = sy = 0.0
        for i in range(n):
            keep[i] = near[i] and lo <= along[i] <= hi
            if keep[i]:
                count += 1
                sx += pixels[i, 0]
                sy += pixels[i, 1]
        if count < 10:
            return np.zeros(n, np.bool_), centre, direction
        centre = np.array([sx / count, sy / count])
        on = pixels[keep] - centre
        direction = _principal(on)
    return keep, centre, direction


@numba.njit(cache=True, nogil=True)
def _shape(
    on: F64, centre: F64, direction: F64, roi: U8
) -> tuple[float, float, float, float, float]:
    """Of a candidate line's pixels ``on`` (N, 2; centre and unit direction fitted): the least
    and largest position along it, the share of its 1 px steps along that hold a pixel, the
    extent along it of those off the table (``roi`` 0; 0 for fewer than two) and its width
    (4 standard deviations across). Compiled: a dozen numpy calls on a few hundred pixels."""
    n = on.shape[0]
    along = np.empty(n, np.float64)
    sum_across = sum_across2 = 0.0
    lo, hi = np.inf, -np.inf
    off_lo, off_hi, off = np.inf, -np.inf, 0
    for i in range(n):
        dx, dy = on[i, 0] - centre[0], on[i, 1] - centre[1]
        a = dx * direction[0] + dy * direction[1]
        across = dy * direction[0] - dx * direction[1]
        along[i] = a
        lo, hi = min(lo, a), max(hi, a)
        sum_across += across
        sum_across2 += across * across
        if roi[int(np.rint(on[i, 1])), int(np.rint(on[i, 0]))] == 0:
            off += 1
            off_lo, off_hi = min(off_lo, a), max(off_hi, a)
    first = math.floor(lo)
    steps = np.zeros(math.floor(hi) - first + 1, np.bool_)
    for i in range(n):
        steps[math.floor(along[i]) - first] = True
    filled = steps.sum() / (hi - lo + 1)
    span = off_hi - off_lo if off > 1 else 0.0
    mean = sum_across / n
    width = 4.0 * math.sqrt(max(sum_across2 / n - mean * mean, 0.0))
    return lo, hi, filled, span, width


@numba.njit(cache=True, nogil=True)
def _robust_fit(
    x: F64, y: F64, tolerance: float, least: int = 10
) -> tuple[NDArray[np.bool_], float, float, bool]:
    """A straight line ``y = offset + slope * x`` fitted by least squares three times, each
    time to the points within ``tolerance`` of the previous fit (the first to all), and once
    more to those kept. Returns which were kept, slope, offset and whether every fit had at
    least ``least`` points. Compiled: four ``np.polyfit`` calls cost more than the points."""
    n = x.shape[0]
    keep = np.ones(n, np.bool_)
    slope = offset = 0.0
    for fit in range(4):
        count = 0
        mx = my = 0.0
        for i in range(n):
            if keep[i]:
                count += 1
                mx += x[i]
                my += y[i]
        if count < least:
            return keep, slope, offset, False
        mx, my = mx / count, my / count
        sxx = sxy = 0.0
        for i in range(n):
            if keep[i]:
                sxx += (x[i] - mx) ** 2
                sxy += (x[i] - mx) * (y[i] - my)
        slope = sxy / sxx if sxx > 0.0 else 0.0
        offset = my - slope * mx
        if fit == 3:
            break
        for i in range(n):
            keep[i] = abs(y[i] - (offset + slope * x[i])) <= tolerance
    return keep, slope, offset, True


@numba.njit(cache=True, nogil=True)
def _run(along: F64, gap: float = 3.0) -> tuple[float, float]:
    """The longest stretch of projections with no gap wider than ``gap`` px (the first of the
    longest). Compiled: it runs a few times on each candidate line, on a few hundred pixels."""
    values = np.sort(along)
    start, lo, hi = 0, values[0], values[0]
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] - values[i - 1] > gap:
            if values[i - 1] - values[start] > hi - lo:
                lo, hi = values[start], values[i - 1]
            start = i
    return lo, hi


def _tip_is_hi(ends: list[F64], along: F64, across: F64, lo: float, hi: float, edge: U8) -> bool:
    """Whether the tip is the ``hi`` end: the other end touches the table's edge, else the
    thinner end is the tip."""
    touches = [_near_edge(e, edge) for e in ends]
    if touches[0] != touches[1]:
        return touches[0]
    span = (hi - lo) * 0.25
    lo_w = np.std(across[along < lo + span]) if (along < lo + span).sum() > 3 else math.inf
    hi_w = np.std(across[along > hi - span]) if (along > hi - span).sum() > 3 else math.inf
    return bool(hi_w < lo_w)


def _near_edge(point: F64, edge: U8) -> bool:
    x, y = round(point[0]), round(point[1])
    if not (0 <= y < edge.shape[0] and 0 <= x < edge.shape[1]):
        return True
    return bool(edge[y, x] > 0)


def refine_tip(
    image: U8, line: CueLine, felt_bgr: F64, balls: Sequence[Any], reach: float = 0.0
) -> CueLine:
    """Find the tip at full resolution: walk the axis from behind the coarse tip, forwards,
    while the pixels on it are unlike the felt (a ball it touches stops the walk). It goes at most
    ``reach`` px (or 30 % of the line's length) past the coarse tip: a cue seen mostly off the
    table ends its coarse line at the rail, with the bridge hand and the shaft ahead of it, and
    one found on the felt may end it at the bridge hand.

    A point of the axis is on the cue where the colour of two neighbouring samples across it,
    over 1 px along it, is unlike the felt, and the walk crosses only stretches ``RUN_PX``
    long: the tip is 3-4 px wide. Single samples on a noisy cloth were unlike the felt every few
    pixels, and walked the tip on over bare cloth (30 px in scene 1007, into the next ball)."""
    step = 0.5
    ts = np.arange(-0.15 * line.length_px, max(0.3 * line.length_px, reach) + 12, step)
    normal = np.array([-line.direction[1], line.direction[0]])
    points = line.tip[None, :] + ts[:, None] * line.direction[None, :]
    offsets = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    xs = points[:, 0, None] + offsets[None, :] * normal[0]
    ys = points[:, 1, None] + offsets[None, :] * normal[1]
    felt = np.log(np.asarray(felt_bgr, np.float32) + np.float32(6.0))
    on = _unlike(_log_samples(image, xs, ys), felt, UNLIKE_FELT)
    if len(balls):
        centres = np.array([[ball.x, ball.y] for ball in balls], np.float64)
        radii = np.array([ball.r for ball in balls], np.float64)
        # only the balls near the walk's segment can stop it
        near = _segment_distance(centres, points[0], points[-1]) <= radii + 1.001
        centres, radii = centres[near], radii[near]
        apart = np.hypot(
            points[:, 0, None] - centres[None, :, 0], points[:, 1, None] - centres[None, :, 1]
        )
        on &= ~np.any(apart < radii[None, :] + 1.0, axis=1)
    on = _runs(on, int(RUN_PX / step))
    start = int(np.argmin(np.abs(ts + 0.1 * line.length_px)))
    if not on[start]:
        return line
    end = start + _last_before_gap(on[start:], int(3.0 / step) + 1)
    tip = points[end] + 0.25 * line.direction
    grown = line.length_px + float(ts[end])
    return replace(line, tip=tip, length_px=grown)


@numba.njit(cache=True, nogil=True)
def _unlike(
    logs: NDArray[np.float32], felt: NDArray[np.float32], level: float
) -> NDArray[np.bool_]:
    """Which rows of samples across the axis (log BGR, (N, K, 3)) hold a pair of neighbours
    unlike the ``felt`` (its log BGR): their mean, and the rows' either side, less the felt's,
    spread over the channels (or far from it in all) by more than ``level``. Compiled: a
    dozen passes of numpy over a few thousand samples. 32-bit, as those passes were."""
    rows, size = logs.shape[0], logs.shape[1]
    pairs = np.empty((rows, size - 1, 3), np.float32)
    half, third = np.float32(0.5), np.float32(1.0 / 3.0)
    for i in range(rows):
        for k in range(size - 1):
            for c in range(3):
                pairs[i, k, c] = (logs[i, k, c] - felt[c] + logs[i, k + 1, c] - felt[c]) * half
    on = np.zeros(rows, np.bool_)
    bias, least = np.float32(0.45), np.float32(level)
    for i in range(rows):
        for k in range(size - 1):
            if 0 < i < rows - 1:
                b = (pairs[i - 1, k, 0] + pairs[i, k, 0] + pairs[i + 1, k, 0]) * third
                g = (pairs[i - 1, k, 1] + pairs[i, k, 1] + pairs[i + 1, k, 1]) * third
                r = (pairs[i - 1, k, 2] + pairs[i, k, 2] + pairs[i + 1, k, 2]) * third
            else:
                b, g, r = pairs[i, k, 0], pairs[i, k, 1], pairs[i, k, 2]
            spread = max(max(b, g), r) - min(min(b, g), r)
            if spread + max(abs((b + g + r) * third) - bias, np.float32(0.0)) > least:
                on[i] = True
                break
    return on


def _segment_distance(points: F64, a: F64, b: F64) -> F64:
    """Distance of each point (N, 2) from the segment a-b."""
    span = b - a
    length2 = float(span @ span)
    t = np.clip((points - a) @ span / max(length2, 1e-12), 0.0, 1.0)
    closest = a[None, :] + t[:, None] * span[None, :]
    return np.asarray(np.hypot(*(points - closest).T), np.float64)


def _runs(on: NDArray[np.bool_], least: int) -> NDArray[np.bool_]:
    """``on`` without its runs of fewer than ``least`` set entries."""
    if len(on) < least:
        return np.zeros_like(on)
    whole = np.convolve(on.astype(np.int32), np.ones(least, np.int32), mode="valid") == least
    out = np.zeros_like(on)
    for shift in range(least):
        out[shift : shift + len(whole)] |= whole
    return out


def _last_before_gap(on: NDArray[np.bool_], gap: int) -> int:
    """Index of the last set entry of ``on`` (whose first is set) before the first run of
    ``gap`` unset ones: where a walk along it stops."""
    off = ~on
    if len(off) > gap:
        runs = np.convolve(off.astype(np.int32), np.ones(gap, np.int32), mode="valid")
        full = np.flatnonzero(runs[1:] == gap)  # a run starting after the first entry
        if len(full):
            on = on[: int(full[0]) + 1]
    return int(np.flatnonzero(on)[-1])


def _brightest(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """The largest of the last axis's three channels (numpy reduces a short last axis
    slowly)."""
    return np.asarray(
        np.maximum(np.maximum(values[..., 0], values[..., 1]), values[..., 2]), np.float32
    )


def _log_samples(image: U8, xs: F64, ys: F64) -> NDArray[np.float32]:
    """log(BGR + 6) of bilinear samples of a BGR image at (xs, ys) (2-D arrays)."""
    samples = edge.sample_u8(image, xs, ys)
    return np.asarray(cv2.LUT(samples, LOG_LUT), np.float32)


def profile_axis(image: U8, line: CueLine, radius: float, step: float = 2.0) -> CueLine:
    """The cue's middle at full resolution: every ``step`` px from the tip back along the line,
    a profile across it (a ball's ``radius`` px either side) is compared with its own two ends
    (the background either side: felt, rail or floor); the middle between the edges of what
    stands out from both is a point of the axis (:func:`_middles`; a centroid would lean to the
    lit side). Profiles where nothing narrow stands out are skipped, and points off the robust
    line dropped. The points become ``support`` (for :func:`straighten`)."""
    ts = np.arange(0.0, line.length_px, step)
    offsets = np.arange(-radius, radius + 0.25, 0.5)
    if len(ts) < 10:
        return line
    normal = np.array([-line.direction[1], line.direction[0]])
    centres = line.tip[None, :] - ts[:, None] * line.direction[None, :]
    xs = centres[:, 0, None] + offsets[None, :] * normal[0]
    ys = centres[:, 1, None] + offsets[None, :] * normal[1]
    logs = _log_samples(image, xs, ys)
    middle, good = _middles(logs, radius)
    if good.sum() < 10:
        return line
    middle = offsets[0] + 0.5 * middle[good]
    along = ts[good]
    keep, _, _, ok = _robust_fit(along, middle, 1.0)
    if not ok:
        return line
    support = centres[good][keep] + middle[keep, None] * normal[None, :]
    return replace(line, support=support)


def _middles(logs: NDArray[np.float32], radius: float) -> tuple[F64, NDArray[np.bool_]]:
    """Where the cue's middle is in each profile (rows of log BGR samples 0.5 px apart): half
    way between its two edges, each where how much brighter it is than both ends of the profile
    (the background either side), in its brightest channel, crosses half of its peak. Brighter
    only: the shaft's shadow beside it would widen it to one side. Returns positions in samples
    and which profiles showed one narrow thing clearly."""
    left = np.asarray(logs[:, :3].mean(axis=1), np.float32)
    right = np.asarray(logs[:, -3:].mean(axis=1), np.float32)
    return _edges(np.ascontiguousarray(logs), left, right, float(radius))


@numba.njit(cache=True, nogil=True)
def _edges(
    logs: NDArray[np.float32], left: NDArray[np.float32], right: NDArray[np.float32], radius: float
) -> tuple[F64, NDArray[np.bool_]]:
    """:func:`_middles` for profiles whose ends' means are ``left`` and ``right``, profile by
    profile. Compiled: numpy's passes over the whole (profiles, samples, 3) array cost four
    times as much. The same numbers as those passes: 32-bit differences, maxima and halves,
    the first of equal peaks, 32-bit constants, 64-bit positions."""
    rows, size = logs.shape[0], logs.shape[1]
    middle = np.empty(rows, np.float64)
    good = np.zeros(rows, np.bool_)
    signal = np.empty(size, np.float32)
    least, tiny, halve = np.float32(0.2), np.float32(1e-6), np.float32(0.5)
    for r in range(rows):
        for k in range(size):
            a = max(
                max(logs[r, k, 0] - left[r, 0], logs[r, k, 1] - left[r, 1]),
                logs[r, k, 2] - left[r, 2],
            )
            b = max(
                max(logs[r, k, 0] - right[r, 0], logs[r, k, 1] - right[r, 1]),
                logs[r, k, 2] - right[r, 2],
            )
            signal[k] = min(a, b)
        top = 0
        for k in range(1, size):
            if signal[k] > signal[top]:
                top = k
        peak = signal[top]
        half = halve * peak
        lo = -1  # the last sample below half before the peak
        for k in range(top):
            if signal[k] < half:
                lo = k
        hi = size  # the first after it
        for k in range(size - 1, top, -1):
            if signal[k] < half:
                hi = k
        clear = peak > least and lo >= 0 and hi < size
        lo = min(max(lo, 0), size - 2)
        hi = min(max(hi, 1), size - 1)
        rise = signal[lo + 1] - signal[lo]
        fall = signal[hi - 1] - signal[hi]
        start = np.float64(lo) + np.float64((half - signal[lo]) / max(rise, tiny))
        stop = np.float64(hi - 1) + np.float64((signal[hi - 1] - half) / max(fall, tiny))
        good[r] = clear and (stop - start) * 0.5 <= 1.2 * radius
        middle[r] = 0.5 * (start + stop)
    return middle, good


def straighten(line: CueLine, intrinsics: Intrinsics) -> CueLine:
    """The axis fitted again in undistorted pixels, where the cue's image is straight (a
    long cue near the frame's edge bends by a few pixels). The tip stays where it was, moved
    onto that axis; ``direction`` becomes the bent image's tangent at the tip and ``back`` a
    point of the axis behind it, for :func:`table_pose`."""
    if line.support is None or len(line.support) < 10:
        return line
    both = intrinsics.undistort(np.vstack([line.support, line.tip[None]]))  # point by point
    flat, tip = both[:-1], both[-1]
    centre = flat.mean(axis=0)
    direction = _principal(flat - centre)
    if direction @ line.direction < 0:
        direction = -direction
    tip = centre + float((tip - centre) @ direction) * direction
    span = max(line.length_px * 0.8, 20.0)
    bent = intrinsics.distort(np.vstack([tip, tip - 4.0 * direction, tip - span * direction]))
    tangent = bent[0] - bent[1]
    tangent /= max(float(np.linalg.norm(tangent)), 1e-9)
    return replace(line, tip=bent[0], direction=tangent, back=bent[2])


class Placed(NamedTuple):
    """Where :func:`table_pose` puts the cue on the table."""

    tip: F64  # table x, y at ball-centre height
    direction: float  # degrees, the way the tip points
    seen: float  # m of the cue seen
    measure: tuple[float, float] | None  # the joint's elevation and degrees per px, this frame


def table_pose(
    line: CueLine,
    calibration: TableCalibration,
    elevation_deg: float,
    obstacles: F64 | None = None,
    joint_m: float = joint.JOINT,
    earlier: Sequence[tuple[float, float]] = (),
) -> Placed:
    """The cue on the table, its butt raised by the elevation most likely (:func:`joint.estimate`).

    A player holds it about ``elevation_deg`` up, or just enough to clear the cushion and the
    balls lying behind the tip (``obstacles``: table x, y of the balls), whichever is more
    (:func:`clearing_elevation`, for a tip striking up to ``joint.TIP_HEIGHT`` radii above or
    below the ball's centre). Where the shaft's joint was seen (``line.joint``), ``joint_m``
    from the tip, the elevation it gives is weighed in with those measured ``earlier`` in the
    same stroke (:mod:`joint`)."""
    tip_z = calibration.spec.ball_radius
    back_px = _back_px(line)
    seen_px = [line.tip, back_px] if line.joint is None else [line.tip, back_px, *line.joint]
    origin, rays = calibration.rays(np.vstack(seen_px))
    tip = origin + rays[0] * (tip_z - origin[2]) / rays[0][2]
    # a first elevation, clearing what lies behind at the ball's centre height, for the cue's
    # heading on the table: what lies behind and the ball it strikes depend on it
    elevation = elevation_deg
    back = _raised(origin, rays[1], tip, elevation)
    for _ in range(4):
        unit = _heading(tip, back)
        need = max(elevation_deg, clearing_elevation(tip, unit, calibration.spec, obstacles))
        if abs(need - elevation) < 0.01:
            break
        elevation = need
        back = _raised(origin, rays[1], tip, elevation)
    unit = _heading(tip, back)
    clears = tuple(
        clearing_elevation(tip, unit, calibration.spec, obstacles, strike)
        for strike in (joint.TIP_HEIGHT, -joint.TIP_HEIGHT)
    )
    found = None
    if line.joint is not None:
        face = _face(tip, back, tip_z, obstacles)
        anchor = tip if face is None else np.array([face[0], face[1], tip_z])
        found = joint.measured(origin, rays, anchor, elevation, joint_m)
    measures = [*earlier] if found is None else [*earlier, found]
    likely = joint.estimate(elevation_deg, (clears[0], clears[1]), measures)
    if likely != elevation:
        back = _raised(origin, rays[1], tip, likely)
    delta = tip[:2] - back[:2]
    direction = math.degrees(math.atan2(delta[1], delta[0]))
    seen = float(np.linalg.norm(tip - back)) / 0.8
    return Placed(tip[:2], direction, seen, found)


def plane_of(line: CueLine, calibration: TableCalibration) -> F64:
    """Unit normal of the plane through the camera and the cue's axis: the same while the cue
    slides along it through a stroke."""
    _, rays = calibration.rays(np.vstack([line.tip, _back_px(line)]))
    normal = np.cross(rays[0], rays[1])
    return np.asarray(normal / max(float(np.linalg.norm(normal)), 1e-12), np.float64)


def _back_px(line: CueLine) -> F64:
    """A point (image px) of the cue's axis behind the tip."""
    if line.back is not None:
        # the tip moved along the tangent since ``back`` was taken: keep the bent axis's point
        return np.asarray(line.back, np.float64)
    return np.asarray(line.tip - line.direction * max(line.length_px * 0.8, 20.0), np.float64)


def _heading(tip: F64, back: F64) -> F64:
    """Unit table x, y from ``back`` towards ``tip``."""
    delta = tip[:2] - back[:2]
    return np.asarray(delta / max(float(np.linalg.norm(delta)), 1e-9), np.float64)


def _face(tip: F64, back: F64, radius: float, obstacles: F64 | None) -> F64 | None:
    """Table x, y where the cue from ``back`` to ``tip`` meets the ball it strikes (of
    ``obstacles``), or None when none is ahead."""
    if obstacles is None or len(obstacles) == 0:
        return None
    unit = _heading(tip, back)
    balls = np.asarray(obstacles, np.float64).reshape(-1, 2)
    hit = struck(np.ascontiguousarray(tip[:2]), unit, balls, radius)
    return None if hit < 0 else np.asarray(balls[hit] - radius * unit, np.float64)


def _raised(origin: F64, ray: F64, tip: F64, elevation_deg: float) -> F64:
    """The point of ``ray`` on the cue's axis through ``tip`` raised by ``elevation_deg``
    (in Python floats: eight steps of numpy calls on three numbers cost more)."""
    slope = math.tan(math.radians(elevation_deg))
    (ox, oy, oz), (rx, ry, rz), (tx, ty, tz) = origin.tolist(), ray.tolist(), tip.tolist()
    scale = (tz - oz) / rz
    for _ in range(8):
        height = tz + slope * math.hypot(ox + rx * scale - tx, oy + ry * scale - ty)
        scale = (height - oz) / rz
    return np.array([ox + rx * scale, oy + ry * scale, oz + rz * scale])


def clearing_elevation(
    tip: F64, unit: F64, spec: TableSpec, obstacles: F64 | None, strike: float = 0.0
) -> float:
    """The least elevation (degrees) at which a cue with its tip at ``tip`` (table x, y),
    pointing along ``unit`` (table x, y), passes ``CLEARANCE`` above the cushions (at the rail's
    height from the cushion noses outwards) and the balls (``obstacles``, table x, y) behind
    where it strikes.

    The axis is at ball-centre height, or ``strike`` radii above it, where it meets the ball it
    strikes, the first ball ahead of the tip on its line (while the player strokes, the tip is
    drawn back and up along the axis), or at the tip when no ball is ahead (it has just
    struck)."""
    balls = np.zeros((0, 2)) if obstacles is None else np.asarray(obstacles, np.float64)
    tip = np.asarray(tip[:2], np.float64)
    half = (spec.length / 2, spec.width / 2)
    height = spec.ball_radius * (1.0 + strike)
    need = _clearing(tip, np.asarray(unit, np.float64), balls.reshape(-1, 2), spec.ball_radius,
                     half, spec.rail_z, height)  # fmt: skip
    return min(math.degrees(need), MAX_ELEVATION)


@numba.njit(cache=True, nogil=True)
def _clearing(
    tip: F64,
    unit: F64,
    balls: F64,
    radius: float,
    half: tuple[float, float],
    rail_z: float,
    height: float,
) -> float:
    """:func:`clearing_elevation` in radians, uncapped, the axis at ``height`` where it meets
    the ball (compiled: two dozen numpy calls on a few balls, up to five times a frame)."""
    anchor_x, anchor_y = tip[0], tip[1]
    first = struck(tip, unit, balls, radius)
    if first >= 0:  # the ball is found better than the axis
        anchor_x = balls[first, 0] - radius * unit[0]
        anchor_y = balls[first, 1] - radius * unit[1]
    back_x, back_y = -unit[0], -unit[1]
    need = 0.0
    if abs(anchor_x) < half[0] and abs(anchor_y) < half[1]:
        run = np.inf
        if abs(back_x) > 1e-9:
            run = min(run, (math.copysign(half[0], back_x) - anchor_x) / back_x)
        if abs(back_y) > 1e-9:
            run = min(run, (math.copysign(half[1], back_y) - anchor_y) / back_y)
        need = math.atan2(rail_z + CLEARANCE - height, max(run, radius))
    for i in range(balls.shape[0]):
        if i == first:
            continue
        dx, dy = balls[i, 0] - anchor_x, balls[i, 1] - anchor_y
        along = dx * back_x + dy * back_y
        across = abs(dx * back_y - dy * back_x)
        if radius < along < CUE_LENGTH and across < radius + SHAFT_RADIUS:
            need = max(need, math.atan2(2.0 * radius + CLEARANCE - height, along))
    return need


@numba.njit(cache=True, nogil=True)
def struck(tip: F64, unit: F64, balls: F64, radius: float) -> int:
    """Index of the ball a cue with its tip at ``tip`` (table x, y) pointing along ``unit``
    strikes: the first of ``balls`` (table x, y) ahead of the tip on its line, up to ``REACH``
    away; -1 for none (it has just struck)."""
    first, nearest = -1, np.inf
    for i in range(balls.shape[0]):
        dx, dy = balls[i, 0] - tip[0], balls[i, 1] - tip[1]
        ahead = dx * unit[0] + dy * unit[1]
        across = abs(dx * unit[1] - dy * unit[0])
        if -radius < ahead < REACH and across < radius and ahead < nearest:
            first, nearest = i, ahead
    return first
