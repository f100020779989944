"""Compositing fragments and shadows over a layer, in linear light and depth order.

A :class:`Layer` is an image with what the compositor needs to put more on top of it: the
depth of the table behind each pixel, and which resting ball (if any) covers it and how much.
The renderer keeps one layer with the table, the resting balls and their shadows, rebuilt only
when a ball starts or stops, and per frame composites the moving balls, the cue and the hands
over a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from nodes.vision.synthetic.fragment import Fragments

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
U8 = NDArray[np.uint8]


@dataclass(slots=True)
class Layer:
    """An 8-bit sRGB image with per-pixel maps (all (H, W)).

    ``surface_depth`` is the camera-z depth of the table; ``ball_depth`` of the resting ball
    drawn there (inf where none); ``owner``/``cover`` which resting ball covers the pixel and its
    coverage; ``cloth`` the share of the pixel where cloth is seen (shadows fall there).
    """

    image: U8
    surface_depth: F32
    ball_depth: F32
    owner: NDArray[np.int16]
    cover: F32
    cloth: F32

    def copy(self) -> Layer:
        """A deep copy (the table depth, which never changes, is shared)."""
        return Layer(
            self.image.copy(),
            self.surface_depth,
            self.ball_depth.copy(),
            self.owner.copy(),
            self.cover.copy(),
            self.cloth.copy(),
        )

    def copy_image(self) -> Layer:
        """A layer sharing the maps but with its own copy of the image."""
        return replace(self, image=self.image.copy())


@dataclass(frozen=True, slots=True)
class Coverage:
    """What compositing a batch of fragments did: per fragment, the alpha that reached the
    image (``visible``; 0 outside the image) and, per resting-ball owner id, how much of its
    coverage new fragments hid (``hidden``, indexed by owner id)."""

    visible: F64
    hidden: F64


class Compositor:
    """Composites fragments of the padded ray grid onto (H, W) layers."""

    def __init__(self, width: int, height: int, pad: int, vignette: F32) -> None:
        self.width, self.height, self.pad = width, height, pad
        self.grid_width = width + 2 * pad
        self.vignette = vignette.ravel()
        self.scratch = np.full(width * height, -1, np.int64)
        self.light = np.ones(width * height, np.float32)

    def pixels(self, index: IDX) -> tuple[IDX, NDArray[np.bool_]]:
        """Flat image pixel of each padded-grid index, and whether it is inside the image."""
        row = index // self.grid_width - self.pad
        col = index % self.grid_width - self.pad
        inside = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        return np.where(inside, row * self.width + col, 0), inside

    def shadow(self, layer: Layer, index: IDX, light: F32) -> None:
        """Multiply the cloth under padded-grid pixels by ``light`` (products where repeated)."""
        pix, inside = self.pixels(index)
        pix, light = pix[inside], light[inside]
        if len(pix) == 0:
            return
        np.multiply.at(self.light, pix, light)
        order = np.arange(len(pix))
        self.scratch[pix] = order
        unique = pix[self.scratch[pix] == order]
        self.scratch[pix] = -1
        factor = self.light[unique]
        self.light[unique] = 1.0
        keep = 1.0 - layer.cloth.ravel()[unique] * (1.0 - factor)
        image = layer.image.reshape(-1, 3)
        image[unique] = colour.encode(colour.DECODE[image[unique]] * keep[:, None])

    def over(self, layer: Layer, frags: Fragments, owners: int, record: bool = False) -> Coverage:
        """Composite ``frags`` over ``layer`` (front to back within each pixel).

        With ``record``, the fragments become the layer's resting balls (owner, cover, depth)
        and the cloth share under them shrinks; ``owners`` sizes ``Coverage.hidden``.
        """
        visible = np.zeros(len(frags))
        hidden = np.zeros(owners)
        pix, inside = self.pixels(frags.index)
        sel = np.flatnonzero(inside)
        if len(sel) == 0:
            return Coverage(visible, hidden)
        pix = pix[sel]
        depth = frags.depth[sel]
        alpha = self._depth_tested(layer, pix, depth, frags.alpha[sel].astype(np.float64))
        tint = frags.colour[sel] * self.vignette[pix, None]
        shared = self._shared(pix)
        one = ~shared
        parts = [(pix[one], alpha[one, None] * tint[one], 1.0 - alpha[one], depth[one], sel[one])]
        visible[sel[one]] = alpha[one]
        if shared.any():
            grouped, weight = _front_to_back(
                pix[shared], depth[shared], alpha[shared], tint[shared]
            )
            visible[sel[shared]] = weight
            first = sel[shared][grouped[4]]
            parts.append((*grouped[:4], first))
        upix, lit, through, front, first = (np.concatenate(x) for x in zip(*parts, strict=True))
        image = layer.image.reshape(-1, 3)
        bg = colour.DECODE[image[upix]]
        image[upix] = colour.encode(lit + bg * through[:, None])
        self._hide(layer, upix, 1.0 - through, front, hidden)
        if record:
            self._record(layer, upix, frags.owner[first], 1.0 - through, front)
        return Coverage(visible, hidden)

    def _shared(self, pix: IDX) -> NDArray[np.bool_]:
        """Which entries share their pixel with another entry."""
        order = np.arange(len(pix))
        self.scratch[pix] = order
        loser = self.scratch[pix] != order
        self.scratch[pix[loser]] = -2
        shared = self.scratch[pix] == -2
        self.scratch[pix] = -1
        return np.asarray(shared)

    def _depth_tested(self, layer: Layer, pix: IDX, depth: F32, alpha: F64) -> F64:
        """Fragments behind the table vanish; behind a resting ball they show through its
        uncovered share."""
        behind_table = depth >= layer.surface_depth.ravel()[pix]
        behind_ball = depth > layer.ball_depth.ravel()[pix]
        cover = layer.cover.ravel()[pix]
        out = np.where(behind_ball, alpha * (1.0 - cover), alpha)
        return np.asarray(np.where(behind_table, 0.0, out))

    def _hide(self, layer: Layer, pix: IDX, alpha: F64, depth: F32, hidden: F64) -> None:
        owner = layer.owner.ravel()[pix]
        front = (owner >= 0) & (depth <= layer.ball_depth.ravel()[pix])
        if front.any():
            cover = layer.cover.ravel()[pix[front]]
            np.add.at(hidden, owner[front], alpha[front] * cover)

    def _record(
        self, layer: Layer, pix: IDX, owner: NDArray[np.int16], alpha: F64, depth: F32
    ) -> None:
        layer.owner.ravel()[pix] = owner
        layer.cover.ravel()[pix] = alpha
        layer.ball_depth.ravel()[pix] = depth
        layer.cloth.ravel()[pix] *= (1.0 - alpha).astype(np.float32)


def _front_to_back(
    pix: IDX, depth: F32, alpha: F64, tint: F32
) -> tuple[tuple[IDX, F64, F64, F32, IDX], F64]:
    """Per pixel (sorted by depth): premultiplied colour, transmittance, front depth and the
    position of the front entry; and each entry's visible weight (in input order)."""
    order = np.lexsort((depth, pix))
    pix, depth, alpha, tint = pix[order], depth[order], alpha[order], tint[order]
    starts = np.flatnonzero(np.r_[True, pix[1:] != pix[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pix)]))
    log_t = np.log1p(-np.minimum(alpha, 1.0 - 1e-7))
    before = np.cumsum(log_t) - log_t
    weight = alpha * np.exp(before - before[starts][group])
    lit = np.add.reduceat(tint * weight[:, None], starts, axis=0)
    through = np.exp(np.add.reduceat(log_t, starts))
    visible = np.empty_like(weight)
    visible[order] = weight
    return (pix[starts], lit, through, depth[starts], order[starts]), visible
