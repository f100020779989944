"""Frame sources: spec parsing, video files, image folders, the synthetic source, pacing and the
reconnect backoff. No sleeping: pacing runs on a fake clock."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.vision.source import (
    Backoff,
    CaptureSource,
    FolderSource,
    SourceLost,
    SourceSpec,
    SourceUnavailable,
    SyntheticSource,
    open_source,
    parse_source,
)
from protocol.errors import CuecastError


class FakeClock:
    """Monotonic and wall time that only move when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall_ns(self) -> int:
        return int(self.now * 1e9) + 1_700_000_000 * 10**9

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def write_video(path: Path, frames: int = 5, size: tuple[int, int] = (64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 + 40 * k, np.uint8))
    writer.release()


def level(frame) -> float:
    return float(frame.image.mean())


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("synthetic", "synthetic", ""),
        ("synthetic:42", "synthetic", ""),
        ("0", "camera", "0"),
        ("2", "camera", "2"),
        ("rtsp://cam.local/stream", "stream", "rtsp://cam.local/stream"),
        ("http://10.0.0.5:8080/video", "stream", "http://10.0.0.5:8080/video"),
        ("clips/break.mp4", "file", "clips/break.mp4"),
        ("file:0", "file", "0"),
    ],
)
def test_parse_source_recognises_every_kind(text, kind, target):
    spec = parse_source(text)
    assert (spec.kind, spec.target) == (kind, target)


def test_parse_source_reads_the_synthetic_seed_and_a_folder(tmp_path):
    assert parse_source("synthetic:42").seed == 42
    assert parse_source(str(tmp_path)).kind == "folder"
    with pytest.raises(SourceUnavailable):
        parse_source("synthetic:abc")


