"""Calibration from rendered frames: felt corners, homographies, parallax, chessboards."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from nodes.vision import calibration, chessboard, edge, table
from nodes.vision.calibration import Intrinsics, TableSpec
from nodes.vision.geometry import Geometry
from nodes.vision.pipeline import ball_table_positions
from nodes.vision.synthetic.camera import CameraModel
from nodes.vision.synthetic.feed import SyntheticCamera
from tests.unit.vision import scenes

SPEC = TableSpec()


def known_intrinsics(model: CameraModel) -> Intrinsics:
    """What a chessboard calibration of the installed camera would give."""
    return Intrinsics(model.width, model.height, model.matrix, model.dist_coeffs, "chessboard")


@pytest.fixture(scope="module")
def tilted():
    frame = scenes.render("tilted", [(0, -0.6, 0.1), (8, 0.9, -0.3)])
    model = frame.truth.camera
    return frame, model, table.calibrate(frame.image, SPEC, known_intrinsics(model))


@pytest.fixture(scope="module")
def straight():
    return scenes.render("ideal", [(0, -0.6, 0.1)])


def test_felt_corners_within_a_pixel_seen_straight_down(straight):
    model = straight.truth.camera
    found = table.calibrate(straight.image, SPEC, camera_height=2.5)
    assert found is not None
    error = np.linalg.norm(found.corners_px - model.project(SPEC.surface(0.0)), axis=1)
    assert error.max() < 1.0


def test_felt_corners_within_a_pixel_through_a_tilted_distorting_lens(tilted):
    _, model, found = tilted
    assert found is not None
    error = np.linalg.norm(found.corners_px - model.project(SPEC.surface(0.0)), axis=1)
    assert error.max() < 1.0


def test_felt_corners_within_a_pixel_in_a_dim_room_with_a_dark_red_cloth():
    # seed 4008: wine cloth on brown wood, dim and noisy: single profiles across the felt's
    # edge scattered by 2-3 px and the table was not found; averaged along the side they agree
    camera = SyntheticCamera.from_seed(4008, width=1280, height=720, randomize=True)
    image = camera.next_frame().image
    model = camera.camera
    found = table.calibrate(image, SPEC, known_intrinsics(model))
    assert found is not None
    error = np.linalg.norm(found.corners_px - model.project(SPEC.surface(0.0)), axis=1)
    assert error.max() < 1.0


def test_ball_plane_homography_reprojects_table_points(tilted):
    _, model, found = tilted
    rng = np.random.default_rng(1)
    xy = rng.uniform(-1, 1, (50, 2)) * [SPEC.length / 2 - 0.03, SPEC.width / 2 - 0.03]
    points = np.column_stack([xy, np.full(len(xy), SPEC.ball_radius)])
    truth_px = model.project(points)
    undist = cv2.perspectiveTransform(xy.reshape(-1, 1, 2), found.ball_homography).reshape(-1, 2)
    assert np.abs(found.intrinsics.distort(undist) - truth_px).max() < 0.6
    assert np.hypot(*(found.to_table(truth_px) - xy).T).max() < 0.0015


def test_a_ball_at_a_table_corner_lands_within_2_mm_thanks_to_the_ball_plane(tilted):
    _, model, found = tilted
    corner = np.array([[SPEC.length / 2 - SPEC.ball_radius, SPEC.width / 2 - SPEC.ball_radius]])
    pixel = model.project(np.append(corner, SPEC.ball_radius).reshape(1, 3))
    on_ball_plane = found.to_table(pixel)
    on_cloth = found.to_table(pixel, z=0.0)
    assert np.hypot(*(on_ball_plane - corner).T)[0] < 0.002
    assert np.hypot(*(on_cloth - corner).T)[0] > 0.008  # what the felt homography would do


def test_manual_corners_give_the_same_table(tilted):
    _, model, _ = tilted
    corners = model.project(SPEC.surface(0.0))
    manual = table.calibrate_manual(
        corners, SPEC, (model.width, model.height), known_intrinsics(model)
    )
    assert manual.method == "manual"
    xy = np.array([[0.3, 0.2], [-1.0, -0.5]])
    pixel = model.project(np.column_stack([xy, np.full(2, SPEC.ball_radius)]))
    assert np.hypot(*(manual.to_table(pixel) - xy).T).max() < 0.001


def test_chessboard_views_recover_the_intrinsics():
    model = CameraModel(
        width=960, height=540, fx=700.0, fy=700.0, cx=482.0, cy=268.0,
        dist=(-0.15, 0.04, 0.0, 0.0, 0.0),
    )  # fmt: skip
    ys, xs = np.mgrid[0:540, 0:960]
    pixels = np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float64)
    normalized = model.undistort(pixels)
    rng = np.random.default_rng(4)
    views = []
    for _ in range(14):
        rot, _ = cv2.Rodrigues(np.radians(rng.uniform(-40, 40, 3)))
        centre = np.array(
            [rng.uniform(-0.25, 0.25), rng.uniform(-0.12, 0.12), rng.uniform(1.0, 1.4)]
        )
        trans = centre - rot @ np.array([5 * 0.05, 3.5 * 0.05, 0.0])
        views.append(chessboard.render_board(normalized, (960, 540), rot, trans, (9, 6), 0.05))
    result = chessboard.calibrate_images(views, (9, 6), 0.05)
    found = result.intrinsics
    assert len(result.used) >= 10
    assert found.focal == pytest.approx(700.0, rel=0.01)
    assert abs(found.matrix[0, 2] - 482.0) < 5 and abs(found.matrix[1, 2] - 268.0) < 5
    assert found.dist[0] == pytest.approx(-0.15, abs=0.02)
    assert found.rms_px is not None and found.rms_px < 0.5


def test_too_few_chessboard_views_is_a_clear_error():
    blank = np.full((120, 160, 3), 200, np.uint8)
    with pytest.raises(ValueError, match="at least"):
        chessboard.calibrate_images([blank] * 4, (9, 6), 0.025)


def test_calibration_round_trips_through_json(tilted, tmp_path):
    _, _, found = tilted
    path = tmp_path / "vision" / "calibration.json"
    calibration.save(found, path)
    again = calibration.load(path)
    assert again is not None
    assert np.allclose(again.corners_px, found.corners_px)
    assert np.allclose(again.ball_homography, found.ball_homography)
    message = again.message("cam0")
    assert message.camera == "cam0" and len(message.homography) == 9
    assert message.camera_matrix is not None and message.distortion is not None


def test_unreadable_stored_calibration_is_ignored(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text("{not json")
    assert calibration.load(path) is None
    assert calibration.load(tmp_path / "missing.json") is None


def test_turning_the_table_swaps_its_ends(tilted):
    _, _, found = tilted
    turned = found.turned()
    head = found.to_image(np.array([[-1.0, 0.2, 0.0]]))
    assert np.allclose(turned.to_image(np.array([[1.0, -0.2, 0.0]])), head, atol=1e-6)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((720, 1280, 3), np.uint8),
        np.random.default_rng(0).integers(0, 255, (720, 1280, 3)).astype(np.uint8),
    ],
    ids=["black", "noise"],
)
def test_no_table_in_view_gives_no_calibration(image):
    assert table.calibrate(image, SPEC) is None


def test_focal_length_is_measured_from_a_tilted_view():
    model = CameraModel(width=1280, height=720, fx=800.0, fy=800.0, cx=639.5, cy=359.5,
                        rvec=(math.radians(200), 0.0, 0.0), tvec=(0.0, 0.3, 2.1))  # fmt: skip
    edge = model.project(SPEC.felt_edge)
    focal = calibration.estimate_focal(calibration.order_corners(edge), SPEC, 1280, 720)
    assert focal == pytest.approx(800.0, rel=0.02)


FELT_EDGE = (100.3, 90.7, 1180.6, 630.2)  # x0, y0, x1, y1 of a straight-down felt rectangle


BLUE_CLOTH, BROWN_WOOD = (0.50, 0.10, 0.01), (0.014, 0.027, 0.067)  # linear BGR


def felt_on_wood(
    jpeg: int | None,
    sampling: int | None = None,
    felt_lin: tuple[float, float, float] = BLUE_CLOTH,
    wood_lin: tuple[float, float, float] = BROWN_WOOD,
    noise_bytes: float = 2.0,
) -> np.ndarray:
    """A cloth on wood (blue on brown unless told), mixed in linear light at the sub-pixel
    ``FELT_EDGE`` and blurred a little (as a lens does), with sensor noise (``noise_bytes``,
    sRGB levels), then JPEG-compressed if asked."""
    x0, y0, x1, y1 = FELT_EDGE
    xs, ys = np.arange(1280.0), np.arange(720.0)
    cover_x = np.clip(np.minimum(xs + 0.5, x1) - np.maximum(xs - 0.5, x0), 0, 1)
    cover_y = np.clip(np.minimum(ys + 0.5, y1) - np.maximum(ys - 0.5, y0), 0, 1)
    felt = np.outer(cover_y, cover_x)[..., None]
    mixed = felt * np.array(felt_lin) + (1 - felt) * np.array(wood_lin)
    lin = cv2.GaussianBlur(mixed, (0, 0), 0.6)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055) * 255
    noise = np.random.default_rng(7).normal(0.0, noise_bytes, srgb.shape)
    image = np.clip(np.rint(srgb + noise), 0, 255).astype(np.uint8)
    if jpeg is None:
        return image
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg]
    if sampling is not None:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
    return cv2.imdecode(cv2.imencode(".jpg", image, params)[1], cv2.IMREAD_COLOR)


def outward_error(image: np.ndarray) -> float:
    """Mean distance (px) the found felt corners lie outside the true ones."""
    found = table.find_edge(image)
    assert found is not None
    x0, y0, x1, y1 = FELT_EDGE
    truth = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    outward = truth - truth.mean(axis=0)
    outward /= np.linalg.norm(outward, axis=1)[:, None]
    near = [np.argmin(np.linalg.norm(found.corners_px - t, axis=1)) for t in truth]
    return float(np.mean(np.sum((found.corners_px[near] - truth) * outward, axis=1)))


@pytest.mark.parametrize("jpeg", [None, 90, 70])
def test_felt_edge_is_not_pulled_in_by_jpeg_half_resolution_chroma(jpeg):
    # JPEG keeps the chroma at half resolution: the colour's half-way point moved 0.3-0.6 px
    # towards the felt here (the table shrank); read from the luma, kept whole, the edge is
    # within 0.13 px at every quality (and 0.08 px without JPEG, where the colour is read)
    assert abs(outward_error(felt_on_wood(jpeg))) < 0.15


@pytest.mark.parametrize(
    ("felt_lin", "wood_lin", "noise_bytes"),
    [
        (BLUE_CLOTH, BROWN_WOOD, 2.0),
        ((0.02, 0.12, 0.03), (0.01, 0.03, 0.08), 3.0),  # green cloth
        ((0.012, 0.006, 0.042), (0.005, 0.012, 0.037), 3.0),  # a dim room's wine cloth
    ],
    ids=["blue", "green", "dim-wine"],
)
def test_felt_edge_of_a_clean_frame_is_placed_within_a_twentieth_of_a_pixel(
    felt_lin, wood_lin, noise_bytes
):
    # the half mix was read off each profile's distance from the felt's colour, which the
    # noise only adds to: 0.07-0.1 px in here (and 0.1-0.3 px out on the bench's dim tables);
    # projected on the line from the felt's colour to the wood's, the noise averages out
    image = felt_on_wood(None, felt_lin=felt_lin, wood_lin=wood_lin, noise_bytes=noise_bytes)
    assert abs(outward_error(image)) < 0.05


def test_felt_edge_is_read_from_the_luma_where_a_little_wood_brightens_a_blue_cloth():
    # a little red wood mixed into a blue cloth first raises Y', so the luma reads the cloth
    # next to the edge as a 0.3 mix; such profiles were refused, and the side fell back to
    # the colour, which JPEG's half-resolution chroma pulls 0.5 px in
    blue, red = (0.145, 0.052, 0.0067), (0.0051, 0.0106, 0.0416)
    image = felt_on_wood(70, felt_lin=blue, wood_lin=red, noise_bytes=1.0)
    assert abs(outward_error(image)) < 0.3


def test_a_felt_edge_whose_luma_step_is_lost_in_the_noise_is_read_from_the_colour():
    # a wine cloth on dark wood, 8 levels of Y' apart, in a noisy JPEG frame: read from the
    # luma (its step under LUMA_SNR times its noise) the edge lay 0.34 px out, from the
    # colour 0.11 px in
    image = felt_on_wood(
        95, felt_lin=(0.02, 0.015, 0.09), wood_lin=(0.014, 0.036, 0.07), noise_bytes=16.0
    )
    x0, y0, x1, y1 = FELT_EDGE
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    points, ok = table._side_points(
        image, edge.linear(image), corners[0], corners[1], corners.mean(axis=0),
        table.LONG_SPANS, None, 4.0, True,
    )  # fmt: skip
    assert abs(np.median(points[ok, 1]) - y0) < 0.2


def test_subsampled_chroma_is_told_from_a_cameras():
    assert min(edge.chroma_detail(felt_on_wood(None))) > 0.6
    assert max(edge.chroma_detail(felt_on_wood(90))) < 0.3
    assert max(edge.chroma_detail(felt_on_wood(40))) < 0.3
    along_x, _ = edge.chroma_detail(felt_on_wood(90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422))
    assert along_x < 0.3


def grazing_outline(model: CameraModel, centre: np.ndarray, samples: int = 180) -> np.ndarray:
    """The silhouette of a ball at ``centre`` in ``model``'s image (samples, 2): the circle of
    the sphere that the camera's rays graze, projected."""
    radius = SPEC.ball_radius
    towards = centre - model.position
    distance = float(np.linalg.norm(towards))
    axis = towards / distance
    across = np.cross(axis, [1.0, 0.0, 0.0])
    across /= np.linalg.norm(across)
    other = np.cross(axis, across)
    angles = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)[:, None]
    ring = radius * math.sqrt(1.0 - (radius / distance) ** 2)
    rim = (
        centre
        - axis * radius**2 / distance
        + ring * (np.cos(angles) * across + np.sin(angles) * other)
    )
    return np.asarray(model.project(rim))


