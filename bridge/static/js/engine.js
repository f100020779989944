// The video engine: its own WebSocket to the bridge carrying only video frames, decoding, and
// drawing video plus overlays on a canvas. It runs in a Web Worker on an OffscreenCanvas (so
// nothing the page does, and no other message, delays a frame), or in the page when the
// browser has no OffscreenCanvas. It talks to the page with plain messages (`handle`, `post`).

import { Overlay } from "./overlay.js";
import { Projection } from "./projection.js";
import { parseFrame, nowMs } from "./frame.js";
import { Surface } from "./video.js";

const REPORT_EVERY_MS = 200;

export class VideoEngine {
  /**
   * @param {HTMLCanvasElement|OffscreenCanvas} canvas
   * @param {{url: string, token: string, name: string, camera: string, rendition: string,
   *          maxHz: number|null, layers: object}} options
   * @param {(message: object) => void} post  messages to the page
   */
  constructor(canvas, options, post) {
    this.options = options;
    this.post = post;
    this.layers = options.layers;
    this.world = { state: null, stateSeq: null, trajectory: null, projection: null };
    this.overlay = new Overlay(null);
    this.surface = new Surface(canvas, (ctx, width, height) => this.draw(ctx, width, height));
    this.surface.showVideo = this.layers.video;
    this.ws = null;
    this.state = "connecting";
    this.attempt = 0;
    this.reported = 0;
    this.connect();
    setInterval(() => this.report(), REPORT_EVERY_MS);
  }

  handle(m) {
    if (m.type === "world") this.setWorld(m);
    else if (m.type === "layers") this.setLayers(m.layers);
    else if (m.type === "video") this.setVideo(m);
    else if (m.type === "hash") this.post({ type: "hash", id: m.id, hash: this.hash() });
  }

  setWorld(m) {
    if ("state" in m) [this.world.state, this.world.stateSeq] = [m.state, m.stateSeq];
    if ("trajectory" in m) this.world.trajectory = m.trajectory;
    if ("calibration" in m) this.world.projection = new Projection(m.calibration);
    this.surface.invalidate();
  }

  setLayers(layers) {
    this.layers = layers;
    this.surface.showVideo = layers.video;
    this.surface.invalidate();
  }

  setVideo(m) {
    Object.assign(this.options, m.options);
    if (this.ws) this.ws.close(); // reconnects with the new options at once
  }

  draw(ctx, width, height) {
    this.overlay.ctx = ctx;
    const drawn = this.overlay.draw(this.world.projection, this.world, this.layers, width, height);
    drawn.stateSeq = this.world.stateSeq;
    drawn.frameSeq = this.surface.shown ? this.surface.shown.frame.seq : null;
    return drawn;
  }

  connect() {
    const ws = new WebSocket(this.options.url, ["cuecast.v1.json"]);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.subscribe(ws);
    ws.onmessage = (e) => this.received(e.data);
    ws.onclose = () => this.closed();
    this.ws = ws;
  }

  subscribe(ws) {
    const o = this.options;
    const hello = { op: "hello", id: "hello", session: `${o.name}-video` };
    if (o.token) hello.token = o.token;
    const subscribe = { op: "subscribe", id: "video", topic: `vision.frame.${o.camera}`, rendition: o.rendition };
    if (o.maxHz) subscribe.max_hz = o.maxHz;
    ws.send(JSON.stringify(hello));
    ws.send(JSON.stringify(subscribe));
  }

  received(data) {
    if (typeof data === "string") {
      const m = JSON.parse(data);
      if (m.op === "subscribed") [this.state, this.attempt] = ["live", 0];
      else if (m.op === "error") this.post({ type: "error", code: m.code, message: m.message });
      return;
    }
    const frame = parseFrame(data);
    if (!frame) return;
    frame.receivedMs = nowMs();
    this.surface.offer(frame);
  }

  closed() {
    this.ws = null;
    this.state = "reconnecting";
    this.attempt += 1;
    const delay = Math.min(250 * 2 ** Math.min(this.attempt - 1, 5), 5000) * (0.8 + Math.random() * 0.4);
    setTimeout(() => this.connect(), this.attempt === 1 ? 0 : delay);
  }

  report() {
    const s = this.surface;
    const fresh = s.samples.slice(Math.max(0, s.samples.length - (s.stats.drawn - this.reported)));
    this.reported = s.stats.drawn;
    const shown = s.shown ? { frame: { ...s.shown.frame, jpeg: undefined } } : null;
    this.post({ type: "stats", state: this.state, stats: { ...s.stats }, fps: s.fps(), samples: fresh, drawn: s.drawn, shown });
  }

  hash() {
    const c = this.surface.canvas;
    const data = this.surface.ctx.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < data.length; i += 4 * 61) h = (h * 31 + data[i] + data[i + 1] * 7) % 1000000007;
    return h;
  }
}
