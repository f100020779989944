"""Exact perspective images of spheres: silhouettes for ground truth, and per-pixel ray casting
in small regions for rendering (anti-aliased by the signed distance of each pixel's ray).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.ray import RayGrid

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]

OUTLINE_POINTS = 24


@dataclass(frozen=True, slots=True)
class Silhouettes:
    """Where spheres appear in the (distorted) image.

    ``centre_px`` is the projection of each sphere's centre (what ground truth reports);
    ``radius_px`` the radius of the disc with the silhouette's area; ``centroid_px`` the
    centroid of the silhouette, which differs from ``centre_px`` by a fraction of a pixel off
    the optical axis; ``bbox`` (x0, y0, x1, y1) bounds the silhouette.
    """

    centre_px: F64
    radius_px: F64
    centroid_px: F64
    bbox: F64


def silhouettes(camera: CameraModel, centres: F64, radius: float) -> Silhouettes:
    """Silhouettes of spheres of ``radius`` at table-frame ``centres`` (K, 3)."""
    k = len(centres)
    eye = camera.position
    axis = centres - eye
    dist = np.linalg.norm(axis, axis=1)
    unit = axis / dist[:, None]
    helper = np.where(np.abs(unit[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = np.cross(unit, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(unit, e1)
    rho = radius * np.sqrt(1.0 - (radius / dist) ** 2)
    middle = centres - unit * (radius * radius / dist)[:, None]
    theta = np.linspace(0.0, 2 * math.pi, OUTLINE_POINTS, endpoint=False)
    ring = (
        np.cos(theta)[None, :, None] * e1[:, None, :]
        + np.sin(theta)[None, :, None] * e2[:, None, :]
    )
    outline = middle[:, None, :] + rho[:, None, None] * ring
    px = camera.project(np.concatenate([centres, outline.reshape(-1, 3)]))
    centre_px = px[:k]
    poly = px[k:].reshape(k, OUTLINE_POINTS, 2)
    area, centroid = _polygon_area_centroid(poly)
    step = 2 * math.pi / OUTLINE_POINTS
    area = np.abs(area) * step / math.sin(step)  # the inscribed polygon's area -> the curve's
    grow = 1.0 / math.cos(step / 2)  # the polygon's vertices are on the curve; its edges are inside
    bbox = np.concatenate([poly.min(axis=1), poly.max(axis=1)], axis=1)
    mid = 0.5 * (bbox[:, :2] + bbox[:, 2:])
    bbox = np.concatenate(
        [mid + (bbox[:, :2] - mid) * grow, mid + (bbox[:, 2:] - mid) * grow], axis=1
    )
    return Silhouettes(centre_px, np.sqrt(area / math.pi), centroid, bbox)


def _polygon_area_centroid(poly: F64) -> tuple[F64, F64]:
    x, y = poly[..., 0], poly[..., 1]
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    cross = x * yn - xn * y
    area = cross.sum(axis=1) / 2
    cx = ((x + xn) * cross).sum(axis=1) / (6 * area)
    cy = ((y + yn) * cross).sum(axis=1) / (6 * area)
    return area, np.stack([cx, cy], axis=1)


@dataclass(frozen=True, slots=True)
class SphereHits:
    """Pixels covered by spheres: flat padded-grid ``index``, coverage ``alpha``, camera-z
    ``depth``, unit surface ``normal`` in camera coordinates, which sphere (``which``), and how
    much of the surface one pixel spans (``footprint``, in radii, foreshortening included:
    texture edges are smoothed over it)."""

    index: IDX
    alpha: F64
    depth: F64
    normal: F64
    which: IDX
    footprint: F64


def region_pixels(rays: RayGrid, bbox: F64, margin: float = 1.5) -> tuple[IDX, IDX, IDX]:
    """Rows, cols (padded grid) and owner of every pixel in each box (K, 4) grown by margin."""
    rows_p, cols_p = rays.shape
    pad = rays.pad
    x0 = np.clip(np.floor(bbox[:, 0] - margin).astype(np.intp) + pad, 0, cols_p)
    y0 = np.clip(np.floor(bbox[:, 1] - margin).astype(np.intp) + pad, 0, rows_p)
    x1 = np.clip(np.ceil(bbox[:, 2] + margin).astype(np.intp) + pad + 1, 0, cols_p)
    y1 = np.clip(np.ceil(bbox[:, 3] + margin).astype(np.intp) + pad + 1, 0, rows_p)
    w = np.maximum(x1 - x0, 0)
    h = np.maximum(y1 - y0, 0)
    counts = w * h
    owner = np.repeat(np.arange(len(bbox)), counts)
    local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    wo = w[owner]
    return y0[owner] + local // wo, x0[owner] + local % wo, owner


def cast_spheres(rays: RayGrid, centres_cam: F64, radius: float, bbox: F64) -> SphereHits:
    """Ray-cast spheres (camera-frame centres (K, 3)) in their boxes."""
    rows, cols, which = region_pixels(rays, bbox)
    d = rays.directions[rows, cols].astype(np.float64)
    centre = centres_cam[which]
    along = np.einsum("ij,ij->i", d, centre)
    perp = np.linalg.norm(np.cross(d, centre), axis=1)
    signed = (perp - radius) / (along * rays.pixel_angle[rows, cols])
    alpha = np.clip(0.5 - signed, 0.0, 1.0)
    keep = (alpha > 0) & rays.valid[rows, cols] & (along > radius)
    rows, cols, which, d = rows[keep], cols[keep], which[keep], d[keep]
    along, perp, centre = along[keep], perp[keep], centre[keep]
    inside = np.minimum(perp, radius * (1 - 1e-9))
    t = along - np.sqrt(radius * radius - inside * inside)
    normal = t[:, None] * d - centre
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    index = rows * rays.shape[1] + cols
    facing = np.maximum(-np.einsum("ij,ij->i", normal, d), 0.15)
    footprint = t * rays.pixel_angle[rows, cols] / radius / facing
    return SphereHits(index, alpha[keep], t * d[:, 2], normal, which, footprint)
