"""The cue's elevation, measured where its pale shaft ends.

One camera sees the cue's image line, which fits many elevations: :mod:`cue` assumes one. A
two-piece cue carries a mark at a known distance from its tip: the joint, where the pale maple
shaft (29 in, ``JOINT`` m) meets the collar and the darker butt. The tip and the joint seen on
the line, with the axis at ball-centre height where it meets the ball it strikes (or at the tip
when none is ahead), fix the elevation at which the two are ``JOINT`` apart (:func:`measured`).
Both are seen on the surface: the joint on the shaft's side nearest the camera, the tip where
its ray grazes the round end.
How well depends on the view: the joint moves 1.5-4 px along the line per degree, and the tip
and the joint are each found to a pixel or a few. So the elevation is the likeliest given how
players hold a cue (about the assumed elevation, or just enough to clear the cushion and the
balls behind) and the measurements (:func:`estimate`), some of which are spoilt: an arm across
the shaft ends it early, a tip hidden by a ball puts the tip short. The cue keeps its elevation
through a stroke while it slides along its axis, so the measurements of the frames before,
while it stays in the same plane through the camera, are weighed in too (:class:`Strokes`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge
from nodes.vision.felt import LOG_LUT
from nodes.vision.intrinsics import Intrinsics

if TYPE_CHECKING:  # the cue's module weighs its measurement in
    from nodes.vision.cue import CueLine

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

JOINT = 0.74  # m from the tip's front to the joint (a standard 29 in shaft and its tip; the
# vision node's ``cue_joint_m``)
JOINT_RADIUS = 0.0105  # m: the shaft's radius at the joint (a standard joint is 0.83 in across)
TIP_RADIUS = 0.0065  # m: the tip's (13 mm across), its end as round as it is wide
DARKER = 0.5  # log units: the collar and the butt beyond the joint are this much darker
DARK_PX = 6.0  # px: ... for this long along the line (the collar alone is 22 mm)
STEP = 1.0  # px between samples along the line
NODE_PX = 24.0  # px between the points the lens is applied to
ACROSS = np.array([-1.0, 0.0, 1.0])  # px: the samples across the axis, averaged
REACH_PX = 80.0  # px: the joint is looked for up to this far past the end of the line found
FOUND_PX = 3.0  # px: how well the tip and the joint are found along the line (each, typically)
ASSUMED = 1.5  # degrees: how well the assumed elevation is known (players hold it 3-8 up)
TIP_HEIGHT = 0.45  # ball radii: players strike up to this far above or below the centre
MISREAD = 0.1  # the share of cues whose balls behind are misread (a tip placed short, say)
OUTLIERS = 0.15  # the share of measurements an arm across the shaft or a hidden tip spoils
WORTH = 4.0  # a stroke's measurements count for at most this many independent ones
STROKE_FRAMES = 90  # a cue seen again on its plane within this many frames is the same stroke
SAME_PLANE = math.cos(math.radians(0.5))  # ... the plane's normal within half a degree
KEPT = 16  # the measurements of a stroke kept
GRID = np.arange(0.0, 35.0 + 1e-9, 0.05)  # degrees: the elevations weighed (up to a masse's)


def along_line(image: U8, line: CueLine, intrinsics: Intrinsics) -> CueLine:
    """``line`` with ``joint``: where (image px) the pale shaft ends and a point one pixel
    further along its axis, or None where it is not seen to end (the border, the grip or an arm
    first).

    The brightest channel's log along the axis (the mean of the samples ``ACROSS`` it) is
    compared with the shaft's own level (its median between 15 % and 50 % of the line): the
    joint is where it first falls half way to the darker level that follows for ``DARK_PX``,
    searched from 30 % of the line's length on. The axis is straight in undistorted pixels; the
    lens is applied every ``NODE_PX`` along it and the samples between placed linearly."""
    if line.back is None:
        return line
    tip, back = intrinsics.undistort(np.vstack([line.tip, line.back]))
    unit = (tip - back) / max(float(np.linalg.norm(tip - back)), 1e-9)
    ts = np.arange(0.15 * line.length_px, line.length_px + REACH_PX, STEP)
    nodes = np.append(np.arange(ts[0], ts[-1], NODE_PX), ts[-1])
    bent = intrinsics.distort(tip[None, :] - nodes[:, None] * unit[None, :])
    centres = np.column_stack([np.interp(ts, nodes, bent[:, 0]), np.interp(ts, nodes, bent[:, 1])])
    normal = np.array([-line.direction[1], line.direction[0]])
    xs = centres[:, 0, None] + ACROSS[None, :] * normal[0]
    ys = centres[:, 1, None] + ACROSS[None, :] * normal[1]
    samples = edge.sample_u8(image, xs, ys)  # (N, across, 3)
    brightest = np.maximum(np.maximum(samples[..., 0], samples[..., 1]), samples[..., 2])
    level = cv2.LUT(brightest, LOG_LUT).mean(axis=1, dtype=np.float64)
    joint = _shaft_end(ts, level, _seen(centres, image.shape), line.length_px)
    if math.isnan(joint):
        return line
    ends = (
        np.interp([joint, joint + 1.0], ts, centres[:, 0]),
        np.interp([joint, joint + 1.0], ts, centres[:, 1]),
    )
    return replace(line, joint=np.column_stack(ends))


def _seen(points: F64, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Which points (N, 2) lie in an image of ``shape``."""
    height, width = shape[:2]
    x, y = points[:, 0], points[:, 1]
    return np.asarray((x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1), np.bool_)


