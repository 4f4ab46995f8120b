// Messages in flight and dropped packets. Each frame places every message at
// progress(now, t, arrive) along its route (geometry.js); elements are created when a message leaves and removed when it
// lands, so the DOM holds only what is in flight.

import { svg, setAttrs } from "./svg.js";
import { GROUPS, groupOf, isMessage, messageLabel } from "./kinds.js";
import { progress, messageRoute, pointAt } from "./geometry.js";
import { textWidth } from "./topology.js";

const LOST_STOP = 0.8; // a lost message stops this far along its route, where it visibly drops
const DEFAULT_LOST_FLIGHT = 0.004; // s: how long a lost message travels when no drop event says when it was lost
const DROP_WALL = 1.8; // s of playback a drop marker stays (it does not fade while the clock stands still) ...
const DROP_FALL = 36; // drawing units a drop marker falls while it fades (unless that would cross a label)
const DROP_SIM = 0.3; // ... or less, once this much simulated time has passed (at high speed)

const GROUP_BY_ID = new Map(GROUPS.map((g) => [g.id, g]));

/** The SVG drawing of one message, centred on (0, 0): shape by kind group, label, colour (never colour alone). */
function messageElement(ev, group) {
  const label = messageLabel(ev);
  const g = svg("g", { class: `msg msg-${group.id}`, "data-kind": ev.kind, "data-id": ev.id, "data-group": group.id });
  const small = group.shape === "dot" || group.shape === "envelope";
  const size = small ? 11.5 : 13;
  const h = small ? 17 : 21;
  const w = Math.max(small ? 22 : 30, textWidth(label, size) + 12);
  const attrs = { fill: group.fill, stroke: "#000", "stroke-width": 1, class: "msg-shape" };
  if (group.shape === "envelope") {
    // Visibly encapsulated: the packet inside an outer IPv6 header (the tunnel's colours).
    g.appendChild(svg("rect", { class: "msg-outer", x: -w / 2 - 6, y: -h / 2 - 5, width: w + 12, height: h + 10, rx: 3 }));
  }
  if (group.shape === "pill" || group.shape === "dot" || group.shape === "envelope") {
    g.appendChild(svg("rect", { ...attrs, x: -w / 2, y: -h / 2, width: w, height: h, rx: h / 2 }));
  } else if (group.shape === "hex") {
    const a = w / 2, b = h / 2, c = 7;
    g.appendChild(svg("polygon", { ...attrs, points: `${-a - c},0 ${-a},${-b} ${a},${-b} ${a + c},0 ${a},${b} ${-a},${b}` }));
  } else if (group.shape === "para") {
    const a = w / 2, b = h / 2, s = 6;
    g.appendChild(svg("polygon", { ...attrs, points: `${-a + s},${-b} ${a + s},${-b} ${a - s},${b} ${-a - s},${b}` }));
  } else {
    g.appendChild(svg("rect", { ...attrs, x: -w / 2, y: -h / 2, width: w, height: h, rx: 1 }));
  }
  g.appendChild(svg("text", { class: "msg-label", y: size * 0.36, "text-anchor": "middle", fill: group.ink, "font-size": size }, label));
  return g;
}

function dropElement(left = false) {
  const g = svg("g", { class: "drop-marker" });
  g.appendChild(svg("circle", { r: 13 }));
  g.appendChild(svg("path", { d: "M-6,-6 L6,6 M6,-6 L-6,6", class: "drop-x" }));
  g.appendChild(svg("text", { x: left ? -18 : 18, y: 5, class: "drop-label", "text-anchor": left ? "end" : "start" }, "dropped"));
  return g;
}

/**
 * Where a drop badge goes near p so that it covers no label (a tunnel's, a link's, a node): its word on the right or
 * on the left of the marker, lifted a step at a time if both sides are taken. Returns {x, y, left}.
 */
function clearSpot(p, view, others = []) {
  const k = view.k ?? 1;
  const labels = [...(view.labels?.() ?? []), ...others];
  const w = 102 * k, h = 28 * k; // the marker (r 13) and its word (from 18 to about 84)
  const vb = view.bounds; // outside the drawing counts as covered: a badge is never cut off
  const outside = (box) => (vb && (box.x - box.w / 2 < vb.x || box.x + box.w / 2 > vb.x + vb.width || box.y - box.h / 2 < vb.y) ? 1e6 : 0);
  const overlap = (box) => outside(box) + labels.reduce((sum, b) => {
    const ow = Math.min(box.x + box.w / 2, b.x + b.w / 2) - Math.max(box.x - box.w / 2, b.x - b.w / 2);
    const oh = Math.min(box.y + box.h / 2, b.y + b.h / 2) - Math.max(box.y - box.h / 2, b.y - b.h / 2);
    return ow > 0 && oh > 0 ? sum + ow * oh : sum;
  }, 0);
  // Best: a spot where it can also fall (DROP_FALL) without crossing a label; else one where it only fades; else the
  // spot that overlaps least.
  let best = null;
  for (const fall of [DROP_FALL, 0]) {
    for (const lift of [0, 1, -1, 2, -2, 3, 4, 5, 6, 7, 8]) {
      const y = p.y - lift * 18 * k;
      for (const [left, dx] of [[false, 0], [true, 0], [false, 40 * k], [true, -40 * k]]) {
        const box = { x: p.x + dx + (left ? -w / 2 + 16 * k : w / 2 - 16 * k), y: y + fall / 2, w, h: h + fall };
        const area = overlap(box);
        if (area === 0) return { x: p.x + dx, y, left, box, fall };
        if (!best || area < best.area) best = { x: p.x + dx, y, left, box, fall: 0, area };
      }
    }
  }
  return best;
}

