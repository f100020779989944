"""The per-connection state machine, driven synchronously: modes, acks, resume, budgets."""

from __future__ import annotations

from bridge import wire
from bridge.effect import Detach
from bridge.reliable import Lost, Page, Unavailable
from tests.helpers.session import Client, make_item


def test_welcome_comes_first_with_the_limits(client):
    (welcome,) = client.read()
    assert welcome["op"] == "welcome"
    assert welcome["protocol"] == "1.0"
    assert welcome["limits"]["window"] == 1000


def test_latest_subscriber_gets_the_current_value_at_once(client):
    client.read()
    state = make_item("core.state", seq=7, type_="core.state", data={"frame": 7})
    sub = client.subscribe(topic="core.state", id=5, values=[state])
    subscribed, message = client.read()
    assert subscribed == {
        "op": "subscribed",
        "sub": sub,
        "topic": "core.state",
        "mode": "latest",
        "recovered": True,
        "positions": {},
        "id": 5,
    }
    assert message["sub"] == sub
    assert message["type"] == "core.state"
    assert (message["seq"], message["epoch"], message["data"]) == (7, "e1", {"frame": 7})
    assert message["t_origin_ns"] == 1007 and message["redelivered"] is False


def test_latest_mode_conflates_and_counts_the_dropped(client):
    client.subscribe(topic="core.state")
    client.read()
    for seq in range(1, 6):
        client.session.offer(make_item("core.state", seq=seq, type_="core.state"), 0.0)
    assert [m["seq"] for m in client.messages()] == [5]
    assert client.session.status(0.0)["subs"]["1"]["dropped"] == 4


def test_queue_mode_drops_the_oldest(client):
    client.subscribe(topic="core.state", mode="queue", queue=2)
    client.read()
    for seq in range(1, 6):
        client.session.offer(make_item("core.state", seq=seq, type_="core.state"), 0.0)
    assert [m["seq"] for m in client.messages()] == [4, 5]
    assert client.session.status(0.0)["subs"]["1"]["dropped"] == 3


def test_reliable_window_holds_back_until_acked():
    client = Client(window=2)
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    for seq in range(1, 6):
        client.session.offer(make_item(seq=seq), 0.0)
    assert [m["seq"] for m in client.messages()] == [1, 2]
    assert client.session.status(0.0)["subs"]["1"]["unacked"] == 2
    client.send({"op": "ack", "topic": "core.event", "seq": 2})
    assert [m["seq"] for m in client.messages()] == [3, 4]
    client.send({"op": "ack", "topic": "core.event", "seq": 4})
    assert [m["seq"] for m in client.messages()] == [5]


def test_cumulative_ack_releases_the_budget():
    client = Client()
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    for seq in range(1, 11):
        client.session.offer(make_item(seq=seq), 0.0)
    assert len(client.messages()) == 10
    assert client.session.budget.messages == 10  # in flight
    client.send({"op": "ack", "topic": "core.event", "seq": 10})
    assert client.session.budget.messages == 0
    assert client.session.budget.bytes == 0


def test_unacked_message_is_redelivered_after_the_ack_timeout():
    client = Client(ack_timeout=5.0)
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    client.session.offer(make_item(seq=1), 0.0)
    client.session.offer(make_item(seq=2), 0.0)
    assert [m["redelivered"] for m in client.messages()] == [False, False]
    client.send({"op": "ack", "topic": "core.event", "seq": 1})
    client.now = 4.0
    client.session.tick(client.now)
    assert client.messages() == []
    client.now = 5.5
    client.session.tick(client.now)
    (again,) = client.messages()
    assert (again["seq"], again["redelivered"]) == (2, True)
    client.send({"op": "ack", "topic": "core.event", "seq": 2})
    client.now = 20.0
    client.session.tick(client.now)
    assert client.messages() == []
    assert client.session.status(client.now)["subs"]["1"]["redelivered"] == 1


def test_acks_that_make_no_sense_get_clear_errors(client):
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    client.session.offer(make_item(seq=1), 0.0)
    client.read()
    client.send({"op": "ack", "topic": "core.event", "seq": 9, "id": 1})
    client.send({"op": "ack", "topic": "core.state", "seq": 1, "id": 2})
    client.send({"op": "ack", "topic": "core.event", "seq": "x", "id": 3})
    client.send({"op": "ack", "topic": "core.event", "seq": 1, "epoch": "other", "id": 4})
    client.send({"op": "ack", "topic": "core.event", "seq": 1, "sub": 99, "id": 5})
    client.send({"op": "ack", "topic": "core.event", "seq": 1, "id": 6})  # fine
    client.send({"op": "ack", "topic": "core.event", "seq": 1, "id": 7})  # again: fine
    errors = client.read()
    assert [(e["id"], e["code"]) for e in errors] == [
        (1, "bad_ack"),
        (2, "no_such_sub"),
        (3, "bad_request"),
        (4, "bad_ack"),
        (5, "no_such_sub"),
    ]
    assert "not delivered yet" in errors[0]["message"]
    assert "$.seq" in errors[2]["message"]


