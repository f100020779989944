"""Fit the ball judge's logistic models (``nodes.vision.evidence``) on synthetic scenes.

Every circle the detector fits is judged by a logistic model of a few measurements
(``evidence.NAMES``): one model for strong seeds, one for what the first balls leave
unexplained (clusters). This runs the pipeline over seeded randomised scenes (the same ones as
``bench/vision_accuracy.py``; ``--cache`` shares its rendered scenes), records each fitted
circle's measurements and which model judged it, labels it a ball when its centre lies within
``--gate`` radii of a ball's projected centre, and fits each model by Newton's method with a
little ridge. It prints both models as ``evidence.py`` spells them, with each one's log loss,
and how many circles the old and the new models call right at the 0.5 threshold.

The scenes must not be those the accuracy is reported on: the benchmark uses seeds from 1000
(and 4000, 5000 as unseen sets); the models are fitted on seeds from 2000.

    python bench/fit_evidence.py --seed 2000 --scenes 16 --cache .bench-cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import vision_accuracy

from nodes.vision import detector, evidence
from nodes.vision.pipeline import Pipeline

F64 = NDArray[np.float64]
MODELS = {"STRONG": evidence.STRONG, "LEFTOVER": evidence.LEFTOVER}


class Recorder:
    """Wraps ``evidence.features`` and ``evidence.confidence`` as the detector calls them:
    the measurements of each batch of circles, their centres, and the model that judged
    them (the first judgement of a batch; a doubted circle's second look is the same model)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[F64]] = {name: [] for name in MODELS}
        self.centres: dict[str, list[F64]] = {name: [] for name in MODELS}
        self._pending: tuple[F64, F64] | None = None
        self._features = evidence.features
        self._confidence = evidence.confidence

    def features(self, fit: Any, *args: Any) -> F64:
        measured = self._features(fit, *args)
        self._pending = (measured.copy(), np.asarray(fit.centre, np.float64).copy())
        return measured

    def confidence(self, measured: F64, model: F64) -> F64:
        if self._pending is not None:
            name = next(n for n, m in MODELS.items() if m is model)
            rows, centres = self._pending
            self.rows[name].append(rows)
            self.centres[name].append(centres)
            self._pending = None
        return self._confidence(measured, model)

    def install(self) -> None:
        detector.evidence.features = self.features  # type: ignore[method-assign]
        detector.evidence.confidence = self.confidence  # type: ignore[method-assign]


def labels(centres: F64, truth: Any, gate: float) -> NDArray[np.bool_]:
    """Which fitted centres (image px) lie within ``gate`` radii of a ball's projected
    centre."""
    balls = [b for b in truth.balls if not b.pocketed and b.x_px is not None]
    if not balls or len(centres) == 0:
        return np.zeros(len(centres), bool)
    at = np.array([[b.x_px, b.y_px] for b in balls])
    radius = np.array([b.r_px for b in balls])
    dist = np.hypot(centres[:, None, 0] - at[None, :, 0], centres[:, None, 1] - at[None, :, 1])
    return np.asarray((dist < gate * radius[None, :]).any(axis=1), bool)


def fit_logistic(x: F64, y: NDArray[np.bool_], ridge: float, iterations: int = 50) -> F64:
    """Weights and bias (last) of a logistic regression, by Newton's method with an L2
    penalty ``ridge`` on the weights (not the bias)."""
    design = np.column_stack([x, np.ones(len(x))])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], ridge)
    penalty[-1] = 0.0
    target = y.astype(np.float64)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        grad = design.T @ (p - target) + penalty * beta
        hess = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def log_loss(x: F64, y: NDArray[np.bool_], model: F64) -> float:
    """Mean negative log-likelihood of the labels under ``model``."""
    p = np.clip(evidence.confidence(x, model), 1e-9, 1 - 1e-9)
    return float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))


def main() -> int:
    """Collect, fit, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=2000, help="first scene seed")
    parser.add_argument("--scenes", type=int, default=16)
    parser.add_argument("--frames", type=int, default=16, help="frames per scene")
    parser.add_argument("--spacing", type=int, default=60, help="max frames skipped between")
    parser.add_argument("--start", type=int, default=0, help="max frames skipped before")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--gate", type=float, default=0.3, help="radii from a ball: a ball")
    parser.add_argument("--ridge", type=float, default=1.0, help="L2 penalty on the weights")
    parser.add_argument("--cache", type=Path, help="rendered scenes (as vision_accuracy.py)")
    args = parser.parse_args()
    args.intrinsics = "chessboard"
    cv2.setNumThreads(1)
    recorder = Recorder()
    recorder.install()
    truths: dict[str, list[Any]] = {name: [] for name in MODELS}
    for seed in range(args.seed, args.seed + args.scenes):
        scene = vision_accuracy.cached_scene(seed, args)
        calibration = vision_accuracy.calibrate(scene)
        if calibration is None:
            print(f"scene {seed}: no table found, skipped")
            continue
        pipeline = Pipeline(calibration)
        for image, truth in scene.frames:
            before = {name: len(rows) for name, rows in recorder.rows.items()}
            pipeline.process(image, truth.frame, 0, "cam0")
            for name, rows in recorder.rows.items():
                truths[name].extend([truth] * (len(rows) - before[name]))
        print(f"scene {seed}: {sum(len(r) for r in recorder.rows.values())} batches so far")
    width = max(len(n) for n in evidence.NAMES)
    for name, old in MODELS.items():
        if not recorder.rows[name]:
            continue
        x = np.concatenate(recorder.rows[name])
        y = np.concatenate(
            [
                labels(c, t, args.gate)
                for c, t in zip(recorder.centres[name], truths[name], strict=True)
            ]
        )
        new = fit_logistic(x, y, args.ridge)
        right_old = int(((evidence.confidence(x, old) >= 0.5) == y).sum())
        right_new = int(((evidence.confidence(x, new) >= 0.5) == y).sum())
        print(f"\n{name}: {len(y)} circles, {int(y.sum())} balls")
        print(f"  log loss old {log_loss(x, y, old):.4f}  new {log_loss(x, y, new):.4f}")
        print(f"  right at 0.5: old {right_old}  new {right_new}")
        for feature, w_old, w_new in zip(evidence.NAMES, old[:-1], new[:-1], strict=True):
            print(f"  {feature:<{width}}  {w_old:8.2f} -> {w_new:8.2f}")
        print(f"  {'bias':<{width}}  {old[-1]:8.2f} -> {new[-1]:8.2f}")
        print(f"  {name} = np.array([{', '.join(f'{v:.2f}' for v in new)}])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