function overlapsBox(a, b) {
  return Math.abs(a.x - b.x) < (a.w + b.w) / 2 && Math.abs(a.y - b.y) < (a.h + b.h) / 2;
}

export class MessageLayer {
  /**
   * @param {SVGGElement} layer where messages are drawn
   * @param {SVGGElement} dropLayer where drop markers are drawn
   * @param {() => object} routeView the topology's geometry (TopologyView.routeView)
   * @param {(ev) => void} onPick called with a message event when it is clicked
   */
  constructor(layer, dropLayer, routeView, onPick) {
    this.layer = layer;
    this.dropLayer = dropLayer;
    this.routeView = routeView;
    this.hidden = new Set();
    this.selectedId = null;
    this.pool = new Map(); // "group|label" -> hidden elements to reuse: at high speed hundreds of packets a second
    this.reset([]);
    layer.addEventListener("click", (e) => {
      const el = e.target.closest("g.msg");
      const rec = el && this.byId.get(el.dataset.id);
      if (rec) onPick(rec.ev);
    });
  }

  /** An element for a message: a pooled one with the same look, or a new one. */
  take(rec) {
    const key = `${rec.group.id}|${messageLabel(rec.ev)}`;
    const spare = this.pool.get(key)?.pop();
    const el = spare ?? messageElement(rec.ev, rec.group);
    el.poolKey = key;
    el.dataset.id = rec.ev.id;
    el.dataset.kind = rec.ev.kind;
    if (spare) spare.removeAttribute("display");
    else this.layer.appendChild(el);
    return el;
  }

  /** Hide a landed message's element and keep it for the next message that looks the same. */
  release(rec) {
    const el = rec.el;
    rec.el = null;
    if (!el) return;
    el.setAttribute("display", "none");
    el.classList.remove("selected");
    el.dataset.id = "";
    if (!this.pool.has(el.poolKey)) this.pool.set(el.poolKey, []);
    const spares = this.pool.get(el.poolKey);
    if (spares.length < 64) spares.push(el);
    else el.remove();
  }

  /** Forget everything and take the events of a snapshot (all so far). */
  reset(events) {
    for (const rec of this.active ?? []) this.release(rec);
    for (const d of this.drops ?? []) d.el?.remove();
    this.msgs = [];
    this.byId = new Map();
    this.active = new Set();
    this.cursor = 0;
    this.drops = [];
    this.dropCursor = 0;
    this.lastClock = -Infinity;
    this.add(events);
  }

  /** Take newly produced events (in seq order). */
  add(events) {
    for (const ev of events) {
      if (ev.kind === "drop") {
        const rec = this.byId.get(String(ev.msg));
        if (rec && rec.lost && ev.t > rec.ev.t) rec.end = ev.t;
        this.drops.push({ ev, rec, el: null, age: 0, shown: false });
        continue;
      }
      if (!isMessage(ev)) continue;
      const lost = ev.arrive === null || ev.arrive === undefined;
      const rec = { ev, group: groupOf(ev), lost, end: lost ? ev.t + DEFAULT_LOST_FLIGHT : ev.arrive, el: null, route: null };
      this.msgs.push(rec);
      this.byId.set(String(ev.id), rec);
    }
  }

  setHidden(groupIds) {
    this.hidden = new Set(groupIds);
  }

  /**
   * Flights of the visible messages in the air at `clock`, for pacing: {min, max, signalling} (signalling is true
   * when anything but data is among them), or null when nothing visible is in the air.
   */
  flights(clock) {
    let min = Infinity, max = 0, signalling = false, any = false;
    const consider = (rec) => {
      if (this.hidden.has(rec.group.id) || rec.ev.t > clock || rec.end <= clock) return;
      const flight = rec.end - rec.ev.t;
      if (!(flight > 0)) return;
      any = true;
      if (flight < min) min = flight;
      if (flight > max) max = flight;
      if (rec.ev.kind !== "DATA") signalling = true;
    };
    for (const rec of this.active) consider(rec);
    // Messages about to be activated this frame count too.
    for (let i = this.cursor; i < this.msgs.length && this.msgs[i].ev.t <= clock; i++) consider(this.msgs[i]);
    return any ? { min, max, signalling } : null;
  }

