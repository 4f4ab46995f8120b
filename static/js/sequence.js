// The live sequence diagram: the "dmmviz-sequence/1" model that the SVG export draws (simulator/export/sequence.py),
// built here from the events the socket brings (static/js/seqfold.js; no polling) and drawn in the manner of the
// seed's Figure 5: lifelines in the model's order, one row per item, signalling as solid arrows, native data thin,
// tunnelled data as a double line, lost packets dashed with a cross, notes for state changes. Clicking an arrow shows
// that message's fields. sequence.json is fetched at most once per snapshot, and only when the snapshot left out
// the run's first events (a long session): the fold then goes on from the server's model.

import { svg, html } from "./svg.js";
import { GROUPS } from "./kinds.js";
import { textWidth } from "./topology.js";
import { SequenceFold, nodeRoles, MAX_ITEMS } from "./seqfold.js";

const HEAD_H = 40;
const ROW_H = 30;
const NOTE_LINE = 15;
const LEFT = 58; // the time column
const DRAW_EVERY_MS = 250; // while playing fast, redraw a few times a second, not for every reply

const KIND_GROUP = new Map();
for (const g of GROUPS) for (const k of g.kinds) KIND_GROUP.set(k, g);
const ROLE_CLASS = { mn: "mn", mar: "mar", anchor: "mar", db: "db", cn: "cn" };

export class SequenceView {
  /**
   * @param {HTMLElement} root the panel (holds a header strip and a scrolling body)
   * @param {{url: string, onPick: (ids: Array<number|string>) => void}} options
   */
  constructor(root, { url, onPick }) {
    this.root = root;
    this.url = url;
    this.onPick = onPick;
    this.head = root.querySelector(".seq-head");
    this.scroller = root.querySelector(".seq-body");
    this.status = root.querySelector(".seq-status");
    this.visible = false;
    this.fold = new SequenceFold();
    this.drawn = -1; // the fold version on screen
    this.drawnAt = 0;
    this.base = null; // null, or {state: "wanted" | "fetching", pending: [events messages], epoch}
    this.epoch = 0; // bumps on every snapshot, so a late answer for an older history is ignored
    this.error = ""; // a failed base fetch, said in the status line
    this.model = null;
    this.stick = true;
    this.scroller.addEventListener("scroll", () => {
      this.stick = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 30;
    }, { passive: true });
    new ResizeObserver(() => { if (this.visible && this.model) this.draw(this.model); }).observe(this.scroller);
  }

  show(on) {
    this.visible = on;
    this.root.hidden = !on;
    if (on) this.tick(true);
  }

  /** A snapshot replaces the history (connect, step back, seek, reset): fold its events afresh. */
  reset(msg) {
    this.epoch++;
    this.fold.reset(nodeRoles(msg.scenario, msg.state));
    if (msg.events_omitted > 0) {
      this.base = { state: "wanted", pending: [] }; // the first events are not here: the server's model is the base
    } else {
      this.base = null;
      this.fold.add(msg.events);
    }
    this.error = "";
    this.drawn = -1;
    if (this.visible) this.tick(true);
  }

  /** An `events` message: its events become arrows and notes. */
  add(msg) {
    if (!this.base) this.fold.add(msg.events);
    else if (this.base.state === "fetching") this.base.pending.push(msg);
    // "wanted": the base, fetched when the panel opens, will hold these events
  }

  /** Called every frame: fetch the base once if needed, redraw when the model changed (not too often). */
  tick(force = false) {
    if (!this.visible) return;
    if (this.base?.state === "wanted") return this.fetchBase();
    if (this.base || this.fold.version === this.drawn) return;
    const t = performance.now();
    if (!force && t - this.drawnAt < DRAW_EVERY_MS) return;
    this.drawnAt = t;
    this.drawn = this.fold.version;
    this.model = this.fold.model();
    this.status.textContent = this.error || (this.model.dropped ? `the newest ${MAX_ITEMS} items` : "");
    this.draw(this.model);
  }

