"""Colour profiles along rays from ball centres, at full resolution.

Each ray runs outwards from ``INNER`` to ``OUTER`` expected radii, sampled every half pixel
(bilinear, by ``cv2.remap``). Where a ball's silhouette is an ellipse (off the optical axis,
see ``TableCalibration.silhouette_shape``), the rays are those of the unit circle mapped onto
it: whichever way a ray points, the silhouette is at 1.0 on it. The samples are kept ray by
ray as sRGB bytes, which is how the rim search (:mod:`nodes.vision.rim`, a compiled loop)
reads them; the few samples per ray that are wanted in linear light or in log space are
converted where they are read.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from nodes.vision import edge

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

RAYS = 32
ANGLES = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False)
DIRS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # (RAYS, 2)
INNER, OUTER = 0.45, 1.6  # ray extent in expected radii
STEP = 0.5  # px between samples (for the largest ball of a batch)

_FRACS: dict[int, F64] = {}


def sample(image: U8, centres: F64, radii: F64, shapes: F64 | None = None) -> tuple[U8, F64]:
    """Samples along ``RAYS`` rays around ``centres`` (B, 2) of balls of ``radii`` (B,)
    (full-res px) and silhouette ``shapes`` (B, 2, 2; :meth:`Geometry.shape_at`, round if
    None): BGR bytes (N = B * RAYS, S, 3), ray ``b * RAYS + r`` being ray ``r`` of ball ``b``,
    and the samples' positions (S,) in expected radii."""
    shapes = np.ascontiguousarray(
        round_shapes(len(centres)) if shapes is None else shapes, np.float64
    )
    radii = radii.astype(np.float64)
    samples = int(np.ceil((OUTER - INNER) * _reach(radii, shapes) / STEP)) + 1
    frac = _FRACS.get(samples)
    if frac is None:
        frac = _FRACS[samples] = np.linspace(INNER, OUTER, samples)
    xs, ys = _coordinates(np.ascontiguousarray(centres, np.float64), radii, shapes, frac)
    return edge.sample_u8(image, xs, ys), frac


def round_shapes(count: int) -> F64:
    """``count`` identity shapes (round silhouettes)."""
    return np.broadcast_to(np.eye(2), (count, 2, 2))


@numba.njit(cache=True, nogil=True)
def _reach(radii: F64, shapes: F64) -> float:
    """The longest ray's reach in px per expected radius: the largest radius times its shape's
    longest semi-axis (its largest eigenvalue, at least 1), and at least 1 (compiled: numpy's
    half-dozen calls on a few shapes cost more than the work)."""
    reach = 1.0
    for b in range(len(radii)):
        a, c, d = shapes[b, 0, 0], shapes[b, 0, 1], shapes[b, 1, 1]
        half = (a - d) / 2
        reach = max(reach, radii[b] * max((a + d) / 2 + np.sqrt(half * half + c * c), 1.0))
    return reach


@numba.njit(cache=True, nogil=True)
def _coordinates(centres: F64, radii: F64, shapes: F64, frac: F64) -> tuple[F32, F32]:
    """The samples' image coordinates (B * RAYS, S), as ``cv2.remap`` reads them: the centre
    plus the shape times the direction times the distance (radius times ``frac``), in float64
    and then rounded to float32 (compiled: building them in numpy took as long as sampling
    them)."""
    count, size = len(centres), len(frac)
    xs = np.empty((count * RAYS, size), np.float32)
    ys = np.empty((count * RAYS, size), np.float32)
    for b in range(count):
        for r in range(RAYS):
            dx = shapes[b, 0, 0] * DIRS[r, 0] + shapes[b, 0, 1] * DIRS[r, 1]
            dy = shapes[b, 1, 0] * DIRS[r, 0] + shapes[b, 1, 1] * DIRS[r, 1]
            for s in range(size):
                along = radii[b] * frac[s]
                xs[b * RAYS + r, s] = centres[b, 0] + dx * along
                ys[b * RAYS + r, s] = centres[b, 1] + dy * along
    return xs, ys
