"""What a calibration implies for detection, computed once per calibration.

The working view: the frame cut to the table's bounding box and shrunk to where a ball is
about 6 px in radius (half size at 720p, a third at 1080p); the table's region there, the band
near the rails, where a ball's centre can lie, and the expected ball radius at every working
pixel (perspective and lens distortion make balls near the camera bigger), and how far a ball's
silhouette lies from its centre's projection there.
"""

from __future__ import annotations

from typing import Any

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import symmetry
from nodes.vision.calibration import TableCalibration

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

WORK_RADIUS = 6.0  # px: a ball's radius at the working resolution
# px: the smallest ball (radius, full resolution) the detector is measured on; 720p over a 9-ft
# table gives 7.9-11.8 px in the bench's scenes, 480p 5-8 px (recall 96.9 %, 0.4 false balls
# per frame), 360p 4-6 px (90.6 %, 1.2)
SMALLEST_RADIUS = 7.0


def ball_radius(calibration: TableCalibration) -> float:
    """A ball's typical radius in the image (full-resolution px): the median over the table."""
    spec = calibration.spec
    grid = np.array([[x, y] for x in np.linspace(-0.45, 0.45, 7) * spec.length
                     for y in np.linspace(-0.45, 0.45, 5) * spec.width])  # fmt: skip
    return float(np.median(calibration.ball_radius_px(grid)))


