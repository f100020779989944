"""Simulation results: event order, exact states, paths, horizons and input handling."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from nodes.physics import Ball, Physics, Simulation, Table, simulate, strike

TYPES = {"ball_ball", "cushion", "pocket", "rolling", "spinning", "rest"}


def scattered(seed: int, n: int, table: Table) -> list[Ball]:
    rng = random.Random(seed)
    balls: list[Ball] = []
    while len(balls) < n:
        x, y = rng.uniform(-1.15, 1.15), rng.uniform(-0.55, 0.55)
        if all(math.hypot(x - b.x, y - b.y) > 0.07 for b in balls):
            balls.append(Ball(len(balls), x, y))
    return balls


@pytest.fixture(scope="module")
def busy(table) -> Simulation:
    """16 balls, the cue ball struck hard with draw and side: collisions, banks, curves."""
    balls = scattered(1, 16, table)
    balls[0] = strike(balls[0], 33.0, 4.0, tip_side=0.3, tip_height=-0.3)
    return simulate(balls, table)


def test_busy_shot_has_every_kind_of_event(busy):
    kinds = {e.type for e in busy.events}
    assert {"ball_ball", "cushion", "rolling", "rest"} <= kinds <= TYPES
    assert busy.settled


def test_events_are_in_time_order(busy):
    times = [e.t for e in busy.events]
    assert times == sorted(times)
    assert busy.duration == times[-1]


def test_state_at_is_continuous_across_events(busy):
    for e in busy.events:
        before, after = busy.state_at(e.t - 1e-9), busy.state_at(e.t)
        for i in before:
            assert math.hypot(after[i].x - before[i].x, after[i].y - before[i].y) < 1e-7 or (
                after[i].pocketed
            )


def test_velocity_is_continuous_across_phase_changes(busy):
    for e in busy.events:
        if e.type == "rolling":
            (i,) = e.balls
            before, after = busy.state_at(e.t - 1e-9)[i], busy.state_at(e.t + 1e-9)[i]
            assert math.hypot(after.vx - before.vx, after.vy - before.vy) < 1e-7


def test_event_points_are_the_balls_positions(busy):
    for e in busy.events:
        if e.type != "pocket":
            at = busy.state_at(e.t)[e.balls[0]]
            assert (at.x, at.y) == pytest.approx((e.x, e.y), abs=1e-12)


def test_paths_contain_every_event_point(busy):
    paths = busy.paths(max_step=0.05)
    for e in busy.events:
        for i in e.balls:
            points = [(t, x, y) for t, x, y in paths[i] if t == e.t]
            assert points, f"no point at t={e.t} in the path of ball {i} ({e.type})"
            at = busy.state_at(e.t - 1e-12)[i]  # before a pocket drop, the ball is still there
            assert (points[-1][1], points[-1][2]) == pytest.approx((at.x, at.y), abs=1e-9)


def test_paths_sample_curved_stretches_at_most_max_step_apart(busy):
    # Between two consecutive points the true path is either straight or <= max_step long.
    for i, path in busy.paths(max_step=0.01).items():
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(path):
            assert t1 >= t0
            if t1 - t0 > 0.01 + 1e-12:
                mid = busy.state_at((t0 + t1) / 2)[i]
                cross = (x1 - x0) * (mid.y - y0) - (y1 - y0) * (mid.x - x0)
                assert abs(cross) < 1e-12, f"ball {i} curves between t={t0} and t={t1}"


def test_path_starts_at_the_initial_position_and_ends_at_rest(busy):
    final = busy.final()
    for i, path in busy.paths().items():
        start = next(b for b in busy.balls if b.id == i)
        assert path[0] == (0.0, start.x, start.y)
        if not final[i].pocketed:
            assert path[-1][1:] == pytest.approx((final[i].x, final[i].y), abs=1e-12)


def test_final_is_the_state_at_the_end(busy):
    assert busy.final() == busy.state_at(busy.duration) == busy.state_at(busy.duration + 5)
    assert not any(b.moving for b in busy.final().values())


def test_bad_path_step_is_rejected(busy):
    with pytest.raises(ValueError):
        busy.paths(max_step=0.0)


def test_t_max_cuts_the_simulation_short(table):
    ball = strike(Ball(0, 0.0, 0.0), 10.0, 3.0)
    sim = simulate([ball], table, t_max=0.5)
    assert not sim.settled
    assert sim.duration == 0.5
    assert all(e.t <= 0.5 for e in sim.events)
    assert sim.final()[0].moving
    full = simulate([ball], table)
    assert sim.state_at(0.5)[0] == full.state_at(0.5)[0]


def test_zero_speed_shot_has_no_events(table):
    sim = simulate([strike(Ball(0, 0.0, 0.0), 0.0, 0.0), Ball(1, 0.5, 0.0)], table)
    assert (sim.events, sim.duration, sim.settled) == ([], 0.0, True)
    assert sim.final()[0].phase == "stationary"


def test_huge_speed_is_capped_and_simulated(table, phys):
    ball = Ball(0, 0.0, 0.0, vx=1e6, vy=1e6)
    sim = simulate([ball], table, phys, t_max=0.01)
    assert sim.state_at(0.0)[0].speed == pytest.approx(phys.max_speed)


@pytest.mark.parametrize("field", ["x", "y", "vx", "vy", "wx", "wy", "wz"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input_is_rejected(field, bad):
    with pytest.raises(ValueError, match=field):
        Ball(0, **{"x": 0.0, "y": 0.0, field: bad})


def test_duplicate_ids_are_rejected(table):
    with pytest.raises(ValueError, match="unique"):
        simulate([Ball(1, 0.0, 0.0), Ball(1, 0.5, 0.0)], table)


def test_ball_off_the_table_is_rejected(table):
    with pytest.raises(ValueError, match="off the table"):
        simulate([Ball(0, 1.5, 0.0)], table)


def test_ball_pushed_into_a_cushion_is_moved_out_to_touch_it(table, phys):
    sim = simulate([Ball(0, 0.5, table.width / 2 + 0.01)], table, phys)
    assert sim.final()[0].y == pytest.approx(table.width / 2 - phys.R)


def test_overlapping_balls_are_separated_until_they_touch(table, phys):
    sim = simulate([Ball(0, 0.0, 0.0), Ball(1, 0.04, 0.0), Ball(2, 0.04, 0.0)], table, phys)
    final = sim.final()
    for a in final.values():
        for b in final.values():
            if a.id < b.id:
                assert math.hypot(a.x - b.x, a.y - b.y) >= 2 * phys.R - 1e-9


def test_touching_balls_collide_at_once(table, phys):
    sim = simulate([Ball(0, 0.0, 0.0, vx=1.0), Ball(1, 2 * phys.R, 0.0)], table, phys)
    assert (sim.events[0].t, sim.events[0].type) == (0.0, "ball_ball")


def test_pocketed_input_balls_stay_pocketed_and_untouched(table):
    sim = simulate([strike(Ball(0, 0.0, 0.0), 0.0, 2.0), Ball(1, 0.5, 0.0, pocketed=True)], table)
    assert sim.final()[1].pocketed
    assert not any(1 in e.balls for e in sim.events)


def test_bad_t_max_is_rejected(table):
    with pytest.raises(ValueError):
        simulate([Ball(0, 0.0, 0.0)], table, t_max=math.nan)


def test_constants_are_validated():
    with pytest.raises(ValueError):
        Physics(e_ball=1.5)
    with pytest.raises(ValueError):
        Physics(R=0.0)


def test_break_from_a_frozen_rack_settles(table, phys):
    d = 2 * phys.R
    rack = [
        Ball(1 + r * (r + 1) // 2 + c, 0.635 + r * d * math.sqrt(3) / 2, (c - r / 2) * d)
        for r in range(5)
        for c in range(r + 1)
    ]
    sim = simulate([strike(Ball(0, -0.635, 0.0), 0.0, 10.0), *rack], table, phys)
    assert sim.settled
    assert sum(e.type == "ball_ball" for e in sim.events) > 20
    assert all(not b.moving for b in sim.final().values())


def test_a_pile_of_balls_on_one_spot_is_spread_out_and_simulated(table, phys):
    balls = [Ball(i, 0.1, 0.1) for i in range(16)]
    balls[0] = Ball(0, 0.1, 0.1, vx=3.0)
    sim = simulate(balls, table, phys)
    assert sim.settled
    assert all(not b.moving for b in sim.final().values())
