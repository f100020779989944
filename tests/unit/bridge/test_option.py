"""What a subscribe means on the bus, node liveness, and subscription filters."""

from __future__ import annotations

import pytest

from bridge.filter import Filter
from bridge.health import Liveness
from bridge.option import default_mode, has_latest, has_reliable, plan
from protocol.errors import TopicError
from protocol.messages import Heartbeat
from tests.helpers.session import make_item


def test_a_camera_rendition_is_the_only_frame_interest():
    assert plan("vision.frame.cam0", "preview", "720p") == (
        ("vision.frame.cam0.preview",),
        "vision.frame.cam0.preview",
    )
    assert plan("vision.frame.cam0", None, "720p")[1] == "vision.frame.cam0.720p"
    assert plan("vision.frame.cam0.full", None, "720p")[1] == "vision.frame.cam0.full"
    with pytest.raises(TopicError):
        plan("vision.frame", None, "720p")
    with pytest.raises(ValueError):
        plan("vision.frame.cam0.full", "preview", "720p")
    with pytest.raises(ValueError):
        plan("core.state", "preview", "720p")


def test_wide_prefixes_never_subscribe_every_rendition():
    bus, frame = plan("", None, "720p")
    assert frame == "" and not any(p.startswith("vision.frame") for p in bus)
    assert {"core.state", "core.event", "system.alert.", "vision.calibration."} <= set(bus)
    assert plan("vision.", None, "720p")[0] == (
        "vision.detections.",
        "vision.calibration.",
        "vision.truth.",
    )
    assert plan("core.", None, "720p") == (("core.",), "")
    with pytest.raises(TopicError):
        plan("system.welcome.x", None, "720p")


def test_default_modes_follow_the_topic_class():
    assert default_mode("core.state") == "latest"
    assert default_mode("core.event") == "reliable"
    assert default_mode("vision.calibration.cam0") == "reliable"
    assert default_mode("vision.detections.cam0") == "queue"
    assert has_reliable("system.") and has_reliable("") and not has_reliable("core.state")
    assert has_latest("core.") and has_latest("vision.calibration.cam0")
    assert not has_latest("core.event") and not has_latest("vision.detections.cam0")


def beat(node: str, interval: float = 1.0, status: str = "ok") -> Heartbeat:
    return Heartbeat(
        node=node,
        kind="core",
        pid=1,
        host="h",
        version="0",
        started_ns=0,
        uptime_s=1.0,
        interval_s=interval,
        status=status,
    )


def test_a_node_missing_three_heartbeats_is_down_once_and_back_once():
    liveness = Liveness(down_after=3.0)
    assert liveness.beat(beat("core"), now=0.0) is None
    assert liveness.check(now=2.9) == []
    (down,) = liveness.check(now=3.1)
    assert down.node == "core" and down.down
    assert liveness.check(now=10.0) == []  # said once
    report = liveness.report(now=10.0)
    assert report["status"] == "degraded" and report["nodes"]["core"]["status"] == "down"
    back = liveness.beat(beat("core"), now=11.0)
    assert back is not None and not back.down
    assert liveness.report(now=11.0)["nodes"]["core"]["status"] == "ok"
    liveness.beat(beat("vision", status="degraded"), now=11.0)
    assert liveness.report(now=11.0)["nodes"]["vision"]["status"] == "degraded"


def test_where_conditions_and_fields_projection():
    data = {"balls": [{"id": 1, "x": 0.5, "y": 0.1}, {"id": 2, "x": -1.0, "y": 0.2}], "frame": 9}
    item = make_item("core.state", 1, type_="core.state", data=data)
    assert Filter(None, [("balls.1.id", "eq", 2), ("frame", "ge", 9)]).accepts(item)
    assert not Filter(None, [("balls.5.id", "eq", 2)]).accepts(item)  # missing: false
    assert not Filter(None, [("frame", "lt", "a")]).accepts(item)  # wrong type: false
    assert Filter(None, [("frame", "in", [8, 9])]).accepts(item)
    view = Filter(["balls.x", "frame"], None)
    assert view.shape(data) == {"balls": [{"x": 0.5}, {"x": -1.0}], "frame": 9}
    with pytest.raises(ValueError):
        Filter(None, [("frame", "in", 9)])
    with pytest.raises(ValueError):
        Filter(["a..b"], None)
