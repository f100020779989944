"""How one camera sees the table: intrinsics, pose and the homographies they imply.

A :class:`TableCalibration` holds the camera matrix and Brown-Conrady distortion
(:class:`Intrinsics`) and the camera's pose relative to the table frame (origin at the cloth
centre, x along the long axis, z up, metres). From them it derives the homography of any
horizontal plane: ``homography(z)`` maps table (x, y) on the plane at height z to *undistorted*
pixels. Ball centres sit at z = R, so detected centres are mapped with ``homography(R)``, not
the cloth's: the felt homography would push every ball away from the camera's nadir by
d * R / (h - R), about 17 mm at a table corner for a camera 2 m up (anchors-vision §6).

Pure: no I/O except :func:`save` and :func:`load` (JSON in the node's data directory).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from nodes.vision.intrinsics import Intrinsics
from protocol.messages import Calibration

__all__ = ["Intrinsics", "TableCalibration", "TableSpec"]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]

INCH = 0.0254
BALL_RADIUS = 0.028575


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What the calibration needs to know about the table (metres).

    ``cushion_width`` runs from the cushion nose to where the cloth meets the wooden rail, and
    ``rail_z`` is the height of that line above the cloth: the felt's outer edge, which is what
    the camera finds, is the rectangle +-(L/2 + cushion_width), +-(W/2 + cushion_width) at
    z = rail_z.
    """

    length: float = 100 * INCH
    width: float = 50 * INCH
    ball_radius: float = BALL_RADIUS
    cushion_width: float = 2 * INCH
    rail_z: float = 0.046

    @staticmethod
    def named(name: str) -> TableSpec:
        """A standard table: 9ft, 8ft or 7ft."""
        sizes = {"9ft": (100, 50), "8ft": (92, 46), "7ft": (78, 39)}
        if name not in sizes:
            raise ValueError(f"unknown table {name!r}: 9ft, 8ft or 7ft")
        length, width = sizes[name]
        return TableSpec(length=length * INCH, width=width * INCH)

    @property
    def felt_edge(self) -> F64:
        """(4, 3) corners of the felt's outer edge, in the order of ``corners_px``."""
        hx = self.length / 2 + self.cushion_width
        hy = self.width / 2 + self.cushion_width
        return np.array([[-hx, -hy, self.rail_z], [hx, -hy, self.rail_z],
                         [hx, hy, self.rail_z], [-hx, hy, self.rail_z]])  # fmt: skip

    def surface(self, z: float = 0.0) -> F64:
        """(4, 3) corners of the playing surface (between the cushion noses) at height z."""
        hx, hy = self.length / 2, self.width / 2
        return np.array([[-hx, -hy, z], [hx, -hy, z], [hx, hy, z], [-hx, hy, z]])


