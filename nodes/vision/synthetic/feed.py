"""The synthetic camera as a frame source: a director playing pool, rendered frame by frame.

Frame n is exposed around scene time n / fps; its capture timestamp is whatever the caller
says (the live source passes wall-clock time) or n / fps seconds after zero.
"""

from __future__ import annotations

from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.director import Director
from nodes.vision.synthetic.renderer import Renderer
from nodes.vision.synthetic.scene import RenderSpec, SceneSpec, SceneState
from nodes.vision.synthetic.table import TableLayout
from nodes.vision.synthetic.truth import SyntheticFrame
from nodes.vision.synthetic.variation import Ranges, randomized


class SyntheticCamera:
    """Renders the director's game: ``next_frame()`` gives consecutive frames."""

    def __init__(self, scene: SceneSpec, render: RenderSpec, layout: TableLayout | None = None):
        self.scene, self.spec = scene, render
        self.renderer = Renderer(scene, render, layout)
        self.director = Director(scene.seed, self.renderer.layout, scene.player)
        self.frame = 0

    @staticmethod
    def from_seed(
        seed: int = 0,
        *,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        randomize: bool = False,
        ranges: Ranges | None = None,
    ) -> SyntheticCamera:
        """The default scene (or a randomized one) at this size and frame rate."""
        if randomize:
            scene, render = randomized(seed, width=width, height=height, fps=fps, ranges=ranges)
        else:
            scene, render = SceneSpec(seed=seed), RenderSpec(width=width, height=height, fps=fps)
        return SyntheticCamera(scene, render)

    @property
    def camera(self) -> CameraModel:
        """The camera model (the same one the ground truth uses)."""
        return self.renderer.camera

    @property
    def fps(self) -> float:
        """Frames per second of scene time."""
        return self.spec.fps

    def time_of(self, frame: int) -> float:
        """Scene time (s) at the middle of frame ``frame``'s exposure."""
        return frame / self.spec.fps

    def state(self, frame: int) -> SceneState:
        """The scene for ``frame`` (frames must not go backwards)."""
        return self.director.state(self.time_of(frame))

    def next_frame(self, capture_ns: int | None = None) -> SyntheticFrame:
        """Render the next frame."""
        n = self.frame
        self.frame += 1
        stamp = capture_ns if capture_ns is not None else round(n * 1e9 / self.spec.fps)
        return self.renderer.render(self.state(n), n, stamp)

    def skip(self, frames: int) -> None:
        """Advance the game by ``frames`` frames without rendering them."""
        for _ in range(frames):
            self.state(self.frame)
            self.frame += 1
