"""Which detection belongs to which track: gated Hungarian assignment with identity costs.

The cost of pairing a track with a measurement is the distance (metres) from the track's
prediction to the measurement, plus penalties when their labels disagree: 4 cm for solid and
stripe, 10 cm when the cue or eight ball is involved (their colours are the most reliable), 6 cm
for another number. A detector reads a rolling, blurred ball far worse than a still one and
says so in its confidence, so each penalty is scaled by the measurement's confidence relative
to the track's usual one (down to a quarter): a doubtful label breaks near-ties, it never
outweighs where the ball is. Pairs beyond the track's gate are forbidden.
:func:`scipy.optimize.linear_sum_assignment` minimises the total, so two balls passing
close keep their identities as long as their predictions are better than a swap.

A table has one cue ball, one eight and one ball of each number: when several detections of a
frame claim one of these labels, only the most confident keeps it (:func:`unique_claims`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from nodes.core.hygiene import Measurement
from nodes.core.track import Status, Track

FORBIDDEN = 1.0e6
#: metres-equivalent cost of leaving a track or a measurement unpaired
MISS_COST = 0.25
KIND_CODE = {"unknown": 0, "cue": 1, "eight": 2, "solid": 3, "stripe": 4}
UNIQUE = ("cue", "eight")

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Penalties:
    """Extra cost in metres for disagreeing identities."""

    kind: float = 0.04
    unique_kind: float = 0.1
    number: float = 0.06
    tentative: float = 0.01
    min_weight: float = 0.25


def identity_costs(tracks: Sequence[Track], ms: Sequence[Measurement], pen: Penalties) -> Matrix:
    """Penalty matrix (tracks x measurements) for class and number disagreements, each scaled
    by the measurement's confidence relative to the track's."""
    tk = np.array([KIND_CODE[t.identity.kind] for t in tracks])[:, None]
    mk = np.array([KIND_CODE[m.kind] for m in ms])[None, :]
    tn = np.array([-1 if t.identity.number is None else t.identity.number for t in tracks])
    mn = np.array([-1 if m.number is None else m.number for m in ms])[None, :]
    known = (tk > 0) & (mk > 0)
    mismatch = known & (tk != mk)
    unique = mismatch & ((tk <= 2) | (mk <= 2))
    cost = np.where(unique, pen.unique_kind, np.where(mismatch, pen.kind, 0.0))
    cost += np.where((tn[:, None] >= 0) & (mn >= 0) & (tn[:, None] != mn), pen.number, 0.0)
    usual = np.array([max(t.confidence, 1.0e-3) for t in tracks])[:, None]
    said = np.array([m.confidence for m in ms])[None, :]
    cost *= np.clip(said / usual, pen.min_weight, 1.0)
    tentative = np.array([t.status is Status.TENTATIVE for t in tracks])[:, None]
    cost += np.where(tentative, pen.tentative, 0.0)
    return cost


def unique_claims(ms: Sequence[Measurement]) -> list[Measurement]:
    """The frame's measurements with each unique label (the cue or eight class, a number)
    left only on its most confident claimant; the others become unlabelled."""
    order = sorted(range(len(ms)), key=lambda k: -ms[k].confidence)
    taken: set[int | str] = set()
    out = list(ms)
    for k in order:
        m = ms[k]
        unique = m.kind in UNIQUE
        claims = {c for c in (m.number, m.kind if unique else None) if c is not None}
        if claims & taken:
            out[k] = replace(m, kind="unknown" if unique else m.kind, number=None)
        taken |= claims
    return out


def distances(tracks: Sequence[Track], ms: Sequence[Measurement], t: float) -> Matrix:
    """Distance from each track's prediction at time ``t`` to each measurement."""
    pred = np.array([t_.predicted(t - t_.t) for t_ in tracks])
    meas = np.array([(m.x, m.y) for m in ms])
    diff = pred[:, None, :] - meas[None, :, :]
    dist: Matrix = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return dist


def assign(
    dist: Matrix, penalty: Matrix, gates: Sequence[float], miss_cost: float = MISS_COST
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost pairs within the gates, then the unpaired track and measurement indices.

    Leaving a track or a measurement unpaired costs ``miss_cost`` each (the matrix is padded
    with those options), so a pair costing more than twice that is never forced: without it
    the solver would rather swap two balls than leave one struck ball for the wide-gate pass.
    """
    n, m = dist.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    cost = dist + penalty
    cost[dist > np.asarray(gates)[:, None]] = FORBIDDEN
    padded = np.full((n + m, m + n), FORBIDDEN)
    padded[:n, :m] = cost
    padded[np.arange(n), m + np.arange(n)] = miss_cost
    padded[n + np.arange(m), np.arange(m)] = miss_cost
    padded[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(padded)
    pairs = [
        (int(r), int(c))
        for r, c in zip(rows, cols, strict=True)
        if r < n and c < m and cost[r, c] < FORBIDDEN
    ]
    used_r = {r for r, _ in pairs}
    used_c = {c for _, c in pairs}
    return (
        pairs,
        [i for i in range(n) if i not in used_r],
        [j for j in range(m) if j not in used_c],
    )
