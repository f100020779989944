"""The scene director: a player who racks, aims, strokes and plays on, forever, from a seed.

Each shot is a cycle: walk up (placing the cue ball by hand after a scratch, or re-racking
when few balls are left), bring the cue in, a few practice strokes, backswing, strike, follow
through, hold, withdraw; meanwhile ``nodes.physics`` moves the balls until they rest. Ball
orientations are integrated from the simulated angular velocities, so stripes and numbers turn
as the balls roll and spin. ``state(t)`` must be asked for non-decreasing times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nodes.physics import Ball, BallAt, Simulation, simulate, strike
from nodes.vision.synthetic.ball import BallState, random_orientation
from nodes.vision.synthetic.cue import Player
from nodes.vision.synthetic.plan import (
    Positions,
    ShotPlan,
    break_shot,
    choose_shot,
    kitchen_spot,
    rack,
)
from nodes.vision.synthetic.scene import SceneState
from nodes.vision.synthetic.stroke import Stroke, plan_stroke
from nodes.vision.synthetic.table import TableLayout
from nodes.vision.synthetic.truth import ShotTruth

F64 = NDArray[np.float64]
RERACK_BELOW = 3  # object balls left on the table


@dataclass(slots=True)
class _Cycle:
    """One shot, from the player walking up to every ball at rest."""

    index: int
    start: float
    positions: Positions  # at rest before the strike
    plan: ShotPlan
    stroke: Stroke
    sim: Simulation
    placed: tuple[float, float] | None  # where the cue ball was put down by hand
    racked: bool

    @property
    def end(self) -> float:
        return self.stroke.strike + self.sim.duration + 0.6


class Director:
    """Plays pool from a seed; ``state(t)`` is the scene at scene time t (seconds)."""

    def __init__(
        self, seed: int, layout: TableLayout | None = None, player: Player | None = None
    ) -> None:
        self.layout = layout or TableLayout.nine_foot()
        self.table = self.layout.table
        self.player = player or Player()
        self.rng = np.random.default_rng([seed, 0xD1EC])
        self.orientation = {n: random_orientation(self.rng) for n in range(16)}
        self.last_t = 0.0
        self.turned = 0.0  # orientations are integrated up to this time
        self.cycle = self._new_cycle(0, 0.0, {}, racked=True)

    def state(self, t: float) -> SceneState:
        """The scene at time t (t must not go backwards)."""
        if t < self.last_t - 1e-9:
            raise ValueError(f"time went backwards: {t} < {self.last_t}")
        while t >= self.cycle.end:
            self._advance()
        balls = self._balls(t)
        cue, speed, phase = self.cycle.stroke.cue_at(t)
        stance = self.cycle.stroke.stance if cue is not None else None
        if phase == "walk" and t >= self.cycle.stroke.strike:
            phase = "rolling"
        self.last_t = t
        return SceneState(
            t=t,
            balls=balls,
            cue=cue,
            stance=stance,
            cue_speed=speed,
            phase=phase,
            shot=self._shot_truth(),
            placing=self._placing(t),
        )

    def _advance(self) -> None:
        old = self.cycle
        final = old.sim.final()
        left = {n: (b.x, b.y) for n, b in final.items() if not b.pocketed}
        self._integrate(old, old.end)
        objects = [n for n in left if n != 0]
        racked = len(objects) < RERACK_BELOW or 8 not in left
        self.cycle = self._new_cycle(old.index + 1, old.end, left, racked)

    def _new_cycle(self, index: int, start: float, left: Positions, racked: bool) -> _Cycle:
        rng = self.rng
        placed = None
        if racked:
            positions = rack(self.table, rng)
            self.orientation = {n: random_orientation(rng) for n in range(16)}
        else:
            positions = dict(left)
            if 0 not in positions:
                placed = kitchen_spot(self.table, positions, rng)
                positions[0] = placed
        plan = break_shot(positions, rng) if racked else choose_shot(positions, self.table, rng)
        walk = float(rng.uniform(1.2, 2.0) if (racked or placed) else rng.uniform(0.6, 1.5))
        stroke = plan_stroke(plan, positions, self.layout, self.player, start + walk, rng)
        hit = strike(
            Ball(id=0, x=positions[0][0], y=positions[0][1]),
            plan.direction_deg,
            plan.speed,
            plan.tip_side,
            plan.tip_height,
        )
        balls = [hit] + [Ball(id=n, x=x, y=y) for n, (x, y) in positions.items() if n != 0]
        sim = simulate(balls, self.table)
        return _Cycle(index, start, positions, plan, stroke, sim, placed, racked)

    def _balls(self, t: float) -> tuple[BallState, ...]:
        c = self.cycle
        self._integrate(c, t)
        if t >= c.stroke.strike:
            states = c.sim.state_at(t - c.stroke.strike)
            out = [self._rolling(n, states[n]) for n in sorted(c.positions)]
        else:
            hidden = c.placed is not None and t < c.start + 0.35
            out = [
                BallState(
                    number=n, x=x, y=y, orientation=self._orient(n), pocketed=hidden and n == 0
                )
                for n, (x, y) in sorted(c.positions.items())
            ]
        out += [
            BallState(number=n, x=0.0, y=0.0, pocketed=True)
            for n in range(16)
            if n not in c.positions
        ]
        return tuple(sorted(out, key=lambda b: b.number))

    def _orient(self, n: int) -> tuple[float, ...]:
        return tuple(float(v) for v in self.orientation[n].ravel())

    def _rolling(self, n: int, b: BallAt) -> BallState:
        moving = b.moving and not b.pocketed
        return BallState(
            number=n,
            x=b.x,
            y=b.y,
            vx=b.vx if moving else 0.0,
            vy=b.vy if moving else 0.0,
            spin=0.0 if b.pocketed else math.sqrt(b.wx * b.wx + b.wy * b.wy + b.wz * b.wz),
            orientation=self._orient(n),
            pocketed=b.pocketed,
        )

    def _integrate(self, c: _Cycle, t: float) -> None:
        """Turn every ball by its mean angular velocity since the last call."""
        t0 = max(self.turned, c.stroke.strike)
        if t <= t0:
            return
        now = c.sim.state_at(t - c.stroke.strike)
        then = c.sim.state_at(t0 - c.stroke.strike)
        for n, b in now.items():
            a = then[n]
            w = 0.5 * np.array([a.wx + b.wx, a.wy + b.wy, a.wz + b.wz])
            angle = float(np.linalg.norm(w)) * (t - t0)
            if angle > 1e-12 and not b.pocketed:
                self.orientation[n] = _rotate(w / np.linalg.norm(w), angle) @ self.orientation[n]
        self.turned = t

    def _shot_truth(self) -> ShotTruth:
        c = self.cycle
        p = c.plan
        return ShotTruth(
            number=c.index,
            cue_ball=0,
            target=p.target,
            pocket=p.pocket,
            cut_deg=p.cut_deg,
            direction_deg=p.direction_deg,
            speed=p.speed,
            tip_side=p.tip_side,
            tip_height=p.tip_height,
        )

    def _placing(self, t: float) -> tuple[float, float] | None:
        c = self.cycle
        if c.placed is not None and c.start + 0.05 <= t < c.start + 0.75:
            return c.placed
        return None


def _rotate(axis: F64, angle: float) -> F64:
    """Rotation matrix about a unit axis (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.asarray(np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k))
