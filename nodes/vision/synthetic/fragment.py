"""Fragments: the pixels an object covers in one frame, with depth, coverage and colour.

Balls, the cue and the hands each produce fragments in small regions of the image; the
compositor merges them in depth order over the static backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
IDX = NDArray[np.intp]


@dataclass(slots=True)
class Fragments:
    """Parallel arrays, one entry per covered pixel of the padded ray grid.

    ``index`` is row * padded_width + col; ``depth`` the camera-z distance; ``alpha`` the
    covered share of the pixel; ``colour`` linear BGR (not premultiplied); ``owner`` the id of
    the object (ball number, or an id from ``nodes.vision.synthetic.cue``).
    """

    index: IDX
    depth: F32
    alpha: F32
    colour: F32
    owner: NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.index)

    @staticmethod
    def empty() -> Fragments:
        """No fragments."""
        return Fragments(
            np.zeros(0, np.intp),
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros((0, 3), np.float32),
            np.zeros(0, np.int16),
        )

    @staticmethod
    def concat(parts: list[Fragments]) -> Fragments:
        """All fragments of ``parts`` in one batch."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Fragments.empty()
        if len(parts) == 1:
            return parts[0]
        return Fragments(
            np.concatenate([p.index for p in parts]),
            np.concatenate([p.depth for p in parts]),
            np.concatenate([p.alpha for p in parts]),
            np.concatenate([p.colour for p in parts]),
            np.concatenate([p.owner for p in parts]),
        )

    def smeared(self, shift: NDArray[np.float64], samples: int, grid: tuple[int, int]) -> Fragments:
        """Motion blur: the average of ``samples`` copies of each fragment spread evenly along
        its ``shift`` (N, 2: x, y pixels over the whole exposure, centred on where it is drawn),
        each splatted bilinearly. Objects (owners) are blurred separately. ``grid`` is the
        (rows, cols) of the padded grid."""
        if samples <= 1 or len(self) == 0 or not np.any(shift):
            return self
        rows, cols = grid
        base_r, base_c = np.divmod(self.index, cols)
        space = _Footprints(self.owner, base_r, base_c, shift)
        keys, weights = _splat(space, base_r, base_c, shift, samples)
        weights *= np.tile(self.alpha, 4 * samples) / samples
        alpha = np.bincount(keys, weights, space.size)
        hit = np.flatnonzero(alpha > 1e-4)
        paint = [np.tile(self.colour[:, c], 4 * samples) * weights for c in range(3)]
        premult = np.stack([np.bincount(keys, w, space.size)[hit] for w in paint], axis=1)
        owner, r, c = space.decode(hit)
        keep = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        a = alpha[hit]
        return Fragments(
            (r * cols + c)[keep].astype(np.intp),
            space.depth(self.depth)[hit][keep],
            np.minimum(a, 1.0)[keep].astype(np.float32),
            (premult / a[:, None])[keep].astype(np.float32),
            owner[keep].astype(np.int16),
        )


def _splat(
    space: _Footprints, rows: IDX, cols: IDX, shift: NDArray[np.float64], samples: int
) -> tuple[IDX, NDArray[np.float64]]:
    """Footprint keys and bilinear weights of every fragment at every instant (4 per copy)."""
    keys, weights = [], []
    for k in range(samples):
        offset = shift * ((k + 0.5) / samples - 0.5)
        fx, fy = np.floor(offset[:, 0]), np.floor(offset[:, 1])
        ax, ay = offset[:, 0] - fx, offset[:, 1] - fy
        ix, iy = fx.astype(np.intp), fy.astype(np.intp)
        corners = ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay))
        for ox, oy, w in (*corners, (1, 1, ax * ay)):
            keys.append(space.key(rows + iy + oy, cols + ix + ox))
            weights.append(w)
    return np.concatenate(keys), np.concatenate(weights)


class _Footprints:
    """A compact key space for the blurred footprint of each owner: its bounding box, laid
    out one owner after another (so bincount replaces sorting)."""

    def __init__(
        self, owner: NDArray[np.int16], rows: IDX, cols: IDX, shift: NDArray[np.float64]
    ) -> None:
        self.owners = np.unique(owner)
        self.slot = np.zeros(int(self.owners.max()) + 1, np.intp)
        self.slot[self.owners] = np.arange(len(self.owners))
        which = self.slot[owner]
        reach = np.ceil(np.abs(shift) / 2).astype(np.intp) + 1
        n = len(self.owners)
        self.r0 = np.full(n, np.iinfo(np.intp).max)
        self.c0 = np.full(n, np.iinfo(np.intp).max)
        r1 = np.full(n, np.iinfo(np.intp).min)
        c1 = np.full(n, np.iinfo(np.intp).min)
        np.minimum.at(self.r0, which, rows - reach[:, 1])
        np.minimum.at(self.c0, which, cols - reach[:, 0])
        np.maximum.at(r1, which, rows + reach[:, 1])
        np.maximum.at(c1, which, cols + reach[:, 0])
        self.width = c1 - self.c0 + 1
        area = (r1 - self.r0 + 1) * self.width
        self.start = np.cumsum(area) - area
        self.size = int(area.sum())
        self.which = which

    def key(self, r: IDX, c: IDX) -> IDX:
        w = self.which
        return np.asarray(self.start[w] + (r - self.r0[w]) * self.width[w] + (c - self.c0[w]))

    def decode(self, key: IDX) -> tuple[NDArray[np.int16], IDX, IDX]:
        slot = np.searchsorted(self.start, key, side="right") - 1
        local = key - self.start[slot]
        r, c = np.divmod(local, self.width[slot])
        return self.owners[slot], r + self.r0[slot], c + self.c0[slot]

    def depth(self, depth: F32) -> F32:
        """Every pixel of an owner's footprint gets the owner's nearest depth."""
        near = np.full(len(self.owners), np.inf, np.float32)
        np.minimum.at(near, self.which, depth)
        return np.asarray(np.repeat(near, np.diff(np.r_[self.start, self.size])))
