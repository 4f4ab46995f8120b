// The timeline under the drawing: the scenario's script actions (known ahead), the user's own actions, the density
// of messages so far, and the playback cursor. Clicking it seeks.

import { svg, setAttrs, html } from "./svg.js";
import { textWidth } from "./topology.js";
import { isMessage } from "./kinds.js";
import { commandOf, describeCommand } from "./catalogue.js";

// Three rows of labels, ROW_H apart (an 11.5 px label's box is ~13.5 px tall: closer rows touch), above the markers.
const ROW_H = 14;
const TRACK_Y = 11 + 2 * ROW_H + 14;
const H = TRACK_Y + 19; // the stage's grid row (static/css/dmmviz.css .stage) is this tall
const BUCKET = 0.01; // s

/** What identifies one user action across replays (a step back or reset replays the same actions at the same times). */
const mineSig = (a) => `${a.t}|${describeCommand(commandOf(a))}`;

export class Timeline {
  constructor(root, { script, onSeek, mineKey = null, othersLabel = "user" }) {
    this.root = root;
    this.script = [...(script ?? [])].sort((a, b) => a.at - b.at);
    this.onSeek = onSeek;
    this.userActions = [];
    this.redo = []; // actions undone by a jump back, to be replayed (main.js): drawn hollow, "redo:"
    // Actions this tab made are "you:"; anyone else's (another tab, a class's instructor) get othersLabel. The server
    // does not say who made an action, so the tab remembers its own (in sessionStorage: a reload keeps them).
    this.othersLabel = othersLabel;
    this.mineKey = mineKey;
    this.mine = new Set();
    try {
      if (mineKey) this.mine = new Set(JSON.parse(sessionStorage.getItem(mineKey) ?? "[]"));
    } catch {
      // no storage (or a broken entry): this tab's earlier actions read as someone else's after a reload
    }
    this.buckets = new Map(); // message counts per BUCKET seconds of simulated time (the density strip)
    this.lastMsg = 0;
    this.clock = 0;
    this.width = 0;
    this.dirty = true;
    this.svgEl = svg("svg", { class: "timeline-svg", height: H, role: "img", "aria-label": "timeline of script actions and events" });
    root.appendChild(this.svgEl);
    this.track = this.svgEl.appendChild(svg("g"));
    this.density = this.svgEl.appendChild(svg("g", { class: "density" }));
    this.marks = this.svgEl.appendChild(svg("g", { class: "marks" }));
    // The cursor is an HTML element moved by a CSS transform on its own layer: moving it every frame repaints nothing.
    this.cursor = root.appendChild(html("div", { className: "timeline-cursor", "aria-hidden": "true" }));
    this.svgEl.addEventListener("click", (e) => {
      const r = this.svgEl.getBoundingClientRect();
      this.onSeek(Math.max(0, this.tOf(e.clientX - r.left)));
    });
    // The width is read from the observer, never from layout in the frame loop (that would force a reflow).
    this.rootWidth = 0;
    new ResizeObserver((entries) => {
      this.rootWidth = Math.floor(entries[0].contentRect.width);
      this.dirty = true;
      this.draw(true);
    }).observe(root);
  }

  reset(events) {
    this.userActions = [];
    this.buckets = new Map();
    this.lastMsg = 0;
    this.add(events);
    this.marksKey = null;
    this.draw(true);
  }

  /** The undone actions waiting to be replayed ({t, command}). */
  setRedo(list) {
    this.redo = list.slice();
    this.marksKey = null;
    this.dirty = true;
    this.draw(true);
  }

  /** The user actions among `events` (the reply to this tab's command) are this tab's own. */
  markMine(events) {
    for (const ev of events) if (ev.kind === "action" && ev.source === "user") this.mine.add(mineSig(ev));
    this.marksKey = null;
    this.dirty = true;
    try {
      if (this.mineKey) sessionStorage.setItem(this.mineKey, JSON.stringify([...this.mine].slice(-500)));
    } catch {
      // storage full or refused: still right until a reload
    }
  }

  add(events) {
    for (const ev of events) {
      if (ev.kind === "action" && ev.source === "user") {
        this.userActions.push(ev);
        this.marksKey = null;
      } else if (isMessage(ev)) {
        const b = Math.floor(ev.t / BUCKET);
        this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
        if (ev.t > this.lastMsg) this.lastMsg = ev.t;
      }
    }
    if (events.length) this.dirty = true;
  }

  /** The strip's right end: past the script, the messages and the clock, rounded up so that it rarely changes. */
  get end() {
    const lastScript = this.script.length ? this.script[this.script.length - 1].at : 0;
    const lastRedo = this.redo.length ? this.redo[this.redo.length - 1].t : 0;
    const need = Math.max(5, lastScript + 3, this.lastMsg + 1, this.clock + 1, lastRedo + 1);
    const unit = need > 60 ? 20 : need > 10 ? 5 : 1;
    return Math.ceil(need / unit) * unit;
  }

  xOf(t) {
    return 12 + (t / this.tEnd) * (this.width - 24);
  }

  tOf(x) {
    return ((x - 12) / (this.width - 24)) * this.tEnd;
  }

