"""Camera intrinsics and lens distortion from chessboard images (OpenCV's calibrateCamera).

Corners are found with ``findChessboardCorners`` + ``cornerSubPix``, falling back to
``findChessboardCornersSB``. A board needs ``pattern`` inner
corners (across, down) of ``square`` metres; at least three images must show it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision.calibration import Intrinsics
from nodes.vision.source import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
MIN_VIEWS = 3


@dataclass(frozen=True, slots=True)
class ChessboardResult:
    """Intrinsics and which images were used or rejected (no board found)."""

    intrinsics: Intrinsics
    used: list[str]
    rejected: list[str]


def find_corners(image: U8, pattern: tuple[int, int]) -> F32 | None:
    """Inner corners (N, 2) of the board in an image, or None.

    ``findChessboardCorners`` + ``cornerSubPix`` first: on rendered boards it gives 0.02 px
    reprojection error where ``findChessboardCornersSB`` gives 0.2 px and a focal length 1 %
    short; SB is the fallback for boards the classic detector cannot find (blur, glare).
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    ok, corners = cv2.findChessboardCorners(gray, pattern)
    if ok:
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-5)
        refined = cv2.cornerSubPix(gray, corners, (7, 7), (-1, -1), criteria)
        return np.asarray(refined, dtype=np.float32).reshape(-1, 2)
    ok, corners = cv2.findChessboardCornersSB(gray, pattern, flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
    return np.asarray(corners, dtype=np.float32).reshape(-1, 2) if ok else None


def calibrate_images(
    images: Sequence[U8], pattern: tuple[int, int], square: float, names: Sequence[str] = ()
) -> ChessboardResult:
    """Intrinsics from images of one board; raises ValueError with too few usable views."""
    if not images:
        raise ValueError("no images")
    height, width = images[0].shape[:2]
    grid = np.zeros((pattern[0] * pattern[1], 3), np.float32)
    grid[:, :2] = np.mgrid[0 : pattern[0], 0 : pattern[1]].T.reshape(-1, 2) * square
    labels = list(names) or [str(i) for i in range(len(images))]
    obj, img, used, rejected = [], [], [], []
    for label, image in zip(labels, images, strict=True):
        corners = find_corners(image, pattern) if image.shape[:2] == (height, width) else None
        if corners is None:
            rejected.append(label)
            continue
        obj.append(grid)
        img.append(corners.reshape(-1, 1, 2))
        used.append(label)
    if len(used) < MIN_VIEWS:
        raise ValueError(
            f"the {pattern[0]}x{pattern[1]} board was found in {len(used)} image(s);"
            f" at least {MIN_VIEWS} are needed"
        )
    rms, matrix, dist, per_view = _calibrate(obj, img, (width, height))
    worst = per_view > max(3.0 * float(np.median(per_view)), 0.1)
    if worst.any() and (~worst).sum() >= MIN_VIEWS:  # a misread board: drop it and redo
        rejected += [u for u, bad in zip(used, worst, strict=True) if bad]
        used = [u for u, bad in zip(used, worst, strict=True) if not bad]
        obj = [o for o, bad in zip(obj, worst, strict=True) if not bad]
        img = [i for i, bad in zip(img, worst, strict=True) if not bad]
        rms, matrix, dist, per_view = _calibrate(obj, img, (width, height))
    dist5 = np.zeros(5)
    flat = np.asarray(dist, dtype=np.float64).ravel()[:5]
    dist5[: len(flat)] = flat
    intr = Intrinsics(
        width, height, np.asarray(matrix, np.float64), dist5, "chessboard", float(rms)
    )
    log.info("chessboard calibration: %d views, rms %.3f px", len(used), rms)
    return ChessboardResult(intr, used, rejected)


def _calibrate(
    obj: list[F32], img: list[F32], size: tuple[int, int]
) -> tuple[float, F64, F64, F64]:
    """calibrateCamera with per-view reprojection errors."""
    result = cv2.calibrateCameraExtended(obj, img, size, np.eye(3), np.zeros(5))
    rms, matrix, dist, per_view = result[0], result[1], result[2], result[7]
    return (
        float(rms),
        np.asarray(matrix, dtype=np.float64),
        np.asarray(dist, dtype=np.float64),
        np.asarray(per_view, dtype=np.float64).ravel(),
    )


def calibrate_folder(folder: Path, pattern: tuple[int, int], square: float) -> ChessboardResult:
    """Intrinsics from every image in ``folder``."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    images, names = [], []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            images.append(np.asarray(image, dtype=np.uint8))
            names.append(path.name)
    return calibrate_images(images, pattern, square, names)


def save_intrinsics(intrinsics: Intrinsics, path: Path) -> None:
    """Store intrinsics as JSON (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(intrinsics.as_dict(), indent=2))
    os.replace(tmp, path)


def load_intrinsics(path: Path) -> Intrinsics | None:
    """Stored intrinsics, or None."""
    try:
        return Intrinsics.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable intrinsics %s: %s", path, exc)
        return None


def render_board(
    normalized: F64,
    size: tuple[int, int],
    rotation: F64,
    translation: F64,
    pattern: tuple[int, int],
    square: float,
) -> U8:
    """A synthetic view of a chessboard, for testing a calibration setup without a camera.

    ``normalized`` (H*W, 2) holds each pixel centre's undistorted normalised coordinates (from
    the lens model being tested); the board lies in its own z = 0 plane, posed in the camera
    frame by ``rotation`` and ``translation``, with ``pattern`` inner corners, a one-square
    margin of squares and a white border. Edges are anti-aliased from the pixel footprint.
    """
    width, height = size
    rays = np.column_stack([normalized, np.ones(len(normalized))])
    normal = rotation[:, 2]
    depth = (normal @ translation) / np.where(np.abs(rays @ normal) < 1e-12, 1e-12, rays @ normal)
    points = rays * depth[:, None] - translation[None, :]
    uv = points @ rotation[:, :2]  # board coordinates (metres)
    u = uv[:, 0].reshape(height, width) / square
    v = uv[:, 1].reshape(height, width) / square
    value = 0.5 + 0.5 * _soft_wave(u) * _soft_wave(v)
    cols, rows = pattern[0] + 1, pattern[1] + 1
    inside = (u > 0) & (u < cols) & (v > 0) & (v < rows) & (depth.reshape(height, width) > 0)
    gray = np.where(inside, value, 1.0) * 220 + 20
    return np.asarray(cv2.cvtColor(gray.astype(np.uint8), cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def _soft_wave(t: F64) -> F64:
    """+-1 square wave of period 2 in t, with edges blurred over one pixel's footprint."""
    gy, gx = np.gradient(t)
    footprint = np.maximum(np.abs(gx) + np.abs(gy), 1e-6)
    wave = np.sin(np.pi * t)
    return np.asarray(np.clip(wave / (np.pi * footprint), -1.0, 1.0))
