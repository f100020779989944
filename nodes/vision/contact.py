"""Balls that overlap on the table, pushed apart until they touch.

Two balls can touch but never overlap: on the table their centres are at least two ball radii
apart. Where two fitted centres come out closer, their errors point at each other (between
touching balls the rim is their shared contact and the dark crevice beside it, whose steps
belong to both balls or to neither), and moving them apart along the line between them, to
touching, removes the part of the errors that lies along it. Each ball takes a share of the move
in proportion to how uncertain its centre is (the rms of its rim about its circle, squared: a
variance), so a ball with a clean rim stays put and one of the cloth's colour, whose rim is
noise, moves; for one pair that is the least-squares placement at touching.

A pair that overlaps by much (half a radius) is most often one ball well placed and one circle
that fell between a ball of the cloth's colour and its neighbour: that circle's rim is noise, and
it takes nearly all the move, out towards where its ball lies. Circles closer than 1.2 radii are
one ball to :func:`nodes.vision.detector.dedupe` and do not reach here; ``LIMIT`` (the same 0.8
radii of overlap) guards the rare pair that would. Rows of balls touching in turn (a rack) are
settled by a few sweeps over the pairs.

On the bench's scenes (36 of record, at rest) this took the centre error from 1.00 / 2.81 to
0.92 / 2.44 mm mean / p95 moving only pairs that overlap by up to 0.2 radii, the touching balls
most, and to 0.88 / 2.41 mm moving all (with the rays at a touching neighbour left out of the
refits, :func:`nodes.vision.detector.refine`); from 0.67 / 1.78 to 0.58 / 1.38 mm on 16 others.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

LIMIT = 0.8  # ball radii of overlap beyond which a pair is not moved (dedupe's 1.2 apart)
SWEEPS = 3  # passes over the pairs
FLOOR = 1e-4  # radii: the least rms counted (a perfect rim moves a little too)


def separate(table: F64, spread: F64, radius: float) -> F64:
    """Table positions (N, 2, metres) of balls of ``radius`` with no two closer than two radii
    (within ``LIMIT``); ``spread`` (N,) is how uncertain each centre is (any unit, the same for
    all: the rms of its rim)."""
    if len(table) < 2:
        return table
    variance = np.square(np.maximum(np.asarray(spread, np.float64), FLOOR))
    return _separate(np.ascontiguousarray(table, np.float64), variance, float(radius))


@numba.njit(cache=True, nogil=True)
def _separate(table: F64, variance: F64, radius: float) -> F64:
    """:func:`separate`'s sweeps over the pairs (compiled: a few hundred pairs, each a handful
    of arithmetic that Python's loop would cost more than the frame's fits)."""
    out = table.copy()
    touch, least = 2.0 * radius, (2.0 - LIMIT) * radius
    count = len(out)
    for _ in range(SWEEPS):
        for i in range(count):
            for j in range(i + 1, count):
                dx, dy = out[j, 0] - out[i, 0], out[j, 1] - out[i, 1]
                gap = np.hypot(dx, dy)
                if not (least < gap < touch):
                    continue
                move = (touch - gap) / gap
                share = variance[i] / (variance[i] + variance[j])
                out[i, 0] -= move * dx * share
                out[i, 1] -= move * dy * share
                out[j, 0] += move * dx * (1.0 - share)
                out[j, 1] += move * dy * (1.0 - share)
    return out
