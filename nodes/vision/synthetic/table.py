"""What the camera sees of the table: cloth, cushions, jaws, pockets, rails, diamonds, spots.

The playing surface, cushion noses, jaws and pocket circles come from the physics table
(``nodes.physics``), so the rendered pockets are the ones balls drop into. This module adds
what only matters to the eye: the wooden rails, the apron, the diamonds and the spots.
Everything is in table metres (origin at the cloth centre, x along the long axis, z up).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from nodes.physics.table import Cushion, Table

F64 = NDArray[np.float64]

DIAMOND_SETBACK = 0.0937  # sight centres behind the cushion nose (WPA: 3 11/16 in)


@dataclass(frozen=True, slots=True)
class CushionTop:
    """The cloth-covered top of one cushion: a convex polygon on a plane rising from the nose
    (``nose_z``) to the rail (``back_z``) over ``depth`` metres along ``-normal``."""

    polygon: F64  # (N, 2), counter-clockwise
    nose: tuple[float, float]  # where the straight nose starts
    nose_end: tuple[float, float]  # and where it ends
    normal: tuple[float, float]  # unit, pointing into the table
    nose_z: float
    back_z: float
    depth: float

    def height(self, x: F64, y: F64) -> F64:
        """z of the cushion top above the table points (x, y)."""
        behind = -((x - self.nose[0]) * self.normal[0] + (y - self.nose[1]) * self.normal[1])
        return np.asarray(self.nose_z + (self.back_z - self.nose_z) * behind / self.depth)


@dataclass(frozen=True, slots=True)
class Facing:
    """A vertical cloth face at a pocket: from (x0, y0) to (x1, y1), cloth-high."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class TableLayout:
    """The physics table plus the look of its rails, apron and markings."""

    table: Table
    rail_width: float = 0.115  # wood from the cushion back to the outer edge
    rail_height: float = 0.046  # top of the wood above the cloth
    bevel: float = 0.018  # rounded outer edge of the rail, as a 45-degree chamfer
    apron_depth: float = 0.20  # apron below the cloth
    cabinet_inset: float = 0.07
    floor_z: float = -0.78
    rim: float = 0.012  # rubber ring around a pocket opening in the rail
    undercut: float = 0.010  # the cushion face meets the cloth this far behind the nose
    spot_radius: float = 0.011
    diamond_size: tuple[float, float] = (0.022, 0.010)  # along, across the rail
    cushions: tuple[CushionTop, ...] = field(init=False)
    facings: tuple[Facing, ...] = field(init=False)
    throats: tuple[F64, ...] = field(init=False)

    def __post_init__(self) -> None:
        tops, faces = _cushions(self.table, self.rail_height)
        object.__setattr__(self, "cushions", tops)
        object.__setattr__(self, "facings", faces)
        object.__setattr__(self, "throats", _throats(self.table))

    @staticmethod
    def nine_foot() -> TableLayout:
        """A 9-ft table (2.54 x 1.27 m playing surface)."""
        return TableLayout(Table.nine_foot())

    @property
    def half(self) -> tuple[float, float]:
        """Half length and half width of the playing surface."""
        return self.table.length / 2, self.table.width / 2

    @property
    def rail_line(self) -> tuple[float, float]:
        """Half extents of the rectangle where the cushions meet the wood."""
        hx, hy = self.half
        return hx + self.table.cushion_width, hy + self.table.cushion_width

    @property
    def outer(self) -> tuple[float, float]:
        """Half extents of the table's outline seen from above."""
        rx, ry = self.rail_line
        return rx + self.rail_width, ry + self.rail_width

    @property
    def holes(self) -> F64:
        """(6, 3): x, y, radius of each pocket opening."""
        return np.array([[p.x, p.y, p.radius] for p in self.table.pockets])

    @property
    def diamonds(self) -> F64:
        """(18, 2): the sights on the rail tops (WPA: quarters of the short, eighths of the long
        rails, 3 11/16 in behind the nose)."""
        hx, hy = self.half
        out = [
            (k * hx / 4, s * (hy + DIAMOND_SETBACK)) for k in (-3, -2, -1, 1, 2, 3) for s in (-1, 1)
        ]
        out += [(s * (hx + DIAMOND_SETBACK), k * hy / 2) for k in (-1, 0, 1) for s in (-1, 1)]
        return np.array(out)

    @property
    def spots(self) -> F64:
        """(3, 2): head spot, centre spot, foot spot."""
        hx = self.half[0]
        return np.array([[-hx / 2, 0.0], [0.0, 0.0], [hx / 2, 0.0]])


