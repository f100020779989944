// The viewer's connection to the bridge (protocol v1, subprotocol cuecast.v1.json): hello,
// subscriptions that come back after every reconnect, cumulative acks of reliable messages and
// resume with `since` from the last position processed, so nothing is lost or shown twice.

import { nowMs, parseFrame } from "./frame.js";

const SUBPROTOCOL = "cuecast.v1.json";
const ACK_EVERY_MS = 150;
const PING_EVERY_MS = 5000;

export class Link {
  /**
   * @param {object} o
   * @param {string} o.url       ws:// or wss:// URL of /ws
   * @param {string} [o.token]   the bridge's token, if it has one
   * @param {string} o.name      a name for this viewer (shown to operators)
   * @param {(sub: object, msg: object) => void} o.onMessage  each bus message
   * @param {(frame: object) => void} o.onFrame                each binary video frame
   * @param {(event: object) => void} o.onNotice               gaps, resumes, errors, status
   * @param {(state: string) => void} o.onState                connecting|live|reconnecting|...
   */
  constructor(o) {
    Object.assign(this, o);
    this.ws = null;
    this.state = "connecting";
    this.session = null;
    this.reconnects = 0;
    this.attempt = 0;
    this.specs = new Map(); // key -> {topic, options, resume, sub}
    this.bySub = new Map(); // sub id -> spec
    this.positions = {}; // topic -> {epoch, seq}: the last reliable message processed
    this.acks = {}; // topic -> seq waiting to be acked
    this.unacked = 0;
    this.rtt = null;
    this.resumes = [];
    this.status = null;
    this.nextId = 1;
    this.timers = [];
  }

  start() {
    this.timers.push(setInterval(() => this.flushAcks(), ACK_EVERY_MS));
    this.timers.push(setInterval(() => this.ping(), PING_EVERY_MS));
    this.connect();
  }

  /** Ask for a subscription now and after every reconnect (`resume`: with since). */
  want(key, topic, options = {}, resume = false) {
    const old = this.specs.get(key);
    if (old && old.sub !== null) this.send({ op: "unsubscribe", sub: old.sub });
    const spec = { key, topic, options, resume, sub: null };
    this.specs.set(key, spec);
    if (this.state === "live") this.subscribe(spec);
  }

  connect() {
    this.setState(this.reconnects || this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url, [SUBPROTOCOL]);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.opened();
    ws.onmessage = (e) => this.received(e.data);
    ws.onclose = (e) => this.closed(e);
    this.ws = ws;
  }

  opened() {
    this.attempt = 0;
    this.bySub.clear();
    const hello = { op: "hello", id: "hello", session: this.name };
    if (this.token) hello.token = this.token;
    this.send(hello);
    for (const spec of this.specs.values()) this.subscribe(spec);
  }

  subscribe(spec) {
    spec.sub = null;
    const message = { op: "subscribe", id: `sub:${spec.key}`, topic: spec.topic, ...spec.options };
    if (spec.resume) {
      const since = this.sinceFor(spec.topic);
      if (Object.keys(since).length) message.since = since;
      spec.resumed = Object.keys(since);
    }
    this.send(message);
  }

  sinceFor(prefix) {
    const since = {};
    for (const [topic, pos] of Object.entries(this.positions)) {
      if (topic === prefix || topic.startsWith(prefix.endsWith(".") ? prefix : prefix + ".")) {
        since[topic] = pos;
      }
    }
    return since;
  }

  closed(event) {
    this.ws = null;
    this.bySub.clear();
    this.acks = {}; // the next session resumes from `positions`: these are implied
    for (const spec of this.specs.values()) spec.sub = null;
    if (event.code === 4001 || this.state === "unauthorized") {
      this.setState("unauthorized");
      return;
    }
    this.reconnects += this.state === "live" ? 1 : 0;
    this.attempt += 1;
    this.setState("reconnecting");
    const delay = Math.min(250 * 2 ** Math.min(this.attempt - 1, 5), 5000) * (0.8 + Math.random() * 0.4);
    this.notice({ kind: "closed", code: event.code, reason: event.reason, retryMs: Math.round(delay) });
    setTimeout(() => this.connect(), delay);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  notice(event) {
    this.onNotice({ at: Date.now(), ...event });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  received(data) {
    if (typeof data !== "string") {
      const frame = parseFrame(data);
      if (frame) {
        frame.receivedMs = nowMs();
        this.onFrame(frame);
      }
      return;
    }
    const message = JSON.parse(data);
    const handler = this.handlers[message.op];
    if (handler) handler.call(this, message);
  }

  get handlers() {
    return {
      welcome: this.onWelcome,
      subscribed: this.onSubscribed,
      message: this.onBusMessage,
      gap: this.onGap,
      error: this.onError,
      status: this.onStatus,
      pong: this.onPong,
    };
  }

  onWelcome(m) {
    this.session = m.session;
    if (m.id === "hello") this.setState("live");
  }

  onSubscribed(m) {
    const spec = this.specs.get(String(m.id || "").slice(4));
    if (!spec) return;
    spec.sub = m.sub;
    this.bySub.set(m.sub, spec);
    for (const [topic, pos] of Object.entries(m.positions || {})) {
      const lost = m.unrecovered && topic in m.unrecovered;
      if (spec.resume && (lost || !(topic in this.positions))) this.positions[topic] = pos;
    }
    if (spec.resume && spec.resumed && spec.resumed.length) {
      const resume = { topic: spec.topic, recovered: m.recovered, unrecovered: m.unrecovered || null };
      this.resumes.push(resume);
      this.notice({ kind: "resumed", ...resume });
    }
  }

  onBusMessage(m) {
    const spec = this.bySub.get(m.sub);
    if (!spec) return;
    this.onMessage(spec, m);
    if (spec.options.mode === "reliable") {
      this.positions[m.topic] = { epoch: m.epoch, seq: m.seq };
      this.acks[m.topic] = m.seq;
    }
  }

  onGap(m) {
    if (m.continue) this.positions[m.topic] = m.continue;
    this.notice({ kind: "gap", topic: m.topic, reason: m.reason, first: m.first, last: m.last });
  }

  onError(m) {
    if (m.code === "unauthorized") this.setState("unauthorized");
    this.notice({ kind: "error", code: m.code, message: m.message, id: m.id });
  }

  onStatus(m) {
    this.status = m;
    this.unacked = Object.values(m.subs || {}).reduce((n, s) => n + (s.unacked || 0), 0);
    this.notice({ kind: "status" });
  }

  onPong(m) {
    if (m.id && String(m.id).startsWith("ping:")) this.rtt = nowMs() - Number(String(m.id).slice(5));
  }

  flushAcks() {
    for (const [topic, seq] of Object.entries(this.acks)) {
      if (this.send({ op: "ack", topic, seq })) delete this.acks[topic];
    }
  }

  ping() {
    this.send({ op: "ping", id: `ping:${nowMs()}` });
    this.send({ op: "status", id: `status:${this.nextId++}` });
  }

  /** Send the token (from the dialog) and connect again. */
  retryWith(token) {
    this.token = token;
    this.state = "connecting";
    if (this.ws) this.ws.close();
    else this.connect();
  }
}
