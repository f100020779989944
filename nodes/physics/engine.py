"""The event loop: advance from event to event, resolving each with closed-form motion.

For every ball the engine keeps its current motion segment (a `motion` row) and the time that
segment ends (its next phase change), its next cushion and pocket contact, and for every pair
their next contact. An event changes one or two balls, so only their contacts are
recomputed; everyone else's stay valid because their segments did not change.
"""

from __future__ import annotations

import math

import numpy as np

from nodes.physics import collision, cushion
from nodes.physics import motion as mo
from nodes.physics.ball import Ball
from nodes.physics.constant import Physics
from nodes.physics.contact import Scene, box, find
from nodes.physics.event import Event
from nodes.physics.table import Table


class Engine:
    """One simulation run; `run()` fills `rows` (every segment of every ball) and `events`."""

    def __init__(self, balls: list[Ball], table: Table, phys: Physics, t_max: float) -> None:
        n = len(balls)
        self.ids = [b.id for b in balls]
        self.table, self.phys, self.t_max = table, phys, t_max
        self.ends = np.full(n, np.inf)  # end of each ball's current segment
        self.alive = np.array([not b.pocketed for b in balls], dtype=bool)
        self.scene = Scene([], np.zeros((n, 4)), self.alive, np.zeros(n, dtype=bool), t_max)
        self.pair = np.full((n, n), np.inf)
        self.cushion = np.full(n, np.inf)
        self.cushion_k = np.full(n, -1, dtype=np.intp)
        self.pocket = np.full(n, np.inf)
        self.pocket_k = np.full(n, -1, dtype=np.intp)
        self.rows: list[list[mo.Row]] = [[] for _ in range(n)]
        self.events: list[Event] = []
        self.now = 0.0
        for i, b in enumerate(balls):
            state = (b.x, b.y, b.vx, b.vy, b.wx, b.wy, b.wz)
            row = mo.pocketed(0.0, b.x, b.y, -1) if b.pocketed else mo.segment(0.0, state, phys)
            self._set(i, row)

    def run(self, max_events: int) -> tuple[bool, float]:
        """Simulate until everything is at rest or t_max/max_events is reached.

        Returns (settled, end): settled is True when nothing moves any more; end is the time
        up to which `rows` are valid (the last event, t_max, or where max_events stopped us).
        """
        self._drop_balls_in_pockets()
        self._schedule([int(i) for i in np.flatnonzero(self.scene.moving)], 0.0)
        handlers = (self._pocket, self._collide, self._bounce, self._transition)
        while len(self.events) < max_events:
            t, kind, i, j = self._next()
            if math.isinf(t):  # nothing moves any more
                return True, self.events[-1].t if self.events else 0.0
            if t > self.t_max:
                return False, self.t_max
            self.now = t
            handlers[kind](i, j, t)
        return False, self.now

    def _next(self) -> tuple[float, int, int, int]:
        """Earliest pending event (time, kind, i, j); kinds index `run`'s handlers, and on a
        tie the lower kind goes first (a pocket before a contact before a phase change)."""
        n = len(self.ids)
        flat = int(np.argmin(self.pair))
        p, c = int(np.argmin(self.pocket)), int(np.argmin(self.cushion))
        e = int(np.argmin(self.ends))
        candidates = (
            (float(self.pocket[p]), POCKET, p, -1),
            (float(self.pair.flat[flat]), PAIR, flat // n, flat % n),
            (float(self.cushion[c]), CUSHION, c, -1),
            (float(self.ends[e]), PHASE, e, -1),
        )
        return min(candidates, key=lambda cand: cand[0])

    def _set(self, i: int, row: mo.Row) -> None:
        self.rows[i].append(row)
        scene = self.scene
        if i == len(scene.rows):
            scene.rows.append(row)
        else:
            scene.rows[i] = row
        self.ends[i] = row[mo.TEND]
        scene.boxes[i] = box(row, self.t_max)
        scene.moving[i] = row[mo.PHASE] >= mo.ROLLING and row[mo.PHASE] != mo.POCKETED

    def _state(self, i: int, t: float) -> mo.State:
        return mo.evaluate(self.rows[i][-1], t)

    def _schedule(self, balls: list[int], t: float) -> None:
        """Recompute the next contacts of `balls`, whose segments just changed."""
        for i in balls:
            self.pair[i, :] = np.inf
            self.pair[:, i] = np.inf
            self.cushion[i] = self.pocket[i] = np.inf
        todo = [i for i in balls if self.alive[i]]
        if not todo:
            return
        for i, f in zip(
            todo, find(self.scene, todo, t, self.table.geometry, self.phys.R), strict=True
        ):
            for j, when in zip(f.others, f.pair, strict=True):
                self.pair[i, j] = self.pair[j, i] = when
            self.cushion[i], self.cushion_k[i] = f.cushion, f.cushion_index
            self.pocket[i], self.pocket_k[i] = f.pocket, f.pocket_index

    def _emit(self, event: Event) -> None:
        self.events.append(event)

    def _ids(self, *balls: int) -> tuple[int, ...]:
        """Ball ids of engine indices."""
        return tuple(self.ids[b] for b in balls)

    def _drop_balls_in_pockets(self) -> None:
        geo = self.table.geometry
        for i in np.nonzero(self.alive)[0]:
            x, y = self.rows[i][-1][mo.RX], self.rows[i][-1][mo.RY]
            inside = np.hypot(geo.pocket_c[:, 0] - x, geo.pocket_c[:, 1] - y) < geo.pocket_r
            if inside.any():
                self.pocket_k[i] = int(np.argmax(inside))
                self._pocket(int(i), -1, 0.0)

    def _pocket(self, i: int, _j: int, t: float) -> None:
        x, y, vx, vy, *_ = self._state(i, t)
        k = int(self.pocket_k[i])
        self._set(i, mo.pocketed(t, x, y, k))
        self.alive[i] = False
        self._schedule([i], t)
        name = self.table.pockets[k].name
        self._emit(Event(t, "pocket", self._ids(i), x, y, speed=math.hypot(vx, vy), pocket=name))

    def _collide(self, i: int, j: int, t: float) -> None:
        a, b = self._state(i, t), self._state(j, t)
        dx, dy = b[0] - a[0], b[1] - a[1]
        dist = math.hypot(dx, dy)
        nx, ny = (dx / dist, dy / dist) if dist > 0.0 else (1.0, 0.0)  # (a pile left by placement)
        if -(b[2] * nx + b[3] * ny) > a[2] * nx + a[3] * ny:  # j is the striker
            i, j, a, b, nx, ny = j, i, b, a, -nx, -ny
        a_out, b_out = collision.ball_ball(a[2:], b[2:], nx, ny, self.phys)
        self._set(i, mo.segment(t, (a[0], a[1], *a_out), self.phys))
        self._set(j, mo.segment(t, (b[0], b[1], *b_out), self.phys))
        self._schedule([i, j], t)
        dvx, dvy = a[2] - b[2], a[3] - b[3]
        rel = math.hypot(dvx, dvy)
        cut = _angle((dvx * nx + dvy * ny) / rel) if rel > 0 else 0.0
        self._emit(Event(t, "ball_ball", self._ids(i, j), a[0], a[1], angle=cut, speed=rel))

    def _bounce(self, i: int, _j: int, t: float) -> None:
        x, y, vx, vy, wx, wy, wz = self._state(i, t)
        geo, k = self.table.geometry, int(self.cushion_k[i])
        nx, ny = cushion.normal(geo, k, x, y)
        n_lines = len(geo.lines)
        name = self.table.cushions[k].name if k < n_lines else self.table.tips[k - n_lines].name
        out = collision.ball_cushion(
            (vx, vy, wx, wy, wz), nx, ny, self.table.cushion_height, self.phys
        )
        self._set(i, cushion.hold(mo.segment(t, (x, y, *out), self.phys), k, geo, self.phys))
        self._schedule([i], t)
        speed, speed_out = math.hypot(vx, vy), math.hypot(out[0], out[1])
        angle_in = _angle(-(vx * nx + vy * ny) / speed) if speed > 0 else 0.0
        angle_out = _angle((out[0] * nx + out[1] * ny) / speed_out) if speed_out > 0 else 0.0
        self._emit(
            Event(t, "cushion", self._ids(i), x, y, angle_in, angle_out, speed=speed, cushion=name)
        )

    def _transition(self, i: int, _j: int, t: float) -> None:
        row = self.rows[i][-1]
        link = int(row[mo.LINK])
        if link >= 0:  # the end of a held stretch: slide on, held again if still pressing
            state = mo.evaluate(row, row[mo.TEND])
            geo = self.table.geometry
            new = cushion.release(mo.segment(t, state, self.phys), link, geo, self.phys)
        else:
            state = mo.after_transition(row, mo.evaluate(row, row[mo.TEND]), self.phys)
            new = mo.segment(t, state, self.phys)
        self._set(i, new)
        self._schedule([i], t)
        if new[mo.PHASE] != mo.SLIDING:
            kind = TRANSITION_EVENTS[int(new[mo.PHASE])]
            self._emit(Event(t, kind, self._ids(i), state[0], state[1]))


POCKET, PAIR, CUSHION, PHASE = range(4)
TRANSITION_EVENTS = {mo.STATIONARY: "rest", mo.SPINNING: "spinning", mo.ROLLING: "rolling"}


def _angle(cosine: float) -> float:
    """Degrees of the angle with this cosine (clamped against round-off)."""
    return math.degrees(math.acos(min(1.0, max(-1.0, cosine))))