class Geometry:
    """The table mask, its border band and ball radii at working resolution."""

    silhouette_shift: F32 | None
    silhouette_shape: F32 | None

    def __init__(self, calibration: TableCalibration) -> None:
        self._lens(calibration)
        width, height = calibration.size
        self.full = (width, height)
        spec = calibration.spec
        self.radius = ball_radius(calibration)  # full-res px
        step = max(2, round(self.radius / WORK_RADIUS))
        self.factor = float(step)  # full-resolution px per working px
        self.crop = self._crop(step)  # x0, y0, x1, y1 of the full frame, multiples of step
        x0, y0, x1, y1 = self.crop
        self.small = ((x1 - x0) // step, (y1 - y0) // step)
        self.origin = np.array([x0, y0], np.float64)
        self.roi = self._polygon_mask(0.5 * spec.ball_radius)
        inner = self._polygon_mask(-3.0 * spec.ball_radius)
        self.edge = np.asarray(cv2.bitwise_not(inner), np.uint8)  # near or past the rails
        self.play = self._polygon_mask(-0.5 * spec.ball_radius)  # where a ball's centre can be
        self.radius_map = self._radius_map()
        self.silhouette_shift, self.silhouette_shape = self._silhouette_maps()
        self.noise_at = symmetry.noise_pixels(self.roi)  # where the gradients' noise is measured
        self.rim_length = symmetry.rim_length(self.radius_map)
        # the pixels whose felt score the seeds read: the roi's and their 8 neighbours'
        near = np.asarray(cv2.dilate(self.roi, np.ones((3, 3), np.uint8)), np.uint8)
        self.score_spans = row_spans(near)
        w, h = self.small
        pooled_edge = self.edge[: 2 * (h // 2) : 2, : 2 * (w // 2) : 2]  # half working res
        self.band_at = np.flatnonzero(pooled_edge).astype(np.intp)
        self.sides, self.pockets = self._whole_frame(step)
        self.wide_roi, self.wide_off = self._wide_masks(step)
        self.wide_outside = np.asarray(cv2.bitwise_not(self.wide_roi), np.uint8)  # off the table

    def _wide_masks(self, step: int) -> tuple[U8, U8]:
        """On the whole frame's working grid: the table's region (``roi`` placed there), and
        what lies off it away from the pockets (whose round rims and jaws make short lines of
        their own), where the cue search looks for ridges."""
        width, height = self.full[0] // step, self.full[1] // step
        x0, y0 = self.crop[0] // step, self.crop[1] // step
        h, w = self.roi.shape
        roi = np.zeros((height, width), np.uint8)
        roi[y0 : y0 + h, x0 : x0 + w] = self.roi[: height - y0, : width - x0]
        off = np.asarray(cv2.bitwise_not(roi), np.uint8)
        radius = self.radius / self.factor
        for x, y in self.pockets:
            cv2.circle(off, (round(x), round(y)), round(3 * radius), 0, -1)
        return roi, off

    def _whole_frame(self, step: int) -> tuple[F64, F64]:
        """On the whole frame's working grid (not the crop): the felt's four sides as (x0, y0,
        x1, y1) and the pockets' centres (x, y), for the cue search off the table."""
        cal = self.calibration
        corners = (cal.to_image(cal.spec.felt_edge) + 0.5) / step - 0.5
        sides = np.hstack([corners, np.roll(corners, -1, axis=0)])
        spec = cal.spec
        hx, hy, r = spec.length / 2, spec.width / 2, spec.ball_radius
        centres = np.array([[sx * (hx + r), sy * (hy + r), 0.0] for sx in (-1, 1) for sy in (-1, 1)]
                           + [[0.0, sy * (hy + 1.5 * r), 0.0] for sy in (-1, 1)])  # fmt: skip
        pockets = (cal.to_image(centres) + 0.5) / step - 0.5
        return np.asarray(sides, np.float64), np.asarray(pockets, np.float64)

    def _lens(self, calibration: TableCalibration) -> None:
        """The matrices a calibration fixes: K's inverse, the rotation, the camera centre and
        the inverse homography of the plane of ball centres."""
        self.calibration = calibration
        self.k_inv = np.linalg.inv(calibration.intrinsics.matrix)
        self.rotation = calibration.rotation
        self.camera_position = calibration.camera_position
        self.ball_plane_inv = np.linalg.inv(calibration.ball_homography)
        self.silhouette_shift = None  # built with the maps (see _silhouette_maps)
        self.silhouette_shape = None

    @classmethod
    def lens_only(cls, calibration: TableCalibration) -> Geometry:
        """Only the matrices of :meth:`_lens` (no masks or maps)."""
        geo = cls.__new__(cls)
        geo._lens(calibration)
        return geo

    def working(self, image: U8) -> U8:
        """The working view of a full-resolution frame (area-averaged)."""
        x0, y0, x1, y1 = self.crop
        return np.asarray(
            cv2.resize(image[y0:y1, x0:x1], self.small, interpolation=cv2.INTER_AREA), np.uint8
        )

    def shrink(self, image: U8) -> U8:
        """The whole frame at working resolution (area-averaged over whole step x step blocks;
        an odd last row or column dropped). The working view is its :meth:`crop_of`."""
        step = round(self.factor)
        width, height = self.full[0] // step, self.full[1] // step
        if step == 2 and image.ndim == 3 and image.shape[2] == 3:
            return _halved(np.ascontiguousarray(image), height, width)
        return np.asarray(
            cv2.resize(image[: height * step, : width * step], (width, height),
                       interpolation=cv2.INTER_AREA),
            np.uint8,
        )  # fmt: skip

    def crop_of(self, whole: U8) -> U8:
        """The working view cut from :meth:`shrink`'s whole frame: the crop is aligned to the
        working grid, so it equals :meth:`working` pixel for pixel."""
        step = round(self.factor)
        x0, y0, x1, y1 = (v // step for v in self.crop)
        return np.ascontiguousarray(whole[y0:y1, x0:x1])

    def to_full(self, points: F64) -> F64:
        """Working px to full-resolution px."""
        return np.asarray((points + 0.5) * self.factor - 0.5 + self.origin, np.float64)

    def to_small(self, points: F64) -> F64:
        """Full-resolution px to working px."""
        return np.asarray((points - self.origin + 0.5) / self.factor - 0.5, np.float64)

    def _crop(self, step: int) -> tuple[int, int, int, int]:
        """The table's bounding box (with a ball's margin) in the full frame."""
        spec = self.calibration.spec
        hx, hy = spec.length / 2 + 2 * spec.ball_radius, spec.width / 2 + 2 * spec.ball_radius
        t = np.linspace(-1.0, 1.0, 25)
        long_sides = [np.column_stack([t * hx, np.full_like(t, sy * hy)]) for sy in (-1, 1)]
        short_sides = [np.column_stack([np.full_like(t, sx * hx), t * hy]) for sx in (-1, 1)]
        edge = np.concatenate(long_sides + short_sides)
        px = self.calibration.to_image(
            np.column_stack([edge, np.full(len(edge), spec.ball_radius)])
        )
        width, height = self.full
        x0 = int(np.clip(np.floor(px[:, 0].min() / step), 0, None)) * step
        y0 = int(np.clip(np.floor(px[:, 1].min() / step), 0, None)) * step
        x1 = min(int(np.ceil(px[:, 0].max() / step)) * step, (width // step) * step)
        y1 = min(int(np.ceil(px[:, 1].max() / step)) * step, (height // step) * step)
        if x1 - x0 < 8 * step or y1 - y0 < 8 * step:  # no table in view: the whole frame
            return 0, 0, (width // step) * step, (height // step) * step
        return x0, y0, x1, y1

    def pixels(self, points_px: F64) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Rows and columns of the working pixels nearest to full-res points (N, 2) (as
        :func:`nearest` gives them), for indexing the working view's maps (or the felt's log
        image, of the same size) at them."""
        small = self.to_small(np.asarray(points_px, np.float64).reshape(-1, 2))
        return nearest(small, self.radius_map)

    def expected_radius(
        self, points_px: F64, at: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None
    ) -> F64:
        """Expected ball radius (full-res px) at full-res image points (N, 2) (``at``: their
        :meth:`pixels`, when known)."""
        at = self.pixels(points_px) if at is None else at
        return np.asarray(self.radius_map[at], np.float64) * self.factor

    def _radius_map(self) -> F32:
        """Ball radius in working px at every working pixel (a coarse grid, interpolated)."""
        points, shape = self._coarse_grid()
        cal = self.calibration
        radius = cal.ball_radius_px(cal.to_table(points)) / self.factor
        grid = np.nan_to_num(radius.reshape(shape), nan=self.radius / self.factor)
        grid = np.clip(grid, 0.3 * self.radius / self.factor, 3.0 * self.radius / self.factor)
        return self._interpolated(grid.astype(np.float32))

    def _silhouette_maps(self) -> tuple[F32, F32]:
        """At every working pixel, for a ball whose centre projects there
        (``TableCalibration.silhouette``, perspective and lens): (h, w, 2) how far (full-res px)
        its silhouette lies from that projection, a tenth of a pixel at most and smooth; and
        (h, w, 3) the silhouette's shape, its symmetric matrix's entries 00, 01 and 11 (the
        identity where balls look round)."""
        points, grid = self._coarse_grid()
        cal = self.calibration
        shift, matrix = cal.silhouette(cal.to_table(points))
        shifts = np.nan_to_num(shift.reshape(*grid, 2), nan=0.0).astype(np.float32)
        entries = np.stack([matrix[:, 0, 0], matrix[:, 0, 1], matrix[:, 1, 1]], axis=1)
        round_ = np.array([1.0, 0.0, 1.0])
        shapes = np.where(np.isfinite(entries), entries, round_).reshape(*grid, 3)
        return self._interpolated(shifts), self._interpolated(shapes.astype(np.float32))

    def _coarse_grid(self) -> tuple[F64, tuple[int, int]]:
        """Full-resolution points every 8 working px over the working view, and the grid's
        (rows, columns)."""
        w, h = self.small
        ys, xs = np.mgrid[0 : h + 8 : 8, 0 : w + 8 : 8].astype(np.float64)
        return self.to_full(np.column_stack([xs.ravel(), ys.ravel()])), (xs.shape[0], xs.shape[1])

    def _interpolated(self, grid: F32) -> F32:
        """A :meth:`_coarse_grid` of values at every working pixel (bilinear)."""
        rows, cols = grid.shape[:2]
        big = cv2.resize(grid, (cols * 8, rows * 8))
        # the resized grid's pixel k sits at k / 8 grid steps: shift by half a step
        shift = np.array([[1, 0, -3.5], [0, 1, -3.5]], np.float32)
        out = cv2.warpAffine(big, shift, self.small, borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(out, np.float32)

    def shift_at(self, points_px: F64) -> F64:
        """The silhouette's shift (full-res px, :meth:`_silhouette_maps`) at full-res points
        (N, 2)."""
        assert self.silhouette_shift is not None
        small = self.to_small(np.asarray(points_px, np.float64).reshape(-1, 2))
        return np.asarray(self.silhouette_shift[nearest(small, self.silhouette_shift)], np.float64)

    def shape_at(
        self, points_px: F64, at: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None
    ) -> F64:
        """The silhouette's shape (N, 2, 2; :meth:`_silhouette_maps`) at full-res points (N, 2): the
        expected radius times it maps the unit circle onto a ball's silhouette there (``at``:
        the points' :meth:`pixels`, when known)."""
        assert self.silhouette_shape is not None
        at = self.pixels(points_px) if at is None else at
        entries = np.asarray(self.silhouette_shape[at], np.float64)
        out = np.empty((len(entries), 2, 2))
        out[:, 0, 0], out[:, 1, 1] = entries[:, 0], entries[:, 2]
        out[:, 0, 1] = out[:, 1, 0] = entries[:, 1]
        return out

    def _polygon_mask(self, grow: float) -> U8:
        spec = self.calibration.spec
        hx, hy = spec.length / 2 + grow, spec.width / 2 + grow
        t = np.linspace(0.0, 1.0, 24, endpoint=False)
        corners = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
        pts = []
        for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
            pts += [(x0 + (x1 - x0) * s, y0 + (y1 - y0) * s, spec.ball_radius) for s in t]
        px = self.calibration.to_image(np.array(pts))
        small = self.to_small(px)
        mask = np.zeros((self.small[1], self.small[0]), np.uint8)
        cv2.fillPoly(mask, [np.round(small * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
        return mask


@numba.njit(cache=True, nogil=True)
def _halved(image: U8, height: int, width: int) -> U8:
    """The top-left ``height`` x ``width`` blocks of 2 x 2 pixels of a BGR ``image``, each
    averaged, rounded half up: what ``cv2.resize`` with ``INTER_AREA`` gives for half size,
    byte for byte, in half its time (0.1 ms for a 720p frame)."""
    out = np.empty((height, width, 3), np.uint8)
    rows, dst = image.reshape(image.shape[0], -1), out.reshape(height, -1)
    for y in range(height):
        top, bottom, row = rows[2 * y], rows[2 * y + 1], dst[y]
        for x in range(width):
            for c in range(3):
                i = 6 * x + c
                total = np.uint32(top[i]) + top[i + 3] + bottom[i] + bottom[i + 3]
                row[3 * x + c] = (total + 2) >> 2
    return out


def nearest(points: F64, image: NDArray[Any]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Rows and columns of the pixels of ``image`` nearest to points (N, 2) (x, y; clipped
    to the image), for indexing it."""
    height, width = image.shape[:2]
    return _nearest(np.ascontiguousarray(points, np.float64), height, width)


@numba.njit(cache=True, nogil=True)
def _nearest(points: F64, height: int, width: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """:func:`nearest`'s loop: ``np.rint`` and clipping, as numpy's ``np.minimum(np.maximum(
    np.rint(x).astype(np.intp), 0), width - 1)`` gives them (compiled: those were eight calls
    on a handful of points, several times a frame)."""
    count = points.shape[0]
    rows, cols = np.empty(count, np.intp), np.empty(count, np.intp)
    for i in range(count):
        cols[i] = min(max(int(np.rint(points[i, 0])), 0), width - 1)
        rows[i] = min(max(int(np.rint(points[i, 1])), 0), height - 1)
    return rows, cols


def row_spans(mask: U8) -> NDArray[np.intp]:
    """Per row of ``mask``, the columns [x0, x1) from its first set pixel to past its last
    ((0, 0) in an empty row)."""
    h, w = mask.shape
    out = np.zeros((h, 2), np.intp)
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows):
        set_ = mask[rows] > 0
        out[rows, 0] = set_.argmax(axis=1)
        out[rows, 1] = w - set_[:, ::-1].argmax(axis=1)
    return out
