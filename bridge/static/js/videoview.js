// The page's side of the video engine: starts it in a worker on an OffscreenCanvas (or in the
// page without one), forwards the world and the viewer's choices, and mirrors what it reports
// (frames drawn, latency samples, what the last paint drew) with the Surface's interface, for
// the HUD, `window.cuecast` and the tests.

import { VideoEngine } from "./engine.js";

const SAMPLES = 600;

export class VideoView {
  constructor(canvas, options) {
    this.stats = { received: 0, decoded: 0, drawn: 0, skipped: 0, failed: 0 };
    this.samples = [];
    this.drawn = null;
    this.shown = null;
    this.state = "connecting";
    this.lastFps = 0;
    this.pending = new Map();
    this.nextId = 1;
    this.inWorker = typeof canvas.transferControlToOffscreen === "function" && typeof Worker === "function";
    const receive = (m) => this.receive(m);
    if (this.inWorker) {
      const offscreen = canvas.transferControlToOffscreen();
      this.worker = new Worker(new URL("./videoworker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (e) => receive(e.data);
      this.worker.postMessage({ type: "init", canvas: offscreen, options }, [offscreen]);
    } else {
      this.engine = new VideoEngine(canvas, options, receive);
    }
  }

  send(message) {
    if (this.worker) this.worker.postMessage(message);
    else this.engine.handle(message);
  }

  receive(m) {
    if (m.type === "stats") {
      Object.assign(this, { stats: m.stats, drawn: m.drawn, shown: m.shown, state: m.state, lastFps: m.fps });
      this.samples.push(...m.samples);
      if (this.samples.length > SAMPLES) this.samples.splice(0, this.samples.length - SAMPLES);
    } else if (m.type === "hash") {
      this.pending.get(m.id)?.(m.hash);
      this.pending.delete(m.id);
    }
  }

  world(update) {
    this.send({ type: "world", ...update });
  }

  layers(layers) {
    this.send({ type: "layers", layers: { ...layers } });
  }

  video(options) {
    this.send({ type: "video", options });
  }

  /** A hash of the canvas's pixels (to tell that the picture changes). */
  hash() {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: "hash", id });
    });
  }

  fps() {
    return this.lastFps;
  }

  quantile(q, field = "total", n = 300) {
    const values = this.samples.slice(-n).map((s) => s[field]).filter(Number.isFinite).sort((a, b) => a - b);
    if (!values.length) return null;
    return values[Math.min(values.length - 1, Math.floor(q * values.length))];
  }
}
