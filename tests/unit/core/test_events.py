"""Events derived from tracked motion, checked against the physics engine's own events."""

from __future__ import annotations

import math

import pytest

from nodes.core.game import Game
from nodes.physics import Simulation, Table
from protocol.messages import (
    BallMotion,
    BallPocketed,
    Collision,
    CueLost,
    CueVisible,
    CushionHit,
    Foul,
    GameReset,
    Scratch,
    ShotEnded,
    ShotStarted,
)
from tests.helpers.table_feed import Aim, Noise, Run, drive, frames, shot
from tests.unit.core.conftest import R, spread

T0_NS = 1_000_000_000_000
T_PRE = 0.3
SLOWEST_RAIL = 0.1  # m/s: slower cushion touches are within the velocity noise


def cut_shot(table: Table, cut_deg: float = 30.0, speed: float = 2.0) -> tuple[Simulation, float]:
    """The 1 cut into the top-right pocket; the cue ball goes on to the right rail."""
    pocket = table.pocket("top_right")
    ox, oy = 0.8, 0.3
    ux, uy = pocket.mouth_x - ox, pocket.mouth_y - oy
    norm = math.hypot(ux, uy)
    gx, gy = ox - 2 * R * ux / norm, oy - 2 * R * uy / norm
    a = math.atan2(uy, ux) - math.radians(cut_deg)
    cue = (gx - 0.6 * math.cos(a), gy - 0.6 * math.sin(a))
    direction = math.degrees(a)
    return shot({0: cue, 1: (ox, oy), 5: (-0.6, 0.3)}, 0, direction, speed), direction


def seconds(run: Run, t_ns: int) -> float:
    """Simulation time of a capture time (frames start T_PRE before the strike)."""
    return (t_ns - T0_NS) * 1e-9 - T_PRE


def side(cushion: str) -> str:
    return cushion.removeprefix("rail_").split("_")[0]


@pytest.fixture(scope="module")
def cut_run() -> tuple[Run, Simulation, float]:
    sim, direction = cut_shot(Table.nine_foot())
    game = Game()
    feed = frames(sim, Noise(sigma=0.001, miss=0.02, seed=21), t_pre=T_PRE, aim=Aim(0, direction))
    return drive(game, feed), sim, direction


def test_a_shot_gives_start_collision_pocket_cushion_and_end_in_order(cut_run):
    run, sim, direction = cut_run
    kinds = [t for t in run.types() if t not in ("ball_motion", "cue_visible", "cue_lost")]
    assert kinds == [
        "shot_started",
        "collision",
        "ball_pocketed",
        "cushion_hit",
        "shot_ended",
    ]
    times = [e.t_ns for e in run.events]
    assert times == sorted(times)
    cue, one = run.id_of(0), run.id_of(1)
    (started,) = run.of(ShotStarted)
    assert started.ball == cue and started.shot == 1
    assert started.speed == pytest.approx(2.0, abs=0.15)
    assert abs((started.direction_deg - direction + 180) % 360 - 180) < 1.0
    assert started.target == one
    assert abs(seconds(run, started.t_ns)) < 0.012
    (ended,) = run.of(ShotEnded)
    assert ended.first_contact == one and ended.pocketed == [one]
    assert set(ended.balls_moved) == {cue, one}
    assert ended.cushion_hits == 1 and not ended.scratch
    assert ended.duration_s == pytest.approx(sim.duration, abs=0.35)
    assert all(e.shot == 1 for e in run.events if not isinstance(e, CueVisible))


def test_collision_and_cushion_hit_match_the_physics(cut_run):
    run, sim, _ = cut_run
    truth_bb = next(e for e in sim.events if e.type == "ball_ball")
    (collision,) = run.of(Collision)
    assert collision.balls == [run.id_of(0), run.id_of(1)]
    assert seconds(run, collision.t_ns) == pytest.approx(truth_bb.t, abs=0.01)
    assert math.hypot(collision.x - truth_bb.x, collision.y - truth_bb.y) < 0.01
    assert collision.angle_deg == pytest.approx(30.0, abs=4.0)
    truth_c = next(e for e in sim.events if e.type == "cushion" and e.cushion == "rail_right")
    (hit,) = run.of(CushionHit)
    assert hit.ball == run.id_of(0) and hit.cushion == "right"
    assert seconds(run, hit.t_ns) == pytest.approx(truth_c.t, abs=0.01)
    assert hit.angle_in_deg == pytest.approx(truth_c.angle, abs=4.0)
    assert hit.angle_out_deg == pytest.approx(truth_c.angle_out, abs=6.0)
    (pocketed,) = run.of(BallPocketed)
    truth_p = next(e for e in sim.events if e.type == "pocket")
    assert pocketed.pocket == "top_right" and pocketed.ball == run.id_of(1)
    assert seconds(run, pocketed.t_ns) == pytest.approx(truth_p.t, abs=0.05)