  /** The send time of the first visible message known but not yet sent at `clock`, or null. */
  nextStart(clock) {
    for (let i = this.cursor; i < this.msgs.length; i++) {
      const rec = this.msgs[i];
      if (rec.ev.t > clock && !this.hidden.has(rec.group.id)) return rec.ev.t;
    }
    return null;
  }

  /** True while a drop marker is still on screen (the frame loop keeps running for it). */
  busy() {
    return this.drops.some((d) => d.el);
  }

  select(id) {
    if (this.selectedId !== null) this.byId.get(String(this.selectedId))?.el?.classList.remove("selected");
    this.selectedId = id;
    if (id !== null) this.byId.get(String(id))?.el?.classList.add("selected");
  }

  /** Place everything for simulated time `clock`; `wallDt` ages drop markers while the clock moves. */
  render(clock, wallDt) {
    if (clock < this.lastClock) {
      // The clock went back without a reset: re-scan (rare; step-back normally arrives as a fresh snapshot).
      for (const rec of this.active) this.release(rec);
      this.active.clear();
      this.cursor = 0;
      for (const d of this.drops) { d.el?.remove(); d.el = null; d.shown = false; d.age = 0; }
      this.dropCursor = 0;
    }
    const moving = clock !== this.lastClock;
    this.lastClock = clock;
    const view = this.routeView();
    const scale = view.k && view.k !== 1 ? ` scale(${view.k})` : ""; // drawn as large as the nodes (topology.js k)
    while (this.cursor < this.msgs.length && this.msgs[this.cursor].ev.t <= clock) {
      const rec = this.msgs[this.cursor++];
      if (rec.end > clock) this.active.add(rec);
    }
    for (const rec of this.active) {
      if (rec.end <= clock) {
        this.release(rec);
        this.active.delete(rec);
        continue;
      }
      if (!rec.el) {
        rec.route = messageRoute(rec.ev, view);
        rec.el = this.take(rec);
        if (String(rec.ev.id) === String(this.selectedId)) rec.el.classList.add("selected");
      }
      let f = progress(clock, rec.ev.t, rec.end);
      if (rec.lost) f *= LOST_STOP;
      const p = pointAt(rec.route, f);
      setAttrs(rec.el, { transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})${scale}` });
    }
    this.renderDrops(clock, moving ? wallDt : 0, view);
  }

  renderDrops(clock, age, view) {
    while (this.dropCursor < this.drops.length && this.drops[this.dropCursor].ev.t <= clock) {
      const d = this.drops[this.dropCursor++];
      if (d.shown) continue;
      d.shown = true;
      d.age = 0;
      d.pos = this.dropPosition(d, view);
      d.el = dropElement(d.pos.left);
      d.scale = view.k && view.k !== 1 ? ` scale(${view.k})` : "";
      d.el.dataset.group = "drop";
      d.el.dataset.msg = d.ev.msg;
      this.dropLayer.appendChild(d.el);
    }
    for (const d of this.drops) {
      if (!d.el) continue;
      d.age += age;
      const a = Math.min(1, Math.max(d.age / DROP_WALL, (clock - d.ev.t) / DROP_SIM));
      if (a >= 1) {
        d.el.remove();
        d.el = null;
        continue;
      }
      // Falls and fades, so a loss is seen even when nothing else moves.
      setAttrs(d.el, { transform: `translate(${d.pos.x.toFixed(1)},${(d.pos.y + d.pos.fall * a * a).toFixed(1)})${d.scale ?? ""}`, opacity: (1 - a * a).toFixed(2) });
    }
  }

  /** Where a packet was lost: where its message stopped, or just above the node that dropped it (not on its name). */
  dropPosition(d, view) {
    const shown = this.drops.filter((o) => o.el && o.pos?.box).map((o) => o.pos.box); // badges still on screen
    const rec = d.rec ?? this.byId.get(String(d.ev.msg));
    if (rec && rec.lost) {
      rec.route ??= messageRoute(rec.ev, view);
      return clearSpot(pointAt(rec.route, LOST_STOP), view, shown);
    }
    const box = view.box(d.ev.node);
    if (box) return clearSpot({ x: box.x + box.hw - 16, y: box.y - box.hh - 4 }, view, shown);
    const p = view.pos(d.ev.node) ?? { x: 0, y: 0 };
    return clearSpot({ x: p.x + 30, y: p.y - 22 }, view, shown);
  }
}

export { GROUP_BY_ID };
