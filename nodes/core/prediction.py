"""``predict_shot``: validate the what-if arguments of DESIGN.md §4 and simulate the shot.

The cue ball leaves in ``direction_deg`` at ``speed`` with the spin of the tip offset
(:func:`nodes.physics.strike`, no squirt); :func:`nodes.physics.simulate` runs every ball to rest.
The target is the first ball the cue ball touches and the ghost ball is the cue ball's centre at
that moment (for a straight-line shot, the point 2R before the target on the aim line).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike
from protocol.errors import ControlError
from protocol.messages import BallPath, PathPoint, Point, PredictedEvent, Prediction, TipOffset

ARGS = frozenset({"balls", "cue_ball", "direction_deg", "speed", "tip"})
BALL_KEYS = frozenset({"id", "number", "x", "y"})
TIP_KEYS = frozenset({"side", "height"})
PATH_STEP_S = 0.02


@dataclass(frozen=True, slots=True)
class TableBall:
    """A ball to simulate: stable id, number if known, position in table metres."""

    id: int
    number: int | None
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class ShotArgs:
    """Validated ``predict_shot`` arguments."""

    balls: tuple[TableBall, ...]
    cue_ball: int
    direction_deg: float
    speed: float
    side: float
    height: float


def _bad(message: str) -> ControlError:
    return ControlError("bad_request", message)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be an integer, got {value!r}")
    return value


def _keys(value: Any, name: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{name} must be an object, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _bad(
            f"{name}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return value


def _ball(item: Any, index: int, table: Table) -> TableBall:
    where = f"balls[{index}]"
    data = _keys(item, where, BALL_KEYS)
    for key in ("x", "y"):
        if key not in data:
            raise _bad(f"{where}: missing {key!r} (table metres)")
    number = None if data.get("number") is None else _int(data["number"], f"{where}.number")
    if number is not None and not 0 <= number <= 15:
        raise _bad(f"{where}.number must be 0-15 or null, got {number}")
    if "id" in data:
        ball_id = _int(data["id"], f"{where}.id")
    elif number is not None:
        ball_id = number
    else:
        raise _bad(f"{where}: give an 'id' or a 'number'")
    x, y = _number(data["x"], f"{where}.x"), _number(data["y"], f"{where}.y")
    if abs(x) > table.length / 2 or abs(y) > table.width / 2:
        raise _bad(
            f"{where} at ({x:.3f}, {y:.3f}) is off the playing surface "
            f"(|x| <= {table.length / 2:.3f}, |y| <= {table.width / 2:.3f})"
        )
    return TableBall(ball_id, number, x, y)


def _balls(value: Any, table: Table) -> tuple[TableBall, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _bad("balls must be a non-empty list of {id, number, x, y}")
    balls = tuple(_ball(item, i, table) for i, item in enumerate(value))
    ids = [b.id for b in balls]
    if len(set(ids)) != len(ids):
        raise _bad(f"ball ids must be unique, got {ids}")
    numbers = [b.number for b in balls if b.number is not None]
    if len(set(numbers)) != len(numbers):
        raise _bad(f"ball numbers must be unique, got {numbers}")
    return balls


def _cue_ball(value: Any, balls: Sequence[TableBall]) -> int:
    if value is None:
        found = [b.id for b in balls if b.number == 0]
        if not found:
            raise _bad("no cue ball: no ball has number 0; pass cue_ball (an id or a number)")
        return found[0]
    wanted = _int(value, "cue_ball")
    for key in ("id", "number"):
        found = [b.id for b in balls if getattr(b, key) == wanted]
        if found:
            return found[0]
    raise _bad(f"cue_ball {wanted} is neither the id nor the number of a ball on the table")


def parse_args(args: Any, current: Sequence[TableBall], table: Table, phys: Physics) -> ShotArgs:
    """Validate ``predict_shot`` arguments; raise ``ControlError("bad_request")`` on bad input."""
    data = _keys(args, "arguments", ARGS)
    if data.get("balls") is not None:
        balls = _balls(data["balls"], table)
    elif current:
        balls = tuple(current)
    else:
        raise _bad("no balls: the table state is empty; pass balls [{id, number, x, y}, ...]")
    if "direction_deg" not in data:
        raise _bad("missing direction_deg (degrees, 0 along +x, counter-clockwise)")
    if "speed" not in data:
        raise _bad("missing speed (m/s of the cue ball just after the strike)")
    direction = _number(data["direction_deg"], "direction_deg")
    speed = _number(data["speed"], "speed")
    if not 0.0 < speed <= phys.max_speed:
        raise _bad(f"speed must be > 0 and <= {phys.max_speed} m/s, got {speed}")
    tip = _keys(data.get("tip") or {}, "tip", TIP_KEYS)
    side = _number(tip.get("side", 0.0), "tip.side")
    height = _number(tip.get("height", 0.0), "tip.height")
    if math.hypot(side, height) >= 1.0:
        raise _bad(f"tip offset ({side}, {height}) is off the ball: side^2 + height^2 must be < 1")
    cue = _cue_ball(data.get("cue_ball"), balls)
    return ShotArgs(balls, cue, direction % 360.0, speed, side, height)


def predict(shot: ShotArgs, table: Table, phys: Physics) -> Prediction:
    """Simulate a validated shot and describe its outcome."""
    started = time.perf_counter()
    start = []
    for b in shot.balls:
        ball = Ball(b.id, b.x, b.y)
        if b.id == shot.cue_ball:
            ball = strike(ball, shot.direction_deg, shot.speed, shot.side, shot.height, phys)
        start.append(ball)
    try:
        sim = simulate(start, table, phys)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    target, ghost = _first_contact(sim, shot.cue_ball)
    return Prediction(
        cue_ball=shot.cue_ball,
        target=target,
        ghost=ghost,
        direction_deg=shot.direction_deg,
        speed=shot.speed,
        tip=TipOffset(side=shot.side, height=shot.height),
        events=[_event(e) for e in sim.events],
        balls=_paths(sim, shot.balls),
        duration=sim.duration,
        compute_ms=(time.perf_counter() - started) * 1000.0,
    )


def _first_contact(sim: Simulation, cue: int) -> tuple[int | None, Point | None]:
    for e in sim.events:
        if e.type == "ball_ball" and cue in e.balls:
            other = e.balls[1] if e.balls[0] == cue else e.balls[0]
            at = sim.state_at(e.t)[cue]
            return other, Point(x=at.x, y=at.y)
    return None, None


def _event(e: Any) -> PredictedEvent:
    return PredictedEvent(
        t=e.t, type=e.type, balls=list(e.balls), x=e.x, y=e.y, angle_deg=e.angle, pocket=e.pocket
    )


def _paths(sim: Simulation, balls: Sequence[TableBall]) -> list[BallPath]:
    paths = sim.paths(max_step=PATH_STEP_S)
    final = sim.final()
    rest: dict[int, float] = {}
    for e in sim.events:
        if e.type in ("rest", "pocket"):
            for i in e.balls:
                rest[i] = e.t
    out = []
    for b in balls:
        end = final[b.id]
        points = [PathPoint(t=t, x=x, y=y) for t, x, y in paths[b.id]]
        out.append(
            BallPath(
                id=b.id,
                number=b.number,
                path=points,
                final=Point(x=end.x, y=end.y),
                pocket=end.pocket,
                t_rest=rest.get(b.id, 0.0),
            )
        )
    return out
