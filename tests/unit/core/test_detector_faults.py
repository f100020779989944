"""Tracking through the faults of a real detector, reproduced without the renderer.

Each case is one failure seen through the real pipeline (``bench/tracking_pipeline.py``): a
stripe read as the cue ball while it rolls, a ball lost for frames after a collision, a hidden
ball coasting into a cushion, ghost circles in a rack, a blurred fast ball found twice (also in
its first frame of motion), a hand on the rail found as a ball, the fingers of a hand putting
the cue ball down found as balls.
"""

from __future__ import annotations

import math

import pytest

from nodes.physics import Ball, Simulation, Table, simulate
from protocol.messages import BallMotion, BallState, GroundTruth, ShotStarted, State
from tests.helpers.table_feed import (
    Blind,
    Flicker,
    Ghosts,
    Noise,
    Phantom,
    after_contact,
    disc,
    drive,
    frames,
    shot,
)
from tests.unit.core.conftest import rack, spread

T_PRE = 0.3
HALF_X, HALF_Y = Table.nine_foot().length / 2, Table.nine_foot().width / 2


def on_table(state: State) -> bool:
    return all(abs(b.x) <= HALF_X and abs(b.y) <= HALF_Y for b in state.balls if not b.pocketed)


@pytest.mark.parametrize(("cut", "seed"), [(0.0, 50), (0.02, 51), (0.04, 51)])
def test_a_stripe_read_as_the_cue_ball_while_it_rolls_keeps_both_ids(game, cut, seed):
    # The cue ball stuns into the 15 at 4.5 m/s; the rolling 15 then reads as the cue ball
    # (number 0) in half of the frames at random, at a low confidence, as a stripe does when
    # its white turns up.
    sim = shot({0: (-0.5, 0.1), 15: (0.0, 0.1 + cut), 4: (0.5, -0.4)}, 0, 0.0, 4.5)
    flicker = Flicker(balls=(15,), kind="cue", number=0, period=0, rate=0.5)
    run = drive(game, frames(sim, Noise(sigma=0.001, seed=seed, flicker=flicker), t_pre=T_PRE))
    assert run.switches == 0
    assert len(run.ids[0]) == 1 and len(run.ids[15]) == 1
    final = {b.id: b for b in run.states[-1].balls}
    assert final[run.id_of(15)].number == 15 and final[run.id_of(0)].number == 0


def test_a_ball_lost_for_frames_at_high_speed_after_a_collision_keeps_its_id(game):
    # The 9 leaves a collision at about 4 m/s and the detector loses it for 7 frames (45 cm).
    sim = shot({0: (-0.9, -0.1), 9: (-0.4, -0.1), 3: (0.6, 0.4)}, 0, 0.0, 4.5)
    blind = after_contact(sim, 9, 7)
    feed = list(frames(sim, Noise(sigma=0.001, seed=51, blind=[blind]), t_pre=T_PRE))
    back = next(k for k, (truth, _) in enumerate(feed) if seconds(truth) >= blind.t1)
    run = drive(game, feed[: back + 3])
    assert run.switches == 0 and len(run.ids[9]) == 1
    # three frames after it reappears it is in the state, where it is
    ball = ball_of(run.states[-1], run.id_of(9))
    truth = feed[back + 2][0].balls[[b.number for b in feed[back + 2][0].balls].index(9)]
    assert math.hypot(ball.x - truth.x, ball.y - truth.y) < 0.01 and ball.visible


def test_a_track_coasting_into_a_cushion_bounces_and_never_leaves_the_table(game):
    # The 3 rolls into the right cushion while a hand hides it for 0.45 s around the contact.
    sim = shot({0: (-0.9, 0.0), 3: (0.7, -0.3)}, 3, 20.0, 1.6)
    contact = next(e for e in sim.events if e.type == "cushion")
    blind = Blind(3, contact.t - 0.15, contact.t + 0.3)
    run = drive(game, frames(sim, Noise(sigma=0.001, seed=52, blind=[blind]), t_pre=T_PRE))
    assert all(on_table(s) for s in run.states)
    assert run.switches == 0 and len(run.ids[3]) == 1
    assert len([t for t in game.tracker.tracks if t.on_table]) == 2


