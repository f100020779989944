"""Per-pixel viewing rays of a camera, computed once per camera and reused by every frame.

The grid extends ``pad`` pixels beyond each image border, so objects that straddle the border
are still rendered whole (their visible fraction then counts only the pixels inside).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.camera import CameraModel

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RayGrid:
    """Unit ray directions (camera frame) through every pixel centre of the padded image.

    ``normalized`` holds the undistorted pinhole coordinates (x/z, y/z); ``pixel_angle`` the
    angular size of each pixel in radians (for anti-aliased edges); ``valid`` is False where the
    lens model has no preimage. Index the arrays with ``row + pad, col + pad``.
    """

    camera: CameraModel
    pad: int
    directions: F32
    normalized: F32
    pixel_angle: F32
    valid: NDArray[np.bool_]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the padded grid."""
        return self.camera.height + 2 * self.pad, self.camera.width + 2 * self.pad

    @staticmethod
    def build(camera: CameraModel, pad: int) -> RayGrid:
        """Undistort every padded pixel centre (Newton-polished, ~1e-9 px)."""
        rows, cols = camera.height + 2 * pad, camera.width + 2 * pad
        u = np.arange(cols, dtype=np.float64) - pad
        v = np.arange(rows, dtype=np.float64) - pad
        uu, vv = np.meshgrid(u, v)
        norm = camera.undistort(np.stack([uu.ravel(), vv.ravel()], axis=1)).reshape(rows, cols, 2)
        valid = np.asarray(np.isfinite(norm).all(axis=2), bool)
        norm[~valid] = 0.0
        dirs = np.concatenate([norm, np.ones((rows, cols, 1))], axis=2)
        dirs /= np.linalg.norm(dirs, axis=2, keepdims=True)
        angle = _pixel_angle(dirs)
        return RayGrid(
            camera=camera,
            pad=pad,
            directions=dirs.astype(np.float32),
            normalized=norm.astype(np.float32),
            pixel_angle=angle.astype(np.float32),
            valid=valid,
        )


def _pixel_angle(dirs: NDArray[np.float64]) -> NDArray[np.float64]:
    """sqrt of the solid angle of each pixel: the side of a square pixel seen from the camera."""
    du = np.gradient(dirs, axis=1)
    dv = np.gradient(dirs, axis=0)
    area = np.linalg.norm(np.cross(du, dv), axis=2)
    return np.asarray(np.sqrt(np.maximum(area, 1e-14)), np.float64)
