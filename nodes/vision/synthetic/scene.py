"""What to render: the scene (camera pose and lens, table look, lamps, player) and the render
settings (size, frame rate, exposure, sensor), and the state of the scene at one instant.

``SceneSpec.ideal()`` with ``RenderSpec.ideal()`` is the sanity configuration: camera straight
down, no distortion, no noise, no blur, no vignetting, no drift. ``randomized`` draws both specs
from a seed within :class:`Ranges`, for benchmark sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from nodes.vision.synthetic.ball import BallState
from nodes.vision.synthetic.camera import CameraModel, CameraPose, Lens, camera_from_pose
from nodes.vision.synthetic.cue import CuePose, Player, Stance
from nodes.vision.synthetic.lighting import Lighting
from nodes.vision.synthetic.table import TableLayout, TableStyle
from nodes.vision.synthetic.truth import ShotTruth

LIVE_LIGHTING = replace(
    Lighting.over_table(3), intensity_drift=0.05, kelvin_drift=150.0, drift_period_s=40.0
)
"""Three lamps over the table, their brightness and colour drifting gently (a few per cent over
tens of seconds; no change at t = 0)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderSpec:
    """Image size, timing and sensor. ``exposure_s`` is the shutter time (motion blur);
    ``read_noise`` the Gaussian noise sigma in 8-bit levels; ``shot_noise`` adds that many
    levels^2 of variance per level of signal; ``supersample`` is per axis for the static table;
    ``gain`` fixes the exposure (1.0: white paper under the brightest lamp reads 0.85 in linear
    light), None meters it on the cloth."""

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    exposure_s: float = 0.008
    read_noise: float = 1.5
    shot_noise: float = 0.35
    vignetting: float = 0.15
    jpeg_quality: int | None = None
    supersample: int = 2
    shadows: bool = True
    gain: float | None = None

    @staticmethod
    def ideal(width: int = 1280, height: int = 720) -> RenderSpec:
        """No noise, no blur, no vignetting, no shadows, no compression."""
        return RenderSpec(
            width=width,
            height=height,
            exposure_s=0.0,
            read_noise=0.0,
            shot_noise=0.0,
            vignetting=0.0,
            shadows=False,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SceneSpec:
    """The world: camera pose and lens, table look, lamps, player; ``seed`` drives the
    director (racks, shots) and the sensor noise; ``occluders`` shows the cue and hands."""

    seed: int = 0
    pose: CameraPose = field(default_factory=CameraPose)
    lens: Lens = field(default_factory=Lens)
    style: TableStyle = field(default_factory=TableStyle)
    lighting: Lighting = field(default_factory=lambda: LIVE_LIGHTING)
    player: Player = field(default_factory=Player)
    occluders: bool = True

    @staticmethod
    def ideal(seed: int = 0) -> SceneSpec:
        """Camera 2.5 m straight above the centre, no distortion, steady light."""
        return SceneSpec(
            seed=seed,
            pose=CameraPose(height=2.5),
            lens=Lens(fill=0.95),
            lighting=Lighting.over_table(3),
        )

    def camera(self, width: int, height: int, layout: TableLayout) -> CameraModel:
        """The camera model for an image of width x height that frames ``layout``."""
        return camera_from_pose(self.pose, self.lens, width, height, layout.outer)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SceneState:
    """The scene at one instant: balls, and the cue with the stance holding it (None when
    nobody is at the table). ``cue_speed`` is the tip's speed along the cue (m/s, towards the
    tip), for motion blur. ``phase`` names what the director is doing; ``placing`` is where a
    hand is putting a ball down."""

    t: float
    balls: tuple[BallState, ...]
    cue: CuePose | None = None
    stance: Stance | None = None
    cue_speed: float = 0.0
    phase: str = "idle"
    shot: ShotTruth | None = None
    placing: tuple[float, float] | None = None
