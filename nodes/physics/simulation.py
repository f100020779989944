"""`simulate()` and its result: events, exact states at any time, and drawable paths."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from nodes.physics import motion as mo
from nodes.physics.ball import Ball, BallAt
from nodes.physics.constant import Physics
from nodes.physics.engine import Engine
from nodes.physics.event import Event
from nodes.physics.placement import prepare
from nodes.physics.table import Table

DEFAULT_PHYSICS = Physics()
MAX_EVENTS = 20_000

Point = tuple[float, float, float]


class Simulation:
    """The outcome of a shot: every ball's piecewise-quadratic motion, and its events.

    `duration` is the time at which every ball is at rest (no translation, no spin) or pocketed;
    if that did not happen by t_max (or within max_events), it is where the simulation stopped
    and `settled` is False.
    """

    def __init__(
        self,
        balls: list[Ball],
        table: Table,
        phys: Physics,
        rows: list[list[mo.Row]],
        events: list[Event],
        settled: bool,
        duration: float,
    ) -> None:
        self.balls = tuple(balls)
        self.table, self.phys = table, phys
        self.events = events
        self.settled = settled
        self.duration = duration
        self._rows = {b.id: r for b, r in zip(balls, rows, strict=True)}
        self._starts = {b.id: [row[mo.T0] for row in r] for b, r in zip(balls, rows, strict=True)}

    def state_at(self, t: float) -> dict[int, BallAt]:
        """Every ball's exact state at time t (clamped to [0, duration])."""
        if math.isnan(t):
            raise ValueError("t must be a number")
        t = min(max(float(t), 0.0), self.duration)
        return {i: self._ball_at(i, t) for i in self._rows}

    def final(self) -> dict[int, BallAt]:
        """Every ball's state at the end of the simulation."""
        return self.state_at(self.duration)

    def segments(self, ball_id: int) -> list[mo.Row]:
        """The motion segments of one ball (see `motion` for the row layout)."""
        return list(self._rows[ball_id])

    def paths(self, max_step: float = 0.02) -> dict[int, list[Point]]:
        """Per ball, (t, x, y) points: the start, every event point, samples at most `max_step`
        seconds apart on curved (sliding) stretches, and the end. Straight stretches between
        points are exact; draw the polyline as is."""
        if not (max_step > 0 and math.isfinite(max_step)):
            raise ValueError(f"max_step must be a positive number of seconds, got {max_step!r}")
        return {i: self._path(rows, max_step) for i, rows in self._rows.items()}

    def _ball_at(self, ball_id: int, t: float) -> BallAt:
        rows = self._rows[ball_id]
        row = rows[max(bisect.bisect_right(self._starts[ball_id], t) - 1, 0)]
        phase = int(row[mo.PHASE])
        if phase == mo.POCKETED:
            return self._pocketed(ball_id, row)
        x, y, vx, vy, wx, wy, wz = mo.evaluate(row, min(t, row[mo.TEND]))
        moving = phase in (mo.ROLLING, mo.SLIDING)
        name = mo.PHASE_NAMES[phase]
        return BallAt(ball_id, x, y, vx, vy, wx, wy, wz, name, moving, False)

    def _pocketed(self, ball_id: int, row: mo.Row) -> BallAt:
        k = int(row[mo.LINK])
        x, y, name = row[mo.RX], row[mo.RY], None
        if k >= 0:
            pocket = self.table.pockets[k]
            x, y, name = pocket.x, pocket.y, pocket.name
        return BallAt(ball_id, x, y, 0.0, 0.0, 0.0, 0.0, 0.0, "pocketed", False, True, name)

    def _path(self, rows: list[mo.Row], max_step: float) -> list[Point]:
        points: list[Point] = []
        end_of_sim = self.duration
        for k, row in enumerate(rows):
            t0 = row[mo.T0]
            if t0 > end_of_sim:
                break
            _add(points, (t0, row[mo.RX], row[mo.RY]))
            t1 = min(rows[k + 1][mo.T0] if k + 1 < len(rows) else end_of_sim, end_of_sim)
            if row[mo.PHASE] == mo.SLIDING:
                for t in _inner_times(row, t0, t1, max_step):
                    _add(points, (t, *mo.evaluate(row, t)[:2]))
            if k + 1 == len(rows) and row[mo.PHASE] in (mo.ROLLING, mo.SLIDING):
                _add(points, (t1, *mo.evaluate(row, t1)[:2]))
        return points


def _add(points: list[Point], p: Point) -> None:
    if not points or points[-1] != p:
        points.append(p)


def _inner_times(row: mo.Row, t0: float, t1: float, max_step: float) -> list[float]:
    """Sample times inside a sliding stretch: every max_step if it curves, and the turning
    point of a ball that stops and comes back (a draw shot) so the path reaches its far end."""
    times = []
    if _curved(row):
        steps = math.ceil((t1 - t0) / max_step)
        times = [t0 + (t1 - t0) * s / steps for s in range(1, steps)]
    acc2 = row[mo.AX] ** 2 + row[mo.AY] ** 2
    turn = t0 - (row[mo.VX] * row[mo.AX] + row[mo.VY] * row[mo.AY]) / acc2 if acc2 > 0 else t0
    if t0 < turn < t1:
        times = sorted({*times, turn})
    return times


def _curved(row: mo.Row) -> bool:
    cross = row[mo.VX] * row[mo.AY] - row[mo.VY] * row[mo.AX]
    return abs(cross) > 1e-9 * (abs(row[mo.VX]) + abs(row[mo.VY])) * (
        abs(row[mo.AX]) + abs(row[mo.AY])
    )


def simulate(
    balls: Sequence[Ball],
    table: Table,
    phys: Physics = DEFAULT_PHYSICS,
    t_max: float = 30.0,
    max_events: int = MAX_EVENTS,
) -> Simulation:
    """Simulate the balls from their initial states until all are at rest, pocketed, or t_max.

    Raises ValueError for NaN/inf inputs, duplicate ids, balls off the table or a bad t_max;
    see `placement` for how overlaps and excessive speeds are handled.
    """
    if not (t_max >= 0 and math.isfinite(t_max)):
        raise ValueError(f"t_max must be finite and >= 0, got {t_max!r}")
    ready = prepare(balls, table, phys)
    engine = Engine(ready, table, phys, t_max)
    settled, duration = engine.run(max_events)
    return Simulation(ready, table, phys, engine.rows, engine.events, settled, duration)
