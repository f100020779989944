"""Tracking accuracy through the real pipeline: synthetic camera -> detector -> core tracker.

``bench/tracking_accuracy.py`` scores the tracker on physics ground truth plus modelled detector
noise. This bench removes the model: the synthetic camera renders the scene director's game
(cue and hand occluding, motion blur, noise, lighting drift) at the chosen frame rate, the vision
node's pipeline calibrates from the first image and detects in every frame exactly as the node
does, and the core's :class:`~nodes.core.game.Game` tracks. Each frame the tracked state is
matched to the ground truth (Hungarian, 30 mm gate):

- identity switches: a ground-truth ball matched to a different track id than before, per shot
  (every switch is listed with its frame, ball, ids, phase and speed);
- position error of moving balls (truth speed > 0.05 m/s, more than half visible) in mm, and of
  balls at rest;
- phantom track frames: a visible track that no ball on the table (seen or not) lies within the
  gate of;
- the raw detection error of the same frames (same-run baseline: what the tracker starts from).

Several seeds run in one call (``--seeds 1,2,3``, in parallel with ``--jobs``). Rendering and
detecting cost ~0.1 s a frame, so ``--record DIR`` keeps every seed's detections and truth, and
``--replay FILE...`` runs the tracker again on them (seconds instead of minutes; the figures of
the detector version that was recorded).

    python bench/tracking_pipeline.py --seeds 1,2,3 --seconds 120 --fps 60 --jobs 2
    python bench/tracking_pipeline.py --seeds 1,2 --randomize --seconds 120
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import pickle
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nodes.core.game import Game  # noqa: E402
from protocol.messages import Detections, State  # noqa: E402

GATE_M = 0.03
MOVING = 0.05
Shot = tuple[str, int]  # (run label, shot number)


@dataclass(frozen=True, slots=True)
class Ball:
    """A ground-truth ball as scored (what the bench keeps of ``BallTruth``)."""

    number: int
    x: float
    y: float
    vx: float
    vy: float
    pocketed: bool
    visible: float

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)


@dataclass(frozen=True, slots=True)
class Truth:
    """A frame's ground truth as scored (recorded with the detections)."""

    frame: int
    phase: str
    shot: int
    balls: tuple[Ball, ...]

    @staticmethod
    def of(gt: Any) -> Truth:
        balls = tuple(
            Ball(b.number, b.x, b.y, b.vx, b.vy, b.pocketed, b.visible_fraction) for b in gt.balls
        )
        shot = gt.shot.number if gt.shot is not None else 0
        return Truth(gt.frame, gt.phase, shot, balls)

    @property
    def on_table(self) -> tuple[Ball, ...]:
        return tuple(b for b in self.balls if not b.pocketed)


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
    return round(float(np.percentile(values, q)), 2) if values else math.nan


