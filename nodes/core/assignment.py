"""Which detection belongs to which track: gated Hungarian assignment with identity costs.

The cost of pairing a track with a measurement is the distance (metres) from the track's
prediction to the measurement, plus penalties when their colour classes or numbers disagree
(larger for the cue and eight ball, whose colour is reliable). Pairs beyond the track's gate are
forbidden. :func:`scipy.optimize.linear_sum_assignment` minimises the total, so two balls passing
close keep their identities as long as their predictions are better than a swap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from nodes.core.hygiene import Measurement
from nodes.core.track import Status, Track

FORBIDDEN = 1.0e6
KIND_CODE = {"unknown": 0, "cue": 1, "eight": 2, "solid": 3, "stripe": 4}

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Penalties:
    """Extra cost in metres for disagreeing identities."""

    kind: float = 0.04
    unique_kind: float = 0.08
    number: float = 0.06
    tentative: float = 0.01


def identity_costs(tracks: Sequence[Track], ms: Sequence[Measurement], pen: Penalties) -> Matrix:
    """Penalty matrix (tracks x measurements) for class and number disagreements."""
    tk = np.array([KIND_CODE[t.identity.kind] for t in tracks])[:, None]
    mk = np.array([KIND_CODE[m.kind] for m in ms])[None, :]
    tn = np.array([-1 if t.identity.number is None else t.identity.number for t in tracks])
    mn = np.array([-1 if m.number is None else m.number for m in ms])[None, :]
    known = (tk > 0) & (mk > 0)
    mismatch = known & (tk != mk)
    unique = mismatch & ((tk <= 2) | (mk <= 2))
    cost = np.where(unique, pen.unique_kind, np.where(mismatch, pen.kind, 0.0))
    cost += np.where((tn[:, None] >= 0) & (mn >= 0) & (tn[:, None] != mn), pen.number, 0.0)
    tentative = np.array([t.status is Status.TENTATIVE for t in tracks])[:, None]
    cost += np.where(tentative, pen.tentative, 0.0)
    return cost


def distances(tracks: Sequence[Track], ms: Sequence[Measurement], t: float) -> Matrix:
    """Distance from each track's prediction at time ``t`` to each measurement."""
    pred = np.array([t_.predicted(t - t_.t) for t_ in tracks])
    meas = np.array([(m.x, m.y) for m in ms])
    diff = pred[:, None, :] - meas[None, :, :]
    dist: Matrix = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return dist


def assign(
    dist: Matrix, penalty: Matrix, gates: Sequence[float]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost pairs within the gates, then the unpaired track and measurement indices."""
    n, m = dist.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    cost = dist + penalty
    cost[dist > np.asarray(gates)[:, None]] = FORBIDDEN
    rows, cols = linear_sum_assignment(cost)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < FORBIDDEN]
    used_r = {r for r, _ in pairs}
    used_c = {c for _, c in pairs}
    return (
        pairs,
        [i for i in range(n) if i not in used_r],
        [j for j in range(m) if j not in used_c],
    )
