"""The static table as flat pieces ("surfaces") that a ray can hit: cloth, cushion tops, jaw
faces, pocket openings, rails, rubber rims, bevels, apron, cabinet.

Each surface is a plane, an outline polygon (used only to find candidate pixels) and an exact
``contains`` test in table coordinates, so edges land where the geometry says, whatever the
rasteriser does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.table import CushionTop, Facing, TableLayout

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]


class Material(IntEnum):
    """What a surface is made of (decides its shading)."""

    FLOOR = 0
    CLOTH = 1
    CUSHION = 2
    FACING = 3
    WOOD = 4
    RIM = 5
    HOLE = 6
    BEVEL = 7
    APRON = 8
    CABINET = 9


@dataclass(frozen=True, slots=True)
class Surface:
    """A planar piece of the table. ``pocket`` is the pocket index for HOLE surfaces."""

    material: Material
    outline: F64  # (N, 3) polygon in table metres enclosing the surface
    point: F64  # (3,) a point on the plane
    normal: F64  # (3,) unit normal on the visible side
    contains: Callable[[F64], Mask]  # (N, 3) points on the plane -> inside
    pocket: int = -1
    two_sided: bool = False


def surfaces(layout: TableLayout) -> list[Surface]:
    """Every surface of the table, floor excluded (the renderer treats it as the background)."""
    out = [_cloth(layout)]
    out += [_cushion(layout, top) for top in layout.cushions]
    out += [_nose_face(layout, top) for top in layout.cushions]
    out += [_facing(layout, face) for face in layout.facings]
    out += _rails(layout)
    out += _pockets(layout)
    out += _sides(layout)
    return out


def _up(z: float) -> tuple[F64, F64]:
    return np.array([0.0, 0.0, z]), np.array([0.0, 0.0, 1.0])


def _rect(hx: float, hy: float, z: float) -> F64:
    return np.array([[-hx, -hy, z], [hx, -hy, z], [hx, hy, z], [-hx, hy, z]])


def _in_holes(layout: TableLayout, p: F64, extra: float = 0.0) -> Mask:
    hx, hy = layout.half
    reach = 2 * float(layout.holes[:, 2].max()) + extra
    out = np.zeros(len(p), bool)
    near = np.flatnonzero((np.abs(p[:, 0]) > hx - reach) | (np.abs(p[:, 1]) > hy - reach))
    x, y = p[near, 0], p[near, 1]
    hit = np.zeros(len(near), bool)
    for cx, cy, r in layout.holes:
        hit |= (x - cx) ** 2 + (y - cy) ** 2 < (r + extra) ** 2
    out[near] = hit
    return out


def _inside_rail_line(layout: TableLayout, p: F64) -> Mask:
    rx, ry = layout.rail_line
    return np.asarray((np.abs(p[:, 0]) <= rx) & (np.abs(p[:, 1]) <= ry))


def _in_polygons(polygons: tuple[F64, ...], p: F64) -> Mask:
    """Inside any of the convex counter-clockwise polygons."""
    out = np.zeros(len(p), bool)
    for poly in polygons:
        edges = np.roll(poly, -1, axis=0) - poly
        inside = np.ones(len(p), bool)
        for (x0, y0), (ex, ey) in zip(poly, edges, strict=True):
            inside &= ex * (p[:, 1] - y0) - ey * (p[:, 0] - x0) >= 0
        out |= inside
    return out


def _on_cloth(layout: TableLayout, p: F64) -> Mask:
    """Over the playing surface or the cloth between a pocket's jaws."""
    hx, hy = layout.half
    cut = layout.undercut
    inside = (np.abs(p[:, 0]) <= hx + cut) & (np.abs(p[:, 1]) <= hy + cut)
    rest = np.flatnonzero(~inside)
    inside[rest] = _in_polygons(layout.throats, p[rest])
    return np.asarray(inside)


def _cloth(layout: TableLayout) -> Surface:
    rx, ry = layout.rail_line
    point, normal = _up(0.0)

    def contains(p: F64) -> Mask:
        return _on_cloth(layout, p) & ~_in_holes(layout, p)

    return Surface(Material.CLOTH, _rect(rx, ry, 0.0), point, normal, contains)