def grazing_outline_centre(model: CameraModel, centre: np.ndarray) -> np.ndarray:
    """Where the silhouette of a ball at ``centre`` is centred in ``model``'s image: its
    :func:`grazing_outline` fitted with a circle."""
    px = grazing_outline(model, centre)
    solution = np.linalg.lstsq(np.column_stack([px, np.ones(len(px))]), (px**2).sum(axis=1))[0]
    return np.asarray(solution[:2] / 2)


def barrel_camera(focal: float, height: float) -> tuple[CameraModel, calibration.TableCalibration]:
    """A camera ``height`` m over the table with a strong barrel lens of ``focal`` px, and
    its calibration as a chessboard and the felt would give it."""
    model = CameraModel(
        width=1280, height=720, fx=focal, fy=focal, cx=645.0, cy=352.0,
        dist=(-0.28, 0.06, 0.001, -0.001, 0.0),
        rvec=(math.radians(185), math.radians(4), 0.0), tvec=(0.05, -0.1, height),
    )  # fmt: skip
    cal = calibration.TableCalibration(
        SPEC, known_intrinsics(model), np.array(model.rvec), np.array(model.tvec)
    )
    return model, cal


def test_a_ball_seen_through_a_barrel_lens_is_placed_on_its_centre():
    # the silhouette's middle was moved to the centre's projection by a pinhole's closed form,
    # the lens left out: a strong barrel bends a ball's near and far sides unequally, and
    # balls landed up to 0.43 mm off here; the shift is now projected through the lens
    model, cal = barrel_camera(760.0, 1.9)
    geo = Geometry(cal)
    balls = np.array([[x, y] for x in (-1.2, -0.6, 0.0, 0.6, 1.2) for y in (-0.6, 0.0, 0.6)])
    radius = SPEC.ball_radius
    seen = np.array([grazing_outline_centre(model, np.array([x, y, radius])) for x, y in balls])
    for mapped in (
        ball_table_positions(seen, geo),
        ball_table_positions(seen, Geometry.lens_only(cal)),
    ):
        error_mm = np.hypot(*(mapped - balls).T) * 1000
        assert error_mm.max() < 0.02


