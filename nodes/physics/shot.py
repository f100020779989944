"""The cue strike: the cue ball's velocity and spin just after the tip leaves it."""

from __future__ import annotations

import math
from dataclasses import replace

from nodes.physics.ball import Ball
from nodes.physics.constant import Physics

DEFAULT_PHYSICS = Physics()


def strike(
    ball: Ball,
    direction_deg: float,
    speed: float,
    tip_side: float = 0.0,
    tip_height: float = 0.0,
    phys: Physics = DEFAULT_PHYSICS,
) -> Ball:
    """The cue ball's state just after a level cue strike.

    direction_deg: direction of travel, 0 along +x, counter-clockwise (no squirt is added).
    speed: m/s just after the strike; above phys.max_speed it is capped to phys.max_speed.
    tip_side, tip_height: tip offset from the ball's centre in ball radii, seen by the shooter:
    side > 0 is right english, height > 0 follow (topspin), < 0 draw. The impulse m*v acts
    along the direction at that offset, so w = 5 v / (2 R) * (side z + height (z x d)):
    height 0.4 gives natural roll, |offset| near 0.5 is about where a real cue miscues.
    Raises ValueError for non-finite values, a negative speed, an offset of 1 radius or more,
    or a pocketed ball.
    """
    values = {"direction_deg": direction_deg, "speed": speed, "tip_side": tip_side}
    values["tip_height"] = tip_height
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed!r}")
    if math.hypot(tip_side, tip_height) >= 1.0:
        raise ValueError(f"tip offset ({tip_side}, {tip_height}) is off the ball (>= 1 radius)")
    if ball.pocketed:
        raise ValueError(f"ball {ball.id} is pocketed")
    speed = min(speed, phys.max_speed)
    angle = math.radians(direction_deg)
    dx, dy = math.cos(angle), math.sin(angle)
    k = 2.5 * speed / phys.R
    return replace(
        ball,
        vx=speed * dx,
        vy=speed * dy,
        wx=-k * tip_height * dy,
        wy=k * tip_height * dx,
        wz=k * tip_side,
    )