  /** Redraw the density (and the marks when needed) when something changed, at most a few times a second. */
  draw(force = false) {
    const width = this.rootWidth;
    if (!width) return;
    // The scale never shrinks: after a jump back the marks stay where the student saw them.
    const end = Math.max(this.end, this.tEnd ?? 0);
    if (!this.dirty && width === this.width && Math.abs(end - this.tEnd) < 1e-9) return;
    const now = performance.now();
    if (!force && width === this.width && now - (this.drawnAt ?? 0) < 400) return;
    this.drawnAt = now;
    this.dirty = false;
    this.width = width;
    this.tEnd = end;
    setAttrs(this.svgEl, { width, viewBox: `0 0 ${width} ${H}` });
    const track = [svg("rect", { class: "track", x: 12, y: TRACK_Y, width: Math.max(0, width - 24), height: 6, rx: 3 })];
    const step = end > 60 ? 10 : end > 20 ? 5 : 1;
    for (let t = 0; t <= end; t += step) {
      const x = this.xOf(t);
      track.push(svg("line", { class: "tick", x1: x, x2: x, y1: TRACK_Y + 6, y2: TRACK_Y + 10 }));
      track.push(svg("text", { class: "tick-label", x, y: H - 1, "text-anchor": "middle" }, `${t}s`));
    }
    this.track.replaceChildren(...track);
    // Message density: one bar per 3 px column with any message in it, taller for more.
    const cols = new Map();
    for (const [b, n] of this.buckets) {
      const c = Math.floor(this.xOf(b * BUCKET) / 3);
      cols.set(c, (cols.get(c) ?? 0) + n);
    }
    // One path for all the bars: one thing to paint, however long the run.
    let d = "";
    for (const [c, n] of cols) {
      const h = Math.min(12, 3 + 3 * Math.log2(n));
      d += `M${c * 3},${TRACK_Y} v${(-h).toFixed(1)} h2 v${h.toFixed(1)} z`;
    }
    this.density.replaceChildren(svg("path", { d }));
    // The marks change only with the width, the time range or a new user action.
    const key = `${width}|${end}|${this.userActions.length}|${this.mine.size}|${this.redo.length}`;
    if (key !== this.marksKey) {
      this.marksKey = key;
      this.drawMarks(width);
    }
    this.setClock(this.clock, true);
  }

  drawMarks(width) {
    const marks = [];
    // A long script (a generated scenario) gets bare markers: labels would not fit, and thousands of elements cost.
    const labelled = this.script.length + this.userActions.length <= 80;
    let bare = ""; // unlabelled script markers, all in one path
    const lastX = [-Infinity, -Infinity, -Infinity]; // right end of the last label in each of three rows
    const place = (t, text, cls, why) => {
      const x = this.xOf(t);
      const w = textWidth(text, 12);
      const cx = Math.max(w / 2 + 2, Math.min(width - w / 2 - 2, x)); // keep the label inside the strip
      const row = lastX.findIndex((end) => cx - w / 2 > end + 8);
      if (!labelled && cls === "script") {
        bare += `M${(x - 5).toFixed(1)},${TRACK_Y - 8} h10 l-5,8 z`;
        return;
      }
      const g = svg("g", { class: `mark ${cls}`, transform: `translate(${x.toFixed(1)},0)` });
      g.appendChild(svg("path", { d: cls === "script" ? `M-5,${TRACK_Y - 8} h10 l-5,8 z` : `M0,${TRACK_Y - 8} l5,5 l-5,5 l-5,-5 z` }));
      if (!labelled) {
        marks.push(g);
        return;
      }
      if (row !== -1) {
        // With no room in any row the label is left out; the marker keeps it as a tooltip.
        lastX[row] = cx + w / 2;
        g.appendChild(svg("text", { x: (cx - x).toFixed(1), y: 11 + row * ROW_H, "text-anchor": "middle" }, text));
      }
      g.appendChild(svg("title", {}, `${t.toFixed(3)} s: ${text}${why}`));
      marks.push(g);
    };
    const all = [
      ...this.script.map((a) => ({ t: a.at, text: describeCommand(a), cls: "script", why: " (script)" })),
      ...this.userActions.map((a) => {
        const who = this.mine.has(mineSig(a)) ? "you" : this.othersLabel;
        return { t: a.t, text: `${who}: ${describeCommand(commandOf(a))}`, cls: "user", why: who === "you" ? " (your action)" : ` (${who}'s action)` };
      }),
      ...this.redo.map((r) => ({
        t: r.t, text: `redo: ${describeCommand(r.command)}`, cls: "redo",
        why: " (undone: plays again when you play on, unless you do something else first)",
      })),
    ].sort((a, b) => a.t - b.t);
    for (const m of all) place(m.t, m.text, m.cls, m.why);
    if (bare) {
      const g = svg("g", { class: "mark script" });
      g.appendChild(svg("path", { d: bare }));
      g.appendChild(svg("title", {}, `${this.script.length} script actions`));
      marks.unshift(g);
    }
    this.marks.replaceChildren(...marks);
  }

  setClock(t, force = false) {
    if (!force && t === this.clock) return;
    this.clock = t;
    if (!this.width) return;
    if (t > this.tEnd) {
      this.dirty = true;
      this.draw(true);
      return;
    }
    const x = this.xOf(t).toFixed(1);
    this.cursor.style.transform = `translateX(${x}px)`;
  }
}

