#!/usr/bin/env python3
"""Benchmark the pool physics engine (nodes.physics) on a fixed set of seeded shots.

Prints, per case, the median and p90 CPU time of one call (thread CPU time, so time spent
waiting for a core on a busy machine is not counted; the wall-clock median is shown too), the
events and collisions of the shot, and the CPU median as a multiple of two baselines timed
interleaved with it (one baseline call before each timed call), so figures from a noisy or
slower machine compare as ratios:
  empty  - simulate() of one ball at rest (the fixed cost of a call),
  numpy  - a fixed numpy workload (eigenvalues of 64 random 4x4 matrices).

Run:  python bench/physics_bench.py [--repeat N] [--cases a,b]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike

TABLE = Table.nine_foot()
PHYS = Physics()


def scattered(seed: int, n: int = 16) -> list[Ball]:
    """n balls placed at random (seeded), at least 7 cm apart."""
    rng = random.Random(seed)
    balls: list[Ball] = []
    while len(balls) < n:
        x, y = rng.uniform(-1.15, 1.15), rng.uniform(-0.55, 0.55)
        if all(math.hypot(x - b.x, y - b.y) > 0.07 for b in balls):
            balls.append(Ball(len(balls), x, y))
    return balls


def struck(balls: list[Ball], direction: float, speed: float, side: float, height: float):
    return [strike(balls[0], direction, speed, side, height, PHYS), *balls[1:]]


def rack() -> list[Ball]:
    """Cue ball on the head spot, 15 balls frozen in a triangle on the foot spot."""
    d = 2 * PHYS.R
    balls = [
        Ball(1 + r * (r + 1) // 2 + c, TABLE.length / 4 + r * d * math.sqrt(3) / 2, (c - r / 2) * d)
        for r in range(5)
        for c in range(r + 1)
    ]
    return [strike(Ball(0, -TABLE.length / 4, 0.0), 0.0, 10.0, 0.0, 0.0, PHYS), *balls]


def straight() -> list[Ball]:
    """Cue ball, object ball, top-right corner pocket in one line."""
    p = TABLE.pocket("top_right")
    ox, oy = p.mouth_x - 0.5 * p.axis_x, p.mouth_y - 0.5 * p.axis_y
    cue = Ball(0, ox - 0.4 * p.axis_x, oy - 0.4 * p.axis_y)
    return [strike(cue, 45.0, 2.0, 0.0, 0.0, PHYS), Ball(1, ox, oy)]


SHOTS: dict[str, Callable[[], list[Ball]]] = {
    "straight": straight,  # 2 balls, 1 collision, the object ball drops
    "six": lambda: struck(scattered(0), 91.0, 3.0, 0.2, 0.3),  # 16 balls, 3 ball-ball + 3 cushion
    "busy": lambda: struck(scattered(1), 33.0, 4.0, 0.3, -0.3),  # 16 balls, draw + side
    "break": rack,  # 16 balls, frozen rack, 10 m/s
}


@dataclass(frozen=True)
class Sample:
    cpu: list[float]  # ms of thread CPU time per call
    wall: list[float]  # ms of wall-clock time per call


@dataclass(frozen=True)
class Row:
    name: str
    balls: int
    events: int
    collisions: int
    times: Sample
    empty: Sample
    numpy: Sample


def numpy_workload() -> None:
    rng = np.random.default_rng(0)
    np.linalg.eigvals(rng.normal(size=(64, 4, 4)))


def empty_simulate() -> None:
    simulate([Ball(0, 0.0, 0.0)], TABLE, PHYS)


def timed(fn: Callable[[], object], repeat: int) -> tuple[Sample, Sample, Sample]:
    """Times of fn, and of the two baselines, each run just before every call of fn."""
    fn()  # warm up
    out = (Sample([], []), Sample([], []), Sample([], []))
    for _ in range(repeat):
        for series, call in zip(out[::-1], (numpy_workload, empty_simulate, fn), strict=True):
            cpu, wall = time.thread_time(), time.perf_counter()
            call()
            series.cpu.append((time.thread_time() - cpu) * 1e3)
            series.wall.append((time.perf_counter() - wall) * 1e3)
    return out


def shot_row(name: str, repeat: int) -> Row:
    balls = SHOTS[name]()
    sim = simulate(balls, TABLE, PHYS)
    hits = sum(e.type in ("ball_ball", "cushion") for e in sim.events)
    return Row(
        name,
        len(balls),
        len(sim.events),
        hits,
        *timed(lambda: simulate(balls, TABLE, PHYS), repeat),
    )


def render_rows(sim: Simulation, repeat: int) -> list[Row]:
    """What the synthetic camera and the core pay per frame / per prediction after simulating."""
    n = len(sim.balls)
    return [
        Row("state_at(t)", n, 0, 0, *timed(lambda: sim.state_at(0.37), repeat)),
        Row("paths(0.02)", n, 0, 0, *timed(lambda: sim.paths(max_step=0.02), repeat)),
    ]


def p90(xs: list[float]) -> float:
    return sorted(xs)[max(0, math.ceil(0.9 * len(xs)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=200, help="timed calls per case (default 200)"
    )
    parser.add_argument(
        "--cases",
        default=",".join(SHOTS),
        help=f"comma-separated shots to run (default all: {','.join(SHOTS)})",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in SHOTS]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(SHOTS)}")

    rows = [shot_row(name, args.repeat) for name in names]
    rows += render_rows(simulate(SHOTS["busy"](), TABLE, PHYS), args.repeat)

    med = statistics.median
    print(
        f"{'case':<12} {'balls':>5} {'events':>6} {'hits':>4} {'cpu ms':>8} {'cpu p90':>8}"
        f" {'wall ms':>8} {'x empty':>8} {'x numpy':>8}"
    )
    for r in rows:
        m = med(r.times.cpu)
        print(
            f"{r.name:<12} {r.balls:>5} {r.events:>6} {r.collisions:>4} {m:>8.3f}"
            f" {p90(r.times.cpu):>8.3f} {med(r.times.wall):>8.3f}"
            f" {m / med(r.empty.cpu):>8.1f} {m / med(r.numpy.cpu):>8.1f}"
        )
    empty = med([x for r in rows for x in r.empty.cpu])
    work = med([x for r in rows for x in r.numpy.cpu])
    print(
        f"baselines (CPU, median over the run): empty simulate {empty:.3f} ms, numpy {work:.3f} ms"
    )


if __name__ == "__main__":
    main()