@numba.njit(cache=True, nogil=True)
def _shaft_end(ts: F64, level: F64, seen: NDArray[np.bool_], length: float) -> float:
    """Where along the line (``ts``, px) the ``level`` profile falls from the shaft's to the
    butt's (:func:`along_line`); NaN if it leaves the image (``seen``) first or has no shaft.
    Compiled: a dozen numpy calls on a few hundred samples."""
    shaft = level[(ts > 0.15 * length) & (ts < 0.5 * length)]
    if shaft.shape[0] < 10:
        return np.nan
    pale = np.median(shaft)
    run = round(DARK_PX / STEP)
    first = int(np.searchsorted(ts, 0.3 * length))
    count = 0
    for i in range(first, ts.shape[0]):
        if not seen[i]:
            return np.nan  # out of the image before the butt
        count = count + 1 if level[i] < pale - DARKER else 0
        if count == run:
            start = i - run + 1
            half = 0.5 * (pale + np.median(level[start : i + 1]))
            for k in range(start, first - 1, -1):
                if level[k] >= half:  # the last sample at least half way up
                    a, b = float(level[k]), float(level[k + 1])
                    return float(ts[k]) + STEP * (a - half) / max(a - b, 1e-6)
            return np.nan
    return np.nan


def measured(
    origin: F64, rays: F64, anchor: F64, elevation_deg: float, length: float = JOINT
) -> tuple[float, float] | None:
    """The elevation (degrees) at which the tip and the joint are ``length`` apart, and how
    many degrees the joint's moving one pixel along the line changes it; None where no
    elevation fits. ``rays``: from the camera at ``origin`` through the tip, a point of the
    axis behind it, the joint and a pixel beyond it; the axis passes through ``anchor`` (table
    x, y, z: at ball-centre height where it meets the ball it strikes). Newton's method from
    ``elevation_deg``, in the plane through the camera and the cue's image line (Python floats:
    numpy's calls on three numbers cost more)."""
    (tx, ty, tz), (bx, by, bz) = rays[0].tolist(), rays[1].tolist()
    nx, ny, nz = ty * bz - tz * by, tz * bx - tx * bz, tx * by - ty * bx  # the plane's normal
    size = math.hypot(nx, ny)
    if size < 1e-12:
        return None
    ax, ay = ny / size, -nx / size  # horizontal, in the plane
    if ax * (bx / bz - tx / tz) + ay * (by / bz - ty / tz) < 0:
        ax, ay = -ax, -ay  # along the cue from the butt to the tip
    ux, uy, uz = ay * nz, -ax * nz, ax * ny - ay * nx  # up in the plane: (along) x (normal)
    norm = math.sqrt(ux * ux + uy * uy + uz * uz)
    ux, uy, uz = ux / norm, uy / norm, uz / norm
    if uz < 0:
        ux, uy, uz = -ux, -uy, -uz

    def planar(v: list[float]) -> tuple[float, float]:
        return v[0] * ax + v[1] * ay, v[0] * ux + v[1] * uy + v[2] * uz

    ox, oy, oz = origin.tolist()
    point = (anchor[0] - ox) * ax + (anchor[1] - oy) * ay, (anchor[2] - oz) / uz
    tip = planar(rays[0].tolist())
    out = [_solve(tip, planar(rays[k].tolist()), point, uz, elevation_deg, length) for k in (2, 3)]
    if out[0] is None or out[1] is None:
        return None
    return out[0], abs(out[1] - out[0])


def _solve(
    tip: tuple[float, float],
    joint: tuple[float, float],
    anchor: tuple[float, float],
    rise: float,
    elevation_deg: float,
    length: float,
) -> float | None:
    """The elevation (degrees) of the axis through ``anchor`` at which the ray ``tip`` meets
    it and the ray ``joint`` meets the shaft's near side ``length`` further on (plane
    coordinates, the camera at the origin; ``rise``: the plane's up axis's z). The joint is
    seen on the surface, ``JOINT_RADIUS`` nearer the camera than the axis: on a slanted view a
    ray meets the axis up to a radius further along than the surface it shows."""
    if not 0.0 < math.sin(math.radians(elevation_deg)) < rise:
        return None
    angle = math.asin(math.sin(math.radians(elevation_deg)) / rise)
    for _ in range(20):
        miss = _apart(tip, joint, anchor, angle) - length
        slope = (_apart(tip, joint, anchor, angle + 1e-6) - length - miss) / 1e-6
        if not (math.isfinite(miss) and math.isfinite(slope)) or abs(slope) < 1e-9:
            return None
        angle -= min(max(miss / slope, -0.1), 0.1)  # radians: Newton's steps, kept near
        if abs(miss) < 1e-7:
            break
    else:
        return None
    if not 0.0 < angle < 0.5 * math.pi:
        return None  # no elevation fits: the joint or the tip was not what it seemed
    sine = math.sin(angle) * rise
    if not 0.0 < sine < 1.0:
        return None
    return math.degrees(math.asin(sine))


