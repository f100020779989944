"""A constant-velocity Kalman filter for one ball on the table plane, in plain floats.

State ``[x, y, vx, vy]`` in metres and metres per second. Measurements are positions with
isotropic noise (variance ``r``, m^2) and process noise is isotropic white acceleration
(spectral density ``q``, m^2/s^3). With isotropic noise and both coordinates always measured
together, the x and y covariances stay identical, so one 2x2 ``[position, velocity]``
covariance (three numbers) serves both axes: a predict and an update are a few dozen float
operations, about 2 microseconds in CPython, with no numpy overhead per ball.

A measurement may be taken ``tau`` seconds away from the filter's time (``tau < 0``: a
slightly late frame of another camera); it is then modelled as ``x + tau * v`` (the
out-of-sequence update without process noise over ``tau``, fine for a few milliseconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Innovation:
    """What one update saw: the residual, its variance and normalised squared size."""

    dx: float
    dy: float
    s: float

    @property
    def nis(self) -> float:
        """Normalised innovation squared (chi-square with 2 degrees of freedom)."""
        return (self.dx * self.dx + self.dy * self.dy) / self.s

    @property
    def distance(self) -> float:
        """Euclidean size of the residual in metres."""
        return math.hypot(self.dx, self.dy)


class Kalman:
    """Constant-velocity filter with a shared per-axis covariance ``[[pp, pv], [pv, vv]]``."""

    __slots__ = ("pp", "pv", "vv", "vx", "vy", "x", "y")

    def __init__(self, x: float, y: float, r: float, v_var: float) -> None:
        self.x = x
        self.y = y
        self.vx = 0.0
        self.vy = 0.0
        self.pp = r
        self.pv = 0.0
        self.vv = v_var

    @property
    def speed(self) -> float:
        """Speed estimate in m/s."""
        return math.hypot(self.vx, self.vy)

    def predict(self, dt: float, q: float, decel: float = 0.0) -> None:
        """Advance the state by ``dt`` seconds under white acceleration of density ``q``, the
        mean motion slowing by ``decel`` m/s^2 against the velocity (rolling resistance) until
        it stops."""
        if dt <= 0.0:
            return
        speed = math.hypot(self.vx, self.vy)
        if decel > 0.0 and speed > 0.0:
            s = min(dt, speed / decel)
            move = s - 0.5 * decel * s * s / speed
            keep = 1.0 - decel * s / speed
            self.x += self.vx * move
            self.y += self.vy * move
            self.vx *= keep
            self.vy *= keep
        else:
            self.x += self.vx * dt
            self.y += self.vy * dt
        dt2 = dt * dt
        self.pp += 2.0 * dt * self.pv + dt2 * self.vv + q * dt2 * dt / 3.0
        self.pv += dt * self.vv + q * dt2 / 2.0
        self.vv += q * dt

    def innovation(self, zx: float, zy: float, r: float, tau: float = 0.0) -> Innovation:
        """Residual of a position measurement taken ``tau`` seconds from the filter's time."""
        s = self.pp + 2.0 * tau * self.pv + tau * tau * self.vv + r
        return Innovation(zx - self.x - tau * self.vx, zy - self.y - tau * self.vy, s)

    def update(self, zx: float, zy: float, r: float, tau: float = 0.0) -> Innovation:
        """Fuse a position measurement with noise variance ``r``; return its innovation."""
        inn = self.innovation(zx, zy, r, tau)
        a = self.pp + tau * self.pv
        b = self.pv + tau * self.vv
        ka = a / inn.s
        kb = b / inn.s
        self.x += ka * inn.dx
        self.y += ka * inn.dy
        self.vx += kb * inn.dx
        self.vy += kb * inn.dy
        self.pp -= a * ka
        self.pv -= a * kb
        self.vv -= b * kb
        return inn

    def impulse(self, tau: float, var: float) -> None:
        """Allow an unknown velocity kick of variance ``var`` that happened ``tau`` seconds ago.

        A collision or a strike changes the velocity at once; modelling it as an impulse lets
        the next update move both position and velocity to the data (velocity by about
        residual / tau) instead of lagging for many frames.
        """
        self.pp += var * tau * tau
        self.pv += var * tau
        self.vv += var

    def stop(self, v_var: float) -> None:
        """Declare the ball at rest: zero velocity with a small velocity variance."""
        self.vx = 0.0
        self.vy = 0.0
        self.pv = 0.0
        self.vv = v_var
