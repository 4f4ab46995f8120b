// The live sequence diagram's model, built in the page from the events the socket already brings (no polling).
// It is simulator/export/sequence.py's sequence_model (data "fold", no window) done one event at a time: the same
// items, lifelines and legend as /s/<uuid>/sequence.json for the same run (tests/frontend/test_sequence_fold.py
// feeds both the same events). What depends on the whole run (prefix names HNP1.., the lifeline order, which MNs use
// several interfaces, a message found lost later) is kept as small summaries and applied when the model is read,
// so older items are relabelled exactly as the server would. Only the newest MAX_ITEMS items are kept.
// Pure: no DOM, so node can run it.

import { MESSAGE_KINDS } from "./catalogue.js";

export const MAX_ITEMS = 1000; // arrows, notes and drop marks kept (the newest); docs/visualiser.md
export const MAX_FOLD_IDS = 2000; // packet ids a data fold keeps (the newest) for clicking; its count goes on

const MESSAGE = new Set(MESSAGE_KINDS);
const ROLE_ORDER = ["mn", "mar", "anchor", "db", "cn", "other"];
const DIAGRAM_ROLE = { mn: "mn", mar: "mar", lma: "anchor", db: "db", cn: "cn" };
const NAMING_KEYS = ["src", "dst", "node", "peer", "mn", "cn"];
const BA_STATUS = {
  0: "accepted", 128: "reason unspecified", 129: "administratively prohibited", 130: "insufficient resources",
  133: "not home agent for this MN", 135: "sequence number out of window", 152: "proxy registration not enabled",
  153: "not LMA for this MN", 154: "MAG not authorized", 155: "not authorized for HNP", 156: "timestamp mismatch",
  157: "timestamp lower than accepted", 158: "missing HNP option", 159: "BCE/PBU prefix set mismatch",
  160: "missing MN-ID option", 161: "missing HI option", 162: "missing ATT option",
};

/** Python's str() of a JSON value inside an f-string: the labels must read as the server's. */
const s = (v) => (v === null || v === undefined ? "None" : v === true ? "True" : v === false ? "False" : String(v));
const str = (v) => typeof v === "string";

/** Every node id -> engine role (the trace's `nodes` map, simulator/snapshots.py node_roles), from a snapshot. */
export function nodeRoles(scenario, state) {
  const net = scenario?.network ?? {};
  const roles = {};
  const mars = (net.mars ?? []).map((m) => m.id);
  for (const id of mars) roles[id] = "mar";
  for (const id of Object.keys(state?.mars ?? {})) if (!mars.includes(id)) roles[id] = "lma";
  for (const c of net.cns ?? []) roles[c.id] = "cn";
  roles[net.session_db?.id ?? "DB"] = "db";
  for (const m of scenario?.mobile_nodes ?? []) roles[m.id] = "mn";
  for (const id of Object.keys(state?.mns ?? {})) roles[id] = "mn";
  return roles;
}

function mentionedPrefixes(ev) {
  const out = [];
  for (const p of ev.prefixes ?? []) if (p && typeof p === "object" && str(p.prefix)) out.push(p.prefix);
  for (const p of ev.hnps ?? []) if (str(p)) out.push(p);
  for (const e of ev.entries ?? []) if (e && typeof e === "object" && str(e.hnp)) out.push(e.hnp);
  for (const key of ["hnp", "prefix"]) if (str(ev[key])) out.push(ev[key]);
  return out;
}

const number = (v) => s(v); // JSON numbers: 3600.0 and 3600 are one value here, and Python's number() says "3600"

export class SequenceFold {
  /** @param {Record<string,string>} nodes node id -> engine role (mn, mar, lma, db, cn) */
  constructor(nodes = {}, { maxItems = MAX_ITEMS } = {}) {
    this.maxItems = maxItems;
    this.reset(nodes);
  }

