// Numbers on screen: the video HUD (fps, capture-to-screen latency), node health chips from
// heartbeats, the ball rack and the connection facts. Updated a few times a second.

import { ballColor } from "./overlay.js";

const $ = (id) => document.getElementById(id);
const ms = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} ms`);
const STALE_MS = 3500;

function grade(el, value, good, warn) {
  el.classList.remove("good", "warn", "bad");
  if (value === null || value === undefined) return;
  el.classList.add(value <= good ? "good" : value <= warn ? "warn" : "bad");
}

export class Hud {
  constructor() {
    this.heartbeats = new Map(); // node -> {status, reason, at}
  }

  video(surface, link) {
    const fps = surface.fps();
    $("hud-fps").textContent = fps ? fps.toFixed(1) : "–";
    grade($("hud-fps"), -fps, -24, -10);
    const p50 = surface.quantile(0.5);
    const p95 = surface.quantile(0.95);
    $("hud-p50").textContent = ms(p50);
    $("hud-p95").textContent = ms(p95);
    grade($("hud-p50"), p50, 50, 100);
    grade($("hud-p95"), p95, 50, 100);
    const shown = surface.shown;
    $("hud-frame").textContent = shown ? `#${shown.frame.frame}` : "–";
    $("hud-size").textContent = shown ? `${shown.frame.width}×${shown.frame.height}` : "–";
    const dropped = surface.stats.skipped + dropsOf(link.status);
    $("hud-dropped").textContent = String(dropped);
    $("placeholder").hidden = Boolean(shown);
  }

  heartbeat(data) {
    this.heartbeats.set(data.node, { status: data.status, reason: data.reason, at: Date.now() });
  }

  nodes() {
    const box = $("nodes");
    const now = Date.now();
    const names = [...this.heartbeats.keys()].sort();
    if (box.children.length !== names.length) box.replaceChildren();
    names.forEach((name, i) => {
      const beat = this.heartbeats.get(name);
      const status = now - beat.at > STALE_MS ? "down" : beat.status;
      let chip = box.children[i];
      if (!chip) {
        chip = document.createElement("span");
        chip.className = "node";
        box.append(chip);
      }
      chip.dataset.status = status;
      chip.textContent = name;
      chip.title = status === "down" ? `${name}: no heartbeat` : `${name}: ${status}${beat.reason ? ` (${beat.reason})` : ""}`;
    });
  }

  rack(state) {
    const box = $("balls");
    const all = (state && state.balls) || [];
    const live = all.filter((b) => !b.pocketed && b.visible !== false);
    const unknown = live.filter((b) => b.number === null || b.number === undefined).length;
    $("ball-count").textContent = state
      ? `${live.length} on the table${unknown ? ` · ${unknown} unidentified` : ""}`
      : "";
    const chips = [];
    for (let number = 0; number <= 15; number += 1) {
      const ball = live.find((b) => b.number === number) || all.find((b) => b.number === number);
      const el = document.createElement("div");
      const kind = number === 0 ? "cue" : number === 8 ? "eight" : number < 8 ? "solid" : "stripe";
      const here = ball && !ball.pocketed && ball.visible !== false;
      el.className = `ball ${kind}${here ? "" : " gone"}${ball && ball.moving ? " moving" : ""}`;
      el.style.backgroundColor = ballColor({ number, kind });
      el.title = ball
        ? `${number === 0 ? "cue ball" : `ball ${number}`}: #${ball.id}${ball.pocketed ? `, in ${ball.pocket}` : ""}`
        : `${number === 0 ? "cue ball" : `ball ${number}`}: not seen`;
      if (number !== 0) {
        const i = document.createElement("i");
        i.textContent = String(number);
        el.append(i);
      }
      chips.push(el);
    }
    box.replaceChildren(...chips);
  }

  facts(link) {
    $("fact-session").textContent = link.session || "–";
    $("fact-reconnects").textContent = String(link.reconnects);
    const last = link.resumes[link.resumes.length - 1];
    $("fact-resumed").textContent = last ? (last.recovered ? "yes, nothing lost" : "partly: see log") : "–";
    const pos = link.positions["core.event"];
    $("fact-position").textContent = pos ? `${pos.seq}` : "–";
    $("fact-unacked").textContent = String(link.unacked);
    $("fact-rtt").textContent = link.rtt === null ? "–" : `${link.rtt.toFixed(1)} ms`;
  }
}

function dropsOf(status) {
  if (!status || !status.subs) return 0;
  return Object.values(status.subs).reduce((n, s) => n + (s.topic.startsWith("vision.frame") ? s.dropped : 0), 0);
}
