// The cuecast viewer: live video from binary WebSocket frames with overlays in table
// coordinates, the event log, node health, and a HUD with frame rate and capture-to-screen
// latency. Plain ES modules served by the bridge; `window.cuecast` exposes the live state for
// debugging and for the browser tests (tests/browser/).

import { EventLog } from "./eventlog.js";
import { Hud } from "./hud.js";
import { Link } from "./link.js";
import { VideoView } from "./videoview.js";

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

// the newest values, and the last states by seq (the video engine reports which one it drew)
const world = { state: null, stateSeq: null, trajectory: null, calibration: null, recent: new Map() };
const layers = {};
for (const input of document.querySelectorAll("[data-layer]")) {
  layers[input.dataset.layer] = input.checked;
}
let surface = null; // the video (a VideoView), once the camera is known
const log = new EventLog($("events"), $("show-motion"));
const hud = new Hud();

function onMessage(spec, m) {
  if (m.topic === "core.state") {
    world.state = m.data;
    world.stateSeq = m.seq;
    world.recent.set(m.seq, m.data);
    if (world.recent.size > 90) world.recent.delete(world.recent.keys().next().value);
    surface?.world({ state: m.data, stateSeq: m.seq });
  } else if (m.topic === "core.trajectory") {
    world.trajectory = m.data;
    surface?.world({ trajectory: m.data });
  } else if (m.topic.startsWith("vision.calibration.")) {
    world.calibration = m.data;
    surface?.world({ calibration: m.data });
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
  onFrame: () => {}, // video comes over the video engine's own connection
  onNotice,
  onState,
});

function videoOptions() {
  return { rendition: $("rendition").value, maxHz: Number($("fps").value) || null };
}

function startVideo(camera) {
  surface = new VideoView($("view"), {
    url: link.url,
    token: link.token,
    name: link.name,
    camera,
    layers: { ...layers },
    ...videoOptions(),
  });
  window.cuecast.surface = surface;
  if (world.state) surface.world({ state: world.state, stateSeq: world.stateSeq });
  if (world.trajectory) surface.world({ trajectory: world.trajectory });
  if (world.calibration) surface.world({ calibration: world.calibration });
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
  startVideo(camera);
  for (const id of ["rendition", "fps"]) $(id).addEventListener("change", () => surface.video(videoOptions()));
  for (const input of document.querySelectorAll("[data-layer]")) {
    input.addEventListener("change", () => {
      layers[input.dataset.layer] = input.checked;
      surface.layers(layers);
    });
  }
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token-input").value;
    sessionStorage.setItem("cuecast.token", token);
    link.retryWith(token);
    surface.video({ token });
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
  surface: null, // the VideoView, once started
  world,
  layers,
  log,
  /** What the last paint drew (pixels of the frame), with the state and frame it used. */
  get drawn() {
    return surface ? surface.drawn : null;
  },
  latency(q = 0.95, n = 300) {
    return surface ? surface.quantile(q, "total", n) : null;
  },
};

start();
