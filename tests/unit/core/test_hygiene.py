"""Input hygiene: any detection content is either accepted or rejected with a reason."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.core.game import Game
from nodes.core.hygiene import Hygiene
from protocol.messages import DetectedBall, DetectedCue, Detections

_any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2.0, max_value=2.0),
)
_ball = st.builds(
    DetectedBall,
    x_px=_any_float,
    y_px=_any_float,
    r_px=_any_float,
    x=_any_float,
    y=_any_float,
    kind=st.sampled_from(["cue", "eight", "solid", "stripe", "unknown"]),
    number=st.one_of(st.none(), st.integers(min_value=-5, max_value=40)),
    confidence=_any_float,
)
_cue = st.builds(
    DetectedCue,
    tip_x_px=_any_float,
    tip_y_px=_any_float,
    tip_x=_any_float,
    tip_y=_any_float,
    direction_deg=_any_float,
    visible_fraction=_any_float,
    confidence=_any_float,
)


@settings(max_examples=200, deadline=None)
@given(balls=st.lists(_ball, max_size=30), cue=st.one_of(st.none(), _cue))
def test_any_detection_is_accepted_or_rejected_with_a_reason(balls, cue):
    game = Game()
    det = Detections(
        camera="cam0", frame=1, t_capture_ns=10**12, width=1280, height=720, balls=balls, cue=cue
    )
    accepted = Hygiene(game.geometry).balls(det)
    game.update(det)
    rejected = game.stats()["rejected"]
    dropped = sum(v for k, v in rejected.items() if k not in ("bad_number", "cue_invalid"))
    assert len(accepted) + dropped == len(balls)
    for m in accepted:
        assert math.isfinite(m.x) and math.isfinite(m.y) and 0.0 < m.confidence <= 1.0
        assert m.number is None or 0 <= m.number <= 15
    state = game.snapshot()
    assert all(math.isfinite(b.x) and math.isfinite(b.y) for b in state.balls)


@settings(max_examples=50, deadline=None)
@given(frames=st.lists(st.lists(_ball, max_size=8), min_size=1, max_size=12))
def test_a_stream_of_garbage_never_crashes_the_game(frames):
    game = Game()
    for k, balls in enumerate(frames):
        det = Detections(
            camera="cam0",
            frame=k,
            t_capture_ns=10**12 + k * 16_666_667,
            width=1280,
            height=720,
            balls=balls,
        )
        state, _, _ = game.update(det)
        assert state is None or all(math.isfinite(b.x) for b in state.balls)
    game.flush_events()
    game.predict_shot(
        {"balls": [{"number": 0, "x": 0.0, "y": 0.0}], "direction_deg": 0, "speed": 1}
    )
