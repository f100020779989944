"""Frame + calibration -> Detections. Pure: no I/O, no clocks except for stage timings.

Stages (their times are in ``Detections.timings_ms``):

- ``felt``: half-resolution frame, felt score, mask of non-felt pixels inside the table;
- ``seeds``: candidate ball centres in the mask;
- ``balls``: sub-pixel rims and circles at full resolution, then kinds and colours, the
  circles' centres refined (:func:`detector.refine`), and balls that overlap on the table
  pushed apart to touching (:func:`contact.separate`);
- ``cue``: the cue stick in what is left of the mask;
- ``table``: pixels to table metres (undistort the points, the ball-centre homography).

A frame that cannot be read (empty, wrong type, no table calibrated) gives empty detections
and a ``status`` saying why, never an exception.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from nodes.vision import contact, detector, edge, palette, symmetry
from nodes.vision import cue as cue_stick
from nodes.vision import joint as cue_joint
from nodes.vision.calibration import TableCalibration
from nodes.vision.felt import FeltModel
from nodes.vision.geometry import Geometry
from nodes.vision.intrinsics import Intrinsics
from protocol.messages import DetectedBall, DetectedCue, Detections

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]

SCORE_THRESHOLD = 0.32
REFRESH_FRAMES = 15
TIP_REACH = 30.0  # radii: how far a cue's tip is walked past the end of its coarse line
REFINE_KEEP = 0.03  # radii: a circle this close to one refined in an earlier frame keeps its centre
TURN_FRAMES = 30  # a cue does not turn round on its line within this many frames
TURN_COS = math.cos(math.radians(5.0))  # ... pointing back along it, within 5 degrees


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Tunables of the detection pipeline."""

    cue_elevation_deg: float = 6.0
    cue_joint_m: float = cue_joint.JOINT  # 0: the joint is not looked for
    score_threshold: float = SCORE_THRESHOLD
    refresh_frames: int = REFRESH_FRAMES


