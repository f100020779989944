// The cuecast viewer: live video from binary WebSocket frames with overlays in table
// coordinates, the event log, node health, and a HUD with frame rate and capture-to-screen
// latency. Plain ES modules served by the bridge; `window.cuecast` exposes the live state for
// debugging and for the browser tests (tests/browser/).

import { EventLog } from "./eventlog.js";
import { Hud } from "./hud.js";
import { Link } from "./link.js";
import { Overlay } from "./overlay.js";
import { Projection } from "./projection.js";
import { Surface } from "./video.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function takeToken() {
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem("cuecast.token", fromUrl);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }
  return sessionStorage.getItem("cuecast.token") || "";
}

function viewerName() {
  let name = sessionStorage.getItem("cuecast.name");
  if (!name) {
    name = `viewer-${Math.random().toString(36).slice(2, 8)}`;
    sessionStorage.setItem("cuecast.name", name);
  }
  return name;
}

async function pickCamera() {
  if (params.get("camera")) return params.get("camera");
  try {
    const listing = await (await fetch("/api/v1/topics")).json();
    const calibrated = listing.topics.map((t) => t.topic).filter((t) => t.startsWith("vision.calibration."));
    if (calibrated.length) return calibrated[0].split(".")[2];
  } catch {
    // the bridge may still be starting: the default camera will do
  }
  return "cam0";
}

const world = { state: null, stateSeq: null, trajectory: null, calibration: null, projection: null };
const layers = {};
for (const input of document.querySelectorAll("[data-layer]")) {
  layers[input.dataset.layer] = input.checked;
}

const overlay = new Overlay(null);
const surface = new Surface($("view"), (ctx, width, height) => {
  overlay.ctx = ctx;
  const drawn = overlay.draw(world.projection, world, layers, width, height);
  drawn.stateSeq = world.stateSeq;
  drawn.frameSeq = surface.shown ? surface.shown.frame.seq : null;
  return drawn;
});
const log = new EventLog($("events"), $("show-motion"));
const hud = new Hud();

function onMessage(spec, m) {
  if (m.topic === "core.state") {
    world.state = m.data;
    world.stateSeq = m.seq;
    world.stateAt = m.t_origin_ns / 1e6;
    surface.invalidate();
  } else if (m.topic === "core.trajectory") {
    world.trajectory = m.data;
    surface.invalidate();
  } else if (m.topic.startsWith("vision.calibration.")) {
    world.calibration = m.data;
    world.projection = new Projection(m.data);
    surface.invalidate();
  } else if (m.topic === "core.event") {
    log.event(m);
  } else if (m.topic.startsWith("system.alert.")) {
    log.alert(m);
  } else if (m.topic.startsWith("system.heartbeat.")) {
    hud.heartbeat(m.data);
  }
}

function onNotice(n) {
  if (n.kind === "closed") log.notice("Disconnected", `code ${n.code}; retrying in ${(n.retryMs / 1000).toFixed(1)} s`);
  else if (n.kind === "resumed" && n.recovered) log.notice("Resumed", `${n.topic}: nothing lost`);
  else if (n.kind === "resumed") log.notice("Resumed with a gap", `${n.topic}: ${Object.values(n.unrecovered || {}).join("; ")}`);
  else if (n.kind === "gap") log.notice("Gap", `${n.topic}: ${n.reason}`);
  else if (n.kind === "error" && n.code !== "unauthorized") log.notice(`Error ${n.code}`, n.message);
}

function onState(state) {
  const el = $("link");
  el.dataset.state = state;
  $("link-label").textContent = state === "live" && link.reconnects ? `live · resumed` : state;
  $("token-dialog").hidden = state !== "unauthorized";
  if (state === "live") log.notice("Connected", `session ${link.session || ""}`);
}

const scheme = location.protocol === "https:" ? "wss" : "ws";
const link = new Link({
  url: `${scheme}://${location.host}/ws`,
  token: takeToken(),
  name: viewerName(),
  onMessage,
  onFrame: (frame) => surface.offer(frame),
  onNotice,
  onState,
});

function subscribeVideo(camera) {
  const options = { rendition: $("rendition").value };
  const fps = Number($("fps").value);
  if (fps) options.max_hz = fps;
  link.want("video", `vision.frame.${camera}`, options);
}

async function start() {
  const camera = await pickCamera();
  if (params.get("rendition")) $("rendition").value = params.get("rendition");
  link.want("state", "core.state");
  link.want("trajectory", "core.trajectory");
  link.want("calibration", `vision.calibration.${camera}`, { mode: "reliable" });
  link.want("events", "core.event", { mode: "reliable" }, true);
  link.want("alerts", "system.alert.", { mode: "reliable" }, true);
  link.want("heartbeats", "system.heartbeat.");
  subscribeVideo(camera);
  for (const id of ["rendition", "fps"]) $(id).addEventListener("change", () => subscribeVideo(camera));
  for (const input of document.querySelectorAll("[data-layer]")) {
    input.addEventListener("change", () => {
      layers[input.dataset.layer] = input.checked;
      surface.showVideo = layers.video;
      surface.invalidate();
    });
  }
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("cuecast.token", $("token-input").value);
    link.retryWith($("token-input").value);
  });
  link.start();
  setInterval(() => {
    hud.video(surface, link);
    hud.nodes();
    hud.facts(link);
  }, 250);
  setInterval(() => hud.rack(world.state), 500);
  const shot = $("shot");
  setInterval(() => {
    const moving = world.state && world.state.moving;
    shot.hidden = !moving;
    shot.textContent = moving ? `shot ${world.state.shot} in progress` : "";
  }, 200);
}

window.cuecast = {
  version: 1,
  link,
  surface,
  world,
  layers,
  log,
  /** What the last paint drew (pixels of the frame), with the state and frame it used. */
  get drawn() {
    return surface.drawn;
  },
  latency(q = 0.95, n = 300) {
    return surface.quantile(q, "total", n);
  },
};

start();
