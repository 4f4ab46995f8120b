// The live panels, drawn from the state the server sends ("dmmviz-state/1"): the session DB, the selected MAR's binding
// cache, binding update list and tunnels, the selected MN's interfaces, prefixes and flows, with the MN's controls.
// A panel is rebuilt only when its part of the state changed; a row that is new or changed flashes.

import { html } from "./svg.js";

/**
 * A titled table whose rows flash when they appear or change (ignoring the listed volatile fields). With no rows it
 * shrinks to one line ("Binding cache: empty ..."), so the panels fit a projector's height.
 */
class LiveTable {
  constructor(columns, { empty, volatile = [], caption = null }) {
    this.columns = columns; // [{key, label, cls?, render?(row) -> Node|string}]
    this.volatile = volatile;
    this.el = html("div", { className: "live-block" });
    this.emptyEl = html("p", { className: "live-empty" });
    if (caption) this.emptyEl.appendChild(html("strong", {}, `${caption}: `));
    this.emptyEl.appendChild(document.createTextNode(empty));
    this.table = html("table", { className: "live" });
    if (caption) this.table.appendChild(html("caption", {}, caption));
    const head = html("tr");
    for (const c of columns) head.appendChild(html("th", { scope: "col", className: c.cls ?? null }, c.label));
    this.table.appendChild(html("thead")).appendChild(head);
    this.body = this.table.appendChild(html("tbody"));
    this.el.append(this.emptyEl, this.table);
    this.prev = null; // signatures of the rows last shown
    this.last = null;
  }

  signature(row) {
    const copy = { ...row };
    for (const k of this.volatile) delete copy[k];
    return JSON.stringify(copy);
  }

  /** Forget what was shown (a new node selected: nothing "changed"). */
  clear() {
    this.prev = null;
    this.last = null;
    this.rowEls = null;
  }

  row(row) {
    const tr = html("tr");
    for (const c of this.columns) {
      const td = html("td", { className: c.cls ?? null });
      const v = c.render ? c.render(row) : row[c.key];
      if (v instanceof Node) td.appendChild(v);
      else td.textContent = v === null || v === undefined ? "–" : String(v);
      tr.appendChild(td);
    }
    return tr;
  }

  /** Show rows; flash = false for the first fill (nothing "changed" when the page opens) and at high speed. */
  update(rows, { flash = true } = {}) {
    const text = JSON.stringify(rows);
    if (text === this.last) return;
    this.last = text;
    const sigs = rows.map((r) => this.signature(r));
    const before = new Set(this.prev ?? []);
    // Rows are kept by their full content: an unchanged row keeps its element, only new or changed rows are built.
    const keep = this.rowEls ?? new Map();
    const next = new Map();
    const out = rows.map((row, i) => {
      const key = JSON.stringify(row);
      let tr = keep.get(key);
      if (!tr || next.has(key)) {
        tr = this.row(row);
        if (flash && this.prev !== null && !before.has(sigs[i])) tr.className = "changed";
      }
      next.set(key, tr);
      return tr;
    });
    this.rowEls = next;
    this.body.replaceChildren(...out);
    this.table.hidden = rows.length === 0;
    this.emptyEl.hidden = rows.length > 0;
    if (flash && this.prev !== null && this.prev.length > 0 && rows.length === 0) {
      // A table that just emptied flashes too: something was removed.
      this.emptyEl.classList.remove("changed");
      void this.emptyEl.offsetWidth;
      this.emptyEl.classList.add("changed");
    }
    this.prev = sigs;
  }
}

/** A lifetime as people read it ("30 d", "1 h", "0 s"), the exact seconds in its tooltip. */
function lifetime(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0xffffffff) return "∞";
  const units = [[86400, "d"], [3600, "h"], [60, "min"]];
  let text = `${Number(v.toFixed ? v.toFixed(3) : v)} s`;
  for (const [n, u] of units) {
    if (v >= n && v % n === 0) {
      text = `${v / n} ${u}`;
      break;
    }
  }
  return html("span", { title: `${v} s` }, text);
}

/** The session DB: every (MN, HNP, anchor) entry. */
export class SessionDbPanel {
  constructor(root, { mode, dbId }) {
    this.root = root;
    this.title = root.querySelector("h2");
    this.title.textContent = mode === "network-dmm" ? `Session DB (${dbId})` : "Session DB";
    this.table = new LiveTable(
      [{ key: "mn", label: "MN" }, { key: "hnp", label: "prefix (HNP)", cls: "mono" }, { key: "anchor", label: "anchor" }],
      { empty: mode === "network-dmm" ? "empty: no mobile node has a prefix yet" : `no session DB in ${mode}` },
    );
    root.appendChild(this.table.el);
  }


