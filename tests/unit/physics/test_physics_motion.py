"""Closed-form motion phases against the textbook results (anchors-vision.md section 3)."""

from __future__ import annotations

import math

import pytest

from nodes.physics import Ball, simulate

from .conftest import first, rolling


def test_stun_ball_starts_rolling_at_five_sevenths_speed_after_2v_over_7_mu_g(table, phys):
    v = 2.0
    sim = simulate([Ball(0, -1.0, 0.0, vx=v)], table, phys)
    e = first(sim, "rolling", 0)
    assert e.t == pytest.approx(2 * v / (7 * phys.mu_slide * phys.g), rel=1e-12)
    assert sim.state_at(e.t)[0].vx == pytest.approx(5 / 7 * v, rel=1e-12)


def test_stun_ball_slides_12v2_over_49_mu_g_before_rolling(table, phys):
    v = 2.0
    sim = simulate([Ball(0, -1.0, 0.0, vx=v)], table, phys)
    e = first(sim, "rolling", 0)
    assert e.x - -1.0 == pytest.approx(12 * v * v / (49 * phys.mu_slide * phys.g), rel=1e-12)


def test_rolling_ball_travels_v_squared_over_2_mu_roll_g_before_stopping(table, phys):
    v = 0.5
    sim = simulate([rolling(Ball(0, -1.0, 0.0, vx=v), phys)], table, phys)
    assert [e.type for e in sim.events] == ["rest"]
    rest = sim.events[0]
    assert rest.t == pytest.approx(v / (phys.mu_roll * phys.g), rel=1e-12)
    assert rest.x - -1.0 == pytest.approx(v * v / (2 * phys.mu_roll * phys.g), rel=1e-12)
    assert rest.y == 0.0


def test_rolling_ball_keeps_its_spin_matched_to_its_speed(table, phys):
    sim = simulate([rolling(Ball(0, 0.0, 0.0, vx=0.3, vy=-0.4), phys)], table, phys)
    at = sim.state_at(1.0)[0]
    assert at.phase == "rolling"
    assert at.vx - phys.R * at.wy == pytest.approx(0.0, abs=1e-12)
    assert at.vy + phys.R * at.wx == pytest.approx(0.0, abs=1e-12)


def test_draw_shot_slows_reverses_and_rolls_back_at_a_seventh_of_its_speed(table, phys):
    # Contact point slips at u = v - R wy = 4v; friction leaves v - 2u/7 = -v/7 once rolling.
    v = 1.0
    sim = simulate([Ball(0, 0.0, 0.0, vx=v, wy=-3 * v / phys.R)], table, phys)
    e = first(sim, "rolling", 0)
    assert sim.state_at(e.t)[0].vx == pytest.approx(-v / 7, rel=1e-12)
    farthest = v * v / (2 * phys.mu_slide * phys.g)  # where vx passes through zero
    assert max(x for _, x, _ in sim.paths()[0]) == pytest.approx(farthest, rel=1e-12)


def test_over_spun_follow_ball_speeds_up_to_nine_sevenths(table, phys):
    v = 0.5
    sim = simulate([Ball(0, -1.0, 0.0, vx=v, wy=2 * v / phys.R)], table, phys)
    e = first(sim, "rolling", 0)
    assert sim.state_at(e.t)[0].vx == pytest.approx(9 * v / 7, rel=1e-12)


def test_ball_spinning_in_place_stops_after_wz_over_spin_decel(table, phys):
    wz = 20.0
    sim = simulate([Ball(0, 0.3, 0.2, wz=wz)], table, phys)
    assert [e.type for e in sim.events] == ["rest"]
    assert sim.events[0].t == pytest.approx(wz / phys.spin_decel, rel=1e-12)
    half = sim.state_at(sim.events[0].t / 2)[0]
    assert (half.phase, half.moving, half.x, half.y) == ("spinning", False, 0.3, 0.2)
    assert half.wz == pytest.approx(wz / 2, rel=1e-12)


def test_side_spin_decays_while_the_ball_rolls(table, phys):
    ball = rolling(Ball(0, -1.0, 0.0, vx=1.0), phys)
    sim = simulate([Ball(0, ball.x, ball.y, ball.vx, 0.0, 0.0, ball.wy, 5.0)], table, phys)
    assert sim.state_at(0.2)[0].wz == pytest.approx(5.0 - 0.2 * phys.spin_decel, rel=1e-12)
    assert sim.state_at(1.0)[0].wz == 0.0


def test_sliding_ball_with_sideways_slip_curves(table, phys):
    # Moving along +x with spin about x: the cloth pushes it sideways into a curve (masse-like).
    sim = simulate([Ball(0, -0.5, 0.0, vx=1.0, wx=20.0)], table, phys)
    e = first(sim, "rolling", 0)
    assert abs(e.y) > 0.01
    assert math.isclose(sim.state_at(e.t / 2)[0].y, 0.0) is False
