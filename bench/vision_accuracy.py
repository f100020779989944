"""How well the vision pipeline sees the synthetic table: recall, false balls, centre error in
millimetres, kind accuracy, the cue's angle and tip errors and time per frame, on a seeded
randomised scene set (camera pose, lens distortion, cloth, lamps, noise, exposure blur, JPEG,
cue and hands drawn from ``nodes.vision.synthetic.variation``).

Per scene, like an installer on a real table: the lens is calibrated from rendered chessboard
views (``--intrinsics chessboard``; ``auto`` skips that and lets the table calibration guess the
focal length), the table is found from the felt in the first frame, and the head of the table is
given (one image cannot tell the ends apart). The camera model is used only to render and to
score, never by the pipeline.

A cue counts when at least 30 % of it is in view: ``cue_found`` is the share of those found.
The node reports a cue only while its tip is over the cloth or a cushion (drawn back until the
tip is over the rail or the floor, it aims at nothing), so ``cue_found_over_table`` is the share
found of the cues whose true tip is there: what the node promises.

    python bench/vision_accuracy.py                      # 12 scenes x 24 frames at 1280x720
    python bench/vision_accuracy.py --scenes 40 --json results.json
    python bench/vision_accuracy.py --cache .bench-cache # render once, then only detect
    python bench/vision_accuracy.py --seeds 1000-1011,4000-4011,5000-5011 --frames 16 --spacing 60

Rendering takes most of a run. ``--cache DIR`` keeps each scene's rendered images (chessboard
views, first frame, scored frames and their truth) in DIR, keyed by the scene's arguments and
a hash of the synthetic camera's source and of the functions here that drive it: a later run
with the same arguments calibrates and detects again on the same pixels, and any change to
the renderer renders anew.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import inspect
import json
import math
import pickle
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes.vision import table
from nodes.vision.calibration import Intrinsics, TableCalibration, TableSpec
from nodes.vision.chessboard import calibrate_images, render_board
from nodes.vision.pipeline import Pipeline
from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.feed import SyntheticCamera

MATCH_M = 0.03  # a detection within 30 mm of a ball's centre is that ball
VISIBLE = 0.6  # balls with less of their silhouette visible are not expected to be found
MOVING = 0.05  # m/s
SPEC = TableSpec()  # the synthetic table


@dataclass
class Tally:
    """Counts and errors over all frames."""

    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    false: int = 0
    frames: int = 0
    errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    kinds: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    cue_errors: list[float] = field(default_factory=list)
    cue_tip_mm: list[float] = field(default_factory=list)
    cue_truth: int = 0
    cue_found: int = 0
    # of those, the cues whose tip is over the cloth or a cushion: the node reports only those
    # (a cue drawn back until its tip is over the rail or the floor is not aiming at anything)
    cue_over_table: int = 0
    cue_found_over_table: int = 0
    cue_absent: int = 0  # frames without a cue in view
    cue_false: int = 0  # ... where one was reported
    cue_ball_twice: int = 0  # frames where more than one ball was reported as the cue ball
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    calib: list[float] = field(default_factory=list)
    failed_scenes: int = 0


def board_views(camera: CameraModel, rng: np.random.Generator, count: int = 20) -> list[Any]:
    """Chessboard images seen through the scene's lens: a board held at many places, depths
    and tilts, covering the corners of the image (where the distortion is)."""
    w, h = camera.width, camera.height
    ys, xs = np.mgrid[0:h, 0:w]
    norm = camera.undistort(np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float64))
    norm = np.nan_to_num(norm, nan=1e3)  # beyond the lens's fold: off the board
    height = float(camera.position[2])
    views = []
    for k in range(count):
        angles = np.radians(rng.uniform(-40, 40, 3))
        angles[2] = rng.uniform(-math.pi, math.pi)
        rot, _ = cv2.Rodrigues(angles)
        depth = height * rng.uniform(0.45, 0.9)
        half = 0.5 * depth * np.array([w / camera.fx, h / camera.fy])
        spot = np.array([(k % 4) / 1.5 - 1.0, ((k // 4) % 3) - 1.0]) * 0.6 + rng.uniform(
            -0.1, 0.1, 2
        )
        centre = np.array([spot[0] * half[0], spot[1] * half[1], depth])
        square = 0.04 * depth
        trans = centre - rot @ np.array([5 * square, 3.5 * square, 0.0])
        views.append(render_board(norm, (w, h), rot, trans, (9, 6), square))
    return views


def calibrate_scene(
    cam: SyntheticCamera, image: Any, mode: str, rng: np.random.Generator
) -> TableCalibration | None:
    """Intrinsics (chessboard or none), then the table from the felt, head end given."""
    boards = board_views(cam.camera, rng) if mode == "chessboard" else []
    return calibrate_views(boards, image, cam.camera)


def calibrate_views(boards: list[Any], image: Any, model: CameraModel) -> TableCalibration | None:
    """Intrinsics from the chessboard views (if any), then the table from the felt in
    ``image``, turned, if need be, so that table -x is the head end (as an installer says
    which end is which; ``model``, the scene's camera, tells it)."""
    intrinsics: Intrinsics | None = None
    if boards:
        intrinsics = calibrate_images(boards, (9, 6), 1.0).intrinsics
    found = table.calibrate(image, SPEC, intrinsics)
    if found is None:
        return None
    head = model.project(np.array([[-1.0, 0.0, 0.0]]))[0]
    if np.linalg.norm(found.to_image(np.array([[-1.0, 0.0, 0.0]]))[0] - head) > np.linalg.norm(
        found.turned().to_image(np.array([[-1.0, 0.0, 0.0]]))[0] - head
    ):
        return found.turned()
    return found


def match(balls: list[Any], found: list[Any]) -> list[tuple[int, int]]:
    """(ball, detection) index pairs: each detection within ``MATCH_M`` of a ball's centre is
    that ball, assigned as a whole (Hungarian)."""
    if not balls or not found:
        return []
    cost = np.array([[math.hypot(d.x - b.x, d.y - b.y) for d in found] for b in balls])
    # pairs beyond the gate cost the same, so an optimal assignment never gives up a true
    # match to pair a far-off false detection with some ball
    rows, cols = linear_sum_assignment(np.where(cost < MATCH_M, cost, 1.0))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < MATCH_M]


