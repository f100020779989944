"""The web viewer in headless Chromium against a real ``cuecast up``: video, overlays, events."""

from __future__ import annotations

import json
import math
import urllib.request

import cv2
import numpy as np
import pytest

from tests.helpers.system import http_json

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANVAS_HASH = "() => cuecast.surface.hash()"  # the video engine hashes its canvas's pixels


def test_the_video_plays_frames_keep_arriving_and_the_picture_changes(viewer):
    viewer.wait("c.link.state === 'live' && c.surface && c.surface.stats.drawn >= 3", timeout=60)
    first = viewer.js("() => ({drawn: cuecast.surface.stats.drawn, seq: cuecast.drawn.frameSeq})")
    hashes = {viewer.js(CANVAS_HASH)}
    viewer.wait("c.surface.stats.drawn >= arg + 10", arg=first["drawn"], timeout=30)
    hashes.add(viewer.js(CANVAS_HASH))
    later = viewer.js("() => ({seq: cuecast.drawn.frameSeq, w: cuecast.drawn.width})")
    assert later["seq"] > first["seq"]
    assert len(hashes) == 2, "the canvas did not change while frames were drawn"
    assert later["w"] in (320, 640, 1280, 1920)
    assert viewer.page.locator("#placeholder").is_hidden()


def test_the_hud_shows_frame_rate_and_capture_to_screen_latency(viewer):
    viewer.wait("c.surface && c.surface.samples.length >= 20", timeout=60)
    numeric = "(id) => !isNaN(parseFloat(document.getElementById(id).textContent))"
    viewer.page.wait_for_function(numeric, arg="hud-fps", timeout=30_000)  # refreshed 4x a second
    viewer.page.wait_for_function(numeric, arg="hud-p95", timeout=30_000)
    fps = float(viewer.page.locator("#hud-fps").inner_text())
    p95 = viewer.page.locator("#hud-p95").inner_text()
    assert fps > 0
    assert p95.endswith(" ms") and float(p95.split()[0]) > 0
    sample = viewer.js("() => cuecast.surface.samples.at(-1)")
    parts = ["capture_to_publish", "publish_to_receive", "receive_to_decode", "decode_to_draw"]
    assert math.isclose(sum(sample[p] for p in parts), sample["total"], abs_tol=0.01)
    assert sample["total"] > 0


def _project(calibration, x, y, width, height):
    """Table metres to frame pixels, independently of the page: numpy and OpenCV."""
    h = np.array(calibration["homography"], dtype=float).reshape(3, 3)
    u, v, w = h @ np.array([x, y, 1.0])
    u, v = u / w, v / w
    k = calibration.get("camera_matrix")
    dist = calibration.get("distortion")
    if k and dist and any(dist):
        k = np.array(k, dtype=float).reshape(3, 3)
        normal = np.linalg.inv(k) @ np.array([u, v, 1.0])
        points, _ = cv2.projectPoints(
            np.array([[normal[0], normal[1], 1.0]]), np.zeros(3), np.zeros(3), k, np.array(dist)
        )
        u, v = points[0, 0]
    return u * width / calibration["width"], v * height / calibration["height"]


def test_balls_are_drawn_where_the_state_says(viewer):
    viewer.wait(
        "c.world.calibration && c.drawn && c.drawn.balls.length >= 5"
        " && c.world.recent.has(c.drawn.stateSeq)",
        timeout=60,
    )
    seen = viewer.js(
        "() => ({drawn: cuecast.drawn, state: cuecast.world.recent.get(cuecast.drawn.stateSeq),"
        " calibration: cuecast.world.calibration})"
    )
    drawn, state = seen["drawn"], seen["state"]
    expected = {b["id"] for b in state["balls"] if not b["pocketed"] and b["visible"]}
    assert {b["id"] for b in drawn["balls"]} == expected
    for ball in drawn["balls"]:
        u, v = _project(seen["calibration"], ball["x"], ball["y"], drawn["width"], drawn["height"])
        assert abs(ball["px"] - u) < 0.5 and abs(ball["py"] - v) < 0.5, ball
        assert 0 <= ball["px"] <= drawn["width"] and 0 <= ball["py"] <= drawn["height"]
    # the balls drawn at rest are where the REST state, read a moment later, has them; when the
    # game moves on between the two reads (a break, a rack: every track new) read both again
    for _ in range(20):
        drawn = viewer.js("() => cuecast.drawn")
        rest = http_json(f"http://127.0.0.1:{viewer.port}/api/v1/state")["data"]
        by_id = {b["id"]: b for b in rest["balls"]}
        resting = [
            b
            for b in drawn["balls"]
            if b["id"] in by_id and not by_id[b["id"]]["moving"] and by_id[b["id"]]["visible"]
        ]
        if len(resting) >= 3:
            break
        viewer.page.wait_for_timeout(500)
    still = [
        b
        for b in resting
        if math.hypot(b["x"] - by_id[b["id"]]["x"], b["y"] - by_id[b["id"]]["y"]) < 0.01
    ]
    assert len(still) >= len(resting) - 2 and len(still) >= 3, (resting, rest["balls"])


def test_pockets_are_drawn_on_the_cloth_plane(viewer):
    viewer.wait("c.world.calibration && c.drawn && c.drawn.pockets.length === 6", timeout=60)
    seen = viewer.js("() => ({drawn: cuecast.drawn, calibration: cuecast.world.calibration})")
    corners = seen["calibration"]["corners_px"]
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    scale = seen["drawn"]["width"] / seen["calibration"]["width"]
    for pocket in seen["drawn"]["pockets"]:
        assert min(xs) * scale - 40 < pocket["px"] < max(xs) * scale + 40
        assert min(ys) * scale - 40 < pocket["py"] < max(ys) * scale + 40
        assert 3 < pocket["r"] < 60


def test_game_events_reach_the_log_and_are_acked(viewer):
    viewer.wait("c.link.state === 'live' && c.link.specs.get('events').sub !== null", timeout=60)
    request = urllib.request.Request(
        f"http://127.0.0.1:{viewer.port}/api/v1/nodes/core/reset_game",
        data=json.dumps({"by": "browser-test"}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    viewer.wait(
        "c.log.entries.some(e => e.type === 'event.game_reset')",
        timeout=30,
    )
    session = viewer.js("() => cuecast.link.session")
    viewer.page.wait_for_timeout(500)  # acks go out every 150 ms
    info = http_json(f"http://127.0.0.1:{viewer.port}/api/v1/connections/{session}")
    assert info["counts"]["acks"] >= 1
    assert viewer.page.locator("#events li").count() >= 1


def test_layers_can_be_switched_off(viewer):
    viewer.wait("c.drawn && c.drawn.balls.length > 0", timeout=60)
    viewer.page.locator("label:has(input[data-layer=balls])").click()
    viewer.wait("c.drawn.balls.length === 0", timeout=10)
    viewer.page.locator("label:has(input[data-layer=balls])").click()
    viewer.wait("c.drawn.balls.length > 0", timeout=10)


def test_an_img_tag_plays_the_mjpeg_stream(viewer):
    viewer.wait("c.link.state === 'live'", timeout=60)
    size = viewer.page.evaluate(
        """() => new Promise((resolve, reject) => {
          const img = document.createElement("img");
          img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
          img.onerror = () => reject(new Error("the MJPEG stream did not load"));
          img.src = "/video.mjpeg?rendition=preview&fps=5";
          document.body.append(img);
        })"""
    )
    assert size == [640, 360]
    viewer.page.evaluate("() => document.querySelector('img[src^=\"/video.mjpeg\"]').remove()")