  update(state, flash) {
    const rows = [];
    for (const [mn, entries] of Object.entries(state?.session_db ?? {}).sort()) {
      for (const e of entries) rows.push({ mn, hnp: e.hnp, anchor: e.anchor });
    }
    this.table.update(rows, { flash });
  }
}

/** The selected MAR (or LMA): binding cache, binding update list, tunnels, attached mobile nodes. */
export class MarPanel {
  constructor(root, { topology, mode }) {
    this.root = root;
    this.topology = topology;
    this.mode = mode;
    this.title = root.querySelector("h2");
    this.hint = root.querySelector(".hint");
    this.id = null;
    this.bc = new LiveTable(
      [
        { key: "mn", label: "MN" }, { key: "hnp", label: "prefix", cls: "mono", render: (r) => (r.flow ? `${r.hnp} (${r.flow} only)` : r.hnp) },
        { key: "serving", label: "serving" }, { key: "state", label: "state" },
        { key: "lifetime", label: "lifetime", render: (r) => lifetime(r.lifetime) },
      ],
      { empty: "empty (anchors no prefix that moved away)", caption: "Binding cache", volatile: ["lifetime"] },
    );
    this.bul = new LiveTable(
      [
        { key: "mn", label: "MN" }, { key: "hnp", label: "prefix", cls: "mono", render: (r) => (r.flow ? `${r.hnp} (${r.flow} only)` : r.hnp) },
        { key: "anchor", label: "anchor" }, { key: "lifetime", label: "lifetime", render: (r) => lifetime(r.lifetime) },
      ],
      { empty: "empty (serves no prefix anchored elsewhere)", caption: "Binding update list", volatile: ["lifetime"] },
    );
    this.tunnels = new LiveTable(
      [{ key: "peer", label: "tunnel to" }, { key: "prefixes", label: "prefixes carried", cls: "mono" }],
      { empty: "none", caption: "Tunnels" },
    );
    this.prefixes = new LiveTable(
      [{ key: "hnp", label: "prefix", cls: "mono" }, { key: "who", label: "given to" }],
      { empty: "none", caption: "Prefixes allocated from its pool" },
    );
    this.attached = new LiveTable([{ key: "who", label: "mobile node . interface" }], { empty: "none", caption: "Attached" });
    this.body = html("div", { className: "panel-body" });
    this.body.append(this.bc.el, this.bul.el, this.tunnels.el, this.attached.el, this.prefixes.el);
    root.appendChild(this.body);
  }

  select(id) {
    this.id = id;
    this.hint.hidden = Boolean(id);
    this.body.hidden = !id;
    for (const t of [this.bc, this.bul, this.tunnels, this.attached, this.prefixes]) t.clear();
  }

  /** One sentence on what this node is doing now, in the words of its mode. */
  roleText(m) {
    const anchors = (m.binding_cache ?? []).length, serves = (m.binding_update_list ?? []).length;
    if (this.mode === "centralized-pmipv6") {
      if (this.topology.net.nodes.get(this.id)?.type === "lma") return `${this.id} is the one anchor (LMA): every prefix is bound here to the MAG serving it.`;
      return serves ? `${this.id} is a MAG serving ${serves} prefix${serves > 1 ? "es" : ""}, all registered at the LMA.` : `${this.id} is a MAG with no mobile node now.`;
    }
    if (this.mode === "client-dmm") {
      return anchors ? `${this.id} is home agent for ${anchors} prefix${anchors > 1 ? "es" : ""} whose node moved away.` : `${this.id} is home agent for no moved prefix now.`;
    }
    const roles = [];
    if (anchors) roles.push("anchor (H-MAR) of prefixes that moved away");
    if (serves) roles.push("serving MAR (V-MAR) of prefixes anchored elsewhere");
    return roles.length ? `${this.id} is ${roles.join(" and ")}.` : `${this.id} has no mobility role now: its prefixes are routed natively.`;
  }