def score_frame(detections: Any, truth: Any, tally: Tally) -> None:
    """Match detections to truth balls and count."""
    tally.frames += 1
    balls = [b for b in truth.balls if not b.pocketed]
    dets = detections.balls
    pairs = match(balls, dets)
    matched_det = {c for _, c in pairs}
    matched_truth = {r: c for r, c in pairs}
    for i, b in enumerate(balls):
        state = "moving" if math.hypot(b.vx, b.vy) > MOVING else "rest"
        if b.visible_fraction < VISIBLE:
            continue
        tally.expected[state] += 1
        if i not in matched_truth:
            continue
        d = dets[matched_truth[i]]
        tally.found[state] += 1
        tally.errors[state].append(math.hypot(d.x - b.x, d.y - b.y) * 1000)
        _score_kind(b, d, tally)
    tally.false += sum(1 for c in range(len(dets)) if c not in matched_det)
    tally.cue_ball_twice += sum(d.kind == "cue" for d in dets) > 1
    _score_cue(detections, truth, tally)


def _score_kind(b: Any, d: Any, tally: Tally) -> None:
    if b.kind in ("cue", "eight"):
        tally.kinds[b.kind].append(d.kind == b.kind)
    elif b.kind in ("solid", "stripe"):
        tally.kinds["solid/stripe"].append(d.kind == b.kind)
        if d.number is not None:
            tally.kinds["number"].append(d.number == b.number)


def _score_cue(detections: Any, truth: Any, tally: Tally) -> None:
    cue = truth.cue
    if cue is None:
        tally.cue_absent += 1
        tally.cue_false += detections.cue is not None
        return
    if cue.visible_fraction < 0.3:
        return
    tally.cue_truth += 1
    over = abs(cue.tip_x) <= SPEC.length / 2 + SPEC.cushion_width
    over &= abs(cue.tip_y) <= SPEC.width / 2 + SPEC.cushion_width
    tally.cue_over_table += over
    if detections.cue is None:
        return
    tally.cue_found += 1
    tally.cue_found_over_table += over
    diff = (detections.cue.direction_deg - cue.direction_deg + 180) % 360 - 180
    tally.cue_errors.append(abs(diff))
    # the tip on the table (x, y): where a projector starts the aiming line
    found = detections.cue
    tally.cue_tip_mm.append(math.hypot(found.tip_x - cue.tip_x, found.tip_y - cue.tip_y) * 1000)


