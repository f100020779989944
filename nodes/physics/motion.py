"""Closed-form ball motion between events: sliding, rolling, spinning in place, stationary.

Within one phase the acceleration is constant, so a motion segment is a quadratic in time. A
segment is a flat list of floats (`Row`, indexed by the constants below) so the event loop can
keep all balls' segments in one numpy array.

Sign conventions: w = (wx, wy, wz) in rad/s about the table axes. The cloth contact point
moves at u = (vx - R wy, vy + R wx); rolling means u = 0, so a ball rolling along +x has
wy = vx / R. wz > 0 is counter-clockwise seen from above (right english).
"""

from __future__ import annotations

import math

from nodes.physics.constant import Physics

STATIONARY, SPINNING, ROLLING, SLIDING, POCKETED = 0, 1, 2, 3, 4
PHASE_NAMES = ("stationary", "spinning", "rolling", "sliding", "pocketed")

# Row layout: start time, phase, position, velocity, acceleration, spin, spin rate, end time,
# link: the pocket of a pocketed row, the cushion a sliding row is pressed against, else -1.
T0, PHASE, RX, RY, VX, VY, AX, AY, WX, WY, WZ, ALX, ALY, ALZ, TEND, LINK = range(16)
ROW_SIZE = 16

Row = list[float]
State = tuple[float, float, float, float, float, float, float]  # x, y, vx, vy, wx, wy, wz

U_EPS = 1e-6  # m/s: contact slip below this is rolling
V_EPS = 1e-6  # m/s: speed below this is no translation
W_EPS = 1e-3  # rad/s: spin about z below this is no spin


def segment(t0: float, state: State, phys: Physics) -> Row:
    """The motion segment that starts at time `t0` in `state` (snapped to the nearest phase)."""
    x, y, vx, vy, wx, wy, wz = state
    r = phys.R
    ux, uy = vx - r * wy, vy + r * wx
    slip = math.hypot(ux, uy)
    if slip > U_EPS:
        return _sliding(t0, state, ux / slip, uy / slip, slip, phys)
    # Within U_EPS of rolling: finish the slide analytically (friction leaves v - 2u/7).
    vx, vy = vx - 2.0 * ux / 7.0, vy - 2.0 * uy / 7.0
    speed = math.hypot(vx, vy)
    if speed > V_EPS:
        return _rolling(t0, x, y, vx, vy, wz, speed, phys)
    if abs(wz) > W_EPS:
        decel = phys.spin_decel
        end = t0 + abs(wz) / decel
        alz = -math.copysign(decel, wz)
        return [t0, SPINNING, x, y, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, wz, 0.0, 0.0, alz, end, -1.0]
    return stationary(t0, x, y)


def stationary(t0: float, x: float, y: float) -> Row:
    """A ball at rest at (x, y) from `t0` on."""
    return [t0, STATIONARY, x, y, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, math.inf, -1.0]


def pocketed(t0: float, x: float, y: float, pocket: int) -> Row:
    """A ball that dropped into pocket number `pocket` at (x, y) at time `t0`."""
    row = stationary(t0, x, y)
    row[PHASE] = POCKETED
    row[LINK] = float(pocket)
    return row


def press(row: Row, nx: float, ny: float, link: int, t_limit: float, phys: Physics) -> Row | None:
    """Sliding segment `row` held against a cushion whose face normal is (nx, ny): the cushion
    takes the normal parts of velocity and acceleration (friction would push the ball into it).

    Cloth friction keeps its direction, so the segment ends at t_limit, or earlier when the slip
    along that direction runs out (friction must never push the slip back). The cushion's own
    friction and torque are not modelled. None if the slip already runs the other way.
    """
    vn = row[VX] * nx + row[VY] * ny
    an = row[AX] * nx + row[AY] * ny
    new = list(row)
    new[VX], new[VY] = row[VX] - vn * nx, row[VY] - vn * ny
    new[AX], new[AY] = row[AX] - an * nx, row[AY] - an * ny
    r = phys.R
    ux, uy = new[VX] - r * new[WY], new[VY] + r * new[WX]
    dux, duy = new[AX] - r * new[ALY], new[AY] + r * new[ALX]
    fx, fy = -row[AX], -row[AY]  # the slip direction the friction was set against
    along, rate = ux * fx + uy * fy, dux * fx + duy * fy
    if along <= 0.0:
        return None
    end = t_limit if rate >= 0.0 else min(t_limit, row[T0] - along / rate)
    new[TEND], new[LINK] = end, float(link)
    return new


