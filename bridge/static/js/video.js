// The video surface: binary frames are decoded off the main thread (createImageBitmap, two at a
// time so one slow decode does not hold the next frame), only the newest waits (a frame arriving
// while both decoders are busy replaces the waiting one), a decoded frame older than the one
// ready is dropped, and each animation frame draws the newest picture with the overlays on top. Every drawn frame gives a latency
// sample: capture time (frame header) to drawn on the canvas, on the browser's wall clock.

import { nowMs } from "./frame.js";

const SAMPLES = 600;
const DECODERS = 2;

export class Surface {
  constructor(canvas, draw) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.drawOverlay = draw; // (ctx, width, height) => drawn
    this.waiting = null; // newest frame not decoded yet
    this.decoding = 0;
    this.ready = null; // decoded, not drawn yet
    this.shown = null; // on screen: {frame, bitmap}
    this.dirty = false;
    this.showVideo = true;
    this.stats = { received: 0, decoded: 0, drawn: 0, skipped: 0, failed: 0 };
    this.samples = []; // {total, capture_to_publish, publish_to_receive, receive_to_decode, decode_to_draw}
    this.drawnTimes = [];
    this.drawn = null;
    requestAnimationFrame((t) => this.tick(t));
  }

  offer(frame) {
    this.stats.received += 1;
    if (this.waiting) this.stats.skipped += 1;
    this.waiting = frame;
    if (this.decoding < DECODERS) this.decodeNext();
  }

  async decodeNext() {
    const frame = this.waiting;
    if (!frame) return;
    this.waiting = null;
    this.decoding += 1;
    try {
      const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }));
      frame.decodedMs = nowMs();
      this.stats.decoded += 1;
      this.keep(frame, bitmap);
    } catch (err) {
      this.stats.failed += 1;
    } finally {
      this.decoding -= 1;
      if (this.waiting) this.decodeNext();
    }
  }

  keep(frame, bitmap) {
    const newest = this.ready || this.shown;
    if (newest && newest.frame.topic === frame.topic && newest.frame.seq >= frame.seq) {
      bitmap.close(); // a later frame finished decoding first
      this.stats.skipped += 1;
      return;
    }
    if (this.ready) {
      this.ready.bitmap.close();
      this.stats.skipped += 1;
    }
    this.ready = { frame, bitmap };
  }

  invalidate() {
    this.dirty = true;
  }

  tick() {
    requestAnimationFrame((t) => this.tick(t));
    const fresh = this.ready;
    if (!fresh && !this.dirty) return;
    if (fresh) {
      if (this.shown) this.shown.bitmap.close();
      this.shown = fresh;
      this.ready = null;
    }
    this.dirty = false;
    this.paint();
    if (fresh) this.sample(fresh.frame, nowMs());
  }

  paint() {
    const shown = this.shown;
    const width = shown ? shown.frame.width || shown.bitmap.width : this.canvas.width;
    const height = shown ? shown.frame.height || shown.bitmap.height : this.canvas.height;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const ctx = this.ctx;
    if (shown && this.showVideo) {
      ctx.drawImage(shown.bitmap, 0, 0, width, height);
    } else {
      ctx.fillStyle = "#123d2a";
      ctx.fillRect(0, 0, width, height);
    }
    this.drawn = this.drawOverlay(ctx, width, height);
  }

  sample(frame, drawnMs) {
    this.stats.drawn += 1;
    this.drawnTimes.push(drawnMs);
    while (this.drawnTimes.length && this.drawnTimes[0] < drawnMs - 2000) this.drawnTimes.shift();
    const sample = {
      seq: frame.seq,
      total: drawnMs - frame.captureMs,
      capture_to_publish: frame.publishMs - frame.captureMs,
      publish_to_receive: frame.receivedMs - frame.publishMs,
      receive_to_decode: frame.decodedMs - frame.receivedMs,
      decode_to_draw: drawnMs - frame.decodedMs,
    };
    this.samples.push(sample);
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  /** Frames drawn per second over the last two seconds (at least one second's worth). */
  fps() {
    const t = this.drawnTimes;
    if (t.length < 2 || nowMs() - t[t.length - 1] > 1500) return 0;
    return ((t.length - 1) * 1000) / Math.max(t[t.length - 1] - t[0], 1000); // no bursts at start
  }

  /** The q-quantile of `field` over the last `n` samples (ms), or null. */
  quantile(q, field = "total", n = 300) {
    const values = this.samples.slice(-n).map((s) => s[field]).filter(Number.isFinite).sort((a, b) => a - b);
    if (!values.length) return null;
    return values[Math.min(values.length - 1, Math.floor(q * values.length))];
  }
}