def test_resume_replays_every_missed_message_then_live_ones(client):
    client.read()
    since = {"core.event": {"epoch": "e1", "seq": 3}}
    client.subscribe(topic="core.event", mode="reliable", since=since, id=9)
    assert client.read() == []  # no reply before history answered
    (fetch,) = client.fetches()
    assert (fetch.topic, fetch.epoch, fetch.after, fetch.resuming) == ("core.event", "e1", 3, True)
    client.session.offer(make_item(seq=7), 0.0)  # live while replaying: history has it
    page = Page([make_item(seq=s) for s in (4, 5, 6, 7)], complete=True, epoch="e1", tip=7)
    client.session.fetched(fetch, page, 0.0)
    subscribed, *messages = client.read()
    assert subscribed["recovered"] is True
    assert subscribed["positions"] == {"core.event": {"epoch": "e1", "seq": 7}}
    assert subscribed["id"] == 9
    assert [m["seq"] for m in messages] == [4, 5, 6, 7]
    client.session.offer(make_item(seq=7), 0.0)
    client.session.offer(make_item(seq=8), 0.0)
    assert [m["seq"] for m in client.messages()] == [8]


def test_resume_beyond_history_says_recovered_false_and_replays_nothing(client):
    client.read()
    since = {"core.event": {"epoch": "e1", "seq": 3}}
    client.subscribe(topic="core.event", since=since)
    (fetch,) = client.fetches()
    lost = Lost("journal starts at seq 50", epoch="e1", first=50, tip=80)
    client.session.fetched(fetch, lost, 0.0)
    subscribed = client.read()[-1]
    assert subscribed["recovered"] is False
    assert subscribed["positions"] == {"core.event": {"epoch": "e1", "seq": 80}}
    assert subscribed["unrecovered"] == {"core.event": "journal starts at seq 50"}
    client.session.offer(make_item(seq=81), 0.0)
    assert [m["seq"] for m in client.messages()] == [81]


def test_resume_with_the_publisher_unreachable_says_so(client):
    client.read()
    client.subscribe(topic="core.event", since={"core.event": {"epoch": "e1", "seq": 3}})
    (fetch,) = client.fetches()
    client.session.fetched(fetch, Unavailable("core is down"), 0.0)
    subscribed = client.read()[-1]
    assert subscribed["recovered"] is False
    assert subscribed["unrecovered"]["core.event"] == "core is down"


def test_large_resume_is_fetched_page_by_page():
    client = Client(page=4)
    client.read()
    client.subscribe(topic="core.event", since={"core.event": {"epoch": "e1", "seq": 0}})
    (fetch,) = client.fetches()
    assert fetch.limit == 4
    first = Page([make_item(seq=s) for s in range(1, 5)], complete=False, epoch="e1", tip=9)
    client.session.fetched(fetch, first, 0.0)
    subscribed, *messages = client.read()
    assert subscribed["recovered"] is True
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    (second,) = client.fetches()
    assert second.after == 4 and not second.resuming
    rest = Page([make_item(seq=s) for s in range(5, 10)], complete=True, epoch="e1", tip=9)
    client.session.fetched(second, rest, 0.0)
    assert [m["seq"] for m in client.messages()] == [5, 6, 7, 8, 9]
    assert client.fetches() == []


def test_live_gap_is_filled_from_history_in_order(client):
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    client.session.offer(make_item(seq=1), 0.0)
    client.session.offer(make_item(seq=4), 0.0)  # 2 and 3 missing
    client.session.offer(make_item(seq=5), 0.0)  # ignored while replaying
    (fetch,) = client.fetches()
    assert fetch.after == 1
    page = Page([make_item(seq=s) for s in (2, 3, 4, 5)], complete=True, epoch="e1", tip=5)
    client.session.fetched(fetch, page, 0.0)
    client.session.offer(make_item(seq=6), 0.0)
    assert [m["seq"] for m in client.messages()] == [1, 2, 3, 4, 5, 6]