def test_a_side_seen_only_in_part_does_not_tip_the_table():
    # the player leans over most of one long side: its line, fitted to a short stretch of
    # noisy edge points, tips, and the pose from the four corners took both of its corners'
    # errors in full; fitted to every edge point at once, the other three sides hold it
    model = CameraModel(
        width=1280, height=720, fx=800.0, fy=800.0, cx=639.5, cy=359.5,
        rvec=(math.radians(190), math.radians(3), 0.05), tvec=(0.05, -0.1, 2.0),
    )  # fmt: skip
    intrinsics = Intrinsics(1280, 720, model.matrix, np.zeros(5), "chessboard")
    corners = calibration.order_corners(model.project(SPEC.felt_edge))
    rng = np.random.default_rng(3)
    sides = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        start, stop = (0.6, 0.9) if i == 2 else (0.1, 0.9)
        t = np.linspace(start, stop, int(np.linalg.norm(b - a) * (stop - start) / 6))[:, None]
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
        sides.append(a + t * (b - a) + rng.normal(0.0, 0.3, (len(t), 1)) * normal)
    lines = [edge.fit_line(points) for points in sides]
    meet = [edge.intersect(lines[i - 1][:2], lines[i][:2]) for i in range(4)]
    from_corners = calibration.from_edge(np.array(meet), SPEC, intrinsics, size=(1280, 720))
    from_sides = table.pose_from_sides(from_corners, tuple(sides))
    truth = calibration.TableCalibration(
        SPEC, intrinsics, np.array(model.rvec), np.array(model.tvec)
    )
    balls = np.array([[x, y] for x in np.linspace(-1.2, 1.2, 9) for y in (-0.6, 0.0, 0.6)])
    seen = truth.to_image(np.column_stack([balls, np.full(len(balls), SPEC.ball_radius)]))

    def error_mm(cal: calibration.TableCalibration) -> float:
        return float(np.mean(np.hypot(*(cal.to_table(seen) - balls).T)) * 1000)

    assert error_mm(from_corners) > 0.3  # what the corners alone give here
    assert error_mm(from_sides) < 0.15


def test_a_balls_silhouette_shape_is_the_ellipse_the_camera_sees():
    # off the optical axis a sphere's image is an ellipse: the shape times the expected radius
    # maps the unit circle onto the grazing outline projected through the lens, to 3 %, and
    # is round under the camera
    model, cal = barrel_camera(640.0, 1.6)
    balls = np.array([[1.2, 0.6], [-1.2, -0.6], [0.0, -0.6], [-0.05, 0.1]])
    shapes = cal.silhouette_shape(balls)
    radii = cal.ball_radius_px(balls)
    radius = SPEC.ball_radius
    axes = []
    for (x, y), shape, r in zip(balls, shapes, radii, strict=True):
        centre = np.array([x, y, radius])
        outline = grazing_outline(model, centre, 90) - grazing_outline_centre(model, centre)
        unit = np.linalg.solve(r * shape, outline.T)  # back onto the unit circle
        assert np.abs(np.hypot(*unit) - 1.0).max() < 0.03
        axes.append(np.linalg.eigvalsh(shape))
    assert min(a[0] / a[1] for a in axes[:3]) < 0.85  # the corners' balls are far from round
    assert axes[3][0] / axes[3][1] > 0.99