  update(state, flash) {
    if (!this.id) return;
    const m = state?.mars?.[this.id] ?? {};
    this.bc.update((m.binding_cache ?? []).map((e) => ({ mn: e.mn, hnp: e.hnp, serving: e.serving, flow: e.flow ?? null, state: e.state ?? null, lifetime: e.lifetime })), { flash });
    this.bul.update((m.binding_update_list ?? []).map((e) => ({ mn: e.mn, hnp: e.hnp, anchor: e.anchor, flow: e.flow ?? null, lifetime: e.lifetime })), { flash });
    this.tunnels.update((m.tunnels ?? []).map((peer) => ({ peer, prefixes: this.topology.tunnelPrefixes(this.id, peer).join(", ") || "–" })), { flash });
    this.attached.update((m.attached ?? []).map((a) => ({ who: `${a.mn}.${a.interface}` })), { flash });
    this.prefixes.update((m.prefixes ?? []).map((p) => ({ hnp: p.hnp, who: `${p.mn}.${p.interface}` })), { flash });
    this.title.textContent = this.roleText(m);
  }
}

/** The selected mobile node: interfaces (attach, detach, move), prefixes, flows (start, stop, move to an interface). */
export class MnPanel {
  /**
   * @param {HTMLElement} root
   * @param {{scenario: object, onCommand: (cmd: object) => void}} options
   */
  constructor(root, { scenario, onCommand }) {
    this.root = root;
    this.scenario = scenario;
    this.onCommand = onCommand;
    this.hint = root.querySelector(".hint");
    this.id = null;
    this.body = root.appendChild(html("div", { className: "panel-body" }));
    this.ifaceBox = this.body.appendChild(html("div", { className: "mn-ifaces" }));
    this.prefixes = new LiveTable(
      [
        { key: "prefix", label: "prefix", cls: "mono" }, { key: "anchor", label: "anchor" },
        { key: "status", label: "use", render: (r) => statusBadge(r) },
        { key: "preferred_lifetime", label: "preferred", render: (r) => lifetime(r.preferred_lifetime) },
        { key: "valid_lifetime", label: "valid", render: (r) => lifetime(r.valid_lifetime) },
      ],
      { empty: "none yet", caption: "Prefixes (from router advertisements)", volatile: ["preferred_lifetime", "valid_lifetime"] },
    );
    this.flows = new LiveTable(
      [
        { key: "id", label: "flow" }, { key: "cn", label: "to" }, { key: "prefix", label: "source prefix", cls: "mono" },
        { key: "anchor", label: "anchor" }, { key: "act", label: "", render: (r) => this.flowButtons(r) },
      ],
      { empty: "none", caption: "Flows" },
    );
    this.startBox = html("div", { className: "start-flow" });
    // Client-based mode: the MN keeps its own binding update list (one entry per home agent it sent a BU to).
    this.bul = new LiveTable(
      [{ key: "hnp", label: "home prefix", cls: "mono" }, { key: "home_agent", label: "home agent" }, { key: "sequence", label: "seq" }, { key: "lifetime", label: "lifetime", render: (r) => lifetime(r.lifetime) }],
      { empty: "empty", caption: "Binding update list (sent by the MN itself)", volatile: ["lifetime"] },
    );
    this.body.append(this.prefixes.el, this.flows.el, this.startBox, this.bul.el);
    this.lastIfaces = null;
  }

  get mn() {
    return (this.scenario.mobile_nodes ?? []).find((m) => m.id === this.id);
  }

  select(id) {
    this.id = id;
    this.hint.hidden = Boolean(id);
    this.body.hidden = !id;
    this.lastIfaces = null;
    for (const t of [this.prefixes, this.flows, this.bul]) t.clear();
  }

  update(state, flash) {
    if (!this.id) return;
    this.state = state;
    const s = state?.mns?.[this.id] ?? { interfaces: {}, prefixes: [], flows: [] };
    const ifaces = JSON.stringify(s.interfaces ?? {});
    if (ifaces !== this.lastIfaces) {
      this.lastIfaces = ifaces;
      this.renderInterfaces(s.interfaces ?? {});
      this.renderStartFlow(s.interfaces ?? {});
    }
    this.prefixes.update((s.prefixes ?? []).map((p) => ({ ...p, status: p.deprecated ? "deprecated" : "preferred" })), { flash });
    const flows = (s.flows ?? []).filter((f) => f.active !== false).map((f) => ({ id: f.id, cn: f.cn, prefix: f.prefix, anchor: f.anchor, interface: f.interface ?? null }));
    this.flows.update(flows, { flash });
    this.bul.el.hidden = !s.binding_update_list;
    if (s.binding_update_list) {
      this.bul.update(s.binding_update_list.map((e) => ({ hnp: e.hnp, home_agent: e.home_agent ?? e.anchor, sequence: e.sequence, lifetime: e.lifetime })), { flash });
    }
  }

