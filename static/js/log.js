// The event log (newest at the bottom, filtered like the animation) and the details of a clicked message.
// The list is drawn bottom-up (flex column-reverse, newest row first in the DOM), so it stays scrolled to the newest
// row without any script reading the layout, and a reader who scrolled up keeps their place.

import { html } from "./svg.js";
import { explain, formatTime, formatValue, groupOf, isMessage, summary, tag } from "./kinds.js";

const MAX_ROWS = 300; // rows kept in the DOM; older ones are dropped from view (the server keeps the trace)
const BATCH_MS = 250; // while playing, new rows are added at most this often (nobody reads faster) ...
const BATCH_ROWS = 25; // ... and at most this many at a time; the rest are filled in when playback stops

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
    this.pending = [];
    this.recent = []; // the newest MAX_ROWS events, shown or not, to fill the log in when playback stops
    this.gaps = false; // rows were skipped while playing
    this.flushedAt = 0;
    list.addEventListener("click", (e) => this.pickFrom(e.target));
    // Keyboard: with the log focused, ↑ and ↓ walk through the messages (newest at the bottom), showing each one.
    list.tabIndex = 0;
    list.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
      e.preventDefault();
      const rows = [...list.querySelectorAll("li.is-msg")].filter((li) => li.offsetParent !== null).reverse(); // top to bottom
      if (!rows.length) return;
      const at = rows.findIndex((li) => Number(li.dataset.seq) === this.selected);
      const next = at === -1 ? rows.length - 1 : Math.max(0, Math.min(rows.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)));
      rows[next].scrollIntoView({ block: "nearest" });
      this.onPick(this.events.get(Number(rows[next].dataset.seq)));
    });
  }

  pickFrom(target) {
    const li = target.closest("li[data-seq]");
    if (li) this.onPick(this.events.get(Number(li.dataset.seq)));
  }

  /** Queue events for the log; they appear at the next flush(). */
  queue(events) {
    for (const ev of events) {
      this.pending.push(ev);
      this.recent.push(ev);
    }
    if (this.pending.length > MAX_ROWS * 4) this.pending = this.pending.slice(-MAX_ROWS);
    if (this.recent.length > MAX_ROWS * 2) this.recent = this.recent.slice(-MAX_ROWS);
  }

  /**
   * Show queued events. While playing (`playing`), at most every BATCH_MS and only the newest BATCH_ROWS of them;
   * once stopped, all of them (the skipped rows are filled in from `recent`).
   */
  flush(playing = false) {
    if (!playing && this.gaps) {
      this.gaps = false;
      this.pending = [];
      this.rebuild(this.recent.slice(-MAX_ROWS));
      return;
    }
    if (!this.pending.length) return;
    const now = performance.now();
    if (playing && now - this.flushedAt < BATCH_MS) return;
    this.flushedAt = now;
    let events = this.pending;
    this.pending = [];
    if (playing && events.length > BATCH_ROWS) {
      events = events.slice(-BATCH_ROWS);
      this.gaps = true;
    }
    this.add(events);
  }

  /** Start again from a snapshot's events. */
  reset(events) {
    this.pending = [];
    this.recent = events.slice(-MAX_ROWS);
    this.gaps = false;
    this.rebuild(this.recent);
  }

  rebuild(events) {
    this.rows.clear();
    this.events.clear();
    this.list.replaceChildren();
    this.add(events);
    this.list.scrollTop = 0; // the newest row (column-reverse)
  }

  add(events) {
    if (!events.length) return;
    const frag = document.createDocumentFragment();
    // Only the newest rows are kept on screen: at high speed a batch can hold thousands of events.
    for (const ev of events.length > MAX_ROWS ? events.slice(-MAX_ROWS) : events) {
      const g = groupOf(ev);
      const li = html("li", { dataset: { seq: ev.seq, group: g.id }, tabindex: -1, className: isMessage(ev) || ev.kind === "drop" ? "is-msg" : "is-state" });
      li.appendChild(html("span", { className: "t" }, ev.t.toFixed(3)));
      const badge = html("span", { className: `kind k-${g.id}`, title: ev.kind }, tag(ev));
      li.appendChild(badge);
      li.appendChild(html("span", { className: "what" }, summary(ev)));
      if (ev.seq === this.selected) li.classList.add("selected");
      this.rows.set(ev.seq, li);
      this.events.set(ev.seq, ev);
      frag.prepend(li);
    }
    this.list.prepend(frag);
    while (this.rows.size > MAX_ROWS) {
      const [seq, li] = this.rows.entries().next().value;
      li.remove();
      this.rows.delete(seq);
      this.events.delete(seq);
    }
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
