"""Tapered capsules (a cone frustum with round ends): the cue's shaft and butt, fingers,
palms and arms. Ray-cast per pixel inside the projected outline, anti-aliased like spheres."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.ray import RayGrid

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Capsule:
    """From ``a`` (radius ``ra``) to ``b`` (radius ``rb``), table metres. ``part`` says what it
    is (the painter colours it), ``offset`` is the distance of ``a`` along the whole object
    (the cue's bands are measured from the tip)."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    ra: float
    rb: float
    part: int
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class CapsuleHits:
    """Covered pixels: padded-grid ``index``, ``alpha``, camera-z ``depth``, table-frame
    ``point`` and unit ``normal``, distance ``along`` the object, and which capsule."""

    index: IDX
    alpha: F64
    depth: F64
    point: F64
    normal: F64
    along: F64
    which: IDX


def outline_pixels(rays: RayGrid, capsule: Capsule) -> tuple[IDX, IDX]:
    """Padded-grid rows and cols inside the convex hull of the capsule's projection."""
    camera = rays.camera
    a, b = np.array(capsule.a), np.array(capsule.b)
    length = float(np.linalg.norm(b - a))
    steps = max(2, int(length / 0.08) + 2)
    s = np.linspace(0.0, 1.0, steps)
    axis = a[None, :] + s[:, None] * (b - a)[None, :]
    radius = capsule.ra + s * (capsule.rb - capsule.ra)
    cam_z = camera.to_camera(axis)[:, 2]
    if (cam_z < 0.05).any():
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    centre = camera.project(axis)
    stretch = 1.4 if camera.distorted else 1.05  # local magnification of the lens, at most
    reach = radius * np.maximum(camera.fx, camera.fy) / cam_z * stretch + 1.2
    ring = np.linspace(0.0, 2 * np.pi, 8, endpoint=False)
    offsets = np.stack([np.cos(ring), np.sin(ring)], axis=1)
    pts = (centre[:, None, :] + reach[:, None, None] * offsets[None, :, :]).reshape(-1, 2)
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    return _scanline(hull + rays.pad, rays.shape)


def _scanline(poly: F64, shape: tuple[int, int]) -> tuple[IDX, IDX]:
    """Pixel centres inside a convex polygon (x, y), clipped to the grid."""
    y0 = max(int(np.ceil(poly[:, 1].min())), 0)
    y1 = min(int(np.floor(poly[:, 1].max())), shape[0] - 1)
    if y1 < y0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    ys = np.arange(y0, y1 + 1, dtype=np.float64)
    p0, p1 = poly, np.roll(poly, -1, axis=0)
    dy = p1[:, 1] - p0[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ys[:, None] - p0[None, :, 1]) / dy[None, :]
        x = p0[None, :, 0] + t * (p1[None, :, 0] - p0[None, :, 0])
    ok = (t >= 0) & (t <= 1) & (dy != 0)[None, :]
    left = np.where(ok, x, np.inf).min(axis=1)
    right = np.where(ok, x, -np.inf).max(axis=1)
    xl = np.clip(np.ceil(left), 0, shape[1]).astype(np.intp)
    xr = np.clip(np.floor(right) + 1, 0, shape[1]).astype(np.intp)
    count = np.maximum(xr - xl, 0)
    rows = np.repeat(ys.astype(np.intp), count)
    start = np.repeat(xl, count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return rows, start + local


def cast_capsules(rays: RayGrid, capsules: list[Capsule]) -> CapsuleHits:
    """Ray-cast capsules (where they overlap, each keeps its own fragments; the compositor
    sorts them by depth)."""
    rows_l, cols_l, which_l = [], [], []
    for k, capsule in enumerate(capsules):
        rows, cols = outline_pixels(rays, capsule)
        rows_l.append(rows)
        cols_l.append(cols)
        which_l.append(np.full(len(rows), k, np.intp))
    rows, cols, which = (
        np.concatenate(x) if x else np.zeros(0, np.intp) for x in (rows_l, cols_l, which_l)
    )
    return _cast(rays, capsules, rows, cols, which)


def _cast(rays: RayGrid, capsules: list[Capsule], rows: IDX, cols: IDX, which: IDX) -> CapsuleHits:
    camera = rays.camera
    rot, eye = camera.rotation, camera.position
    a_all = np.array([c.a for c in capsules]).reshape(-1, 3)
    b_all = np.array([c.b for c in capsules]).reshape(-1, 3)
    len_all = np.maximum(np.linalg.norm(b_all - a_all, axis=1), 1e-9)
    u_all = (b_all - a_all) / len_all[:, None]
    a, u, length = a_all[which], u_all[which], len_all[which]
    ra = np.array([c.ra for c in capsules])[which] if capsules else np.zeros(0)
    rb = np.array([c.rb for c in capsules])[which] if capsules else np.zeros(0)
    d = rays.directions[rows, cols].astype(np.float64) @ rot  # table frame, unit
    w = a - eye
    du = np.einsum("ij,ij->i", d, u)
    wu = np.einsum("ij,ij->i", w, u)
    denom = np.maximum(1.0 - du * du, 1e-9)
    s = np.clip((np.einsum("ij,ij->i", d, w) * du - wu) / denom, 0.0, length)
    centre = a + s[:, None] * u
    t_c = np.einsum("ij,ij->i", d, centre - eye)
    gap = np.linalg.norm(eye + t_c[:, None] * d - centre, axis=1)
    radius = ra + (rb - ra) * s / length
    signed = (gap - radius) / (t_c * rays.pixel_angle[rows, cols])
    alpha = np.clip(0.5 - signed, 0.0, 1.0)
    keep = (alpha > 0) & rays.valid[rows, cols] & (t_c > radius)
    d, t_c, gap, radius, s = d[keep], t_c[keep], gap[keep], radius[keep], s[keep]
    centre, u, length, which = centre[keep], u[keep], length[keep], which[keep]
    a, denom = a[keep], denom[keep]
    inside = np.minimum(gap, radius * (1 - 1e-9))
    # a ray meets the body (a cylinder about the axis) where its distance from the axis, which
    # grows as sqrt(1 - du^2) per unit along the ray from the closest approach, reaches the
    # radius; a round end (the closest approach clipped to an end) as a sphere
    body = (s > 0) & (s < length)
    slant = np.where(body, np.sqrt(denom), 1.0)
    t = t_c - np.sqrt(radius * radius - inside * inside) / slant
    point = eye + t[:, None] * d
    normal = point - centre
    normal -= (np.einsum("ij,ij->i", normal, u) * body)[:, None] * u
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    depth = (point - eye) @ rot[2]
    offset = np.array([c.offset for c in capsules])[which] if capsules else np.zeros(0)
    index = rows[keep] * rays.shape[1] + cols[keep]
    # the cue's bands are painted where the surface point lies along the axis (not where the
    # ray passes closest to it, which puts a band's edge up to a radius off on a slanted view;
    # nor clipped to an end, which painted a round end beyond the joint as the shaft)
    along = offset + np.einsum("ij,ij->i", point - a, u)
    return CapsuleHits(index, alpha[keep], depth, point, normal, along, which)