def _cushion(layout: TableLayout, top: CushionTop) -> Surface:
    poly = top.polygon
    z = top.height(poly[:, 0], poly[:, 1])
    outline = np.column_stack([poly, z])
    nx, ny = top.normal
    slope = (top.back_z - top.nose_z) / top.depth
    normal = np.array([slope * nx, slope * ny, 1.0]) / math.sqrt(1.0 + slope * slope)

    def contains(p: F64) -> Mask:
        return _in_polygons((poly,), p)

    return Surface(Material.CUSHION, outline, outline[0], normal, contains)


def _nose_face(layout: TableLayout, top: CushionTop) -> Surface:
    """The cushion's face below the nose, sloping back to the cloth (seen on far cushions)."""
    nx, ny = top.normal
    cut = layout.undercut
    a, b = np.array(top.nose), np.array(top.nose_end)
    back = -np.array([nx, ny]) * cut
    outline = np.array([[*a, top.nose_z], [*b, top.nose_z], [*(b + back), 0.0], [*(a + back), 0.0]])
    normal = np.array([nx * top.nose_z, ny * top.nose_z, -cut])
    normal /= np.linalg.norm(normal)
    along = (b - a) / np.linalg.norm(b - a)
    length = float(np.linalg.norm(b - a))

    def contains(p: F64) -> Mask:
        s = (p[:, 0] - a[0]) * along[0] + (p[:, 1] - a[1]) * along[1]
        return np.asarray((s >= 0) & (s <= length) & (p[:, 2] >= 0) & (p[:, 2] <= top.nose_z))

    return Surface(Material.FACING, outline, outline[0], normal, contains)


def _cloth_height(layout: TableLayout, x: float, y: float) -> float:
    """Height of the cushion top above (x, y), for points at or behind the nose."""
    hx, hy = layout.half
    behind = max(abs(x) - hx, abs(y) - hy, 0.0)
    share = min(behind / layout.table.cushion_width, 1.0)
    nose = layout.table.cushion_height
    return nose + (layout.rail_height - nose) * share


def _facing(layout: TableLayout, face: Facing) -> Surface:
    a, b = np.array([face.x0, face.y0]), np.array([face.x1, face.y1])
    along = b - a
    length = float(np.hypot(*along))
    along /= length
    za, zb = _cloth_height(layout, *a), _cloth_height(layout, *b)
    outline = np.array([[*a, 0.0], [*b, 0.0], [*b, zb], [*a, za]])
    normal = np.array([-along[1], along[0], 0.0])

    def contains(p: F64) -> Mask:
        s = (p[:, 0] - a[0]) * along[0] + (p[:, 1] - a[1]) * along[1]
        top = za + (zb - za) * np.clip(s / length, 0.0, 1.0)
        return np.asarray((s >= 0) & (s <= length) & (p[:, 2] >= 0) & (p[:, 2] <= top))

    return Surface(Material.FACING, outline, outline[0], normal, contains, two_sided=True)


def _rails(layout: TableLayout) -> list[Surface]:
    rx, ry = layout.rail_line
    ox, oy = layout.outer
    inner_x, inner_y = ox - layout.bevel, oy - layout.bevel
    z = layout.rail_height
    point, normal = _up(z)

    def wood(p: F64) -> Mask:
        ring = (np.abs(p[:, 0]) <= inner_x) & (np.abs(p[:, 1]) <= inner_y)
        ring &= ~_inside_rail_line(layout, p)
        return np.asarray(ring & ~_in_holes(layout, p, layout.rim))

    strips = [
        np.array(
            [[-inner_x, ry, z], [inner_x, ry, z], [inner_x, inner_y, z], [-inner_x, inner_y, z]]
        ),
        np.array(
            [[-inner_x, -inner_y, z], [inner_x, -inner_y, z], [inner_x, -ry, z], [-inner_x, -ry, z]]
        ),
        np.array([[rx, -ry, z], [inner_x, -ry, z], [inner_x, ry, z], [rx, ry, z]]),
        np.array([[-inner_x, -ry, z], [-rx, -ry, z], [-rx, ry, z], [-inner_x, ry, z]]),
    ]
    return [Surface(Material.WOOD, s, point, normal, wood) for s in strips]


