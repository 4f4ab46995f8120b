// The event log (newest at the bottom, filtered like the animation) and the details of a clicked message.

import { html } from "./svg.js";
import { explain, formatTime, formatValue, groupOf, isMessage, summary, tag } from "./kinds.js";

const MAX_ROWS = 400; // rows kept in the DOM; older ones are dropped from view (the server keeps the trace)

export class EventLog {
  /**
   * @param {HTMLOListElement} list
   * @param {(ev) => void} onPick called when a row is clicked or chosen with Enter
   */
  constructor(list, onPick) {
    this.list = list;
    this.onPick = onPick;
    this.rows = new Map(); // seq -> <li>
    this.events = new Map(); // seq -> event
    this.selected = null;
    list.addEventListener("click", (e) => this.pickFrom(e.target));
    list.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.pickFrom(e.target);
    });
  }

  pickFrom(target) {
    const li = target.closest("li[data-seq]");
    if (li) this.onPick(this.events.get(Number(li.dataset.seq)));
  }

  reset(events) {
    this.rows.clear();
    this.events.clear();
    this.list.replaceChildren();
    this.add(events.slice(-MAX_ROWS), false);
  }

  add(events, scroll = true) {
    if (!events.length) return;
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const frag = document.createDocumentFragment();
    for (const ev of events) {
      const g = groupOf(ev);
      const li = html("li", { dataset: { seq: ev.seq, group: g.id }, tabindex: -1, className: isMessage(ev) || ev.kind === "drop" ? "is-msg" : "is-state" });
      li.appendChild(html("span", { className: "t" }, ev.t.toFixed(3)));
      const badge = html("span", { className: `kind k-${g.id}`, title: ev.kind }, tag(ev));
      li.appendChild(badge);
      li.appendChild(html("span", { className: "what" }, summary(ev)));
      if (ev.seq === this.selected) li.classList.add("selected");
      this.rows.set(ev.seq, li);
      this.events.set(ev.seq, ev);
      frag.appendChild(li);
    }
    this.list.appendChild(frag);
    while (this.rows.size > MAX_ROWS) {
      const [seq, li] = this.rows.entries().next().value;
      li.remove();
      this.rows.delete(seq);
      this.events.delete(seq);
    }
    if (scroll && stick) this.list.scrollTop = this.list.scrollHeight;
  }

  select(seq) {
    if (this.selected !== null) this.rows.get(this.selected)?.classList.remove("selected");
    this.selected = seq;
    if (seq !== null) this.rows.get(seq)?.classList.add("selected");
  }

  /** The newest message event with this id (to show the details of a message clicked in the drawing). */
  find(id) {
    for (const ev of [...this.events.values()].reverse()) if (ev.id === id) return ev;
    return null;
  }
}

/** Field order for the details table: what a student looks for first. */
const FIRST = ["kind", "src", "dst", "t", "arrive", "mn", "mn_id", "hnps", "flags", "sequence", "lifetime", "status", "handoff_indicator", "att", "timestamp", "flow", "prefixes", "entries", "op"];

export class Details {
  constructor(root, onClose) {
    this.root = root;
    this.title = root.querySelector("h2");
    this.body = root.querySelector("tbody");
    root.querySelector("button.close").addEventListener("click", onClose);
  }

  show(ev) {
    if (!ev) {
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    const where = ev.src !== undefined ? `${ev.src} → ${ev.dst}` : ev.node ?? "";
    this.title.textContent = `${ev.kind}  ${where}`;
    const keys = Object.keys(ev).filter((k) => k !== "seq" && k !== "id");
    keys.sort((a, b) => rank(a) - rank(b));
    const rows = [];
    for (const key of keys) {
      const v = ev[key];
      const tr = html("tr");
      tr.appendChild(html("th", { scope: "row" }, key.replaceAll("_", " ")));
      let text = key === "t" || key === "arrive" ? (v === null ? "null" : formatTime(v)) : formatValue(v);
      const note = explain(key, v);
      const td = tr.appendChild(html("td"));
      td.appendChild(html("span", { className: "mono value" }, text));
      if (note) td.appendChild(html("span", { className: "note" }, note));
      rows.push(tr);
    }
    if (isMessage(ev) && ev.arrive !== null && ev.arrive !== undefined) {
      const tr = html("tr");
      tr.appendChild(html("th", { scope: "row" }, "flight"));
      tr.appendChild(html("td", { className: "mono" }, `${((ev.arrive - ev.t) * 1000).toFixed(3)} ms`));
      rows.push(tr);
    }
    this.body.replaceChildren(...rows);
  }
}

function rank(key) {
  const i = FIRST.indexOf(key);
  return i === -1 ? FIRST.length : i;
}
