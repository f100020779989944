"""The synthetic camera's geometry: a pinhole with Brown-Conrady distortion posed above the table.

One :class:`CameraModel` is shared by the renderer and by everything that scores a detector, so
ground-truth projections are exact. It follows OpenCV's conventions (``cv2.projectPoints``):
camera x right, y down, z forward; a table point X maps to ``R @ X + t`` in camera coordinates;
``dist`` is (k1, k2, p1, p2, k3). Pixel (i, j) covers [i - 0.5, i + 0.5] x [j - 0.5, j + 0.5], so
integer coordinates are pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

Distortion = tuple[float, float, float, float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraModel:
    """Intrinsics, distortion and pose of one camera; table frame metres in, pixels out."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist: Distortion = (0.0, 0.0, 0.0, 0.0, 0.0)
    rvec: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tvec: tuple[float, float, float] = (0.0, 0.0, 2.0)

    @property
    def matrix(self) -> F64:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_coeffs(self) -> F64:
        """(k1, k2, p1, p2, k3) as OpenCV wants them."""
        return np.array(self.dist, dtype=np.float64)

    @property
    def rotation(self) -> F64:
        """R: table frame to camera frame."""
        rot, _ = cv2.Rodrigues(np.array(self.rvec, dtype=np.float64))
        return np.asarray(rot, dtype=np.float64)

    @property
    def position(self) -> F64:
        """The camera centre in table metres."""
        return np.asarray(-self.rotation.T @ np.array(self.tvec), dtype=np.float64)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height

    @property
    def distorted(self) -> bool:
        """True when any distortion coefficient is non-zero."""
        return any(c != 0.0 for c in self.dist)

    def to_camera(self, points: ArrayLike) -> F64:
        """Table-frame points (N, 3) in camera coordinates (N, 3)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return np.asarray(pts @ self.rotation.T + np.array(self.tvec), dtype=np.float64)

    def project(self, points: ArrayLike) -> F64:
        """Table-frame points (N, 3) to distorted pixel coordinates (N, 2), as cv2.projectPoints."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 3)
        if len(pts) == 0:
            return np.zeros((0, 2))
        px, _ = cv2.projectPoints(
            pts, np.array(self.rvec), np.array(self.tvec), self.matrix, self.dist_coeffs
        )
        return np.asarray(px, dtype=np.float64).reshape(-1, 2)

    def undistort(self, pixels: ArrayLike) -> F64:
        """Distorted pixels (N, 2) to normalized pinhole coordinates (N, 2), to 1e-9 px."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        xd = (px[:, 0] - self.cx) / self.fx
        yd = (px[:, 1] - self.cy) / self.fy
        return undistort_normalized(xd, yd, self.dist)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CameraModel:
        """The inverse of :meth:`as_dict`."""
        return CameraModel(
            width=int(data["width"]),
            height=int(data["height"]),
            fx=float(data["fx"]),
            fy=float(data["fy"]),
            cx=float(data["cx"]),
            cy=float(data["cy"]),
            dist=_five(data.get("dist", (0.0,) * 5)),
            rvec=_three(data["rvec"]),
            tvec=_three(data["tvec"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraPose:
    """Where the camera hangs and where it looks.

    The optical axis meets the cloth at (target_x, target_y); it leans ``tilt_deg`` from the
    vertical towards the table direction ``tilt_azimuth_deg`` (0 = +x, counter-clockwise), and
    the camera centre is ``height`` metres above the cloth. ``yaw_deg`` is the direction of the
    image's x axis in the table plane (0: table +x points right in the image, table +y up).
    """

    height: float = 2.0
    tilt_deg: float = 0.0
    tilt_azimuth_deg: float = 0.0
    yaw_deg: float = 0.0
    target_x: float = 0.0
    target_y: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Lens:
    """Intrinsics relative to the image: ``fill`` is the share of the image (width or height,
    whichever binds) that the outline ``extent`` spans; distortion is Brown-Conrady."""

    fill: float = 0.92
    aspect: float = 1.0
    principal_dx: float = 0.0
    principal_dy: float = 0.0
    dist: Distortion = (0.0, 0.0, 0.0, 0.0, 0.0)


def camera_from_pose(
    pose: CameraPose, lens: Lens, width: int, height: int, extent: tuple[float, float]
) -> CameraModel:
    """A camera whose image holds the rectangle +-extent (metres, on the cloth) at ``lens.fill``."""
    rot = _rotation(pose)
    forward = rot[2]
    target = np.array([pose.target_x, pose.target_y, 0.0])
    eye = target - forward * (pose.height / -forward[2])
    tvec = -rot @ eye
    ex, ey = extent
    corners = np.array([[sx * ex, sy * ey, 0.0] for sx in (-1, 0, 1) for sy in (-1, 0, 1)])
    cam = corners @ rot.T + tvec
    xn, yn = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    cx = (width - 1) / 2.0 + lens.principal_dx
    cy = (height - 1) / 2.0 + lens.principal_dy
    half_w = min(cx + 0.5, width - 0.5 - cx)
    half_h = min(cy + 0.5, height - 0.5 - cy)
    focal = lens.fill * min(half_w / np.abs(xn).max(), half_h / (np.abs(yn).max() * lens.aspect))
    rvec, _ = cv2.Rodrigues(rot)
    return CameraModel(
        width=width,
        height=height,
        fx=float(focal),
        fy=float(focal * lens.aspect),
        cx=cx,
        cy=cy,
        dist=lens.dist,
        rvec=_three(np.asarray(rvec).ravel()),
        tvec=_three(tvec),
    )


def _rotation(pose: CameraPose) -> F64:
    """Rows: the camera's x (right), y (down) and z (forward) axes in table coordinates."""
    tilt, azimuth = math.radians(pose.tilt_deg), math.radians(pose.tilt_azimuth_deg)
    forward = np.array(
        [math.sin(tilt) * math.cos(azimuth), math.sin(tilt) * math.sin(azimuth), -math.cos(tilt)]
    )
    yaw = math.radians(pose.yaw_deg)
    right = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    right = right - forward * float(right @ forward)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def undistort_normalized(xd: F64, yd: F64, dist: Distortion) -> F64:
    """Invert Brown-Conrady on normalized coordinates (N, 2): OpenCV's fixed-point estimate,
    polished by Newton steps. Points with no preimage (beyond the fold of a strong barrel
    distortion) come back as NaN."""
    if not any(dist):
        return np.stack([xd, yd], axis=1)
    points = np.stack([xd, yd], axis=1).reshape(-1, 1, 2)
    guess = np.asarray(
        cv2.undistortPoints(points, np.eye(3), np.array(dist, dtype=np.float64)), np.float64
    ).reshape(-1, 2)
    x, y = guess[:, 0].copy(), guess[:, 1].copy()
    active = np.arange(len(x))
    for _ in range(40):
        dx, dy, fold = _newton_step(x[active], y[active], xd[active], yd[active], dist)
        x[active] += dx
        y[active] += dy
        x[active[fold]] = np.nan
        done = (np.abs(dx) < 1e-13) & (np.abs(dy) < 1e-13) | fold
        active = active[~done]
        if len(active) == 0:
            break
    x[active] = np.nan
    return np.stack([x, y], axis=1)