class Pipeline:
    """Detects balls and the cue in frames of one camera."""

    def __init__(
        self, calibration: TableCalibration | None, config: PipelineConfig | None = None
    ) -> None:
        self.config = config or PipelineConfig()
        self.geometry: Geometry | None = None
        self.felt: FeltModel | None = None
        self.smeared = False  # the frames' chroma was subsampled (measured with the felt)
        self.frames = 0
        self.last = np.zeros((0, 2))  # full-res centres of the balls of the previous frame
        # circles as found when they were last refined, their refined centres (full-res px)
        # and their rims' rms (radii)
        self.refined_at = np.zeros((0, 2))
        self.refined = np.zeros((0, 2))
        self.spread = np.zeros(0)
        self.last_cue: tuple[int, cue_stick.CueLine] | None = None  # frame index, line
        self.strokes = cue_joint.Strokes()  # the joint's measurements of the stroke under way
        self.set_calibration(calibration)

    def set_calibration(self, calibration: TableCalibration | None) -> None:
        """Use a new calibration (the felt model is rebuilt from the next frame)."""
        self.geometry = Geometry(calibration) if calibration is not None else None
        self.felt = None
        self.last = np.zeros((0, 2))
        self.refined_at = np.zeros((0, 2))
        self.refined = np.zeros((0, 2))
        self.spread = np.zeros(0)
        self.last_cue = None
        self.strokes = cue_joint.Strokes()

    @property
    def calibration(self) -> TableCalibration | None:
        """The calibration in use."""
        return self.geometry.calibration if self.geometry else None

    def process(self, frame: object, index: int, t_ns: int, camera: str) -> Detections:
        """Detections in one BGR frame; never raises on bad input."""
        timer = Timer()
        image, status = check_frame(frame)
        geo = self.geometry
        height, width = image.shape[:2] if image is not None else (0, 0)
        base = {"camera": camera, "frame": index, "t_capture_ns": t_ns, "width": width}
        if image is None:
            return Detections(**base, height=height, calibrated=geo is not None, status=status)
        if geo is None:
            return Detections(**base, height=height, calibrated=False, status="uncalibrated")
        if (width, height) != geo.full:
            return Detections(**base, height=height, status="calibration_size_mismatch")
        balls, cue = self._detect(image, index, geo, timer)
        return Detections(
            **base, height=height, balls=balls, cue=cue, timings_ms=timer.stages, status="ok"
        )

    def _detect(
        self, image: U8, index: int, geo: Geometry, timer: Timer
    ) -> tuple[list[DetectedBall], DetectedCue | None]:
        whole = geo.shrink(image)
        small = geo.crop_of(whole)
        if self.felt is None:
            self.felt = first_felt(small, geo.roi, self.config.score_threshold)
            self.smeared = min(edge.chroma_detail(image)) < edge.SUBSAMPLED
        felt = self.felt
        # (the score is 0 away from the table, where nothing reads it)
        score, raw = felt.scored(small, geo.roi, self.config.score_threshold, geo.score_spans)
        found = detector.masks(raw, geo)
        timer.mark("felt")
        grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
        acc = symmetry.accumulator(
            score, grey, geo.radius_map, geo.roi, geo.noise_at, geo.rim_length
        )
        timer.mark("seeds")
        circles = detector.find_balls(image, acc, found, felt, geo, self.last, self.smeared)
        balls, circles = self._balls(image, circles, geo, felt)
        self.last = np.array([[c.x, c.y] for c in circles]).reshape(-1, 2)
        timer.mark("balls")
        on_table = np.array([[b.x, b.y] for b in balls])
        line = self._cue_line(image, index, whole, raw, circles, geo, felt, found.neckless)
        self.last_cue = None if line is None else (index, line)
        cue = None if line is None else self._cue(line, index, geo, on_table)
        timer.mark("cue")
        self._refresh(small, found.raw, geo)
        return balls, cue

    def _balls(
        self, image: U8, circles: list[detector.Circle], geo: Geometry, felt: FeltModel
    ) -> tuple[list[DetectedBall], list[detector.Circle]]:
        """The circles that are balls on the table, with kinds and table positions."""
        if not circles:
            return [], []
        cal = geo.calibration
        centres = np.array([[c.x, c.y] for c in circles])
        radii = np.array([c.r for c in circles])
        better, spread = self._refined(image, centres, geo, felt)
        table = ball_table_positions(better, geo)
        # a centre closer to a cushion nose than half a radius is a pocket's dark mouth
        inset = 0.5 * cal.spec.ball_radius
        half = (cal.spec.length / 2 - inset, cal.spec.width / 2 - inset)
        on = (np.abs(table[:, 0]) <= half[0]) & (np.abs(table[:, 1]) <= half[1])
        table[on] = contact.separate(table[on], spread[on], cal.spec.ball_radius)
        colours = felt_bgr(felt, geo, centres)
        samples = palette.disc_samples(image, centres, radii, geo.shape_at(centres))
        looks = palette.classify_all(samples, colours)
        out, kept = [], []
        rows = zip(circles, table.tolist(), looks, better.tolist(), on.tolist(), strict=True)
        for c, (x, y), look, (cx, cy), keep in rows:  # Python floats
            if not keep:
                continue
            kept.append(c)
            out.append(
                DetectedBall(
                    x_px=float(cx), y_px=float(cy), r_px=c.r, x=float(x), y=float(y),
                    kind=look.kind, number=look.number, color=look.color,
                    confidence=float(round(c.confidence * (0.5 + 0.5 * look.confidence), 3)),
                )
            )  # fmt: skip
        return out, kept

    def _refined(self, image: U8, centres: F64, geo: Geometry, felt: FeltModel) -> tuple[F64, F64]:
        """The circles' ``centres`` refined, and their rims' rms (:func:`detector.refine`). A
        circle found within ``REFINE_KEEP`` radii of one refined in an earlier frame (a ball at
        rest) keeps the centre refined then: refining costs about a tenth of a frame's time,
        and a ball at rest stays put. One that moved further is refined again where it lies."""
        out = np.empty_like(centres)
        spread = np.empty(len(centres))
        todo = np.ones(len(centres), bool)
        at = centres.copy()
        if len(self.refined_at):
            gap = np.hypot(*(centres[:, None, :] - self.refined_at[None, :, :]).transpose(2, 0, 1))
            nearest = gap.argmin(axis=1)
            keep = REFINE_KEEP * geo.expected_radius(centres)
            todo = gap[np.arange(len(centres)), nearest] >= keep
            at[~todo] = self.refined_at[nearest[~todo]]
            out[~todo] = self.refined[nearest[~todo]]
            spread[~todo] = self.spread[nearest[~todo]]
        if todo.any():
            # every circle of the frame is a neighbour whose contact a ball's rim is not
            out[todo], spread[todo] = detector.refine(
                image, centres[todo], felt, geo, self.smeared, centres
            )
        self.refined_at, self.refined, self.spread = at, out, spread
        return out, spread

    def _cue(self, line: cue_stick.CueLine, index: int, geo: Geometry, balls: F64) -> DetectedCue:
        """The cue found in frame ``index``, on the table (``balls``: their table x, y, which
        the cue passes above), its elevation weighed with what earlier frames of the same
        stroke measured."""
        plane = cue_stick.plane_of(line, geo.calibration)
        earlier = self.strokes.earlier(plane, index)
        tip, direction, seen, measure = cue_stick.table_pose(
            line, geo.calibration, self.config.cue_elevation_deg, balls, self.config.cue_joint_m,
            earlier,
        )  # fmt: skip
        self.strokes.seen(plane, index, measure)
        return DetectedCue(
            tip_x_px=float(line.tip[0]),
            tip_y_px=float(line.tip[1]),
            tip_x=float(tip[0]),
            tip_y=float(tip[1]),
            direction_deg=float(round(direction, 3)),
            visible_fraction=float(round(min(1.0, seen / cue_stick.CUE_LENGTH), 3)),
            confidence=float(round(line.confidence, 3)),
        )

    def _cue_line(
        self,
        image: U8,
        index: int,
        whole: U8,
        raw: U8,
        circles: list[detector.Circle],
        geo: Geometry,
        felt: FeltModel,
        player: NDArray[np.bool_],
    ) -> cue_stick.CueLine | None:
        """The cue's axis and tip in frame ``index`` (full-res px), or None: from the felt mask
        less the balls' ``circles`` and, off the table, the ``whole`` frame at working
        resolution."""
        rest = without_balls(raw, circles, 1.5, geo)
        # keep what is thinner than a ball: the cue, not the hands and arms around it
        thin = cue_stick.thinner(rest, 2 * round(0.75 * geo.radius / geo.factor) + 1)
        intrinsics = geo.calibration.intrinsics
        line = wide_cue(whole, thin, geo)
        if line is not None:
            line = cue_stick.straighten(line, intrinsics)
            # its coarse tip may lie on the rail: the felt's colour a little way ahead
            ahead = line.tip + 3 * geo.radius * line.direction
            colour = felt_bgr(felt, geo, ahead[None])[0]
            line = cue_stick.refine_tip(image, line, colour, circles, TIP_REACH * geo.radius)
            # the tip must be on the table: the cloth or a cushion (a ball frozen to it)
            if not on_table(line.tip, geo):
                line = None
        if line is None:
            # the butt's end touches the table's edge or the player (the bridge hand lies
            # behind the tip), the tip's end neither
            found = cue_stick.find_cue(
                thin, butt_side(geo, player), geo.radius / geo.factor, geo.factor
            )
            if found is None:
                return None
            support = None if found.support is None else found.support + geo.origin
            found = replace(found, tip=found.tip + geo.origin, support=support)
            if self._turned(found, index, geo):
                found = turned_round(found)
            line = walk_tip(image, found, intrinsics, circles, geo, felt)
            if not on_table(line.tip, geo):
                # the walk left the table: the end taken for the tip was the butt's side
                line = walk_tip(image, turned_round(found), intrinsics, circles, geo, felt)
        line = cue_stick.straighten(cue_stick.profile_axis(image, line, geo.radius), intrinsics)
        if self.config.cue_joint_m <= 0 or intrinsics.source != "chessboard":
            # the joint gives the elevation through a lens calibrated on a chessboard only: with
            # one estimated from the table, its measurements were 1.5 degrees high (median) and
            # 2.4 off, and the assumed elevation does better
            return line
        return cue_joint.along_line(image, line, intrinsics)

    def _turned(self, line: cue_stick.CueLine, index: int, geo: Geometry) -> bool:
        """Whether ``line`` (found in frame ``index``) points back along the cue of a frame
        up to ``TURN_FRAMES`` before: a cue does not turn round on its line, so its ends were
        taken the wrong way round. Found on the felt, a cue's butt is the end at the table's
        edge or the player; where the player leans over the table, the grip hand lies at one end
        and the bridge hand at the other, and the thinner end was the butt in one frame of 652
        deeper into the game (scene 5007)."""
        if self.last_cue is None or not 0 < index - self.last_cue[0] <= TURN_FRAMES:
            return False
        last = self.last_cue[1]
        if float(line.direction @ last.direction) > -TURN_COS:
            return False
        # and on the same line: the last tip within a ball's diameter of it
        normal = np.array([-line.direction[1], line.direction[0]])
        return abs(float((last.tip - line.tip) @ normal)) < 2 * geo.radius

    def _refresh(self, small: U8, raw: U8, geo: Geometry) -> None:
        """Every ``refresh_frames`` frames, blend into the felt model the felt seen away from
        what the mask of pixels unlike it (``raw``, opened: specks of noise are felt) covers."""
        self.frames += 1
        if self.felt is None or self.frames % self.config.refresh_frames:
            return
        opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        grown = cv2.dilate(opened, np.ones((5, 5), np.uint8))
        bare = np.asarray(cv2.bitwise_and(geo.roi, cv2.bitwise_not(grown)), np.uint8)
        self.felt.refresh(small, bare)


