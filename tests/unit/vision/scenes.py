"""Rendered test frames for the vision unit tests, from the synthetic camera (committed code).

Each helper renders a scene state through a camera whose model is known, so tests can score
the pipeline against exact ground truth; the pipeline itself never sees the model.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from nodes.vision.synthetic.ball import BallState, random_orientation
from nodes.vision.synthetic.camera import CameraPose, Lens
from nodes.vision.synthetic.cue import CuePose, Stance
from nodes.vision.synthetic.renderer import Renderer
from nodes.vision.synthetic.scene import RenderSpec, SceneSpec, SceneState
from nodes.vision.synthetic.truth import SyntheticFrame

WIDTH, HEIGHT = 1280, 720
R = 0.028575


@functools.cache
def renderer(kind: str) -> Renderer:
    """``ideal`` (straight down, no noise, no distortion), ``real`` (same camera with noise,
    shadows, vignetting) or ``tilted`` (12 degrees, barrel distortion, noise)."""
    if kind == "ideal":
        return Renderer(SceneSpec.ideal(), RenderSpec.ideal(WIDTH, HEIGHT))
    if kind == "real":
        return Renderer(SceneSpec.ideal(), RenderSpec(width=WIDTH, height=HEIGHT, exposure_s=0.0))
    scene = SceneSpec(
        seed=3,
        pose=CameraPose(height=1.9, tilt_deg=12.0, tilt_azimuth_deg=200.0, yaw_deg=4.0),
        lens=Lens(fill=0.9, dist=(-0.12, 0.03, 0.0, 0.0, 0.0)),
    )
    return Renderer(scene, RenderSpec(width=WIDTH, height=HEIGHT, exposure_s=0.0))


def balls(spots: Sequence[tuple[int, float, float]], seed: int = 0) -> tuple[BallState, ...]:
    """Balls at rest, randomly turned (stripes and numbers face every way)."""
    rng = np.random.default_rng(seed)
    return tuple(
        BallState(number=n, x=x, y=y, orientation=tuple(random_orientation(rng).ravel()))
        for n, x, y in spots
    )


def rack(apex_x: float = 0.635, seed: int = 0) -> list[tuple[int, float, float]]:
    """Fifteen touching balls in a triangle (apex towards -x) and the cue ball."""
    order = [1, 9, 2, 3, 8, 10, 11, 7, 14, 4, 5, 13, 15, 6, 12]
    spots, k = [(0, -0.635, 0.02)], 0
    for row in range(5):
        for i in range(row + 1):
            x = apex_x + row * 2 * R * math.cos(math.radians(30)) * 1.0005
            y = (i - row / 2) * 2 * R * 1.0005
            spots.append((order[k], x, y))
            k += 1
    return spots


def render(
    kind: str,
    spots: Sequence[tuple[int, float, float]],
    cue: CuePose | None = None,
    seed: int = 0,
    stance: Stance | None = None,
) -> SyntheticFrame:
    """One frame of balls (and optionally the cue, held as ``stance`` says or else with the
    bridge hand off the table)."""
    if cue is not None and stance is None:
        stance = Stance(bridge_x=cue.tip_x, bridge_y=cue.tip_y, rest_z=None)
    state = SceneState(t=0.0, balls=balls(spots, seed), cue=cue, stance=stance)
    return renderer(kind).render(state, 0, 0)
