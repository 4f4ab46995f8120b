// Breaking the network on purpose (issue 13; docs/visualiser.md "Breaking the network"): drop a message in flight,
// fail and recover a MAR, the session DB or the LMA, set a loss rate per node; and drawing what that does: lost
// messages end in a cross that says why ("lost: drop"), their log rows are greyed with the reason, failed nodes are
// drawn crossed out. The engine decides everything (simulator/faults.py); the page only sends the catalogue's
// commands (`drop`, `loss`, `fail`, `recover`) through main.js's command() and draws the events and state it gets.
//
// main.js creates one FaultsUi and this module hooks itself onto the views it is given (topology.update, layer.add,
// log.add, details.show), so the other modules know nothing of faults.

import { html, svg } from "./svg.js";
import { COMMANDS, describeCommand, isMessage } from "./catalogue.js";

const LOST_FLIGHT = 0.004; // s a message lost at its sending travels before its cross (animation.js's default)
const RATES = [0, 0.1, 0.25, 0.5, 1]; // the loss rates offered (any other rate in the state is listed too)
const FAULT_ACTIONS = new Set(["drop", "loss", "fail", "recover"]);
const FAILABLE = new Set(["mar", "db", "lma"]); // formats.md "Faults": what can fail; a CN only loses messages

const pct = (rate) => `${Math.round(rate * 1000) / 10}%`;

/** "lost (drop): dropped on purpose (drop PBU)": what a lost message says, in the log and on its cross. */
export function lostText(ev) {
  return `lost (${ev.fault ?? "fault"})${ev.lost_reason || ev.reason ? `: ${ev.lost_reason ?? ev.reason}` : ""}`;
}

/** A message's fate is decided at its sending: a drop only takes one still in the air (sent, not yet arrived). */
export function inFlight(ev, clock) {
  return isMessage(ev.kind) && ev.arrive !== null && ev.arrive !== undefined && ev.t <= clock + 1e-9 && ev.arrive > clock + 1e-9;
}

/** The `drop` command for exactly this message's kind, sender and receiver, once. */
export function dropCommandFor(ev) {
  return { action: "drop", kind: ev.kind, src: ev.src, dst: ev.dst, count: 1 };
}

export class FaultsUi {
  /**
   * @param {object} o
   *   scenario, topology (TopologyView), layer (MessageLayer), log (EventLog), details (Details), player (Player),
   *   command(cmd) sends a catalogue command, toast(text, kind, ms), stage (the drawing's section, #stage),
   *   socket (Socket) and protocol (/protocol.js) for dropping a message already on its way (see drop())
   */
  constructor(o) {
    Object.assign(this, o);
    // An engine without faults, or a class follower's page (it only watches): nothing is offered, faults still drawn.
    this.enabled = Boolean(COMMANDS.drop && COMMANDS.fail) && document.body.dataset.lxRole !== "follow";
    this.failed = new Set();
    this.loss = {};
    this.pendingDrops = [];
    this.faultOf = new Map(); // message id -> its lost event fields, for the cross and the log row
    this.rowOfMsg = new Map(); // message id -> log seq
    this.sentAfter = new Map(); // message id -> the session's steps before the reply that brought it (for drop())
    this.steps = null;
    this.nodes = [...this.topology.net.nodes.values()].filter((n) => FAILABLE.has(n.type) || n.type === "cn");
    this.hook();
    if (!this.enabled) return;
    this.buildControls();
    this.watchClicks();
  }

  // ---- hooks onto the views (kept here so the other modules stay unaware of faults) ----
  hook() {
    const { topology, layer, log, details } = this;
    if (this.socket) {
      const receive = this.socket.onMessage;
      this.socket.onMessage = (msg, mine) => {
        this.noteSteps(msg);
        receive(msg, mine);
      };
    }
    const update = topology.update.bind(topology);
    topology.update = (state) => {
      update(state);
      this.showState(state);
    };
    const add = layer.add.bind(layer);
    layer.add = (events) => add(this.withCrosses(events));
    const logAdd = log.add.bind(log);
    log.add = (events) => {
      logAdd(events);
      this.greyRows(events);
    };
    const show = details.show.bind(details);
    details.show = (ev) => {
      show(ev);
      this.showDropButton(ev);
    };
    // A fault's cross says "lost (drop)" rather than "dropped", and is drawn in its own style.
    new MutationObserver((changes) => {
      for (const c of changes) for (const el of c.addedNodes) this.styleCross(el);
    }).observe(layer.dropLayer, { childList: true });
  }