def test_video_file_is_read_in_order_and_loops(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    with open_source(str(path), realtime=False) as source:
        assert isinstance(source, CaptureSource)
        frames = [source.read() for _ in range(12)]
    assert [f.number for f in frames] == list(range(12))
    levels = [level(f) for f in frames]
    assert levels[:5] == pytest.approx([20, 60, 100, 140, 180], abs=3)
    assert levels[5:10] == pytest.approx(levels[:5], abs=1e-9)
    stamps = [f.capture_ns for f in frames]
    assert stamps == sorted(stamps) and stamps[1] - stamps[0] == pytest.approx(1e9 / 25, abs=1)


def test_video_file_once_ends_without_an_error(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path, frames=4)
    with open_source(str(path), realtime=False, loop=False) as source:
        assert len(list(source)) == 4
        assert source.read() is None


def test_removed_video_file_raises_source_lost(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    source = open_source(str(path), realtime=False)
    source.read()
    path.unlink()
    with pytest.raises(SourceLost, match="removed"):
        source.read()
    source.close()


def test_missing_video_file_is_unavailable_and_errors_share_the_cuecast_base(tmp_path):
    with pytest.raises(SourceUnavailable) as err:
        open_source(str(tmp_path / "nope.mp4"))
    assert isinstance(err.value, CuecastError)
    assert issubclass(SourceLost, CuecastError)


def test_video_file_is_paced_at_its_frame_rate_in_real_time(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    clock = FakeClock()
    with open_source(str(path), clock=clock) as source:
        frames = [source.read() for _ in range(4)]
    assert clock.sleeps == pytest.approx([0.04, 0.04, 0.04])
    gaps = np.diff([f.capture_ns for f in frames])
    assert gaps == pytest.approx([40_000_000] * 3, abs=1000)


def make_folder(folder: Path, count: int = 3) -> None:
    folder.mkdir()
    for k in range(count):
        cv2.imwrite(str(folder / f"img_{k:02d}.png"), np.full((20, 30, 3), 50 + 50 * k, np.uint8))


def test_image_folder_is_read_in_name_order_loops_and_skips_unreadable_files(tmp_path):
    folder = tmp_path / "shots"
    make_folder(folder)
    (folder / "img_01b.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("ignored")
    source = open_source(str(folder), realtime=False)
    assert isinstance(source, FolderSource)
    levels = [level(source.read()) for _ in range(7)]
    assert levels == pytest.approx([50, 100, 150, 50, 100, 150, 50])
    assert source.skipped == 2


def test_an_unreadable_image_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    folder = tmp_path / "shots"
    make_folder(folder, 2)
    bad = folder / "img_00b.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 cut short")  # libjpeg warns on every read of it
    reads: list[str] = []
    imread = cv2.imread

    def counted(path: str, flags: int) -> np.ndarray | None:
        reads.append(path)
        return imread(path, flags)

    monkeypatch.setattr(cv2, "imread", counted)
    source = open_source(str(folder), realtime=False)
    levels = [level(source.read()) for _ in range(6)]
    assert levels == pytest.approx([50, 100] * 3)
    assert reads.count(str(bad)) == 1
    assert isinstance(source, FolderSource) and source.skipped == 3
    cv2.imwrite(str(bad), np.full((20, 30, 3), 75, np.uint8))  # fixed: read again
    levels = [level(source.read()) for _ in range(3)]
    assert levels == pytest.approx([50, 75, 100])


def test_image_folder_once_ends_and_a_removed_folder_is_lost(tmp_path):
    folder = tmp_path / "shots"
    make_folder(folder, 2)
    assert len(list(open_source(str(folder), realtime=False, loop=False))) == 2
    source = open_source(str(folder), realtime=False)
    source.read()
    source.read()
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    with pytest.raises(SourceLost):
        source.read()


def test_empty_folder_is_unavailable(tmp_path):
    with pytest.raises(SourceUnavailable):
        open_source(str(tmp_path))


def test_synthetic_source_numbers_frames_and_stamps_them_at_the_frame_rate():
    with open_source("synthetic:3", width=160, height=96, fps=20.0, realtime=False) as source:
        assert isinstance(source, SyntheticSource)
        frames = [source.read() for _ in range(3)]
    assert [f.number for f in frames] == [0, 1, 2]
    assert [f.capture_ns for f in frames] == [0, 50_000_000, 100_000_000]
    assert all(f.truth is not None and f.truth.frame == f.number for f in frames)
    assert frames[0].image.shape == (96, 160, 3)


def test_synthetic_source_keeps_real_time_and_skips_frames_when_late():
    clock = FakeClock()
    source = open_source("synthetic", width=160, height=96, fps=10.0, clock=clock)
    first = source.read()
    second = source.read()
    assert clock.sleeps == pytest.approx([0.1, 0.1])  # frame 0 is due one period after opening
    clock.now += 0.35  # the consumer stalled: frames 2 and 3 are past, frame 4 was due at 0.5 s
    late = source.read()
    assert (first.number, second.number, late.number) == (0, 1, 4)
    assert late.capture_ns - first.capture_ns == 400_000_000
    assert isinstance(source, SyntheticSource) and source.dropped == 2


def test_synthetic_source_hands_a_frame_over_at_its_due_time_rendered_ahead():
    clock = FakeClock()
    source = open_source("synthetic", width=160, height=96, fps=10.0, clock=clock)
    for _ in range(3):
        frame = source.read()
        assert abs(frame.capture_ns - clock.wall_ns()) < 1000  # handed over when due, to the µs


def test_camera_that_cannot_open_is_unavailable():
    with pytest.raises(SourceUnavailable):
        open_source(SourceSpec(kind="camera", target="97"))


def test_backoff_doubles_up_to_the_maximum_and_resets_on_success():
    backoff = Backoff(initial=0.5, factor=2.0, maximum=5.0, jitter=0.0)
    assert [backoff.failure() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.attempts == 6
    backoff.success()
    assert backoff.failure() == 0.5


def test_backoff_jitter_is_bounded_and_reproducible():
    a = [Backoff(initial=1.0, maximum=100.0, jitter=0.2, seed=7).failure() for _ in range(3)]
    b = Backoff(initial=1.0, maximum=100.0, jitter=0.2, seed=7)
    delays = [b.failure() for _ in range(6)]
    assert a == [delays[0]] * 3
    for k, d in enumerate(delays):
        assert 0.8 * 2**k <= d <= 1.2 * 2**k
    assert Backoff(jitter=0.2, seed=7).failure() == Backoff(jitter=0.2, seed=7).failure()


def test_backoff_survives_thousands_of_failures():
    backoff = Backoff(maximum=30.0, jitter=0.0)
    assert [backoff.failure() for _ in range(5000)][-1] == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0.0}, {"factor": 0.5}, {"initial": 5.0, "maximum": 1.0}, {"jitter": 1.0}],
)
def test_backoff_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


@given(st.text(max_size=40))
def test_parse_source_never_fails_other_than_unavailable(text):
    try:
        spec = parse_source(text)
    except SourceUnavailable:
        return
    assert spec.kind in ("synthetic", "file", "camera", "stream", "folder")
    if spec.kind == "camera":
        assert spec.target.isdigit()


@given(
    st.floats(0.01, 5.0),
    st.floats(1.0, 4.0),
    st.floats(5.0, 120.0),
    st.floats(0.0, 0.5),
    st.integers(0, 2**31),
)
def test_backoff_delays_stay_between_the_jittered_start_and_the_maximum(
    initial, factor, maximum, jitter, seed
):
    backoff = Backoff(initial=initial, factor=factor, maximum=maximum, jitter=jitter, seed=seed)
    delays = [backoff.failure() for _ in range(40)]
    assert all(initial * (1 - jitter) - 1e-12 <= d <= maximum + 1e-12 for d in delays)
