"""The pipeline never raises on bad input: it says why it found nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.vision import table
from nodes.vision.calibration import TableSpec
from nodes.vision.felt import FeltModel, threshold_score
from nodes.vision.geometry import row_spans
from nodes.vision.pipeline import Pipeline, check_frame
from tests.unit.vision import scenes


@pytest.fixture(scope="module")
def calibrated():
    frame = scenes.render("ideal", [(0, -0.6, 0.1)])
    cal = table.calibrate(frame.image, TableSpec(), camera_height=2.5)
    assert cal is not None
    return cal


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (None, "no_frame"),
        (np.zeros((0, 0, 3), np.uint8), "no_frame"),
        ("not an image", "no_frame"),
        (np.zeros((720, 1280, 3), np.float32), "bad_dtype"),
        (np.zeros((720, 1280, 2), np.uint8), "bad_shape"),
        (np.zeros((8, 8, 3), np.uint8), "bad_shape"),
    ],
    ids=["none", "empty", "string", "float", "two-channel", "tiny"],
)
def test_malformed_frames_give_empty_detections_and_a_status(calibrated, frame, status):
    found = Pipeline(calibrated).process(frame, 7, 123, "cam0")
    assert found.balls == [] and found.cue is None
    assert found.status == status
    assert (found.frame, found.t_capture_ns, found.camera) == (7, 123, "cam0")


def test_a_black_frame_has_no_balls(calibrated):
    found = Pipeline(calibrated).process(np.zeros((720, 1280, 3), np.uint8), 0, 0, "cam0")
    assert found.status == "ok" and found.balls == [] and found.cue is None


def test_a_frame_of_another_size_is_not_measured_with_this_calibration(calibrated):
    found = Pipeline(calibrated).process(np.zeros((480, 640, 3), np.uint8), 0, 0, "cam0")
    assert found.status == "calibration_size_mismatch" and found.balls == []


def test_without_calibration_the_pipeline_says_so():
    found = Pipeline(None).process(np.zeros((720, 1280, 3), np.uint8), 0, 0, "cam0")
    assert found.status == "uncalibrated" and not found.calibrated


def test_gray_and_bgra_frames_are_read_as_colour():
    gray, status = check_frame(np.zeros((32, 32), np.uint8))
    assert status == "ok" and gray is not None and gray.shape == (32, 32, 3)
    bgra, status = check_frame(np.zeros((32, 32, 4), np.uint8))
    assert status == "ok" and bgra is not None and bgra.shape == (32, 32, 3)


def test_stage_timings_are_reported(calibrated):
    frame = scenes.render("ideal", [(0, -0.6, 0.1)])
    found = Pipeline(calibrated).process(frame.image, 0, 0, "cam0")
    assert set(found.timings_ms) == {"felt", "seeds", "balls", "cue"}
    assert all(ms >= 0 for ms in found.timings_ms.values())


def test_the_pipeline_tells_frames_whose_chroma_was_subsampled(calibrated):
    # the rims' colour levels are read further out there (rim.find's ``smeared``)
    image = scenes.render("ideal", [(0, -0.6, 0.1)]).image
    noise = np.random.default_rng(0).normal(0.0, 3.0, image.shape)
    noisy = np.asarray(np.clip(image + noise, 0, 255), np.uint8)  # a camera's fine noise
    _, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 90])
    for frame, smeared in ((noisy, False), (cv2.imdecode(data, cv2.IMREAD_COLOR), True)):
        pipeline = Pipeline(calibrated)
        pipeline.process(frame, 0, 0, "cam0")
        assert pipeline.smeared is smeared


def test_the_felt_score_within_row_spans_is_the_whole_score_there_and_0_elsewhere() -> None:
    """The pipeline scores only the pixels its seeds read (the roi and their neighbours):
    there the score is the whole image's, pixel for pixel; the mask made in the same pass is
    the thresholded score and'ed with the roi."""
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)
    roi = np.zeros((40, 64), np.uint8)
    cv2.fillConvexPoly(roi, np.array([[5, 3], [60, 8], [50, 36], [9, 30]], np.int32), 255)
    felt = FeltModel.from_image(small, roi)
    spans = row_spans(roi)
    whole, (part, unlike) = felt.score(small), felt.scored(small, roi, 0.3, spans)
    assert np.array_equal(unlike, cv2.bitwise_and(threshold_score(whole, 0.3), roi))
    assert 0 < np.count_nonzero(unlike) < np.count_nonzero(roi)
    inside = np.zeros(roi.shape, bool)
    for y, (x0, x1) in enumerate(spans):
        inside[y, x0:x1] = True
    assert inside[roi > 0].all() and not inside.all()
    assert np.array_equal(part[inside], whole[inside])
    assert not part[~inside].any()