def _cushions(table: Table, back_z: float) -> tuple[tuple[CushionTop, ...], tuple[Facing, ...]]:
    """One convex cushion top per rail segment: nose, rounded jaw tips, jaw faces, back line."""
    rails = [c for c in table.cushions if c.name.startswith("rail_")]
    jaws = [c for c in table.cushions if c.name.endswith("_jaw")]
    tops: list[CushionTop] = []
    faces: list[Facing] = [Facing(j.x0, j.y0, j.x1, j.y1) for j in jaws]
    for rail in rails:
        start, end = (rail.x0, rail.y0), (rail.x1, rail.y1)
        head = _jaw_end(start, table, jaws)
        tail = _jaw_end(end, table, jaws)
        pts: list[tuple[float, float]] = [(head[0].x1, head[0].y1), (head[0].x0, head[0].y0)]
        pts += _arc((head[0].x0, head[0].y0), start, head[1])
        pts += _arc(end, (tail[0].x0, tail[0].y0), tail[1])
        pts += [(tail[0].x0, tail[0].y0), (tail[0].x1, tail[0].y1)]
        poly = _counter_clockwise(np.array(pts))
        tops.append(
            CushionTop(
                polygon=poly,
                nose=start,
                nose_end=end,
                normal=(rail.nx, rail.ny),
                nose_z=table.cushion_height,
                back_z=back_z,
                depth=table.cushion_width,
            )
        )
        faces += _tip_facets(head[0], start, head[1]) + _tip_facets(tail[0], end, tail[1])
    return tuple(tops), tuple(faces)


def _throats(table: Table) -> tuple[F64, ...]:
    """Per pocket, the cloth between its jaws: a convex quad from the sharp nose corners (where
    each rail's nose line meets its jaw line) back to the jaws' ends."""
    rails = [c for c in table.cushions if c.name.startswith("rail_")]
    jaws = [c for c in table.cushions if c.name.endswith("_jaw")]
    out = []
    for pocket in table.pockets:
        near = sorted(jaws, key=lambda j: math.hypot(j.x0 - pocket.mouth_x, j.y0 - pocket.mouth_y))
        corners = []
        for jaw in near[:2]:
            rail = min(rails, key=lambda r: _line_distance(r, jaw.x0, jaw.y0))
            corners.append((_nose_corner(rail, jaw), (jaw.x1, jaw.y1)))
        (a0, a1), (b0, b1) = corners
        out.append(_counter_clockwise(np.array([a0, a1, b1, b0])))
    return tuple(out)


def _line_distance(rail: Cushion, x: float, y: float) -> float:
    """Distance from (x, y) to the segment of a rail's nose."""
    dx, dy = rail.x1 - rail.x0, rail.y1 - rail.y0
    s = max(0.0, min(1.0, ((x - rail.x0) * dx + (y - rail.y0) * dy) / (dx * dx + dy * dy)))
    return math.hypot(rail.x0 + s * dx - x, rail.y0 + s * dy - y)


def _nose_corner(rail: Cushion, jaw: Cushion) -> tuple[float, float]:
    """Where the jaw's line meets the rail's nose line."""
    dx, dy = jaw.x1 - jaw.x0, jaw.y1 - jaw.y0
    offset = rail.nx * (jaw.x0 - rail.x0) + rail.ny * (jaw.y0 - rail.y0)
    s = -offset / (rail.nx * dx + rail.ny * dy)
    return jaw.x0 + s * dx, jaw.y0 + s * dy


def _jaw_end(
    point: tuple[float, float], table: Table, jaws: list[Cushion]
) -> tuple[Cushion, tuple[float, float]]:
    """The jaw segment and tip-circle centre that continue the rail at ``point``."""
    tip = min(table.tips, key=lambda t: math.hypot(t.x - point[0], t.y - point[1]))
    jaw = min(jaws, key=lambda j: math.hypot(j.x0 - tip.x, j.y0 - tip.y))
    return jaw, (tip.x, tip.y)


def _arc(
    a: tuple[float, float], b: tuple[float, float], centre: tuple[float, float], steps: int = 6
) -> list[tuple[float, float]]:
    """Points on the short arc from a to b around centre (both ends excluded)."""
    a0 = math.atan2(a[1] - centre[1], a[0] - centre[0])
    b0 = math.atan2(b[1] - centre[1], b[0] - centre[0])
    sweep = (b0 - a0 + math.pi) % (2 * math.pi) - math.pi
    radius = math.hypot(a[0] - centre[0], a[1] - centre[1])
    out = []
    for k in range(1, steps):
        ang = a0 + sweep * k / steps
        out.append((centre[0] + radius * math.cos(ang), centre[1] + radius * math.sin(ang)))
    return out


def _tip_facets(
    jaw: Cushion, rail_end: tuple[float, float], centre: tuple[float, float]
) -> list[Facing]:
    start = (jaw.x0, jaw.y0)
    pts = [start, *_arc(start, rail_end, centre), rail_end]
    return [Facing(p[0], p[1], q[0], q[1]) for p, q in itertools.pairwise(pts)]


def _counter_clockwise(poly: F64) -> F64:
    x, y = poly[:, 0], poly[:, 1]
    area = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    return poly if area > 0 else poly[::-1].copy()


CLOTHS = {
    "green": "#2b7a4b",
    "blue": "#1f5f9c",
    "red": "#8c2732",
    "grey": "#6a6e72",
    "olive": "#566b3a",
    "burgundy": "#5e1f2d",
}
"""Cloth colours (sRGB) that tables are sold in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TableStyle:
    """How the table looks: colours as sRGB '#rrggbb', texture amplitudes, texture seed."""

    cloth: str = CLOTHS["green"]
    wood: str = "#6b3b22"
    wood_dark: str = "#3c1e10"
    floor: str = "#3a3631"
    rubber: str = "#151515"
    diamond: str = "#ece6d6"
    spot: str = "#dedbd0"
    cloth_texture: float = 0.03  # relative amplitude of mottling and brushing marks
    seed: int = 0
