"""predict_shot: argument validation with clear errors, target and ghost ball, outcome."""

from __future__ import annotations

import math
from typing import Any

import pytest

from nodes.core.game import Game
from protocol.errors import ControlError
from tests.helpers.table_feed import Noise, drive, frames
from tests.unit.core.conftest import R
from tests.unit.core.test_tracker import still

TWO = [{"id": 1, "number": 0, "x": -0.5, "y": 0.1}, {"id": 2, "number": 3, "x": 0.2, "y": 0.1}]


def args(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"balls": TWO, "direction_deg": 0.0, "speed": 1.0}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "arguments must be an object"),
        (args(direction=3), "unknown field(s) direction"),
        (args(direction_deg=...), "missing direction_deg"),
        (args(speed=...), "missing speed"),
        (args(speed=0), "speed must be > 0"),
        (args(speed=-1.0), "speed must be > 0"),
        (args(speed=25.0), "<= 20.0 m/s"),
        (args(speed="fast"), "speed must be a finite number"),
        (args(speed=math.nan), "speed must be a finite number"),
        (args(direction_deg=True), "direction_deg must be a finite number"),
        (args(direction_deg=math.inf), "direction_deg must be a finite number"),
        (args(tip={"side": 0.8, "height": 0.8}), "tip offset (0.8, 0.8) is off the ball"),
        (args(tip={"spin": 1}), "tip: unknown field(s) spin"),
        (args(tip=[0, 0]), "tip must be an object"),
        (args(balls=[]), "balls must be a non-empty list"),
        (args(balls="all"), "balls must be a non-empty list"),
        (args(balls=[{"id": 1, "x": 0.0}]), "balls[0]: missing 'y'"),
        (args(balls=[{"x": 0.0, "y": 0.0}]), "balls[0]: give an 'id' or a 'number'"),
        (args(balls=[{"id": 1, "x": 2.0, "y": 0.0}]), "balls[0] at (2.000, 0.000) is off"),
        (args(balls=[{"id": 1, "x": 0.0, "y": "a"}]), "balls[0].y must be a finite number"),
        (args(balls=[{"id": 1, "number": 16, "x": 0.0, "y": 0.0}]), "number must be 0-15"),
        (args(balls=[{"id": 1.5, "x": 0.0, "y": 0.0}]), "balls[0].id must be an integer"),
        (args(balls=[{"id": 1, "x": 0, "y": 0, "z": 0}]), "balls[0]: unknown field(s) z"),
        (args(balls=[TWO[0], {**TWO[1], "id": 1}]), "ball ids must be unique"),
        (args(balls=[TWO[0], {**TWO[1], "number": 0}]), "ball numbers must be unique"),
        (args(cue_ball=42), "cue_ball 42 is neither the id nor the number"),
        (args(cue_ball="0"), "cue_ball must be an integer"),
        (args(balls=[TWO[1]]), "no cue ball: no ball has number 0"),
    ],
)
def test_bad_arguments_give_a_clear_bad_request(game, bad, message):
    with pytest.raises(ControlError) as err:
        game.predict_shot(bad)
    assert err.value.code == "bad_request"
    assert message in err.value.message


def test_an_empty_table_without_balls_is_a_bad_request(game):
    with pytest.raises(ControlError, match="no balls: the table state is empty"):
        game.predict_shot({"direction_deg": 0.0, "speed": 1.0})


@pytest.mark.parametrize("angle", [0.0, 30.0, 137.0, -100.0])
def test_a_straight_shot_lines_up_target_and_ghost_ball(game, angle):
    a = math.radians(angle)
    target = (0.1 + 0.5 * math.cos(a) * 0.5, 0.05 + 0.5 * math.sin(a) * 0.5)
    cue = (target[0] - 0.5 * math.cos(a), target[1] - 0.5 * math.sin(a))
    balls = [
        {"id": 7, "number": 0, "x": cue[0], "y": cue[1]},
        {"id": 9, "number": 4, "x": target[0], "y": target[1]},
        {"id": 11, "number": 12, "x": -0.9, "y": -0.5},
    ]
    p = game.predict_shot({"balls": balls, "direction_deg": angle, "speed": 1.5})
    assert p.cue_ball == 7 and p.target == 9
    ghost = (target[0] - 2 * R * math.cos(a), target[1] - 2 * R * math.sin(a))
    assert p.ghost is not None
    assert math.hypot(p.ghost.x - ghost[0], p.ghost.y - ghost[1]) < 1e-6
    first = p.events[[e.type for e in p.events].index("ball_ball")]
    assert first.balls == [7, 9] and first.angle_deg == pytest.approx(0.0, abs=1e-6)
    assert p.direction_deg == pytest.approx(angle % 360.0)


def test_a_shot_that_misses_everything_has_no_target(game):
    p = game.predict_shot(args(direction_deg=90.0))
    assert p.target is None and p.ghost is None
    assert "ball_ball" not in [e.type for e in p.events]


def test_a_straight_shot_at_a_pocket_is_predicted_to_drop(game):
    pocket = game.table.pocket("top_right")
    ux, uy = pocket.mouth_x - 0.6, pocket.mouth_y - 0.2
    norm = math.hypot(ux, uy)
    cue = (0.6 - 0.4 * ux / norm, 0.2 - 0.4 * uy / norm)
    balls = [{"number": 0, "x": cue[0], "y": cue[1]}, {"number": 6, "x": 0.6, "y": 0.2}]
    direction = math.degrees(math.atan2(uy, ux))
    p = game.predict_shot({"balls": balls, "direction_deg": direction, "speed": 1.5})
    assert p.target == 6
    by_id = {b.id: b for b in p.balls}
    assert by_id[6].pocket == "top_right" and by_id[0].pocket is None
    assert [e.pocket for e in p.events if e.type == "pocket"] == ["top_right"]


def test_the_outcome_has_time_ordered_events_and_a_path_per_ball(game):
    p = game.predict_shot(args(tip={"side": 0.3, "height": 0.4}, speed=3.0))
    times = [e.t for e in p.events]
    assert times == sorted(times)
    assert {b.id for b in p.balls} == {1, 2}
    for b in p.balls:
        ts = [q.t for q in b.path]
        assert ts == sorted(ts) and b.path[0].t == 0.0
        assert (b.path[-1].x, b.path[-1].y) == pytest.approx((b.final.x, b.final.y), abs=1e-9)
    assert p.duration >= max(b.t_rest for b in p.balls)
    assert p.tip.side == 0.3 and p.tip.height == 0.4
    assert p.compute_ms > 0.0


def test_cue_ball_may_be_named_by_id_or_by_number(game):
    assert game.predict_shot(args(cue_ball=2, direction_deg=180.0)).cue_ball == 2
    assert game.predict_shot(args(cue_ball=3, direction_deg=180.0)).cue_ball == 2
    assert game.predict_shot(args()).cue_ball == 1


def test_without_balls_the_current_state_is_used_with_tracker_ids(game: Game):
    run = drive(game, frames(still({0: (-0.5, 0.0), 5: (0.3, 0.0)}), Noise(sigma=0.0005)))
    p = game.predict_shot({"direction_deg": 0.0, "speed": 2.0})
    assert p.cue_ball == run.id_of(0) and p.target == run.id_of(5)
    assert p.ghost is not None and p.ghost.x == pytest.approx(0.3 - 2 * R, abs=0.002)
    assert game.predict_shot({"cue_ball": 5, "direction_deg": 180.0, "speed": 2.0}).cue_ball == (
        run.id_of(5)
    )