def _apart(
    tip: tuple[float, float], joint: tuple[float, float], anchor: tuple[float, float], angle: float
) -> float:
    """How far apart along the axis (through ``anchor``, ``angle`` up in the plane, from the
    anchor towards the butt) the tip's front, whose round end the ray ``tip`` grazes, and the
    joint, where the ray ``joint`` meets the shaft's near side, lie (NaN where a ray runs
    parallel)."""
    c, s = -math.cos(angle), math.sin(angle)
    side_x, side_y = -s, c  # across the axis, towards the camera
    if side_x * anchor[0] + side_y * anchor[1] > 0:
        side_x, side_y = -side_x, -side_y
    near = anchor[0] + JOINT_RADIUS * side_x, anchor[1] + JOINT_RADIUS * side_y
    # the tip's ray grazes its round end: it meets the axis a little beyond the front
    slant = abs(c * tip[1] - s * tip[0]) / math.hypot(tip[0], tip[1])
    front = _meet(tip, anchor, c, s) + TIP_RADIUS * (1.0 / max(slant, 1e-6) - 1.0)
    return _meet(joint, near, c, s) - front


def _meet(ray: tuple[float, float], point: tuple[float, float], c: float, s: float) -> float:
    """How far from ``point`` along (c, s) the line through it meets ``ray`` (through the
    origin); NaN where they run parallel."""
    across = c * ray[1] - s * ray[0]
    if abs(across) < 1e-12:
        return math.nan
    return -(point[0] * ray[1] - point[1] * ray[0]) / across


def estimate(
    assumed: float, need: tuple[float, float], measures: Sequence[tuple[float, float]] = ()
) -> float:
    """The elevation (degrees) most likely given how players hold a cue and what was measured:
    the median of the posterior over ``GRID``.

    Before any measurement the elevation is the larger of the one the player likes, about
    ``assumed`` (known to ``ASSUMED``), and the least that clears the cushion and the balls
    behind, somewhere in ``need`` (degrees: for a tip striking up to ``TIP_HEIGHT`` radii above
    and below the ball's centre; (0, 0) where nothing is in the way). Each of ``measures``
    (elevation, degrees per pixel) is known to ``FOUND_PX`` pixels, or is one of the
    ``OUTLIERS`` that an arm across the shaft or a hidden tip makes; measurements of one stroke
    count for at most ``WORTH`` between them (they share their errors)."""
    z = (GRID - assumed) / ASSUMED
    held = 1.0 / (1.0 + np.exp(-1.702 * z))  # the normal's distribution, within 0.01
    lo, hi = need
    clears = np.clip((GRID - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    clears = MISREAD + (1.0 - MISREAD) * clears
    prior = np.diff(held * clears, prepend=0.0)
    if measures:
        value, per_px = np.array(measures, np.float64).T[:, :, None]
        spread = np.maximum(FOUND_PX * per_px, 1e-3)
        near = np.exp(-0.5 * ((GRID - value) / spread) ** 2) / (spread * math.sqrt(2 * math.pi))
        log_like = np.log((1.0 - OUTLIERS) * near + OUTLIERS / GRID[-1]).sum(axis=0)
        power = min(1.0, WORTH / len(measures))
        prior = prior * np.exp(power * (log_like - log_like.max()))
    total = np.cumsum(prior)
    if total[-1] <= 0.0:
        return assumed
    return float(GRID[min(int(np.searchsorted(total, 0.5 * total[-1])), len(GRID) - 1)])


@dataclass
class Strokes:
    """The joint's measurements of the stroke under way: a cue seen again within
    ``STROKE_FRAMES`` frames in the same plane through the camera (within ``SAME_PLANE``) slides
    along the same axis, at the same elevation, so each frame weighs what the frames before it
    measured (the last ``KEPT``)."""

    plane: F64 | None = None  # unit normal of the plane through the camera and the cue
    frame: int = 0
    measures: list[tuple[float, float]] = field(default_factory=list)

    def earlier(self, plane: F64, frame: int) -> list[tuple[float, float]]:
        """This stroke's measurements so far, for a cue in ``plane`` in ``frame``: none when it
        is another stroke."""
        last = self.plane
        recent = last is not None and 0 < frame - self.frame <= STROKE_FRAMES
        if last is None or not recent or abs(float(plane @ last)) < SAME_PLANE:
            self.measures = []
        return list(self.measures)

    def seen(self, plane: F64, frame: int, measure: tuple[float, float] | None) -> None:
        """Remember the cue of ``frame`` and its measurement (None: its joint was not seen)."""
        self.plane, self.frame = plane, frame
        if measure is not None:
            self.measures = [*self.measures, measure][-KEPT:]