@dataclass(frozen=True)
class TableCalibration:
    """Intrinsics plus the camera pose over the table: everything to map pixels to metres."""

    spec: TableSpec
    intrinsics: Intrinsics
    rvec: F64
    tvec: F64
    method: str = "auto"
    rms_px: float | None = None
    t_ns: int = 0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames this calibration is for."""
        return self.intrinsics.width, self.intrinsics.height

    @property
    def rotation(self) -> F64:
        """Table-to-camera rotation matrix."""
        rot, _ = cv2.Rodrigues(self.rvec)
        return np.asarray(rot, dtype=np.float64)

    @property
    def camera_position(self) -> F64:
        """The camera centre in table metres."""
        return np.asarray(-self.rotation.T @ self.tvec.ravel(), dtype=np.float64)

    def homography(self, z: float) -> F64:
        """3x3 map from table (x, y) on the plane at height z to undistorted pixels."""
        rot = self.rotation
        column = rot[:, 2] * z + self.tvec.ravel()
        h = self.intrinsics.matrix @ np.column_stack([rot[:, 0], rot[:, 1], column])
        return np.asarray(h / h[2, 2], dtype=np.float64)

    def turned(self) -> TableCalibration:
        """The same view with the table frame turned 180 degrees (head and foot swapped):
        one image cannot tell a table's ends apart, the installer can."""
        rot = self.rotation @ np.diag([-1.0, -1.0, 1.0])
        rvec, _ = cv2.Rodrigues(rot)
        return replace(self, rvec=np.asarray(rvec, dtype=np.float64).reshape(3))

    @property
    def ball_homography(self) -> F64:
        """Homography of the plane of ball centres (z = R)."""
        return self.homography(self.spec.ball_radius)

    def to_table(self, pixels: ArrayLike, z: float | None = None) -> F64:
        """Image pixels (N, 2) to table metres on the plane at height z (default: ball centres)."""
        px = self.intrinsics.undistort(pixels)
        if len(px) == 0:
            return px
        inv = np.linalg.inv(self.homography(self.spec.ball_radius if z is None else z))
        out = cv2.perspectiveTransform(px.reshape(-1, 1, 2), inv)
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def to_image(self, points: ArrayLike) -> F64:
        """Table points (N, 3) to image pixels (distorted)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if len(pts) == 0:
            return np.zeros((0, 2))
        out, _ = cv2.projectPoints(
            pts, self.rvec, self.tvec, self.intrinsics.matrix, self.intrinsics.dist
        )
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def rays(self, pixels: ArrayLike) -> tuple[F64, F64]:
        """The camera centre and unit rays (table frame) through image pixels (N, 2)."""
        px = self.intrinsics.undistort(pixels)
        homog = np.column_stack([px, np.ones(len(px))]) @ np.linalg.inv(self.intrinsics.matrix).T
        dirs = homog @ self.rotation  # R^T applied to each row
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        return self.camera_position, np.asarray(dirs, dtype=np.float64)

    @property
    def corners_px(self) -> F64:
        """Playing-surface corners on the cloth, in image pixels, in the message's order."""
        return self.to_image(self.spec.surface(0.0))

    def ball_radius_px(self, points: ArrayLike) -> F64:
        """Apparent radius (pixels) of a ball centred at table points (N, 2): half the image
        span of two diameters square to the line of sight, through the lens (distortion and
        the stretch of off-axis balls included)."""
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(xy) == 0:
            return np.zeros(0)
        radius = self.spec.ball_radius
        centres = np.column_stack([xy, np.full(len(xy), radius)])
        sight = centres - self.camera_position
        sight /= np.linalg.norm(sight, axis=1, keepdims=True)
        across = np.cross(sight, np.array([0.0, 0.0, 1.0]))
        across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
        along = np.cross(across, sight)
        ends = [centres + sign * radius * axis for axis in (across, along) for sign in (1, -1)]
        px = self.to_image(np.vstack(ends)).reshape(4, len(xy), 2)
        spans = np.hypot(*(px[0] - px[1]).T) + np.hypot(*(px[2] - px[3]).T)
        return np.asarray(spans / 4, dtype=np.float64)

    def silhouette_shift(self, points: ArrayLike, samples: int = 32) -> F64:
        """How far (distorted px, (N, 2)) the silhouette of a ball centred at table points
        (N, 2) lies from its centre's projection: the circle where the camera's rays graze the
        sphere, projected through the lens and fitted with a circle, as the detector fits one.
        Off the optical axis it lies further out than the centre's projection (the sphere's
        image is an ellipse), and the lens bends the silhouette's near and far sides unequally
        (0.1 px with the bench's strongest barrel): both are in here, where a closed form for a
        pinhole had only the first."""
        return _circle_centres(self._silhouettes(points, samples))

    def silhouette_shape(self, points: ArrayLike, samples: int = 32) -> F64:
        """The shape (N, 2, 2) of the silhouette of a ball centred at table points (N, 2): the
        symmetric matrix that maps the unit circle onto it about its centre, divided by its
        mean semi-axis (so the identity where the ball looks round, and the expected radius
        times it is the silhouette). Off the optical axis a sphere's image is an ellipse
        stretched away from the principal point, which the lens's barrel squeezes back: a
        wide lens close to the table shows balls near the frame's edge with axes 0.6-0.8 apart.
        For a circle's points spread evenly round it, their covariance is half the square of
        that matrix."""
        return self.silhouette(points, samples)[1]

    def silhouette(self, points: ArrayLike, samples: int = 32) -> tuple[F64, F64]:
        """:meth:`silhouette_shift` and :meth:`silhouette_shape` from one projection of the
        silhouettes (what the detector's maps are built from)."""
        rel = self._silhouettes(points, samples)
        shift = _circle_centres(rel)
        offsets = rel - shift[:, None]
        half_square = np.einsum("nki,nkj->nij", offsets, offsets) * (2.0 / max(samples, 1))
        root = _sqrt_2x2(half_square)
        mean_axis = np.trace(root, axis1=1, axis2=2) / 2
        return shift, np.asarray(root / np.maximum(mean_axis, 1e-9)[:, None, None], np.float64)

    def _silhouettes(self, points: ArrayLike, samples: int) -> F64:
        """Points (N, samples, 2) round the silhouettes of balls centred at table points
        (N, 2), where the camera's rays graze the sphere, through the lens, relative to each
        centre's projection (distorted px)."""
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(xy) == 0:
            return np.zeros((0, samples, 2))
        radius = self.spec.ball_radius
        centres = np.column_stack([xy, np.full(len(xy), radius)])
        towards = centres - self.camera_position
        distance = np.linalg.norm(towards, axis=1, keepdims=True)
        axis = towards / distance
        helper = np.where(np.abs(axis[:, 2:]) > 0.9, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
        across = np.cross(axis, helper)
        across /= np.linalg.norm(across, axis=1, keepdims=True)
        other = np.cross(axis, across)
        ring = radius * np.sqrt(1.0 - (radius / distance) ** 2)  # (N, 1)
        middle = centres - axis * radius * radius / distance
        angles = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)[None, :, None]
        rim = middle[:, None] + ring[:, :, None] * (
            np.cos(angles) * across[:, None] + np.sin(angles) * other[:, None]
        )
        centre_px = self.to_image(centres)
        rel = self.to_image(rim.reshape(-1, 3)).reshape(len(xy), samples, 2) - centre_px[:, None]
        return np.asarray(rel, np.float64)

    def message(self, camera: str) -> Calibration:
        """The ``vision.calibration.<camera>`` message."""
        intr = self.intrinsics
        return Calibration(
            camera=camera,
            width=intr.width,
            height=intr.height,
            table_length=self.spec.length,
            table_width=self.spec.width,
            ball_radius=self.spec.ball_radius,
            corners_px=[[float(x), float(y)] for x, y in self.corners_px],
            homography=[float(v) for v in self.ball_homography.ravel()],
            homography_surface=[float(v) for v in self.homography(0.0).ravel()],
            camera_matrix=[float(v) for v in intr.matrix.ravel()],
            distortion=[float(v) for v in intr.dist.ravel()],
            method=self.method,
            rms_px=self.rms_px,
            t_ns=self.t_ns,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (what :func:`save` writes)."""
        spec = self.spec
        return {
            "version": 1,
            "spec": {
                "length": spec.length,
                "width": spec.width,
                "ball_radius": spec.ball_radius,
                "cushion_width": spec.cushion_width,
                "rail_z": spec.rail_z,
            },
            "intrinsics": self.intrinsics.as_dict(),
            "rvec": self.rvec.ravel().tolist(),
            "tvec": self.tvec.ravel().tolist(),
            "method": self.method,
            "rms_px": self.rms_px,
            "t_ns": self.t_ns,
            "corners_px": self.corners_px.tolist(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TableCalibration:
        """Inverse of :meth:`as_dict`."""
        return TableCalibration(
            TableSpec(**{k: float(v) for k, v in data["spec"].items()}),
            Intrinsics.from_dict(data["intrinsics"]),
            np.array(data["rvec"], dtype=np.float64).reshape(3),
            np.array(data["tvec"], dtype=np.float64).reshape(3),
            str(data.get("method", "auto")),
            data.get("rms_px"),
            int(data.get("t_ns", 0)),
        )


def _circle_centres(rel: F64) -> F64:
    """Centres (N, 2) of circles fitted to point sets (N, K, 2): algebraic, x^2 + y^2 =
    2 a x + 2 b y + c."""
    count, samples = rel.shape[:2]
    if count == 0:
        return np.zeros((0, 2))
    design = np.concatenate([rel, np.ones((count, samples, 1))], axis=2)
    target = np.sum(rel * rel, axis=2)
    normal = np.einsum("nki,nkj->nij", design, design)
    fit = np.linalg.solve(normal, np.einsum("nki,nk->ni", design, target)[..., None])[..., 0]
    return np.asarray(fit[:, :2] / 2, dtype=np.float64)


def _sqrt_2x2(m: F64) -> F64:
    """Square roots (N, 2, 2) of symmetric positive definite 2 x 2 matrices (N, 2, 2):
    (M + sqrt(det M) I) / sqrt(trace M + 2 sqrt(det M))."""
    det = np.sqrt(np.maximum(m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0], 0.0))
    scale = np.sqrt(np.maximum(m[:, 0, 0] + m[:, 1, 1] + 2 * det, 1e-18))
    return np.asarray((m + det[:, None, None] * np.eye(2)) / scale[:, None, None], np.float64)


def pose_from_edge(
    corners_px: ArrayLike, intrinsics: Intrinsics, spec: TableSpec, points: F64 | None = None
) -> tuple[F64, F64, float]:
    """Camera pose from the four corners of a known rectangle, already undistorted and in the
    order of ``points`` (default: the felt's outer edge). Returns (rvec, tvec, rms px)."""
    obj = spec.felt_edge if points is None else points
    img = np.asarray(corners_px, dtype=np.float64).reshape(-1, 1, 2)
    # IPPE wants the plane at z = 0: solve there, then move the plane up and polish
    z = float(obj[0, 2])
    flat = obj - np.array([0.0, 0.0, z])
    ok, rvec, tvec = cv2.solvePnP(flat, img, intrinsics.matrix, None, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise ValueError("no camera pose fits these corners")
    rot, _ = cv2.Rodrigues(rvec)
    tvec = tvec.reshape(3) - z * rot[:, 2]
    ok, rvec, tvec = cv2.solvePnP(
        obj, img, intrinsics.matrix, None, rvec, tvec.reshape(3, 1).copy(), True,
        cv2.SOLVEPNP_ITERATIVE,
    )  # fmt: skip
    proj, _ = cv2.projectPoints(obj, rvec, tvec, intrinsics.matrix, None)
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img.reshape(-1, 2)) ** 2, 1))))
    return rvec.reshape(3).astype(np.float64), tvec.reshape(3).astype(np.float64), rms


