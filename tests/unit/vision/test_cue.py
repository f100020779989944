"""The cue while the player aims: the bridge hand on the cloth close to the rail, most of the
cue off the table, the tip a few centimetres behind the cue ball; and no cue where there is
none."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from nodes.vision import cue as cue_stick
from nodes.vision import pipeline, table
from nodes.vision.calibration import TableSpec
from nodes.vision.pipeline import Pipeline
from nodes.vision.synthetic.cue import CuePose, Stance
from tests.unit.vision import scenes

SPEC = TableSpec()
OTHERS = [(5, 0.3, 0.2), (9, 0.7, -0.3)]


def aiming(
    ball: tuple[float, float], direction_deg: float, behind: float, bridge: float, rest_z: float
) -> tuple[CuePose, Stance]:
    """The cue aimed at the cue ball: its tip ``behind`` metres short of the
    ball, the bridge hand ``bridge`` metres behind the tip on a surface at ``rest_z``."""
    d = math.radians(direction_deg)
    gap = scenes.R + behind
    tip = (ball[0] - gap * math.cos(d), ball[1] - gap * math.sin(d))
    pose = CuePose(
        tip_x=tip[0], tip_y=tip[1], tip_z=scenes.R, direction_deg=direction_deg, elevation_deg=6.0
    )
    hand = Stance(
        bridge_x=tip[0] - bridge * math.cos(d),
        bridge_y=tip[1] - bridge * math.sin(d),
        rest_z=rest_z,
    )
    return pose, hand


def detect(ball: tuple[float, float], pose: CuePose | None, hand: Stance | None):
    spots = [(0, *ball), *OTHERS]
    empty = scenes.render("real", spots)
    cal = table.calibrate(empty.image, SPEC, camera_height=2.5)
    assert cal is not None
    pipeline = Pipeline(cal)
    pipeline.process(empty.image, 0, 0, "cam0")  # the felt model from a frame without the cue
    frame = scenes.render("real", spots, cue=pose, stance=hand)
    return pipeline.process(frame.image, 1, 0, "cam0")


@pytest.mark.parametrize(
    ("ball", "direction_deg", "behind", "bridge", "rest_z"),
    [
        ((-0.85, -0.12), 4.0, 0.05, 0.18, 0.0),
        ((-0.85, -0.12), -12.0, 0.12, 0.2, 0.0),
        ((-0.85, -0.12), 8.0, 0.09, 0.17, 0.0),
        ((0.2, -0.42), 80.0, 0.07, 0.17, 0.0),
    ],
    ids=["straight-5cm", "angled-12cm", "practice-stroke-9cm", "from-the-side-rail"],
)
def test_the_cue_is_found_while_the_player_aims(ball, direction_deg, behind, bridge, rest_z):
    pose, hand = aiming(ball, direction_deg, behind, bridge, rest_z)
    found = detect(ball, pose, hand)
    assert found.cue is not None
    error = (found.cue.direction_deg - direction_deg + 180) % 360 - 180
    assert abs(error) < 1.0
    assert math.hypot(found.cue.tip_x - pose.tip_x, found.cue.tip_y - pose.tip_y) < 0.02
    # the cue ball is still found, and nothing of the cue or the hand is taken for a ball
    assert any(math.hypot(b.x - ball[0], b.y - ball[1]) < 0.005 for b in found.balls)
    assert len(found.balls) == 1 + len(OTHERS)


def test_no_cue_is_reported_when_none_is_in_view():
    assert detect((-0.85, -0.12), None, None).cue is None


def test_a_tip_walked_off_the_table_turns_the_cue_round(monkeypatch):
    """When the cue is found only on the felt and the end taken for its tip is the butt's
    side, the walk along the axis leaves the table: the other end is the tip."""
    found_on_felt = cue_stick.find_cue

    def wrong_end(*args: Any) -> cue_stick.CueLine | None:
        line = found_on_felt(*args)
        if line is None:
            return None
        butt = line.tip - line.length_px * line.direction
        return replace(line, tip=butt, direction=-line.direction)

    monkeypatch.setattr(pipeline, "wide_cue", lambda *args: None)
    monkeypatch.setattr(cue_stick, "find_cue", wrong_end)
    ball, direction_deg = (-0.3, 0.1), 4.0  # most of the cue lies on the felt
    pose, hand = aiming(ball, direction_deg, 0.05, 0.18, 0.0)
    found = detect(ball, pose, hand)
    assert found.cue is not None
    error = (found.cue.direction_deg - direction_deg + 180) % 360 - 180
    assert abs(error) < 1.0  # (without the bridge hand walked over, the tip is short of it)


@pytest.mark.parametrize(("across", "found"), [(4, True), (5, True), (12, False)])
def test_a_cue_with_its_shadow_beside_it_is_a_cue_and_an_arm_is_not(across, found):
    # working resolution, a ball's radius 4.27 px: the butt's end is about a radius across, and
    # where the cue is raised its shadow on the cloth joins it in the mask (1.2-1.6 radii in
    # scenes 4007, 5007, 5008 and 5010, where the cue was lost); a forearm is 2.8 radii across
    radius = 4.27
    mask = np.zeros((200, 400), np.uint8)
    mask[100 : 100 + across, 60:300] = 255
    edge = np.zeros_like(mask)
    edge[:, 290:] = 255  # the butt's end leaves the table on the right
    line = cue_stick.find_cue(mask, edge, radius, 2.0)
    assert (line is not None) == found
    if line is not None:
        assert line.direction == pytest.approx([-1.0, 0.0], abs=1e-6)
        assert line.tip[0] == pytest.approx((60 + 0.5) * 2 - 0.5, abs=2.0)  # full-res px


@pytest.mark.parametrize("seed", range(5))
def test_the_tip_walk_stops_at_the_tip_on_a_noisy_cloth(seed):
    # a cue 4 px wide ending at x = 200, on a dark cloth as noisy as scene 1007's, where the
    # walk went on 30 px
    rng = np.random.default_rng(seed)
    felt = np.array([39.0, 71.0, 23.0])
    image = felt + rng.normal(0.0, 1.0, (200, 400, 3)) * np.array([6.6, 8.9, 4.9])
    image[98:102, 40:200] = (170.0, 195.0, 215.0)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    coarse = cue_stick.CueLine(
        tip=np.array([185.0, 99.5]), direction=np.array([1.0, 0.0]), length_px=140.0,
        width_px=4.0, confidence=1.0,
    )  # fmt: skip
    walked = cue_stick.refine_tip(image, coarse, felt, [], reach=120.0)
    assert walked.tip[0] == pytest.approx(199.5, abs=1.0)


def test_a_cue_found_pointing_back_along_the_last_frames_cue_is_turned_round():
    from types import SimpleNamespace

    def line(tip: tuple[float, float], direction: tuple[float, float]) -> cue_stick.CueLine:
        return cue_stick.CueLine(
            tip=np.array(tip), direction=np.array(direction), length_px=200.0, width_px=4.0,
            confidence=1.0,
        )  # fmt: skip

    geo: Any = SimpleNamespace(radius=10.0)
    pipe = Pipeline(None)
    pipe.last_cue = (100, line((500.0, 300.0), (-1.0, 0.0)))
    backwards = line((700.0, 301.0), (1.0, 0.0))
    assert pipe._turned(backwards, 101, geo)
    assert pipeline.turned_round(backwards).tip == pytest.approx([500.0, 301.0])
    assert not pipe._turned(line((520.0, 300.0), (-1.0, 0.0)), 101, geo)  # the same way
    assert not pipe._turned(line((700.0, 340.0), (1.0, 0.0)), 101, geo)  # another line
    assert not pipe._turned(backwards, 100 + pipeline.TURN_FRAMES + 1, geo)  # long ago
    assert not pipe._turned(backwards, 99, geo)  # a source started again


@pytest.mark.parametrize("size", [3, 7, 9, 11])
def test_the_thin_part_of_a_mask_is_the_mask_less_its_opening_pixel_for_pixel(size):
    rng = np.random.default_rng(size)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    for trial in range(60):
        height, width = (180, 320) if trial % 2 else rng.integers(5, 60, 2)
        mask = ((rng.random((height, width)) < 0.02) * 255).astype(np.uint8)
        for _ in range(trial % 4):  # blobs and lines, some across the borders
            centre = (int(rng.integers(-5, width + 5)), int(rng.integers(-5, height + 5)))
            cv2.circle(mask, centre, int(rng.integers(1, 20)), 255, -1)
            end = (int(rng.integers(-5, width + 5)), int(rng.integers(-5, height + 5)))
            cv2.line(mask, centre, end, 255, int(rng.integers(1, 8)))
        expected = cv2.subtract(mask, cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel))
        assert np.array_equal(cue_stick.thinner(mask, size), expected)


def test_the_ridge_level_is_the_histograms_wherever_the_median_is():
    rng = np.random.default_rng(3)
    outside = np.zeros((90, 160), np.uint8)
    outside[:, :60] = 255
    for scale in (1, 3, 5, 8, 20, 60):
        ridge = np.minimum(rng.exponential(scale, outside.shape), 255).astype(np.uint8)
        counts = cv2.calcHist([ridge], [0], outside, [256], [0, 256]).ravel()
        median = int(np.searchsorted(np.cumsum(counts), 0.5 * counts.sum()))
        expected = max(0.25 * cue_stick.LOG_UNITS, 4.0 * median)
        assert cue_stick._level(ridge, outside) == expected
    assert cue_stick._level(ridge, np.zeros_like(outside)) == 4.0 * 127  # nothing off the table


def test_a_mask_judged_free_of_long_components_on_its_pooled_image_holds_none():
    rng = np.random.default_rng(7)
    skipped = 0
    for trial in range(400):
        height, width = int(rng.integers(10, 120)), int(rng.integers(10, 200))
        mask = ((rng.random((height, width)) < rng.random() * 0.3) * 255).astype(np.uint8)
        for _ in range(trial % 4):
            ends = rng.integers(0, min(height, width), 4)
            cv2.line(mask, (int(ends[0]), int(ends[1])), (int(ends[2]), int(ends[3])), 255, 2)
        radius = float(rng.uniform(1, 8))
        _, _, stats = cue_stick.components(mask)
        longest = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
        big = (longest >= 7 * radius) & (stats[1:, cv2.CC_STAT_AREA] >= 4 * radius * radius)
        if not cue_stick._may_hold_cue(mask, radius):
            skipped += 1
            assert not big.any()
    assert skipped > 20


def test_hough_finds_the_same_segments_in_a_mask_cut_past_its_last_pixels():
    rng = np.random.default_rng(11)
    for trial in range(60):
        mask = ((rng.random((120, 200)) < 0.01) * 255).astype(np.uint8)
        for _ in range(1 + trial % 4):
            ends = rng.integers(0, 200, 4) * np.array([1, 0.6, 1, 0.6])
            a, b = (int(ends[0]), int(ends[1])), (int(ends[2]), int(ends[3]))
            cv2.line(mask, a, b, 255, int(rng.integers(1, 3)))
        mask[int(rng.integers(60, 120)) :, :] = 0  # empty rows and columns past the pixels
        mask[:, int(rng.integers(100, 200)) :] = 0
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0:
            continue
        options = {"minLineLength": 25, "maxLineGap": 4}
        whole = cv2.HoughLinesP(mask, 1, np.pi / 180, 17, **options)
        cut = cv2.HoughLinesP(mask[: y + h, : x + w], 1, np.pi / 180, 17, **options)
        assert (whole is None and cut is None) or np.array_equal(whole, cut)


def test_brightest_channel_is_the_largest_of_blue_green_and_red():
    image = np.random.default_rng(4).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    assert np.array_equal(cue_stick._brightest_byte(image), image.max(axis=2))


def test_a_stroke_weighs_the_joint_seen_in_each_of_its_frames_through_a_chessboard_lens():
    from nodes.vision.calibration import Intrinsics, TableCalibration

    ball = (-0.5, 0.1)
    spots = [(0, *ball), *OTHERS]
    empty = scenes.render("tilted", spots)
    model = empty.truth.camera
    lens = Intrinsics(model.width, model.height, model.matrix, model.dist_coeffs, "chessboard")
    known = TableCalibration(SPEC, lens, np.array(model.rvec), np.array(model.tvec))
    # the same lens, as if estimated from the table: its joint is not looked for
    guessed = replace(known, intrinsics=replace(lens, source="estimated"))
    for cal, measured in ((known, [1, 2, 1]), (guessed, [0, 0, 0])):
        pipe = Pipeline(cal)
        pipe.process(empty.image, 0, 0, "cam0")
        counts = []
        # two frames of one stroke (the tip slides back along the axis), then another cue; the
        # count is of the stroke's measurements
        for index, (direction, behind) in enumerate([(20.0, 0.05), (20.0, 0.08), (60.0, 0.05)]):
            pose, hand = aiming(ball, direction, behind, 0.2, 0.0)
            pose = replace(pose, elevation_deg=4.0, tip_z=scenes.R + behind * math.tan(0.07))
            frame = scenes.render("tilted", spots, cue=pose, stance=hand)
            found = pipe.process(frame.image, 1 + index, 0, "cam0")
            assert found.cue is not None
            counts.append(len(pipe.strokes.measures))
            assert all(abs(value - 4.0) < 1.0 for value, _ in pipe.strokes.measures)
        assert counts == measured  # another cue line is another stroke
