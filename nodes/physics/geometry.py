"""The table as numpy arrays and plain tuples, built once per Table for the inner loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from nodes.physics.table import Cushion, Table

Array = NDArray[np.float64]


class Geometry:
    """The table as numpy arrays, built once per Table for the simulation's inner loop."""

    __slots__ = (
        "_clear",
        "half_x",
        "half_y",
        "lines",
        "pocket_c",
        "pocket_r",
        "rails",
        "seg_box",
        "seg_dir",
        "seg_len",
        "seg_n",
        "seg_p0",
        "tip_c",
        "tip_r",
    )

    def __init__(self, table: Table) -> None:
        c = table.cushions
        self.seg_p0: Array = np.array([[s.x0, s.y0] for s in c], dtype=np.float64)
        p1 = np.array([[s.x1, s.y1] for s in c], dtype=np.float64)
        delta = p1 - self.seg_p0
        self.seg_len: Array = np.hypot(delta[:, 0], delta[:, 1])
        self.seg_dir: Array = delta / self.seg_len[:, None]
        self.seg_n: Array = np.array([[s.nx, s.ny] for s in c], dtype=np.float64)
        ends = np.stack([self.seg_p0, p1])
        self.seg_box: Array = np.stack(
            [
                ends[:, :, 0].min(0),
                ends[:, :, 0].max(0),
                ends[:, :, 1].min(0),
                ends[:, :, 1].max(0),
            ],
            axis=1,
        )
        # Per segment as plain floats for scalar code: x0, y0, unit direction, length, normal.
        self.lines: list[tuple[float, ...]] = [
            (s.x0, s.y0, float(d[0]), float(d[1]), float(n), s.nx, s.ny)
            for s, d, n in zip(c, self.seg_dir, self.seg_len, strict=True)
        ]
        self.tip_c: Array = np.array([[t.x, t.y] for t in table.tips], dtype=np.float64)
        self.tip_r: Array = np.array([t.radius for t in table.tips], dtype=np.float64)
        self.pocket_c: Array = np.array([[p.x, p.y] for p in table.pockets], dtype=np.float64)
        self.pocket_r: Array = np.array([p.radius for p in table.pockets], dtype=np.float64)
        self.half_x, self.half_y = table.length / 2, table.width / 2
        # Straight rails on each side of the playing surface: (index, low end, high end) along
        # the side, for sides +x, -x, +y, -y.
        self.rails: tuple[tuple[tuple[int, float, float], ...], ...] = tuple(
            _rails_on(c, normal) for normal in ((-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0))
        )
        self._clear: dict[float, bool] = {}

    def box_is_clear(self, radius: float) -> bool:
        """True if no jaw, tip or capture circle can touch a ball whose centre is in the box
        |x| <= L/2 - radius, |y| <= W/2 - radius (so only the rails bound it there)."""
        if radius not in self._clear:
            self._clear[radius] = self._check_box(radius)
        return self._clear[radius]

    def _check_box(self, radius: float) -> bool:
        hx, hy = self.half_x - radius, self.half_y - radius

        def gap(p: Array) -> Array:
            out = np.maximum(np.abs(p) - np.array([hx, hy]), 0.0)
            return np.asarray(np.hypot(out[..., 0], out[..., 1]), dtype=np.float64)

        slack = 1e-9
        if np.any(gap(self.pocket_c) < self.pocket_r - slack):
            return False
        if np.any(gap(self.tip_c) < radius + self.tip_r - slack):
            return False
        jaws = self.seg_len < 0.5 * min(self.half_x, self.half_y)  # rails are long, jaws short
        s = np.linspace(0.0, 1.0, 65)[:, None, None]
        points = self.seg_p0[jaws] + s * (self.seg_dir[jaws] * self.seg_len[jaws, None])
        return bool(np.all(gap(points) >= radius - slack))


def _rails_on(
    cushions: tuple[Cushion, ...], normal: tuple[float, float]
) -> tuple[tuple[int, float, float], ...]:
    found = []
    for k, s in enumerate(cushions):
        if (s.nx, s.ny) == normal and s.name.startswith("rail_"):
            a, b = (s.y0, s.y1) if normal[1] == 0.0 else (s.x0, s.x1)
            found.append((k, min(a, b), max(a, b)))
    return tuple(found)
