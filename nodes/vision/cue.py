"""The cue stick: a long, thin blob over the felt; its tip, direction and how much is seen.

In the working-resolution mask of non-felt pixels (balls already removed), a component much
longer than a ball is a cue candidate. A robust line through its pixels (hands and arms are
outliers) gives the axis; the tip is the end of the run of on-axis pixels that lies away from
the table's edge (the butt leaves the table) and, failing that, the thinner end.

Direction in table degrees needs one assumption: a single camera sees the cue's image line,
which fits many (direction, elevation) pairs. The tip is taken at ball-centre height and the
butt raised by ``elevation_deg`` (players hold it 3-10 degrees up); each axis point is placed on
its camera ray at the height that elevation implies, so the direction is the horizontal one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge
from nodes.vision.calibration import TableCalibration
from nodes.vision.detector import components

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

CUE_LENGTH = 1.47  # m, a standard pool cue


@dataclass(frozen=True, slots=True)
class CueLine:
    """The cue in the image (full-res px): tip, unit direction butt -> tip, visible length."""

    tip: F64
    direction: F64
    length_px: float
    width_px: float
    confidence: float


def find_cue(mask: U8, edge: U8, radius: float, scale: float) -> CueLine | None:
    """The cue in a working-resolution mask (``edge``: 255 near the table's border).

    ``radius`` is a ball's radius in working px; ``scale`` maps working px to full-res px.
    """
    _, labels, stats = components(mask)
    best: CueLine | None = None
    # most components are specks: pick the long, big ones in one go
    longest = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    big = (longest >= 7 * radius) & (stats[:, cv2.CC_STAT_AREA] >= 4 * radius * radius)
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
    return CueLine(
        (best.tip + 0.5) * scale - 0.5,
        best.direction,
        best.length_px * scale,
        best.width_px * scale,
        best.confidence,
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
    if width > 1.2 * radius:
        return None
    ends = [centre + lo * direction, centre + hi * direction]
    tip_hi = _tip_is_hi(ends, along, across, lo, hi, edge)
    tip = ends[1] if tip_hi else ends[0]
    pointing = direction if tip_hi else -direction
    confidence = float(np.clip(length / (12 * radius), 0.3, 1.0))
    return CueLine(tip, pointing, float(length), width, confidence)


def _principal(points: F64) -> F64:
    cov = points.T @ points / max(len(points), 1)
    values, vectors = np.linalg.eigh(cov)
    return np.asarray(vectors[:, int(np.argmax(values))], dtype=np.float64)


def _run(along: F64, gap: float = 3.0) -> tuple[float, float]:
    """The longest stretch of projections with no gap wider than ``gap`` px."""
    values = np.sort(along)
    breaks = np.flatnonzero(np.diff(values) > gap)
    starts = np.r_[0, breaks + 1]
    stops = np.r_[breaks, len(values) - 1]
    best = int(np.argmax(values[stops] - values[starts]))
    return float(values[starts[best]]), float(values[stops[best]])


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


def refine_tip(image: U8, line: CueLine, felt_bgr: F64, balls: Sequence[Any]) -> CueLine:
    """Find the tip at full resolution: walk the axis from behind the coarse tip, forwards,
    while the pixels on it are unlike the felt (a ball it touches stops the walk)."""
    step = 0.5
    ts = np.arange(-0.15 * line.length_px, 0.3 * line.length_px + 12, step)
    normal = np.array([-line.direction[1], line.direction[0]])
    points = line.tip[None, :] + ts[:, None] * line.direction[None, :]
    offsets = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    xs = points[:, 0, None] + offsets[None, :] * normal[0]
    ys = points[:, 1, None] + offsets[None, :] * normal[1]
    pixels = edge.sample_u8(image, xs, ys).astype(np.float32)
    logs = np.log(pixels + 6.0) - np.log(np.asarray(felt_bgr, np.float32) + 6.0)
    score = logs.max(axis=2) - logs.min(axis=2) + np.maximum(np.abs(logs.mean(axis=2)) - 0.45, 0)
    on = score.max(axis=1) > 0.32
    for ball in balls:
        inside = np.hypot(points[:, 0] - ball.x, points[:, 1] - ball.y) < ball.r + 1.0
        on &= ~inside
    start = int(np.argmin(np.abs(ts + 0.1 * line.length_px)))
    if not on[start]:
        return line
    end = start
    gap = 0
    for k in range(start + 1, len(ts)):
        if on[k]:
            end, gap = k, 0
        else:
            gap += 1
            if gap * step > 3.0:
                break
    tip = points[end] + 0.25 * line.direction
    grown = line.length_px + float(ts[end])
    return CueLine(tip, line.direction, grown, line.width_px, line.confidence)


def table_pose(
    line: CueLine, calibration: TableCalibration, elevation_deg: float
) -> tuple[F64, float, float]:
    """Tip (table x, y at ball-centre height), direction (degrees) and the length seen (m)."""
    tip_z = calibration.spec.ball_radius
    back_px = line.tip - line.direction * max(line.length_px * 0.8, 20.0)
    origin, rays = calibration.rays(np.vstack([line.tip, back_px]))
    tip = origin + rays[0] * (tip_z - origin[2]) / rays[0][2]
    slope = math.tan(math.radians(elevation_deg))
    back = origin + rays[1] * (tip_z - origin[2]) / rays[1][2]
    for _ in range(8):
        height = tip_z + slope * float(np.hypot(*(back[:2] - tip[:2])))
        back = origin + rays[1] * (height - origin[2]) / rays[1][2]
    delta = tip[:2] - back[:2]
    direction = math.degrees(math.atan2(delta[1], delta[0]))
    seen = float(np.linalg.norm(tip - back)) / 0.8
    return tip[:2], direction, seen
