"""Tracking accuracy against ground truth: identity switches, position error, event recall.

Random 16-ball layouts are struck in random directions at 1-5 m/s with random tip offsets; the
physics engine gives the truth. Detections come from a pluggable source (``--source``):

- ``physics`` (default): ``sim.state_at(t)`` plus detector noise: Gaussian position error
  (``--sigma``), missed detections (``--miss``), and, with ``--occlusion``, the cue stick lying
  over the table behind the cue ball, following through and withdrawing (it hides whatever it
  covers for the first 0.35 s of the shot);
- ``module:function``: any factory ``f(sim, *, fps, seed, sigma, miss, occlusion, numbers,
  wrong_kind)`` returning an iterable of ``(GroundTruth, Detections)`` pairs, e.g. the synthetic
  camera rendering ``sim.state_at(t)`` through the real detector (which may ignore the noise
  arguments: its own noise is the point).

The last condition also takes the numbers away (class only, as a detector that cannot read
them) and misclassifies 10 % of solids/stripes (and the cue/eight as solids).

Per condition it prints: identity switches per shot (target 0), position error of moving balls
(median / p90 / p99 mm; target < 5 mm at 60 fps), the same error of the raw detections
(baseline: what the tracker starts from), the switches of a naive nearest-neighbour tracker
(baseline, same detections), phantom tracks, pocketing and collision recall/precision.

Usage: python bench/tracking_accuracy.py [--shots 30] [--fps 60] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes.core.game import Game
from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike
from protocol.messages import BallPocketed, Collision, Detections, GroundTruth
from tests.helpers.table_feed import Noise, frames, stick

R = Physics().R
T_PRE = 0.3
Source = Callable[..., Iterable[tuple[GroundTruth, Detections]]]


def physics_source(
    sim: Simulation,
    *,
    fps: float,
    seed: int,
    sigma: float,
    miss: float,
    occlusion: bool,
    numbers: bool = True,
    wrong_kind: float = 0.0,
) -> Iterable[tuple[GroundTruth, Detections]]:
    """Ground truth plus detector noise; the default source."""
    occluders = []
    if occlusion:
        cue = sim.balls[0]
        direction = math.degrees(math.atan2(cue.vy, cue.vx))
        u = (math.cos(math.radians(direction)), math.sin(math.radians(direction)))
        tip = (cue.x - u[0] * (R + 0.01), cue.y - u[1] * (R + 0.01))
        occluders.append(stick(tip[0], tip[1], direction, -T_PRE, 0.35, speed=0.3))
    noise = Noise(
        sigma=sigma,
        miss=miss,
        seed=seed,
        occluders=occluders,
        numbers=numbers,
        wrong_kind=wrong_kind,
    )
    return frames(sim, noise, fps=fps, t_pre=T_PRE, t_post=0.5)


def load_source(spec: str) -> Source:
    if spec == "physics":
        return physics_source
    module, _, name = spec.partition(":")
    factory: Source = getattr(importlib.import_module(module), name)
    return factory


def random_shot(rng: np.random.Generator, table: Table) -> Simulation:
    """Sixteen balls scattered at random, the cue ball struck in a random direction."""
    placed: list[tuple[float, float]] = []
    lx, ly = table.length / 2 - R - 0.01, table.width / 2 - R - 0.01
    while len(placed) < 16:
        x, y = rng.uniform(-lx, lx), rng.uniform(-ly, ly)
        if all(math.hypot(x - px, y - py) > 2 * R + 0.01 for px, py in placed):
            placed.append((x, y))
    balls = [Ball(n, x, y) for n, (x, y) in enumerate(placed)]
    side, height = rng.uniform(-0.4, 0.4, 2)
    balls[0] = strike(balls[0], rng.uniform(0, 360), rng.uniform(1.0, 5.0), side, height)
    return simulate(balls, table)


@dataclass
class Score:
    """Accumulated figures of one condition."""

    shots: int = 0
    frames: int = 0
    switches: int = 0
    naive_switches: int = 0
    errors: list[float] = field(default_factory=list)
    raw_errors: list[float] = field(default_factory=list)
    phantoms: int = 0
    pockets: list[int] = field(default_factory=lambda: [0, 0, 0])  # right, wrong/extra, missed
    collisions: list[int] = field(default_factory=lambda: [0, 0, 0])  # found, extra, missed


class Identities:
    """Truth number -> track id, counting changes (identity switches)."""

    def __init__(self) -> None:
        self.current: dict[int, int] = {}
        self.switches = 0

    def match(self, truth: GroundTruth, tracks: list[tuple[int, float, float]]) -> list[float]:
        balls = [b for b in truth.balls if not b.pocketed]
        if not balls or not tracks:
            return []
        cost = np.array([[math.hypot(b.x - x, b.y - y) for _, x, y in tracks] for b in balls])
        errors = []
        for i, j in zip(*linear_sum_assignment(cost), strict=True):
            if cost[i, j] > 2 * R:
                continue
            number, track_id = balls[i].number, tracks[j][0]
            if self.current.get(number, track_id) != track_id:
                self.switches += 1
            self.current[number] = track_id
            if math.hypot(balls[i].vx, balls[i].vy) > 0.01:
                errors.append(float(cost[i, j]))
        return errors


class NaiveTracker:
    """Baseline: greedy nearest neighbour between frames, no motion model."""

    def __init__(self) -> None:
        self.tracks: dict[int, tuple[float, float]] = {}
        self.next_id = 0

    def update(self, det: Detections) -> list[tuple[int, float, float]]:
        free = dict(self.tracks)
        out = {}
        for b in det.balls:
            if not (math.isfinite(b.x) and math.isfinite(b.y)):
                continue
            near = min(
                free, key=lambda i: math.hypot(free[i][0] - b.x, free[i][1] - b.y), default=None
            )
            if near is not None and math.hypot(free[near][0] - b.x, free[near][1] - b.y) < 0.1:
                del free[near]
                out[near] = (b.x, b.y)
            else:
                out[self.next_id] = (b.x, b.y)
                self.next_id += 1
        self.tracks = {**free, **out}
        return [(i, x, y) for i, (x, y) in out.items()]


def run_shot(
    sim: Simulation, pairs: Iterable[tuple[GroundTruth, Detections]], score: Score
) -> None:
    game, naive = Game(), NaiveTracker()
    mine, theirs = Identities(), Identities()
    events = []
    for truth, det in pairs:
        events += game.update(det)[1]
        score.frames += 1
        tracks = [(t.id, t.kf.x, t.kf.y) for t in game.tracker.on_table()]
        score.errors += mine.match(truth, tracks)
        theirs.match(truth, naive.update(det))
        score.raw_errors += raw_errors(truth, det)
    events += game.flush_events()
    score.shots += 1
    score.switches += mine.switches
    score.naive_switches += theirs.switches
    ids = {t.id for t in game.tracker.tracks}
    score.phantoms += max(len(ids) - 16, 0)
    number_of = {track: number for number, track in mine.current.items()}
    score_events(sim, events, number_of, score)


def raw_errors(truth: GroundTruth, det: Detections) -> list[float]:
    out = []
    for b in truth.balls:
        if b.pocketed or math.hypot(b.vx, b.vy) <= 0.01:
            continue
        near = min((math.hypot(d.x - b.x, d.y - b.y) for d in det.balls), default=math.inf)
        if near < R:
            out.append(near)
    return out


def score_events(
    sim: Simulation, events: list[Any], number_of: dict[int, int], score: Score
) -> None:
    true_pockets = {e.balls[0]: e.pocket for e in sim.events if e.type == "pocket"}
    seen_pockets = {
        number_of.get(e.ball, -1): e.pocket for e in events if isinstance(e, BallPocketed)
    }
    for ball, pocket in seen_pockets.items():
        score.pockets[0 if true_pockets.get(ball) == pocket else 1] += 1
    score.pockets[2] += sum(1 for b in true_pockets if b not in seen_pockets)
    true_bb = [(sorted(e.balls), e.t) for e in sim.events if e.type == "ball_ball"]
    seen_bb = [
        (sorted(number_of.get(b, -1) for b in e.balls), (e.t_ns - 1_000_000_000_000) * 1e-9 - T_PRE)
        for e in events
        if isinstance(e, Collision)
    ]
    used: set[int] = set()
    for balls, t in true_bb:
        hit = next(
            (
                k
                for k, (b2, t2) in enumerate(seen_bb)
                if k not in used and b2 == balls and abs(t2 - t) < 0.05
            ),
            None,
        )
        if hit is None:
            score.collisions[2] += 1
        else:
            used.add(hit)
            score.collisions[0] += 1
    score.collisions[1] += len(seen_bb) - len(used)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1e3 if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shots", type=int, default=30, help="random shots per condition")
    parser.add_argument("--fps", type=float, default=60.0, help="camera frame rate")
    parser.add_argument("--seed", type=int, default=1, help="layout and noise seed")
    parser.add_argument("--source", default="physics", help="'physics' or module:factory")
    parser.add_argument("--json", help="append one JSON line per condition to this file")
    opts = parser.parse_args()
    source = load_source(opts.source)
    table = Table.nine_foot()
    conditions = [
        ("0.5 mm, 2 % missed", 0.0005, 0.02, False, True, 0.0),
        ("1 mm, 2 % missed", 0.001, 0.02, False, True, 0.0),
        ("1 mm, 5 % missed, cue occludes", 0.001, 0.05, True, True, 0.0),
        ("same, no numbers, 10 % misclassified", 0.001, 0.05, True, False, 0.1),
    ]
    print(f"source: {opts.source}; {opts.shots} random 16-ball shots per row at {opts.fps:g} fps")
    header = (
        "| condition | frames | id switches/shot | naive NN switches/shot | moving err mm"
        " median / p90 / p99 | raw detection err mm median / p90 | phantom tracks"
        " | pockets right / wrong / missed | collisions found / extra / missed |"
    )
    print(header)
    print("|" + "---|" * 9)
    for name, sigma, miss, occlusion, numbers, wrong in conditions:
        rng = np.random.default_rng(opts.seed)
        score = Score()
        for k in range(opts.shots):
            sim = random_shot(rng, table)
            pairs = source(
                sim,
                fps=opts.fps,
                seed=opts.seed + k,
                sigma=sigma,
                miss=miss,
                occlusion=occlusion,
                numbers=numbers,
                wrong_kind=wrong,
            )
            run_shot(sim, pairs, score)
        row = {
            "condition": name,
            "frames": score.frames,
            "switches_per_shot": score.switches / score.shots,
            "naive_switches_per_shot": score.naive_switches / score.shots,
            "err_mm": [pct(score.errors, q) for q in (50, 90, 99)],
            "raw_err_mm": [pct(score.raw_errors, q) for q in (50, 90)],
            "phantoms": score.phantoms,
            "pockets": score.pockets,
            "collisions": score.collisions,
        }
        e, r = row["err_mm"], row["raw_err_mm"]
        switches = f"{row['switches_per_shot']:.2f} | {row['naive_switches_per_shot']:.2f}"
        print(
            f"| {name} | {score.frames} | {switches}"
            f" | {e[0]:.2f} / {e[1]:.2f} / {e[2]:.2f} | {r[0]:.2f} / {r[1]:.2f} | {score.phantoms}"
            f" | {' / '.join(map(str, score.pockets))} | {' / '.join(map(str, score.collisions))} |"
        )
        if opts.json:
            with open(opts.json, "a") as fh:
                fh.write(
                    json.dumps({"bench": "tracking_accuracy", "source": opts.source, **row}) + "\n"
                )


if __name__ == "__main__":
    main()