  /** sequence.json once, as of the last saved change; events that arrive meanwhile are applied after it. */
  fetchBase() {
    const base = this.base;
    const epoch = this.epoch;
    base.state = "fetching";
    fetch(`${this.url}?data=fold`, { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((model) => {
        if (epoch !== this.epoch) return;
        this.fold.base(model);
        // The model is as of the session's revision (or clock): later messages fold on top, earlier ones are in it.
        for (const msg of base.pending) {
          const newer = model.revision !== undefined ? msg.revision > model.revision : msg.now > model.now;
          if (newer) this.fold.add(msg.events);
        }
        this.base = null;
        this.tick(true);
      })
      .catch((err) => {
        if (epoch !== this.epoch) return;
        this.base = null; // draw what the socket brings from here on
        for (const msg of base.pending) this.fold.add(msg.events);
        this.error = `could not load the earlier diagram (${err.message}): showing what came since`;
        this.tick(true);
      });
  }

  draw(model) {
    const lanes = model.lifelines ?? [];
    const width = Math.max(this.scroller.clientWidth - 4, LEFT + lanes.length * 96);
    this.width = width;
    const colW = (width - LEFT) / Math.max(1, lanes.length);
    const x = new Map(lanes.map((l, i) => [l.id, LEFT + colW * (i + 0.5)]));
    // Header: one box per lifeline.
    const head = svg("svg", { width, height: HEAD_H, class: "seq-svg" });
    for (const l of lanes) {
      const w = Math.min(colW - 10, Math.max(54, textWidth(l.label, 15) + 18));
      const g = svg("g", { class: `seq-lane lane-${ROLE_CLASS[l.role] ?? "other"}`, transform: `translate(${x.get(l.id).toFixed(1)},${HEAD_H / 2})` });
      g.appendChild(svg("rect", { x: -w / 2, y: -14, width: w, height: 28, rx: 5 }));
      g.appendChild(svg("text", { y: 5, "text-anchor": "middle" }, l.label));
      head.appendChild(g);
    }
    this.head.replaceChildren(head);
    // Rows.
    const rows = [];
    let y = 14;
    for (const item of model.items ?? []) {
      const h = item.type === "note" ? 10 + NOTE_LINE * (item.lines?.length ?? 1) : ROW_H;
      rows.push({ item, y: y + h / 2, h });
      y += h;
    }
    const height = y + 20;
    const body = svg("svg", { width, height, class: "seq-svg" });
    for (const l of lanes) body.appendChild(svg("line", { class: "seq-lifeline", x1: x.get(l.id), x2: x.get(l.id), y1: 0, y2: height }));
    for (const { item, y: cy } of rows) {
      body.appendChild(svg("text", { class: "seq-time", x: 4, y: cy + 4 }, item.t.toFixed(3)));
      if (item.type === "message") body.appendChild(this.arrow(item, x, cy, colW));
      else if (item.type === "note") body.appendChild(this.note(item, x, cy, colW));
      else if (item.type === "drop") body.appendChild(this.drop(item, x, cy));
    }
    this.scroller.replaceChildren(body);
    if (this.stick) this.scroller.scrollTop = this.scroller.scrollHeight;
    this.legend(model.legend ?? []);
  }

  arrow(item, x, y, colW) {
    const x1 = x.get(item.src), x2 = x.get(item.dst);
    const g = svg("g", { class: `seq-msg style-${item.style}${item.lost ? " lost" : ""}`, "data-kind": item.kind, tabindex: 0, role: "button" });
    if (x1 === undefined || x2 === undefined) return g;
    const dir = Math.sign(x2 - x1) || 1;
    const group = item.style === "tunnel" ? GROUPS.find((gr) => gr.id === "tunnel") : item.style === "data" ? GROUPS.find((gr) => gr.id === "data") : KIND_GROUP.get(item.kind);
    const colour = group?.fill ?? "#333";
    const end = item.lost ? x1 + (x2 - x1) * 0.75 : x2 - dir * 2;
    if (item.style === "tunnel") {
      g.appendChild(svg("line", { class: "seq-tunnel-outer", x1, x2: end, y1: y, y2: y }));
      g.appendChild(svg("line", { class: "seq-tunnel-inner", x1, x2: end, y1: y, y2: y }));
    } else {
      g.appendChild(svg("line", { class: "seq-line", x1, x2: end, y1: y, y2: y, stroke: colour }));
    }
    const head = (tipX, d) => svg("path", { class: "seq-head", d: `M${tipX},${y} l${-d * 9},-5 l0,10 z`, fill: item.style === "tunnel" ? "#5c4d00" : colour });
    if (item.lost) {
      g.appendChild(svg("path", { class: "seq-lost", d: `M${end - 5},${y - 5} l10,10 M${end + 5},${y - 5} l-10,10` }));
    } else {
      g.appendChild(head(x2 - dir * 2, dir));
      if (item.both) g.appendChild(head(x1 + dir * 2, -dir));
    }
    // The label may run past a short arrow (on the white halo), but stays inside the diagram.
    const maxW = Math.max(colW * 2.6, Math.abs(x2 - x1)) - 8;
    let label = item.label ?? item.kind;
    while (label.length > 8 && textWidth(label, 12.5) > maxW) label = `${label.slice(0, -2)}…`;
    const w = textWidth(label, 12.5);
    const mid = Math.max(LEFT + w / 2, Math.min(this.width - w / 2 - 4, (x1 + x2) / 2));
    g.appendChild(svg("text", { class: "seq-label", x: mid, y: y - 5, "text-anchor": "middle" }, label));
    g.appendChild(svg("title", {}, `${item.t.toFixed(3)} s: ${item.label}`));
    // A wide invisible band makes the arrow easy to hit.
    g.appendChild(svg("rect", { class: "seq-hit", x: Math.min(x1, x2), y: y - 14, width: Math.abs(x2 - x1) || 10, height: 20 }));
    const pick = () => this.onPick(item.ids ?? []);
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
    return g;
  }

  note(item, x, y, colW) {
    const xs = (item.over ?? []).map((id) => x.get(id)).filter((v) => v !== undefined);
    const g = svg("g", { class: "seq-note" });
    if (!xs.length) return g;
    const lines = item.lines ?? [];
    const need = Math.max(...lines.map((l) => textWidth(l, 12))) + 12;
    const centre = (Math.min(...xs) + Math.max(...xs)) / 2;
    const span = Math.max(Math.max(...xs) - Math.min(...xs) + colW * 0.84, Math.min(need, colW * 3.2));
    const left = Math.max(LEFT, Math.min(this.width - span - 2, centre - span / 2)), right = left + span;
    const h = NOTE_LINE * lines.length + 6;
    g.appendChild(svg("rect", { x: left, y: y - h / 2, width: right - left, height: h, rx: 3 }));
    lines.forEach((line, i) => {
      let text = line;
      while (text.length > 8 && textWidth(text, 12) > right - left - 8) text = `${text.slice(0, -2)}…`;
      g.appendChild(svg("text", { x: left + 5, y: y - h / 2 + 14 + i * NOTE_LINE }, text));
    });
    return g;
  }

  drop(item, x, y) {
    const cx = x.get(item.node);
    const g = svg("g", { class: "seq-drop" });
    if (cx === undefined) return g;
    g.appendChild(svg("circle", { cx, cy: y, r: 8 }));
    g.appendChild(svg("path", { class: "drop-x", d: `M${cx - 4},${y - 4} l8,8 M${cx + 4},${y - 4} l-8,8` }));
    g.appendChild(svg("text", { x: cx + 13, y: y + 4 }, item.label ?? "dropped"));
    return g;
  }

  legend(entries) {
    const el = this.root.querySelector(".seq-legend");
    el.replaceChildren(...entries.map((e) => html("span", { className: "mono" }, `${e.name} = ${e.prefix} (${e.anchor})`)));
  }
}
