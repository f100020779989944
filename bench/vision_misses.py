"""Which balls the vision pipeline misses, and where each was lost: seeding or judging.

For every ball the accuracy bench expects (at least 60 % visible) and does not match (within
30 mm, Hungarian), on the same scenes and with the same options as ``bench/vision_accuracy.py``:
the scene and frame, its number, how far its colour is from the cloth's (CIE76 Delta E between
the renderer's paints: under about 25 the felt score barely sees it), how many balls touch it,
how much of it lies in the player's blob, the nearest seed (in working-resolution radii, and its
strength) and a probe: circles fitted at its true centre and judged with both models as if a
seed lay there (the weak-seed judge with all its rules decides "kept"). A miss with no seed
near that the judge keeps at its true centre was lost in seeding; one it rejects, in judging
(or both); one with a seed near that it keeps, in between (the seed's circle went elsewhere,
the weak seeds' filter dropped it, or a better circle nearby won). A summary counts the misses
by where they were lost and by what surrounds them.

    python bench/vision_misses.py --seeds 1000-1011,4000-4011,5000-5011 --frames 16 --spacing 60
    python bench/vision_misses.py --seeds 1000-1011 --frames 48 --spacing 1 --start 1800 --list

Options are the accuracy bench's (``--cache`` reuses its renders). The pipeline's internals are
read by wrapping ``detector.find_balls`` for the run; nothing is changed.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import vision_accuracy as va  # noqa: E402

from nodes.vision import detector, evidence, symmetry  # noqa: E402
from nodes.vision.pipeline import Pipeline  # noqa: E402
from nodes.vision.synthetic.ball import COLOURS, WHITE  # noqa: E402
from nodes.vision.synthetic.table import CLOTHS  # noqa: E402
from nodes.vision.synthetic.variation import randomized  # noqa: E402

F32 = NDArray[np.float32]

LIKE_CLOTH = 25.0  # Delta E under which a ball is "of the cloth's colour"
SEED_NEAR = 0.5  # working radii: a seed this close to the true centre is the ball's


@dataclass
class Miss:
    """One expected ball not found, with what the detector saw around it."""

    seed: int
    frame: int
    number: int
    moving: bool
    visible: float
    cloth: str
    delta_e: float
    touching: int
    player: float
    seed_radii: float
    seed_strength: float
    strong: float  # confidence of a circle fitted at the true centre, strong-seed judge
    weak: float  # and the weak-seed judge
    accepted: bool  # a circle there passes the weak-seed judge with all of its rules

    @property
    def lost_in(self) -> str:
        """Where it was lost, as the nearest seed and the probe tell."""
        seeded = self.seed_radii <= SEED_NEAR
        if self.accepted:
            if seeded:
                return "between: a seed near, a ball at its true centre (the fit, a filter)"
            return "seeding: no seed near, a ball at its true centre"
        if seeded:
            return "judging: a seed near, rejected at its true centre"
        return "both: no seed near, rejected at its true centre"

    @property
    def around(self) -> str:
        """What surrounds it, first match: the player, the cloth's colour, other balls."""
        if self.player >= 0.3:
            return "beside or under the player"
        if self.delta_e < LIKE_CLOTH:
            return "the cloth's colour"
        return "touching other balls" if self.touching else "alone"


