// The topology view: nodes, links, access links, tunnels, and dragging mobile nodes between MARs.
// Everything is drawn once and kept in Maps from id to element; a new state only moves and relabels things.
// Two stacked SVGs share one viewBox: the scene (what changes with the state) and the air above it (messages, drops,
// the drag ghost: what changes every frame), so a frame re-lays-out and repaints only the air.

import { svg, setAttrs, setText } from "./svg.js";
import { CORE, layoutNetwork, layoutMobileNodes, bounds, parkingY } from "./layout.js";
import { tunnelCurve, pairKey } from "./geometry.js";

const MAR_W = 132, MAR_H = 58;
const BOX = {
  mar: { w: MAR_W, h: MAR_H },
  lma: { w: MAR_W, h: MAR_H },
  cn: { w: 150, h: 46 },
  db: { w: 104, h: 58 },
};
// Text in the drawing is never smaller than MIN_TEXT_PX on screen: when the view is scaled down (many MARs, a narrow
// window) every node, label and message is drawn K times larger about its own centre (K ≤ MAX_K), the positions stay.
const MIN_TEXT_PX = 11.2;
const SMALLEST_FONT = 11.5; // drawing units: the smallest text in the drawing (static/css/dmmviz.css)
const MAX_K = 1.7;
const DRAG_THRESHOLD = 5; // px before a press on a mobile node becomes a drag rather than a click
const HIT_RADIUS = 95; // drawing units around a MAR's centre that count as dropping onto it

function pathD(points) {
  return points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}

/** Do two boxes {x, y, w, h} (centre, size) overlap, with `pad` to spare? */
export function overlaps(a, b, pad = 2) {
  return Math.abs(a.x - b.x) < (a.w + b.w) / 2 + pad && Math.abs(a.y - b.y) < (a.h + b.h) / 2 + pad;
}

/** Rough text width in drawing units (no getBBox: that forces layout). */
export function textWidth(text, size) {
  return String(text).length * size * 0.6;
}

