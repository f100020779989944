"""Lamps over the table and how the light drifts over time.

Colours are linear RGB in BGR order (OpenCV's), scaled so that 1.0 is the camera's white point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lamp:
    """A shaded lamp hanging over the table: a point source aimed down, its light falling off
    as cos^directivity away from the vertical and with the inverse square of the distance."""

    x: float
    y: float
    z: float = 0.95
    power: float = 1.0
    directivity: float = 1.5
    size: float = 0.25  # diameter of the diffuser, m: softens shadows


@dataclass(frozen=True, slots=True, kw_only=True)
class Lighting:
    """The lamps, the room's ambient light and their colour; the drift over time is a slow
    sum of sines in intensity and colour temperature (a dimmer, a warming bulb)."""

    lamps: tuple[Lamp, ...]
    ambient: float = 0.22  # share of the brightest direct irradiance on the cloth
    kelvin: float = 4500.0
    white_balance_kelvin: float = 4500.0
    intensity_drift: float = 0.0  # peak relative change of brightness
    kelvin_drift: float = 0.0  # peak change of colour temperature, K
    drift_period_s: float = 20.0
    drift_phase: float = 0.0

    def gain(self, t: float) -> F64:
        """Per-channel (B, G, R) multiplier of the whole image at scene time t (1 = reference)."""
        if self.intensity_drift == 0.0 and self.kelvin_drift == 0.0:
            return np.ones(3)
        w = 2 * math.pi / self.drift_period_s
        phase = self.drift_phase
        level = 1.0 + self.intensity_drift * (
            0.7 * math.sin(w * t + phase) + 0.3 * math.sin(2.7 * w * t + 2 * phase)
        )
        kelvin = self.kelvin + self.kelvin_drift * math.sin(0.61 * w * t + 3 * phase)
        tint = kelvin_bgr(kelvin) / kelvin_bgr(self.kelvin)
        return np.asarray(level * tint, dtype=np.float64)

    @property
    def colour(self) -> F64:
        """The lamps' colour (B, G, R) as the white-balanced camera sees it."""
        return np.asarray(
            kelvin_bgr(self.kelvin) / kelvin_bgr(self.white_balance_kelvin), dtype=np.float64
        )

    @staticmethod
    def over_table(count: int = 3, length: float = 2.54, z: float = 0.95) -> Lighting:
        """``count`` equal lamps evenly spaced along the table's long axis."""
        xs = [length * ((k + 0.5) / count - 0.5) * 0.8 for k in range(count)]
        return Lighting(lamps=tuple(Lamp(x=x, y=0.0, z=z) for x in xs))


def kelvin_bgr(kelvin: float) -> F64:
    """Linear (B, G, R) of a black body at ``kelvin`` normalised to unit green (T. Helland's fit
    of the CIE 1964 colour-matching data, 1000-40000 K, decoded from sRGB)."""
    t = min(max(kelvin, 1000.0), 40000.0) / 100.0
    red = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    green = (
        99.4708025861 * math.log(t) - 161.1195681661
        if t <= 66
        else 288.1221695283 * (t - 60) ** -0.0755148492
    )
    if t >= 66:
        blue = 255.0
    elif t <= 19:
        blue = 0.0
    else:
        blue = 138.5177312231 * math.log(t - 10) - 305.0447927307
    srgb = np.clip(np.array([blue, green, red]) / 255.0, 0.0, 1.0)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return np.asarray(lin / max(lin[1], 1e-6), dtype=np.float64)


def direct(lighting: Lighting, points: F64, normals: F64) -> F64:
    """Direct irradiance (N,) from every lamp at table points (N, 3) with unit normals (N, 3)."""
    total = np.zeros(len(points))
    for lamp in lighting.lamps:
        to_lamp = np.array([lamp.x, lamp.y, lamp.z]) - points
        dist2 = np.einsum("ij,ij->i", to_lamp, to_lamp)
        inv = 1.0 / np.sqrt(dist2)
        cos_surface = np.einsum("ij,ij->i", to_lamp, normals) * inv
        cos_lamp = np.clip(to_lamp[:, 2] * inv, 0.0, 1.0)
        total += lamp.power * np.clip(cos_surface, 0.0, None) * cos_lamp**lamp.directivity / dist2
    return total


def highlight(lighting: Lighting, points: F64, normals: F64, eye: F64, shininess: float) -> F64:
    """Blinn-Phong specular term (N,) of every lamp, seen from ``eye`` (3,)."""
    view = eye - points
    view /= np.linalg.norm(view, axis=1, keepdims=True)
    total = np.zeros(len(points))
    for lamp in lighting.lamps:
        to_lamp = np.array([lamp.x, lamp.y, lamp.z]) - points
        dist2 = np.einsum("ij,ij->i", to_lamp, to_lamp)
        half = to_lamp / np.sqrt(dist2)[:, None] + view
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        cos_h = np.clip(np.einsum("ij,ij->i", half, normals), 0.0, 1.0)
        total += lamp.power * cos_h**shininess / dist2
    return total


def reference_irradiance(lighting: Lighting, half_x: float, half_y: float) -> float:
    """The brightest direct irradiance on the playing surface (exposure is set from it)."""
    xs, ys = np.meshgrid(np.linspace(-half_x, half_x, 41), np.linspace(-half_y, half_y, 21))
    pts = np.column_stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)])
    ups = np.tile([0.0, 0.0, 1.0], (len(pts), 1))
    return float(direct(lighting, pts, ups).max())