def test_the_first_message_of_a_topic_lost_on_the_bus_is_fetched_when_its_tip_is_seen(client):
    # subscribed before the topic had any history; its first message was published before the
    # bus subscription reached the publisher (ZeroMQ subscribes asynchronously) and the
    # publisher's heartbeat is the only sign of it
    client.subscribe(topic="system.alert.bridge")
    subscribed = client.read()[-1]
    assert subscribed["positions"] == {"system.alert.bridge": {"epoch": "", "seq": 0}}
    client.session.check_tip("system.alert.bridge", "e1", 1)
    (fetch,) = client.fetches()
    assert (fetch.epoch, fetch.after) == ("", 0)
    page = Page([make_item(topic="system.alert.bridge", seq=1)], complete=True, epoch="e1", tip=1)
    client.session.fetched(fetch, page, 0.0)
    client.session.offer(make_item(topic="system.alert.bridge", seq=2), 0.0)
    assert [(m["epoch"], m["seq"]) for m in client.messages()] == [("e1", 1), ("e1", 2)]


def test_a_new_topic_under_a_reliable_prefix_loses_no_first_message(client):
    # the same race under a prefix: the topic did not exist when the client subscribed
    client.subscribe(topic="system.alert.", mode="reliable")
    client.read()
    client.session.check_tip("system.alert.core", "e1", 1)  # a heartbeat: a message we missed
    (fetch,) = client.fetches()
    assert (fetch.topic, fetch.epoch, fetch.after) == ("system.alert.core", "", 0)
    item = make_item(topic="system.alert.core", seq=1)
    client.session.fetched(fetch, Page([item], complete=True, epoch="e1", tip=1), 0.0)
    # and a topic whose first message the bus did bring needs no history
    client.session.offer(make_item(topic="system.alert.vision", seq=1), 0.0)
    assert not client.fetches()
    got = [(m["topic"], m["seq"]) for m in client.messages()]
    assert got == [("system.alert.core", 1), ("system.alert.vision", 1)]


def test_loss_on_a_live_stream_is_announced_with_a_gap_notice(client):
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    client.session.offer(make_item(seq=1), 0.0)
    client.session.offer(make_item(seq=9), 0.0)
    (fetch,) = client.fetches()
    client.session.fetched(fetch, Lost("pruned", epoch="e1", first=5, tip=9), 0.0)
    (fetch,) = client.fetches()
    page = Page([make_item(seq=s) for s in range(5, 10)], complete=True, epoch="e1", tip=9)
    client.session.fetched(fetch, page, 0.0)
    out = client.read()
    assert out[0]["seq"] == 1
    gap = out[1]
    assert gap["op"] == "gap" and gap["sub"] == 1
    assert (gap["first"], gap["last"], gap["continue"]["seq"]) == (2, 4, 4)
    assert [m["seq"] for m in out[2:]] == [5, 6, 7, 8, 9]


def test_new_publisher_epoch_is_announced_and_followed(client):
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.read()
    client.session.offer(make_item(seq=1), 0.0)
    client.session.offer(make_item(seq=1, epoch="e2"), 0.0)
    out = client.read()
    assert out[1]["op"] == "gap" and out[1]["continue"] == {"epoch": "e2", "seq": 0}
    assert (out[2]["epoch"], out[2]["seq"]) == ("e2", 1)
    client.send({"op": "ack", "topic": "core.event", "seq": 1, "epoch": "e2"})
    assert client.read() == []


def test_reliable_backlog_past_its_bound_closes_the_connection():
    client = Client(window=1, backlog=3)
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    for seq in range(1, 6):
        client.session.offer(make_item(seq=seq), 0.0)
    code, reason = client.session.closing
    assert code == wire.CLOSE_SLOW
    assert "backlog" in reason
    assert client.session.budget.messages == 0


def test_budget_sheds_video_first_and_closes_for_reliable_alone():
    frame = make_item("vision.frame.cam0.720p", 1, type_="vision.frame", blobs=(b"x" * 5000,))
    client = Client(max_bytes=20_000, window=100)
    client.subscribe(topic="vision.frame.cam0", rendition="720p")
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.session.offer(frame, 0.0)
    assert client.session.budget.bytes > 5000
    big = {"t_ns": 1, "reason": "y" * 4000}
    for seq in range(1, 5):
        client.session.offer(make_item(seq=seq, data=big), 0.0)
    assert client.session.closing is None
    assert client.session.status(0.0)["subs"]["1"]["dropped"] == 1
    for seq in range(5, 9):
        client.session.offer(make_item(seq=seq, data=big), 0.0)
    assert client.session.closing[0] == wire.CLOSE_SLOW
    assert "budget" in client.session.closing[1]


