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

    def smeared(self, shifts: NDArray[np.float64], grid: tuple[int, int]) -> Fragments:
        """Motion blur: the average of copies shifted by ``shifts`` (N, 2) pixels (x, y), each
        splatted bilinearly; ``grid`` is the (rows, cols) of the padded grid."""
        if (len(shifts) <= 1 and not np.any(shifts)) or len(self) == 0:
            return self
        rows, cols = grid
        base_r, base_c = np.divmod(self.index, cols)
        parts_idx, parts_w, parts_k = [], [], []
        for dx, dy in shifts:
            ix, iy = int(np.floor(dx)), int(np.floor(dy))
            fx, fy = dx - ix, dy - iy
            for ox, oy, w in (
                (0, 0, (1 - fx) * (1 - fy)),
                (1, 0, fx * (1 - fy)),
                (0, 1, (1 - fx) * fy),
                (1, 1, fx * fy),
            ):
                if w <= 1e-6:
                    continue
                r, c = base_r + iy + oy, base_c + ix + ox
                ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
                parts_idx.append((r * cols + c)[ok])
                parts_w.append(np.full(int(ok.sum()), w / len(shifts)))
                parts_k.append(np.flatnonzero(ok))
        index = np.concatenate(parts_idx)
        source = np.concatenate(parts_k)
        weight = np.concatenate(parts_w) * self.alpha[source]
        pixels, inverse = np.unique(index, return_inverse=True)
        alpha = np.bincount(inverse, weight, len(pixels))
        premult = np.stack(
            [np.bincount(inverse, weight * self.colour[source, c], len(pixels)) for c in range(3)],
            axis=1,
        )
        depth = np.full(len(pixels), np.inf, np.float32)
        np.minimum.at(depth, inverse, self.depth[source])
        owner = np.zeros(len(pixels), np.int16)
        owner[inverse] = self.owner[source]
        keep = alpha > 1e-4
        safe = np.maximum(alpha, 1e-12)[:, None]
        return Fragments(
            pixels[keep].astype(np.intp),
            depth[keep],
            np.minimum(alpha[keep], 1.0).astype(np.float32),
            (premult / safe)[keep].astype(np.float32),
            owner[keep],
        )