def turned_round(line: cue_stick.CueLine) -> cue_stick.CueLine:
    """``line`` with its ends swapped: the tip where the butt's end was."""
    back = line.tip - line.length_px * line.direction
    return replace(line, tip=back, direction=-line.direction)


def walk_tip(
    image: U8,
    line: cue_stick.CueLine,
    intrinsics: Intrinsics,
    circles: list[detector.Circle],
    geo: Geometry,
    felt: FeltModel,
) -> cue_stick.CueLine:
    """A line found on the felt, straightened and its tip walked at full resolution."""
    line = cue_stick.straighten(line, intrinsics)
    colour = felt_bgr(felt, geo, line.tip[None])[0]
    return cue_stick.refine_tip(image, line, colour, circles, TIP_REACH * geo.radius)


def butt_side(geo: Geometry, player: NDArray[np.bool_]) -> U8:
    """Working-resolution mask of where a cue's butt end may lie: near the table's edge, or
    next to the player's blob without the cue's thin front (``player``: at half the working
    resolution)."""
    if not player.any():
        return geo.edge
    h, w = geo.edge.shape
    grown = np.asarray(cv2.dilate(player.view(np.uint8), np.ones((3, 3), np.uint8)), np.uint8)
    near = np.repeat(np.repeat(grown, 2, axis=0), 2, axis=1)[:h, :w]  # working resolution
    out = geo.edge.copy()
    out[: near.shape[0], : near.shape[1]] |= near * np.uint8(255)
    return out


