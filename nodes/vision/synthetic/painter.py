"""Turns ball states into shaded fragments: ray-cast spheres, textured by each ball's
orientation, lit by the lamps (Lambert, two-lobe Blinn-Phong highlight, ambient light from the
room above and from the lit cloth below)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from nodes.vision.synthetic import colour
from nodes.vision.synthetic.ball import RADIUS, BallLook, BallState
from nodes.vision.synthetic.capsule import Capsule, cast_capsules
from nodes.vision.synthetic.cue import CUE, SLEEVE, CueLook, Player
from nodes.vision.synthetic.fragment import Fragments
from nodes.vision.synthetic.lighting import Lighting, direct, highlight
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.sphere import cast_spheres, silhouettes

F64 = NDArray[np.float64]


class BallPainter:
    """Fragments of balls for one camera and lighting."""

    def __init__(
        self,
        rays: RayGrid,
        lighting: Lighting,
        *,
        exposure: float,
        ambient: float,
        cloth: str,
        radius: float = RADIUS,
    ) -> None:
        self.rays = rays
        self.camera = rays.camera
        self.rotation = self.camera.rotation
        self.eye = self.camera.position
        self.lighting = lighting
        self.exposure = exposure
        self.ambient = ambient
        self.bounce = colour.rgb(cloth) * ambient * 1.6
        self.tint = lighting.colour
        self.radius = radius
        self.look = BallLook()

    def paint(self, balls: Sequence[BallState]) -> Fragments:
        """Fragments of the balls (pocketed ones excluded) at one instant."""
        shown = [b for b in balls if not b.pocketed]
        if not shown:
            return Fragments.empty()
        centres = np.array([[b.x, b.y, b.z] for b in shown])
        sil = silhouettes(self.camera, centres, self.radius)
        hits = cast_spheres(self.rays, self.camera.to_camera(centres), self.radius, sil.bbox)
        normal = hits.normal @ self.rotation
        orient = np.stack([b.rotation for b in shown])[hits.which]
        body = np.einsum("ni,nij->nj", normal, orient)
        numbers = np.array([b.number for b in shown], np.intp)[hits.which]
        albedo = self.look.albedo(numbers, body, hits.footprint)
        points = centres[hits.which] + self.radius * normal
        rgb = self._light(albedo, points, normal)
        return Fragments(
            hits.index,
            hits.depth.astype(np.float32),
            hits.alpha.astype(np.float32),
            rgb.astype(np.float32),
            numbers.astype(np.int16),
        )

    def _light(self, albedo: F64, points: F64, normal: F64) -> F64:
        nz = normal[:, 2]
        sky = self.ambient * (0.55 + 0.45 * nz) * (1.0 - 0.4 * np.clip(-nz, 0.0, 1.0))
        light = sky + direct(self.lighting, points, normal)
        below = np.clip(-nz, 0.0, 1.0)[:, None] * self.bounce[None, :]
        shine = 1.6 * highlight(self.lighting, points, normal, self.eye, 350.0)
        shine += 0.12 * highlight(self.lighting, points, normal, self.eye, 30.0)
        out = albedo * (light[:, None] + below) + shine[:, None]
        return np.asarray(out * self.tint * self.exposure)


class CuePainter:
    """Fragments of the cue stick, hands and arms."""

    def __init__(
        self, rays: RayGrid, lighting: Lighting, player: Player, *, exposure: float, ambient: float
    ) -> None:
        self.rays = rays
        self.eye = rays.camera.position
        self.lighting = lighting
        self.look = CueLook(player)
        self.exposure = exposure
        self.ambient = ambient
        self.tint = lighting.colour

    def paint(self, capsules: list[Capsule], owner: int) -> Fragments:
        """One object made of capsules (overlaps keep the nearest surface)."""
        if not capsules:
            return Fragments.empty()
        hits = cast_capsules(self.rays, capsules)
        parts = np.array([c.part for c in capsules], np.intp)[hits.which]
        albedo = self.look.albedo(parts, hits.along)
        nz = hits.normal[:, 2]
        light = self.ambient * (0.6 + 0.4 * nz) + direct(self.lighting, hits.point, hits.normal)
        rgb = albedo * light[:, None]
        glossy = np.flatnonzero(parts != SLEEVE)
        if len(glossy):
            gloss = np.where(parts[glossy] == CUE, 0.5, 0.08)
            shine = highlight(
                self.lighting, hits.point[glossy], hits.normal[glossy], self.eye, 60.0
            )
            rgb[glossy] += (gloss * shine)[:, None]
        rgb *= self.tint * self.exposure
        return Fragments(
            hits.index,
            hits.depth.astype(np.float32),
            hits.alpha.astype(np.float32),
            rgb.astype(np.float32),
            np.full(len(hits.index), owner, np.int16),
        )
