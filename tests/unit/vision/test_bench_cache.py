"""The vision benchmark itself: its scene cache (the same pixels back) and its scoring."""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import vision_accuracy


def args(cache: Path | None) -> argparse.Namespace:
    return argparse.Namespace(
        width=320, height=180, frames=2, spacing=5, start=0, intrinsics="auto", cache=cache
    )


def test_a_cached_scene_is_the_rendered_one_and_is_not_rendered_again(tmp_path, monkeypatch):
    fresh = vision_accuracy.render_scene(1000, args(None))
    first = vision_accuracy.cached_scene(1000, args(tmp_path))
    (stored,) = tmp_path.glob("scene-1000-320x180-2-5-auto-*.pickle")
    # plain fields: run as a script the bench's classes live in __main__, imported elsewhere
    with stored.open("rb") as f:
        assert isinstance(pickle.load(f), dict)

    def never(*_: object) -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr(vision_accuracy, "render_scene", never)
    again = vision_accuracy.cached_scene(1000, args(tmp_path))
    for scene in (first, again):
        assert np.array_equal(scene.first, fresh.first)
        assert len(scene.frames) == 2
        for (image, truth), (want, want_truth) in zip(scene.frames, fresh.frames, strict=True):
            assert np.array_equal(image, want)
            assert truth.frame == want_truth.frame
    with pytest.raises(AssertionError, match="rendered again"):
        vision_accuracy.cached_scene(1001, args(tmp_path))


def test_a_cue_reported_when_none_is_in_view_is_counted_false():
    from types import SimpleNamespace

    tally = vision_accuracy.Tally()
    seen = SimpleNamespace(direction_deg=10.0, visible_fraction=0.8, tip_x=0.5, tip_y=0.1)
    found = SimpleNamespace(cue=SimpleNamespace(direction_deg=10.2, tip_x=0.53, tip_y=0.14))
    vision_accuracy._score_cue(found, SimpleNamespace(cue=None), tally)
    vision_accuracy._score_cue(SimpleNamespace(cue=None), SimpleNamespace(cue=None), tally)
    vision_accuracy._score_cue(found, SimpleNamespace(cue=seen), tally)
    assert (tally.cue_absent, tally.cue_false) == (2, 1)
    assert (tally.cue_truth, tally.cue_found) == (1, 1)
    assert tally.cue_tip_mm == pytest.approx([50.0])


def test_the_ab_bench_renames_only_the_projects_packages():
    import vision_ab

    source = (
        "from nodes.vision import rim\nimport protocol.messages\n"
        "from nodes.vision.felt import FeltModel  # the nodes. of it\n"
        "x = nodes.vision.cue.find(protocol_version, 'see the nodes')\n"
    )
    assert vision_ab.renamed(source, "base_") == (
        "from base_nodes.vision import rim\nimport base_protocol.messages\n"
        "from base_nodes.vision.felt import FeltModel  # the nodes. of it\n"
        "x = base_nodes.vision.cue.find(protocol_version, 'see the nodes')\n"
    )


def test_the_misses_bench_runs_a_scene_and_says_where_each_miss_was_lost():
    import vision_misses

    misses, expected = vision_misses.scene_misses(1000, args(None))
    assert expected > 0 and len(misses) <= expected
    for miss in misses:
        assert 0.0 <= miss.weak <= 1.0 and 0.0 <= miss.strong <= 1.0 and miss.seed_radii >= 0
    fields = dict(
        seed=1, frame=0, number=6, moving=False, visible=1.0, cloth="green", delta_e=10.0,
        touching=0, player=0.0, seed_strength=0.2, strong=1.0, weak=0.4,
    )  # fmt: skip
    rejected = vision_misses.Miss(**fields, seed_radii=0.1, accepted=False)
    unseeded = vision_misses.Miss(**fields, seed_radii=2.0, accepted=True)
    assert rejected.lost_in.startswith("judging") and unseeded.lost_in.startswith("seeding")
    assert rejected.around == "the cloth's colour"


def test_the_centre_bench_finds_the_true_silhouette_where_the_pipeline_expects_it():
    import math

    import vision_centre

    from nodes.vision.synthetic.camera import CameraModel

    camera = CameraModel(width=1280, height=720, fx=600.0, fy=600.0, cx=640.0, cy=360.0)
    radius = 0.028575
    # under the camera the outline is centred on the ball's projection
    below = vision_centre.silhouette(camera, np.array([0.0, 0.0, radius]), radius)
    assert below == pytest.approx([640.0, 360.0], abs=1e-6)
    # off the axis it lies further out, where pipeline.silhouette_to_centre undoes it:
    # at theta off the axis and angular radius alpha the midpoint is at
    # sin(2 theta) / (cos(2 theta) + cos(2 alpha))
    centre = np.array([1.0, 0.0, radius])
    found = vision_centre.silhouette(camera, centre, radius)
    x, y, z = camera.to_camera(centre[None])[0]
    assert y == pytest.approx(0.0)
    theta = math.atan(x / z)
    alpha = math.asin(radius / math.hypot(x, z))
    expected = 640.0 + 600.0 * math.sin(2 * theta) / (math.cos(2 * theta) + math.cos(2 * alpha))
    assert found[0] == pytest.approx(expected, abs=0.01)  # a circle fitted to an ellipse
    assert found[0] > camera.project(centre[None])[0][0]
