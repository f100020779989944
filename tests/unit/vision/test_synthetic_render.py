"""What the synthetic camera draws agrees with its ground truth.

Ball coverage is measured from the images alone by difference matting: the same scene rendered
over two cloth colours gives each pixel's coverage as 1 - (I1 - I2) / (E1 - E2), where E are the
empty tables. No renderer internals are used.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from nodes.vision.synthetic import (
    RADIUS,
    BallState,
    CameraPose,
    CuePose,
    Lens,
    Renderer,
    RenderSpec,
    SceneSpec,
    SceneState,
    Stance,
    SyntheticCamera,
)
from nodes.vision.synthetic.ball import random_orientation
from nodes.vision.synthetic.colour import DECODE
from nodes.vision.synthetic.cue import JOINT, JOINT_RADIUS, TIP_RADIUS
from nodes.vision.synthetic.table import TableStyle

CLOTHS = ("#2b7a4b", "#7a2b6e")
HIGH_CONTRAST = (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15)  # not green on green
GRID = [
    (x, y) for x in (-1.15, -0.55, 0.04, 0.55, 1.15) for y in (-0.55, 0.03, 0.55)
]  # off the spots


def spread_balls(seed: int = 3) -> tuple[BallState, ...]:
    rng = np.random.default_rng(seed)
    return tuple(
        BallState(number=n, x=x, y=y, orientation=tuple(random_orientation(rng).ravel()))
        for n, (x, y) in zip(HIGH_CONTRAST, GRID, strict=False)
    )


def renderers(scene: SceneSpec, render: RenderSpec) -> tuple[Renderer, Renderer]:
    """The same scene over two cloths, with the exposure fixed so that only the cloth differs."""
    assert render.gain is not None
    return tuple(  # type: ignore[return-value]
        Renderer(replace(scene, style=TableStyle(cloth=c)), render) for c in CLOTHS
    )


def coverage(pair: tuple[Renderer, Renderer], state: SceneState) -> np.ndarray:
    """Per-pixel coverage of whatever is drawn over the table, from the images (in linear
    light: sRGB decoded, as a camera mixes light)."""
    img = [DECODE[r.render(state).image].astype(np.float64) for r in pair]
    bare = replace(state, balls=(), cue=None, stance=None, placing=None)
    empty = [DECODE[r.render(bare).image].astype(np.float64) for r in pair]
    contrast = empty[0] - empty[1]
    channel = np.argmax(np.abs(contrast), axis=2)
    pick = lambda a: np.take_along_axis(a, channel[..., None], axis=2)[..., 0]  # noqa: E731
    c = pick(contrast)
    alpha = 1.0 - pick(img[0] - img[1]) / np.where(np.abs(c) > 0.01, c, np.nan)
    return np.nan_to_num(np.clip(alpha, 0.0, 1.0))


def centroid(alpha: np.ndarray, x: float, y: float, reach: float) -> tuple[float, float]:
    rows, cols = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]]
    near = (cols - x) ** 2 + (rows - y) ** 2 < reach * reach
    w = alpha * near
    return float((w * cols).sum() / w.sum()), float((w * rows).sum() / w.sum())


@pytest.fixture(scope="module")
def ideal() -> tuple[Renderer, Renderer]:
    return renderers(
        SceneSpec.ideal(), replace(RenderSpec.ideal(1280, 720), supersample=1, gain=1.2)
    )


@pytest.fixture(scope="module")
def tilted() -> tuple[Renderer, Renderer]:
    scene = SceneSpec(
        pose=CameraPose(
            height=1.7, tilt_deg=14.0, tilt_azimuth_deg=30.0, yaw_deg=-6.0, target_y=0.05
        ),
        lens=Lens(fill=0.93, dist=(-0.2, 0.05, 0.001, -0.0015, 0.0)),
    )
    return renderers(scene, replace(RenderSpec.ideal(1280, 720), supersample=1, gain=1.2))


def test_ideal_render_centres_balls_within_0_15_px(ideal):
    state = SceneState(t=0.0, balls=spread_balls())
    alpha = coverage(ideal, state)
    truth = ideal[0].render(state).truth
    errors = []
    for ball in truth.balls:
        cx, cy = centroid(alpha, ball.x_px, ball.y_px, ball.r_px + 3)
        errors.append(math.hypot(cx - ball.x_px, cy - ball.y_px))
    assert len(errors) == len(HIGH_CONTRAST)
    assert max(errors) <= 0.15, errors


def test_ideal_render_ball_area_matches_its_projected_radius(ideal):
    state = SceneState(t=0.0, balls=spread_balls())
    alpha = coverage(ideal, state)
    for ball in ideal[0].render(state).truth.balls:
        rows, cols = np.mgrid[0:720, 0:1280]
        near = (cols - ball.x_px) ** 2 + (rows - ball.y_px) ** 2 < (ball.r_px + 3) ** 2
        area = float((alpha * near).sum())
        assert area == pytest.approx(math.pi * ball.r_px**2, rel=0.02)


def test_tilted_distorted_render_matches_the_truth_silhouette(tilted):
    state = SceneState(t=0.0, balls=spread_balls(5))
    alpha = coverage(tilted, state)
    truth = tilted[0].render(state).truth
    for ball in truth.balls:
        cx, cy = centroid(alpha, ball.x_px, ball.y_px, ball.r_px + 3)
        assert math.hypot(cx - ball.centroid_x_px, cy - ball.centroid_y_px) < 0.1
        assert math.hypot(cx - ball.x_px, cy - ball.y_px) < 0.4


def test_truth_centre_is_the_projection_of_the_ball_centre(tilted):
    state = SceneState(t=0.0, balls=spread_balls())
    truth = tilted[0].render(state).truth
    camera = truth.camera
    for ball in truth.balls:
        expected = camera.project([[ball.x, ball.y, RADIUS]])[0]
        assert (ball.x_px, ball.y_px) == pytest.approx(tuple(expected), abs=1e-9)
        assert ball.z == RADIUS and ball.visible_fraction > 0.99


def cue_over_ball() -> SceneState:
    """A level cue 7 cm above the cloth passing over the middle of ball 1 at the origin."""
    pose = CuePose(tip_x=-0.2, tip_y=0.0, tip_z=0.07, direction_deg=180.0, elevation_deg=0.0)
    ball = BallState(number=1, x=0.0, y=0.0)
    return SceneState(t=0.0, balls=(ball,), cue=pose)


def test_cue_across_a_ball_hides_the_strip_it_covers(ideal):
    truth = ideal[0].render(cue_over_ball()).truth
    d_ball = 2.5 - RADIUS
    d_cue = 2.5 - 0.07
    r_cue = TIP_RADIUS + (JOINT_RADIUS - TIP_RADIUS) * (0.2 - TIP_RADIUS) / (JOINT - TIP_RADIUS)
    disc = RADIUS / math.sqrt(d_ball**2 - RADIUS**2)  # angular radius of the ball's silhouette
    w = (r_cue / d_cue) / disc
    hidden = 2 / math.pi * (math.asin(w) + w * math.sqrt(1 - w * w))
    assert truth.ball(1).visible_fraction == pytest.approx(1 - hidden, abs=0.02)
    assert truth.cue is not None and truth.cue.visible_fraction > 0.95


def test_cue_truth_matches_what_is_drawn(ideal):
    state = cue_over_ball()
    alpha = coverage(ideal, replace(state, balls=()))
    truth = ideal[0].render(state).truth
    assert truth.cue is not None
    x, y = truth.cue.tip_x_px, truth.cue.tip_y_px
    row = alpha[round(y)]
    drawn = np.flatnonzero(row > 0.5)
    assert drawn.min() == pytest.approx(x, abs=1.0)  # the cue points to -x: its tip is its left end
    assert (alpha[round(y) - 20 : round(y) + 20, : round(x) - 3] < 0.05).all()


def test_a_hand_over_a_ball_hides_most_of_it(ideal):
    ball = BallState(number=3, x=0.3, y=0.2)
    state = SceneState(t=0.0, balls=(ball,), placing=(0.3, 0.2))
    assert ideal[0].render(state).truth.ball(3).visible_fraction < 0.5
    free = ideal[0].render(replace(state, placing=None)).truth.ball(3)
    assert free.visible_fraction == pytest.approx(1.0, abs=1e-6)


def test_bridge_hand_on_the_cloth_hides_a_ball_under_it(ideal):
    pose = CuePose(tip_x=0.0, tip_y=0.0, tip_z=RADIUS, direction_deg=0.0, elevation_deg=5.0)
    stance = Stance(bridge_x=-0.2, bridge_y=0.0, rest_z=0.0)
    ball = BallState(number=2, x=-0.42, y=0.07)  # under the forearm
    truth = ideal[0].render(SceneState(t=0.0, balls=(ball,), cue=pose, stance=stance)).truth
    assert truth.ball(2).visible_fraction < 0.3


def test_motion_blur_smears_a_moving_ball_along_its_path():
    scene = SceneSpec.ideal()
    render = replace(RenderSpec.ideal(640, 360), supersample=1, exposure_s=0.016)
    r = Renderer(scene, render)
    fast = BallState(number=0, x=0.0, y=0.0, vx=3.0, vy=0.0)
    still = replace(fast, vx=0.0)
    blurred = r.render(SceneState(t=0.0, balls=(fast,))).image.astype(int)
    sharp = r.render(SceneState(t=0.0, balls=(still,))).image.astype(int)
    empty = r.render(SceneState(t=0.0, balls=())).image.astype(int)
    truth = r.render(SceneState(t=0.0, balls=(fast,))).truth.ball(0)
    row = round(truth.y_px)
    streak = np.flatnonzero(np.abs(blurred[row] - empty[row]).sum(axis=1) > 30)
    disc = np.flatnonzero(np.abs(sharp[row] - empty[row]).sum(axis=1) > 30)
    smear = 3.0 * 0.016 / (2 * RADIUS) * 2 * truth.r_px
    assert np.ptp(streak) == pytest.approx(np.ptp(disc) + smear, abs=2.0)
    assert (streak.min() + streak.max()) / 2 == pytest.approx(truth.x_px, abs=1.0)


def test_same_seed_renders_the_same_frames_and_another_seed_does_not():
    def frames(seed: int) -> list:
        cam = SyntheticCamera.from_seed(seed, width=320, height=180)
        cam.skip(70)
        return [cam.next_frame() for _ in range(3)]

    a, b, c = frames(11), frames(11), frames(12)
    for fa, fb in zip(a, b, strict=True):
        assert np.array_equal(fa.image, fb.image)
        assert fa.truth == fb.truth
    assert not np.array_equal(a[0].image, c[0].image)


def test_lamp_drift_tints_the_whole_image_balls_included():
    scene = SceneSpec()  # the live default: lamps drift gently
    r = Renderer(scene, replace(RenderSpec.ideal(320, 180), supersample=1, gain=1.0))
    state = SceneState(t=0.0, balls=(BallState(number=0, x=0.0, y=0.0),))
    at0 = r.render(state)
    later = r.render(replace(state, t=13.0))
    gain = scene.lighting.gain(13.0)
    assert not np.allclose(gain, 1.0, atol=0.01)
    background = np.ones(at0.image.shape[:2], bool)
    ball = at0.truth.ball(0)
    rows, cols = np.mgrid[0:180, 0:320]
    background &= (cols - ball.x_px) ** 2 + (rows - ball.y_px) ** 2 > (ball.r_px + 2) ** 2
    for channel in range(3):
        a = at0.image[..., channel][background].astype(float)
        b = later.image[..., channel][background].astype(float)
        assert b.mean() / a.mean() == pytest.approx(gain[channel], rel=0.02)
    inside = (cols - ball.x_px) ** 2 + (rows - ball.y_px) ** 2 < (ball.r_px - 2) ** 2
    ratio = later.image[inside].astype(float).mean() / at0.image[inside].astype(float).mean()
    assert ratio == pytest.approx(float(np.mean(gain)), rel=0.05)


def test_rendering_a_state_again_gives_the_same_image_whatever_was_cached():
    r = Renderer(SceneSpec(), replace(RenderSpec.ideal(320, 180), supersample=1))
    pose = CuePose(tip_x=0.0, tip_y=0.0, tip_z=0.03, direction_deg=10.0, elevation_deg=5.0)
    state = SceneState(t=13.0, balls=(BallState(number=3, x=0.1, y=0.0),), cue=pose)
    first = r.render(state)
    for k in range(4):
        r.render(replace(state, t=13.0 + k, cue=replace(pose, tip_x=-0.001 * k)))
    again = r.render(state)
    assert np.array_equal(first.image, again.image)
    assert first.truth == again.truth
