"""CPU per frame of the vision pipeline at two versions of the code, on the same frames, in one
process, taking turns frame by frame: the ratio is what a change costs or saves, whatever else
the shared machine is doing meanwhile. Also says whether the two versions detect the same.

The base version is exported from git (``--base REV``) into a temporary folder as the packages
``base_nodes`` and ``base_protocol``; the other is the working tree (or ``--head REV``). Frames
come from ``bench/vision_accuracy.py``'s scenes (same options, ``--cache`` reuses its renders);
each scene is calibrated once, by the working tree, and each version loads that calibration
through its own ``TableCalibration.from_dict`` (the run dir's format), so both see the same
numbers and each calls only methods its own code has. Times are thread CPU
time with OpenCV on one thread, after a first round that is not timed (compiling, caches).

    python bench/vision_ab.py --base a013a38 --cache .bench-cache
    python bench/vision_ab.py --base HEAD~1 --seeds 1000-1011,4000-4011,5000-5011 --rounds 3
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import vision_accuracy as va  # noqa: E402

PACKAGES = ("nodes", "protocol")
_IMPORT = re.compile(r"\b(from|import) (nodes|protocol)\b")
_DOTTED = re.compile(r"\b(nodes|protocol)\.(?=[a-z_])")


def export(rev: str, into: Path, prefix: str) -> None:
    """The packages at git revision ``rev`` under ``into``, renamed ``<prefix><package>``
    (imports rewritten), so that they load beside the working tree's."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, *PACKAGES],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    for package in PACKAGES:
        (into / package).rename(into / f"{prefix}{package}")
    for path in into.rglob("*.py"):
        path.write_text(renamed(path.read_text(), prefix))


def renamed(source: str, prefix: str) -> str:
    """``source`` with its imports of (and dotted names in) the packages prefixed."""
    text = _IMPORT.sub(lambda m: f"{m[1]} {prefix}{m[2]}", source)
    return _DOTTED.sub(lambda m: f"{prefix}{m[1]}.", text)


def pipeline_factory(rev: str | None, workdir: Path, prefix: str) -> Any:
    """A function of a working-tree calibration that makes a ``Pipeline`` of the working tree
    (``rev`` None) or of git revision ``rev``, on that calibration reloaded by the same code."""
    if rev is not None:
        export(rev, workdir, prefix)
        sys.path.insert(0, str(workdir))
    package = "" if rev is None else prefix
    pipeline = importlib.import_module(f"{package}nodes.vision.pipeline").Pipeline
    loaded = importlib.import_module(f"{package}nodes.vision.calibration").TableCalibration
    return lambda cal: pipeline(loaded.from_dict(cal.as_dict()))


def same(a: Any, b: Any) -> bool:
    """Whether two Detections hold the same balls (position, kind) and cue (to 1e-9 px)."""
    if len(a.balls) != len(b.balls) or (a.cue is None) != (b.cue is None):
        return False
    key = lambda d: (round(d.x_px, 6), round(d.y_px, 6))  # noqa: E731
    for p, q in zip(sorted(a.balls, key=key), sorted(b.balls, key=key), strict=True):
        if math.hypot(p.x_px - q.x_px, p.y_px - q.y_px) > 1e-9 or p.kind != q.kind:
            return False
    if a.cue is not None and b.cue is not None:
        return bool(
            math.hypot(a.cue.tip_x_px - b.cue.tip_x_px, a.cue.tip_y_px - b.cue.tip_y_px) <= 1e-9
        )
    return True


def main() -> int:
    """Time both versions and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--head", help="git revision to compare (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over the frames")
    va.scene_options(parser)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="cuecast-ab-") as tmp:
        base = pipeline_factory(args.base, Path(tmp) / "base", "base_")
        head = pipeline_factory(args.head, Path(tmp) / "head", "head_")
        scenes = []
        for seed in args.seeds:
            scene = va.cached_scene(seed, args)
            if (cal := va.calibrate(scene)) is not None:
                scenes.append((cal, scene.frames))
        frames = sum(len(f) for _, f in scenes)
        print(f"{len(scenes)} scenes, {frames} frames, {args.rounds} timed rounds", flush=True)
        times: dict[str, list[float]] = {"base": [], "head": []}
        differ = 0
        started = time.time()
        for round_ in range(args.rounds + 1):
            for cal, scene_frames in scenes:
                pipes = {"base": base(cal), "head": head(cal)}
                for image, truth in scene_frames:
                    order = ("base", "head") if round_ % 2 else ("head", "base")
                    out = {}
                    for name in order:
                        t = time.thread_time()
                        out[name] = pipes[name].process(image, truth.frame, 0, "cam0")
                        spent = (time.thread_time() - t) * 1e3
                        if round_:
                            times[name].append(spent)
                    differ += round_ == 0 and not same(out["base"], out["head"])
    a, b = np.array(times["base"]), np.array(times["head"])
    print(f"\n{'version':<24} {'mean ms':>8} {'median ms':>10} {'p95 ms':>8}")
    for name, rev, v in (("base", args.base, a), ("head", args.head or "working tree", b)):
        label = f"{name} {rev}"
        print(f"{label:<24} {v.mean():8.2f} {np.median(v):10.2f} {np.percentile(v, 95):8.2f}")
    print(f"\nratio of means (head / base)  {b.mean() / a.mean():.3f}")
    print(f"median of paired ratios       {np.median(b / a):.3f}")
    print(f"frames detected differently   {differ} of {frames}")
    print(f"bench seconds                 {time.time() - started:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
