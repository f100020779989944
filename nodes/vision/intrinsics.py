"""A camera's intrinsics: camera matrix and Brown-Conrady distortion, and the point mappings
between distorted image pixels and undistorted ones (points only, never whole images)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Intrinsics:
    """Camera matrix and distortion (OpenCV's k1, k2, p1, p2, k3) for one image size."""

    width: int
    height: int
    matrix: F64
    dist: F64 = field(default_factory=lambda: np.zeros(5))
    source: str = "assumed"  # chessboard, estimated (from the table) or assumed
    rms_px: float | None = None

    @staticmethod
    def pinhole(width: int, height: int, focal: float, source: str = "assumed") -> Intrinsics:
        """No distortion, square pixels, principal point at the image centre."""
        matrix = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]])
        return Intrinsics(width, height, matrix.astype(np.float64), np.zeros(5), source)

    @property
    def focal(self) -> float:
        """Mean focal length in pixels."""
        return float((self.matrix[0, 0] + self.matrix[1, 1]) / 2)

    @property
    def distorted(self) -> bool:
        """Whether any distortion coefficient is non-zero."""
        return bool(self.dist.any())

    def undistort(self, pixels: ArrayLike) -> F64:
        """Distorted image pixels (N, 2) to undistorted pixels (same camera matrix)."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if not self.distorted or len(px) == 0:
            return px.copy()
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-10)
        out = cv2.undistortPoints(
            px.reshape(-1, 1, 2), self.matrix, self.dist, None, None, self.matrix, criteria
        )
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def distort(self, pixels: ArrayLike) -> F64:
        """Undistorted pixels (N, 2) to image pixels."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if not self.distorted or len(px) == 0:
            return px.copy()
        inv = np.linalg.inv(self.matrix)
        rays = np.hstack([px, np.ones((len(px), 1))]) @ inv.T
        out, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), self.matrix, self.dist)
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same lens for frames resized to ``width`` x ``height``."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        scale = np.diag([sx, sy, 1.0])
        matrix = scale @ self.matrix
        matrix[0, 2] = (self.matrix[0, 2] + 0.5) * sx - 0.5
        matrix[1, 2] = (self.matrix[1, 2] + 0.5) * sy - 0.5
        return replace(self, width=width, height=height, matrix=matrix)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "width": self.width,
            "height": self.height,
            "matrix": self.matrix.ravel().tolist(),
            "dist": self.dist.ravel().tolist(),
            "source": self.source,
            "rms_px": self.rms_px,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Intrinsics:
        """Inverse of :meth:`as_dict`."""
        return Intrinsics(
            int(data["width"]),
            int(data["height"]),
            np.array(data["matrix"], dtype=np.float64).reshape(3, 3),
            np.array(data.get("dist") or [0.0] * 5, dtype=np.float64).ravel()[:5],
            str(data.get("source", "assumed")),
            data.get("rms_px"),
        )
