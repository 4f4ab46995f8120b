// Buttons, the speed choice, the legend with its filters, and the keyboard. Handlers come from main.js.
//
// Keys (also in the help dialog and docs/visualiser.md):
//   Space play/pause · → step one event · ← step back · R reset · + / − speed · 1–9 show/hide a kind of event
//   V network / sequence diagram · B break mode (faults.js handles the key)
//   Esc cancel a drag, close the message details · ? this help

import { html, svg } from "./svg.js";
import { GROUPS } from "./kinds.js";
import { SPEEDS } from "./player.js";

export const KEYS = [
  ["Space", "play / pause"],
  ["→", "step: process one event"],
  ["←", "step back one event (or your last action)"],
  ["R", "reset to the start of the scenario"],
  ["+ / −", "faster / slower"],
  ["1 – 9", "show or hide one kind of event (the legend's numbers)"],
  ["V", "switch between the network and the sequence diagram"],
  ["B", "break mode: click a message in flight to drop it, a router to fail or recover it"],
  ["↑ / ↓ in the log", "walk through the messages, showing each one's fields"],
  ["Tab, Enter", "go to a MAR or MN and show its tables and controls"],
  ["Esc", "cancel a drag; close the message details; leave break mode"],
  ["?", "show this help"],
];

/** A small legend glyph for a group, drawn like the moving messages. */
function glyph(group) {
  const s = svg("svg", { width: 40, height: 24, viewBox: "-20 -12 40 24", "aria-hidden": "true", class: "glyph" });
  const attrs = { fill: group.fill, stroke: "#000", "stroke-width": 1 };
  if (group.shape === "envelope") s.appendChild(svg("rect", { class: "msg-outer", x: -17, y: -11, width: 34, height: 22, rx: 3 }));
  if (group.shape === "pill" || group.shape === "dot" || group.shape === "envelope") s.appendChild(svg("rect", { ...attrs, x: -12, y: -7, width: 24, height: 14, rx: 7 }));
  else if (group.shape === "hex") s.appendChild(svg("polygon", { ...attrs, points: "-17,0 -11,-8 11,-8 17,0 11,8 -11,8" }));
  else if (group.shape === "para") s.appendChild(svg("polygon", { ...attrs, points: "-9,-8 17,-8 9,8 -17,8" }));
  else if (group.shape === "rect") s.appendChild(svg("rect", { ...attrs, x: -15, y: -8, width: 30, height: 16, rx: 1 }));
  else if (group.shape === "cross") {
    s.appendChild(svg("circle", { r: 9, class: "drop-glyph" }));
    s.appendChild(svg("path", { d: "M-4,-4 L4,4 M4,-4 L-4,4", class: "drop-x" }));
  } else s.appendChild(svg("rect", { x: -12, y: -7, width: 24, height: 14, rx: 2, fill: group.fill }));
  return s;
}

export class Controls {
  /**
   * @param {HTMLElement} doc the page (document.body)
   * @param {object} h handlers: toggle, step, back, reset, setSpeed(i), setFilter(groupId, visible), escape
   */
  constructor(doc, h) {
    this.h = h;
    this.buttons = {
      play: doc.querySelector("#btn-play"),
      step: doc.querySelector("#btn-step"),
      back: doc.querySelector("#btn-back"),
      reset: doc.querySelector("#btn-reset"),
    };
    this.speed = doc.querySelector("#speed");
    this.rateEl = doc.querySelector("#rate");
    this.clockEl = doc.querySelector("#clock");
    this.help = doc.querySelector("#help");
    this.buttons.play.addEventListener("click", () => h.toggle());
    this.buttons.step.addEventListener("click", () => h.step());
    this.buttons.back.addEventListener("click", () => h.back());
    this.buttons.reset.addEventListener("click", () => h.reset());
    // Mouse clicks leave the keyboard focus where it was, so Space keeps meaning play/pause.
    for (const b of Object.values(this.buttons)) b.addEventListener("mousedown", (e) => e.preventDefault());
    SPEEDS.forEach((s, i) => this.speed.appendChild(html("option", { value: i }, `${s}×`)));
    this.speed.value = String(SPEEDS.indexOf(1));
    this.speed.addEventListener("change", () => h.setSpeed(Number(this.speed.value)));
    this.buildLegend(doc.querySelector("#legend-list"));
    this.buildHelp(doc.querySelector("#help-keys"));
    doc.querySelector("#btn-help").addEventListener("click", () => this.help.showModal());
    document.addEventListener("keydown", (e) => this.key(e));
  }

