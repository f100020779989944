"""Vectorised contact times: when does |d(t)| first shrink through rho, for quadratic d(t)?

d(t) = c0 + c1 t + c2 t^2 is the offset between a ball's centre and another centre (a ball,
a jaw tip, a pocket) while both move with constant acceleration, so |d|^2 - rho^2 is a quartic.

A vectorised bounding-box test on d over the horizon discards most candidates first. The few
left (typically 0-3 per event) are solved exactly one by one by splitting [0, horizon] where
the quartic is monotonic (`first_root`, ~13 us each); large batches (a break) go to LAPACK at
once: eigenvalues of companion matrices, polished with Newton steps (~150 us per call). Both
give the same times; tests check one against the other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

V_APPROACH = 1e-7  # m/s: slower approach is a graze, not a contact
D_TOUCH = 1e-9  # m: distances within this of rho count as touching
A_PRESS = 1e-6  # m/s^2: a sliding ball driven into a cushion harder than this is pressing it
BATCH = 12  # from this many candidates on, one LAPACK call beats solving them one by one


def first_contact(
    c0: Array, c1: Array, c2: Array, rho: Array, horizon: Array, press: Array | None = None
) -> Array:
    """Earliest t in [0, horizon] at which |d(t)| = rho while shrinking, else inf (per row).

    c0, c1, c2 have shape (K, 2); rho and horizon shape (K,). A pair already touching (or
    overlapping) and approaching gets t = 0; so does one touching and driven together
    (|d| curving inwards) where `press` is set (a sliding ball on a jaw tip).
    """
    out = np.full(rho.shape, np.inf)
    f0 = np.einsum("ij,ij->i", c0, c0) - rho * rho
    f1 = 2.0 * np.einsum("ij,ij->i", c0, c1)
    threshold = 2.0 * rho * V_APPROACH
    touching = f0 <= 2.0 * rho * D_TOUCH
    now = touching & (f1 < -threshold)
    if press is not None:
        curve = np.einsum("ij,ij->i", c1, c1) + 2.0 * np.einsum("ij,ij->i", c0, c2)
        now |= (press > 0) & touching & (f1 <= threshold) & (curve < -rho * A_PRESS)
    out[now] = 0.0
    todo = ~now & (horizon > 0.0) & _may_reach(c0, c1, c2, rho, horizon)
    idx = np.nonzero(todo)[0]
    if len(idx) >= BATCH:
        out[idx] = _solve(c0[idx], c1[idx], c2[idx], rho[idx], horizon[idx], threshold[idx])
    elif len(idx):
        a = _coefficients(c0[idx], c1[idx], c2[idx], rho[idx]).tolist()
        for k, i in enumerate(idx.tolist()):
            out[i] = first_root(a[k], float(horizon[i]), float(threshold[i]))
    return out


def _may_reach(c0: Array, c1: Array, c2: Array, rho: Array, horizon: Array) -> NDArray[np.bool_]:
    """False where the box around d([0, horizon]) stays farther than rho from the origin."""
    h = horizon[:, None]
    end = c0 + c1 * h + c2 * h * h
    lo, hi = np.minimum(c0, end), np.maximum(c0, end)
    with np.errstate(all="ignore"):
        tv = np.where(c2 != 0.0, -c1 / (2.0 * c2), 0.0)
    tv = np.clip(tv, 0.0, h)
    mid = c0 + c1 * tv + c2 * tv * tv
    lo, hi = np.minimum(lo, mid), np.maximum(hi, mid)
    gap = np.maximum(lo, 0.0) + np.maximum(-hi, 0.0)
    reach: NDArray[np.bool_] = np.einsum("ij,ij->i", gap, gap) <= (rho + D_TOUCH) ** 2
    return reach


def _coefficients(c0: Array, c1: Array, c2: Array, rho: Array) -> Array:
    """Coefficients (a0..a4) of |c0 + c1 t + c2 t^2|^2 - rho^2, shape (K, 5)."""

    def dot(p: Array, q: Array) -> Array:
        return np.asarray(np.einsum("ij,ij->i", p, q), dtype=np.float64)

    return np.stack(
        [
            dot(c0, c0) - rho * rho,
            2.0 * dot(c0, c1),
            dot(c1, c1) + 2.0 * dot(c0, c2),
            2.0 * dot(c1, c2),
            dot(c2, c2),
        ],
        axis=1,
    )


def _solve(c0: Array, c1: Array, c2: Array, rho: Array, horizon: Array, threshold: Array) -> Array:
    a = _coefficients(c0, c1, c2, rho)
    scale = horizon[:, None] ** np.arange(5)
    b = a * scale  # polynomial in s = t / horizon, roots wanted in [0, 1]
    big = np.abs(b).max(axis=1)
    quartic = np.abs(b[:, 4]) > 1e-12 * big
    roots = np.full((len(b), 4), np.nan)
    if quartic.any():
        roots[quartic] = _quartic_roots(b[quartic])
    if (~quartic).any():
        roots[~quartic, :2] = _quadratic_roots(b[~quartic])
    t = roots * horizon[:, None]
    t = _polish(a, t)
    f, df = _value(a, t)
    ok = (t >= 0.0) & (t <= horizon[:, None] * (1.0 + 1e-12)) & (df < -threshold[:, None])
    ok &= np.abs(f) <= 1e-6 * rho[:, None] ** 2
    t = np.where(ok, t, np.inf)
    return np.asarray(t.min(axis=1), dtype=np.float64)


def _quartic_roots(b: Array) -> Array:
    """Real parts of near-real roots of b0 + b1 s + ... + b4 s^4 (NaN for complex ones)."""
    k = len(b)
    m = np.zeros((k, 4, 4))
    m[:, 1, 0] = m[:, 2, 1] = m[:, 3, 2] = 1.0
    m[:, :, 3] = -b[:, :4] / b[:, 4:5]
    z = np.linalg.eigvals(m)
    real = np.abs(z.imag) <= 1e-6 * (1.0 + np.abs(z.real))
    return np.where(real, z.real, np.nan)


def _quadratic_roots(b: Array) -> Array:
    """Roots of b0 + b1 s + b2 s^2 (b3, b4 negligible), stable form; NaN where none."""
    c, q, p = b[:, 0], b[:, 1], b[:, 2]
    disc = q * q - 4.0 * p * c
    sq = np.sqrt(np.maximum(disc, 0.0))
    w = -0.5 * (q + np.copysign(sq, q))
    with np.errstate(all="ignore"):
        r1 = np.where(p != 0.0, w / p, np.where(q != 0.0, -c / q, np.nan))
        r2 = np.where(w != 0.0, c / w, np.nan)
    r1 = np.where(disc >= 0.0, r1, np.nan)
    r2 = np.where(disc >= 0.0, r2, np.nan)
    return np.stack([r1, r2], axis=1)


def _value(a: Array, t: Array) -> tuple[Array, Array]:
    """The quartic and its derivative at t (a: (K, 5), t: (K, n))."""
    a0, a1, a2, a3, a4 = (a[:, i : i + 1] for i in range(5))
    f = (((a4 * t + a3) * t + a2) * t + a1) * t + a0
    df = ((4.0 * a4 * t + 3.0 * a3) * t + 2.0 * a2) * t + a1
    return f, df


def _polish(a: Array, t: Array, steps: int = 2) -> Array:
    """A few Newton steps on the unscaled quartic (skipped where the slope vanishes)."""
    for _ in range(steps):
        with np.errstate(all="ignore"):
            f, df = _value(a, t)
            step = np.where(np.abs(df) > 0.0, f / np.where(df == 0.0, 1.0, df), 0.0)
        t = t - step
    return t


def contact_time(
    c0x: float,
    c0y: float,
    c1x: float,
    c1y: float,
    c2x: float,
    c2y: float,
    rho: float,
    horizon: float,
    press: float = 0.0,
) -> float:
    """Scalar `first_contact` for one offset d(t) = c0 + c1 t + c2 t^2."""
    f0 = c0x * c0x + c0y * c0y - rho * rho
    f1 = 2.0 * (c0x * c1x + c0y * c1y)
    threshold = 2.0 * rho * V_APPROACH
    a2 = c1x * c1x + c1y * c1y + 2.0 * (c0x * c2x + c0y * c2y)
    pressed = press and f1 <= threshold and a2 < -rho * A_PRESS
    if f0 <= 2.0 * rho * D_TOUCH and (f1 < -threshold or pressed):
        return 0.0
    if horizon <= 0.0:
        return math.inf
    a3 = 2.0 * (c1x * c2x + c1y * c2y)
    a4 = c2x * c2x + c2y * c2y
    return first_root([f0, f1, a2, a3, a4], horizon, threshold)


def first_root(a: list[float], horizon: float, threshold: float) -> float:
    """First t in (0, horizon] where a0 + a1 t + ... + a4 t^4 (> 0 at t = 0) falls through
    zero with slope below -threshold, else inf. Exact up to round-off: the roots of f'' split
    [0, horizon] into pieces where f' is monotonic, the roots of f' into pieces where f is,
    and each sign change is bracketed."""
    a0, a1, a2, a3, a4 = a

    def f(t: float) -> float:
        return (((a4 * t + a3) * t + a2) * t + a1) * t + a0

    def d1(t: float) -> float:
        return ((4.0 * a4 * t + 3.0 * a3) * t + 2.0 * a2) * t + a1

    def d2(t: float) -> float:
        return (12.0 * a4 * t + 6.0 * a3) * t + 2.0 * a2

    tol = 1e-15 * horizon
    cuts = [0.0, *_quadratic_in(6.0 * a4, 3.0 * a3, a2, horizon), horizon]
    turns = [0.0]
    for lo, hi in itertools.pairwise(cuts):
        dlo, dhi = d1(lo), d1(hi)
        if (dlo < 0.0) != (dhi < 0.0):
            turns.append(_bracket(d1, d2, lo, hi, dlo, tol))
    turns.append(horizon)
    flo = f(0.0)
    for lo, hi in itertools.pairwise(turns):
        fhi = f(hi)
        if flo > 0.0 and fhi <= 0.0:
            t = _bracket(f, d1, lo, hi, flo, tol) if fhi < 0.0 else hi
            if d1(t) < -threshold:
                return t
        flo = fhi
    return math.inf


def _quadratic_in(a: float, b: float, c: float, horizon: float) -> list[float]:
    """Sorted roots of a t^2 + b t + c inside (0, horizon)."""
    roots: list[float] = []
    if a == 0.0:
        if b != 0.0:
            roots = [-c / b]
    else:
        disc = b * b - 4.0 * a * c
        if disc >= 0.0:
            w = -0.5 * (b + math.copysign(math.sqrt(disc), b))
            roots = [w / a, c / w] if w != 0.0 else [0.0]
    return sorted(t for t in roots if 0.0 < t < horizon)


def _bracket(
    f: Callable[[float], float],
    df: Callable[[float], float],
    lo: float,
    hi: float,
    flo: float,
    tol: float,
) -> float:
    """Root of f, monotonic on [lo, hi] with a sign change: Newton, bisecting when it strays."""
    t = 0.5 * (lo + hi)
    for _ in range(100):
        ft = f(t)
        if ft == 0.0:
            return t
        if (ft > 0.0) == (flo > 0.0):
            lo, flo = t, ft
        else:
            hi = t
        slope = df(t)
        nxt = t - ft / slope if slope != 0.0 else lo - 1.0
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - t) <= tol or hi - lo <= tol:
            return nxt
        t = nxt
    return t