  reset(nodes = {}) {
    this.roles = new Map(Object.entries(nodes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, r]) => [n, DIAGRAM_ROLE[r] ?? "other"]));
    this.seen = 0; // events folded: the index the server's first_seen counts with
    this.firstSeen = new Map();
    this.latestAttach = new Map();
    this.allocated = []; // prefixes in order of allocation (HNP1, HNP2, ...)
    this.sighted = []; // every prefix in order of first sight (the rest are named after the allocated ones)
    this.prefixSet = new Set();
    this.allocatedSet = new Set();
    this.info = new Map();
    this.fixedNames = new Map(); // from a base model (see base()): prefix -> name
    this.interfaces = new Map();
    this.lostIds = new Set(); // messages that never arrived (arrive null)
    this.items = [];
    this.runs = new Map(); // open folds, by key
    this.byMsg = new Map(); // message id -> its item (kept items only), for a loss found later
    this.dropped = 0; // items let go past maxItems
    this.version = 0; // bumps on every change, so the view knows to redraw
  }

  /** Fold events in order (a snapshot's, which are already rewritten for losses, or an `events` message's). */
  add(events) {
    for (const ev of events ?? []) this.one(ev);
    if (events?.length) this.version++;
  }

  one(ev) {
    if (!ev || !str(ev.kind) || typeof ev.t !== "number") return;
    const i = this.seen++;
    for (const key of NAMING_KEYS) {
      const node = ev[key];
      if (str(node) && this.roles.has(node) && !this.firstSeen.has(node)) this.firstSeen.set(node, i);
    }
    if (ev.kind === "l2_attach" && str(ev.node)) this.latestAttach.set(ev.node, ev.t);
    if (ev.kind === "hnp_allocated" && str(ev.hnp)) {
      if (!this.allocatedSet.has(ev.hnp)) { this.allocatedSet.add(ev.hnp); this.allocated.push(ev.hnp); }
      if (!this.info.has(ev.hnp)) this.info.set(ev.hnp, { anchor: ev.node ?? null, mn: ev.mn ?? null });
    }
    for (const p of mentionedPrefixes(ev)) if (!this.prefixSet.has(p)) { this.prefixSet.add(p); this.sighted.push(p); }
    if (ev.mn && ev.interface) {
      if (!this.interfaces.has(ev.mn)) this.interfaces.set(ev.mn, new Set());
      this.interfaces.get(ev.mn).add(ev.interface);
    }
    const visible = (n) => str(n) && this.roles.has(n);
    if (MESSAGE.has(ev.kind)) {
      const lost = ev.arrive === null;
      if (lost) this.lostIds.add(ev.id);
      if (this.lostIds.size > 10000) this.lostIds.clear(); // only a drop naming a recent lost message needs it
      if (!visible(ev.src) || !visible(ev.dst)) return;
      if (ev.kind === "DATA") {
        const key = JSON.stringify([ev.flow ?? null, [ev.src, ev.dst].sort(), Boolean(ev.encapsulated), lost]);
        const run = this.runs.get(key);
        if (run) this.extend(run, { id: ev.id ?? null, t: ev.t, src: ev.src, i });
        else this.runs.set(key, this.push(this.arrow(ev, lost, key, i)));
        return;
      }
      this.push(this.arrow(ev, lost, null, i));
      this.clear(i);
    } else if (ev.kind === "drop") {
      if (ev.in_flight) { // the message it names becomes a lost arrow, as trace() marks it; no mark of its own
        this.lose(ev);
        return;
      }
      if (!visible(ev.node) || this.lostIds.has(ev.msg)) return;
      const key = JSON.stringify(["drop", ev.node, ev.flow ?? null, ev.reason ?? null]);
      let run = this.runs.get(key);
      if (!run) {
        run = this.push({ type: "drop", t: ev.t, t_last: ev.t, node: ev.node, flow: ev.flow ?? null, reason: ev.reason ?? null, count: 0, label: "", born: i });
        this.runs.set(key, run);
      }
      run.count++;
      run.t_last = ev.t;
    } else {
      const over = noteOver(ev);
      if (!over) return;
      const nodes = [...new Set(over)].filter(visible);
      if (!nodes.length) return;
      const last = this.items.at(-1);
      if (last && last.type === "note" && sameSet(last.nodes, nodes)) last.evs.push(ev); // one note, several lines
      else this.push({ type: "note", t: ev.t, nodes, evs: [ev], born: i });
      this.clear(i);
    }
  }

  arrow(ev, lost, key, i) {
    const item = {
      type: "message", kind: ev.kind, t: ev.t, t_last: ev.t, src: ev.src, dst: ev.dst, label: "",
      style: ev.encapsulated ? "tunnel" : ev.kind === "DATA" ? "data" : "signal",
      both: false, lost, flow: ev.flow ?? null, count: 1, ids: [ev.id ?? null], ev, key, born: i,
      pk: ev.kind === "DATA" ? [{ id: ev.id ?? null, t: ev.t, src: ev.src, i }] : undefined, // a fold's packets
    };
    if (ev.id !== undefined) this.byMsg.set(ev.id, item);
    return item;
  }

  /** One more packet in a data fold (kept in event order: a packet found lost later may join an older fold). */
  extend(run, p) {
    if (run.pk) {
      let at = run.pk.length;
      while (at > 0 && run.pk[at - 1].i > p.i) at--;
      const newest = at === run.pk.length;
      run.pk.splice(at, 0, p);
      if (run.pk.length > MAX_FOLD_IDS) { // a long steady flow: its oldest packet ids are let go, the count is kept
        const old = run.pk.shift();
        if (!run.forgot) Object.assign(run, { t0: run.t, src0: run.src, forgot: 0 });
        run.forgot++;
        run.both0 = run.both;
        if (this.byMsg.get(old.id) === run) this.byMsg.delete(old.id);
        run.ids.shift();
      }
      if (newest) { // the usual case, the newest packet: no need to go over the others
        run.count++;
        run.t_last = p.t;
        run.ids.push(p.id);
        if (p.src !== run.src) run.both = true;
      } else Object.assign(run, packed(run));
    } else { // a fold from a base model: its packets' times are not known, only the newest
      run.count++;
      run.t_last = Math.max(run.t_last, p.t);
      run.ids.push(p.id);
      if (p.src !== run.src) run.both = true;
    }
    this.byMsg.set(p.id, run);
  }

  /** A signalling arrow or a note ends every open fold (sequence.py: a fold never hides an ordering). */
  clear(i) {
    this.runs.clear();
    this.clearedAt = i;
  }

  /** A drop in flight: the message it names never arrived (simulator/snapshots.py lost_in_flight). */
  lose(drop) {
    this.lostIds.add(drop.msg);
    const item = this.byMsg.get(drop.msg);
    if (!item || item.type !== "message") return false;
    const fault = drop.lost === "fault" ? { lost: "fault", fault: drop.fault, lost_reason: drop.reason } : {};
    if (item.kind !== "DATA") {
      if (item.fixed && !item.lost && fault.lost) item.label += ` lost: ${fault.fault || fault.lost}`;
      item.lost = true;
      if (item.ev) item.ev = { ...item.ev, arrive: null, ...fault };
    } else if (!item.lost) this.relocate(item, drop.msg);
    this.version++;
    return true;
  }

  /** A packet of a data fold turns out lost: it leaves its fold for the lost fold of its flow and segment, where the
   * server's fold (which knew from the start) has it. */
  relocate(item, id) {
    let p;
    if (item.pk) {
      p = item.pk.splice(item.pk.findIndex((q) => q.id === id), 1)[0];
      if (item.pk.length) Object.assign(item, packed(item));
    } else { // a base model's fold: the packet's own time is not known
      item.ids.splice(item.ids.indexOf(id), 1);
      item.count--;
      p = { id, t: item.t_last, src: item.src, i: -1 };
    }
    if (!item.count || (item.pk && !item.pk.length && !item.forgot)) {
      this.items.splice(this.items.indexOf(item), 1);
      if (item.key && this.runs.get(item.key) === item) this.runs.delete(item.key);
    }
    const key = JSON.stringify([item.flow, [item.src, item.dst].sort(), item.style === "tunnel", true]);
    const open = this.runs.get(key);
    if (open) return this.extend(open, p);
    const ev = { ...(item.ev ?? {}), id, t: p.t, src: p.src, dst: p.src === item.src ? item.dst : item.src };
    const lost = { ...this.arrow({ ...ev, kind: "DATA", flow: item.flow, encapsulated: item.style === "tunnel" }, true, key, p.i), src: p.src, dst: ev.dst };
    let at = this.items.length;
    while (at > 0 && (this.items[at - 1].born ?? -Infinity) > p.i) at--;
    this.items.splice(at, 0, lost);
    this.byMsg.set(id, lost);
    if (p.i > (this.clearedAt ?? -1)) this.runs.set(key, lost); // still open: later lost packets join it
  }

  push(item) {
    this.items.push(item);
    if (this.items.length > this.maxItems) {
      const gone = this.items.shift();
      this.dropped++;
      for (const id of gone.ids ?? []) if (this.byMsg.get(id) === gone) this.byMsg.delete(id);
      for (const [k, run] of this.runs) if (run === gone) this.runs.delete(k);
    }
    return item;
  }

  /**
   * Start from a server model (sequence.json) when the page does not have the run's first events (a snapshot that
   * left some out): its items, lifeline order and prefix names; later events fold on top.
   */
  base(model) {
    const lanes = model.lifelines ?? [];
    lanes.forEach((l, i) => {
      if (!this.roles.has(l.id)) this.roles.set(l.id, l.role);
      this.firstSeen.set(l.id, i - lanes.length - 1);
      if (l.role === "mar") this.latestAttach.set(l.id, -1e15 - i); // keeps the model's order until a new attach
    });
    for (const e of model.legend ?? []) {
      this.fixedNames.set(e.prefix, e.name);
      if (!this.info.has(e.prefix)) this.info.set(e.prefix, { anchor: e.anchor ?? null, mn: e.mn ?? null });
    }
    // Fixed items keep the server's labels; a note may still take more lines (evs), folds more packets.
    const items = (model.items ?? []).slice(-this.maxItems).map((it) => ({
      ...it, fixed: true, ...(it.type === "note" ? { nodes: [...it.over], evs: [] } : {}), ...(it.ids ? { ids: [...it.ids] } : {}),
    }));
    this.items = items;
    // The open folds: the trailing data arrows and drops after the last signalling arrow or note.
    this.runs.clear();
    for (let k = items.length - 1; k >= 0; k--) {
      const it = items[k];
      if (it.type === "note" || (it.type === "message" && it.kind !== "DATA")) break;
      const key = it.type === "drop"
        ? JSON.stringify(["drop", it.node, it.flow ?? null, it.reason ?? null])
        : JSON.stringify([it.flow ?? null, [it.src, it.dst].sort(), it.style === "tunnel", Boolean(it.lost)]);
      if (!this.runs.has(key)) this.runs.set(key, it);
      if (it.type === "message") it.key = key;
    }
    for (const it of items) for (const id of it.ids ?? []) this.byMsg.set(id, it);
    this.version++;
  }

  /** The "dmmviz-sequence/1" model of what is kept: {lifelines, items, legend, dropped}. */
  model() {
    const names = this.names();
    const used = new Set();
    const name = (p) => { used.add(p); return names.get(p) ?? s(p); };
    const multiIf = new Set([...this.interfaces].filter(([, ifs]) => ifs.size > 1).map(([mn]) => mn));
    const order = this.order();
    const position = new Map(order.map((n, i) => [n, i]));
    const items = this.items.map((it) => {
      if (it.type === "note" && it.fixed) {
        return { type: "note", t: it.t, over: [...it.over], lines: [...it.lines, ...it.evs.map((e) => noteText(e, name))], kinds: [...it.kinds, ...it.evs.map((e) => e.kind)] };
      }
      if (it.fixed && it.type === "message" && it.kind !== "DATA") return strip(it);
      if (it.type === "message") {
        let label;
        if (it.kind === "DATA") label = `${s(it.flow)} ${it.lost ? "lost" : "data"} (${it.count} ${it.count === 1 ? "pkt" : "pkts"})`;
        else {
          label = messageLabel(it.ev, name, multiIf);
          if (it.lost && it.ev.lost) label += ` lost: ${it.ev.fault || it.ev.lost}`;
        }
        return strip({ ...it, label });
      }
      if (it.type === "drop") {
        const what = it.flow ? `${it.flow} ` : "";
        const reason = it.reason ? `: ${it.reason}` : "";
        return strip({ ...it, label: `${it.node} drops ${what}(${it.count} ${it.count === 1 ? "pkt" : "pkts"})${reason}` });
      }
      const over = [...it.nodes].sort((a, b) => position.get(a) - position.get(b));
      return { type: "note", t: it.t, over, lines: it.evs.map((e) => noteText(e, name)), kinds: it.evs.map((e) => e.kind) };
    });
    const fixedUsed = new Set(this.items.filter((it) => it.fixed).flatMap((it) => JSON.stringify(it).match(/HNP\d+/g) ?? []));
    const usedNodes = new Set(items.flatMap((it) => (it.type === "note" ? it.over : it.type === "drop" ? [it.node] : [it.src, it.dst])));
    const legend = [];
    for (const [prefix, nm] of names) {
      if (used.has(prefix) || fixedUsed.has(nm)) {
        const info = this.info.get(prefix) ?? {};
        legend.push({ name: nm, prefix, anchor: info.anchor ?? null, mn: info.mn ?? null });
      }
    }
    return {
      format: "dmmviz-sequence/1",
      lifelines: order.filter((n) => usedNodes.has(n)).map((n) => ({ id: n, label: n, role: this.roles.get(n) })),
      items,
      legend,
      dropped: this.dropped,
    };
  }

  /** prefix -> HNPn: allocated ones in order of allocation, then the others in order of first sight. */
  names() {
    const out = new Map(this.fixedNames);
    let n = 0;
    for (const nm of out.values()) n = Math.max(n, Number(nm.slice(3)) || 0);
    for (const p of this.allocated) if (!out.has(p)) out.set(p, `HNP${++n}`);
    for (const p of this.sighted) if (!out.has(p)) out.set(p, `HNP${++n}`);
    return out;
  }

  /** The lifelines' column order (sequence.py lifeline_order) over the nodes the run has named. */
  order() {
    const key = (node) => {
      const role = this.roles.get(node);
      const rank = ROLE_ORDER.indexOf(role);
      const latest = this.latestAttach.has(node) ? this.latestAttach.get(node) : -Infinity;
      return [rank, role === "mar" ? -latest : 0, this.firstSeen.get(node) ?? 0];
    };
    const cmp = (a, b) => {
      const ka = key(a), kb = key(b);
      for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
      return 0;
    };
    return [...this.roles.keys()].filter((n) => this.firstSeen.has(n)).sort(cmp);
  }
}