  buildLegend(list) {
    this.filters = new Map();
    GROUPS.forEach((g, i) => {
      const id = `filter-${g.id}`;
      const li = html("li", { className: "legend-item", title: g.note });
      const box = html("input", { type: "checkbox", id, checked: true, dataset: { group: g.id } });
      box.addEventListener("change", () => this.h.setFilter(g.id, box.checked));
      const label = html("label", { for: id });
      label.appendChild(glyph(g));
      label.appendChild(html("span", { className: "legend-text" }, g.label));
      label.appendChild(html("kbd", {}, String(i + 1)));
      li.append(box, label);
      list.appendChild(li);
      this.filters.set(g.id, box);
    });
  }

  buildHelp(dl) {
    for (const [k, v] of KEYS) {
      dl.appendChild(html("dt", {}, k));
      dl.appendChild(html("dd", {}, v));
    }
  }

  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = e.target.tagName;
    const inForm = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
    if (e.key === "Escape") {
      this.h.escape();
      return;
    }
    if (inForm && e.key !== "Escape") return;
    if (document.body.dataset.asking) return; // a question is open: its buttons have the keyboard
    if (e.key === " " && tag === "BUTTON" && !Object.values(this.buttons).includes(e.target)) return; // Space presses that button
    let handled = true;
    switch (e.key) {
      case " ": this.h.toggle(); break;
      case "ArrowRight": this.h.step(); break;
      case "ArrowLeft": this.h.back(); break;
      case "r": case "R": this.h.reset(); break;
      case "+": case "=": this.bumpSpeed(1); break;
      case "-": case "_": this.bumpSpeed(-1); break;
      case "?": this.help.open ? this.help.close() : this.help.showModal(); break;
      case "v": case "V": this.h.toggleView(); break;
      default:
        if (/^[1-9]$/.test(e.key) && Number(e.key) <= GROUPS.length) {
          const g = GROUPS[Number(e.key) - 1];
          const box = this.filters.get(g.id);
          box.checked = !box.checked;
          this.h.setFilter(g.id, box.checked);
        } else handled = false;
    }
    if (handled) e.preventDefault();
  }

  bumpSpeed(d) {
    const i = Math.max(0, Math.min(SPEEDS.length - 1, Number(this.speed.value) + d));
    this.speed.value = String(i);
    this.h.setSpeed(i);
  }

  /** Reflect the player: play/pause label, what can be done now. */
  show({ playing, canStep, canBack, connected }) {
    const play = this.buttons.play;
    // SVG elements have no `hidden` property: the attribute is what the stylesheet's [hidden] rule sees.
    play.querySelector(".icon-play").toggleAttribute("hidden", playing);
    play.querySelector(".icon-pause").toggleAttribute("hidden", !playing);
    play.querySelector(".text").textContent = playing ? "Pause" : "Play";
    play.setAttribute("aria-pressed", String(playing));
    play.disabled = !connected;
    this.buttons.step.disabled = !connected || !canStep;
    this.buttons.back.disabled = !connected || !canBack;
    this.buttons.reset.disabled = !connected;
  }

  showClock(t, rate) {
    const text = `t = ${t.toFixed(3)} s`;
    if (this.clockEl.textContent !== text) this.clockEl.textContent = text;
    // The rate is read, not watched: a few updates a second (each one repaints the toolbar).
    const now = performance.now();
    if (rate !== 0 && now - (this.rateAt ?? 0) < 300) return;
    this.rateAt = now;
    let r = "";
    if (rate > 0 && rate < 0.5) r = `slow motion 1:${Number((1 / rate).toPrecision(2))}`;
    else if (rate >= 0.5) r = `time ×${rate < 10 ? rate.toFixed(1) : Math.round(rate)}`;
    if (this.rateEl.textContent !== r) this.rateEl.textContent = r;
  }
}
