"""What happened during a simulated shot, in time order."""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES = ("ball_ball", "cushion", "pocket", "rolling", "spinning", "rest")


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a simulation.

    type:
      ball_ball  two balls touch. balls = (striking ball, struck ball), the striker being the
                 one approaching faster; angle = cut angle in degrees between their relative
                 velocity and the line of centres (0 = full hit); speed = relative speed.
      cushion    a ball hits a cushion or a jaw tip (`cushion` names it); angle = incidence
                 from the cushion normal in degrees (0 = head on), angle_out = rebound angle.
      pocket     a ball drops (`pocket` names the pocket); x, y = where its centre crossed the
                 capture circle.
      rolling    a ball stops sliding and starts rolling.
      spinning   a ball stops translating but still spins in place.
      rest       a ball comes to rest.
    x, y is the centre of balls[0] at time t (the ghost-ball position for ball_ball).
    """

    t: float
    type: str
    balls: tuple[int, ...]
    x: float
    y: float
    angle: float | None = None
    angle_out: float | None = None
    speed: float | None = None
    cushion: str | None = None
    pocket: str | None = None