  /**
   * The events for the animation, with a cross where a message lost at its sending vanishes (the engine gives those
   * no `drop` event: their `arrive` is null). A message lost on its way already has its drop event.
   */
  withCrosses(events) {
    const droppedLater = new Set(events.filter((e) => e.kind === "drop" && e.in_flight).map((e) => String(e.msg)));
    const out = [];
    for (const ev of events) {
      out.push(ev);
      if (ev.kind === "drop" && ev.lost === "fault") {
        this.faultOf.set(String(ev.msg), { fault: ev.fault, lost_reason: ev.reason });
        const rec = this.layer.byId.get(String(ev.msg));
        if (rec && !rec.lost && ev.in_flight) {
          rec.lost = true; // it stops short of the failed node and drops there, like a message lost at its sending
          rec.end = ev.t;
        }
      } else if (ev.lost === "fault" && isMessage(ev.kind)) {
        this.faultOf.set(String(ev.id), ev);
        if ((ev.arrive === null || ev.arrive === undefined) && !droppedLater.has(String(ev.id))) {
          out.push({ kind: "drop", t: ev.t + LOST_FLIGHT, node: ev.dst, msg: ev.id, msg_kind: ev.kind, reason: ev.lost_reason, lost: "fault", fault: ev.fault });
        }
      }
    }
    return out;
  }

  styleCross(el) {
    if (!(el instanceof SVGElement) || !el.classList.contains("drop-marker")) return;
    const lost = this.faultOf.get(String(el.dataset.msg));
    if (!lost) return;
    el.classList.add("drop-fault");
    el.dataset.fault = lost.fault ?? "";
    const label = el.querySelector(".drop-label");
    if (label) label.textContent = `lost: ${lost.fault ?? "fault"}`;
  }

  /** Log rows of lost messages are greyed and say why; the row of a message lost on its way too. */
  greyRows(events) {
    for (const ev of events) {
      if (isMessage(ev.kind)) this.rowOfMsg.set(String(ev.id), ev.seq);
      if (ev.kind === "action" && FAULT_ACTIONS.has(ev.action)) this.describeAction(ev);
      if (ev.kind === "drop" && ev.lost === "fault") this.markRow(this.rowOfMsg.get(String(ev.msg)), { fault: ev.fault, lost_reason: ev.reason });
      else if (ev.lost === "fault") this.markRow(ev.seq, ev);
    }
  }

  /** "user drop the next PBU from MAR2 to MAR1": a fault's action row says what it does (its kind is `msg_kind`). */
  describeAction(ev) {
    const what = this.log.rows.get(ev.seq)?.querySelector(".what");
    if (!what) return;
    const cmd = { action: ev.action, kind: ev.msg_kind, node: ev.node, rate: ev.rate === undefined ? undefined : pct(ev.rate) };
    what.textContent = `${ev.source ?? ""} ${describeCommand(cmd)}${ev.src ? ` from ${ev.src}` : ""}${ev.dst ? ` to ${ev.dst}` : ""}`;
  }

  markRow(seq, lost) {
    const li = seq === undefined ? null : this.log.rows.get(seq);
    if (!li || li.classList.contains("lost-fault")) return;
    li.classList.add("lost-fault");
    li.dataset.fault = lost.fault ?? "";
    li.querySelector(".what")?.appendChild(html("span", { className: "lost-why" }, ` ${lostText(lost)}`));
  }