def test_ghost_circles_in_a_rack_neither_move_resting_balls_nor_make_phantoms(game):
    # A rack at rest, seen clearly for 0.5 s; then in 10 % of frames a racked ball is found 1-2
    # cm off, with a wrong number and a low confidence, instead of where it is.
    still = simulate([Ball(n, x, y) for n, (x, y) in rack().items()], Table.nine_foot())
    ghosts = Ghosts(rate=0.1, start=0.2)
    noise = Noise(sigma=0.001, seed=53, ghosts=ghosts, confidence=0.5)
    run = drive(game, frames(still, noise, t_post=4.0))
    assert not run.of(BallMotion)
    assert run.switches == 0 and all(len(ids) == 1 for ids in run.ids.values())
    assert len(game.tracker.tracks) == 16
    for s in run.states[30:]:
        assert len(s.balls) == 16 and not s.moving


def test_a_blurred_break_ball_found_twice_is_one_track_at_the_middle(game):
    # At 8 m/s the exposure smears the cue ball over 5 cm; the detector fits a circle at each
    # end of the smear. (In the first frame of its motion the ball is still a ball at rest to
    # the tracker, which takes the nearer end.)
    sim = shot({0: (-0.9, 0.05), 5: (0.9, -0.4)}, 0, 0.0, 8.0)
    run = drive(game, frames(sim, Noise(sigma=0.001, seed=54, split_s=0.006), t_pre=T_PRE))
    assert run.switches == 0 and len(run.ids[0]) == 1
    assert max(run.errors[2:]) < 0.006
    assert len(game.tracker.tracks) == 2


@pytest.mark.parametrize(("speed", "seed"), [(6.0, 62), (8.0, 63), (9.0, 64)])
def test_a_break_ball_lost_in_its_strike_frame_and_found_twice_is_tracked_at_the_middle(
    game, speed, seed
):
    # Through the real detector a hard break is missed in the frame of the strike, then found
    # as the two ends of its smear (5-6 cm apart, 25-30 cm from where it rested). The ball is
    # between them: its track must not take the nearer end (3 cm behind) in its first frame of
    # motion, nor in the next one while its speed is still a guess.
    sim = shot({0: (-0.9, 0.05), 5: (0.9, -0.4), 9: (0.5, 0.45)}, 0, 2.0, speed)
    noise = Noise(sigma=0.001, seed=seed, split_s=0.006, blind=[Blind(0, -0.001, 0.5 / 60)])
    run = drive(game, frames(sim, noise, t_pre=T_PRE))
    assert run.switches == 0 and len(run.ids[0]) == 1
    assert max(run.errors) < 0.006
    assert len(game.tracker.tracks) == 3


RAIL = (1.19, -0.609)  # a hand on the rail: a circle where a ball frozen to the cushion would be


@pytest.mark.parametrize(
    ("balls", "hidden", "numbers", "confidence", "seed"),
    [
        (16, None, (1, 5, None), (0.35, 0.6), 55),  # a doubtful circle
        (16, None, (1, 5, None), (0.65, 0.85), 56),  # as sure as a ball, but 16 are in sight
        (15, None, (1, 5, None), (0.35, 0.6), 57),  # a doubtful circle where a ball could be
        (16, 1, (None,), (0.6, 0.8), 61),  # the 1 was picked up: a solid, but never the 1
    ],
)
def test_a_hand_on_the_rail_is_never_a_ball(game, balls, hidden, numbers, confidence, seed):
    # While the player approaches, aims and shoots, the bridge hand lies on the rail and the
    # detector finds a skin-coloured "solid" there in most frames, for seconds.
    positions = {n: p for n, p in spread().items() if n < balls}
    hand = Phantom((RAIL,), 0.5, 4.0, rate=0.7, numbers=numbers, confidence=confidence)
    blind = [Blind(hidden, 0.2, 9.0)] if hidden is not None else []
    noise = Noise(sigma=0.001, seed=seed, phantoms=[hand], blind=blind)
    run = drive(game, frames(still(positions), noise, t_post=4.5))
    start = run.states[0].t_capture_ns
    for state in run.states:
        assert len(state.balls) == balls or state.t_capture_ns - start < 100_000_000
        assert all(math.hypot(b.x - RAIL[0], b.y - RAIL[1]) > 0.1 for b in state.balls)
    assert not run.of(BallMotion)
    assert all(len(ids) == 1 for ids in run.ids.values())


