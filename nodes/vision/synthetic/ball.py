"""The sixteen balls: colours, kinds, number circles, stripes and how they roll.

A ball's orientation is a rotation matrix from its body frame to the table frame. In the body
frame the stripe is the band |z| < STRIPE_HALF_HEIGHT and the number circles sit on the +x and -x
axes, so turning the orientation turns stripes and numbers with the ball.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from protocol.messages.vision import BallKind

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

RADIUS = 0.028575  # m (2.25 in diameter)
STRIPE_HALF_HEIGHT = 0.5  # of the radius: the coloured band of balls 9-15
NUMBER_CIRCLE_COS = math.cos(math.radians(26.0))  # angular radius of the white number circle
GLYPH_SIZE = 48

COLOURS: dict[int, str] = {
    1: "#f2b705",  # yellow
    2: "#1d3f9a",  # blue
    3: "#d0201f",  # red
    4: "#4b2a7b",  # purple
    5: "#f26a1b",  # orange
    6: "#137a3c",  # green
    7: "#7a1c22",  # maroon
    8: "#141414",  # black
}
WHITE = "#f4f1e8"
INK = "#101010"


def kind(number: int) -> BallKind:
    """cue (0), solid (1-7), eight (8) or stripe (9-15)."""
    if number == 0:
        return "cue"
    if number == 8:
        return "eight"
    return "solid" if number < 8 else "stripe"


def base_colour(number: int) -> str:
    """The ball's colour as sRGB hex: white for the cue ball, stripes share the solids'."""
    if number == 0:
        return WHITE
    return COLOURS[number if number <= 8 else number - 8]


@dataclass(frozen=True, slots=True, kw_only=True)
class BallState:
    """One ball at one instant, in table metres: centre (x, y, z), velocity, angular speed
    (rad/s), orientation (row-major 3x3, body to table) and whether it has dropped."""

    number: int
    x: float
    y: float
    z: float = RADIUS
    vx: float = 0.0
    vy: float = 0.0
    spin: float = 0.0
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    pocketed: bool = False

    @property
    def resting(self) -> bool:
        """Neither moving nor turning, on the cloth (drawn once and kept while it stays so)."""
        still = self.vx * self.vx + self.vy * self.vy <= 1e-10 and self.spin <= 1e-6
        return still and abs(self.z - RADIUS) < 1e-9

    @property
    def rotation(self) -> F64:
        """The orientation as a 3x3 array."""
        return np.array(self.orientation, dtype=np.float64).reshape(3, 3)


def rolled(orientation: F64, dx: float, dy: float, radius: float = RADIUS) -> F64:
    """The orientation after rolling without slipping by (dx, dy) on the cloth."""
    dist = math.hypot(dx, dy)
    if dist < 1e-12:
        return orientation
    axis = np.array([-dy / dist, dx / dist, 0.0])  # z x direction of travel
    rot, _ = cv2.Rodrigues(axis * (dist / radius))
    return np.asarray(rot @ orientation, dtype=np.float64)


def random_orientation(rng: np.random.Generator) -> F64:
    """A uniformly random rotation (from a random unit quaternion)."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


class BallLook:
    """Albedo of points on the balls, from their body-frame normals."""

    def __init__(self) -> None:
        self.base = np.array([colour.rgb(base_colour(n)) for n in range(16)])
        self.white = colour.rgb(WHITE)
        self.ink = colour.rgb(INK)
        self.glyphs = np.stack([_glyph(n) for n in range(16)])

    def albedo(self, number: NDArray[np.intp], normal: F64, footprint: F64 | None = None) -> F64:
        """(N, 3) linear BGR for ball numbers (N,) at body-frame unit normals (N, 3); edges of
        stripes and number circles are smoothed over ``footprint`` (N,; radii per pixel)."""
        width = np.maximum(footprint, 1e-3) if footprint is not None else np.full(len(number), 1e-3)
        out = self.base[number].copy()
        cap = np.clip((np.abs(normal[:, 2]) - STRIPE_HALF_HEIGHT) / width + 0.5, 0.0, 1.0)
        cap *= number >= 9
        out += cap[:, None] * (self.white - out)
        side = np.abs(normal[:, 0])
        edge = math.sin(math.acos(NUMBER_CIRCLE_COS))
        disc = np.clip((side - NUMBER_CIRCLE_COS) / (width * edge) + 0.5, 0.0, 1.0) * (number > 0)
        inside = np.flatnonzero(disc > 0)
        if len(inside):
            mix = disc[inside, None]
            printed = self._number(number[inside], normal[inside])
            out[inside] = out[inside] * (1 - mix) + printed * mix
        return out

    def _number(self, number: NDArray[np.intp], normal: F64) -> F64:
        """White circle with the ink of the digits, read from outside the ball."""
        u = normal[:, 1] / normal[:, 0]  # right, seen from outside (either side)
        v = -normal[:, 2] / np.abs(normal[:, 0])  # down
        reach = math.tan(math.acos(NUMBER_CIRCLE_COS))
        scale = (GLYPH_SIZE - 1) / (2 * reach)
        last = GLYPH_SIZE - 1
        x = np.clip(u * scale + last / 2, 0.0, last - 1e-6)
        y = np.clip(v * scale + last / 2, 0.0, last - 1e-6)
        c0, r0 = x.astype(np.intp), y.astype(np.intp)
        fx, fy = x - c0, y - r0
        g = self.glyphs
        ink = (g[number, r0, c0] * (1 - fx) + g[number, r0, c0 + 1] * fx) * (1 - fy)
        ink += (g[number, r0 + 1, c0] * (1 - fx) + g[number, r0 + 1, c0 + 1] * fx) * fy
        return np.asarray(self.white * (1 - ink[:, None]) + self.ink * ink[:, None])


def _glyph(number: int) -> F32:
    """Ink coverage (0-1) of the number printed in its circle, GLYPH_SIZE square."""
    size = GLYPH_SIZE * 4
    img = np.zeros((size, size), np.uint8)
    if number == 0:
        return np.zeros((GLYPH_SIZE, GLYPH_SIZE), np.float32)
    text = str(number)
    font = cv2.FONT_HERSHEY_DUPLEX
    scale = 3.2 if len(text) == 1 else 2.6
    thick = 13 if len(text) == 1 else 11
    (w, h), _ = cv2.getTextSize(text, font, scale, thick)
    org = ((size - w) // 2, (size + h) // 2)
    cv2.putText(img, text, org, font, scale, 255, thick, cv2.LINE_AA)
    if number in (6, 9):
        y = org[1] + 14
        cv2.line(img, ((size - w) // 2 + 4, y), ((size + w) // 2 - 4, y), 255, 9, cv2.LINE_AA)
    small = cv2.resize(img, (GLYPH_SIZE, GLYPH_SIZE), interpolation=cv2.INTER_AREA)
    return np.asarray(small.astype(np.float32) / 255.0, np.float32)