def _circle(x: float, y: float, r: float, z: float, n: int = 40) -> F64:
    a = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r_out = r / math.cos(math.pi / n)
    return np.column_stack([x + r_out * np.cos(a), y + r_out * np.sin(a), np.full(n, z)])


def _pockets(layout: TableLayout) -> list[Surface]:
    """Per pocket: the opening at cloth level, the opening (and the liner around it) at rail
    level, and the rubber rim in the rail."""
    out: list[Surface] = []
    z_rail = layout.rail_height
    cushions = tuple(top.polygon for top in layout.cushions)
    for k, (x, y, r) in enumerate(layout.holes):

        def inside(p: F64, x: float = x, y: float = y, r: float = r) -> Mask:
            return np.asarray((p[:, 0] - x) ** 2 + (p[:, 1] - y) ** 2 < r * r)

        def low(p: F64, inside: Callable[[F64], Mask] = inside) -> Mask:
            return inside(p) & _on_cloth(layout, p)

        def high(p: F64, inside: Callable[[F64], Mask] = inside) -> Mask:
            within = _inside_rail_line(layout, p)
            liner = within & ~_on_cloth(layout, p) & ~_in_polygons(cushions, p)
            return np.asarray((inside(p) & ~within) | liner)

        def rim(p: F64, x: float = x, y: float = y, r: float = r) -> Mask:
            d2 = (p[:, 0] - x) ** 2 + (p[:, 1] - y) ** 2
            ring = (d2 >= r * r) & (d2 < (r + layout.rim) ** 2)
            return np.asarray(ring & ~_inside_rail_line(layout, p))

        p0, n0 = _up(0.0)
        p1, n1 = _up(z_rail)
        out.append(Surface(Material.HOLE, _circle(x, y, r, 0.0), p0, n0, low, pocket=k))
        out.append(Surface(Material.HOLE, _circle(x, y, r + 0.02, z_rail), p1, n1, high, pocket=k))
        out.append(Surface(Material.RIM, _circle(x, y, r + layout.rim, z_rail), p1, n1, rim))
    return out


def _sides(layout: TableLayout) -> list[Surface]:
    """Bevel, apron and cabinet faces on the four sides of the table."""
    ox, oy = layout.outer
    b, zr = layout.bevel, layout.rail_height
    low, inset, floor = -layout.apron_depth, layout.cabinet_inset, layout.floor_z
    out: list[Surface] = []
    for axis in (0, 1):
        for sign in (-1.0, 1.0):
            half = (ox, oy)[axis]
            other = (oy, ox)[axis]
            out.append(_side_face(Material.BEVEL, axis, sign, half - b, half, zr, zr - b, other))
            out.append(_side_face(Material.APRON, axis, sign, half, half, zr - b, low, other))
            out.append(
                _side_face(
                    Material.CABINET,
                    axis,
                    sign,
                    half - inset,
                    half - inset,
                    low,
                    floor,
                    other - inset,
                )
            )
    return out


def _side_face(
    material: Material,
    axis: int,
    sign: float,
    d_top: float,
    d_bottom: float,
    z_top: float,
    z_bottom: float,
    span: float,
) -> Surface:
    """A face along one side: from distance d_top at z_top to d_bottom at z_bottom from the
    centre line, spanning +-span along the side."""

    def point(d: float, s: float, z: float) -> list[float]:
        return [sign * d, s, z] if axis == 0 else [s, sign * d, z]

    outline = np.array(
        [
            point(d_top, -span, z_top),
            point(d_top, span, z_top),
            point(d_bottom, span, z_bottom),
            point(d_bottom, -span, z_bottom),
        ]
    )
    out_dir = np.zeros(3)
    out_dir[axis] = sign
    normal = out_dir * (z_top - z_bottom) + np.array([0.0, 0.0, d_bottom - d_top])
    normal /= np.linalg.norm(normal)
    other = 1 - axis

    def contains(p: F64) -> Mask:
        return np.asarray(
            (np.abs(p[:, other]) <= span) & (p[:, 2] <= z_top + 1e-9) & (p[:, 2] >= z_bottom - 1e-9)
        )

    return Surface(material, outline, outline[0], normal, contains)
