"""The synthetic camera: a pool table rendered in real time with exact ground truth.

    from nodes.vision.synthetic import SyntheticCamera
    camera = SyntheticCamera.from_seed(7, width=1280, height=720, fps=30)
    frame = camera.next_frame()        # SyntheticFrame: image (BGR uint8) + truth
    frame.truth.balls[0].x_px          # where the cue ball's centre projects

Pieces: :class:`CameraModel` (intrinsics, distortion, pose: cv2.projectPoints conventions),
:class:`Renderer` (scene state -> image + ground truth), :class:`Director` (racks, shots and
the cue, driven by ``nodes.physics``), :class:`SceneSpec`/:class:`RenderSpec` (what and how to
render, ``randomized`` for benchmark sets). See docs/synthetic-camera.md.
"""

from __future__ import annotations

from nodes.vision.synthetic.ball import RADIUS, BallState
from nodes.vision.synthetic.camera import CameraModel, CameraPose, Lens
from nodes.vision.synthetic.cue import CuePose, Player, Stance
from nodes.vision.synthetic.director import Director
from nodes.vision.synthetic.feed import SyntheticCamera
from nodes.vision.synthetic.lighting import Lamp, Lighting
from nodes.vision.synthetic.renderer import Renderer
from nodes.vision.synthetic.scene import RenderSpec, SceneSpec, SceneState
from nodes.vision.synthetic.table import TableLayout, TableStyle
from nodes.vision.synthetic.truth import BallTruth, CueTruth, GroundTruth, ShotTruth, SyntheticFrame
from nodes.vision.synthetic.variation import Ranges, randomized

__all__ = [
    "RADIUS",
    "BallState",
    "BallTruth",
    "CameraModel",
    "CameraPose",
    "CuePose",
    "CueTruth",
    "Director",
    "GroundTruth",
    "Lamp",
    "Lens",
    "Lighting",
    "Player",
    "Ranges",
    "RenderSpec",
    "Renderer",
    "SceneSpec",
    "SceneState",
    "ShotTruth",
    "Stance",
    "SyntheticCamera",
    "SyntheticFrame",
    "TableLayout",
    "TableStyle",
    "randomized",
]
