// What a lesson step talks about, highlighted on the live visualiser: the step's "highlight" names (node ids such as
// "MAR2", message kinds such as "PBU", prefixes) mark the nodes in the drawing, the messages in flight and in the
// event log, and the table rows that mention them. Done with one generated style sheet (so rows and messages drawn
// later are marked too) plus a class on table rows, which CSS cannot match by their text.
// Also: play the step into its end (window.dmmvizLesson.stopAt, the visualiser's hook in static/js/main.js).

import { reveal } from "./scroll.js";

const body = document.body;
const style = document.head.appendChild(document.createElement("style"));
style.id = "lx-highlight-style";
let names = [];

const q = (s) => `"${CSS.escape(s)}"`;

function markRows() {
  const wanted = names.filter((n) => n.length > 1);
  for (const tr of document.querySelectorAll(".side tbody tr, #lx-panel .lx-state tbody tr")) {
    const text = ` ${tr.textContent.replace(/\s+/g, " ")} `;
    const on = wanted.some((n) => text.includes(` ${n} `) || text.includes(n + "/") || (n.includes(":") && text.includes(n)));
    tr.classList.toggle("lx-hl-row", on);
  }
}

/** Highlight these names (replacing the previous ones); [] clears. */
export function highlight(list) {
  names = [...new Set((list || []).filter((n) => typeof n === "string" && n.trim()).map((n) => n.trim()))];
  body.dataset.lxHighlight = names.join(" ");
  const rules = [];
  for (const n of names) {
    rules.push(`#topology g.node[data-id=${q(n)}], #topology g.mn[data-id=${q(n)}] { filter: drop-shadow(0 0 5px #f0a500) drop-shadow(0 0 2px #f0a500); }`);
    rules.push(`g.msg[data-kind=${q(n)}] { filter: drop-shadow(0 0 4px #f0a500); }`);
    rules.push(`#log li:has(.kind[title=${q(n)}]) { background: #fff3c4; box-shadow: inset 4px 0 0 #f0a500; }`);
  }
  style.textContent = rules.join("\n") + "\n.lx-hl-row > td { background: #fff3c4; }";
  markRows();
}

// Tables are redrawn as the simulation runs: mark their rows again (at most once a frame).
let due = false;
new MutationObserver(() => {
  if (due || !names.length) return;
  due = true;
  requestAnimationFrame(() => { due = false; markRows(); });
}).observe(document.querySelector(".side") || body, { childList: true, subtree: true });

/** Once the visualiser is up: run `fn(api)` with window.dmmvizLesson (the stop-at-the-step's-end hook). */
export function whenReady(fn) {
  if (window.dmmvizLesson) fn(window.dmmvizLesson);
  else document.addEventListener("dmmviz:lesson-ready", () => fn(window.dmmvizLesson), { once: true });
}

let stepStart = 0; // where the step opens: the log rows of the step are those from here on

/** A step plays into its end: Play pauses at `until` (simulated seconds); it opened at `start`. */
export function playTo(until, start = 0) {
  body.dataset.lxUntil = String(until);
  stepStart = Number(start) || 0;
  whenReady((api) => api.stopAt(until));
}

// At the step's end, the first highlighted message of the log is brought into view (the data after it would hide it).
document.addEventListener("dmmviz:stopped", (e) => {
  body.dataset.lxStoppedAt = String(e.detail.t);
  // After the log has taken in the last rows (it fills in what it skipped while playing once playback stops).
  setTimeout(() => {
    const rows = [...document.querySelectorAll("#log li")].filter(
      (li) => names.includes(li.querySelector(".kind")?.title) && Number(li.querySelector(".t")?.textContent) >= stepStart - 0.0005,
    );
    reveal(rows.at(-1), { centre: true }); // newest first in the DOM: the last match is the earliest
    body.dataset.lxRevealed = rows.at(-1)?.querySelector(".kind")?.title ?? "";
  }, 300);
});

// A page that says what its step highlights and where it ends (data-highlight / data-until on the step element).
const step = document.querySelector("[data-lx-step-element]");
if (step) {
  highlight((step.dataset.highlight || "").split(" ").filter(Boolean));
  if (step.dataset.until) playTo(Number(step.dataset.until), Number(step.dataset.start));
}
