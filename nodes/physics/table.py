"""Table geometry: cushion noses, pocket jaws with rounded tips, and pocket capture circles.

Table frame: origin at the centre of the playing surface, x along the long axis, y along the
short axis, z up; metres. The playing surface is the rectangle between the cushion noses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nodes.physics.geometry import Geometry

Array = NDArray[np.float64]

INCH = 0.0254


@dataclass(frozen=True, slots=True)
class Pocket:
    """A pocket: the ball drops when its centre enters the capture circle (x, y, radius).

    `mouth` is the width between the two cushion noses; (mouth_x, mouth_y) is the middle of that
    line (the aiming point) and (axis_x, axis_y) the unit vector from it into the pocket.
    """

    name: str
    x: float
    y: float
    radius: float
    mouth: float = 0.0
    mouth_x: float = 0.0
    mouth_y: float = 0.0
    axis_x: float = 0.0
    axis_y: float = 0.0


@dataclass(frozen=True, slots=True)
class Cushion:
    """A straight piece of cushion nose from (x0, y0) to (x1, y1); (nx, ny) points to the table."""

    name: str
    x0: float
    y0: float
    x1: float
    y1: float
    nx: float
    ny: float


@dataclass(frozen=True, slots=True)
class JawTip:
    """The rounded nose where a rail turns into a pocket jaw: a vertical cylinder."""

    name: str
    x: float
    y: float
    radius: float


@dataclass(frozen=True, slots=True)
class PocketSpec:
    """Shape of one kind of pocket (WPA: corner mouth 4.5-4.625 in, jaw angle 142 deg;
    side mouth about 0.5 in wider, jaw angle 104 deg)."""

    mouth: float  # width between the virtual cushion-nose points, m
    jaw_angle_deg: float  # angle between the rail nose and the jaw face, inside the cushion
    shelf: float  # distance from the mouth line to the edge of the capture circle, m
    radius: float  # capture circle radius, m
    tip_radius: float  # rounding of the jaw tips, m


CORNER = PocketSpec(mouth=0.116, jaw_angle_deg=142.0, shelf=0.040, radius=0.062, tip_radius=0.008)
SIDE = PocketSpec(mouth=0.129, jaw_angle_deg=104.0, shelf=0.005, radius=0.0645, tip_radius=0.008)


@dataclass(frozen=True)
class Table:
    """A pocket table. Build it with `standard`, `nine_foot`, `eight_foot` or `seven_foot`."""

    length: float
    width: float
    cushion_height: float
    pockets: tuple[Pocket, ...]
    cushions: tuple[Cushion, ...]
    tips: tuple[JawTip, ...]
    cushion_width: float = 2.0 * INCH
    geometry: Geometry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.length > 0 and self.width > 0):
            raise ValueError("table length and width must be > 0")
        object.__setattr__(self, "geometry", Geometry(self))

    @staticmethod
    def standard(
        length: float,
        width: float,
        *,
        cushion_height: float = 0.635 * 2 * 0.028575,
        cushion_width: float = 2.0 * INCH,
        corner: PocketSpec = CORNER,
        side: PocketSpec = SIDE,
    ) -> Table:
        """A six-pocket table with a `length` x `width` playing surface (between the noses)."""
        return _build(length, width, cushion_height, cushion_width, corner, side)

    @staticmethod
    def nine_foot() -> Table:
        """WPA 9-ft table: 100 x 50 in (2.54 x 1.27 m) playing surface."""
        return Table.standard(100 * INCH, 50 * INCH)

    @staticmethod
    def eight_foot() -> Table:
        """8-ft table: 92 x 46 in (2.337 x 1.168 m) playing surface."""
        return Table.standard(92 * INCH, 46 * INCH)

    @staticmethod
    def seven_foot() -> Table:
        """7-ft (bar) table: 78 x 39 in (1.981 x 0.991 m) playing surface, as pooltool."""
        return Table.standard(78 * INCH, 39 * INCH)

    def pocket(self, name: str) -> Pocket:
        """The pocket called `name` (KeyError if there is none)."""
        for p in self.pockets:
            if p.name == name:
                return p
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `describe` replies and docs."""
        return {
            "length": self.length,
            "width": self.width,
            "cushion_height": self.cushion_height,
            "cushion_width": self.cushion_width,
            "pockets": [_fields(p) for p in self.pockets],
            "cushions": [_fields(c) for c in self.cushions],
            "tips": [_fields(t) for t in self.tips],
        }


def _fields(obj: Pocket | Cushion | JawTip) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class _Jaw:
    """One side of a pocket: the nose point where the rail ends and the jaw direction."""

    name: str
    px: float
    py: float
    rail: tuple[float, float]  # unit direction along the rail towards the pocket
    jaw: tuple[float, float]  # unit direction of the jaw face, from the nose into the rail


def _corner_jaws(
    name: str, sx: float, sy: float, length: float, width: float, spec: PocketSpec
) -> tuple[_Jaw, _Jaw]:
    d = spec.mouth / math.sqrt(2.0)
    turn = math.radians(180.0 - spec.jaw_angle_deg)
    c, s = math.cos(turn), math.sin(turn)
    long_jaw = _Jaw(
        f"{name}_long", sx * (length / 2 - d), sy * width / 2, (sx, 0.0), (sx * c, sy * s)
    )
    end_jaw = _Jaw(
        f"{name}_short", sx * length / 2, sy * (width / 2 - d), (0.0, sy), (sx * s, sy * c)
    )
    return long_jaw, end_jaw


