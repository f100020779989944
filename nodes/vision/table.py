"""Finding the table in a frame from its felt: colour, outer edge, four sub-pixel corners.

1. The felt's colour is the median of the image centre; felt pixels are close to it in Lab
   (lightness counts less, so lamp hot-spots and vignetting stay felt).
2. The largest felt region, holes filled, gives a rough quadrilateral (its hull's corners).
3. Along each side, profiles across the edge locate where the cloth meets the wooden rail to a
   fraction of a pixel; pockets (corners and the middle of the long sides) are skipped and balls
   on the rail are dropped as outliers by a robust line fit in undistorted pixels. The last
   pass finds the half mix of felt and wood in linear light from the colour (projected on the
   line from the felt's colour to the wood's, so that noise does not move it), or from the luma
   alone where the frame's chroma was subsampled (JPEG, YUV video).
4. The four lines meet at the corners of the felt's outer edge (``TableSpec.felt_edge``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from nodes.vision import edge
from nodes.vision.calibration import (
    Intrinsics,
    TableCalibration,
    TableSpec,
    from_edge,
    order_corners,
    pose_from_edge,
)

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

WORK_WIDTH = 640
# parts of each side used for the edge (fractions from corner to corner): pockets are skipped
LONG_SPANS = ((0.08, 0.43), (0.57, 0.92))
SHORT_SPANS = ((0.14, 0.86),)
ALONG = 5  # parallel profiles (1 px apart along the side) averaged into each edge point
LUMA_SNR = 7.0  # a side's luma step under this many times its noise is not read


@dataclass(frozen=True, slots=True)
class FeltEdge:
    """The felt's outer edge: corners in undistorted pixels (message order), fit quality, and
    the edge points each side's line was fitted to (side i runs from corner i to i + 1)."""

    corners_px: F64
    rms_px: float
    support: float
    felt_bgr: tuple[float, float, float]
    sides: tuple[F64, ...] = ()


def felt_colour(image: U8) -> F64:
    """Median BGR of the central part of the frame (mostly cloth)."""
    h, w = image.shape[:2]
    centre = image[int(h * 0.3) : int(h * 0.7), int(w * 0.3) : int(w * 0.7)]
    return np.asarray(np.median(centre.reshape(-1, 3), axis=0), dtype=np.float64)


def felt_distance(image: U8, felt_bgr: F64) -> F32:
    """How unlike the felt each pixel is: the spread of log(pixel / felt) over the channels
    (chroma: lighting-blind) plus a sixth of its mean (brightness counts a little)."""
    logs = np.log(image.astype(np.float32) + 6.0) - np.log(felt_bgr.astype(np.float32) + 6.0)
    spread = logs.max(axis=2) - logs.min(axis=2)
    return np.asarray(spread + np.abs(logs.mean(axis=2)) / 6, dtype=np.float32)


def felt_mask(image: U8, felt_bgr: F64) -> U8:
    """255 where a pixel looks like the felt: its distance is within a few times what the
    felt itself shows in the middle of the frame."""
    dist = felt_distance(image, felt_bgr)
    h, w = dist.shape
    centre = dist[int(h * 0.3) : int(h * 0.7), int(w * 0.3) : int(w * 0.7)]
    threshold = float(np.clip(2.5 * np.percentile(centre, 90), 0.35, 0.8))
    mask = np.where(dist < threshold, 255, 0).astype(np.uint8)
    return np.asarray(cv2.medianBlur(mask, 5), dtype=np.uint8)


def rough_quad(image: U8, intrinsics: Intrinsics | None = None) -> tuple[F64, F64] | None:
    """Corners of the felt region (message order) and the felt colour; in undistorted pixels
    when ``intrinsics`` are given (a barrel lens bends the table's straight sides).

    The region's outline is simplified to four corners; then each side is re-fitted through
    the outline points that run along it, so the diagonal cuts of the corner pockets do not
    pull the corners in.
    """
    h, w = image.shape[:2]
    scale = min(1.0, WORK_WIDTH / w)
    size = (round(w * scale), round(h * scale))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    felt = felt_colour(small)
    mask = felt_mask(small, felt)
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(largest)
    x, y, w, h = cv2.boundingRect(largest)
    inside = x > 0 and y > 0 and x + w < mask.shape[1] and y + h < mask.shape[0]
    if not (0.1 * mask.size < area < 0.97 * mask.size) or not inside:
        return None  # no felt, or felt to the frame's edge: no whole table in view
    outline = (largest.reshape(-1, 2).astype(np.float64) + 0.5) / scale - 0.5
    hull = np.asarray(cv2.convexHull(largest), dtype=np.int32)
    corners = (_four_corners(hull) + 0.5) / scale - 0.5
    if intrinsics is not None:
        outline, corners = intrinsics.undistort(outline), intrinsics.undistort(corners)
    quad = _refit_sides(outline, corners)
    if quad is None:
        return None
    return order_corners(quad), felt