def estimate_focal(corners_px: ArrayLike, spec: TableSpec, width: int, height: int) -> float | None:
    """Focal length from one view of the felt rectangle (square pixels, centred principal
    point), or None when the view is too straight-down to tell focal length from height."""
    obj = spec.felt_edge[:, :2].astype(np.float32)
    img = np.asarray(corners_px, dtype=np.float32).reshape(4, 2)
    shift = np.array([[1, 0, -(width - 1) / 2], [0, 1, -(height - 1) / 2], [0, 0, 1]])
    h = shift @ cv2.getPerspectiveTransform(obj, img)
    a1, a2 = h[:, 0], h[:, 1]
    c1, d1 = a1[2] * a2[2], -(a1[0] * a2[0] + a1[1] * a2[1])
    c2, d2 = a1[2] ** 2 - a2[2] ** 2, (a2[0] ** 2 + a2[1] ** 2) - (a1[0] ** 2 + a1[1] ** 2)
    # each term is ~ f^2 * (perspective)^2: too little perspective and f is unobservable
    scale = max(np.hypot(a1[0], a1[1]), np.hypot(a2[0], a2[1]))
    strength = math.hypot(c1, c2) * width**2 / scale**2
    if strength < 0.02:
        return None
    f2 = (c1 * d1 + c2 * d2) / (c1 * c1 + c2 * c2)
    if not f2 > 0:
        return None
    focal = math.sqrt(f2)
    return focal if 0.3 * width < focal < 5 * width else None


