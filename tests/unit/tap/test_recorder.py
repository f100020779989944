"""MCAP files: channels, raw envelopes, splitting, ring buffer, and reading them back for play."""

from __future__ import annotations

import json
import random

import pytest
from mcap.reader import make_reader

from nodes.tap import timeline
from nodes.tap.recorder import Options, Recorder, Ring, snapshot_name, split_name
from protocol import Envelope, Header, messages


def env(topic, message, seq, t, blobs=()):
    header = Header(
        type=message.TYPE, src="core", epoch="e1", seq=seq, t_origin_ns=t - 1000, t_pub_ns=t - 10
    )
    return Envelope(topic=topic, header=header, body=messages.encode(message), blobs=blobs)


def state(frame):
    return messages.State(
        frame=frame,
        t_capture_ns=1_700_000_000_000_000_000 + frame,
        balls=[messages.BallState(id=1, number=0, x=0.1 * frame, y=0.0)],
    )


def record(path, items, **options):
    recorder = Recorder(path, Options(**options))
    for log_ns, item in items:
        recorder.write(item, log_ns)
    return recorder.close()


T0 = 1_700_000_000_000_000_000


def test_each_topic_gets_a_json_and_a_raw_channel(tmp_path):
    path = tmp_path / "a.mcap"
    frame = messages.FrameInfo(
        camera="cam0", rendition="720p", frame=1, t_capture_ns=T0, width=4, height=2
    )
    record(
        path,
        [(T0 + i, env("core.state", state(i), i + 1, T0 + i)) for i in range(3)]
        + [(T0 + 9, env("vision.frame.cam0.720p", frame, 1, T0 + 9, (b"\xff\xd8jpg",)))],
    )
    with path.open("rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        channels = {c.topic: c for c in summary.channels.values()}
        assert set(channels) == {
            "core.state",
            "core.state/msgpack",
            "vision.frame.cam0.720p",
            "vision.frame.cam0.720p/msgpack",
        }
        assert channels["core.state"].message_encoding == "json"
        assert channels["core.state/msgpack"].metadata["cuecast.encoding"] == "envelope"
        names = {s.name for s in summary.schemas.values()}
        assert names == {"cuecast.core.state", "foxglove.CompressedImage"}
        plan = timeline.plan(list(summary.channels.values()))
        assert plan["core.state"].raw and plan["core.state"].channel == "core.state/msgpack"
        seqs = [m.sequence for _, c, m in reader.iter_messages(topics=["core.state/msgpack"])]
        assert seqs == [1, 2, 3]


def test_raw_channel_round_trips_body_and_blobs_exactly(tmp_path):
    path = tmp_path / "b.mcap"
    frame = messages.FrameInfo(
        camera="cam0", rendition="720p", frame=1, t_capture_ns=T0, width=4, height=2
    )
    original = env("vision.frame.cam0.720p", frame, 7, T0, (b"\xff\xd8" + bytes(range(256)),))
    record(path, [(T0, original)])
    with path.open("rb") as stream:
        reader = make_reader(stream)
        plan = timeline.plan(list(reader.get_summary().channels.values()))
        source = plan["vision.frame.cam0.720p"]
        schema, _, message = next(iter(reader.iter_messages(topics=[source.channel])))
        item = timeline.item(source, schema, message, "vision.frame.cam0.720p")
    assert item.body == original.body and item.blobs == original.blobs
    assert item.type == "vision.frame" and item.t_origin_ns == original.header.t_origin_ns


def test_json_only_recordings_still_play(tmp_path):
    path = tmp_path / "c.mcap"
    frame = messages.FrameInfo(
        camera="cam0", rendition="720p", frame=1, t_capture_ns=T0, width=4, height=2
    )
    event = messages.Collision(t_ns=T0, balls=[1, 2], x=0.0, y=0.0)
    record(
        path,
        [
            (T0, env("vision.frame.cam0.720p", frame, 1, T0, (b"\xff\xd8",))),
            (T0 + 1, env("core.event", event, 1, T0 + 1)),
            (T0 + 2, env("core.state", state(1), 1, T0 + 2)),
        ],
        raw=False,
    )
    with path.open("rb") as stream:
        reader = make_reader(stream)
        plan = timeline.plan(list(reader.get_summary().channels.values()))
        items = [
            timeline.item(plan[c.topic], s, m, c.topic)
            for s, c, m in reader.iter_messages(log_time_order=True)
        ]
    assert [i.type for i in items] == ["vision.frame", "event.collision", "core.state"]
    assert items[0].blobs == (b"\xff\xd8",)
    assert messages.decode("core.state", items[2].body) == state(1)


def test_split_by_size_names_files_and_keeps_every_message(tmp_path):
    base = tmp_path / "long.mcap"
    big = messages.FrameInfo(camera="c", rendition="r", frame=1, t_capture_ns=T0, width=1, height=1)
    items = [
        (T0 + i, env("vision.frame.c.r", big, i + 1, T0 + i, (random.Random(i).randbytes(50_000),)))
        for i in range(40)
    ]
    files = record(base, items, split_bytes=300_000, chunk_size=100_000, json=False)
    assert len(files) > 2 and files[0] == split_name(base, 0) == tmp_path / "long_000.mcap"
    total = 0
    for path in files:
        with path.open("rb") as stream:
            total += make_reader(stream).get_summary().statistics.message_count
    assert total == 40


def test_existing_files_are_not_overwritten_unless_asked(tmp_path):
    path = tmp_path / "x.mcap"
    path.write_text("keep")
    with pytest.raises(FileExistsError):
        record(path, [(T0, env("core.state", state(1), 1, T0))])
    record(path, [(T0, env("core.state", state(1), 1, T0))], overwrite=True)
    assert path.read_bytes()[:5] == b"\x89MCAP"


def test_ring_keeps_the_last_seconds_within_its_byte_budget():
    ring = Ring(seconds=2.0, max_bytes=10**9)
    for i in range(50):
        ring.add(env("core.state", state(i), i + 1, T0), T0 + int(i * 0.1 * 1e9))
    held = ring.contents()
    assert (held[-1][0] - held[0][0]) / 1e9 <= 2.0 and len(held) == 21
    small = Ring(seconds=100, max_bytes=1000)
    for i in range(50):
        small.add(env("core.state", state(i), i + 1, T0), T0 + i)
    assert small.bytes <= 1000 and small.evicted > 0


def test_snapshot_names_are_timestamped():
    name = snapshot_name(__import__("pathlib").Path("/r/last.mcap"), T0)
    assert name.parent.name == "r" and name.name.startswith("last-") and name.suffix == ".mcap"


def test_metadata_is_written(tmp_path):
    path = tmp_path / "m.mcap"
    record(path, [(T0, env("core.state", state(1), 1, T0))], metadata={"protocol": "1.0"})
    with path.open("rb") as stream:
        meta = list(make_reader(stream).iter_metadata())
    assert meta[0].name == "cuecast" and json.loads('"' + meta[0].metadata["protocol"] + '"')