def on_table(point: F64, geo: Geometry) -> bool:
    """Whether an image point lies over the cloth or a cushion (at ball-centre height)."""
    spec = geo.calibration.spec
    x, y = geo.calibration.to_table(point[None])[0]
    inside = abs(x) <= spec.length / 2 + spec.cushion_width
    return bool(inside and abs(y) <= spec.width / 2 + spec.cushion_width)


def wide_cue(whole: U8, thin: U8, geo: Geometry) -> cue_stick.CueLine | None:
    """The cue found over the ``whole`` frame at working resolution (:meth:`Geometry.shrink`;
    the table's crop is part of it, on the same pixel grid): the felt-based ``thin`` mask on
    the table, ridges off it."""
    step = round(geo.factor)
    height, width = whole.shape[:2]
    x0, y0 = (v // step for v in geo.crop[:2])
    h, w = thin.shape
    inside = np.zeros((height, width), np.uint8)
    inside[y0 : y0 + h, x0 : x0 + w] = thin[: height - y0, : width - x0]
    radius = geo.radius / geo.factor
    ridge = np.asarray(cv2.bitwise_and(cue_stick.ridges(whole, radius), geo.wide_off), np.uint8)
    return cue_stick.find_cue_wide(
        inside, ridge, geo.wide_roi, geo.sides, radius, geo.factor, geo.wide_outside
    )


def first_felt(small: U8, roi: U8, threshold: float) -> FeltModel:
    """A felt model from one frame: everything in the table first, then twice again from the
    pixels that the previous model called felt (balls and the cue drop out)."""
    felt = FeltModel.from_image(small, roi)
    kernel = np.ones((7, 7), np.uint8)
    for _ in range(2):
        busy = cv2.dilate(felt.mask(small, threshold), kernel)
        bare = np.asarray(cv2.bitwise_and(roi, cv2.bitwise_not(busy)), np.uint8)
        felt = FeltModel.from_image(small, roi, bare)
    return felt


def without_balls(mask: U8, circles: list[detector.Circle], grow: float, geo: Geometry) -> U8:
    """The working-resolution mask with the balls' discs (radius + ``grow`` working px)
    erased."""
    return detector.erase_discs(mask, circles, grow, geo)


class Timer:
    """Milliseconds per named stage."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.stages: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        """End the current stage."""
        now = time.perf_counter()
        self.stages[stage] = round((now - self.last) * 1e3, 3)
        self.last = now


def check_frame(frame: object) -> tuple[U8 | None, str]:
    """The frame as a contiguous 8-bit BGR image, or None and why not."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return None, "no_frame"
    if frame.dtype != np.uint8:
        return None, "bad_dtype"
    if frame.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)), "ok"
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or min(frame.shape[:2]) < 16:
        return None, "bad_shape"
    if frame.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)), "ok"
    return np.ascontiguousarray(frame), "ok"