export class TopologyView {
  /**
   * @param {SVGSVGElement} root the scene
   * @param {SVGSVGElement} air the SVG stacked above it for what moves every frame
   * @param {{scenario: object, mode: string, onSelect: Function, onDrop: Function}} options
   *   onSelect(kind, id) with kind "mar" | "mn" | "node"; onDrop({mn, interface, mar}) with mar null for "detach".
   */
  constructor(root, air, { scenario, mode, onSelect, onDrop }) {
    this.root = root;
    this.air = air;
    this.scenario = scenario;
    this.mode = mode;
    this.onSelect = onSelect;
    this.onDrop = onDrop;
    this.net = layoutNetwork(scenario, mode);
    this.mnIds = new Set((scenario.mobile_nodes ?? []).map((m) => m.id));
    this.marIds = new Set((scenario.network?.mars ?? []).map((m) => m.id));
    this.links = new Set((scenario.network?.links ?? []).map((l) => pairKey(l.between[0], l.between[1])));
    this.state = null;
    this.mnPos = this.layoutMns(null);
    this.nodeEls = new Map(); // fixed node id -> <g>
    this.mnEls = new Map(); // MN id -> {g, body, handles: Map(iface -> {g, circle})}
    this.accessEls = new Map(); // "MN/if" -> <line>
    this.tunnelEls = new Map(); // pair key -> {g, outer, inner, label, text1, text2, box}
    this.tunnelCurves = new Map(); // pair key -> curve, for encapsulated packets
    this.selected = { mar: null, mn: null };
    this.drag = null;
    this.k = 1; // how much larger than drawn nodes and labels are, so text stays readable (MIN_TEXT_PX)
    this.linkLabels = []; // {el, a, c, text}: the links' delay labels, placed by placeLabels()
    this.labelBoxes = []; // where labels ended up (drawing units), for the next ones and for drop badges
    this.draw();
    // Pixel sizes from an observer, not width/height 100%: a percentage-sized SVG is laid out again, every element of
    // it, whenever anything else on the page is (measured: most of a frame at high speed).
    new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      for (const el of [this.root, this.air]) setAttrs(el, { width: Math.floor(width), height: Math.floor(height) });
      const scale = Math.min(width / this.viewBox.width, height / this.viewBox.height); // px per drawing unit
      const k = scale > 0 ? Math.max(1, Math.min(MAX_K, this.room(), MIN_TEXT_PX / (SMALLEST_FONT * scale))) : 1;
      if (Math.abs(k - this.k) > 0.01) {
        this.k = Math.round(k * 100) / 100;
        this.applyScale();
      }
    }).observe(root.parentElement);
  }

  // ---- drawing (once) ----

  draw() {
    const b = bounds(this.net);
    this.viewBox = b;
    for (const el of [this.root, this.air]) {
      setAttrs(el, { viewBox: `${b.x} ${b.y} ${b.width} ${b.height}`, preserveAspectRatio: "xMidYMid meet" });
      el.replaceChildren();
    }
    const layer = (name, root = this.root) => root.appendChild(svg("g", { class: `layer-${name}` }));
    this.layers = {
      park: layer("park"), links: layer("links"), tunnels: layer("tunnels"), access: layer("access"),
      nodes: layer("nodes"), mns: layer("mns"), labels: layer("labels"), // tunnel labels above all: never hidden
      messages: layer("messages", this.air), drops: layer("drops", this.air), overlay: layer("overlay", this.air),
    };
    this.drawParking(b);
    const core = this.net.nodes.get(CORE);
    for (const node of this.net.nodes.values()) {
      if (node.type !== "core") this.layers.links.appendChild(svg("line", { class: "link link-core", x1: node.x, y1: node.y, x2: core.x, y2: core.y }));
    }
    for (const link of this.scenario.network?.links ?? []) {
      const [a, c] = link.between.map((id) => this.net.nodes.get(id));
      if (!a || !c) continue;
      this.layers.links.appendChild(svg("line", { class: "link link-direct", x1: a.x, y1: a.y, x2: c.x, y2: c.y }));
      if (link.delay_ms !== undefined) {
        const text = `${link.delay_ms} ms`;
        const el = svg("text", { class: "link-label", y: 4, "text-anchor": "middle" }, text);
        this.layers.links.appendChild(el);
        this.linkLabels.push({ el, a, c, text });
      }
    }
    for (const node of this.net.nodes.values()) this.nodeEls.set(node.id, this.drawNode(node));
    for (const mn of this.scenario.mobile_nodes ?? []) this.mnEls.set(mn.id, this.drawMn(mn));
    this.placeMobileNodes();
    this.placeLabels();
  }

  /** Where the mobile nodes stand (layout.js), with their interface handles where the k-times-larger body has them. */
  layoutMns(state) {
    const pos = layoutMobileNodes(this.scenario, state, this.net, this.k ?? 1);
    for (const p of pos.values()) {
      for (const i of p.interfaces.values()) {
        i.x = p.x + (i.x - p.x) * (this.k ?? 1);
        i.y = p.y + (i.y - p.y) * (this.k ?? 1);
      }
    }
    return pos;
  }

  /** A node's transform: at (x, y), drawn this.k times larger about its centre. */
  at(x, y) {
    const k = this.k === 1 ? "" : ` scale(${this.k})`;
    return `translate(${Number(x).toFixed(1)},${Number(y).toFixed(1)})${k}`;
  }

  /** The view was resized so much that the text size factor changed: redo everything that depends on it. */
  applyScale() {
    for (const node of this.net.nodes.values()) setAttrs(this.nodeEls.get(node.id), { transform: this.at(node.x, node.y) });
    setAttrs(this.parkLabel, { transform: this.at(this.viewBox.x + 20, this.parkY + 5) });
    this.mnPos = this.layoutMns(this.state);
    this.placeMobileNodes();
    this.placeLabels();
    this.lastBindings = null;
    if (this.state) this.update(this.state);
  }

  /** The largest k at which no two fixed nodes' boxes (a MAR's with its role tags) touch: the layout's room. */
  room() {
    if (this.kRoom !== undefined) return this.kRoom;
    const boxes = [...this.net.nodes.values()].map((n) => {
      const size = BOX[n.type] ?? (n.type === "core" ? { w: 160, h: 60 } : { w: 0, h: 0 });
      const roles = n.type === "mar" || n.type === "lma" ? 44 : 0; // the role tags above
      return { x: n.x, y: n.y - roles / 2, w: size.w, h: size.h + roles };
    });
    let k = MAX_K;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        const kx = (Math.abs(a.x - b.x) - 8) / ((a.w + b.w) / 2);
        const ky = (Math.abs(a.y - b.y) - 8) / ((a.h + b.h) / 2);
        k = Math.min(k, Math.max(kx, ky));
      }
    }
    this.kRoom = Math.max(1, k);
    return this.kRoom;
  }

  /** Boxes labels must keep clear of: every fixed node (with the role tags above a MAR), in drawing units. */
  obstacles() {
    const k = this.k;
    const out = [];
    for (const n of this.net.nodes.values()) {
      const size = BOX[n.type] ?? (n.type === "core" ? { w: 160, h: 60 } : null);
      if (!size) continue;
      out.push({ x: n.x, y: n.y, w: size.w * k, h: size.h * k, id: n.id });
      if (n.type === "mar" || n.type === "lma") out.push({ x: n.x, y: n.y - (size.h / 2 + 12) * k, w: 128 * k, h: 22 * k, id: `${n.id}:roles` });
    }
    for (const [id, p] of this.mnPos ?? []) out.push({ x: p.x, y: p.y - 4 * k, w: 66 * k, h: 40 * k, id });
    return out;
  }

  /**
   * The first of `candidates` (boxes) that overlaps nothing in `taken`; if every one does, the one that overlaps
   * least (a label is always shown).
   */
  static freeSpot(candidates, taken, pad = 3) {
    let best = null, bestArea = Infinity;
    for (const c of candidates) {
      let area = 0;
      for (const t of taken) {
        const w = Math.min(c.x + c.w / 2, t.x + t.w / 2) - Math.max(c.x - c.w / 2, t.x - t.w / 2) + pad;
        const h = Math.min(c.y + c.h / 2, t.y + t.h / 2) - Math.max(c.y - c.h / 2, t.y - t.h / 2) + pad;
        if (w > 0 && h > 0) area += w * h;
      }
      if (area === 0) return c;
      if (area < bestArea) {
        best = c;
        bestArea = area;
      }
    }
    return best;
  }

  /**
   * The label-placement pass for the links' delay labels: each goes at the first spot along its link (middle first,
   * then towards the ends, on either side) that overlaps no node, role tag or label placed before it.
   */
  placeLabels() {
    const k = this.k;
    const taken = this.obstacles();
    this.labelBoxes = [];
    for (const l of this.linkLabels) {
      const w = (textWidth(l.text, 12.5) + 6) * k, h = 15 * k;
      const dx = l.c.x - l.a.x, dy = l.c.y - l.a.y;
      const len = Math.hypot(dx, dy) || 1;
      const nx = -dy / len, ny = dx / len; // normal to the link
      const candidates = [];
      for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78]) {
        for (const side of [1, -1]) {
          const off = side * (h / 2 + 5 * k) * (ny < 0 ? -1 : 1); // below the line first (where it was)
          candidates.push({ x: l.a.x + dx * f + nx * off, y: l.a.y + dy * f + ny * off, w, h });
        }
      }
      const best = TopologyView.freeSpot(candidates, taken);
      taken.push(best);
      this.labelBoxes.push({ ...best, kind: "link" });
      setAttrs(l.el, { transform: this.at(best.x, best.y) });
    }
  }

  drawParking(b) {
    const y = parkingY(this.net);
    this.parkY = y;
    const g = this.layers.park;
    g.appendChild(svg("rect", { class: "park", x: b.x + 8, y: y - 26, width: Math.max(0, b.width - 16), height: 50, rx: 10 }));
    this.parkLabel = g.appendChild(svg("text", { class: "park-label", transform: this.at(b.x + 20, y + 5) }, "not attached: drop a mobile node here to detach it"));
  }

  drawNode(node) {
    const g = svg("g", {
      class: `node node-${node.type}`, "data-id": node.id, transform: this.at(node.x, node.y),
      tabindex: node.type === "core" ? null : 0, role: node.type === "core" ? null : "button",
      // The accessible name starts with what the box shows (its id and sub-label), then says what it does.
      "aria-label": node.type === "mar" ? `${node.id} ${node.sub ?? ""}, mobility access router; Enter shows its tables`.replace(" ,", ",")
        : node.type === "core" ? null : `${node.id}${node.sub ? ` ${node.sub}` : ""}`,
    });
    if (node.type === "core") {
      g.appendChild(svg("ellipse", { rx: 80, ry: 30, class: "shape" }));
      g.appendChild(svg("text", { class: "label", y: 6, "text-anchor": "middle" }, node.label));
    } else if (node.type === "db") {
      const { w, h } = BOX.db;
      const e = 9;
      g.appendChild(svg("path", { class: "shape", d: `M${-w / 2},${-h / 2 + e} v${h - 2 * e} a${w / 2},${e} 0 0 0 ${w},0 v${-(h - 2 * e)} a${w / 2},${e} 0 0 0 ${-w},0 a${w / 2},${e} 0 0 0 ${w},0` }));
      g.appendChild(svg("text", { class: "label", y: 4, "text-anchor": "middle" }, node.id));
      g.appendChild(svg("text", { class: "sub", y: 21, "text-anchor": "middle" }, node.sub));
    } else {
      const { w, h } = BOX[node.type];
      g.appendChild(svg("rect", { class: "shape", x: -w / 2, y: -h / 2, width: w, height: h, rx: node.type === "cn" ? 14 : 6 }));
      g.appendChild(svg("text", { class: "label", y: node.sub ? -3 : 6, "text-anchor": "middle" }, node.id));
      if (node.sub) g.appendChild(svg("text", { class: "sub", y: 16, "text-anchor": "middle" }, node.sub));
      if (node.type === "mar" || node.type === "lma") {
        const roles = svg("g", { class: "roles", transform: `translate(0,${-h / 2 - 12})` });
        const anchor = svg("g", { class: "role role-anchor", visibility: "hidden" });
        anchor.appendChild(svg("rect", { x: -62, y: -10, width: 60, height: 19, rx: 9 }));
        anchor.appendChild(svg("text", { x: -32, y: 4, "text-anchor": "middle" }, "anchor"));
        const serving = svg("g", { class: "role role-serving", visibility: "hidden" });
        serving.appendChild(svg("rect", { x: 2, y: -10, width: 62, height: 19, rx: 2 }));
        serving.appendChild(svg("text", { x: 33, y: 4, "text-anchor": "middle" }, "serving"));
        roles.append(anchor, serving);
        g.appendChild(roles);
        g.roleEls = { anchor, serving };
      }
    }
    if (node.type !== "core") {
      const kind = node.type === "mar" || node.type === "lma" ? "mar" : "node";
      g.addEventListener("click", () => this.onSelect(kind, node.id));
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter") this.onSelect(kind, node.id);
      });
    }
    this.layers.nodes.appendChild(g);
    return g;
  }

  drawMn(mn) {
    const names = mn.interfaces ?? ["if1"];
    const shown = names.length > 1 ? `${mn.id} ${names.join(" ")}` : mn.id; // its visible words, first
    const g = svg("g", { class: "mn", "data-id": mn.id, tabindex: 0, role: "button", "aria-label": `${shown}, mobile node; drag onto a MAR to hand over, Enter shows its controls` });
    const body = svg("g", { class: "mn-body" });
    body.appendChild(svg("rect", { class: "shape", x: -32, y: -14, width: 64, height: 30, rx: 8 }));
    body.appendChild(svg("text", { class: "label", y: 7, "text-anchor": "middle" }, mn.id));
    g.appendChild(body);
    const handles = new Map();
    names.forEach((name, i) => {
      const dx = names.length === 1 ? 0 : (i - (names.length - 1) / 2) * 24;
      const hg = svg("g", { class: "iface", "data-iface": name, transform: `translate(${dx},-15)` });
      hg.appendChild(svg("circle", { r: names.length === 1 ? 5 : 8 }));
      if (names.length > 1) hg.appendChild(svg("text", { class: "iface-label", y: -12, "text-anchor": "middle" }, name));
      g.appendChild(hg);
      handles.set(name, { g: hg, dx });
      hg.addEventListener("pointerdown", (e) => this.startDrag(e, mn.id, name));
    });
    // The body drags the MN's only interface; a multi-interface MN is dragged by one of its interfaces.
    body.addEventListener("pointerdown", (e) => this.startDrag(e, mn.id, names.length === 1 ? names[0] : null));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.onSelect("mn", mn.id);
    });
    this.layers.mns.appendChild(g);
    return { g, body, handles, names };
  }

  // ---- updates ----

  /** Show a new engine state: MN positions, access links, roles, tunnels. */
  update(state) {
    this.state = state;
    // Only what changed is redone: at high speed states arrive many times a second, mostly with new data only.
    const where = JSON.stringify(Object.entries(state?.mns ?? {}).map(([id, m]) => [id, m.interfaces]));
    const bindings = JSON.stringify(Object.entries(state?.mars ?? {}).map(([id, m]) => [id, m.binding_cache, m.binding_update_list, m.tunnels]));
    if (where !== this.lastWhere) {
      this.lastWhere = where;
      this.mnPos = this.layoutMns(state);
      this.placeMobileNodes();
      this.lastBindings = null; // tunnels to a mobile node follow it
    }
    if (bindings !== this.lastBindings) {
      this.lastBindings = bindings;
      this.updateRoles();
      this.updateTunnels();
    }
  }

  placeMobileNodes() {
    const seen = new Set();
    for (const [id, pos] of this.mnPos) {
      const els = this.mnEls.get(id);
      if (!els) continue;
      setAttrs(els.g, { transform: this.at(pos.x, pos.y) });
      const attachedAny = [...pos.interfaces.values()].some((i) => i.mar);
      els.g.classList.toggle("detached", !attachedAny);
      for (const [name, iface] of pos.interfaces) {
        const handle = els.handles.get(name);
        handle.g.classList.toggle("attached", Boolean(iface.mar));
        const key = `${id}/${name}`;
        seen.add(key);
        let line = this.accessEls.get(key);
        if (!iface.mar) {
          if (line) line.setAttribute("visibility", "hidden");
          continue;
        }
        const mar = this.net.nodes.get(iface.mar);
        if (!line) {
          line = svg("line", { class: "access" });
          this.layers.access.appendChild(line);
          this.accessEls.set(key, line);
        }
        setAttrs(line, { visibility: "visible", x1: iface.x.toFixed(1), y1: iface.y.toFixed(1), x2: mar.x, y2: mar.y + (MAR_H / 2) * this.k });
      }
    }
  }

  updateRoles() {
    const mars = this.state?.mars ?? {};
    for (const [id, g] of this.nodeEls) {
      if (!g.roleEls) continue;
      const m = mars[id] ?? {};
      const anchor = (m.binding_cache ?? []).length > 0, serving = (m.binding_update_list ?? []).length > 0;
      g.roleEls.anchor.setAttribute("visibility", anchor ? "visible" : "hidden");
      g.roleEls.serving.setAttribute("visibility", serving ? "visible" : "hidden");
      // The accessible name says what the box shows, in its order: name, prefix pool, then the role tags.
      const node = this.net.nodes.get(id);
      const tags = [anchor ? "anchor" : "", serving ? "serving" : ""].filter(Boolean).join(" ");
      g.setAttribute("aria-label", `${id} ${node.sub ?? ""}${tags ? ` ${tags}` : ""}, mobility access router; Enter shows its tables`.replace(" ,", ","));
    }
  }

  /**
   * What the tunnel between a and b carries: the prefixes (or, for a per-flow binding, "prefix (flow)") that either
   * end anchors for the other, from its binding cache and the other's binding update list.
   */
  tunnelPrefixes(a, b) {
    const mars = this.state?.mars ?? {};
    const out = new Set();
    const name = (e) => (e.flow ? `${e.hnp} (${e.flow})` : e.hnp);
    for (const [anchor, serving] of [[a, b], [b, a]]) {
      for (const e of mars[anchor]?.binding_cache ?? []) if (e.serving === serving) out.add(name(e));
      for (const e of mars[serving]?.binding_update_list ?? []) if (e.anchor === anchor) out.add(name(e));
    }
    return [...out].sort();
  }

  updateTunnels() {
    const mars = this.state?.mars ?? {};
    const want = new Map();
    for (const [id, m] of Object.entries(mars)) {
      for (const peer of m.tunnels ?? []) {
        const key = pairKey(id, peer);
        if (!want.has(key)) want.set(key, id < peer ? [id, peer] : [peer, id]);
      }
    }
    for (const [key, els] of this.tunnelEls) {
      if (!want.has(key)) {
        els.g.remove();
        els.label.remove();
        this.tunnelEls.delete(key);
        this.tunnelCurves.delete(key);
      }
    }
    // Tunnel labels keep clear of the nodes, role tags, delay labels and each other: the first free spot from the
    // tunnel's middle, lifted or lowered a step at a time.
    const k = this.k;
    const placed = [...this.obstacles(), ...this.labelBoxes.filter((b) => b.kind === "link")];
    this.labelBoxes = this.labelBoxes.filter((b) => b.kind === "link");
    for (const [key, [a, b]] of [...want].sort()) {
      const pa = this.endPos(a), pb = this.endPos(b);
      if (!pa || !pb) continue;
      const curve = tunnelCurve(a, pa, b, pb);
      this.tunnelCurves.set(key, curve);
      let els = this.tunnelEls.get(key);
      if (!els) {
        const g = svg("g", { class: "tunnel", "data-ends": key });
        const outer = svg("path", { class: "tunnel-outer" });
        const inner = svg("path", { class: "tunnel-inner" });
        // The label lives in the labels layer, above the nodes, so no box ever hides it; the pipe keeps a title.
        const label = svg("g", { class: "tunnel-label", "data-ends": key });
        const box = svg("rect", { rx: 5 });
        label.append(box);
        const title = svg("title");
        g.append(title, outer, inner);
        this.layers.tunnels.appendChild(g);
        this.layers.labels.appendChild(label);
        els = { g, outer, inner, label, box, title, texts: [] };
        this.tunnelEls.set(key, els);
      }
      const d = `M${curve.start.x},${curve.start.y} Q${curve.control.x.toFixed(1)},${curve.control.y.toFixed(1)} ${curve.end.x},${curve.end.y}`;
      setAttrs(els.outer, { d });
      setAttrs(els.inner, { d });
      const prefixes = this.tunnelPrefixes(a, b);
      // One line per prefix (three at most), the box kept inside the drawing.
      const lines = [`tunnel ${a} ⇄ ${b}`, ...(prefixes.length ? prefixes.slice(0, 3) : ["(no prefix)"])];
      if (prefixes.length > 3) lines[3] = `${prefixes[2]} +${prefixes.length - 3} more`;
      const w0 = Math.max(...lines.map((l, i) => textWidth(l, i ? 12.5 : 13))) + 16;
      const h0 = 8 + 16 * lines.length;
      const w = w0 * k, h = h0 * k;
      const vb = this.viewBox;
      const clampX = (x) => Math.max(vb.x + w / 2 + 2, Math.min(vb.x + vb.width - w / 2 - 2, x));
      const y0 = curve.mid.y - h / 2 + 14;
      const candidates = [];
      for (let n = 0; n <= 14; n++) {
        for (const sx of [0, -0.5, 0.5]) {
          for (const sign of n ? [-1, 1] : [1]) candidates.push({ x: clampX(curve.mid.x + sx * w), y: y0 + sign * n * 14 * k, w, h });
        }
      }
      const spot = TopologyView.freeSpot(candidates, placed, 4);
      const ly = spot.y;
      const lx2 = spot.x;
      placed.push({ x: lx2, y: ly, w, h });
      this.labelBoxes.push({ x: lx2, y: ly, w, h, kind: "tunnel" });
      setText(els.title, lines.join(" · "));
      while (els.texts.length < lines.length) els.texts.push(els.label.appendChild(svg("text", { "text-anchor": "middle" })));
      els.texts.forEach((t, i) => {
        setText(t, lines[i] ?? "");
        setAttrs(t, { class: i ? "t2" : "t1", y: (-h0 / 2 + 14 + 16 * i).toFixed(1) });
      });
      setAttrs(els.label, { transform: this.at(lx2, ly) });
      setAttrs(els.box, { x: (-w0 / 2).toFixed(1), y: (-h0 / 2).toFixed(1), width: w0.toFixed(1), height: h0 });
    }
  }

  /** Where a tunnel or message end sits: a fixed node, or a mobile node's body. */
  endPos(id) {
    const n = this.net.nodes.get(id);
    if (n) return { x: n.x, y: n.y };
    const m = this.mnPos.get(id);
    return m ? { x: m.x, y: m.y } : null;
  }

  setSelected(kind, id) {
    const prev = this.selected[kind];
    if (prev) (kind === "mn" ? this.mnEls.get(prev)?.g : this.nodeEls.get(prev))?.classList.remove("selected");
    this.selected[kind] = id;
    if (id) (kind === "mn" ? this.mnEls.get(id)?.g : this.nodeEls.get(id))?.classList.add("selected");
  }

  /** The geometry the message animation needs (see geometry.messageRoute). */
  routeView() {
    const core = this.net.nodes.get(CORE);
    return {
      core: { x: core.x, y: core.y },
      pos: (id) => this.endPos(id),
      isMn: (id) => this.mnIds.has(id),
      hasLink: (a, b) => this.links.has(pairKey(a, b)),
      tunnel: (a, b) => {
        const key = pairKey(a, b);
        if (this.tunnelCurves.has(key)) return this.tunnelCurves.get(key);
        const pa = this.endPos(a), pb = this.endPos(b);
        return pa && pb ? tunnelCurve(a, pa, b, pb) : null;
      },
      handle: (mn, iface) => {
        const pos = this.mnPos.get(mn);
        if (!pos) return null;
        const name = iface ?? [...pos.interfaces.keys()][0];
        return pos.interfaces.get(name) ?? null;
      },
      box: (id) => {
        const n = this.net.nodes.get(id);
        const size = n && BOX[n.type];
        return size ? { x: n.x, y: n.y, hw: (size.w / 2) * this.k + 3, hh: (size.h / 2) * this.k + 3 } : null;
      },
      k: this.k,
      bounds: this.viewBox,
      labels: () => [...this.obstacles(), ...this.labelBoxes],
      below: (mar) => {
        const n = this.net.nodes.get(mar);
        return n ? { x: n.x, y: n.y + 92 } : { x: 0, y: 0 };
      },
    };
  }

  // ---- dragging a mobile node (or one interface) onto a MAR ----

  toSvg(e) {
    const pt = this.root.createSVGPoint();
    pt.x = e.clientX;
    pt.y = e.clientY;
    return pt.matrixTransform(this.root.getScreenCTM().inverse());
  }

  startDrag(e, mn, iface) {
    if (e.button !== 0) return;
    e.stopPropagation();
    e.preventDefault();
    const target = e.currentTarget;
    target.setPointerCapture(e.pointerId);
    this.drag = { mn, iface, startX: e.clientX, startY: e.clientY, moved: false, ghost: null, over: undefined, target };
    const move = (ev) => this.dragMove(ev);
    const up = (ev) => {
      target.removeEventListener("pointermove", move);
      target.removeEventListener("pointerup", up);
      target.removeEventListener("pointercancel", up);
      this.dragEnd(ev, ev.type === "pointercancel");
    };
    target.addEventListener("pointermove", move);
    target.addEventListener("pointerup", up);
    target.addEventListener("pointercancel", up);
  }

  dragMove(e) {
    const d = this.drag;
    if (!d) return;
    if (!d.moved && Math.hypot(e.clientX - d.startX, e.clientY - d.startY) < DRAG_THRESHOLD) return;
    if (!d.moved) {
      d.moved = true;
      if (!d.iface) {
        this.onHint?.(`${d.mn} has several interfaces: drag one of them (the small circles) onto a MAR.`);
        this.cancelDrag();
        return;
      }
      const label = this.mnEls.get(d.mn).names.length > 1 ? `${d.mn}.${d.iface}` : d.mn;
      const ghost = svg("g", { class: "drag-ghost" });
      ghost.appendChild(svg("rect", { x: -textWidth(label, 16) / 2 - 10, y: -15, width: textWidth(label, 16) + 20, height: 30, rx: 8 }));
      ghost.appendChild(svg("text", { y: 6, "text-anchor": "middle" }, label));
      this.layers.overlay.appendChild(ghost);
      d.ghost = ghost;
      this.mnEls.get(d.mn).g.classList.add("dragging");
      this.onDragState?.(true);
    }
    const p = this.toSvg(e);
    setAttrs(d.ghost, { transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})` });
    const over = this.dropTargetAt(p);
    if (over !== d.over) {
      if (d.over) this.nodeEls.get(d.over)?.classList.remove("drop-target");
      this.layers.park.classList.toggle("drop-target", over === null);
      if (over) this.nodeEls.get(over)?.classList.add("drop-target");
      d.over = over;
    }
  }

  /** The MAR under point p, null for the "not attached" area, undefined for nowhere. */
  dropTargetAt(p) {
    let best, bestD = HIT_RADIUS;
    for (const n of this.net.nodes.values()) {
      if (n.type !== "mar") continue;
      const dist = Math.hypot(n.x - p.x, n.y - p.y);
      if (dist < bestD) {
        best = n.id;
        bestD = dist;
      }
    }
    if (best) return best;
    if (p.y > this.parkY - 32) return null;
    return undefined;
  }

  dragEnd(e, cancelled) {
    const d = this.drag;
    if (!d) return;
    const over = d.over;
    const moved = d.moved;
    this.cancelDrag();
    if (!moved) {
      this.onSelect("mn", d.mn);
      return;
    }
    if (cancelled || over === undefined) return;
    const current = this.mnPos.get(d.mn)?.interfaces.get(d.iface)?.mar ?? null;
    if (over === current) return; // dropped back where it was
    this.onDrop({ mn: d.mn, interface: d.iface, mar: over, from: current });
  }

  /** Abandon a drag (Escape, or a multi-interface body): the MN stays where it was. */
  cancelDrag() {
    const d = this.drag;
    if (!d) return;
    d.ghost?.remove();
    if (d.over) this.nodeEls.get(d.over)?.classList.remove("drop-target");
    this.layers.park.classList.remove("drop-target");
    this.mnEls.get(d.mn)?.g.classList.remove("dragging");
    this.drag = null;
    this.onDragState?.(false);
  }
}
