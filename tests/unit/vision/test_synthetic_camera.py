"""The synthetic camera's geometry: projection, lens inversion, framing, ray grid."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.vision.synthetic.camera import CameraModel, CameraPose, Lens, camera_from_pose
from nodes.vision.synthetic.ray import RayGrid
from nodes.vision.synthetic.table import TableLayout
from nodes.vision.synthetic.variation import lens_covers, randomized

LAYOUT = TableLayout.nine_foot()
DIST = (-0.22, 0.06, 0.0015, -0.001, -0.005)


def tilted(width: int = 640, height: int = 360, dist=DIST) -> CameraModel:
    pose = CameraPose(height=1.8, tilt_deg=12.0, tilt_azimuth_deg=210.0, yaw_deg=4.0, target_x=0.1)
    return camera_from_pose(pose, Lens(fill=0.9, dist=dist), width, height, LAYOUT.outer)


def test_projection_is_cv2_project_points():
    cam = tilted()
    pts = np.random.default_rng(0).uniform([-1.3, -0.7, 0.0], [1.3, 0.7, 0.06], (50, 3))
    expected, _ = cv2.projectPoints(
        pts, np.array(cam.rvec), np.array(cam.tvec), cam.matrix, cam.dist_coeffs
    )
    assert np.allclose(cam.project(pts), expected.reshape(-1, 2), atol=1e-9)


def test_undistort_inverts_a_strong_lens_to_a_nanopixel():
    cam = tilted()
    u, v = np.meshgrid(np.linspace(-20, 660, 35), np.linspace(-20, 380, 21))
    px = np.column_stack([u.ravel(), v.ravel()])
    norm = cam.undistort(px)
    rays = np.column_stack([norm, np.ones(len(norm))])
    back, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), cam.matrix, cam.dist_coeffs)
    assert np.abs(back.reshape(-1, 2) - px).max() < 1e-6


def test_camera_from_pose_puts_the_table_in_the_image_at_the_requested_fill():
    cam = camera_from_pose(CameraPose(height=2.0), Lens(fill=0.9), 1280, 720, LAYOUT.outer)
    ox, oy = LAYOUT.outer
    corners = cam.project([[sx * ox, sy * oy, 0.0] for sx in (-1, 1) for sy in (-1, 1)])
    span = corners.max(axis=0) - corners.min(axis=0)
    assert max(span[0] / 1280, span[1] / 720) == pytest.approx(0.9, abs=0.01)
    assert np.allclose(cam.position, [0.0, 0.0, 2.0], atol=1e-9)
    centre = cam.project([[0.0, 0.0, 0.0]])[0]
    assert np.allclose(centre, [639.5, 359.5], atol=1e-6)


def test_table_x_points_right_and_y_up_in_an_unrotated_image():
    cam = camera_from_pose(CameraPose(height=2.0), Lens(), 640, 360, LAYOUT.outer)
    origin, east, north = cam.project([[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0]])
    assert east[0] > origin[0] + 50 and abs(east[1] - origin[1]) < 1e-6
    assert north[1] < origin[1] - 50 and abs(north[0] - origin[0]) < 1e-6


def test_camera_model_survives_a_dict_round_trip():
    cam = tilted()
    assert CameraModel.from_dict(cam.as_dict()) == cam


def test_ray_grid_rays_project_back_to_their_pixel_centres():
    cam = tilted(320, 180)
    rays = RayGrid.build(cam, 16)
    rows = np.array([0, 16, 100, 195, 211])
    cols = np.array([0, 16, 170, 335, 351])
    d = rays.directions[rows, cols].astype(np.float64)
    table_pts = (d * 2.0 - np.array(cam.tvec)) @ cam.rotation  # points along each ray
    px = cam.project(table_pts)
    assert np.abs(px - np.column_stack([cols - 16, rows - 16])).max() < 1e-3


def test_lens_check_rejects_a_distortion_that_folds_inside_the_image():
    assert lens_covers(tilted(dist=DIST))
    assert not lens_covers(tilted(dist=(-0.45, 0.0, 0.0, 0.0, 0.0)))


@pytest.mark.parametrize("seed", range(6))
def test_randomized_lenses_are_invertible_over_the_image(seed):
    scene, render = randomized(seed, width=320, height=180)
    assert lens_covers(scene.camera(render.width, render.height, LAYOUT))
    assert 1.5 <= scene.pose.height <= 2.5
