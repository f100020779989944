"""Core node logic timings: tracker update, full game update and predict_shot, with baselines.

Detections come from the physics engine (a break and a scattered-table shot, 16 balls, 60 fps,
1 mm noise, 2 % missed detections). Each row is timed per call over every frame (or per call
over --repeat calls) and reported as median and p90; the baseline rows are measured in the same
run, so their ratios hold even on a noisy shared machine:

- textbook tracker: one numpy 4x4 Kalman filter per ball (predict, update with matrix
  inverse) plus scipy's Hungarian assignment on the same detections, no lifecycle or identity;
- raw simulate: the physics engine alone on the predicted shot (predict_shot adds argument
  checks, the strike, target/ghost search and path sampling).

Usage: python bench/core_bench.py [--frames-repeat N] [--repeat N] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes.core.game import Game
from nodes.core.hygiene import Measurement
from nodes.physics import Ball, Table, simulate, strike
from protocol.messages import Detections
from tests.helpers.table_feed import Noise, frames, shot
from tests.unit.core.conftest import rack, spread


def stats(samples: list[float]) -> tuple[float, float]:
    """Median and p90 of a list of seconds, in milliseconds."""
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1e3, p90 * 1e3


def feeds() -> list[list[Detections]]:
    """Detections of a break and of a scattered-table shot."""
    noise = Noise(sigma=0.001, miss=0.02, seed=1)
    sims = [shot(rack(), 0, 0.0, 8.0), shot(spread(), 0, 357.0, 3.5)]
    return [[det for _, det in frames(sim, noise)] for sim in sims]


def time_tracker(feed: list[Detections], repeat: int) -> list[float]:
    out: list[float] = []
    for _ in range(repeat):
        game = Game()
        for det in feed:
            ms = game.hygiene.balls(det)
            t = game.clock.seconds(det.t_capture_ns)
            start = time.perf_counter()
            game.tracker.update(t, ms)
            out.append(time.perf_counter() - start)
    return out


def time_game(feed: list[Detections], repeat: int) -> list[float]:
    out: list[float] = []
    for _ in range(repeat):
        game = Game()
        for det in feed:
            start = time.perf_counter()
            game.update(det)
            out.append(time.perf_counter() - start)
    return out


class TextbookTracker:
    """The baseline: numpy 4x4 Kalman per ball plus Hungarian assignment, nothing else."""

    def __init__(self) -> None:
        self.x: list[np.ndarray] = []
        self.p: list[np.ndarray] = []
        self.t = 0.0
        self.h = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
        self.r = np.eye(2) * 1e-6

    def update(self, t: float, ms: list[Measurement]) -> None:
        dt = max(t - self.t, 1e-3)
        self.t = t
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = np.eye(4) * 0.5 * dt
        for i in range(len(self.x)):
            self.x[i] = f @ self.x[i]
            self.p[i] = f @ self.p[i] @ f.T + q
        z = np.array([(m.x, m.y) for m in ms])
        if self.x and len(z):
            pred = np.array([x[:2] for x in self.x])
            cost = np.linalg.norm(pred[:, None, :] - z[None, :, :], axis=2)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols, strict=True):
                s = self.h @ self.p[i] @ self.h.T + self.r
                k = self.p[i] @ self.h.T @ np.linalg.inv(s)
                self.x[i] = self.x[i] + k @ (z[j] - self.h @ self.x[i])
                self.p[i] = (np.eye(4) - k @ self.h) @ self.p[i]
        elif len(z):
            self.x = [np.array([m.x, m.y, 0.0, 0.0]) for m in ms]
            self.p = [np.eye(4) * 1e-2 for _ in ms]


def time_textbook(feed: list[Detections], repeat: int) -> list[float]:
    out: list[float] = []
    for _ in range(repeat):
        game, tracker = Game(), TextbookTracker()
        for det in feed:
            ms = game.hygiene.balls(det)
            t = game.clock.seconds(det.t_capture_ns)
            start = time.perf_counter()
            tracker.update(t, ms)
            out.append(time.perf_counter() - start)
    return out


def six_collision_shot() -> tuple[dict[str, Any], int]:
    """predict_shot arguments of a 16-ball shot with at least six ball-ball collisions."""
    positions = spread()
    balls = [{"id": n, "number": n, "x": x, "y": y} for n, (x, y) in positions.items()]
    for direction in range(0, 360, 3):
        sim = shot(positions, 0, float(direction), 3.5)
        hits = sum(e.type == "ball_ball" for e in sim.events)
        if hits >= 6:
            return {"balls": balls, "direction_deg": float(direction), "speed": 3.5}, hits
    raise RuntimeError("no 6-collision shot found")


def time_calls(call: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--frames-repeat", type=int, default=3, help="passes over each feed")
    parser.add_argument("--repeat", type=int, default=50, help="predict_shot calls")
    parser.add_argument("--json", help="append one JSON line per row to this file")
    opts = parser.parse_args()

    shots = feeds()
    frames_all = [det for feed in shots for det in feed]
    args, hits = six_collision_shot()
    game = Game()
    table = Table.nine_foot()
    start_balls = [Ball(b["id"], b["x"], b["y"]) for b in args["balls"]]
    start_balls[0] = strike(start_balls[0], args["direction_deg"], args["speed"])

    rows: list[tuple[str, list[float], str | None]] = [
        (
            "tracker update, 16 balls",
            [x for f in shots for x in time_tracker(f, opts.frames_repeat)],
            "textbook",
        ),
        (
            "textbook tracker (baseline)",
            [x for f in shots for x in time_textbook(f, opts.frames_repeat)],
            None,
        ),
        (
            "full game update, 16 balls",
            [x for f in shots for x in time_game(f, opts.frames_repeat)],
            "tracker",
        ),
        (
            f"predict_shot, {hits} collisions",
            time_calls(lambda: game.predict_shot(args), opts.repeat),
            "simulate",
        ),
        (
            "raw simulate (baseline)",
            time_calls(lambda: simulate(start_balls, table), opts.repeat),
            None,
        ),
    ]
    medians = {
        "textbook": stats(rows[1][1])[0],
        "tracker": stats(rows[0][1])[0],
        "simulate": stats(rows[4][1])[0],
    }
    print(
        f"{len(frames_all)} frames per pass, {opts.frames_repeat} passes; {opts.repeat} predictions"
    )
    print(f"| {'what':36} | {'n':>6} | {'median ms':>9} | {'p90 ms':>7} | {'vs baseline':>11} |")
    print(f"|{'-' * 38}|{'-' * 8}|{'-' * 11}|{'-' * 9}|{'-' * 13}|")
    for name, samples, base in rows:
        med, p90 = stats(samples)
        ratio = f"{med / medians[base]:.2f}x" if base else "-"
        print(f"| {name:36} | {len(samples):6d} | {med:9.3f} | {p90:7.3f} | {ratio:>11} |")
        if opts.json:
            with open(opts.json, "a") as fh:
                fh.write(
                    json.dumps(
                        {
                            "bench": "core",
                            "row": name,
                            "n": len(samples),
                            "median_ms": med,
                            "p90_ms": p90,
                        }
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
