"""Physical constants of balls, cloth and cushions (SI units)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Physics:
    """Constants of the ball/cloth/cushion model; defaults follow pooltool and Dr. Dave's tables.

    Sources: anchors-vision.md section 3 (WPA specs; billiards.colostate.edu "physical
    properties"; pooltool defaults). Angular velocities are in rad/s, everything else SI.
    """

    g: float = 9.81  # gravity, m/s^2
    R: float = 0.028575  # ball radius, m (2.25 in diameter)
    mass: float = 0.170  # ball mass, kg
    mu_slide: float = 0.2  # ball-cloth sliding friction
    mu_roll: float = 0.01  # ball-cloth rolling resistance
    mu_spin: float = 0.0127  # ball-cloth spinning friction: spin decays at 5*mu_spin*g/(2R) rad/s^2
    e_ball: float = 0.95  # ball-ball restitution
    mu_ball: float = 0.06  # ball-ball friction (throw)
    e_cushion: float = 0.85  # ball-cushion restitution along the contact normal
    mu_cushion: float = 0.2  # ball-cushion friction
    max_speed: float = 20.0  # m/s; faster input is scaled down to this (a break is 11-13 m/s)

    def __post_init__(self) -> None:
        for name in ("g", "R", "mass", "max_speed"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Physics.{name} must be finite and > 0, got {value!r}")
        for name in ("mu_slide", "mu_roll", "mu_spin"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Physics.{name} must be finite and > 0, got {value!r}")
        for name in ("e_ball", "e_cushion"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Physics.{name} must be in [0, 1], got {value!r}")
        for name in ("mu_ball", "mu_cushion"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"Physics.{name} must be finite and >= 0, got {value!r}")

    @property
    def inertia(self) -> float:
        """Moment of inertia of a solid ball, 2/5 m R^2 (kg m^2)."""
        return 0.4 * self.mass * self.R * self.R

    @property
    def spin_decel(self) -> float:
        """Deceleration of spin about the vertical axis, rad/s^2."""
        return 2.5 * self.mu_spin * self.g / self.R

    @property
    def max_spin(self) -> float:
        """Largest angular speed accepted (that of a max_speed strike at the ball's edge), rad/s."""
        return 2.5 * self.max_speed / self.R

    def as_dict(self) -> dict[str, float]:
        """The constants by name, for `describe` replies."""
        return {name: float(getattr(self, name)) for name in self.__dataclass_fields__}