def _side_jaws(name: str, sy: float, width: float, spec: PocketSpec) -> tuple[_Jaw, _Jaw]:
    turn = math.radians(180.0 - spec.jaw_angle_deg)
    c, s = math.cos(turn), math.sin(turn)
    half = spec.mouth / 2
    left = _Jaw(f"{name}_left", -half, sy * width / 2, (1.0, 0.0), (c, sy * s))
    right = _Jaw(f"{name}_right", half, sy * width / 2, (-1.0, 0.0), (-c, sy * s))
    return left, right


def _pocket(
    name: str, jaws: tuple[_Jaw, _Jaw], axis: tuple[float, float], spec: PocketSpec
) -> Pocket:
    mx = (jaws[0].px + jaws[1].px) / 2
    my = (jaws[0].py + jaws[1].py) / 2
    depth = spec.shelf + spec.radius
    x, y = mx + axis[0] * depth, my + axis[1] * depth
    mouth = math.hypot(jaws[0].px - jaws[1].px, jaws[0].py - jaws[1].py)
    return Pocket(name, x, y, spec.radius, mouth, mx, my, axis[0], axis[1])


def _jaw_parts(
    jaw: _Jaw, spec: PocketSpec, cushion_width: float
) -> tuple[tuple[float, float], JawTip, Cushion]:
    """The rail's end point, the jaw tip and the jaw segment of one pocket side."""
    psi = math.radians(spec.jaw_angle_deg)
    tangent = spec.tip_radius / math.tan(psi / 2)
    bx, by = jaw.jaw[0] - jaw.rail[0], jaw.jaw[1] - jaw.rail[1]
    norm = math.hypot(bx, by)
    centre = spec.tip_radius / math.sin(psi / 2)
    tip = JawTip(
        f"{jaw.name}_tip", jaw.px + bx / norm * centre, jaw.py + by / norm * centre, spec.tip_radius
    )
    rail_end = (jaw.px - jaw.rail[0] * tangent, jaw.py - jaw.rail[1] * tangent)
    depth = cushion_width / math.sin(math.pi - psi)
    nx, ny = -jaw.jaw[1], jaw.jaw[0]
    if nx * jaw.rail[0] + ny * jaw.rail[1] < 0:
        nx, ny = -nx, -ny
    segment = Cushion(
        f"{jaw.name}_jaw",
        jaw.px + jaw.jaw[0] * tangent,
        jaw.py + jaw.jaw[1] * tangent,
        jaw.px + jaw.jaw[0] * depth,
        jaw.py + jaw.jaw[1] * depth,
        nx,
        ny,
    )
    return rail_end, tip, segment


def _build(
    length: float,
    width: float,
    cushion_height: float,
    cushion_width: float,
    corner: PocketSpec,
    side: PocketSpec,
) -> Table:
    jaws: dict[str, tuple[_Jaw, _Jaw]] = {}
    specs: dict[str, PocketSpec] = {}
    axes: dict[str, tuple[float, float]] = {}
    for vertical, sy in (("top", 1.0), ("bottom", -1.0)):
        for horizontal, sx in (("left", -1.0), ("right", 1.0)):
            name = f"{vertical}_{horizontal}"
            jaws[name] = _corner_jaws(name, sx, sy, length, width, corner)
            specs[name], axes[name] = corner, (sx / math.sqrt(2.0), sy / math.sqrt(2.0))
        name = f"{vertical}_middle"
        jaws[name] = _side_jaws(name, sy, width, side)
        specs[name], axes[name] = side, (0.0, sy)
    order = ("top_left", "top_middle", "top_right", "bottom_left", "bottom_middle", "bottom_right")
    pockets = tuple(_pocket(n, jaws[n], axes[n], specs[n]) for n in order)
    ends: dict[str, tuple[float, float]] = {}
    tips: list[JawTip] = []
    segments: list[Cushion] = []
    for name in order:
        for jaw in jaws[name]:
            ends[jaw.name], tip, segment = _jaw_parts(jaw, specs[name], cushion_width)
            tips.append(tip)
            segments.append(segment)
    rails = (
        ("rail_top_left", "top_left_long", "top_middle_left", (0.0, -1.0)),
        ("rail_top_right", "top_middle_right", "top_right_long", (0.0, -1.0)),
        ("rail_bottom_left", "bottom_left_long", "bottom_middle_left", (0.0, 1.0)),
        ("rail_bottom_right", "bottom_middle_right", "bottom_right_long", (0.0, 1.0)),
        ("rail_left", "bottom_left_short", "top_left_short", (1.0, 0.0)),
        ("rail_right", "bottom_right_short", "top_right_short", (-1.0, 0.0)),
    )
    rail_segments = [Cushion(n, *ends[a], *ends[b], *normal) for n, a, b, normal in rails]
    table = Table(
        length=length,
        width=width,
        cushion_height=cushion_height,
        pockets=pockets,
        cushions=tuple(rail_segments + segments),
        tips=tuple(tips),
        cushion_width=cushion_width,
    )
    _check_closed(table)
    return table


def _check_closed(table: Table) -> None:
    """Every capture circle must cover the line between the back ends of its two jaws, so a
    ball that passes between the jaws cannot leave the table without dropping."""
    jaw_ends = {c.name: (c.x1, c.y1) for c in table.cushions}
    for pocket in table.pockets:
        ends = [xy for name, xy in jaw_ends.items() if name.startswith(pocket.name + "_")]
        for ex, ey in ends:
            if math.hypot(ex - pocket.x, ey - pocket.y) > pocket.radius:
                raise ValueError(f"pocket {pocket.name}: capture circle misses its jaw ends")