function strip(it) {
  const { ev, key, fixed, nodes, evs, born, pk, t0, src0, both0, forgot, ...out } = it;
  if (out.ids) out.ids = [...out.ids]; // a model is a copy: later folding never changes one already drawn
  return out;
}

/** A data fold's fields from its packets (sequence.py _arrow and _extend). */
function packed(run) {
  const pk = run.pk;
  const src = run.src0 ?? pk[0].src, dst = src === run.src ? run.dst : run.src;
  return {
    t: run.t0 ?? pk[0].t, t_last: pk.at(-1).t, src, dst, count: (run.forgot ?? 0) + pk.length, ids: pk.map((p) => p.id),
    both: Boolean(run.both0) || pk.some((p) => p.src !== src),
  };
}

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

/** The lifelines a state event's note stands over, or null when it makes no note (sequence.py note_for). */
function noteOver(ev) {
  switch (ev.kind) {
    case "l2_attach": case "l2_detach": return [ev.mn];
    case "hnp_allocated": case "hnp_released": case "binding_created": case "binding_updated": case "binding_deleted":
    case "bul_added": case "bul_removed": return [ev.node];
    case "tunnel_up": case "tunnel_down": return [ev.node, ev.peer];
    case "flow_started": case "flow_stopped": case "flow_moved": return [ev.mn || ev.node];
    default: return null;
  }
}

