// The event log: game events (core.event, reliable), alerts (system.alert.*) and connection
// notices (reconnects, resumes, gaps), newest first, bounded.

const MAX_ROWS = 250;
const MOTION = new Set(["event.ball_motion", "event.cue_visible", "event.cue_lost"]);

const ball = (id, number) => (number !== null && number !== undefined ? `ball ${number}` : `ball #${id}`);
const metres = (v) => (typeof v === "number" ? `${v.toFixed(2)} m/s` : "");

const DESCRIBE = {
  "event.shot_started": (d) => ["Shot", `${ball(d.ball)} at ${metres(d.speed)}, ${Math.round(d.direction_deg)}°`],
  "event.shot_ended": (d) => [
    "Shot over",
    `${d.duration_s.toFixed(1)} s, ${d.cushion_hits} cushion${d.cushion_hits === 1 ? "" : "s"}` +
      (d.pocketed && d.pocketed.length ? `, ${d.pocketed.length} potted` : "") +
      (d.scratch ? ", scratch" : ""),
  ],
  "event.ball_pocketed": (d) => ["Pocketed", `${ball(d.ball, d.number)} in ${d.pocket.replace("_", " ")}`],
  "event.collision": (d) => ["Collision", `${d.balls.map((b) => `#${b}`).join(" × ")} at ${metres(d.speed)}`],
  "event.cushion_hit": (d) => ["Cushion", `${ball(d.ball)} off the ${d.cushion} cushion`],
  "event.scratch": (d) => ["Scratch", d.reason.replaceAll("_", " ")],
  "event.foul": (d) => ["Foul", d.reason],
  "event.ball_motion": (d) => [d.state === "started" ? "Rolling" : "Stopped", ball(d.ball, d.number)],
  "event.ball_spotted": (d) => ["Spotted", ball(d.ball, d.number)],
  "event.ball_lost": (d) => ["Lost", `${ball(d.ball, d.number)} (${d.reason})`],
  "event.cue_visible": () => ["Cue", "in view"],
  "event.cue_lost": () => ["Cue", "out of view"],
  "event.table_calibrated": (d) => ["Calibrated", `${d.camera} (${d.method})`],
  "event.game_reset": (d) => ["New game", d.by ? `by ${d.by}` : d.reason || ""],
};

export class EventLog {
  constructor(list, motionToggle) {
    this.list = list;
    this.showMotion = motionToggle.checked;
    motionToggle.addEventListener("change", () => {
      this.showMotion = motionToggle.checked;
      this.list.classList.toggle("with-motion", this.showMotion);
    });
    this.entries = []; // every event and notice seen (bounded), for tests and the HUD
  }

  event(message) {
    const entry = { kind: "event", type: message.type, seq: message.seq, epoch: message.epoch, topic: message.topic };
    this.remember(entry);
    if (MOTION.has(message.type) && !this.showMotion) return;
    const describe = DESCRIBE[message.type] || (() => [message.type.replace("event.", ""), ""]);
    let title;
    let detail;
    try {
      [title, detail] = describe(message.data);
    } catch {
      [title, detail] = [message.type, ""];
    }
    this.row(message.type.replace("event.", ""), message.data.t_ns / 1e6, title, detail, `#${message.seq}`);
  }

  alert(message) {
    const d = message.data;
    this.remember({ kind: "alert", code: d.code, seq: message.seq, topic: message.topic });
    this.row(`alert-${d.level}`, message.t_pub_ns / 1e6, `${d.node}: ${d.code}`, d.message, "");
  }

  notice(title, detail) {
    this.remember({ kind: "notice", title, detail });
    this.row("notice", Date.now(), title, detail, "");
  }

  remember(entry) {
    this.entries.push(entry);
    if (this.entries.length > 2000) this.entries.splice(0, 1000);
  }

  row(kind, ms, title, detail, extra) {
    const li = document.createElement("li");
    li.className = kind;
    const time = document.createElement("time");
    time.textContent = new Date(ms).toLocaleTimeString([], { hour12: false });
    const what = document.createElement("div");
    what.className = "what";
    const b = document.createElement("b");
    b.textContent = title;
    const small = document.createElement("small");
    small.textContent = ` ${detail} ${extra}`;
    what.append(b, small);
    li.append(time, what);
    this.list.prepend(li);
    while (this.list.children.length > MAX_ROWS) this.list.lastChild.remove();
  }
}
