"""How fast the synthetic camera renders, per frame, on one core.

Renders a live session (the director playing: racks, aiming with cue and hands, strokes,
rolling balls) and prints milliseconds per frame, overall and per phase, as CPU time of the
rendering thread (so other processes on a shared machine do not count) and wall time.
OpenCV is limited to one thread, as the budget is one core.

    python bench/synthetic_bench.py                  # 1280x720 and 1920x1080, 600 frames each
    python bench/synthetic_bench.py --frames 300 --sizes 1280x720 --seed 3 --randomize
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import cv2

from nodes.vision.synthetic import SyntheticCamera


def measure(width: int, height: int, frames: int, seed: int, randomize: bool) -> None:
    t0, c0 = time.perf_counter(), time.thread_time()
    camera = SyntheticCamera.from_seed(seed, width=width, height=height, randomize=randomize)
    setup_wall, setup_cpu = time.perf_counter() - t0, time.thread_time() - c0
    cpu: list[float] = []
    wall: list[float] = []
    phases: dict[str, list[float]] = defaultdict(list)
    for _ in range(frames):
        t0, c0 = time.perf_counter(), time.thread_time()
        frame = camera.next_frame()
        c = (time.thread_time() - c0) * 1000
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append(c)
        phases[frame.truth.phase].append(c)
    cpu.sort()
    print(
        f"{width}x{height}: setup {setup_cpu:.2f} s CPU ({setup_wall:.2f} s wall), {frames} frames"
    )
    mean, median, p95 = statistics.fmean(cpu), cpu[len(cpu) // 2], cpu[int(len(cpu) * 0.95)]
    print(
        f"  ms/frame CPU: mean {mean:.2f}  median {median:.2f}  p95 {p95:.2f}  "
        f"max {cpu[-1]:.2f}   wall mean {statistics.fmean(wall):.2f}"
    )
    for phase, values in sorted(phases.items(), key=lambda kv: -len(kv[1])):
        avg, top = statistics.fmean(values), max(values)
        print(f"  {phase:>10}: {len(values):4d} frames, mean {avg:6.2f} ms, max {top:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=600, help="frames to render per size")
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="comma-separated WxH list")
    parser.add_argument("--seed", type=int, default=1, help="scene seed")
    parser.add_argument(
        "--randomize", action="store_true", help="randomized scene (tilt, lens, noise...)"
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        measure(w, h, args.frames, args.seed, args.randomize)


if __name__ == "__main__":
    main()
