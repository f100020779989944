"""The static table rendered once per camera: everything but balls, cue, hands and shadows.

The table is ray-cast into a supersampled pinhole canvas (planes with exact inside tests and a
depth buffer), shaded in linear light, box-filtered down, and warped once through the lens
distortion with ``cv2.remap``. Per frame the renderer only copies the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.lighting import Lighting, reference_irradiance
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.shading import TableShader
from nodes.vision.synthetic.surface import Material, Surface, surfaces
from nodes.vision.synthetic.table import TableLayout, TableStyle

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

CLOTH_TARGET = 0.16  # auto exposure: linear luminance of the best-lit cloth
GAIN_RANGE = (0.8, 1.6)  # auto exposure limits, relative to white paper at 0.85


@dataclass(frozen=True, slots=True)
class Backdrop:
    """The empty table as the camera sees it, plus per-pixel maps the renderer needs.

    ``depth`` is the camera-z distance of the static surface behind each pixel; ``cloth`` the
    share of the pixel that is playing cloth (it takes ball shadows); ``table_xy`` where the
    pixel's ray meets the cloth plane z = 0; ``vignette`` the lens fall-off already applied to
    ``image``; ``exposure`` converts irradiance to linear pixel values.
    """

    image: U8
    depth: F32
    cloth: F32
    table_xy: F32
    vignette: F32
    exposure: float


def render_backdrop(
    layout: TableLayout,
    style: TableStyle,
    lighting: Lighting,
    rays: RayGrid,
    *,
    supersample: int = 2,
    vignetting: float = 0.0,
    gain: float | None = None,
) -> Backdrop:
    """Ray-cast, shade and warp the empty table for ``rays.camera``; ``gain`` fixes the
    exposure (see :func:`auto_exposure`), None meters it on the cloth."""
    camera = rays.camera
    exposure = auto_exposure(style, lighting, layout, gain)
    canvas = _Canvas(camera, rays, supersample)
    parts = surfaces(layout)
    for index, surface in enumerate(parts):
        canvas.draw(index, surface)
    shader = TableShader(layout, style, lighting, camera.position, exposure)
    table = canvas.shade(parts, shader)
    floor_share = canvas.shrink((canvas.surface < 0).astype(np.float32))
    floor, floor_depth = _Canvas(camera, rays, 1).floor(layout.floor_z, shader)
    linear = canvas.shrink(table) + floor * floor_share[..., None]
    depth = canvas.shrink(np.where(canvas.surface < 0, 0.0, canvas.depth).astype(np.float32))
    depth += floor_depth * floor_share
    cloth = (canvas.materials(parts) == Material.CLOTH).astype(np.float32)
    warp = _Warp(canvas, rays)
    image_lin = warp.apply(linear)
    vignette = _vignette(camera, vignetting)
    image_lin *= vignette[:, :, None]
    return Backdrop(
        image=colour.encode(image_lin),
        depth=warp.apply(depth),
        cloth=warp.apply(canvas.shrink(cloth)),
        table_xy=_cloth_plane(rays),
        vignette=vignette,
        exposure=exposure,
    )


def auto_exposure(
    style: TableStyle, lighting: Lighting, layout: TableLayout, gain: float | None = None
) -> float:
    """Irradiance-to-pixel scale. With ``gain`` g, white paper (albedo 0.85) on the best-lit
    cloth reads 0.85 g in linear light; without, g makes the cloth read about CLOTH_TARGET (a
    camera metering the table), within GAIN_RANGE so white balls do not all clip on dark
    cloth."""
    reference = reference_irradiance(lighting, *layout.half) * (1.0 + lighting.ambient)
    if gain is None:
        bgr = colour.rgb(style.cloth)
        luminance = 0.0722 * bgr[0] + 0.7152 * bgr[1] + 0.2126 * bgr[2]
        gain = min(max(CLOTH_TARGET / (0.85 * luminance), GAIN_RANGE[0]), GAIN_RANGE[1])
    return float(0.85 * gain / reference)


class _Canvas:
    """A supersampled undistorted view with a depth buffer, covering the distorted image."""

    def __init__(self, camera: CameraModel, rays: RayGrid, scale: int) -> None:
        p = rays.pad
        norm = rays.normalized[p - 1 : p + camera.height + 1, p - 1 : p + camera.width + 1]
        ok = rays.valid[p - 1 : p + camera.height + 1, p - 1 : p + camera.width + 1]
        xs, ys = norm[..., 0][ok], norm[..., 1][ok]
        self.scale = scale
        self.c1x = -camera.fx * float(xs.min()) + 3.0
        self.c1y = -camera.fy * float(ys.min()) + 3.0
        w1 = math.ceil(camera.fx * float(xs.max() - xs.min())) + 7
        h1 = math.ceil(camera.fy * float(ys.max() - ys.min())) + 7
        self.size1 = (w1, h1)
        self.shape = (h1 * scale, w1 * scale)
        self.fx, self.fy = camera.fx * scale, camera.fy * scale
        self.cx, self.cy = scale * (self.c1x + 0.5) - 0.5, scale * (self.c1y + 0.5) - 0.5
        self.rot = camera.rotation
        self.tvec = np.array(camera.tvec)
        self.eye = camera.position
        self.depth = np.full(self.shape, np.inf, np.float32)
        self.surface = np.full(self.shape, -1, np.int16)
        self.hit = np.zeros((*self.shape, 3), np.float32)

    def rays(self, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> F64:
        """Table-frame ray directions with unit camera-z for canvas pixels."""
        xn = (cols - self.cx) / self.fx
        yn = (rows - self.cy) / self.fy
        return np.asarray(xn[:, None] * self.rot[0] + yn[:, None] * self.rot[1] + self.rot[2])

    def candidates(self, outline: F64) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Canvas pixels on or near the projected outline polygon."""
        cam = outline @ self.rot.T + self.tvec
        if (cam[:, 2] <= 1e-3).any():
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        u = self.fx * cam[:, 0] / cam[:, 2] + self.cx
        v = self.fy * cam[:, 1] / cam[:, 2] + self.cy
        x0, y0 = max(int(u.min()) - 2, 0), max(int(v.min()) - 2, 0)
        x1 = min(int(u.max()) + 3, self.shape[1])
        y1 = min(int(v.max()) + 3, self.shape[0])
        if x1 <= x0 or y1 <= y0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round(np.column_stack([u - x0, v - y0]) * 16).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1, cv2.LINE_8, 4)
        cv2.polylines(mask, [pts], True, 1, 3, cv2.LINE_8, 4)
        rows, cols = np.nonzero(mask)
        return rows + y0, cols + x0

    def draw(self, index: int, surface: Surface) -> None:
        """Depth-test the surface into the buffers."""
        rows, cols = self.candidates(surface.outline)
        if len(rows) == 0:
            return
        d = self.rays(rows, cols)
        denom = d @ surface.normal
        facing = np.abs(denom) > 1e-9 if surface.two_sided else denom < -1e-9
        t = np.where(
            facing, (surface.point - self.eye) @ surface.normal / np.where(facing, denom, 1.0), -1.0
        )
        hit = self.eye + t[:, None] * d
        keep = (t > 0) & (t < self.depth[rows, cols]) & surface.contains(hit)
        rows, cols = rows[keep], cols[keep]
        self.depth[rows, cols] = t[keep]
        self.surface[rows, cols] = index
        self.hit[rows, cols] = hit[keep]

    def floor(self, floor_z: float, shader: TableShader) -> tuple[F32, F32]:
        """The floor under every canvas pixel: linear BGR and depth."""
        rows, cols = np.indices(self.shape).reshape(2, -1)
        d = self.rays(rows, cols)
        t = (floor_z - self.eye[2]) / np.minimum(d[:, 2], -1e-6)
        pts = self.eye + t[:, None] * d
        up = np.zeros_like(pts)
        up[:, 2] = 1.0
        lin = shader.shade(Material.FLOOR, pts, up, d, np.zeros(len(t), np.int64))
        return lin.reshape(*self.shape, 3), t.reshape(self.shape).astype(np.float32)

    def materials(self, parts: list[Surface]) -> NDArray[np.int16]:
        """Material id per canvas pixel (FLOOR where no surface)."""
        lookup = np.array([int(Material.FLOOR)] + [int(s.material) for s in parts], np.int16)
        return np.asarray(lookup[self.surface + 1])

    def shade(self, parts: list[Surface], shader: TableShader) -> F32:
        """Linear BGR of every covered canvas pixel (the floor stays black: it is shaded at 1x);
        pocket pixels get the depth of the well wall."""
        normals = np.array([[0.0, 0.0, 1.0]] + [s.normal for s in parts])
        pockets = np.array([-1] + [s.pocket for s in parts])
        materials = self.materials(parts)
        out = np.zeros((*self.shape, 3), np.float32)
        for material in Material:
            if material == Material.FLOOR:
                continue
            rows, cols = np.nonzero(materials == material)
            if len(rows) == 0:
                continue
            idx = self.surface[rows, cols] + 1
            d = self.rays(rows, cols)
            normal = normals[idx]
            flip = np.einsum("ij,ij->i", normal, d) > 0
            normal[flip] *= -1.0
            pts = self.hit[rows, cols].astype(np.float64)
            out[rows, cols] = shader.shade(material, pts, normal, d, pockets[idx])
            if material == Material.HOLE:
                self.depth[rows, cols] += shader.well_depth(pts, d, pockets[idx])
        return out

    def shrink(self, image: NDArray[np.float32]) -> F32:
        """Box-filter a canvas-sized image to the 1x canvas."""
        small = cv2.resize(image, self.size1, interpolation=cv2.INTER_AREA)
        return np.asarray(small, np.float32)


