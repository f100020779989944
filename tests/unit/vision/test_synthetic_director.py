"""The scene director: reproducible play driven by nodes.physics, and the shot planner."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nodes.physics import Table
from nodes.vision.synthetic import RADIUS, Director
from nodes.vision.synthetic.plan import choose_shot, kitchen_spot, rack

FPS = 30.0


def run(director: Director, seconds: float, start: float = 0.0) -> list:
    return [director.state(start + k / FPS) for k in range(int(seconds * FPS))]


def test_same_seed_plays_the_same_game():
    a, b = run(Director(4), 20.0), run(Director(4), 20.0)
    assert a == b
    assert a != run(Director(5), 20.0)


def test_a_session_starts_with_a_rack_and_a_break():
    states = run(Director(1), 15.0)
    first = states[0]
    assert sorted(b.number for b in first.balls) == list(range(16))
    assert not any(b.pocketed for b in first.balls)
    phases = [s.phase for s in states]
    order = [p for k, p in enumerate(phases) if k == 0 or p != phases[k - 1]]
    assert order[:7] == ["walk", "approach", "aim", "backswing", "stroke", "follow", "rolling"]
    broke = next(s for s in states if s.phase == "follow")
    cue_ball = broke.balls[0]
    assert math.hypot(cue_ball.vx, cue_ball.vy) > 3.0
    assert broke.shot is not None and broke.shot.speed >= 6.0


def test_cue_points_at_the_cue_ball_while_aiming():
    for s in run(Director(2), 10.0):
        if s.phase != "aim":
            continue
        assert s.cue is not None and s.stance is not None and s.shot is not None
        ball = s.balls[0]
        d = math.radians(s.cue.direction_deg)
        to_ball = (ball.x - s.cue.tip_x, ball.y - s.cue.tip_y)
        across = to_ball[0] * math.sin(d) - to_ball[1] * math.cos(d)
        assert abs(across) < RADIUS
        assert to_ball[0] * math.cos(d) + to_ball[1] * math.sin(d) > 0


def test_time_may_not_go_backwards():
    d = Director(0)
    d.state(3.0)
    with pytest.raises(ValueError, match="backwards"):
        d.state(2.0)


def test_play_goes_on_shot_after_shot_with_balls_at_rest_in_between():
    d = Director(3)
    shots = set()
    rests = 0
    for s in run(d, 60.0):
        shots.add(s.shot.number if s.shot else None)
        if s.phase == "aim":
            rests += all(b.resting or b.pocketed for b in s.balls)
    assert len(shots) >= 3
    assert rests > 0


def test_rolling_balls_turn_with_their_motion():
    states = run(Director(1), 14.0)
    turns = []
    for s0, s1 in itertools.pairwise(states):
        for a, b in zip(s0.balls, s1.balls, strict=True):
            if s0.phase == "rolling" and 0.4 < math.hypot(a.vx, a.vy) < 2.5 and not b.pocketed:
                angle = math.acos(np.clip((np.trace(a.rotation.T @ b.rotation) - 1) / 2, -1, 1))
                turns.append(angle / (math.hypot(b.x - a.x, b.y - a.y) / RADIUS))
    assert len(turns) > 10
    assert np.median(turns) == pytest.approx(1.0, abs=0.1)  # rolling: turned = travelled / R


def test_rack_is_a_tight_triangle_on_the_foot_spot_and_the_cue_ball_in_the_kitchen():
    table = Table.nine_foot()
    pos = rack(table, np.random.default_rng(0))
    assert len(pos) == 16
    apex = min((n for n in pos if n), key=lambda n: pos[n][0])
    assert pos[apex][0] == pytest.approx(table.length / 4, abs=0.002)
    gaps = [math.dist(pos[a], pos[b]) for a in pos for b in pos if a < b]
    assert min(gaps) > 2 * RADIUS * 0.99
    assert pos[0][0] < -table.length / 4 + 1e-9
    assert pos[8] == pytest.approx(
        (table.length / 4 + 2 * 2 * RADIUS * math.sqrt(3) / 2, 0.0), abs=0.003
    )


def test_planner_takes_an_open_straight_pot():
    table = Table.nine_foot()
    pocket = table.pocket("top_right")
    ball = (pocket.mouth_x - 0.3, pocket.mouth_y - 0.3)
    cue = (ball[0] - 0.4, ball[1] - 0.4)
    plans = [choose_shot({0: cue, 5: ball}, table, np.random.default_rng(k)) for k in range(8)]
    straight = [p for p in plans if p.target == 5 and p.pocket == "top_right"]
    assert straight and all(abs(p.cut_deg) < 2.0 for p in straight)
    assert all(p.direction_deg == pytest.approx(45.0, abs=1.0) for p in straight)


def test_ball_in_hand_goes_behind_the_head_string_clear_of_other_balls():
    table = Table.nine_foot()
    others = {n: (-0.9 + 0.06 * n, 0.0) for n in range(1, 8)}
    for k in range(20):
        x, y = kitchen_spot(table, others, np.random.default_rng(k))
        assert x <= -table.length / 4
        assert min(math.dist((x, y), p) for p in others.values()) > 2 * RADIUS
