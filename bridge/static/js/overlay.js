// Overlays in table coordinates, drawn over the video through the calibration: pockets, the
// predicted paths of the aimed shot with its collisions and ghost ball, the cue, and a ring with
// a number tag on every tracked ball. Returns what it drew (pixels), for the HUD and for tests.

export const BALL_COLORS = {
  0: "#f6f2e6", 1: "#f5c518", 2: "#2456d6", 3: "#d8302b", 4: "#6c2fb0", 5: "#f07c16",
  6: "#1f9a55", 7: "#8e2020", 8: "#141414", 9: "#f5c518", 10: "#2456d6", 11: "#d8302b",
  12: "#6c2fb0", 13: "#f07c16", 14: "#1f9a55", 15: "#8e2020",
};
const UNKNOWN = "#9aa7a0";

export function ballColor(ball) {
  if (ball.kind === "cue" || ball.number === 0) return BALL_COLORS[0];
  if (ball.number !== null && ball.number !== undefined && ball.number in BALL_COLORS) {
    return BALL_COLORS[ball.number];
  }
  if (ball.kind === "eight") return BALL_COLORS[8];
  return UNKNOWN;
}

function textColor(fill) {
  const n = parseInt(fill.slice(1), 16);
  const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  return lum > 150 ? "#111" : "#fff";
}

export class Overlay {
  constructor(ctx) {
    this.ctx = ctx;
  }

  /** Draw everything enabled in `layers`; returns {balls, pockets, ...} in pixels. */
  draw(projection, world, layers, width, height) {
    const drawn = { balls: [], pockets: [], paths: 0, ghost: null, cue: null, width, height };
    if (!projection) return drawn;
    const at = (x, y, plane) => projection.point(x, y, width, height, plane);
    const radius = (x, y, r, plane) => projection.radiusAt(x, y, r, width, height, plane);
    this.scale = width / 1280;
    const state = world.state;
    const prediction = world.trajectory && !world.trajectory.cleared ? world.trajectory.prediction : null;
    if (layers.pockets && state && state.table) this.pockets(state.table, at, radius, prediction, drawn);
    if (layers.trajectory && prediction) this.paths(prediction, state, at, radius, drawn);
    if (layers.ghost && prediction && prediction.ghost) this.ghost(prediction.ghost, at, radius, projection, drawn);
    if (layers.cue && state && state.cue) this.cue(state.cue, at, drawn);
    if (layers.balls && state) this.balls(state.balls, at, radius, projection, layers.numbers, drawn);
    return drawn;
  }

  pockets(table, at, radius, prediction, drawn) {
    const ctx = this.ctx;
    const target = new Set((prediction ? prediction.balls : []).map((b) => b.pocket).filter(Boolean));
    for (const pocket of table.pockets || []) {
      const [u, v] = at(pocket.x, pocket.y, "cloth");
      const r = radius(pocket.x, pocket.y, pocket.radius, "cloth");
      const hot = target.has(pocket.name);
      ctx.beginPath();
      ctx.arc(u, v, r, 0, Math.PI * 2);
      ctx.lineWidth = (hot ? 3 : 1.5) * this.scale;
      ctx.strokeStyle = hot ? "rgba(61,220,151,0.95)" : "rgba(255,255,255,0.35)";
      ctx.setLineDash(hot ? [] : [4 * this.scale, 4 * this.scale]);
      ctx.stroke();
      if (hot) {
        ctx.fillStyle = "rgba(61,220,151,0.18)";
        ctx.fill();
      }
      drawn.pockets.push({ name: pocket.name, px: u, py: v, r, hot });
    }
    ctx.setLineDash([]);
  }

  paths(prediction, state, at, radius, drawn) {
    const ctx = this.ctx;
    const byId = new Map(((state && state.balls) || []).map((b) => [b.id, b]));
    for (const path of prediction.balls || []) {
      if (!path.path || path.path.length < 2) continue;
      const ball = byId.get(path.id) || { number: path.number, kind: path.id === prediction.cue_ball ? "cue" : "unknown" };
      const color = ballColor(ball);
      ctx.beginPath();
      path.path.forEach((p, i) => {
        const [u, v] = at(p.x, p.y);
        if (i === 0) ctx.moveTo(u, v);
        else ctx.lineTo(u, v);
      });
      ctx.lineWidth = 2.5 * this.scale;
      ctx.strokeStyle = color;
      ctx.globalAlpha = 0.9;
      ctx.shadowColor = "rgba(0,0,0,0.6)";
      ctx.shadowBlur = 4 * this.scale;
      ctx.stroke();
      ctx.shadowBlur = 0;
      const end = path.final || path.path[path.path.length - 1];
      const [u, v] = at(end.x, end.y);
      const r = radius(end.x, end.y, 0.028575);
      ctx.beginPath();
      ctx.arc(u, v, r, 0, Math.PI * 2);
      ctx.setLineDash([3 * this.scale, 3 * this.scale]);
      ctx.lineWidth = 1.5 * this.scale;
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      drawn.paths += 1;
    }
    for (const event of prediction.events || []) this.event(event, at);
  }