@dataclass
class Score:
    """Accumulates the figures of one run over its frames."""

    label: str = ""
    owner: dict[int, int] = field(default_factory=dict)  # truth number -> last track id
    switches: dict[Shot, int] = field(default_factory=lambda: defaultdict(int))
    moving: dict[Shot, list[float]] = field(default_factory=lambda: defaultdict(list))
    rest_mm: list[float] = field(default_factory=list)
    detect_moving_mm: list[float] = field(default_factory=list)
    unmatched_truth: int = 0
    truth_balls: int = 0
    phantoms: int = 0
    switch_log: list[dict[str, object]] = field(default_factory=list)
    phantom_log: list[dict[str, object]] = field(default_factory=list)

    def state(self, truth: Truth, state: State) -> None:
        balls = [b for b in truth.on_table if b.visible > 0.5]
        tracked = [b for b in state.balls if not b.pocketed]
        shot = (self.label, truth.shot)
        self.switches[shot] += 0
        pairs = match([(b.x, b.y) for b in balls], [(t.x, t.y) for t in tracked])
        self.truth_balls += len(balls)
        self.unmatched_truth += len(balls) - len(pairs)
        self._phantoms(truth, tracked)
        for i, j, dist in pairs:
            ball, track = balls[i], tracked[j]
            previous = self.owner.get(ball.number)
            if previous is not None and previous != track.id:
                self.switches[shot] += 1
                self.switch_log.append(
                    {
                        "run": self.label,
                        "frame": truth.frame,
                        "shot": truth.shot,
                        "ball": ball.number,
                        "from": previous,
                        "to": track.id,
                        "phase": truth.phase,
                        "speed": round(ball.speed, 3),
                        "visible": round(ball.visible, 2),
                    }
                )
            self.owner[ball.number] = track.id
            (self.moving[shot] if ball.speed > MOVING else self.rest_mm).append(dist * 1e3)

    def _phantoms(self, truth: Truth, tracked: list[Any]) -> None:
        """Visible tracks with no ball of the table (seen or hidden) within the gate."""
        every = truth.on_table
        pairs = match([(b.x, b.y) for b in every], [(t.x, t.y) for t in tracked])
        real = {j for _, j, _ in pairs}
        for j, t in enumerate(tracked):
            if j in real or not t.visible:
                continue
            self.phantoms += 1
            if len(self.phantom_log) < 40:
                near = min((math.hypot(b.x - t.x, b.y - t.y) for b in every), default=math.inf)
                self.phantom_log.append(
                    {
                        "run": self.label,
                        "frame": truth.frame,
                        "id": t.id,
                        "x": round(t.x, 3),
                        "y": round(t.y, 3),
                        "nearest_ball_mm": round(near * 1e3, 1),
                        "phase": truth.phase,
                    }
                )

    def detections(self, truth: Truth, detections: Detections) -> None:
        moving = [b for b in truth.on_table if b.speed > MOVING and b.visible > 0.5]
        pairs = match([(b.x, b.y) for b in moving], [(d.x, d.y) for d in detections.balls])
        self.detect_moving_mm += [d * 1e3 for _, _, d in pairs]

    @property
    def moving_mm(self) -> list[float]:
        return [e for errors in self.moving.values() for e in errors]

    def merge(self, other: Score) -> None:
        """Add another run's figures (shots are keyed by run)."""
        self.switches.update(other.switches)
        self.moving.update(other.moving)
        self.rest_mm += other.rest_mm
        self.detect_moving_mm += other.detect_moving_mm
        self.unmatched_truth += other.unmatched_truth
        self.truth_balls += other.truth_balls
        self.phantoms += other.phantoms
        self.switch_log += other.switch_log
        self.phantom_log += other.phantom_log

    def summary(self) -> dict[str, object]:
        shots = max(1, len(self.switches))
        total = sum(self.switches.values())
        moving_mm = self.moving_mm
        return {
            "shots": len(self.switches),
            "shots_with_switches": sum(1 for n in self.switches.values() if n),
            "id_switches_total": total,
            "id_switches_per_shot": round(total / shots, 3),
            "moving_error_mm": {
                "median": percentile(moving_mm, 50),
                "p90": percentile(moving_mm, 90),
                "p99": percentile(moving_mm, 99),
                "max": round(max(moving_mm), 2) if moving_mm else None,
                "mean": round(statistics.fmean(moving_mm), 2) if moving_mm else None,
                "n": len(moving_mm),
            },
            "rest_error_mm": {
                "median": percentile(self.rest_mm, 50),
                "p99": percentile(self.rest_mm, 99),
            },
            "raw_detection_moving_error_mm": {
                "median": percentile(self.detect_moving_mm, 50),
                "p99": percentile(self.detect_moving_mm, 99),
            },
            "visible_truth_unmatched_fraction": round(
                self.unmatched_truth / max(1, self.truth_balls), 4
            ),
            "phantom_track_frames": self.phantoms,
            "switches": self.switch_log[:40],
        }

    def shot_rows(self) -> list[str]:
        """Markdown rows: one per shot with its switches and moving-ball errors."""
        rows = []
        for (label, shot), n in sorted(self.switches.items()):
            errors = self.moving.get((label, shot), [])
            p99 = percentile(errors, 99)
            worst = f"{max(errors):.2f}" if errors else "-"
            rows.append(f"| {label} | {shot} | {n} | {len(errors)} | {p99} | {worst} |")
        return rows


Frame = tuple[Truth, Detections]


def rendered(seed: int, opts: argparse.Namespace) -> Any:
    """Frames of the synthetic camera through the vision pipeline (calibrated from frame 0)."""
    from vision_accuracy import calibrate_scene

    from nodes.vision.pipeline import Pipeline, PipelineConfig
    from nodes.vision.synthetic.feed import SyntheticCamera

    camera = SyntheticCamera.from_seed(
        seed, width=opts.width, height=opts.height, fps=opts.fps, randomize=opts.randomize
    )
    first = camera.next_frame()
    intrinsics = opts.intrinsics or ("chessboard" if opts.randomize else "auto")
    rng = np.random.default_rng([seed, 0x1A7])
    calibration = calibrate_scene(camera, first.image, intrinsics, rng)
    if calibration is None:
        raise SystemExit(f"seed {seed}: auto-calibration found no table in the first frame")
    pipeline = Pipeline(calibration, PipelineConfig())
    for n in range(1, int(opts.seconds * opts.fps)):
        frame = camera.next_frame()
        detections = pipeline.process(frame.image, n, frame.truth.capture_ns, "cam0")
        yield Truth.of(frame.truth), detections
        if opts.progress and n % 600 == 0:
            print(f"  seed {seed}: {n} frames", file=sys.stderr)