@dataclass
class Scene:
    """What one scene's score is computed from: the camera model (to score, never given to
    the pipeline), the chessboard views (none with ``--intrinsics auto``), the first frame
    (the table is calibrated on it) and the scored frames with their truth."""

    camera: CameraModel
    boards: list[Any]
    first: Any
    frames: list[tuple[Any, Any]]


def render_scene(seed: int, args: argparse.Namespace) -> Scene:
    """Render a scene: ``args.frames`` frames spread over the game, ``args.spacing`` apart at
    most, the first up to ``args.start`` frames into it."""
    rng = np.random.default_rng([seed, 7])
    cam = SyntheticCamera.from_seed(seed, width=args.width, height=args.height, randomize=True)
    first = cam.next_frame().image
    boards = board_views(cam.camera, rng) if args.intrinsics == "chessboard" else []
    if args.start:
        cam.skip(int(rng.integers(0, args.start)))
    frames = []
    for _ in range(args.frames):
        cam.skip(int(rng.integers(0, args.spacing)))
        frame = cam.next_frame()
        frames.append((frame.image, frame.truth))
    return Scene(cam.camera, boards, first, frames)


# what renders, besides the synthetic camera: the two functions here that drive it
_RENDERING = inspect.getsource(render_scene) + inspect.getsource(board_views)