def _refit_sides(outline: F64, quad: F64) -> F64 | None:
    """Lines through the outline points parallel and close to each side of ``quad``."""
    step = 4
    tangent = np.roll(outline, -step, axis=0) - np.roll(outline, step, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        d = (b - a) / length
        n = np.array([-d[1], d[0]])
        off = np.abs((outline - a) @ n)
        along = (outline - a) @ d
        near = (off < 0.06 * length + 3) & (along > 0.1 * length) & (along < 0.9 * length)
        near &= np.abs(tangent @ d) > np.cos(np.radians(8))
        fit = edge.fit_line(outline[near])
        if fit is None:
            return None
        lines.append((fit[0], fit[1]))
    corners = [edge.intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    return np.array(corners)


def _four_corners(hull: NDArray[np.int32]) -> F64:
    """The hull simplified to four points (growing the tolerance until it has four)."""
    perimeter = cv2.arcLength(hull, True)
    for frac in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(hull, frac * perimeter, True)
        if len(approx) == 4:
            return np.asarray(approx.reshape(4, 2), dtype=np.float64)
        if len(approx) < 4:
            break
    return np.asarray(cv2.boxPoints(cv2.minAreaRect(hull)), dtype=np.float64)


def find_edge(image: U8, intrinsics: Intrinsics | None = None) -> FeltEdge | None:
    """The felt's outer edge in a BGR frame, or None when no table is in view."""
    rough = rough_quad(image, intrinsics)
    if rough is None:
        return None
    undist, felt = rough
    coarse: tuple[F64, float, float, list[F64]] | None = None
    for window in (16.0, 6.0):
        coarse = _refine(image, None, undist, intrinsics, window * image.shape[1] / 1280)
        if coarse is None:
            return None
        undist = coarse[0]
    assert coarse is not None
    # where the chroma was subsampled (JPEG, YUV video), the fine pass reads luma (see
    # _side_points); per axis, as 4:2:2 halves the chroma along x only
    detail_x, detail_y = edge.chroma_detail(image)
    subsampled = (detail_x < edge.SUBSAMPLED, detail_y < edge.SUBSAMPLED)
    lin, window = edge.linear(image), 4.0 * image.shape[1] / 1280
    fine = _refine(image, lin, undist, intrinsics, window, subsampled)
    # the linear-light pass is exact where the felt and wood contrast; in a dim room it is
    # noisier than the chroma pass, and then the chroma pass stands
    best = fine if fine is not None and fine[1] <= 1.3 * coarse[1] + 0.05 else coarse
    corners, rms, support, sides = best
    if support < 0.5 or rms > 1.5:
        return None  # the outline is not a table's straight felt edge
    felt_tuple = (float(felt[0]), float(felt[1]), float(felt[2]))
    return FeltEdge(corners, rms, support, felt_tuple, tuple(sides))


def _refine(
    image: U8,
    lin: F32 | None,
    corners: F64,
    intrinsics: Intrinsics | None,
    window: float,
    subsampled: tuple[bool, bool] = (False, False),
) -> tuple[F64, float, float, list[F64]] | None:
    """One pass of profile edges and line fits around the quad ``corners`` (undistorted):
    the new corners, the lines' rms, the share of profiles with an edge, each line's points."""
    centre = corners.mean(axis=0)
    lines: list[tuple[F64, F64]] = []
    sides: list[F64] = []
    rms_all, found, tried = [], 0, 0
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        spans = LONG_SPANS if i % 2 == 0 else SHORT_SPANS
        luma = subsampled[0] if abs(b[1] - a[1]) >= abs(b[0] - a[0]) else subsampled[1]
        points, ok = _side_points(image, lin, a, b, centre, spans, intrinsics, window, luma)
        tried += len(ok)
        found += int(ok.sum())
        fit = edge.fit_line(points[ok])
        if fit is None:
            return None
        lines.append((fit[0], fit[1]))
        rms_all.append(fit[2])
        sides.append(edge.inliers(points[ok], fit))
    out = []
    for i in range(4):
        point = edge.intersect(lines[i - 1], lines[i])
        if point is None:
            return None
        out.append(point)
    rms = float(np.sqrt(np.mean(np.square(rms_all))))
    return np.array(out), rms, found / max(tried, 1), sides


def _side_points(
    image: U8,
    lin: F32 | None,
    a: F64,
    b: F64,
    centre: F64,
    spans: tuple[tuple[float, float], ...],
    intrinsics: Intrinsics | None,
    window: float,
    luma: bool = False,
) -> tuple[F64, NDArray[np.bool_]]:
    """Edge points (undistorted px) across the side a-b, from the inside out."""
    length = float(np.linalg.norm(b - a))
    direction = (b - a) / length
    normal = np.array([-direction[1], direction[0]])
    if normal @ (a - centre) < 0:
        normal = -normal
    ts = np.concatenate(
        [np.linspace(s0, s1, max(8, int(length * (s1 - s0) / 6))) for s0, s1 in spans]
    )
    step = 0.5
    offsets = np.arange(-window, window + step / 2, step)
    base = a[None, :] + ts[:, None] * (b - a)[None, :]
    # each profile is the mean of ALONG parallel ones a pixel apart along the side: the edge
    # lies at the same place in each, the sensor's noise does not (a dim room's felt and wood
    # differ by a few levels, and single profiles then scatter by a pixel or two)
    shifts = (np.arange(ALONG) - (ALONG - 1) / 2)[:, None] * direction[None, :]
    grid = (
        base[:, None, None, :]
        + shifts[None, :, None, :]
        + offsets[None, None, :, None] * normal[None, None, None, :]
    )
    flat = grid.reshape(-1, 2)
    pix = intrinsics.distort(flat) if intrinsics is not None else flat
    shape = (len(ts) * ALONG, len(offsets))
    xs = pix[:, 0].reshape(shape).astype(np.float32)
    ys = pix[:, 1].reshape(shape).astype(np.float32)
    inner = max(3, len(offsets) // 5)
    if lin is None:  # coarse: lighting-blind chroma distance
        samples = edge.sample_u8(image, xs, ys).astype(np.float32)
        logs = np.log(_mean_along(samples, len(ts)) + 6.0)
        logs -= np.median(logs[:, :inner], axis=1)[:, None, :]
        dist = logs.max(axis=2) - logs.min(axis=2) + np.abs(logs.mean(axis=2)) / 6
        pos, ok = edge.crossings(dist, inner=inner, min_contrast=0.12)
    else:  # fine: half way in linear light, where the camera mixes felt and wood
        profiles = _mean_along(edge.sample(lin, xs, ys), len(ts))
        level = float(np.median(np.linalg.norm(profiles[:, :inner], axis=2)))
        alpha, contrast = edge.projected_mix(profiles, inner)
        pos, ok = edge.half_mix(alpha, inner)
        ok &= contrast > 0.1 * level + 0.5
        if luma:
            pos, ok = _luma_crossings(image, xs, ys, profiles, inner, pos, ok)
    offset = offsets[0] + pos * step
    points = base + offset[:, None] * normal[None, :]
    return points, ok


def _luma_crossings(
    image: U8, xs: F32, ys: F32, profiles: F32, inner: int, pos: F64, ok: NDArray[np.bool_]
) -> tuple[F64, NDArray[np.bool_]]:
    """The half mix of the felt and the wood read from the luma alone, for frames whose chroma
    was subsampled: JPEG keeps Y' at full resolution but the chroma at half, smeared ~2 px over
    the edge, which moves the colour's half-way point 0.1-0.7 px towards the felt. The two
    colours (linear light, from either end of each profile) say what Y' each mix gives; the Y'
    measured at either end stretches that table to meet it (a few pixels from the edge the
    colours still carry some of the smeared chroma, the luma does not). A side where fewer than
    half the profiles have a usable luma edge keeps ``pos``, and so does one whose luma step is
    under ``LUMA_SNR`` times the luma's noise on the cloth (the median change between
    neighbouring samples of the averaged profiles): a wine cloth on dark wood, whose Y' differ
    by 4 levels in a dim room, was read 0.5 px off from the luma, and its table lay 1.5 mm off
    along its length (the bench's held-out scene 6011; the weakest luma step used elsewhere on
    the bench's 64 scenes is 8 times its noise, and those read right)."""
    count = len(profiles)
    felt = np.repeat(np.median(profiles[:, :inner], axis=1), ALONG, axis=0).astype(np.float64)
    wood = np.repeat(np.median(profiles[:, -inner:], axis=1), ALONG, axis=0).astype(np.float64)
    luma = _mean_along(edge.sample(edge.luma(image), xs, ys)[..., None], count)[..., 0]
    ends = np.column_stack(
        [np.median(luma[:, :inner], axis=1), np.median(luma[:, -inner:], axis=1)]
    )
    alpha, good = edge.mix_from_luma(
        image, xs, ys, felt, wood, np.repeat(ends, ALONG, axis=0).astype(np.float64)
    )
    luma_pos, luma_ok = edge.half_mix(_mean_along(alpha[..., None], count)[..., 0], inner)
    luma_ok &= ok & good.reshape(count, ALONG).all(axis=1)
    noise = float(np.median(np.abs(np.diff(luma[:, :inner], axis=1))))
    if np.median(np.abs(ends[:, 1] - ends[:, 0])) < LUMA_SNR * noise:
        return pos, ok
    return (luma_pos, luma_ok) if luma_ok.mean() >= 0.5 else (pos, ok)


def _mean_along(samples: F32, count: int) -> F32:
    """(count * ALONG, S, C) samples to the (count, S, C) means of each ALONG parallel
    profiles."""
    return np.asarray(samples.reshape(count, ALONG, *samples.shape[1:]).mean(axis=1), np.float32)


def calibrate(
    image: U8,
    spec: TableSpec,
    intrinsics: Intrinsics | None = None,
    *,
    camera_height: float = 2.0,
) -> TableCalibration | None:
    """Auto-calibration from one frame: the felt's edge, then the camera pose (None if no
    table is found), refined on all the edge points when the lens is known
    (:func:`pose_from_sides`). Intrinsics are scaled to the frame if they were measured at
    another size."""
    h, w = image.shape[:2]
    intr = intrinsics.scaled(w, h) if intrinsics is not None else None
    found = find_edge(image, intr)
    if found is None:
        return None
    cal = from_edge(
        found.corners_px, spec, intr, size=(w, h), camera_height=camera_height,
        method="auto", rms_px=found.rms_px,
    )  # fmt: skip
    # without a lens model the sides bow (a barrel pulls their middles in) and a pose fitted
    # to all their points misplaces the corners, where the pockets and the masks' ends are
    return cal if intr is None else pose_from_sides(cal, found.sides)


def pose_from_sides(cal: TableCalibration, sides: tuple[F64, ...]) -> TableCalibration:
    """The camera pose that puts the felt edge's four sides closest to all the edge points
    found along them (undistorted px; side i from corner i to i + 1), from the corners' pose.

    The corners are where the sides' lines, each fitted alone, meet: a line tipped by a local
    error moves its two corners, and the pose from four corners alone takes that in full. Fitted
    to every point at once, the known rectangle holds the four lines together (over the bench's
    scenes, with the true lens: 0.224 -> 0.216 mm mean, 0.79 -> 0.69 mm p95 on the ball plane).
    """
    if len(sides) != 4 or min(len(points) for points in sides) < 5:
        return cal
    start = np.concatenate([cal.rvec, cal.tvec])
    model = (cal.spec.felt_edge, cal.intrinsics.matrix, sides)
    fit = least_squares(_side_offsets, start, method="lm", args=model)
    if not fit.success or not np.all(np.isfinite(fit.x)):
        return cal
    return replace(
        cal, rvec=np.asarray(fit.x[:3], np.float64), tvec=np.asarray(fit.x[3:], np.float64)
    )


def _side_offsets(pose: F64, edge3d: F64, matrix: F64, sides: tuple[F64, ...]) -> F64:
    """How far (px) each side's points lie from that side projected with ``pose`` (rvec,
    tvec): the residuals :func:`pose_from_sides` minimises."""
    ends, _ = cv2.projectPoints(edge3d, pose[:3], pose[3:], matrix, None)
    ends = ends.reshape(4, 2)
    out = []
    for i, points in enumerate(sides):
        along = ends[(i + 1) % 4] - ends[i]
        normal = np.array([-along[1], along[0]]) / max(float(np.hypot(*along)), 1e-9)
        out.append((points - ends[i]) @ normal)
    return np.concatenate(out)


def calibrate_manual(
    corners_px: F64,
    spec: TableSpec,
    size: tuple[int, int],
    intrinsics: Intrinsics | None = None,
    *,
    camera_height: float = 2.0,
) -> TableCalibration:
    """Calibration from the playing surface's four corners clicked in the image (message
    order): the felt edge is not needed, the corners are taken on the cloth (z = 0)."""
    intr = intrinsics.scaled(*size) if intrinsics is not None else None
    undist = intr.undistort(corners_px) if intr is not None else np.asarray(corners_px, float)
    cloth = spec.surface(0.0)
    if intr is None:
        rough = from_edge(undist, _as_edge(spec), None, size=size, camera_height=camera_height)
        intr = rough.intrinsics
    rvec, tvec, rms = pose_from_edge(undist, intr, spec, cloth)
    return TableCalibration(spec, intr, rvec, tvec, "manual", rms, time.time_ns())


def _as_edge(spec: TableSpec) -> TableSpec:
    """A spec whose felt edge is the playing surface on the cloth (for manual corners)."""
    return replace(spec, cushion_width=0.0, rail_z=0.0)
