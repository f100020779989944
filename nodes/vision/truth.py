"""The synthetic camera's ground truth as the ``vision.truth.<camera>`` message."""

from __future__ import annotations

from typing import Any

from protocol.messages import GroundTruth, TruthBall, TruthCue


def truth_message(truth: Any, camera: str, t_ns: int) -> GroundTruth:
    """Convert a synthetic frame's truth (nodes.vision.synthetic.truth.GroundTruth)."""
    balls = [
        TruthBall(
            number=int(b.number),
            kind=b.kind,
            x=float(b.x),
            y=float(b.y),
            vx=float(b.vx),
            vy=float(b.vy),
            pocketed=bool(b.pocketed),
            visible_fraction=float(b.visible_fraction),
            x_px=_opt(b.x_px),
            y_px=_opt(b.y_px),
            r_px=_opt(b.r_px),
        )
        for b in truth.balls
    ]
    cue = None
    if truth.cue is not None:
        c = truth.cue
        cue = TruthCue(
            tip_x=float(c.tip_x),
            tip_y=float(c.tip_y),
            direction_deg=float(c.direction_deg),
            visible_fraction=float(c.visible_fraction),
        )
    return GroundTruth(
        camera=camera, frame=int(truth.frame), t_capture_ns=t_ns, balls=balls, cue=cue
    )


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