@functools.cache
def _render_digest() -> str:
    """A hash of what renders: the synthetic camera's source and the functions here."""
    sources = sorted(Path(__file__).resolve().parents[1].glob("nodes/vision/synthetic/**/*.py"))
    digest = hashlib.sha256(_RENDERING.encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def cached_scene(seed: int, args: argparse.Namespace) -> Scene:
    """:func:`render_scene`, from ``args.cache`` when it holds this scene."""
    if args.cache is None:
        return render_scene(seed, args)
    key = f"{seed}-{args.width}x{args.height}-{args.frames}-{args.spacing}-{args.intrinsics}"
    key += f"-from{args.start}" if args.start else ""
    path = args.cache / f"scene-{key}-{_render_digest()}.pickle"
    if path.exists():
        with path.open("rb") as f:
            return Scene(**pickle.load(f))
    scene = render_scene(seed, args)
    args.cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as f:  # fields, not the class: run as a script it is __main__.Scene
        pickle.dump(vars(scene), f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)  # whole or not at all
    return scene


def calibrate(scene: Scene) -> TableCalibration | None:
    """A scene calibrated as an installer would (:func:`calibrate_views`)."""
    return calibrate_views(scene.boards, scene.first, scene.camera)


def run_scene(seed: int, args: argparse.Namespace, tally: Tally) -> None:
    """Calibrate, then detect and score ``args.frames`` frames spread over the game."""
    cv2.setNumThreads(1)
    scene = cached_scene(seed, args)
    cal = calibrate(scene)
    if cal is None:
        tally.failed_scenes += 1
        return
    truth_corners = scene.camera.project(cal.spec.surface(0.0))
    tally.calib.append(float(np.abs(cal.corners_px - truth_corners).max()))
    pipeline = Pipeline(cal)
    for image, truth in scene.frames:
        cpu, wall = time.thread_time(), time.perf_counter()
        detections = pipeline.process(image, truth.frame, 0, "cam0")
        tally.cpu_ms.append((time.thread_time() - cpu) * 1e3)
        tally.wall_ms.append((time.perf_counter() - wall) * 1e3)
        score_frame(detections, truth, tally)


def percent(num: float, den: float) -> str:
    """A percentage with its counts."""
    return f"{100 * num / den:.2f} % ({num:.0f}/{den:.0f})" if den else "n/a"


def summary(tally: Tally) -> dict[str, Any]:
    """Every figure, as plain data."""
    out: dict[str, Any] = {"frames": tally.frames, "failed_scenes": tally.failed_scenes}
    for state in ("rest", "moving"):
        errs = np.array(tally.errors[state]) if tally.errors[state] else np.zeros(1)
        out[f"recall_{state}"] = percent(tally.found[state], tally.expected[state])
        out[f"centre_mm_{state}"] = {
            "mean": round(float(errs.mean()), 3),
            "p95": round(float(np.percentile(errs, 95)), 3),
        }
    out["false_balls_per_frame"] = round(tally.false / max(tally.frames, 1), 4)
    for kind, hits in tally.kinds.items():
        out[f"kind_{kind}"] = percent(sum(hits), len(hits))
    # a table has one cue ball: kind_cue counts the true one only, this the frames with more
    out["cue_ball_twice"] = percent(tally.cue_ball_twice, tally.frames)
    cue = np.array(tally.cue_errors) if tally.cue_errors else np.zeros(1)
    out["cue_found"] = percent(tally.cue_found, tally.cue_truth)
    out["cue_found_over_table"] = percent(tally.cue_found_over_table, tally.cue_over_table)
    out["cue_false"] = percent(tally.cue_false, tally.cue_absent)
    out["cue_angle_deg"] = {
        "mean": round(float(cue.mean()), 3),
        "median": round(float(np.median(cue)), 3),
        "p95": round(float(np.percentile(cue, 95)), 3),
    }
    tips = np.array(tally.cue_tip_mm) if tally.cue_tip_mm else np.zeros(1)
    out["cue_tip_mm"] = {
        "mean": round(float(tips.mean()), 1),
        "median": round(float(np.median(tips)), 1),
        "p95": round(float(np.percentile(tips, 95)), 1),
    }
    out["calibration_corner_err_px_max"] = {
        "mean": round(float(np.mean(tally.calib)), 3) if tally.calib else None,
        "max": round(float(np.max(tally.calib)), 3) if tally.calib else None,
    }
    out["ms_per_frame_cpu"] = {
        "mean": round(float(np.mean(tally.cpu_ms)), 2),
        "p95": round(float(np.percentile(tally.cpu_ms, 95)), 2),
    }
    out["ms_per_frame_wall"] = round(float(np.mean(tally.wall_ms)), 2)
    return out


def seed_list(text: str) -> list[int]:
    """``1000-1011,4000`` -> [1000, ..., 1011, 4000]."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            seeds.extend(range(int(first), int(last or first) + 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a seed or a range of seeds: {part!r}") from None
    return seeds


def scene_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose a scene set (the set of record by default), for the benches that
    run on this bench's scenes (``vision_ab.py``, ``vision_misses.py``)."""
    parser.add_argument(
        "--seeds", type=seed_list, default=seed_list("1000-1011,4000-4011,5000-5011"),
        help="scene seeds (default: the 36 of record)",
    )  # fmt: skip
    parser.add_argument("--frames", type=int, default=16, help="frames per scene")
    parser.add_argument("--spacing", type=int, default=60, help="max frames skipped between")
    parser.add_argument("--start", type=int, default=0, help="max frames skipped before")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--intrinsics", choices=("chessboard", "auto"), default="chessboard")
    parser.add_argument("--cache", type=Path, help="the rendered scenes' folder (reused)")


def main() -> int:
    """Run the scene set and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=12, help="randomised scenes (default 12)")
    parser.add_argument("--frames", type=int, default=24, help="frames scored per scene")
    parser.add_argument(
        "--spacing", type=int, default=20, help="max frames skipped between scored frames"
    )
    parser.add_argument(
        "--start", type=int, default=0, help="max frames skipped before the first scored frame"
    )
    parser.add_argument("--seed", type=int, default=1000, help="first scene seed")
    parser.add_argument(
        "--seeds", type=seed_list, help="scene seeds instead: e.g. 1000-1011,4000-4011"
    )
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--intrinsics", choices=("chessboard", "auto"), default="chessboard")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--cache", type=Path, help="keep rendered scenes in this folder and reuse them"
    )
    args = parser.parse_args()
    tally = Tally()
    started = time.time()
    for seed in args.seeds or range(args.seed, args.seed + args.scenes):
        run_scene(seed, args, tally)
    result = summary(tally)
    result["config"] = {k: str(v) for k, v in vars(args).items()}
    result["bench_seconds"] = round(time.time() - started, 1)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