def score_frames(label: str, frames: Any, record: list[Frame] | None) -> Score:
    """Track and score a sequence of frames with a fresh game."""
    game = Game()
    score = Score(label=label)
    for truth, detections in frames:
        if record is not None:
            record.append((truth, detections))
        game.update(detections)
        score.detections(truth, detections)
        score.state(truth, game.snapshot())
    return score


def run_seed(seed: int, opts: argparse.Namespace) -> Score:
    label = f"{'r' if opts.randomize else 's'}{seed}"
    record: list[Frame] | None = [] if opts.record else None
    score = score_frames(label, rendered(seed, opts), record)
    if opts.record and record is not None:
        opts.record.mkdir(parents=True, exist_ok=True)
        name = f"{label}_{opts.seconds:g}s_{opts.fps:g}fps_{opts.width}x{opts.height}.pkl.gz"
        with gzip.open(opts.record / name, "wb") as out:
            pickle.dump({"label": label, "fps": opts.fps, "frames": record}, out)
    return score


def replay(path: Path) -> Score:
    with gzip.open(path, "rb") as src:
        data = pickle.load(src)
    return score_frames(data["label"], data["frames"], None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="scene seconds per seed")
    parser.add_argument("--fps", type=float, default=60.0, help="camera frame rate")
    parser.add_argument("--width", type=int, default=1280, help="image width (pixels)")
    parser.add_argument("--height", type=int, default=720, help="image height (pixels)")
    parser.add_argument("--seed", type=int, default=1, help="one scene seed (see --seeds)")
    parser.add_argument("--seeds", help="comma-separated scene seeds, e.g. 1,2,3")
    parser.add_argument("--randomize", action="store_true", help="randomised cameras and scenes")
    parser.add_argument(
        "--intrinsics",
        choices=("chessboard", "auto"),
        help="lens calibration as an installer would do it (chessboard views through the scene's"
        " lens) or none; default chessboard with --randomize (a randomised lens distorts), else"
        " auto. The head end of the table is given either way",
    )
    parser.add_argument("--jobs", type=int, default=1, help="seeds rendered in parallel")
    parser.add_argument("--record", type=Path, help="keep each seed's frames in this folder")
    parser.add_argument("--replay", type=Path, nargs="+", help="score recorded frames instead")
    parser.add_argument("--shots", action="store_true", help="print the per-shot table")
    parser.add_argument("--progress", action="store_true", help="report progress on stderr")
    parser.add_argument("--json", type=Path, help="append the result as a JSON line")
    opts = parser.parse_args()
    started = time.perf_counter()
    if opts.replay:
        scores = [replay(p) for p in opts.replay]
    else:
        seeds = [int(s) for s in opts.seeds.split(",")] if opts.seeds else [opts.seed]
        with ProcessPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            scores = list(pool.map(run_seed, seeds, [opts] * len(seeds)))
    total = Score(label="all")
    for score in scores:
        total.merge(score)
    result = total.summary()
    result.update(
        runs=[s.label for s in scores],
        per_run={s.label: _brief(s.summary()) for s in scores},
        phantoms=total.phantom_log[:20],
        replay=[str(p) for p in opts.replay] if opts.replay else None,
        wall_s=round(time.perf_counter() - started, 1),
    )
    if not opts.replay:
        result.update(seconds=opts.seconds, fps=opts.fps, randomize=opts.randomize)
    if opts.shots:
        print("| run | shot | id switches | moving samples | moving err p99 mm | max mm |")
        print("|---|---|---|---|---|---|")
        print("\n".join(total.shot_rows()))
    line = json.dumps(result)
    print(line)
    if opts.json:
        with opts.json.open("a") as out:
            out.write(line + "\n")


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    keep = ("shots", "id_switches_total", "moving_error_mm", "phantom_track_frames")
    return {k: summary[k] for k in keep}


if __name__ == "__main__":
    main()