  // ---- Break (click to break) and the Faults menu (every node's state and loss rate) ----
  buildControls() {
    // In the drawing's top-left corner (the toolbar has no room left at 1280 px): Break and the Faults menu.
    const tools = html("div", { className: "faults-tools", role: "group", "aria-label": "break the network" });
    this.breakBtn = tools.appendChild(html("button", {
      type: "button", id: "btn-break", className: "break", "aria-pressed": "false",
      title: "Break the network: click a message in the air to drop it, a MAR, DB or LMA to fail or recover it (B)",
    }, "✕ Break"));
    this.breakBtn.addEventListener("click", () => this.setBreaking(!this.breaking));
    this.menu = tools.appendChild(html("details", { className: "faults-menu" }));
    const summary = html("summary", { title: "Failed nodes and loss rates" }, "Faults");
    this.menu.appendChild(summary);
    const body = html("div", { className: "menu faults-body", role: "group", "aria-labelledby": "faults-h" });
    body.appendChild(html("h2", { id: "faults-h" }, "Faults"));
    body.appendChild(html("p", { className: "muted" }, "A failed node neither sends, receives nor forwards and comes back with empty tables. A loss rate loses each message to or from the node with that probability."));
    const table = html("table", { className: "faults-table" });
    const head = table.appendChild(html("thead")).appendChild(html("tr"));
    for (const h of ["node", "now", "fail", "loss rate"]) head.appendChild(html("th", { scope: "col" }, h));
    this.tbody = table.appendChild(html("tbody"));
    this.rows = new Map();
    for (const node of this.nodes) this.rows.set(node.id, this.nodeRow(node));
    body.appendChild(table);
    this.dropsEl = body.appendChild(html("p", { className: "faults-drops", "aria-live": "polite" }));
    this.menu.appendChild(body);
    this.stage.prepend(tools);
    document.addEventListener("click", (e) => {
      if (this.menu.open && !this.menu.contains(e.target)) this.menu.open = false;
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        this.menu.open = false;
        this.setBreaking(false);
      }
      const tag = e.target.tagName;
      if ((e.key === "b" || e.key === "B") && !document.body.dataset.asking && !e.ctrlKey && !e.metaKey && !e.altKey && tag !== "INPUT" && tag !== "SELECT" && tag !== "TEXTAREA") {
        this.setBreaking(!this.breaking);
      }
    });
    this.showState(null);
  }

  nodeRow(node) {
    const tr = this.tbody.appendChild(html("tr", { dataset: { node: node.id } }));
    tr.appendChild(html("th", { scope: "row" }, node.id));
    const status = tr.appendChild(html("td", { className: "fault-status" }, "up"));
    const cell = tr.appendChild(html("td"));
    let button = null;
    if (FAILABLE.has(node.type)) {
      button = cell.appendChild(html("button", { type: "button", className: "fault-toggle" }, "Fail"));
      button.addEventListener("click", () => this.toggleFail(node.id));
    }
    const select = tr.appendChild(html("td")).appendChild(html("select", { "aria-label": `loss rate at ${node.id}` }));
    select.addEventListener("change", () => this.command({ action: "loss", node: node.id, rate: Number(select.value) }));
    return { tr, status, button, select };
  }

  setBreaking(on) {
    if (!this.enabled || Boolean(this.breaking) === on) return;
    this.breaking = on;
    this.breakBtn.setAttribute("aria-pressed", String(on));
    document.body.classList.toggle("breaking", on);
    if (on) this.toast("Break: click a message in the air to drop it, or a MAR, DB or LMA to fail or recover it. Esc or Break again to stop.", "hint", 8000);
  }

  toggleFail(id) {
    this.command({ action: this.failed.has(id) ? "recover" : "fail", node: id });
  }

  /** Which steps each message was sent after: a snapshot's events are not placed (the session could be anywhere). */
  noteSteps(msg) {
    const { SERVER } = this.protocol;
    if (msg.type === SERVER.EVENTS && this.steps !== null) {
      for (const ev of msg.events ?? []) if (ev.id !== undefined && isMessage(ev.kind)) this.sentAfter.set(String(ev.id), this.steps);
      if (this.sentAfter.size > 50_000) this.sentAfter = new Map([...this.sentAfter].slice(-10_000));
    }
    if (msg.type === SERVER.SNAPSHOT || msg.type === SERVER.EVENTS) this.steps = msg.steps;
  }

  /**
   * Drop a message in the air. Its fate was decided when it was sent (a `drop` catches the next matching message
   * sent after it), so the page goes back to just before its sending (`seek`, the session's own undo), gives the
   * `drop` there and runs on to where it was: the same message is sent again, and lost. Without that point (a
   * message from before this page's snapshot) the drop takes the next matching message.
   */
  drop(ev) {
    if (!inFlight(ev, this.player.clock)) {
      this.toast(`That ${ev.kind} is not in the air now: only a message on its way can be dropped.`, "alert");
      return;
    }
    if (this.player.playing) this.player.pause();
    const cmd = dropCommandFor(ev);
    const before = this.sentAfter.get(String(ev.id));
    if (before === undefined || !this.socket?.open || Number(document.body.dataset.redo || 0) > 0) {
      this.command(cmd);
      return;
    }
    const { CLIENT } = this.protocol;
    const back = Math.max(this.player.clock, this.player.serverNow ?? 0);
    this.socket.send(CLIENT.SEEK, { steps: before });
    this.socket.send(CLIENT.COMMAND, { command: cmd });
    this.socket.send(CLIENT.RUN_UNTIL, { t: back });
    this.toast(`Dropped: the ${ev.kind} ${ev.src} → ${ev.dst} sent at t = ${ev.t.toFixed(3)} s is lost on its way. Press Play or Step to see what follows.`, "info", 6000);
  }

  watchClicks() {
    const topo = this.topology.root;
    const air = this.topology.air;
    const onNode = (e) => {
      if (!this.breaking) return;
      const g = e.target.closest?.("g.node[data-id]");
      const node = g && this.topology.net.nodes.get(g.dataset.id);
      if (!node || !FAILABLE.has(node.type)) return;
      e.stopPropagation();
      e.preventDefault();
      this.toggleFail(node.id);
    };
    topo.addEventListener("click", onNode, true);
    topo.addEventListener("keydown", (e) => { if (e.key === "Enter") onNode(e); }, true);
    air.addEventListener("click", (e) => {
      if (!this.breaking) return;
      const el = e.target.closest?.("g.msg");
      const rec = el && this.layer.byId.get(el.dataset.id);
      if (!rec) return;
      e.stopPropagation();
      this.drop(rec.ev);
    }, true);
  }

  /** The message details get a "Drop this message" button while the message is in the air (the keyboard's way). */
  showDropButton(ev) {
    const root = this.details.root;
    let box = root.querySelector(".fault-actions");
    if (!this.enabled || !ev || !isMessage(ev.kind) || ev.lost === "fault") {
      if (box) box.hidden = true;
      return;
    }
    if (!box) {
      box = html("p", { className: "fault-actions" });
      const b = box.appendChild(html("button", { type: "button", className: "drop-this" }, "✕ Drop this message"));
      b.addEventListener("click", () => this.drop(box.ev));
      root.querySelector("header").after(box);
    }
    box.ev = ev;
    box.hidden = !inFlight(ev, this.player.clock);
    box.querySelector("button").textContent = `✕ Drop this ${ev.kind} (${ev.src} → ${ev.dst})`;
  }

  // ---- the state: failed nodes, loss rates, waiting drops ----
  showState(state) {
    this.failed = new Set(state?.failed ?? []);
    this.loss = state?.faults?.loss ?? {};
    this.pendingDrops = state?.faults?.drop ?? [];
    for (const node of this.nodes) this.drawNode(node.id);
    if (!this.enabled) return;
    for (const [id, row] of this.rows) {
      const failed = this.failed.has(id);
      row.tr.classList.toggle("failed", failed);
      row.status.textContent = failed ? "failed" : "up";
      if (row.button) {
        row.button.textContent = failed ? "Recover" : "Fail";
        row.button.setAttribute("aria-label", `${failed ? "Recover" : "Fail"} ${id}`);
      }
      const rate = this.loss[id] ?? 0;
      const rates = RATES.includes(rate) ? RATES : [...RATES, rate].sort((a, b) => a - b);
      if (row.select.options.length !== rates.length) {
        row.select.replaceChildren(...rates.map((r) => html("option", { value: String(r) }, r ? pct(r) : "none")));
      }
      if (Number(row.select.value) !== rate) row.select.value = String(rate);
    }
    this.dropsEl.textContent = this.pendingDrops.length
      ? `Waiting to be lost: ${this.pendingDrops.map((d) => `${describeCommand({ action: "drop", ...d })}${d.src ? ` from ${d.src}` : ""}${d.dst ? ` to ${d.dst}` : ""}${d.count > 1 ? ` (${d.count})` : ""}`).join("; ")}.`
      : "";
    const n = this.failed.size + Object.keys(this.loss).length + this.pendingDrops.length;
    this.menu.querySelector("summary").textContent = n ? `Faults (${n})` : "Faults";
    this.menu.classList.toggle("active", n > 0);
  }

  /** A failed node crossed out and labelled "failed"; a loss rate shown under the node. */
  drawNode(id) {
    const g = this.topology.nodeEls.get(id);
    if (!g) return;
    const failed = this.failed.has(id);
    const rate = this.loss[id] ?? 0;
    let mark = g.querySelector(":scope > g.fault-mark");
    g.classList.toggle("failed", failed);
    if (!failed && !rate) {
      mark?.remove();
      this.relabel(g, "");
      return;
    }
    if (!mark) {
      mark = g.appendChild(svg("g", { class: "fault-mark" }));
      g.faultBox ??= g.querySelector(".shape")?.getBBox() ?? { x: -40, y: -20, width: 80, height: 40 };
    }
    const b = g.faultBox;
    mark.replaceChildren();
    const words = [];
    if (failed) {
      const x1 = b.x + 6, x2 = b.x + b.width - 6, y1 = b.y + 4, y2 = b.y + b.height - 4;
      mark.appendChild(svg("path", { class: "fail-x", d: `M${x1},${y1} L${x2},${y2} M${x2},${y1} L${x1},${y2}` }));
      words.push("failed");
    }
    if (rate) words.push(`loss ${pct(rate)}`);
    mark.appendChild(svg("text", { class: "fault-tag", y: b.y + b.height + 15, "text-anchor": "middle" }, words.join(" · ")));
    this.relabel(g, words.join(" "));
  }

  /** The accessible name keeps starting with the words the node shows, ours right after them (axe). */
  relabel(g, words) {
    const label = g.getAttribute("aria-label");
    if (label === null) return;
    const base = g.dataset.faultWords ? label.replace(` ${g.dataset.faultWords}`, "") : label;
    g.dataset.faultWords = words;
    if (!words) {
      delete g.dataset.faultWords;
      g.setAttribute("aria-label", base);
      return;
    }
    const cut = base.search(/[,;]/);
    g.setAttribute("aria-label", cut === -1 ? `${base} ${words}` : `${base.slice(0, cut)} ${words}${base.slice(cut)}`);
  }
}
