"""Colour profiles along rays from ball centres, at full resolution.

Each ray runs outwards from ``INNER`` to ``OUTER`` expected radii, sampled every half pixel
(bilinear). A :class:`Profiles` holds the samples as sRGB bytes, in log space (40 log(v + 6),
where a dark ball against its dark shadow still shows its step) channel by channel (numpy's
arithmetic on strided channels is slow; three planes are not), with what the felt says about
each sample: whether it looks like the felt or its shadow, and how far from that it is. The
few samples per ray that are wanted in linear light (where a camera mixes a ball and what
lies behind it) are converted where they are read (:mod:`nodes.vision.rim`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Bools = NDArray[np.bool_]

RAYS = 32
ANGLES = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
DIRS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # (RAYS, 2)
INNER, OUTER = 0.45, 1.6  # ray extent in expected radii
STEP = 0.5  # px between samples (for the largest ball of a batch)
LOG_SCALE = 40.0
LOG_LUT = (np.log(np.arange(256, dtype=np.float32) + 6.0) * LOG_SCALE).reshape(1, 256)
FELT_CHROMA = 0.3 * LOG_SCALE  # a sample within this log chroma of the felt is felt...
FELT_BRIGHT = (-1.2 * LOG_SCALE, 0.45 * LOG_SCALE)  # ... if this much darker or brighter


@dataclass
class Profiles:
    """Samples of a batch of balls, sample-major: (S samples, N = B * RAYS rays), so that
    what runs along a ray (steps, maxima) works on whole contiguous rows of rays at once.
    The BGR bytes and, channel by channel, the log planes B, G, R."""

    pixels: U8  # (S, N, 3)
    log: list[F32]
    felt: Bools  # looks like the felt or its shadow
    away: F32  # how far from the felt (log units x 40)
    frac: F64  # (S,) sample positions in expected radii

    @property
    def shape(self) -> tuple[int, int]:
        """(S, N)."""
        size, rays = self.felt.shape
        return size, rays


_FRACS: dict[int, F64] = {}


def sample(image: U8, centres: F64, radii: F64, log_felt: F32) -> Profiles:
    """Profiles along ``RAYS`` rays around ``centres`` (B, 2) of balls of ``radii`` (B,)
    (full-res px); ``log_felt`` (B, 3) is the felt's colour near each ball, 40 log(BGR + 6).
    Ray ``b * RAYS + r`` is ray ``r`` of ball ``b``."""
    samples = int(np.ceil((OUTER - INNER) * float(radii.max(initial=1.0)) / STEP)) + 1
    frac = _FRACS.get(samples)
    if frac is None:
        frac = _FRACS[samples] = np.linspace(INNER, OUTER, samples)
    along = (radii[:, None] * frac[None, :]).T  # (S, B) px from the centre
    xs = centres[None, :, 0, None] + DIRS[None, None, :, 0] * along[:, :, None]
    ys = centres[None, :, 1, None] + DIRS[None, None, :, 1] * along[:, :, None]
    shape = (samples, len(centres) * RAYS)
    pixels = edge.sample_u8(image, xs.reshape(shape), ys.reshape(shape))
    logs = [np.asarray(cv2.LUT(p, LOG_LUT), np.float32) for p in cv2.split(pixels)]
    felt = np.repeat(np.asarray(log_felt, np.float32), RAYS, axis=0).T.copy()  # (3, N)
    rel = [logs[c] - felt[c][None, :] for c in range(3)]
    spread = np.maximum(np.maximum(rel[0], rel[1]), rel[2])
    spread -= np.minimum(np.minimum(rel[0], rel[1]), rel[2])
    bright = (rel[0] + rel[1] + rel[2]) * np.float32(1 / 3)
    looks = (spread < FELT_CHROMA) & (bright > FELT_BRIGHT[0]) & (bright < FELT_BRIGHT[1])
    # plus how far the brightness lies outside the shadow's range (0 inside it)
    away = spread + np.abs(bright - np.minimum(np.maximum(bright, FELT_BRIGHT[0]), FELT_BRIGHT[1]))
    return Profiles(pixels, logs, np.asarray(looks, bool), np.asarray(away, np.float32), frac)


def steps(planes: list[F32], half: int) -> F32:
    """Colour change over ``2 half`` samples around each sample, summed over the planes
    (S, N) (zero within ``half`` of the ends)."""
    out = np.zeros(planes[0].shape, np.float32)
    inner = out[half:-half]
    for p in planes:
        inner += np.abs(p[2 * half :] - p[: -2 * half])
    return out


def byte_steps(pixels: U8, half: int) -> NDArray[np.int16]:
    """Colour change (sRGB levels, summed over B, G, R) between the samples ``half`` before
    and after each of the inner samples of (S, N, 3) bytes: (S - 2 half, N)."""
    values = pixels.astype(np.int16)
    diff = np.abs(values[2 * half :] - values[: -2 * half])
    return np.asarray(diff[..., 0] + diff[..., 1] + diff[..., 2], np.int16)
