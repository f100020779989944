"""Tracking accuracy through the real pipeline: synthetic camera -> detector -> core tracker.

``bench/tracking_accuracy.py`` scores the tracker on physics ground truth plus modelled detector
noise. This bench removes the model: the synthetic camera renders the scene director's game
(cue and hand occluding, motion blur, noise, lighting drift) at the chosen frame rate, the vision
node's pipeline calibrates from the first image and detects in every frame exactly as the node
does, and the core's :class:`~nodes.core.game.Game` tracks. Each frame the tracked state is
matched to the ground truth (Hungarian, 30 mm gate):

- identity switches: a ground-truth ball matched to a different track id than before, per shot;
- position error of moving balls (truth speed > 0.05 m/s) in mm, and of balls at rest;
- the raw detection error of the same frames (same-run baseline: what the tracker starts from).

    python bench/tracking_pipeline.py --seconds 120 --fps 60
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nodes.core.game import Game  # noqa: E402
from nodes.vision import table  # noqa: E402
from nodes.vision.calibration import TableSpec  # noqa: E402
from nodes.vision.pipeline import Pipeline, PipelineConfig  # noqa: E402
from nodes.vision.synthetic.feed import SyntheticCamera  # noqa: E402

GATE_M = 0.03
MOVING = 0.05


def match(
    points_a: list[tuple[float, float]], points_b: list[tuple[float, float]]
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, distance) of a minimal assignment within the gate."""
    if not points_a or not points_b:
        return []
    a, b = np.asarray(points_a), np.asarray(points_b)
    cost = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    rows, cols = linear_sum_assignment(np.minimum(cost, 10.0))
    return [
        (int(i), int(j), float(cost[i, j]))
        for i, j in zip(rows, cols, strict=True)
        if cost[i, j] <= GATE_M
    ]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


class Score:
    """Accumulates the figures over frames."""

    def __init__(self) -> None:
        self.owner: dict[int, int] = {}  # truth number -> last matched track id
        self.switches: dict[int, int] = defaultdict(int)  # shot -> switches
        self.shots: set[int] = set()
        self.moving_mm: list[float] = []
        self.rest_mm: list[float] = []
        self.detect_moving_mm: list[float] = []
        self.unmatched_truth = 0
        self.truth_balls = 0
        self.phantoms = 0
        self.switch_log: list[dict[str, object]] = []

    def state(self, truth, state) -> None:  # type: ignore[no-untyped-def]
        balls = [b for b in truth.on_table if b.visible_fraction > 0.5]
        tracked = [b for b in state.balls if not b.pocketed]
        shot = truth.shot.number if truth.shot is not None else 0
        self.shots.add(shot)
        pairs = match([(b.x, b.y) for b in balls], [(t.x, t.y) for t in tracked])
        self.truth_balls += len(balls)
        self.unmatched_truth += len(balls) - len(pairs)
        matched_tracks = {j for _, j, _ in pairs}
        self.phantoms += sum(
            1 for j, t in enumerate(tracked) if j not in matched_tracks and t.visible
        )
        for i, j, dist in pairs:
            ball, track = balls[i], tracked[j]
            previous = self.owner.get(ball.number)
            if previous is not None and previous != track.id:
                self.switches[shot] += 1
                self.switch_log.append({"frame": truth.frame, "ball": ball.number,
                                        "from": previous, "to": track.id, "phase": truth.phase,
                                        "speed": round(math.hypot(ball.vx, ball.vy), 3),
                                        "visible": round(ball.visible_fraction, 2)})
            self.owner[ball.number] = track.id
            speed = math.hypot(ball.vx, ball.vy)
            (self.moving_mm if speed > MOVING else self.rest_mm).append(dist * 1e3)

    def detections(self, truth, detections) -> None:  # type: ignore[no-untyped-def]
        moving = [
            b
            for b in truth.on_table
            if math.hypot(b.vx, b.vy) > MOVING and b.visible_fraction > 0.5
        ]
        pairs = match([(b.x, b.y) for b in moving], [(d.x, d.y) for d in detections.balls])
        self.detect_moving_mm += [d * 1e3 for _, _, d in pairs]

    def summary(self) -> dict[str, object]:
        shots = max(1, len(self.shots))
        return {
            "shots": len(self.shots),
            "id_switches_total": sum(self.switches.values()),
            "id_switches_per_shot": round(sum(self.switches.values()) / shots, 3),
            "moving_error_mm": {
                "median": round(statistics.median(self.moving_mm), 2) if self.moving_mm else None,
                "p90": round(percentile(self.moving_mm, 90), 2),
                "p99": round(percentile(self.moving_mm, 99), 2),
                "mean": round(statistics.fmean(self.moving_mm), 2) if self.moving_mm else None,
                "n": len(self.moving_mm),
            },
            "rest_error_mm": {
                "median": round(statistics.median(self.rest_mm), 2) if self.rest_mm else None,
                "p99": round(percentile(self.rest_mm, 99), 2),
            },
            "raw_detection_moving_error_mm_median": round(
                statistics.median(self.detect_moving_mm), 2
            )
            if self.detect_moving_mm
            else None,
            "visible_truth_unmatched_fraction": round(
                self.unmatched_truth / max(1, self.truth_balls), 4
            ),
            "phantom_track_frames": self.phantoms,
            "switches": self.switch_log[:20],
        }


def run(args: argparse.Namespace) -> dict[str, object]:
    camera = SyntheticCamera.from_seed(
        args.seed, width=args.width, height=args.height, fps=args.fps, randomize=args.randomize
    )
    frames = int(args.seconds * args.fps)
    first = camera.next_frame()
    calibration = table.calibrate(first.image, TableSpec.named("9ft"))
    if calibration is None:
        raise SystemExit("auto-calibration found no table in the first frame")
    pipeline = Pipeline(calibration, PipelineConfig())
    game = Game()
    score = Score()
    started = time.perf_counter()
    for n in range(1, frames):
        frame = camera.next_frame()
        detections = pipeline.process(frame.image, n, frame.truth.capture_ns, "cam0")
        game.update(detections)
        score.detections(frame.truth, detections)
        score.state(frame.truth, game.snapshot())
        if args.progress and n % 600 == 0:
            print(f"  {n}/{frames} frames, {len(score.shots)} shots", file=sys.stderr)
    result = score.summary()
    result.update(
        frames=frames,
        fps=args.fps,
        seed=args.seed,
        randomize=args.randomize,
        wall_s=round(time.perf_counter() - started, 1),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="scene seconds to play")
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--randomize", action="store_true", help="a randomised camera and scene")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path, help="append the result as a JSON line")
    args = parser.parse_args()
    result = run(args)
    line = json.dumps(result)
    print(line)
    if args.json:
        with args.json.open("a") as out:
            out.write(line + "\n")


if __name__ == "__main__":
    main()