  event(event, at) {
    if (!["ball_ball", "cushion", "pocket"].includes(event.type)) return;
    const ctx = this.ctx;
    const [u, v] = at(event.x, event.y);
    const s = 4.5 * this.scale;
    ctx.beginPath();
    if (event.type === "cushion") ctx.rect(u - s, v - s, 2 * s, 2 * s);
    else ctx.arc(u, v, s, 0, Math.PI * 2);
    ctx.fillStyle = event.type === "pocket" ? "#3ddc97" : event.type === "ball_ball" ? "#ffd166" : "#ffffff";
    ctx.strokeStyle = "rgba(0,0,0,0.7)";
    ctx.lineWidth = 1.2 * this.scale;
    ctx.fill();
    ctx.stroke();
  }

  ghost(ghost, at, radius, projection, drawn) {
    const ctx = this.ctx;
    const [u, v] = at(ghost.x, ghost.y);
    const r = radius(ghost.x, ghost.y, projection.radius);
    ctx.beginPath();
    ctx.arc(u, v, r, 0, Math.PI * 2);
    ctx.fillStyle = "rgba(246,242,230,0.22)";
    ctx.fill();
    ctx.setLineDash([4 * this.scale, 3 * this.scale]);
    ctx.lineWidth = 2 * this.scale;
    ctx.strokeStyle = "rgba(246,242,230,0.95)";
    ctx.stroke();
    ctx.setLineDash([]);
    drawn.ghost = { px: u, py: v, r };
  }

  cue(cue, at, drawn) {
    const ctx = this.ctx;
    const rad = (cue.direction_deg * Math.PI) / 180;
    const dx = Math.cos(rad);
    const dy = Math.sin(rad);
    const [tu, tv] = at(cue.tip_x, cue.tip_y);
    const [bu, bv] = at(cue.tip_x - dx * 1.3, cue.tip_y - dy * 1.3);
    const [au, av] = at(cue.tip_x + dx * 0.35, cue.tip_y + dy * 0.35);
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(bu, bv);
    ctx.lineTo(tu, tv);
    ctx.lineWidth = 5 * this.scale;
    ctx.strokeStyle = "rgba(255,209,102,0.55)";
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(tu, tv);
    ctx.lineTo(au, av);
    ctx.setLineDash([6 * this.scale, 5 * this.scale]);
    ctx.lineWidth = 1.6 * this.scale;
    ctx.strokeStyle = "rgba(255,255,255,0.8)";
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineCap = "butt";
    drawn.cue = { px: tu, py: tv, direction_deg: cue.direction_deg };
  }

  balls(balls, at, radius, projection, numbers, drawn) {
    const ctx = this.ctx;
    for (const ball of balls || []) {
      if (ball.pocketed || ball.visible === false) continue;
      const [u, v] = at(ball.x, ball.y);
      const r = radius(ball.x, ball.y, projection.radius);
      const color = ballColor(ball);
      ctx.beginPath();
      ctx.arc(u, v, r + 3 * this.scale, 0, Math.PI * 2);
      ctx.lineWidth = 2.2 * this.scale;
      ctx.strokeStyle = color === BALL_COLORS[8] ? "#f6f2e6" : color;
      ctx.setLineDash(ball.kind === "stripe" ? [5 * this.scale, 3 * this.scale] : []);
      ctx.stroke();
      ctx.setLineDash([]);
      if (numbers && ball.number) this.tag(ball, u, v, r, color);
      drawn.balls.push({ id: ball.id, number: ball.number, kind: ball.kind, x: ball.x, y: ball.y, px: u, py: v, r });
    }
  }

  tag(ball, u, v, r, color) {
    const ctx = this.ctx;
    const s = this.scale;
    const text = String(ball.number);
    ctx.font = `700 ${Math.round(11 * s)}px system-ui, sans-serif`;
    const w = Math.max(ctx.measureText(text).width + 8 * s, 16 * s);
    const h = 15 * s;
    const x = u + r * 0.75;
    const y = v - r * 0.75 - h;
    ctx.beginPath();
    ctx.roundRect(x, y, w, h, 7 * s);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.lineWidth = 1 * s;
    ctx.strokeStyle = "rgba(0,0,0,0.55)";
    ctx.stroke();
    ctx.fillStyle = textColor(color);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, x + w / 2, y + h / 2 + 0.5 * s);
  }
}
