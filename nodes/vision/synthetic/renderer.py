"""The renderer: a scene state in, an image and its ground truth out.

Once per camera it builds the ray grid and the static table. It keeps a layer with the resting
balls and their shadows, rebuilt only when a ball starts, stops, drops or is placed, and one
with the bridge hand on top, rebuilt when the player takes a new stance. Per frame it copies
that layer, draws the moving balls (blurred over the exposure), the cue and the grip hand with
their shadows, and runs the sensor. No I/O.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import replace

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
    Stance,
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
from nodes.vision.synthetic.sensor import Sensor, quantized, tint
from nodes.vision.synthetic.shadow import ShadowCaster, Shadows
from nodes.vision.synthetic.sphere import silhouettes
from nodes.vision.synthetic.table import TableLayout
from nodes.vision.synthetic.truth import BallTruth, CueTruth, GroundTruth, SyntheticFrame

F64 = NDArray[np.float64]
OWNERS = 128  # fragment owner ids: balls 0-15, cue and hands 100+
HELD_CACHE = 96  # cue positions kept (a practice stroke spans about 100 mm in 1 mm steps)


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
            gain=render.gain,
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
        self._tint_key: tuple[object, ...] | None = None
        self._held_cache: OrderedDict[tuple[object, ...], tuple[Fragments, Fragments]] = (
            OrderedDict()
        )
        self._cue_shadow: OrderedDict[CuePose, Shadows] = OrderedDict()
        self._tint_image = np.zeros((0, 0, 3), np.uint8)

    def render(self, state: SceneState, frame: int = 0, capture_ns: int = 0) -> SyntheticFrame:
        """The image of ``state`` (exposed around ``state.t``) and its ground truth."""
        resting = self._static_layer(state)
        gain = quantized(self.scene.lighting.gain(state.t))
        layer = replace(resting.layer, image=self._tinted(resting, gain).copy())
        moving = [b for b in state.balls if not b.pocketed and not b.resting]
        if moving and self.spec.shadows:
            centres = np.array([[b.x, b.y, b.z] for b in moving])
            shadows = self.shadows.balls(centres, RADIUS, coarse=True)
            self.compositor.shadow(layer, shadows.index, shadows.light)
        if self.spec.shadows and self.scene.occluders:
            for shadows in self._moving_shadows(state):
                self.compositor.shadow(layer, shadows.index, shadows.light)
        parts = [self._moving_balls(moving), *self._cue_and_hands(state)]
        frags = Fragments.concat(parts)
        if len(frags) and not np.allclose(gain, 1.0):
            # a new batch: fragments may be cached; the sRGB gain is about gain^2.2 in linear light
            frags = replace(frags, colour=frags.colour * (gain**2.2).astype(np.float32))
        coverage = self.compositor.over(layer, frags, OWNERS)
        seen = _per_owner(frags, coverage.visible)
        image = self.sensor.expose(layer.image, frame)
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

    def _tinted(self, static: _Static, gain: F64) -> NDArray[np.uint8]:
        """The static layer's image under the lamps' current drift (kept while it holds)."""
        if np.allclose(gain, 1.0):
            return static.layer.image
        key = (static.serial, tuple(gain))
        if self._tint_key != key:
            self._tint_image = tint(static.layer.image, gain)
            self._tint_key = key
        return self._tint_image

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
        rest = round(pose.height_over(stance.bridge_x, stance.bridge_y), 7)
        hand = (stance, pose.direction_deg, pose.elevation_deg, rest)
        if self._handed is None or self._handed.key != (key, hand):
            self._handed = self._build_handed(
                self._resting, bridge_capsules(pose, stance), (key, hand)
            )
        return self._handed

    def _build_handed(
        self, resting: _Static, hand: list[Capsule], key: tuple[object, ...]
    ) -> _Static:
        layer = resting.layer.copy()
        if self.spec.shadows:
            shadows = self.shadows.capsules(hand)
            self.compositor.shadow(layer, shadows.index, shadows.light)
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
        """The moving balls, blurred along their paths over the exposure."""
        frags = self.balls.paint(moving)
        exp = self.spec.exposure_s
        if exp <= 0 or not moving or len(frags) == 0:
            return frags
        centre = np.array([[b.x, b.y, b.z] for b in moving])
        half = 0.5 * exp * np.array([[b.vx, b.vy, 0.0] for b in moving])
        ends = self.camera.project(np.concatenate([centre - half, centre + half]))
        path = ends[len(moving) :] - ends[: len(moving)]
        slot = np.full(OWNERS, -1, np.intp)
        slot[[b.number for b in moving]] = np.arange(len(moving))
        longest = float(np.abs(path).max())
        samples = min(max(math.ceil(longest / 1.5), 1), 16)
        return frags.smeared(path[slot[frags.owner]], samples, self.rays.shape)

    def _moving_shadows(self, state: SceneState) -> list[Shadows]:
        """Shadows of the cue (cached per position) and of a placing hand (the grip hand is
        nearly always off the cloth)."""
        out = []
        if state.placing is not None:
            hand = placing_capsules(*state.placing, RADIUS, self.scene.player)
            out.append(self.shadows.capsules(hand, coarse=True))
        if state.cue is not None:
            pose = state.cue
            cached = self._cue_shadow.get(pose)
            if cached is None:
                cached = self.shadows.capsules(cue_capsules(pose), coarse=True)
                self._cue_shadow[pose] = cached
                if len(self._cue_shadow) > HELD_CACHE:
                    self._cue_shadow.popitem(last=False)
            out.append(cached)
        return out

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
        path, samples = self._cue_smear(pose, state.cue_speed)
        for held in self._held(pose, state.stance):
            shift = np.broadcast_to(path, (len(held), 2))
            out.append(held.smeared(shift, samples, self.rays.shape))
        return out

    def _held(self, pose: CuePose, stance: Stance | None) -> tuple[Fragments, Fragments]:
        """The cue and the grip hand at ``pose``, unblurred (cached: strokes repeat positions)."""
        key = (pose, stance)
        if key in self._held_cache:
            self._held_cache.move_to_end(key)
            return self._held_cache[key]
        cue = self.cue.paint(cue_capsules(pose), CUE_ID)
        grip = Fragments.empty()
        if stance is not None:
            grip = self.cue.paint(grip_capsules(pose, stance), HAND_ID)
        self._held_cache[key] = (cue, grip)
        if len(self._held_cache) > HELD_CACHE:
            self._held_cache.popitem(last=False)
        return cue, grip

    def _cue_smear(self, pose: CuePose, speed: float) -> tuple[F64, int]:
        """The cue's path in pixels over the exposure (it slides along its axis), and how
        many instants to average (few: a sliding cylinder only blurs at its ends and bands)."""
        exp = self.spec.exposure_s
        if exp <= 0 or speed == 0:
            return np.zeros(2), 1
        half = 0.5 * exp * speed * pose.axis()
        tip = pose.point(0.0)
        ends = self.camera.project(np.stack([tip - half, tip + half]))
        path = ends[1] - ends[0]
        return path, min(max(math.ceil(float(np.abs(path).max()) / 2.0), 1), 8)

    def _ball_truth(
        self, balls: tuple[BallState, ...], resting: _Static, seen: F64, hidden: F64
    ) -> tuple[BallTruth, ...]:
        shown = [b for b in balls if not b.pocketed]
        centres = np.array([[b.x, b.y, b.z] for b in shown]).reshape(-1, 3)
        sil = silhouettes(self.camera, centres, RADIUS)
        numbers = np.array([b.number for b in shown], np.intp)
        area = math.pi * sil.radius_px**2
        moving = np.array([not b.resting for b in shown], bool)
        vis_moving = seen[numbers, 0] / np.where(seen[numbers, 1] > 0, seen[numbers, 1], area)
        total = np.where(resting.seen[numbers, 1] > 0, resting.seen[numbers, 1], area)
        left = resting.seen[numbers, 0] - resting.hidden[numbers] - hidden[numbers]
        vis = np.clip(np.where(moving, vis_moving, left / total), 0.0, 1.0)
        rows = np.column_stack([sil.centre_px, sil.radius_px, sil.centroid_px, vis]).tolist()
        found = {b.number: row for b, row in zip(shown, rows, strict=True)}
        return tuple(_truth(b, found.get(b.number)) for b in balls)

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

    serials = itertools.count()

    def __init__(self, key: tuple[object, ...], layer: Layer, seen: F64, hidden: F64) -> None:
        self.key, self.layer, self.seen, self.hidden = key, layer, seen, hidden
        self.serial = next(_Static.serials)


def _per_owner(frags: Fragments, visible: F64) -> F64:
    """(OWNERS, 2): summed visible alpha and total alpha per owner id."""
    out = np.zeros((OWNERS, 2))
    if len(frags):
        out[:, 0] = np.bincount(frags.owner, visible, OWNERS)
        out[:, 1] = np.bincount(frags.owner, frags.alpha.astype(np.float64), OWNERS)
    return out


def _truth(b: BallState, row: list[float] | None) -> BallTruth:
    """Truth of one ball; ``row`` is (x_px, y_px, r_px, centroid x, centroid y, visible)."""
    x, y, r, cx, cy, vis = row if row is not None else (None, None, None, None, None, 0.0)
    return BallTruth(
        number=b.number,
        kind=kind(b.number),
        x=float(b.x),
        y=float(b.y),
        z=float(b.z),
        vx=float(b.vx),
        vy=float(b.vy),
        pocketed=b.pocketed,
        visible_fraction=float(vis or 0.0),
        x_px=x,
        y_px=y,
        r_px=r,
        centroid_x_px=cx,
        centroid_y_px=cy,
    )
