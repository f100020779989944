"""Instantaneous impulses: ball-ball (restitution + friction/throw) and ball-cushion.

Both are rigid-body impulse models with Coulomb friction that either sticks (the contact's
tangential slip is cancelled) or slides (friction impulse = mu * normal impulse), decided with
the pre-impact slip. Vertical impulses are absorbed by the bed: balls never leave the table.

Ball-ball: Alciatore's throw model ("TP A.14", billiards.colostate.edu): the slip at the
contact includes side spin and follow/draw, the sticking impulse is m|slip|/7.
Ball-cushion: Han (2005), "Dynamics in carom and three cushion billiards": the cushion touches
the ball at the nose height h above the bed, i.e. at sin(theta) = h/R - 1 above the equator;
the sticking impulse is 2/7 m|slip|. Mathavan et al. (2010) refine this with bed friction
during the impact; we do not.
"""

from __future__ import annotations

import math

from nodes.physics.constant import Physics

Motion = tuple[float, float, float, float, float]  # vx, vy, wx, wy, wz


def ball_ball(a: Motion, b: Motion, nx: float, ny: float, phys: Physics) -> tuple[Motion, Motion]:
    """Post-impact motion of balls a and b; (nx, ny) is the unit vector from a's centre to b's."""
    avx, avy, awx, awy, awz = a
    bvx, bvy, bwx, bwy, bwz = b
    dvx, dvy = avx - bvx, avy - bvy
    approach = dvx * nx + dvy * ny
    if approach <= 0.0:
        return a, b
    m, r = phys.mass, phys.R
    jn = 0.5 * (1.0 + phys.e_ball) * m * approach  # equal masses: reduced mass m/2
    # Slip of a's contact point against b's: dv + R (wa + wb) x n, minus its normal part.
    wx, wy, wz = awx + bwx, awy + bwy, awz + bwz
    sx = dvx - r * wz * ny - approach * nx
    sy = dvy + r * wz * nx - approach * ny
    sz = r * (wx * ny - wy * nx)
    px, py, pz = _friction(sx, sy, sz, phys.mu_ball * jn, m / 7.0)
    k = r / phys.inertia
    dwx, dwy, dwz = k * ny * pz, -k * nx * pz, k * (nx * py - ny * px)
    ja = jn / m
    a_out = (avx - ja * nx + px / m, avy - ja * ny + py / m, awx + dwx, awy + dwy, awz + dwz)
    b_out = (bvx + ja * nx - px / m, bvy + ja * ny - py / m, bwx + dwx, bwy + dwy, bwz + dwz)
    return a_out, b_out


def ball_cushion(ball: Motion, nx: float, ny: float, height: float, phys: Physics) -> Motion:
    """Post-impact motion of a ball hitting a cushion whose face normal (towards the table) is
    (nx, ny) and whose nose is `height` above the bed."""
    vx, vy, wx, wy, wz = ball
    inward = vx * nx + vy * ny
    if inward >= 0.0:
        return ball
    m, r = phys.mass, phys.R
    sin_t = min(max(height / r - 1.0, -1.0), 1.0)
    cos_t = math.sqrt(1.0 - sin_t * sin_t)
    # Unit vector from the ball's centre to the contact point (into the cushion, up).
    cx, cy, cz = -nx * cos_t, -ny * cos_t, sin_t
    c = vx * cx + vy * cy  # approach speed along the contact normal
    pn = (1.0 + phys.e_cushion) * m * c
    # Velocity of the ball's contact point: v + w x (R c).
    ux = vx + r * (wy * cz - wz * cy)
    uy = vy + r * (wz * cx - wx * cz)
    uz = r * (wx * cy - wy * cx)
    un = ux * cx + uy * cy + uz * cz
    fx, fy, fz = _friction(ux - un * cx, uy - un * cy, uz - un * cz, phys.mu_cushion * pn, m / 3.5)
    px, py, pz = fx - pn * cx, fy - pn * cy, fz - pn * cz
    k = r / phys.inertia  # dw = R c x P / I
    return (
        vx + px / m,
        vy + py / m,
        wx + k * (cy * pz - cz * py),
        wy + k * (cz * px - cx * pz),
        wz + k * (cx * py - cy * px),
    )


def _friction(
    sx: float, sy: float, sz: float, limit: float, stick_mass: float
) -> tuple[float, float, float]:
    """Coulomb friction impulse against slip s: cancels it (stick_mass*|s|) up to `limit`."""
    slip = math.sqrt(sx * sx + sy * sy + sz * sz)
    if slip == 0.0:
        return 0.0, 0.0, 0.0
    p = min(limit, stick_mass * slip) / slip
    return -p * sx, -p * sy, -p * sz