function noteText(ev, name) {
  const node = s(ev.node);
  const iface = ev.interface ? ` (${ev.interface})` : "";
  const flow = ev.flow ? ` for ${ev.flow}` : "";
  switch (ev.kind) {
    case "l2_attach": return `L2 attach to ${node}${iface}`;
    case "l2_detach": return `L2 detach from ${node}${iface}`;
    case "hnp_allocated": return `${node} allocates ${name(ev.hnp)} ${s(ev.hnp)}`;
    case "hnp_released": return `${node} releases ${name(ev.hnp)}`;
    case "binding_created": case "binding_updated": return `${node}: binding ${name(ev.hnp)} -> ${s(ev.serving)}${flow}`;
    case "binding_deleted": return `${node}: binding ${name(ev.hnp)} deleted${flow}`;
    case "bul_added": return `${node}: BUL ${name(ev.hnp)} anchored at ${s(ev.anchor)}${flow}`;
    case "bul_removed": return `${node}: BUL ${name(ev.hnp)} removed${flow}`;
    case "tunnel_up": case "tunnel_down": return `tunnel ${node}<=>${s(ev.peer)} ${ev.kind.slice(7)}`;
    case "flow_started": return `${s(ev.flow)} to ${s(ev.cn)}${ev.prefix ? ` using ${name(ev.prefix)}` : ""}`;
    case "flow_stopped": return `${s(ev.flow)} stops`;
    case "flow_moved": return `${s(ev.flow)} moves to ${s(ev.interface)}${ev.prefix ? ` (${name(ev.prefix)})` : ""}`;
    default: return "";
  }
}

