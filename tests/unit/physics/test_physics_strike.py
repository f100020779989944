"""The cue strike: direction and tip conventions (docs/physics.md)."""

from __future__ import annotations

import math

import pytest

from nodes.physics import Ball, strike


def test_direction_is_degrees_counter_clockwise_from_plus_x(phys):
    b = strike(Ball(3, 0.1, 0.2), 90.0, 2.0)
    assert (b.id, b.x, b.y) == (3, 0.1, 0.2)
    assert b.vx == pytest.approx(0.0, abs=1e-15)
    assert b.vy == pytest.approx(2.0)


def test_centre_hit_has_no_spin():
    b = strike(Ball(0, 0.0, 0.0), 30.0, 2.0)
    assert (b.wx, b.wy, b.wz) == (0.0, 0.0, 0.0)


def test_tip_height_two_fifths_gives_natural_roll(phys):
    b = strike(Ball(0, 0.0, 0.0), 30.0, 2.0, tip_height=0.4)
    assert b.vx - phys.R * b.wy == pytest.approx(0.0, abs=1e-12)
    assert b.vy + phys.R * b.wx == pytest.approx(0.0, abs=1e-12)


def test_positive_height_is_follow_and_negative_is_draw(phys):
    follow = strike(Ball(0, 0.0, 0.0), 0.0, 1.0, tip_height=0.3)
    draw = strike(Ball(0, 0.0, 0.0), 0.0, 1.0, tip_height=-0.3)
    assert follow.wy > 0 > draw.wy  # wy > 0 rolls a +x ball forward


def test_right_english_spins_counter_clockwise_seen_from_above(phys):
    b = strike(Ball(0, 0.0, 0.0), 0.0, 1.0, tip_side=0.3)
    assert b.wz == pytest.approx(2.5 * 1.0 / phys.R * 0.3)


def test_speed_above_the_cap_is_capped(phys):
    b = strike(Ball(0, 0.0, 0.0), 45.0, 1000.0)
    assert math.hypot(b.vx, b.vy) == pytest.approx(phys.max_speed)


@pytest.mark.parametrize(
    ("direction", "speed", "side", "height"),
    [
        (math.nan, 1.0, 0.0, 0.0),
        (0.0, math.inf, 0.0, 0.0),
        (0.0, -1.0, 0.0, 0.0),
        (0.0, 1.0, math.nan, 0.0),
        (0.0, 1.0, 0.8, 0.8),
        (0.0, 1.0, 0.0, 1.0),
    ],
)
def test_bad_strikes_are_rejected(direction, speed, side, height):
    with pytest.raises(ValueError):
        strike(Ball(0, 0.0, 0.0), direction, speed, side, height)


def test_pocketed_ball_cannot_be_struck():
    with pytest.raises(ValueError, match="pocketed"):
        strike(Ball(0, 0.0, 0.0, pocketed=True), 0.0, 1.0)
