"""The live trajectory: what the aimed shot would do, published while the cue aims.

While the cue is visible, every ball is still and the cue points at a ball, the core predicts the
shot with the configured preview speed and publishes a ``Trajectory``. It recomputes only when
the aim changes (direction by more than ``angle_eps_deg``, tip or a ball by more than
``move_eps``) and at most every ``min_interval_s``; the newest aim is always computed once the
interval has passed, so the preview never sticks on a stale aim. When the cue is lost, a shot
starts, or the cue stops pointing at a ball, one ``cleared`` Trajectory says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nodes.core.prediction import ShotArgs, TableBall, predict
from nodes.physics import Physics, Table
from protocol.errors import ControlError
from protocol.messages import Trajectory

Aim = tuple[int, float, float, float, float, tuple[tuple[int, float, float], ...]]


@dataclass(frozen=True, slots=True)
class AimConfig:
    """Preview speed (the stroke speed cannot be seen before the stroke), rate and thresholds."""

    speed: float = 2.0
    min_interval_s: float = 0.1
    angle_eps_deg: float = 0.2
    move_eps: float = 0.002
    max_side: float = 0.6


class AimPolicy:
    """Decides when to predict and when to clear."""

    def __init__(self, table: Table, phys: Physics, config: AimConfig | None = None) -> None:
        self.table, self.phys = table, phys
        self.config = config or AimConfig()
        self.active = False
        self.target: int | None = None
        self._aim: Aim | None = None
        self._t_last = -math.inf

    def clear(self, t_ns: int, frame: int, reason: str) -> Trajectory | None:
        """A ``cleared`` Trajectory if a prediction is showing, else None."""
        if not self.active:
            return None
        self.active, self._aim = False, None
        return Trajectory(t_capture_ns=t_ns, frame=frame, cleared=True, reason=reason)

    def update(
        self,
        t: float,
        t_ns: int,
        frame: int,
        struck: tuple[int, float] | None,
        direction_deg: float,
        balls: Sequence[TableBall],
    ) -> Trajectory | None:
        """Aim at ``struck`` = (ball id, tip side offset) with the cue along ``direction_deg``."""
        if struck is None:
            return self.clear(t_ns, frame, "no_ball")
        c = self.config
        side = max(-c.max_side, min(c.max_side, struck[1]))
        cue = next(b for b in balls if b.id == struck[0])
        aim: Aim = (
            struck[0],
            direction_deg,
            side,
            cue.x,
            cue.y,
            tuple((b.id, b.x, b.y) for b in balls),
        )
        if self._aim is not None and not self._changed(aim, self._aim):
            return None
        if self.active and t - self._t_last < c.min_interval_s:
            return None
        shot = ShotArgs(tuple(balls), struck[0], direction_deg % 360.0, c.speed, side, 0.0)
        try:
            prediction = predict(shot, self.table, self.phys)
        except ControlError:  # the engine refused the layout (e.g. a ball off the table)
            return self.clear(t_ns, frame, "prediction_failed")
        self.active, self._aim, self._t_last = True, aim, t
        self.target = prediction.target
        return Trajectory(t_capture_ns=t_ns, frame=frame, prediction=prediction)

    def _changed(self, new: Aim, old: Aim) -> bool:
        c = self.config
        if new[0] != old[0] or len(new[5]) != len(old[5]):
            return True
        turn = abs((new[1] - old[1] + 180.0) % 360.0 - 180.0)
        if turn > c.angle_eps_deg or abs(new[2] - old[2]) > 0.05:
            return True
        moved = any(
            a[0] != b[0] or math.hypot(a[1] - b[1], a[2] - b[2]) > c.move_eps
            for a, b in zip(new[5], old[5], strict=True)
        )
        return moved or math.hypot(new[3] - old[3], new[4] - old[4]) > c.move_eps