class _Warp:
    """Resamples 1x canvas images into the distorted camera image."""

    def __init__(self, canvas: _Canvas, rays: RayGrid) -> None:
        p = rays.pad
        h, w = rays.camera.height, rays.camera.width
        norm = rays.normalized[p : p + h, p : p + w]
        camera = rays.camera
        self.map_x = (camera.fx * norm[..., 0] + canvas.c1x).astype(np.float32)
        self.map_y = (camera.fy * norm[..., 1] + canvas.c1y).astype(np.float32)
        bad = ~rays.valid[p : p + h, p : p + w]
        self.map_x[bad] = -10.0
        self.map_y[bad] = -10.0

    def apply(self, image: NDArray[np.float32]) -> F32:
        warped = cv2.remap(
            image, self.map_x, self.map_y, cv2.INTER_LINEAR, None, cv2.BORDER_CONSTANT, 0
        )
        return np.asarray(warped, np.float32)


def _vignette(camera: CameraModel, strength: float) -> F32:
    """1 - strength * (r / r_corner)^2 around the principal point."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width].astype(np.float32)
    r2 = ((u - camera.cx) / camera.fx) ** 2 + ((v - camera.cy) / camera.fy) ** 2
    corner = max(
        ((x - camera.cx) / camera.fx) ** 2 + ((y - camera.cy) / camera.fy) ** 2
        for x in (0, camera.width - 1)
        for y in (0, camera.height - 1)
    )
    return np.asarray(1.0 - strength * r2 / corner, np.float32)


def _cloth_plane(rays: RayGrid) -> F32:
    """Where each image pixel's ray meets the plane z = 0 (NaN if it points up)."""
    camera = rays.camera
    p = rays.pad
    d = rays.directions[p : p + camera.height, p : p + camera.width].astype(np.float64)
    d_table = d @ camera.rotation
    eye = camera.position
    t = -eye[2] / np.where(d_table[..., 2] < -1e-9, d_table[..., 2], np.nan)
    xy = eye[:2] + t[..., None] * d_table[..., :2]
    return np.asarray(xy, np.float32)
