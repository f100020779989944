"""Randomised scenes for benchmark sets: camera pose and lens, lighting, cloth, player and
sensor drawn from a seed within :class:`Ranges` (each range is a test axis with known truth)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from nodes.vision.synthetic.camera import CameraModel, CameraPose, Lens
from nodes.vision.synthetic.cue import Player
from nodes.vision.synthetic.lighting import Lamp, Lighting
from nodes.vision.synthetic.scene import RenderSpec, SceneSpec
from nodes.vision.synthetic.table import CLOTHS, TableLayout, TableStyle

Span = tuple[float, float]
SKINS = ("#f1c6a6", "#d9a37f", "#b67b55", "#8a5436", "#5c3823")
SLEEVES = ("#2c3e63", "#7a1f1f", "#1f1f1f", "#d8d8d0", "#3d5a2a", "#6b6f78", "#b58a2a")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranges:
    """Ranges the randomiser draws from (uniformly unless said otherwise)."""

    height: Span = (1.5, 2.5)  # camera above the cloth, m
    tilt_deg: Span = (0.0, 15.0)
    yaw_deg: Span = (-8.0, 8.0)  # plus 180 degrees with probability flip
    flip: float = 0.5
    target: Span = (-0.12, 0.12)  # optical axis offset on the cloth, m (x and y)
    fill: Span = (0.82, 1.0)
    k1: Span = (-0.3, 0.1)
    k2: Span = (-0.05, 0.1)
    k3: Span = (-0.02, 0.02)
    tangential: float = 0.002
    principal_px: float = 0.01  # of the width
    lamps: tuple[int, int] = (1, 3)
    lamp_z: Span = (0.8, 1.1)
    ambient: Span = (0.1, 0.4)
    kelvin: Span = (3000.0, 6500.0)
    white_balance_error: float = 600.0  # K
    intensity_drift: Span = (0.0, 0.3)
    kelvin_drift: Span = (0.0, 600.0)
    read_noise: Span = (0.0, 6.0)
    shot_noise: Span = (0.0, 1.2)
    exposure_s: Span = (0.0, 0.016)
    vignetting: Span = (0.0, 0.4)
    jpeg: float = 0.5  # probability of JPEG artefacts
    jpeg_quality: tuple[int, int] = (60, 95)
    occluders: float = 0.9  # probability that the cue and hands are shown


def randomized(
    seed: int,
    *,
    width: int = 1280,
    height: int = 720,
    fps: float = 30.0,
    ranges: Ranges | None = None,
) -> tuple[SceneSpec, RenderSpec]:
    """A scene and render settings drawn from ``ranges`` (reproducible from ``seed``)."""
    r = ranges or Ranges()
    rng = np.random.default_rng([seed, 0x5CE4E])
    scene = SceneSpec(
        seed=seed,
        pose=_pose(r, rng),
        lens=_lens(r, rng, width),
        style=TableStyle(
            cloth=str(rng.choice(list(CLOTHS.values()))), seed=int(rng.integers(1 << 30))
        ),
        lighting=_lighting(r, rng),
        player=Player(
            skin=str(rng.choice(SKINS)),
            sleeve=str(rng.choice(SLEEVES)),
            right_handed=bool(rng.random() < 0.85),
        ),
        occluders=bool(rng.random() < r.occluders),
    )
    scene = replace(scene, lens=_valid_lens(scene, width, height))
    jpeg = (
        int(rng.integers(r.jpeg_quality[0], r.jpeg_quality[1] + 1))
        if rng.random() < r.jpeg
        else None
    )
    render = RenderSpec(
        width=width,
        height=height,
        fps=fps,
        exposure_s=float(rng.uniform(*r.exposure_s)),
        read_noise=float(rng.uniform(*r.read_noise)),
        shot_noise=float(rng.uniform(*r.shot_noise)),
        vignetting=float(rng.uniform(*r.vignetting)),
        jpeg_quality=jpeg,
    )
    return scene, render


def _pose(r: Ranges, rng: np.random.Generator) -> CameraPose:
    yaw = float(rng.uniform(*r.yaw_deg)) + (180.0 if rng.random() < r.flip else 0.0)
    return CameraPose(
        height=float(rng.uniform(*r.height)),
        tilt_deg=float(rng.uniform(*r.tilt_deg)),
        tilt_azimuth_deg=float(rng.uniform(0.0, 360.0)),
        yaw_deg=yaw,
        target_x=float(rng.uniform(*r.target)),
        target_y=float(rng.uniform(*r.target)),
    )


def _lens(r: Ranges, rng: np.random.Generator, width: int) -> Lens:
    t = r.tangential
    dist = (
        float(rng.uniform(*r.k1)),
        float(rng.uniform(*r.k2)),
        float(rng.uniform(-t, t)),
        float(rng.uniform(-t, t)),
        float(rng.uniform(*r.k3)),
    )
    shift = r.principal_px * width
    return Lens(
        fill=float(rng.uniform(*r.fill)),
        principal_dx=float(rng.uniform(-shift, shift)),
        principal_dy=float(rng.uniform(-shift, shift)),
        dist=dist,
    )


def _lighting(r: Ranges, rng: np.random.Generator) -> Lighting:
    count = int(rng.integers(r.lamps[0], r.lamps[1] + 1))
    z = float(rng.uniform(*r.lamp_z))
    spread = float(rng.uniform(0.6, 0.95))
    xs = [2.54 * spread * ((k + 0.5) / count - 0.5) for k in range(count)]
    lamps = tuple(
        Lamp(
            x=x + float(rng.normal(0, 0.05)),
            y=float(rng.normal(0, 0.05)),
            z=z,
            power=float(rng.uniform(0.8, 1.2)),
        )
        for x in xs
    )
    kelvin = float(rng.uniform(*r.kelvin))
    return Lighting(
        lamps=lamps,
        ambient=float(rng.uniform(*r.ambient)),
        kelvin=kelvin,
        white_balance_kelvin=kelvin + float(rng.uniform(-1, 1)) * r.white_balance_error,
        intensity_drift=float(rng.uniform(*r.intensity_drift)),
        kelvin_drift=float(rng.uniform(*r.kelvin_drift)),
        drift_period_s=float(rng.uniform(8.0, 40.0)),
        drift_phase=float(rng.uniform(0.0, 2 * math.pi)),
    )


def _valid_lens(scene: SceneSpec, width: int, height: int) -> Lens:
    """Shrink the distortion until the lens model is invertible over the whole image."""
    lens = scene.lens
    layout = TableLayout.nine_foot()
    for _ in range(12):
        camera = replace(scene, lens=lens).camera(width, height, layout)
        if lens_covers(camera):
            return lens
        lens = replace(lens, dist=tuple(0.7 * c for c in lens.dist))  # type: ignore[arg-type]
    return replace(lens, dist=(0.0, 0.0, 0.0, 0.0, 0.0))


def lens_covers(camera: CameraModel, margin: int = 64) -> bool:
    """True when every pixel of the image grown by ``margin`` has a ray (the distortion
    polynomial does not fold back inside it)."""
    w, h = camera.width, camera.height
    xs = np.arange(-margin, w + margin, 4.0)
    ys = np.arange(-margin, h + margin, 4.0)
    border = np.concatenate(
        [
            np.column_stack([xs, np.full_like(xs, -margin)]),
            np.column_stack([xs, np.full_like(xs, h + margin)]),
            np.column_stack([np.full_like(ys, -margin), ys]),
            np.column_stack([np.full_like(ys, w + margin), ys]),
        ]
    )
    norm = camera.undistort(border)
    if not np.isfinite(norm).all():
        return False
    r = np.hypot(norm[:, 0], norm[:, 1])
    k1, k2, _, _, k3 = camera.dist
    r2 = r * r
    slope = 1 + 3 * k1 * r2 + 5 * k2 * r2 * r2 + 7 * k3 * r2**3
    return bool((slope > 0.2).all())