def test_control_then_messages_then_frames_whatever_arrived_first(client):
    client.read()
    client.subscribe(topic="vision.frame.cam0")
    client.subscribe(topic="core.state")
    client.read()
    client.session.offer(
        make_item("vision.frame.cam0.720p", 1, type_="vision.frame", blobs=(b"jpeg",)), 0.0
    )
    client.session.offer(make_item("core.state", 1, type_="core.state"), 0.0)
    client.send({"op": "ping", "id": "p"})
    pong, state, frame = client.read()
    assert pong == {"op": "pong", "id": "p", "t_ns": 123}
    assert state["topic"] == "core.state"
    assert frame.topic == "vision.frame.cam0.720p" and frame.jpeg == b"jpeg" and frame.sub == 1


def test_video_frames_are_conflated_per_client(client):
    client.subscribe(topic="vision.frame.cam0", rendition="preview")
    client.read()
    for seq in range(1, 4):
        blob = (b"jpeg%d" % seq,)
        client.session.offer(
            make_item("vision.frame.cam0.preview", seq, type_="vision.frame", blobs=blob), 0.0
        )
    (frame,) = client.read()
    assert frame.seq == 3 and frame.jpeg == b"jpeg3"


def test_max_hz_sends_the_trailing_edge(client):
    client.subscribe(topic="core.state", max_hz=10)
    client.read()
    client.session.offer(make_item("core.state", 1, type_="core.state"), 0.0)
    assert [m["seq"] for m in client.messages()] == [1]
    client.now = 0.02
    client.session.offer(make_item("core.state", 2, type_="core.state"), 0.02)
    client.session.offer(make_item("core.state", 3, type_="core.state"), 0.03)
    assert client.messages() == []
    assert client.session.deadline(client.now) == 0.1
    client.now = 0.1
    assert [m["seq"] for m in client.messages()] == [3]


def test_where_and_fields_filter_and_shape_the_data(client):
    client.subscribe(
        topic="core.event",
        mode="queue",
        where=[{"path": "ball", "op": "in", "value": [1, 2]}],
        fields=["ball", "pocket"],
    )
    client.read()
    for seq, ball in enumerate((1, 5, 2), 1):
        data = {"t_ns": 1, "ball": ball, "pocket": "p", "x": 0.5}
        client.session.offer(make_item(seq=seq, data=data), 0.0)
    assert [m["data"] for m in client.messages()] == [
        {"ball": 1, "pocket": "p"},
        {"ball": 2, "pocket": "p"},
    ]
    assert client.session.status(0.0)["subs"]["1"]["filtered"] == 1


def test_malformed_subscribes_get_clear_errors(client):
    client.read()
    for i, message in enumerate(
        [
            {"op": "subscribe", "topic": "Core..state"},
            {"op": "subscribe", "topic": "core.state", "mode": "reliable"},
            {"op": "subscribe", "topic": "core.state", "mode": "sometimes"},
            {"op": "subscribe", "topic": "core.state", "queue": 3},
            {"op": "subscribe", "topic": "core.state", "mode": "queue", "queue": 0},
            {
                "op": "subscribe",
                "topic": "core.event",
                "since": {"core.state": {"epoch": "e", "seq": 1}},
            },
            {
                "op": "subscribe",
                "topic": "core.",
                "since": {"core.state": {"epoch": "e", "seq": 1}},
            },
            {"op": "subscribe", "topic": "core.event", "since": {"core.event": {"seq": 1}}},
            {"op": "subscribe", "topic": "core.event", "since": "yesterday"},
            {"op": "subscribe", "topic": "vision.frame"},
            {"op": "subscribe", "topic": "vision.frame.cam0", "mode": "reliable"},
            {"op": "subscribe", "topic": "system.welcome.x"},
            {"op": "subscribe"},
        ]
    ):
        client.send({**message, "id": i})
    errors = client.read()
    assert [e["code"] for e in errors] == [
        "bad_topic",
        "bad_mode",
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_request",
        "bad_topic",
        "bad_mode",
        "bad_topic",
        "bad_request",
    ]
    assert [e["id"] for e in errors] == list(range(13))
    assert client.session.subs == {}


def test_garbage_and_unknown_ops_get_errors_and_the_session_goes_on(client):
    client.read()
    client.send("{not json")
    client.send("[1, 2]")
    client.send('{"op": "dance", "id": 4}')
    client.send('{"id": 5}')
    client.send({"op": "unsubscribe", "sub": 77})
    client.send({"op": "ping"})
    codes = [m.get("code", m["op"]) for m in client.read()]
    assert codes == [
        "bad_request",
        "bad_request",
        "unknown_op",
        "bad_request",
        "no_such_sub",
        "pong",
    ]


