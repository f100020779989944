"""Shading of the static table: cloth, cushions, wood, rubber, pocket wells and the floor.

Colours are linear BGR; a shaded value is albedo x (ambient + direct light) x exposure, plus a
varnish highlight on wood. Textures (cloth mottling and brushing, wood grain, floor) are
procedural noise seeded by the table style.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from nodes.vision.synthetic.lighting import Lighting, direct, highlight, reference_irradiance
from nodes.vision.synthetic.surface import Material
from nodes.vision.synthetic.table import TableLayout, TableStyle

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

TEXEL = 0.003  # metres per texel of the cloth and wood textures


class TableShader:
    """Shades points of the static table, given where they are and which way they face."""

    def __init__(
        self,
        layout: TableLayout,
        style: TableStyle,
        lighting: Lighting,
        eye: F64,
        exposure: float,
    ) -> None:
        self.layout = layout
        self.style = style
        self.lighting = lighting
        self.eye = eye
        self.exposure = exposure
        self.ambient = lighting.ambient * reference_irradiance(lighting, *layout.half)
        self.tint = lighting.colour
        rng = np.random.default_rng(style.seed)
        ox, oy = layout.outer
        shape = (math.ceil(2 * oy / TEXEL) + 2, math.ceil(2 * ox / TEXEL) + 2)
        self.cloth_tex = _cloth_texture(shape, rng, style.cloth_texture)
        self.grain_tex = _noise(shape, 12.0, rng)
        self.floor_tex = _noise((512, 512), 2.0, rng)
        self.light_map = _light_map(layout, lighting, shape)

    def shade(self, material: Material, pts: F64, normal: F64, d: F64, pocket: I64) -> F32:
        """Linear BGR (N, 3) of table points ``pts`` seen along rays ``d``."""
        if material == Material.HOLE:
            return self._hole(pts, d, pocket)
        albedo, ao, shine = self._albedo(material, pts)
        if material == Material.CLOTH:
            lit = self._sample(self.light_map, pts) - 1.0
        else:
            lit = direct(self.lighting, pts, normal)
        light = self.ambient * ao * (0.65 + 0.35 * normal[:, 2]) + lit
        out = albedo * light[:, None]
        if shine > 0:
            out += (0.04 * self.ambient + 0.06) * highlight(
                self.lighting, pts, normal, self.eye, shine
            )[:, None]
        return np.asarray(out * self.tint * self.exposure, np.float32)

    def well_depth(self, pts: F64, d: F64, pocket: I64) -> F64:
        """How much further (camera z) a ray entering a pocket travels before it meets the wall."""
        holes = self.layout.holes[pocket]
        q = pts[:, :2] - holes[:, :2]
        dxy = d[:, :2]
        a = np.maximum(np.einsum("ij,ij->i", dxy, dxy), 1e-12)
        b = np.einsum("ij,ij->i", q, dxy)
        c = np.einsum("ij,ij->i", q, q) - holes[:, 2] ** 2
        return np.asarray((-b + np.sqrt(np.maximum(b * b - a * c, 0.0))) / a)

    def _hole(self, pts: F64, d: F64, pocket: I64) -> F32:
        s = self.well_depth(pts, d, pocket)
        wall_z = pts[:, 2] + s * d[:, 2]
        fade = np.exp(np.clip(wall_z / 0.045, -30.0, 0.0)) * np.where(wall_z > 0, 0.25, 1.0)
        liner = colour.rgb(self.style.rubber) * 1.5
        level = (self.ambient * 0.8 + 0.25 * reference_irradiance(self.lighting, 0.1, 0.1)) * fade
        return np.asarray(liner * level[:, None] * self.tint * self.exposure, np.float32)

    def _albedo(self, material: Material, pts: F64) -> tuple[F64, F64, float]:
        """Albedo (N, 3), ambient occlusion (N,) and highlight shininess (0 = matte)."""
        n = len(pts)
        ones = np.ones(n)
        if material == Material.CLOTH:
            return self._cloth(pts), self._cloth_occlusion(pts), 0.0
        if material in (Material.CUSHION, Material.FACING):
            dim = 1.0 if material == Material.CUSHION else 0.75
            return self._cloth_colour(pts) * dim, ones * dim, 0.0
        if material == Material.WOOD:
            return self._wood(pts), ones, 60.0
        if material == Material.RIM:
            return np.tile(colour.rgb(self.style.rubber), (n, 1)), ones, 25.0
        if material in (Material.BEVEL, Material.APRON):
            return self._wood(pts) * 0.8, ones * 0.8, 30.0
        if material == Material.CABINET:
            return np.tile(colour.rgb(self.style.wood_dark) * 0.6, (n, 1)), ones * 0.5, 0.0
        return self._floor(pts), self._floor_occlusion(pts), 0.0

    def _cloth_colour(self, pts: F64) -> F64:
        tex = self._sample(self.cloth_tex, pts)
        return colour.rgb(self.style.cloth)[None, :] * tex[:, None]

    def _cloth(self, pts: F64) -> F64:
        albedo = self._cloth_colour(pts)
        spot = colour.rgb(self.style.spot)
        for sx, sy in self.layout.spots:
            inside = (pts[:, 0] - sx) ** 2 + (pts[:, 1] - sy) ** 2 < self.layout.spot_radius**2
            albedo[inside] = spot
        return albedo

    def _cloth_occlusion(self, pts: F64) -> F64:
        """Darkening at the foot of the cushions and around the pocket openings."""
        hx, hy = self.layout.half
        nose = np.clip(np.minimum(hx - np.abs(pts[:, 0]), hy - np.abs(pts[:, 1])), 0.0, None)
        ao = 1.0 - 0.3 * np.exp(-nose / 0.004) - 0.1 * np.exp(-nose / 0.03)
        near = np.flatnonzero(nose < 0.1)
        x, y = pts[near, 0], pts[near, 1]
        rim = np.full(len(near), np.inf)
        for cx, cy, r in self.layout.holes:
            rim = np.minimum(rim, np.hypot(x - cx, y - cy) - r)
        ao[near] *= 1.0 - 0.5 * np.exp(-np.clip(rim, 0.0, None) / 0.012)
        return np.asarray(ao)

    def _wood(self, pts: F64) -> F64:
        ry = self.layout.rail_line[1]
        long_rail = np.abs(pts[:, 1]) > ry
        along = np.where(long_rail, pts[:, 0], pts[:, 1])
        across = np.where(long_rail, pts[:, 1], pts[:, 0])
        wobble = self._sample(self.grain_tex, pts) - 1.0
        grain = 0.5 + 0.5 * np.sin(2 * math.pi * (across / 0.0045 + 0.6 * wobble + 0.2 * along))
        mix = np.clip(0.3 + 0.3 * grain**4 + 0.12 * wobble, 0.0, 1.0)
        light, dark = colour.rgb(self.style.wood), colour.rgb(self.style.wood_dark)
        albedo = light[None, :] * (1 - mix[:, None]) + dark[None, :] * mix[:, None]
        a, b = self.layout.diamond_size
        pearl = colour.rgb(self.style.diamond)
        for dx, dy in self.layout.diamonds:
            on_long = abs(dy) > ry
            da, db = (
                (pts[:, 0] - dx, pts[:, 1] - dy) if on_long else (pts[:, 1] - dy, pts[:, 0] - dx)
            )
            albedo[np.abs(da) / (a / 2) + np.abs(db) / (b / 2) <= 1.0] = pearl
        return np.asarray(albedo)

    def _floor(self, pts: F64) -> F64:
        u = (pts[:, 0] / 0.01) % 512
        v = (pts[:, 1] / 0.01) % 512
        tex = 1.0 + 0.08 * _lookup(self.floor_tex, u, v)
        return np.asarray(colour.rgb(self.style.floor)[None, :] * tex[:, None])

    def _floor_occlusion(self, pts: F64) -> F64:
        ox, oy = self.layout.outer
        out = np.hypot(
            np.clip(np.abs(pts[:, 0]) - ox, 0, None), np.clip(np.abs(pts[:, 1]) - oy, 0, None)
        )
        return np.asarray(1.0 - 0.75 * np.exp(-out / 0.35))

    def _sample(self, tex: F32, pts: F64) -> F64:
        ox, oy = self.layout.outer
        return _lookup(tex, (pts[:, 0] + ox) / TEXEL, (pts[:, 1] + oy) / TEXEL) + 1.0


def _light_map(layout: TableLayout, lighting: Lighting, shape: tuple[int, int]) -> F32:
    """Direct irradiance on the cloth plane (normal up) at texel centres, coarse then smooth."""
    ox, oy = layout.outer
    step = 8
    rows, cols = np.mgrid[0 : shape[0] + step : step, 0 : shape[1] + step : step]
    pts = np.column_stack(
        [cols.ravel() * TEXEL - ox, rows.ravel() * TEXEL - oy, np.zeros(rows.size)]
    )
    up = np.tile([0.0, 0.0, 1.0], (len(pts), 1))
    coarse = direct(lighting, pts, up).reshape(rows.shape).astype(np.float32)
    fine = np.asarray(cv2.resize(coarse, None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR))
    shift = np.array([[1, 0, (step - 1) / 2], [0, 1, (step - 1) / 2]], np.float32)
    fine = np.asarray(cv2.warpAffine(fine, shift, (shape[1], shape[0]), flags=cv2.INTER_LINEAR))
    return np.asarray(fine, np.float32)


def _lookup(tex: F32, u: F64, v: F64) -> F64:
    """Bilinear samples of a 2-D texture at texel coordinates (u = column, v = row)."""
    n = len(u)
    width = 4096
    rows = max(1, -(-n // width))
    mu = np.zeros(rows * width, np.float32)
    mv = np.zeros(rows * width, np.float32)
    mu[:n], mv[:n] = u, v
    out = cv2.remap(
        tex,
        mu.reshape(rows, width),
        mv.reshape(rows, width),
        cv2.INTER_LINEAR,
        None,
        cv2.BORDER_REFLECT,
    )
    return np.asarray(out.ravel()[:n], np.float64)


def _noise(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> F32:
    """Gaussian-blurred white noise with unit standard deviation."""
    white = rng.standard_normal(shape).astype(np.float32)
    field = np.asarray(cv2.GaussianBlur(white, (0, 0), sigma), np.float32)
    return np.asarray(field / max(float(field.std()), 1e-6), np.float32)


def _cloth_texture(shape: tuple[int, int], rng: np.random.Generator, amplitude: float) -> F32:
    """Relative cloth brightness minus one: mottling, pilling and brushing marks along x."""
    mottle = _noise(shape, 14.0, rng)
    pill = _noise(shape, 0.7, rng)
    white = rng.standard_normal(shape).astype(np.float32)
    streak = np.asarray(cv2.GaussianBlur(white, (0, 0), sigmaX=45.0, sigmaY=1.0), np.float32)
    streak /= max(float(streak.std()), 1e-6)
    return np.asarray(amplitude * (0.5 * mottle + 0.3 * pill + 0.35 * streak), np.float32)