def _spin_rate(wz: float, phys: Physics) -> float:
    return -math.copysign(phys.spin_decel, wz) if abs(wz) > W_EPS else 0.0


def _sliding(t0: float, state: State, dx: float, dy: float, slip: float, phys: Physics) -> Row:
    """Kinetic friction mu_slide*m*g opposes the slip; the slip shrinks at 7/2 mu_slide g."""
    x, y, vx, vy, wx, wy, wz = state
    decel = phys.mu_slide * phys.g
    ax, ay = -decel * dx, -decel * dy
    k = 2.5 / phys.R  # angular acceleration = (R z x F) / I = 5/(2R) (ay, -ax)
    end = t0 + slip / (3.5 * decel)
    alz = _spin_rate(wz, phys)
    return [t0, SLIDING, x, y, vx, vy, ax, ay, wx, wy, wz, k * ay, -k * ax, alz, end, -1.0]


def _rolling(
    t0: float, x: float, y: float, vx: float, vy: float, wz: float, speed: float, phys: Physics
) -> Row:
    """Rolling resistance mu_roll*m*g opposes the velocity; the spin stays matched to it."""
    decel = phys.mu_roll * phys.g
    ax, ay = -decel * vx / speed, -decel * vy / speed
    r = phys.R
    end = t0 + speed / decel
    alz = _spin_rate(wz, phys)
    return [t0, ROLLING, x, y, vx, vy, ax, ay, -vy / r, vx / r, wz, -ay / r, ax / r, alz, end, -1.0]


def evaluate(row: Row, t: float) -> State:
    """Position, velocity and spin on segment `row` at time `t` (exact, no integration)."""
    tau = t - row[T0]
    half = 0.5 * tau * tau
    x = row[RX] + row[VX] * tau + row[AX] * half
    y = row[RY] + row[VY] * tau + row[AY] * half
    vx = row[VX] + row[AX] * tau
    vy = row[VY] + row[AY] * tau
    wx = row[WX] + row[ALX] * tau
    wy = row[WY] + row[ALY] * tau
    return x, y, vx, vy, wx, wy, spin_z(row, tau)


def position(row: Row, t: float) -> tuple[float, float, float, float]:
    """Position and velocity on segment `row` at time `t` (the cheap part of `evaluate`)."""
    tau = t - row[T0]
    vx, vy = row[VX] + row[AX] * tau, row[VY] + row[AY] * tau
    return row[RX] + 0.5 * (row[VX] + vx) * tau, row[RY] + 0.5 * (row[VY] + vy) * tau, vx, vy


def spin_z(row: Row, tau: float) -> float:
    """Spin about z, which decays linearly to zero and then stays there."""
    wz, alz = row[WZ], row[ALZ]
    if alz == 0.0:
        return wz
    stop = -wz / alz
    return wz + alz * min(tau, stop)


def after_transition(row: Row, state: State, phys: Physics) -> State:
    """The state at the end of `row`'s phase, exactly in the next phase (no round-off slip)."""
    x, y, vx, vy, _, _, wz = state
    phase = row[PHASE]
    if phase == SLIDING:
        return x, y, vx, vy, -vy / phys.R, vx / phys.R, wz
    if phase == ROLLING:
        return x, y, 0.0, 0.0, 0.0, 0.0, wz
    return x, y, 0.0, 0.0, 0.0, 0.0, 0.0


def energy(state: State, phys: Physics) -> float:
    """Kinetic energy (translation + rotation) of a ball, J."""
    _, _, vx, vy, wx, wy, wz = state
    return 0.5 * phys.mass * (vx * vx + vy * vy) + 0.5 * phys.inertia * (
        wx * wx + wy * wy + wz * wz
    )
