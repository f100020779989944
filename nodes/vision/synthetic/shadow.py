"""Soft shadows on the cloth: each ball blocks part of the room's ambient light around its
contact point (the form factor of a sphere seen from the cloth) and casts one soft elliptical
shadow per lamp, with a penumbra as wide as the lamp's diffuser makes it.

The result is a light factor (1 = unshadowed) per covered pixel; the compositor multiplies the
cloth by it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.lighting import Lighting, direct
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.sphere import region_pixels

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
IDX = NDArray[np.intp]

REACH = 1.8  # ambient occlusion is drawn out to this many radii from the contact point


@dataclass(frozen=True, slots=True)
class Shadows:
    """Light factors for padded-grid pixels (``index``)."""

    index: IDX
    light: F32


class ShadowCaster:
    """Shadows of balls on the cloth for one camera and lighting."""

    def __init__(self, rays: RayGrid, table_xy: F32, lighting: Lighting, ambient: float) -> None:
        self.rays = rays
        self.camera: CameraModel = rays.camera
        self.table_xy = table_xy
        self.lamps = np.array([[lamp.x, lamp.y, lamp.z] for lamp in lighting.lamps])
        self.sizes = np.array([lamp.size for lamp in lighting.lamps])
        self.lighting = lighting
        self.ambient = ambient

    def balls(self, centres: F64, radius: float, coarse: bool = False) -> Shadows:
        """Shadows of balls at table-frame centres (K, 3). ``coarse`` evaluates every other
        pixel in each direction and spreads the value over its 2x2 block (for moving balls:
        4x cheaper, and their shadows are blurred anyway)."""
        if len(centres) == 0:
            return Shadows(np.zeros(0, np.intp), np.zeros(0, np.float32))
        share_amb, share, spots, stretch, size = self._geometry(centres, radius)
        boxes = self._boxes(centres, radius, spots, stretch, size)
        rows, cols, which = region_pixels(self.rays, boxes, 0.5)
        pad = self.rays.pad
        r_img, c_img = rows - pad, cols - pad
        inside = (
            (r_img >= 0) & (r_img < self.camera.height) & (c_img >= 0) & (c_img < self.camera.width)
        )
        if coarse:
            inside &= (rows % 2 == 0) & (cols % 2 == 0)
        rows, cols, which = rows[inside], cols[inside], which[inside]
        p = self.table_xy[rows - pad, cols - pad]
        px, py = p[:, 0], p[:, 1]
        rx = px - centres[which, 0].astype(np.float32)
        ry = py - centres[which, 1].astype(np.float32)
        height = centres[which, 2].astype(np.float32)
        ambient = (share_amb * radius**2).astype(np.float32)[which]
        occluded = ambient * height / (rx * rx + ry * ry + height * height) ** 1.5
        spots32, stretch32, size32 = (a.astype(np.float32) for a in (spots, stretch, size))
        share32 = share.astype(np.float32)
        for lamp in range(len(self.lamps)):
            qx = px - spots32[which, lamp, 0]
            qy = py - spots32[which, lamp, 1]
            sx, sy = stretch32[which, lamp, 0], stretch32[which, lamp, 1]
            along = qx * sx + qy * sy
            across_sq = qx * qx + qy * qy - along * along / (sx * sx + sy * sy)
            rho = np.sqrt(np.maximum(along * along + across_sq, 0.0))
            edge, pen = size32[which, lamp, 0], size32[which, lamp, 1]
            occluded += share32[which, lamp] * np.clip((edge + pen / 2 - rho) / pen, 0.0, 1.0)
        light = 1.0 - np.clip(occluded, 0.0, 0.95)
        keep = light < 0.998
        index = rows[keep] * self.rays.shape[1] + cols[keep]
        light = light[keep].astype(np.float32)
        if coarse:
            width = self.rays.shape[1]
            index = (index[:, None] + np.array([0, 1, width, width + 1])[None, :]).ravel()
            light = np.repeat(light, 4)
        return Shadows(index, light)

    def _geometry(self, centres: F64, radius: float) -> tuple[F64, F64, F64, F64, F64]:
        """Per ball: ambient share; per ball and lamp: light share, shadow centre on the cloth,
        the radial axis scaled so that |q.axis| measures distance in minor-radius units along
        it, and (shadow radius, penumbra width)."""
        k, n = len(centres), len(self.lamps)
        contact = np.column_stack([centres[:, :2], np.zeros(k)])
        up = np.tile([0.0, 0.0, 1.0], (k, 1))
        each = np.stack(
            [direct(_only(self.lighting, j), contact, up) for j in range(n)], axis=1
        ).reshape(k, n)
        total = self.ambient + each.sum(axis=1)
        lamp = self.lamps[None, :, :]
        centre = centres[:, None, :]
        h, top = centre[..., 2], lamp[..., 2]
        scale = top / (top - h)
        spots = lamp[..., :2] + (centre[..., :2] - lamp[..., :2]) * scale[..., None]
        offset = centre - lamp
        cos_theta = -offset[..., 2] / np.linalg.norm(offset, axis=2)
        radial = centre[..., :2] - lamp[..., :2]
        norm = np.maximum(np.linalg.norm(radial, axis=2, keepdims=True), 1e-9)
        stretch = radial / norm * cos_theta[..., None]
        edge = radius * scale
        pen = np.maximum(self.sizes[None, :] * h / (top - h), 0.002)
        size = np.stack([edge, pen], axis=2)
        return self.ambient / total, each / total[:, None], spots, stretch, size

    def _boxes(self, centres: F64, radius: float, spots: F64, stretch: F64, size: F64) -> F64:
        """Image-space boxes (K, 4) that hold each ball's shadows."""
        reach = REACH * radius
        lo = centres[:, :2] - reach
        hi = centres[:, :2] + reach
        cos_theta = np.maximum(np.linalg.norm(stretch, axis=2), 0.2)
        extent = (size[..., 0] / cos_theta + size[..., 1])[..., None]
        lo = np.minimum(lo, (spots - extent).min(axis=1))
        hi = np.maximum(hi, (spots + extent).max(axis=1))
        corners = np.stack(
            [
                np.column_stack([x, y, np.zeros(len(lo))])
                for x in (lo[:, 0], hi[:, 0])
                for y in (lo[:, 1], hi[:, 1])
            ],
            axis=1,
        )
        px = self.camera.project(corners.reshape(-1, 3)).reshape(-1, 4, 2)
        return np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1)


def _only(lighting: Lighting, index: int) -> Lighting:
    return replace(lighting, lamps=(lighting.lamps[index],))