function entriesText(ev, name) {
  return (ev.entries ?? []).filter((e) => e && typeof e === "object" && "hnp" in e).map((e) => `${name(e.hnp)}@${s(e.anchor)}`).join(", ");
}

function statusText(ev) {
  const st = ev.status;
  const text = Number.isInteger(st) ? BA_STATUS[st] ?? "" : "";
  return st === 0 ? text : `${s(st)} ${text}`.trim();
}

/** The arrow label of one signalling message (sequence.py message_label). */
function messageLabel(ev, name, multiIf) {
  const kind = ev.kind;
  const via = multiIf.has(ev.mn) && ev.interface ? ` ${ev.interface}` : "";
  if (kind === "RS") return `RS${via}`;
  if (kind === "RA") {
    const parts = (ev.prefixes ?? []).map((p) => {
      const deprecated = p.preferred_lifetime === 0 && (p.valid_lifetime || 0) > 0;
      const gone = p.valid_lifetime === 0;
      return name(p.prefix) + (deprecated ? " depr." : gone ? " withdrawn" : "");
    });
    return `RA${via}(${parts.join(", ")})`;
  }
  if (kind === "PBU" || kind === "BU") {
    const flow = ev.flow ? `, ${ev.flow}` : "";
    const lifetime = ev.lifetime === 0 ? "lifetime 0: dereg" : `lifetime ${number(ev.lifetime)}`;
    const hnps = (ev.hnps ?? []).map((p) => name(p)).join(", ") || "new HNP";
    return `${kind}(seq ${s(ev.sequence)}, ${lifetime}, ${hnps}${flow})`;
  }
  if (kind === "PBA" || kind === "BA") return `${kind}(${statusText(ev)}, seq ${s(ev.sequence)})`;
  if (kind === "DB_QUERY") {
    const entries = entriesText(ev, name);
    return `DB_QUERY(${s(ev.mn)}${entries ? `: ${entries}` : ""})`;
  }
  if (kind === "DB_REPLY") return `DB_REPLY(${entriesText(ev, name) || "none"})`;
  if (kind === "DB_UPDATE") {
    const sign = ev.op === "remove" ? "-" : "+";
    return `DB_UPDATE(${entriesText(ev, name).split(", ").filter((x) => x).map((x) => sign + x).join(", ")})`;
  }
  if (kind === "DATA") return `${s(ev.flow)} #${s(ev.packet)}`;
  return s(kind);
}