def felt_bgr(felt: FeltModel, geo: Geometry, points_px: F64) -> F64:
    """The felt's sRGB colour (0-255 BGR) near full-res points (N, 2), lighting included."""
    log_felt = detector.felt_log(felt, geo.to_small(np.asarray(points_px, np.float64)))
    return np.asarray(np.minimum(np.maximum(np.exp(log_felt) - 6.0, 0.0), 255.0), np.float64)


def silhouette_to_centre(
    centres_px: F64, calibration: TableCalibration, geo: Geometry | None = None
) -> F64:
    """Move silhouette centres to where the balls' centres project.

    Off the optical axis a sphere's silhouette lies slightly further out than its centre's
    projection, and the lens bends its sides unequally: ``TableCalibration.silhouette_shift``
    says by how much, for a ball anywhere on the table. ``geo`` (of this calibration) has that
    shift mapped over the working view; without it, it is computed at the points.
    """
    centres = np.asarray(centres_px, dtype=np.float64).reshape(-1, 2)
    if len(centres) == 0:
        return centres.copy()
    if geo is not None and geo.silhouette_shift is not None:
        return np.asarray(centres - geo.shift_at(centres), dtype=np.float64)
    shift = calibration.silhouette_shift(calibration.to_table(centres))
    return np.asarray(centres - shift, dtype=np.float64)


def ball_table_positions(centres_px: F64, geo: Geometry) -> F64:
    """Table (x, y) of the balls whose silhouettes are centred at ``centres_px``: their centres'
    projections mapped on the plane of ball centres (``TableCalibration.to_table``, with the
    plane's inverse homography kept)."""
    cal = geo.calibration
    px = cal.intrinsics.undistort(silhouette_to_centre(centres_px, cal, geo))
    if len(px) == 0:
        return px
    out = cv2.perspectiveTransform(px.reshape(-1, 1, 2), geo.ball_plane_inv)
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)