  renderInterfaces(attached) {
    const mars = (this.scenario.network?.mars ?? []).map((m) => m.id);
    const rows = [];
    for (const name of this.mn?.interfaces ?? ["if1"]) {
      const at = attached[name] ?? null;
      const row = html("div", { className: "iface-row", dataset: { iface: name } });
      row.appendChild(html("span", { className: "iface-name" }, name));
      row.appendChild(html("span", { className: "iface-at" }, at ? `on ${at}` : "not attached"));
      const select = html("select", { "aria-label": `${at ? "move" : "attach"} ${this.id}.${name} to` });
      for (const m of mars) if (m !== at) select.appendChild(html("option", { value: m }, m));
      const go = html("button", { type: "button", className: "small" }, at ? "Move" : "Attach");
      go.addEventListener("click", () => this.onCommand({ action: at ? "move" : "attach", mn: this.id, interface: name, mar: select.value }));
      row.append(select, go);
      if (at) {
        const detach = html("button", { type: "button", className: "small" }, "Detach");
        detach.addEventListener("click", () => this.onCommand({ action: "detach", mn: this.id, interface: name }));
        row.appendChild(detach);
      }
      rows.push(row);
    }
    this.ifaceBox.replaceChildren(...rows);
  }

  renderStartFlow(attached) {
    const cns = (this.scenario.network?.cns ?? []).map((c) => c.id);
    const names = (this.mn?.interfaces ?? ["if1"]).filter((n) => attached[n]);
    const box = [];
    const cn = html("select", { "aria-label": "correspondent node" });
    for (const c of cns) cn.appendChild(html("option", { value: c }, c));
    const iface = html("select", { "aria-label": "interface" });
    for (const n of names) iface.appendChild(html("option", { value: n }, n));
    const start = html("button", { type: "button", className: "small" }, "Start flow");
    start.disabled = names.length === 0;
    start.addEventListener("click", () => {
      const cmd = { action: "start_flow", mn: this.id, flow: this.freeFlowId(), cn: cn.value };
      if ((this.mn?.interfaces ?? []).length > 1) cmd.interface = iface.value;
      this.onCommand(cmd);
    });
    box.push(html("span", {}, "New flow to"), cn);
    if ((this.mn?.interfaces ?? []).length > 1) box.push(html("span", {}, "on"), iface);
    box.push(start);
    if (!names.length) box.push(html("span", { className: "muted" }, "(attach an interface first)"));
    this.startBox.replaceChildren(...box);
  }

  /** A flow id not used by this MN now nor by the scenario's script later ("flowN"). */
  freeFlowId() {
    const used = new Set();
    for (const f of this.state?.mns?.[this.id]?.flows ?? []) used.add(f.id);
    for (const s of this.scenario.script ?? []) if (s.flow) used.add(s.flow);
    let n = 1;
    while (used.has(`flow${n}`)) n++;
    return `flow${n}`;
  }

  flowButtons(flow) {
    const box = html("span", { className: "flow-actions" });
    const stop = html("button", { type: "button", className: "small", title: `stop ${flow.id}` }, "Stop");
    stop.addEventListener("click", () => this.onCommand({ action: "stop_flow", mn: this.id, flow: flow.id }));
    box.appendChild(stop);
    const attached = this.state?.mns?.[this.id]?.interfaces ?? {};
    const names = this.mn?.interfaces ?? ["if1"];
    if (names.length > 1) {
      for (const n of names) {
        if (!attached[n] || n === flow.interface) continue;
        const mv = html("button", { type: "button", className: "small", title: `move ${flow.id} to ${n} (per-flow mobility)` }, `→ ${n}`);
        mv.addEventListener("click", () => this.onCommand({ action: "move_flow", mn: this.id, flow: flow.id, interface: n }));
        box.appendChild(mv);
      }
    }
    return box;
  }
}

function statusBadge(row) {
  const box = html("span");
  box.appendChild(html("span", { className: `badge ${row.deprecated ? "deprecated" : "preferred"}` }, row.deprecated ? "deprecated" : "preferred"));
  if (row.home_address) box.appendChild(html("span", { className: "badge home", title: "the MN's home address for flows that started there (client-based)" }, "home"));
  return box;
}