def test_too_large_and_rate_limited_messages_are_refused():
    client = Client(max_message_bytes=100, inbound_rate=5)
    client.read()
    client.send('{"op":"ping","pad":"' + "x" * 200 + '"}')
    for _ in range(20):
        client.send({"op": "ping"})
    out = client.read()
    assert out[0]["code"] == "too_large"
    assert [m["op"] for m in out[1:]].count("pong") == 10
    assert any(m.get("code") == "rate_limited" for m in out)


def test_a_token_is_needed_before_anything_else():
    client = Client(token="sesame")
    client.session.authorized = False
    client.read()
    client.send({"op": "subscribe", "topic": "core.state", "id": 1})
    assert client.read()[0]["code"] == "unauthorized"
    client.send({"op": "hello", "token": "sesame", "id": 2})
    assert client.read()[0]["authorized"] is True
    client.send({"op": "hello", "token": "wrong"})
    assert client.read()[0]["code"] == "unauthorized"
    assert client.session.closing[0] == wire.CLOSE_UNAUTHORIZED


def test_unsubscribe_stops_delivery_and_drops_interest(client):
    sub = client.subscribe(topic="core.state")
    client.read()
    client.send({"op": "unsubscribe", "sub": sub, "id": 3})
    assert isinstance(client.session.effects[-1], Detach)
    assert client.read() == [{"op": "unsubscribed", "sub": sub, "id": 3}]
    client.session.offer(make_item("core.state", 1, type_="core.state"), 0.0)
    assert client.read() == []
    assert not client.session.wants("core.state")


def test_prefix_subscription_keeps_each_topics_class(client):
    client.read()
    client.subscribe(topic="core", tips={"core.event": ("e1", 0)})
    subscribed = client.read()[-1]
    assert subscribed["mode"] == "auto"
    modes = {}
    client.session.offer(make_item("core.state", 1, type_="core.state"), 0.0)
    client.session.offer(make_item(seq=1), 0.0)
    for topic, stream in client.session.subs[1].streams.items():
        modes[topic] = stream.mode
    assert modes == {"core.state": "latest", "core.event": "reliable"}


def test_periodic_status_reports_per_subscription_counters():
    client = Client(status_interval=1.0)
    client.subscribe(topic="core.state")
    client.read()
    client.now = 1.5
    client.session.offer(make_item("core.state", 1, type_="core.state", arrived=1.0), 1.5)
    client.session.tick(client.now)
    status = next(m for m in client.read() if m["op"] == "status")
    counters = status["subs"]["1"]
    assert counters["queued"] == 1 and counters["lag_ms"] == 500.0
    assert set(counters) >= {"queued", "dropped", "unacked", "lag_ms"}


def test_msgpack_format_carries_the_same_maps():
    client = Client(fmt=wire.MSGPACK)
    client.read()
    client.subscribe(topic="core.event", tips={"core.event": ("e1", 0)})
    client.session.offer(make_item(seq=1, data={"t_ns": 5, "reason": "q"}), 0.0)
    subscribed, message = client.read()
    assert subscribed["op"] == "subscribed"
    assert message == {
        "op": "message",
        "sub": 1,
        "topic": "core.event",
        "type": "event.game_reset",
        "epoch": "e1",
        "seq": 1,
        "t_origin_ns": 1001,
        "t_pub_ns": 2001,
        "redelivered": False,
        "data": {"t_ns": 5, "reason": "q"},
    }


def test_publish_and_call_become_effects_and_are_checked(client):
    client.read()
    client.send({"op": "publish", "topic": "system.alert.core", "data": {}, "id": 1})
    client.send({"op": "publish", "topic": "system.alert.bridge", "data": {"level": "x"}, "id": 2})
    data = {"level": "info", "code": "c", "message": "m"}
    client.send({"op": "publish", "topic": "system.alert.bridge", "data": data, "id": 3})
    client.send({"op": "call", "node": "Bad Name", "request": "ping", "id": 4})
    client.send({"op": "call", "node": "core", "request": "reset_game", "id": 5})
    assert [e["code"] for e in client.read()] == ["forbidden", "bad_request", "bad_request"]
    kinds = [type(e).__name__ for e in client.session.effects]
    assert kinds == ["PublishAlert", "CallNode"]


def test_text_frames_are_json_even_on_the_msgpack_subprotocol():
    client = Client(fmt=wire.MSGPACK)
    client.read()
    client.send('{"op": "ping", "id": "t"}')
    client.send(b"\x81\xa2op\xa4ping")  # binary frames are MessagePack
    assert [m["op"] for m in client.read()] == ["pong", "pong"]
