"""The renderer: a scene state in, an image and its ground truth out.

Once per camera it builds the ray grid and the static table. It keeps a layer with the resting
balls and their shadows, rebuilt only when a ball starts, stops, drops or is placed. Per frame
it copies that layer, draws the moving balls (blurred over the exposure), the cue and the
hands, and runs the sensor. No I/O.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic.backdrop import Backdrop, render_backdrop
from nodes.vision.synthetic.ball import RADIUS, BallState, kind
from nodes.vision.synthetic.capsule import Capsule
from nodes.vision.synthetic.composite import Compositor, Layer
from nodes.vision.synthetic.cue import (
    CUE_ID,
    HAND_ID,
    LENGTH,
    CuePose,
    bridge_capsules,
    cue_capsules,
    grip_capsules,
    placing_capsules,
)
from nodes.vision.synthetic.fragment import Fragments
from nodes.vision.synthetic.lighting import reference_irradiance
from nodes.vision.synthetic.painter import BallPainter, CuePainter
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.scene import RenderSpec, SceneSpec, SceneState
from nodes.vision.synthetic.sensor import Sensor
from nodes.vision.synthetic.shadow import ShadowCaster
from nodes.vision.synthetic.sphere import silhouettes
from nodes.vision.synthetic.table import TableLayout
from nodes.vision.synthetic.truth import BallTruth, CueTruth, GroundTruth, SyntheticFrame

F64 = NDArray[np.float64]
OWNERS = 128  # fragment owner ids: balls 0-15, cue and hands 100+


class Renderer:
    """Renders scene states seen by the camera of ``scene`` with the settings of ``render``."""

    def __init__(self, scene: SceneSpec, render: RenderSpec, layout: TableLayout | None = None):
        self.scene, self.spec = scene, render
        self.layout = layout or TableLayout.nine_foot()
        self.camera = scene.camera(render.width, render.height, self.layout)
        self.rays = RayGrid.build(self.camera, max(32, round(render.width / 24)))
        self.backdrop: Backdrop = render_backdrop(
            self.layout,
            scene.style,
            scene.lighting,
            self.rays,
            supersample=render.supersample,
            vignetting=render.vignetting,
        )
        light = scene.lighting
        ambient = light.ambient * reference_irradiance(light, *self.layout.half)
        common = {"exposure": self.backdrop.exposure, "ambient": ambient}
        self.balls = BallPainter(self.rays, light, cloth=scene.style.cloth, **common)
        self.cue = CuePainter(self.rays, light, scene.player, **common)
        self.shadows = ShadowCaster(self.rays, self.backdrop.table_xy, light, ambient)
        self.compositor = Compositor(
            render.width, render.height, self.rays.pad, self.backdrop.vignette
        )
        self.sensor = Sensor(
            render.width,
            render.height,
            read_noise=render.read_noise,
            shot_noise=render.shot_noise,
            jpeg_quality=render.jpeg_quality,
            seed=scene.seed,
        )
        self._resting: _Static | None = None
        self._handed: _Static | None = None

    def render(self, state: SceneState, frame: int = 0, capture_ns: int = 0) -> SyntheticFrame:
        """The image of ``state`` (exposed around ``state.t``) and its ground truth."""
        resting = self._static_layer(state)
        layer = resting.layer.copy_image()
        moving = [b for b in state.balls if not b.pocketed and not b.resting]
        if moving and self.spec.shadows:
            shadows = self.shadows.balls(np.array([[b.x, b.y, b.z] for b in moving]), RADIUS)
            self.compositor.shadow(layer, shadows.index, shadows.light)
        parts = [self._moving_balls(moving), *self._cue_and_hands(state)]
        frags = Fragments.concat(parts)
        coverage = self.compositor.over(layer, frags, OWNERS)
        seen = _per_owner(frags, coverage.visible)
        image = self.sensor.expose(layer.image, self.scene.lighting.gain(state.t), frame)
        truth = GroundTruth(
            frame=frame,
            time_s=state.t,
            capture_ns=capture_ns,
            exposure_s=self.spec.exposure_s,
            phase=state.phase,
            balls=self._ball_truth(state.balls, resting, seen, coverage.hidden),
            cue=self._cue_truth(state, seen),
            shot=state.shot,
            camera=self.camera,
        )
        return SyntheticFrame(image, truth)

    def _static_layer(self, state: SceneState) -> _Static:
        """Resting balls, and the bridge hand when there is one (it stays put during a shot)."""
        still = tuple(b for b in state.balls if not b.pocketed and b.resting)
        key = tuple((b.number, b.x, b.y, b.z, b.orientation) for b in still)
        if self._resting is None or self._resting.key != key:
            self._resting = self._build_resting(still, key)
            self._handed = None
        pose, stance = state.cue, state.stance
        if pose is None or stance is None or not self.scene.occluders:
            return self._resting
        hand = (stance, pose.direction_deg, pose.elevation_deg, pose.height_over(0.0, 0.0))
        if self._handed is None or self._handed.key != (key, hand):
            self._handed = self._build_handed(
                self._resting, bridge_capsules(pose, stance), (key, hand)
            )
        return self._handed

    def _build_handed(
        self, resting: _Static, hand: list[Capsule], key: tuple[object, ...]
    ) -> _Static:
        layer = resting.layer.copy()
        frags = self.cue.paint(hand, HAND_ID)
        coverage = self.compositor.over(layer, frags, OWNERS, record=True)
        return _Static(key, layer, resting.seen, resting.hidden + coverage.hidden)

    def _build_resting(self, still: tuple[BallState, ...], key: tuple[object, ...]) -> _Static:
        bd = self.backdrop
        h, w = bd.depth.shape
        layer = Layer(
            image=bd.image.copy(),
            surface_depth=bd.depth,
            ball_depth=np.full((h, w), np.inf, np.float32),
            owner=np.full((h, w), -1, np.int16),
            cover=np.zeros((h, w), np.float32),
            cloth=bd.cloth.copy(),
        )
        if still and self.spec.shadows:
            shadows = self.shadows.balls(np.array([[b.x, b.y, b.z] for b in still]), RADIUS)
            self.compositor.shadow(layer, shadows.index, shadows.light)
        frags = self.balls.paint(still)
        coverage = self.compositor.over(layer, frags, OWNERS, record=True)
        self.sensor.calibrate(layer.image)
        return _Static(key, layer, _per_owner(frags, coverage.visible), np.zeros(OWNERS))

    def _moving_balls(self, moving: list[BallState]) -> Fragments:
        frags = []
        for ball in moving:
            painted = self.balls.paint([ball])
            frags.append(painted.smeared(self._smear(ball), self.rays.shape))
        return Fragments.concat(frags)

    def _smear(self, ball: BallState) -> F64:
        """Pixel shifts of the ball at instants spread over the exposure."""
        exp = self.spec.exposure_s
        speed = math.hypot(ball.vx, ball.vy)
        if exp <= 0 or speed == 0:
            return np.zeros((1, 2))
        centre = np.array([ball.x, ball.y, ball.z])
        half = 0.5 * exp * np.array([ball.vx, ball.vy, 0.0])
        ends = self.camera.project(np.stack([centre - half, centre, centre + half]))
        length = float(np.linalg.norm(ends[2] - ends[0]))
        count = min(max(math.ceil(length / 1.0), 1), 24)
        s = (np.arange(count) + 0.5) / count * 2 - 1
        return np.asarray(s[:, None] * (ends[2] - ends[0])[None, :] / 2)

    def _cue_and_hands(self, state: SceneState) -> list[Fragments]:
        if not self.scene.occluders:
            return []
        out = []
        if state.placing is not None:
            x, y = state.placing
            hand = placing_capsules(x, y, RADIUS, self.scene.player)
            out.append(self.cue.paint(hand, HAND_ID))
        if state.cue is None:
            return out
        pose = state.cue
        cue = self.cue.paint(cue_capsules(pose), CUE_ID)
        out.append(cue.smeared(self._cue_smear(pose, state.cue_speed), self.rays.shape))
        if state.stance is not None:
            out.append(self.cue.paint(grip_capsules(pose, state.stance), HAND_ID))
        return out

    def _cue_smear(self, pose: CuePose, speed: float) -> F64:
        exp = self.spec.exposure_s
        if exp <= 0 or speed == 0:
            return np.zeros((1, 2))
        half = 0.5 * exp * speed * pose.axis()
        tip = pose.point(0.0)
        ends = self.camera.project(np.stack([tip - half, tip + half]))
        length = float(np.linalg.norm(ends[1] - ends[0]))
        count = min(max(math.ceil(length), 1), 32)
        s = (np.arange(count) + 0.5) / count - 0.5
        return np.asarray(s[:, None] * (ends[1] - ends[0])[None, :])

    def _ball_truth(
        self, balls: tuple[BallState, ...], resting: _Static, seen: F64, hidden: F64
    ) -> tuple[BallTruth, ...]:
        shown = [b for b in balls if not b.pocketed]
        sil = silhouettes(
            self.camera, np.array([[b.x, b.y, b.z] for b in shown]).reshape(-1, 3), RADIUS
        )
        px = {b.number: k for k, b in enumerate(shown)}
        out = []
        for b in balls:
            k = px.get(b.number)
            if k is None:
                out.append(_truth(b, 0.0))
                continue
            area = math.pi * float(sil.radius_px[k]) ** 2
            if not b.resting:
                vis = seen[b.number, 0] / (seen[b.number, 1] or area)
            else:
                total = resting.seen[b.number, 1] or area
                vis = (
                    resting.seen[b.number, 0] - resting.hidden[b.number] - hidden[b.number]
                ) / total
            out.append(
                _truth(b, vis, sil.centre_px[k], float(sil.radius_px[k]), sil.centroid_px[k])
            )
        return tuple(out)

    def _cue_truth(self, state: SceneState, seen: F64) -> CueTruth | None:
        pose = state.cue
        if pose is None or not self.scene.occluders:
            return None
        s = np.linspace(0.0, LENGTH, 64)
        axis = pose.point(0.0)[None, :] - s[:, None] * pose.axis()[None, :]
        px = self.camera.project(axis)
        inside = (px[:, 0] >= -0.5) & (px[:, 0] <= self.camera.width - 0.5)
        inside &= (px[:, 1] >= -0.5) & (px[:, 1] <= self.camera.height - 0.5)
        share = seen[CUE_ID, 0] / max(seen[CUE_ID, 1], 1e-9)
        tip_in = bool(inside[0])
        return CueTruth(
            tip_x=pose.tip_x,
            tip_y=pose.tip_y,
            tip_z=pose.tip_z,
            direction_deg=pose.direction_deg,
            elevation_deg=pose.elevation_deg,
            visible_fraction=float(np.clip(share * inside.mean(), 0.0, 1.0)),
            tip_x_px=float(px[0, 0]) if tip_in else None,
            tip_y_px=float(px[0, 1]) if tip_in else None,
            speed=state.cue_speed,
        )


class _Static:
    """A layer kept across frames; per owner id, (visible alpha, total alpha) of the resting
    balls drawn in it, and how much of each the layer's hands hide."""

    def __init__(self, key: tuple[object, ...], layer: Layer, seen: F64, hidden: F64) -> None:
        self.key, self.layer, self.seen, self.hidden = key, layer, seen, hidden


def _per_owner(frags: Fragments, visible: F64) -> F64:
    """(OWNERS, 2): summed visible alpha and total alpha per owner id."""
    out = np.zeros((OWNERS, 2))
    if len(frags):
        out[:, 0] = np.bincount(frags.owner, visible, OWNERS)
        out[:, 1] = np.bincount(frags.owner, frags.alpha.astype(np.float64), OWNERS)
    return out


def _truth(
    b: BallState,
    visible: float,
    centre: F64 | None = None,
    radius: float | None = None,
    centroid: F64 | None = None,
) -> BallTruth:
    return BallTruth(
        number=b.number,
        kind=kind(b.number),
        x=b.x,
        y=b.y,
        z=b.z,
        vx=b.vx,
        vy=b.vy,
        pocketed=b.pocketed,
        visible_fraction=float(np.clip(visible, 0.0, 1.0)),
        x_px=None if centre is None else float(centre[0]),
        y_px=None if centre is None else float(centre[1]),
        r_px=radius,
        centroid_x_px=None if centroid is None else float(centroid[0]),
        centroid_y_px=None if centroid is None else float(centroid[1]),
    )
