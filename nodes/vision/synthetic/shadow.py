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
from nodes.vision.synthetic.capsule import Capsule, outline_pixels
from nodes.vision.synthetic.lighting import Lighting, direct
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.sphere import region_pixels

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
IDX = NDArray[np.intp]

REACH = 1.8  # ambient occlusion is drawn out to this many radii from the contact point
LOW_ENOUGH = 0.3  # m: higher parts of cue and arms cast no visible shadow


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
        keep = self._in_image(rows, cols, coarse)
        rows, cols, which = rows[keep], cols[keep], which[keep]
        pad = self.rays.pad
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
        return self._shadows(rows, cols, 1.0 - np.clip(occluded, 0.0, 0.95), coarse)

    def capsules(self, capsules: list[Capsule], coarse: bool = False) -> Shadows:
        """Soft shadows of the cue, hands and arms on the cloth, from every lamp (``coarse``:
        only from the lamp that lights them most, at half resolution, for moving parts).
        Parts higher than LOW_ENOUGH above the cloth cast none (too soft to see)."""
        parts = [c for c in (_lowered(c) for c in capsules) if c is not None]
        if not parts:
            return Shadows(np.zeros(0, np.intp), np.zeros(0, np.float32))
        lamps = range(len(self.lamps))
        if coarse:
            middle = np.array([[*np.mean([c.a[:2] for c in parts], axis=0), 0.0]])
            up = np.array([[0.0, 0.0, 1.0]])
            lamps = range(
                _brightest(self.lighting, middle, up), _brightest(self.lighting, middle, up) + 1
            )
        rows_l, cols_l, dark_l = [], [], []
        for lamp in lamps:
            for capsule in parts:
                cast = self._capsule(capsule, lamp, coarse)
                if cast is not None:
                    rows_l.append(cast[0])
                    cols_l.append(cast[1])
                    dark_l.append(cast[2])
        if not rows_l:
            return Shadows(np.zeros(0, np.intp), np.zeros(0, np.float32))
        light = 1.0 - np.clip(np.concatenate(dark_l).astype(np.float64), 0.0, 0.95)
        return self._shadows(np.concatenate(rows_l), np.concatenate(cols_l), light, coarse)

    def _capsule(self, capsule: Capsule, lamp: int, coarse: bool) -> tuple[IDX, IDX, F32] | None:
        """Pixels and darkness of one capsule's shadow from one lamp."""
        light = self.lamps[lamp]
        ends = np.array([capsule.a, capsule.b])
        drop = light[2] / (light[2] - ends[:, 2])
        foot = light[:2] + (ends[:, :2] - light[:2]) * drop[:, None]
        radius = np.array([capsule.ra, capsule.rb]) * drop
        pen = np.maximum(self.sizes[lamp] * ends[:, 2] / (light[2] - ends[:, 2]), 0.002)
        reach = radius + pen / 2
        flat = Capsule((*foot[0], 0.0), (*foot[1], 0.0), float(reach[0]), float(reach[1]), 0)
        rows, cols = outline_pixels(self.rays, flat)
        keep = self._in_image(rows, cols, coarse)
        rows, cols = rows[keep], cols[keep]
        if len(rows) == 0:
            return None
        p = self.table_xy[rows - self.rays.pad, cols - self.rays.pad].astype(np.float64)
        seg = foot[1] - foot[0]
        s = np.clip((p - foot[0]) @ seg / max(float(seg @ seg), 1e-12), 0.0, 1.0)
        gap = np.linalg.norm(p - (foot[0] + s[:, None] * seg), axis=1)
        r = radius[0] + s * (radius[1] - radius[0])
        w = pen[0] + s * (pen[1] - pen[0])
        cover = np.clip((r + w / 2 - gap) / w, 0.0, 1.0) * np.minimum(1.0, 2 * r / w)
        mid = np.array([[*(0.5 * (foot[0] + foot[1])), 0.0]])
        each = direct(_only(self.lighting, lamp), mid, np.array([[0.0, 0.0, 1.0]]))[0]
        total = self.ambient + direct(self.lighting, mid, np.array([[0.0, 0.0, 1.0]]))[0]
        dark = (each / total) * cover
        near = dark > 0.002
        return rows[near], cols[near], dark[near].astype(np.float32)

    def _in_image(self, rows: IDX, cols: IDX, coarse: bool) -> NDArray[np.bool_]:
        pad = self.rays.pad
        r, c = rows - pad, cols - pad
        inside = (r >= 0) & (r < self.camera.height) & (c >= 0) & (c < self.camera.width)
        if coarse:
            inside &= (rows % 2 == 0) & (cols % 2 == 0)
        return np.asarray(inside)

    def _shadows(self, rows: IDX, cols: IDX, light: F64, coarse: bool) -> Shadows:
        """Pixels that get darker; with ``coarse`` each value covers its 2x2 block."""
        keep = light < 0.998
        index = rows[keep] * self.rays.shape[1] + cols[keep]
        out = light[keep].astype(np.float32)
        if coarse:
            width = self.rays.shape[1]
            index = (index[:, None] + np.array([0, 1, width, width + 1])[None, :]).ravel()
            out = np.repeat(out, 4)
        return Shadows(index, out)

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


def _lowered(capsule: Capsule) -> Capsule | None:
    """The part of a capsule below LOW_ENOUGH (None if it is all above)."""
    za, zb = capsule.a[2], capsule.b[2]
    if min(za, zb) >= LOW_ENOUGH:
        return None
    if max(za, zb) <= LOW_ENOUGH:
        return capsule
    a, b = np.array(capsule.a), np.array(capsule.b)
    t = (LOW_ENOUGH - za) / (zb - za)
    cut = a + t * (b - a)
    radius = capsule.ra + t * (capsule.rb - capsule.ra)
    if za < zb:
        return replace(capsule, b=(float(cut[0]), float(cut[1]), float(cut[2])), rb=radius)
    return replace(capsule, a=(float(cut[0]), float(cut[1]), float(cut[2])), ra=radius)


def _brightest(lighting: Lighting, point: F64, normal: F64) -> int:
    """Index of the lamp giving the most light at a point."""
    each = [float(direct(_only(lighting, j), point, normal)[0]) for j in range(len(lighting.lamps))]
    return int(np.argmax(each))


def _only(lighting: Lighting, index: int) -> Lighting:
    return replace(lighting, lamps=(lighting.lamps[index],))