def test_ball_motion_starts_and_stops_once_per_ball(cut_run):
    run, sim, _ = cut_run
    motion = run.of(BallMotion)
    cue, one, five = run.id_of(0), run.id_of(1), run.id_of(5)
    assert [(e.ball, e.state) for e in motion if e.ball == cue] == [
        (cue, "started"),
        (cue, "stopped"),
    ]
    assert [(e.ball, e.state) for e in motion if e.ball == one] == [(one, "started")]
    assert not [e for e in motion if e.ball == five]
    stop = next(e for e in motion if e.ball == cue and e.state == "stopped")
    rest = sim.final()[0]
    assert math.hypot(stop.x - rest.x, stop.y - rest.y) < 0.01


def test_cue_visible_and_lost_fire_once_each(cut_run):
    run, _, _ = cut_run
    visible, lost = run.of(CueVisible), run.of(CueLost)
    assert len(visible) == 1 and len(lost) == 1
    assert visible[0].target == run.id_of(0)
    assert visible[0].t_ns < lost[0].t_ns


@pytest.mark.parametrize(("direction", "speed"), [(357.0, 3.5), (42.0, 3.5), (140.0, 3.5)])
def test_every_physics_collision_and_rail_hit_of_a_busy_shot_is_seen(direction, speed):
    sim = shot(spread(), 0, direction, speed)
    run = drive(Game(), frames(sim, Noise(sigma=0.001, seed=22), t_pre=T_PRE))
    ids = {n: run.id_of(n) for n in run.ids}
    truth_bb = [e for e in sim.events if e.type == "ball_ball"]
    truth_rails = [
        e
        for e in sim.events
        if e.type == "cushion" and e.cushion.startswith("rail_") and e.speed >= SLOWEST_RAIL
    ]
    assert len(truth_bb) >= 3
    seen_bb = run.of(Collision)
    for e in truth_bb:
        want = sorted(ids[b] for b in e.balls)
        close = [
            c for c in seen_bb if sorted(c.balls) == want and abs(seconds(run, c.t_ns) - e.t) < 0.03
        ]
        assert close, f"missed collision {e}"
    assert len(seen_bb) == len(truth_bb)
    seen_rails = run.of(CushionHit)
    for e in truth_rails:
        close = [
            c
            for c in seen_rails
            if c.ball == ids[e.balls[0]]
            and c.cushion == side(e.cushion)
            and abs(seconds(run, c.t_ns) - e.t) < 0.03
        ]
        assert close, f"missed cushion hit {e}"
    slow = [e for e in sim.events if e.type == "cushion" and e.speed < SLOWEST_RAIL]
    assert len(truth_rails) <= len(seen_rails) <= len(truth_rails) + len(slow)


def test_pocketing_the_cue_ball_is_a_scratch(table):
    pocket = table.pocket("bottom_middle")
    start = (0.05, -0.2)
    direction = math.degrees(math.atan2(pocket.mouth_y - start[1], pocket.mouth_x - start[0]))
    sim = shot({0: start, 3: (0.8, 0.3)}, 0, direction, 1.0)
    run = drive(Game(), frames(sim, Noise(sigma=0.001, seed=23), t_pre=T_PRE))
    (scratch,) = run.of(Scratch)
    assert scratch.reason == "cue_pocketed" and scratch.pocket == "bottom_middle"
    assert scratch.ball == run.id_of(0)
    (ended,) = run.of(ShotEnded)
    assert ended.scratch and ended.pocketed == [run.id_of(0)] and ended.first_contact is None
    assert not run.of(Foul)


def test_a_cue_ball_that_touches_nothing_is_a_no_contact_scratch():
    sim = shot({0: (-0.5, 0.0), 3: (0.8, 0.4)}, 0, -90.0, 1.0)
    run = drive(Game(), frames(sim, Noise(sigma=0.001, seed=24), t_pre=T_PRE))
    assert [e.reason for e in run.of(Scratch)] == ["no_contact"]
    assert run.of(ShotEnded)[0].scratch


def test_no_rail_after_contact_is_a_foul():
    sim = shot({0: (-0.5, 0.0), 3: (-0.2, 0.0)}, 0, 0.0, 0.4)
    assert not [e for e in sim.events if e.type == "cushion"]
    run = drive(Game(), frames(sim, Noise(sigma=0.001, seed=25), t_pre=T_PRE))
    (foul,) = run.of(Foul)
    assert foul.reason == "no_rail" and foul.balls == [run.id_of(0), run.id_of(3)]
    assert not run.of(Scratch)


def test_a_nudge_is_ball_motion_but_not_a_shot():
    sim = shot({0: (-0.5, 0.0), 3: (0.5, 0.2)}, 3, 90.0, 0.07)
    run = drive(Game(), frames(sim, Noise(sigma=0.001, seed=26), t_pre=T_PRE))
    assert [e.state for e in run.of(BallMotion)] == ["started", "stopped"]
    assert not run.of(ShotStarted) and not run.of(ShotEnded)


def test_reset_game_emits_game_reset_and_restarts_shot_numbers():
    sim, _ = cut_shot(Table.nine_foot())
    game = Game()
    first = drive(game, frames(sim, Noise(sigma=0.001, seed=27), t_pre=T_PRE))
    assert first.of(ShotEnded)[0].shot == 1
    (reset,) = game.reset_game(by="test")
    assert isinstance(reset, GameReset) and reset.by == "test" and reset.shot == 0
    assert game.snapshot().shot == 0
    assert all(not b.pocketed for b in game.snapshot().balls)