def lab(hex_colour: str) -> F32:
    """CIE Lab (L 0-100) of an sRGB hex colour."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)]
    pixel = np.array([[rgb[::-1]]], np.float32)  # BGR
    return np.asarray(cv2.cvtColor(pixel, cv2.COLOR_BGR2Lab)[0, 0], np.float32)


def paint(number: int) -> str:
    """The main paint of a ball (a stripe's band, a solid's colour, the cue ball's white)."""
    return WHITE if number == 0 else COLOURS[8 if number == 8 else (number - 1) % 8 + 1]


class Internals:
    """What ``detector.find_balls`` was given in the last frame (wrapped for the run)."""

    def __init__(self) -> None:
        self.original = detector.find_balls
        self.seen: dict[str, Any] = {}

    def __enter__(self) -> Internals:
        def find_balls(
            image: Any, acc: Any, found: Any, felt: Any, geo: Any, last: Any = None,
            smeared: bool = False,
        ) -> Any:  # fmt: skip
            self.seen = {"image": image, "acc": acc, "found": found, "felt": felt, "geo": geo}
            self.seen["smeared"] = smeared
            return self.original(image, acc, found, felt, geo, last, smeared)

        detector.find_balls = find_balls  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        detector.find_balls = self.original  # type: ignore[assignment]


def probe(seen: dict[str, Any], centre: Any) -> tuple[float, float, bool]:
    """Confidence of the strong-seed and weak-seed judges for a circle fitted at ``centre``
    (full-res px), and whether the weak-seed judge keeps it with all of its rules."""
    args = (seen["image"], centre, seen["found"], seen["felt"], seen["geo"])
    smeared = seen["smeared"]
    sure = []
    for model in (evidence.STRONG, evidence.LEFTOVER):
        # every circle, with its confidence
        circles = detector._judged(*args, model, least=0.0, smeared=smeared)
        sure.append(circles[0].confidence if circles else 0.0)
    return sure[0], sure[1], bool(detector._judged(*args, evidence.LEFTOVER, smeared=smeared))


def scene_misses(seed: int, args: argparse.Namespace) -> tuple[list[Miss], int]:
    """The misses of one scene, and how many balls were expected."""
    spec, _ = randomized(seed, width=args.width, height=args.height)
    cloth = next((name for name, hex_ in CLOTHS.items() if hex_ == spec.style.cloth), "?")
    cloth_lab = lab(spec.style.cloth)
    scene = va.cached_scene(seed, args)
    cal = va.calibrate(scene)
    if cal is None:
        return [], 0
    pipeline = Pipeline(cal)
    out: list[Miss] = []
    expected = 0
    with Internals() as internals:
        for number, (image, truth) in enumerate(scene.frames):
            detections = pipeline.process(image, truth.frame, 0, "cam0")
            seen = internals.seen
            balls = [b for b in truth.balls if not b.pocketed and b.visible_fraction >= va.VISIBLE]
            expected += len(balls)
            matched = {i for i, _ in va.match(balls, detections.balls)}
            if not seen or len(matched) == len(balls):
                continue
            geo = seen["geo"]
            seeds, strength = symmetry.peaks(seen["acc"], geo.radius / geo.factor, 0.0)
            for i, ball in enumerate(balls):
                if i in matched:
                    continue
                centre = np.array([[ball.x_px, ball.y_px]])
                small = geo.to_small(centre)
                radius = float(geo.expected_radius(centre)[0]) / geo.factor
                gaps = np.hypot(*(seeds - small).T) if len(seeds) else np.array([np.inf])
                near = int(np.argmin(gaps))
                half = (small - 0.5) / 2
                player = detector._inside(seen["found"].player, half, np.array([radius / 2]))
                strong, weak, accepted = probe(seen, centre)
                touching = sum(
                    math.hypot(o.x - ball.x, o.y - ball.y) < 2.15 * cal.spec.ball_radius
                    for o in truth.balls
                    if o is not ball and not o.pocketed
                )
                out.append(
                    Miss(
                        seed=seed, frame=number, number=ball.number,
                        moving=math.hypot(ball.vx, ball.vy) > va.MOVING,
                        visible=ball.visible_fraction, cloth=cloth,
                        delta_e=float(np.linalg.norm(lab(paint(ball.number)) - cloth_lab)),
                        touching=touching, player=float(player[0]),
                        seed_radii=float(gaps[near] / radius),
                        seed_strength=float(strength[near]) if len(seeds) else 0.0,
                        strong=strong, weak=weak, accepted=accepted,
                    )
                )  # fmt: skip
    return out, expected


def main() -> int:
    """Run the scenes and print the misses' summary (and each miss with ``--list``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    va.scene_options(parser)
    parser.add_argument("--list", action="store_true", help="print every miss")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    misses: list[Miss] = []
    expected = 0
    for seed in args.seeds:
        found, count = scene_misses(seed, args)
        misses += found
        expected += count
    for moving in (False, True):
        group = [m for m in misses if m.moving == moving]
        state = "moving" if moving else "at rest"
        print(f"\n{state}: {len(group)} missed ({expected} balls expected, at rest or moving)")
        for title, key in (("lost in", "lost_in"), ("around", "around")):
            print(f"  by {title}:")
            for label, n in Counter(getattr(m, key) for m in group).most_common():
                print(f"    {n:4d}  {label}")
    if args.list:
        print("\nseed frame ball state  vis  cloth    dE  touch player seed(r) str")
        print("   (then the strong and weak judges' confidence at the true centre, kept)")
        for m in misses:
            print(
                f"{m.seed} {m.frame:5d} {m.number:4d} {'moving' if m.moving else 'rest  '} "
                f"{m.visible:4.2f} {m.cloth:8s} {m.delta_e:4.0f} {m.touching:5d} {m.player:6.2f} "
                f"{m.seed_radii:7.2f} {m.seed_strength:5.2f} {m.strong:6.2f} {m.weak:5.2f} "
                f"{'yes' if m.accepted else 'no'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