def from_edge(
    edge_px: ArrayLike,
    spec: TableSpec,
    intrinsics: Intrinsics | None,
    *,
    size: tuple[int, int],
    camera_height: float = 2.0,
    method: str = "auto",
    rms_px: float | None = None,
) -> TableCalibration:
    """A calibration from the felt edge's four corners (undistorted pixels, message order).

    Without intrinsics, the focal length comes from the view's perspective when there is enough
    of it, and otherwise from the assumed camera height (a straight-down view cannot tell a
    long lens far away from a short one close by; only the ball-centre plane depends on it).
    """
    width, height = size
    if intrinsics is None:
        focal = estimate_focal(edge_px, spec, width, height)
        source = "estimated"
        if focal is None:
            trial = Intrinsics.pinhole(width, height, float(width))
            rvec, tvec, _ = pose_from_edge(edge_px, trial, spec)
            cam_z = _camera_height(rvec, tvec)
            focal = width * camera_height / max(cam_z, 1e-6)
            source = "assumed"
        intrinsics = Intrinsics.pinhole(width, height, focal, source)
    rvec, tvec, rms = pose_from_edge(edge_px, intrinsics, spec)
    return TableCalibration(
        spec, intrinsics, rvec, tvec, method, rms if rms_px is None else rms_px, time.time_ns()
    )


def _camera_height(rvec: F64, tvec: F64) -> float:
    rot, _ = cv2.Rodrigues(rvec)
    return float((-rot.T @ tvec.ravel())[2])


def order_corners(quad: ArrayLike) -> F64:
    """Four image points of a table rectangle in the message's order: a long side first, table
    +x pointing as much to the image's right as possible (then up), table +y to its left."""
    pts = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angle = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(-angle)]  # counter-clockwise on screen (y down)
    sides = [np.linalg.norm(pts[(i + 1) % 4] - pts[i]) for i in range(4)]
    long_first = 0 if sides[0] + sides[2] >= sides[1] + sides[3] else 1
    best: F64 | None = None
    best_score = -math.inf
    for start in (long_first, long_first + 2):
        cand = np.roll(pts, -start, axis=0)
        direction = cand[1] - cand[0]
        score = direction[0] - 1e-3 * direction[1]
        if score > best_score:
            best, best_score = cand, score
    assert best is not None
    return best


def save(calibration: TableCalibration, path: Path) -> None:
    """Write the calibration as JSON (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(calibration.as_dict(), indent=2))
    os.replace(tmp, path)


def load(path: Path) -> TableCalibration | None:
    """Read a stored calibration; None if there is none or it is unreadable (logged)."""
    try:
        return TableCalibration.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable calibration %s: %s", path, exc)
        return None
