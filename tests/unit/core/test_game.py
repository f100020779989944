"""The world model: publishing cadence, ids shared by every stream, aim preview, history."""

from __future__ import annotations

import itertools
import math

import pytest
from msgspec.structs import replace

from protocol.errors import ControlError
from protocol.messages import Calibration, ShotStarted, TableCalibrated
from tests.helpers.table_feed import Aim, Noise, drive, frames, shot
from tests.unit.core.conftest import spread
from tests.unit.core.test_events import T_PRE, cut_shot
from tests.unit.core.test_tracker import still


def test_a_still_table_is_published_at_two_hertz(game):
    run = drive(game, frames(still(spread()), Noise(sigma=0.001, seed=30), t_post=5.0))
    settled = [s for s in run.states if s.t_capture_ns - run.states[0].t_capture_ns > 500_000_000]
    gaps = [(b.t_capture_ns - a.t_capture_ns) / 1e9 for a, b in itertools.pairwise(settled)]
    assert gaps and all(0.49 <= g <= 0.52 for g in gaps)
    assert 9 <= len(settled) <= 11


def test_every_frame_is_published_while_balls_move(game, table):
    sim, _ = cut_shot(table)
    run = drive(game, frames(sim, Noise(sigma=0.001, seed=31), t_pre=T_PRE))
    moving = [s for s in run.states if s.moving]
    frame_numbers = [s.frame for s in moving]
    assert frame_numbers == list(range(frame_numbers[0], frame_numbers[0] + len(frame_numbers)))
    assert len(moving) >= 0.9 * sim.duration * 60
    assert not run.states[-1].moving


def test_the_state_carries_frame_time_confidence_and_table(game):
    run = drive(game, frames(still(spread()), Noise(sigma=0.001, seed=32), t_post=1.0))
    last = run.states[-1]
    snap = game.snapshot()
    assert snap.frame == run.frames - 1
    assert snap.t_capture_ns == 1_000_000_000_000 + round((0.3 + 1.0) * 1e9)
    assert last.table is not None and len(last.table.pockets) == 6
    assert last.table.length == pytest.approx(2.54)
    assert all(0.0 < b.confidence <= 1.0 and b.visible for b in last.balls)
    assert last.cameras == ["cam0"]


def test_ids_are_the_same_in_state_events_and_trajectory(game, table):
    sim, direction = cut_shot(table)
    feed = frames(sim, Noise(sigma=0.001, seed=33), t_pre=T_PRE, aim=Aim(0, direction))
    run = drive(game, feed)
    state_ids = {b.id for s in run.states for b in s.balls}
    event_ids = {e.ball for e in run.events if hasattr(e, "ball")}
    event_ids |= {b for e in run.events for b in getattr(e, "balls", [])}
    assert event_ids <= state_ids
    shown = [t for t in run.trajectories if not t.cleared]
    assert shown and shown[0].prediction is not None
    prediction = shown[0].prediction
    assert prediction.cue_ball == run.id_of(0) and prediction.target == run.id_of(1)
    assert {b.id for b in prediction.balls} <= state_ids
    assert run.of(ShotStarted)[0].target == run.id_of(1)


def test_the_aim_preview_is_published_once_per_aim_and_cleared_when_the_shot_starts(game, table):
    sim, direction = cut_shot(table)
    feed = frames(sim, Noise(sigma=0.0005, seed=34), t_pre=1.0, aim=Aim(0, direction))
    run = drive(game, feed)
    shown = [t for t in run.trajectories if not t.cleared]
    cleared = [t for t in run.trajectories if t.cleared]
    assert 1 <= len(shown) <= 3
    assert [t.reason for t in cleared] == ["shot_started"]
    assert cleared[0].t_capture_ns > shown[-1].t_capture_ns


def test_the_preview_clears_when_the_cue_goes_away_without_a_shot(game):
    sim = still({0: (-0.5, 0.0), 3: (0.4, 0.1)})
    feed = frames(
        sim, Noise(sigma=0.0005, seed=35), t_pre=0.0, t_post=1.5, aim=Aim(0, 5.0, until=0.6)
    )
    run = drive(game, feed)
    assert [t.reason for t in run.trajectories if t.cleared] == ["cue_lost"]


def test_a_sweeping_aim_is_recomputed_at_a_bounded_rate(game):
    sim = still({0: (-0.5, 0.0), 3: (0.4, 0.1), 5: (0.4, -0.3)})
    feed = frames(sim, Noise(sigma=0.0005, seed=36), t_pre=0.0, t_post=2.0, aim=Aim(0, 0.0, 9.0))
    shown = []
    for k, (_, det) in enumerate(feed):
        assert det.cue is not None
        cue = replace(det.cue, direction_deg=-20.0 + 0.2 * k)  # sweeps 12 degrees a second
        _, _, trajectory = game.update(replace(det, cue=cue))
        if trajectory is not None:
            shown.append(trajectory)
    assert 15 <= len(shown) <= 21


def test_history_returns_states_and_events_since_a_time(game, table):
    sim, _ = cut_shot(table)
    run = drive(game, frames(sim, Noise(sigma=0.001, seed=37), t_pre=T_PRE))
    middle = run.events[len(run.events) // 2].t_ns
    answer = game.history({"since_ns": middle})
    assert [e["data"] for e in answer["events"]] == [e for e in run.events if e.t_ns >= middle]
    assert all(e["type"] == e["data"].TYPE for e in answer["events"])
    assert all(s.t_capture_ns >= middle for s in answer["states"]) and answer["states"]
    assert not answer["truncated"]
    only = game.history({"since_ns": 0, "states": False, "limit": 2})
    assert only["states"] == [] and len(only["events"]) == 2 and only["truncated"]


@pytest.mark.parametrize(
    "bad",
    [{"since_ns": "yesterday"}, {"limit": 0}, {"limit": 10**9}, {"states": "yes"}, {"from": 1}, []],
)
def test_history_rejects_bad_arguments(game, bad):
    with pytest.raises(ControlError) as err:
        game.history(bad)
    assert err.value.code == "bad_request"


def test_a_changed_calibration_is_a_table_calibrated_event(game):
    cal = Calibration(
        camera="cam0",
        width=1280,
        height=720,
        table_length=2.54,
        table_width=1.27,
        ball_radius=0.028575,
        corners_px=[[0, 0]] * 4,
        homography=[1.0] * 9,
        homography_surface=[1.0] * 9,
        method="auto",
        rms_px=0.3,
        t_ns=5,
    )
    (event,) = game.calibration(cal)
    assert isinstance(event, TableCalibrated) and event.camera == "cam0" and event.rms_px == 0.3
    assert game.calibration(cal) == []
    assert len(game.calibration(replace(cal, rms_px=0.2))) == 1


def test_stats_count_frames_tracks_and_rejections(game):
    drive(game, frames(shot({0: (-0.5, 0.0), 3: (0.4, 0.1)}, 0, 0.0, 1.0), Noise(sigma=0.001)))
    stats = game.stats()
    assert stats["frames"]["frames"] > 100
    assert stats["tracks"] == {"confirmed": 2}
    assert stats["shot"] == 1
    assert math.isfinite(sum(stats["rejected"].values()))