# where the fingers of the hand putting the cue ball down at (0, 0) are found (from a recording)
FINGERS = ((-0.055, -0.007), (-0.010, -0.008), (-0.106, -0.021), (0.027, -0.001), (-0.02, 0.015))


@pytest.mark.parametrize(
    ("balls", "confidence", "seed"),
    [
        (4, (0.4, 0.7), 58),  # fingers read less surely than balls
        (4, (0.4, 0.7), 59),
        (16, (0.55, 0.8), 60),  # nearly as surely: they overlap, and are not the cue ball
    ],
)
def test_the_fingers_of_a_hand_putting_the_cue_ball_down_are_not_balls(
    game, balls, confidence, seed
):
    # Ball in hand: the cue ball is picked up, then put down elsewhere. While the hand holds it
    # the ball is hidden and three to five of the fingers around it read as solids, overlapping
    # each other (centres 3-5 cm apart); when the hand lifts, only the cue ball is left.
    before = {n: p for n, p in spread().items() if n < balls}
    hand = disc(*before[0], 0.08, 0.5, 5.0)
    first = drive(game, frames(still(before), Noise(sigma=0.001, occluders=[hand]), t_post=1.2))
    cue_id = first.id_of(0)
    x, y = -0.66, 0.16
    after = {**before, 0: (x, y)}
    fingers = [
        Phantom(((x + dx, y + dy),), 0.0, 0.7, rate=rate, numbers=(5, 1, 2), confidence=confidence)
        for (dx, dy), rate in zip(FINGERS, (0.9, 0.7, 0.4, 0.5, 0.2), strict=True)
    ]
    noise = Noise(sigma=0.001, seed=seed, blind=[Blind(0, -1.0, 0.7)], phantoms=fingers)
    t0 = 1_000_000_000_000 + 1_600_000_000
    later = drive(game, frames(still(after), noise, t_pre=0.0, t_post=1.5, t0_ns=t0))
    assert later.ids[0] == {cue_id}
    assert not later.of(BallMotion) and not later.of(ShotStarted)
    final = later.states[-1]
    assert len(final.balls) == balls
    cue = ball_of(final, cue_id)
    assert math.hypot(cue.x - x, cue.y - y) < 0.003 and cue.visible and cue.number == 0
    for state in later.states:
        assert all(math.hypot(b.x - after[b.number][0], b.y - after[b.number][1]) < 0.01
                   for b in state.balls if b.visible and b.number is not None)  # fmt: skip
        assert len([b for b in state.balls if b.visible]) <= balls


def still(positions: dict[int, tuple[float, float]]) -> Simulation:
    return simulate([Ball(n, x, y) for n, (x, y) in positions.items()], Table.nine_foot())


def seconds(truth: GroundTruth) -> float:
    return (truth.t_capture_ns - 1_000_000_000_000) * 1e-9 - T_PRE


def ball_of(state: State, ball_id: int) -> BallState:
    return next(b for b in state.balls if b.id == ball_id)


@pytest.mark.parametrize("number", [4, 12])
def test_a_ball_put_back_on_a_full_table_keeps_its_id(game, number):
    # Sixteen balls known: a new ball must be a gone one, and this one shows its number.
    before = spread()
    hand = disc(*before[number], 0.08, 0.5, 5.0)
    first = drive(game, frames(still(before), Noise(sigma=0.001, occluders=[hand]), t_post=1.2))
    ball_id = first.id_of(number)
    after = {**before, number: (-0.66, 0.16)}
    t0 = 1_000_000_000_000 + 1_600_000_000
    later = drive(game, frames(still(after), Noise(sigma=0.001), t_pre=0.0, t_post=1.0, t0_ns=t0))
    assert later.ids[number] == {ball_id}
    moved = ball_of(later.states[-1], ball_id)
    assert math.hypot(moved.x + 0.66, moved.y - 0.16) < 0.003 and moved.visible
    assert len(later.states[-1].balls) == 16