def _newton_step(
    x: F64, y: F64, xd: F64, yd: F64, dist: Distortion
) -> tuple[F64, F64, NDArray[np.bool_]]:
    k1, k2, p1, p2, k3 = dist
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    slope = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    ex = xd - (x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x))
    ey = yd - (y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y)
    j11 = radial + 2.0 * x * x * slope + 2.0 * p1 * y + 6.0 * p2 * x
    j12 = 2.0 * x * y * slope + 2.0 * p1 * x + 2.0 * p2 * y
    j22 = radial + 2.0 * y * y * slope + 6.0 * p1 * y + 2.0 * p2 * x
    det = j11 * j22 - j12 * j12
    fold = ~(det > 1e-6) | ~np.isfinite(x)
    det = np.where(fold, 1.0, det)
    dx = np.clip((j22 * ex - j12 * ey) / det, -0.1, 0.1)
    dy = np.clip((j11 * ey - j12 * ex) / det, -0.1, 0.1)
    return np.where(fold, 0.0, dx), np.where(fold, 0.0, dy), fold


def _three(values: ArrayLike) -> tuple[float, float, float]:
    v = [float(a) for a in np.asarray(values, dtype=np.float64).ravel()]
    return v[0], v[1], v[2]


def _five(values: ArrayLike) -> Distortion:
    v = [float(a) for a in np.asarray(values, dtype=np.float64).ravel()]
    return v[0], v[1], v[2], v[3], v[4]
