"""Ball-ball and ball-cushion impulses, with the expected values derived here from first
principles (rigid balls, restitution along the contact normal, Coulomb friction)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.physics import Ball, Physics, simulate, strike
from nodes.physics.collision import ball_ball, ball_cushion

from .conftest import first, heading, rolling

IDEAL = Physics(e_ball=1.0, mu_ball=0.0)


def cut_shot(cut_deg: float, v: float, phys: Physics, table):
    """A stun cue ball (no spin) touching the object ball at `cut_deg`, moving along +x."""
    a = math.radians(cut_deg)
    d = 2 * phys.R
    cue = Ball(0, -d * math.cos(a), -d * math.sin(a), vx=v)
    sim = simulate([cue, Ball(1, 0.0, 0.0)], table, phys)
    e = first(sim, "ball_ball")
    after = sim.state_at(e.t)
    return e, after[0], after[1]


def test_thirty_degree_stun_cut_with_ideal_balls_splits_at_thirty_and_ninety_degrees(table):
    # e = 1 and no ball-ball friction: the object ball takes the normal component (along the
    # line of centres, 30 deg), the stun cue ball keeps the tangential one (-60 deg).
    e, cue, obj = cut_shot(30.0, 2.0, IDEAL, table)
    assert e.angle == pytest.approx(30.0, abs=1e-9)
    assert heading(obj.vx, obj.vy) == pytest.approx(30.0, abs=1e-9)
    assert heading(cue.vx, cue.vy) == pytest.approx(-60.0, abs=1e-9)
    assert math.hypot(obj.vx, obj.vy) == pytest.approx(2.0 * math.cos(math.radians(30)))


def test_thirty_degree_stun_cut_with_default_constants_shows_throw_and_restitution(table, phys):
    # Explicit about what the model adds to the ideal 30/90 split:
    # - restitution e < 1 leaves the cue ball (1 - e)/2 of its normal speed, so it drifts
    #   forward of the tangent line;
    # - ball-ball friction (throw) pushes the object ball along the cue ball's tangential slip.
    #   The slip is v sin(cut); sticking would take an impulse m |slip| / 7, more than
    #   mu_ball * Jn here, so the balls slide and the tangential impulse is mu_ball * Jn.
    v, cut = 2.0, math.radians(30.0)
    n = (math.cos(cut), math.sin(cut))
    t = (math.sin(cut), -math.cos(cut))  # direction of the slip of the cue ball's contact point
    jn = (1 + phys.e_ball) / 2 * v * math.cos(cut)  # normal impulse per unit mass
    slip = v * math.sin(cut)
    assert slip / 7 > phys.mu_ball * jn  # sliding, not sticking
    jt = phys.mu_ball * jn
    obj = (jn * n[0] + jt * t[0], jn * n[1] + jt * t[1])
    cue = (v - jn * n[0] - jt * t[0], -jn * n[1] - jt * t[1])
    throw = math.degrees(math.atan2(jt, jn))

    _, cue_at, obj_at = cut_shot(30.0, v, phys, table)
    assert heading(obj_at.vx, obj_at.vy) == pytest.approx(heading(*obj), abs=1e-9)
    assert heading(cue_at.vx, cue_at.vy) == pytest.approx(heading(*cue), abs=1e-9)
    assert heading(obj_at.vx, obj_at.vy) == pytest.approx(30.0 - throw, abs=1e-9)
    assert 3.0 < throw < 4.0  # Dr. Dave's measured cut-induced throw for a stun shot: ~2-5 deg
    split = heading(obj_at.vx, obj_at.vy) - heading(cue_at.vx, cue_at.vy)
    assert 83.0 < split < 85.0  # not 90: restitution and throw, as derived above


def test_full_hit_stun_shot_stops_the_cue_ball_when_restitution_is_one(table):
    _, cue, obj = cut_shot(0.0, 1.5, IDEAL, table)
    assert cue.vx == pytest.approx(0.0, abs=1e-12)
    assert obj.vx == pytest.approx(1.5)


def test_full_hit_shares_speed_by_restitution(table, phys):
    _, cue, obj = cut_shot(0.0, 1.5, phys, table)
    assert cue.vx == pytest.approx((1 - phys.e_ball) / 2 * 1.5, rel=1e-12)
    assert obj.vx == pytest.approx((1 + phys.e_ball) / 2 * 1.5, rel=1e-12)


def test_frozen_row_passes_the_hit_to_the_last_ball(table, phys):
    d = 2 * phys.R
    balls = [Ball(0, -d, 0.0, vx=1.0)] + [Ball(k, (k - 1) * d, 0.0) for k in (1, 2, 3)]
    sim = simulate(balls, table, phys)
    at = sim.state_at(0.0)
    assert at[3].vx == pytest.approx(((1 + phys.e_ball) / 2) ** 3, rel=1e-12)
    assert max(abs(at[k].vx) for k in (0, 1, 2)) < 0.05


def cushion_frame(phys: Physics, table) -> tuple[float, float]:
    """sin and cos of the contact angle above the equator: the nose is at h = R (1 + sin)."""
    s = table.cushion_height / phys.R - 1.0
    return s, math.sqrt(1.0 - s * s)


def bank(ball: Ball, table, phys):
    sim = simulate([ball], table, phys)
    e = first(sim, "cushion", 0)
    return e, sim.state_at(e.t - 1e-9)[0], sim.state_at(e.t)[0]


def test_rolling_ball_into_a_cushion_at_45_degrees_leaves_as_derived(table, phys):
    # Cushion frame: x into the rail, y along it. The rail touches the ball at angle theta above
    # its equator; contact point velocity of a rolling ball: (1 + sin) (vx sin, vy, -vx cos) in
    # the contact's tangent plane, |.| = (1 + sin) |v|. Normal impulse Pn = (1 + e) m vx cos.
    # Sticking would need 2/7 m (1 + sin) |v| > mu Pn, so the ball slides on the rail and
    # friction mu Pn acts against the slip direction:
    #   vx' = vx (1 - (1 + e) cos^2 - mu (1 + e) cos sin vx/|v|)
    #   vy' = vy (1 - mu (1 + e) cos vx/|v|)
    s, c = cushion_frame(phys, table)
    e_c, mu = phys.e_cushion, phys.mu_cushion
    v = 1.0
    start = Ball(0, table.length / 2 - phys.R - 0.003, 0.0, v / math.sqrt(2), v / math.sqrt(2))
    event, before, after = bank(rolling(start, phys), table, phys)
    vx, vy = before.vx, before.vy
    speed = math.hypot(vx, vy)
    assert 2 / 7 * (1 + s) * speed > mu * (1 + e_c) * vx * c
    vx_out = vx * (1 - (1 + e_c) * c * c - mu * (1 + e_c) * c * s * vx / speed)
    vy_out = vy * (1 - mu * (1 + e_c) * c * vx / speed)
    assert (event.cushion, event.angle) == ("rail_right", pytest.approx(45.0, abs=1e-6))
    assert after.vx == pytest.approx(vx_out, rel=1e-9)
    assert after.vy == pytest.approx(vy_out, rel=1e-9)
    rebound = math.degrees(math.atan2(vy_out, -vx_out))
    assert event.angle_out == pytest.approx(rebound, abs=1e-6)
    assert 43.0 < rebound < 45.0


def test_stun_ball_into_a_cushion_at_45_degrees_sticks_and_leaves_as_derived(table, phys):
    # No spin: the slip is (vx sin^2, vy, -vx sin cos), small enough for the rail to grip, so
    # the tangential slip is cancelled (impulse 2/7 m slip):
    #   vx' = vx (1 - (1 + e) cos^2 - 2/7 sin^2),  vy' = 5/7 vy
    s, c = cushion_frame(phys, table)
    v = 1.0
    x0 = table.length / 2 - phys.R - 1e-6  # so close that cloth friction cannot add spin
    _, before, after = bank(Ball(0, x0, 0.0, v / math.sqrt(2), v / math.sqrt(2)), table, phys)
    vx, vy = before.vx, before.vy
    slip = math.hypot(vx * s * s, vy, vx * s * c)
    assert 2 / 7 * slip < phys.mu_cushion * (1 + phys.e_cushion) * vx * c
    assert after.vx == pytest.approx(
        vx * (1 - (1 + phys.e_cushion) * c * c - 2 / 7 * s * s), rel=1e-6
    )
    assert after.vy == pytest.approx(5 / 7 * vy, rel=1e-6)


def test_head_on_rail_hit_with_right_english_comes_off_to_the_shooters_right(table, phys):
    ball = rolling(Ball(0, 0.8, 0.0, vx=1.0), phys)
    ball = Ball(0, ball.x, ball.y, ball.vx, 0.0, ball.wx, ball.wy, wz=30.0)
    _, _, after = bank(ball, table, phys)
    assert after.vx < 0 and after.vy < 0  # shooter faces +x: right is -y


def test_ball_curving_back_into_the_rail_it_just_left_bounces_again(table, phys):
    # Leaving the bottom rail slowly with heavy spin about x: the cloth pulls it back into the
    # rail (its slip points up, so friction points down) before it rolls.
    y0 = -table.width / 2 + phys.R
    sim = simulate([Ball(0, -0.5, y0, vx=0.0, vy=0.3, wx=100.0)], table, phys)
    hits = [e for e in sim.events if e.type == "cushion"]
    assert [e.cushion for e in hits[:2]] == ["rail_bottom_left", "rail_bottom_left"]
    assert hits[0].t == pytest.approx(2 * 0.3 / (phys.mu_slide * phys.g), rel=1e-3)
    assert sim.final()[0].y >= y0 - 1e-12


motion = st.tuples(*(st.floats(-3, 3) for _ in range(2)), *(st.floats(-150, 150) for _ in range(3)))


def energy(m: tuple[float, ...], phys: Physics) -> float:
    vx, vy, wx, wy, wz = m
    return 0.5 * phys.mass * (vx**2 + vy**2) + 0.5 * phys.inertia * (wx**2 + wy**2 + wz**2)


@given(motion, motion, st.floats(0, 2 * math.pi))
def test_ball_ball_impulse_conserves_momentum_and_never_adds_energy(a, b, angle):
    phys = Physics()
    n = (math.cos(angle), math.sin(angle))
    a2, b2 = ball_ball(a, b, *n, phys)
    assert a2[0] + b2[0] == pytest.approx(a[0] + b[0], abs=1e-9)
    assert a2[1] + b2[1] == pytest.approx(a[1] + b[1], abs=1e-9)
    assert energy(a2, phys) + energy(b2, phys) <= energy(a, phys) + energy(b, phys) + 1e-9
    approach = (a[0] - b[0]) * n[0] + (a[1] - b[1]) * n[1]
    if approach > 0:
        separation = (b2[0] - a2[0]) * n[0] + (b2[1] - a2[1]) * n[1]
        assert separation == pytest.approx(phys.e_ball * approach, rel=1e-9, abs=1e-12)


@given(motion, st.floats(0, 2 * math.pi))
def test_cushion_impulse_never_adds_energy_and_always_rebounds(m, angle):
    phys = Physics()
    n = (math.cos(angle), math.sin(angle))
    out = ball_cushion(m, *n, 0.635 * 2 * phys.R, phys)
    assert energy(out, phys) <= energy(m, phys) + 1e-9
    if m[0] * n[0] + m[1] * n[1] < 0:
        assert out[0] * n[0] + out[1] * n[1] >= -1e-300  # (denormal speeds underflow)


def test_ball_spun_into_the_rail_from_rest_is_held_by_it_instead_of_sinking(table, phys):
    # At rest against the bottom rail, spinning about x so the cloth drives it into the rail:
    # the rail holds it (no penetration, no endless bounces) until friction lets go.
    y0 = -table.width / 2 + phys.R
    sim = simulate([Ball(0, 0.5, y0, wx=300.0)], table, phys)
    assert sim.settled
    assert len(sim.events) < 10
    assert min(sim.state_at(t)[0].y for t in np.linspace(0, sim.duration, 500)) >= y0 - 1e-9


def test_ball_running_along_the_rail_with_spin_into_it_stays_on_the_rail(table, phys):
    y0 = -table.width / 2 + phys.R
    sim = simulate([Ball(0, -0.9, y0, vx=0.5, wx=300.0)], table, phys)
    assert sim.settled and len(sim.events) < 50
    for t in np.linspace(0, sim.duration, 500):
        b = sim.state_at(t)[0]
        assert b.pocketed or b.y >= y0 - 1e-9 or abs(b.x) < 0.1  # the side pocket's mouth


@pytest.mark.parametrize(
    ("height", "back"), [(-0.5, True), (-0.3, True), (0.3, False), (0.5, False)]
)
def test_draw_brings_the_cue_ball_back_and_follow_carries_it_through(table, phys, height, back):
    sim = simulate(
        [strike(Ball(0, -0.3, 0.0), 0.0, 2.0, tip_height=height), Ball(1, 0.0, 0.0)], table
    )
    hit = first(sim, "ball_ball")
    after = sim.state_at(hit.t + 0.3)[0]
    assert (after.vx < -0.1) if back else (after.vx > 0.4)
    assert after.vy == pytest.approx(0.0, abs=1e-12)
