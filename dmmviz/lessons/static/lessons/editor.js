// The lesson editor: network (place, add, remove, link MARs, CNs, mobile nodes; prefix pools), a record mode that turns
// drags and flow buttons into timed script entries (each checked by the engine through /lessons/api/simulate/), the
// steps (narrative, checkpoint, the engine's answer), and saving with field-specific errors.
//
// The document edited is the lesson file itself ("dmmviz-lesson/1", docs/lessons.md); every input carries the JSON
// path it edits in data-path, which is how a problem from the server (path, message) finds its field.
// Positions use the front end's layout rules (static/js/layout.js) and are saved in the scenario's `layout`, which the
// visualiser honours. Text goes into the page through textContent only.

import { svg, html } from "/static/js/svg.js";
import { describeCommand, MESSAGE_KINDS } from "/static/js/catalogue.js";
import { layoutNetwork, layoutMobileNodes, bounds, parkingY, CORE } from "/static/js/layout.js";

const body = document.body;
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
const canvas = $("ed-canvas");

let doc = null; // the lesson document
let status = "draft";
let slug = ""; // the lesson's slug, in the page's address and API URL
let kinds = [];
let moments = [];
let selected = null; // {type: "node", id, kind} | {type: "link", index}
let linkFrom = null; // the first node picked by the link tool
let linkTool = false;
let record = false;
let simState = null; // the engine's state at the record time (where the mobile nodes are)
let validateTimer = null;
let simSeq = 0;

// ---- server ----

async function api(url, method = "GET", data = undefined) {
  const response = await fetch(url, {
    method,
    headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
    body: data === undefined ? undefined : JSON.stringify(data),
    credentials: "same-origin",
  });
  let reply = {};
  try {
    reply = await response.json();
  } catch {
    reply = { problems: [{ path: "", message: `the server answered ${response.status}` }] };
  }
  return { ok: response.ok, reply };
}

// ---- the document ----

function sc() {
  return doc.scenario;
}

/** Make sure every list the editor writes to exists. */
function normalise() {
  const s = sc();
  s.network ??= {};
  s.network.mars ??= [];
  s.network.cns ??= [];
  s.network.links ??= [];
  s.mobile_nodes ??= [];
  s.script ??= [];
  s.layout ??= {};
  doc.steps ??= [];
  for (const mn of s.mobile_nodes) mn.interfaces ??= ["if1"];
}

function mode() {
  return sc().mode || "network-dmm";
}

function ids() {
  const s = sc();
  return new Set([
    ...s.network.mars.map((m) => m.id), ...s.network.cns.map((c) => c.id), ...s.mobile_nodes.map((m) => m.id),
    s.network.session_db?.id ?? "DB", s.network.lma?.id ?? "LMA",
  ]);
}

function nextId(prefix) {
  const taken = ids();
  for (let n = 1; ; n++) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}

function nextPool() {
  const used = new Set(sc().network.mars.map((m) => m.prefix_pool));
  for (let n = 1; ; n++) {
    const pool = `2001:db8:${n.toString(16)}::/48`;
    if (!used.has(pool)) return pool;
  }
}

/** Rename a node everywhere it is referred to: links, script, step actions and checkpoints, layout. */
function renameNode(old, name) {
  const s = sc();
  const swap = (obj, keys) => { for (const k of keys) if (obj[k] === old) obj[k] = name; };
  for (const link of s.network.links) link.between = link.between.map((x) => (x === old ? name : x));
  for (const entry of s.script) swap(entry, ["mn", "mar", "cn"]);
  for (const step of doc.steps) {
    for (const a of step.actions ?? []) swap(a, ["mn", "mar", "cn"]);
    if (step.checkpoint) swap(step.checkpoint, ["mn", "node"]);
  }
  if (s.layout[old]) {
    s.layout[name] = s.layout[old];
    delete s.layout[old];
  }
}

function changed({ sim = true } = {}) {
  $("ed-saved").textContent = "unsaved changes";
  body.dataset.edStatus = "dirty";
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 500);
  if (sim) refreshSim();
}

// ---- problems: each goes next to the field whose data-path it names ----

function fieldFor(path) {
  let p = path;
  while (p) {
    const el = document.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut > 0 ? p.slice(0, cut) : "";
  }
  return null;
}

function showProblems(problems) {
  for (const el of document.querySelectorAll(".ed-error")) el.remove();
  for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const list = $("ed-problems");
  list.replaceChildren();
  list.hidden = problems.length === 0;
  for (const p of problems) {
    const where = p.path || "lesson";
    const field = fieldFor(p.path);
    const item = html("li", {}, `${where}: ${p.message}`);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      const note = html("span", { className: "ed-error", dataset: { for: p.path } }, p.message);
      field.insertAdjacentElement("afterend", note);
      item.addEventListener("click", () => field.focus());
    }
    list.append(item);
  }
}

async function validate() {
  const { ok, reply } = await api(body.dataset.validateUrl, "POST", doc);
  if (!ok) return;
  moments = reply.moments ?? [];
  showProblems(reply.problems ?? []);
  showAnswers();
}

// ---- the canvas ----

function toSvg(event) {
  const pt = canvas.createSVGPoint();
  pt.x = event.clientX;
  pt.y = event.clientY;
  return pt.matrixTransform(canvas.getScreenCTM().inverse());
}

let net = null;

/**
 * Where the mobile nodes are drawn: the engine's state at the record time, except that an interface in its link-layer
 * handover gap (a move or attach at that time or just before it, not attached yet) is drawn at the MAR it is going to:
 * right after a drop the node stays where it was dropped instead of jumping to the "not attached" strip.
 */
function drawnState() {
  if (!simState?.mns) return simState;
  const t = recordTime();
  const gap = Number(sc().timers?.l2_handover_delay ?? 0.05);
  const k = recordStep();
  const recent = [
    ...sc().script.filter((a) => a.at <= t + 1e-9 && a.at > t - gap),
    ...(k === null ? [] : doc.steps[k]?.actions ?? []),
  ].filter((a) => (a.action === "move" || a.action === "attach") && simState.mns[a.mn]);
  if (!recent.length) return simState;
  const mns = { ...simState.mns };
  for (const a of recent) {
    const iface = a.interface ?? sc().mobile_nodes.find((m) => m.id === a.mn)?.interfaces?.[0] ?? "if1";
    if (mns[a.mn].interfaces?.[iface]) continue; // attached already (the gap is over)
    mns[a.mn] = { ...mns[a.mn], interfaces: { ...mns[a.mn].interfaces, [iface]: a.mar } };
  }
  return { ...simState, mns };
}

function renderCanvas() {
  net = layoutNetwork(sc(), mode());
  const mnPos = layoutMobileNodes(sc(), drawnState(), net);
  const box = bounds(net);
  canvas.setAttribute("viewBox", `${box.x - 10} ${box.y - 10} ${box.width + 20} ${box.height + 20}`);
  canvas.replaceChildren(); // a handful of nodes: redrawing the editor's picture on each change is simplest and cheap
  const core = net.nodes.get(CORE);
  const links = svg("g", { class: "ed-links" });
  for (const n of net.nodes.values()) {
    if (n.type !== "core") links.append(svg("line", { x1: n.x, y1: n.y, x2: core.x, y2: core.y, class: "ed-core-link" }));
  }
  sc().network.links.forEach((link, index) => {
    const [a, b] = link.between.map((id) => net.nodes.get(id));
    if (!a || !b) return;
    const isSel = selected?.type === "link" && selected.index === index;
    const g = svg("g", { class: `ed-link${isSel ? " ed-selected" : ""}`, "data-link": index });
    g.append(svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "ed-link-hit" }));
    g.append(svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "ed-link-line" }));
    g.append(svg("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 6, class: "ed-link-label" }, `${link.delay_ms} ms`));
    g.addEventListener("click", () => select({ type: "link", index }));
    links.append(g);
  });
  canvas.append(links);
  const parkY = parkingY(net);
  canvas.append(svg("rect", { x: box.x, y: parkY - 24, width: box.width, height: 48, rx: 8, class: "ed-parking" }));
  canvas.append(svg("text", { x: box.x + 12, y: parkY + 5, class: "ed-parking-label" }, "not attached (drop here to detach)"));
  for (const n of net.nodes.values()) canvas.append(nodeGroup(n));
  for (const mn of sc().mobile_nodes) {
    const pos = mnPos.get(mn.id);
    if (!pos) continue;
    for (const [, iface] of pos.interfaces) {
      const mar = iface.mar && net.nodes.get(iface.mar);
      if (mar) canvas.append(svg("line", { x1: iface.x, y1: iface.y, x2: mar.x, y2: mar.y + 22, class: "ed-access" }));
    }
    canvas.append(mnGroup(mn, pos));
  }
}

function nodeGroup(n) {
  const w = n.type === "core" ? 120 : 104;
  const isSel = selected?.type === "node" && selected.id === n.id;
  const g = svg("g", {
    class: `ed-node ed-${n.type}${isSel ? " ed-selected" : ""}${linkFrom === n.id ? " ed-link-from" : ""}`,
    transform: `translate(${n.x} ${n.y})`, "data-node": n.id, tabindex: 0, role: "button",
    // The visible words first (name, then the pool or address under it), then what it is (axe: label-content-name).
    "aria-label": `${n.label ?? n.id}${n.sub ? ` ${n.sub}` : ""}, ${{ mar: "MAR", cn: "correspondent node", db: "session database", core: "IP core", lma: "LMA" }[n.type] ?? n.type}`,
  });
  g.append(n.type === "core" ? svg("ellipse", { rx: w / 2, ry: 24 }) : svg("rect", { x: -w / 2, y: -22, width: w, height: 44, rx: 6 }));
  g.append(svg("text", { y: n.sub ? -3 : 5, class: "ed-node-id" }, n.label ?? n.id));
  if (n.sub) g.append(svg("text", { y: 13, class: "ed-node-sub" }, n.sub));
  dragFixed(g, n);
  return g;
}

function mnGroup(mn, pos) {
  const isSel = selected?.type === "node" && selected.id === mn.id;
  const g = svg("g", { class: `ed-node ed-mn${isSel ? " ed-selected" : ""}`, transform: `translate(${pos.x} ${pos.y})`,
    "data-node": mn.id, tabindex: 0, role: "button", "aria-label": `${mn.id}, mobile node` });
  g.append(svg("rect", { x: -30, y: -15, width: 60, height: 30, rx: 8 }));
  g.append(svg("text", { y: 5, class: "ed-node-id" }, mn.id));
  dragMobile(g, mn, pos);
  return g;
}

/** A canvas node dragged from `origin` ({x, y}): past a 3-pixel move it follows the pointer while `follows()`; a
 * press without a move, or Enter/Space, is a click (`onClick()`); a release after a move calls `onDrop(p, dx, dy)`
 * with the pointer's SVG point and how far it moved. Both kinds of node (fixed, mobile) are dragged this way. */
function draggable(g, origin, follows, onClick, onDrop) {
  g.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    g.setPointerCapture(e.pointerId);
    const start = toSvg(e);
    let moved = false;
    const move = (ev) => {
      const p = toSvg(ev);
      if (Math.hypot(p.x - start.x, p.y - start.y) > 3) moved = true;
      if (moved && follows()) {
        g.setAttribute("transform", `translate(${origin.x + p.x - start.x} ${origin.y + p.y - start.y})`);
      }
    };
    const up = (ev) => {
      g.removeEventListener("pointermove", move);
      g.removeEventListener("pointerup", up);
      if (!moved) return onClick();
      const p = toSvg(ev);
      return onDrop(p, p.x - start.x, p.y - start.y);
    };
    g.addEventListener("pointermove", move);
    g.addEventListener("pointerup", up);
  });
  g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") onClick(); });
}

/** Drag a fixed node to place it (saved in scenario.layout); a click selects it, or links it with the link tool. */
function dragFixed(g, n) {
  draggable(g, n, () => true, () => click(n.id, n.type), (p, dx, dy) => {
    sc().layout[n.type === "core" ? CORE : n.id] = [Math.round(n.x + dx), Math.round(n.y + dy)];
    renderCanvas();
    changed({ sim: false });
  });
}

/** Drag a mobile node: with Record on, onto a MAR scripts attach/move at t; onto the grey strip scripts detach. */
function dragMobile(g, mn, pos) {
  draggable(g, pos, () => record, () => click(mn.id, "mn"), (p) => {
    if (!record) {
      hint("Turn Record on to script a handover: the drag becomes an action at the chosen time.");
      return renderCanvas();
    }
    const target = [...net.nodes.values()].find((n) => n.type === "mar" && Math.abs(n.x - p.x) < 60 && Math.abs(n.y - p.y) < 34);
    const iface = chosenInterface(mn);
    const current = simState?.mns?.[mn.id]?.interfaces?.[iface] ?? null;
    if (target) {
      if (target.id === current) return renderCanvas();
      recordAction({ action: current ? "move" : "attach", mn: mn.id, interface: iface, mar: target.id });
    } else if (Math.abs(p.y - parkingY(net)) < 30 && current) {
      recordAction({ action: "detach", mn: mn.id, interface: iface });
    } else {
      renderCanvas();
    }
  });
}

function click(id, kind) {
  if (linkTool && kind !== "mn" && kind !== "core") {
    if (!linkFrom) {
      linkFrom = id;
      hint(`Link from ${id}: now click the other end.`);
      return renderCanvas();
    }
    if (linkFrom !== id) {
      const exists = sc().network.links.some((l) => l.between.includes(linkFrom) && l.between.includes(id));
      if (!exists) sc().network.links.push({ between: [linkFrom, id], delay_ms: 2 });
      linkFrom = null;
      setLinkTool(false);
      select({ type: "link", index: sc().network.links.length - 1 });
      return changed();
    }
  }
  select({ type: "node", id, kind });
}

function select(what) {
  selected = what;
  $("delete-selected").disabled = !what || (what.type === "node" && !["mar", "cn", "mn"].includes(what.kind));
  renderCanvas();
  renderProps();
}

function setLinkTool(on) {
  linkTool = on;
  linkFrom = null;
  $("tool-link").setAttribute("aria-pressed", String(on));
  if (on) hint("Click two MARs (or a MAR and a CN) to link them directly.");
  renderCanvas();
}

function hint(text) {
  $("ed-hint").textContent = text;
}

// ---- the selected thing's properties ----

function field(label, value, path, onChange, attrs = {}) {
  const input = html("input", { type: "text", value: value ?? "", "data-path": path, ...attrs });
  input.addEventListener("change", () => onChange(input.value.trim(), input));
  const wrap = html("label", { className: "ed-field" }, `${label} `);
  wrap.append(input);
  return wrap;
}

function renderProps() {
  const box = $("ed-props");
  box.replaceChildren();
  if (!selected) return;
  const s = sc();
  if (selected.type === "link") {
    const i = selected.index;
    const link = s.network.links[i];
    if (!link) return;
    box.append(html("h3", {}, `Link ${link.between.join(" – ")}`));
    box.append(field("Delay (ms)", link.delay_ms, `scenario.network.links[${i}].delay_ms`, (v) => {
      link.delay_ms = Number(v);
      renderCanvas();
      changed();
    }, { type: "number", min: "0.1", step: "0.5" }));
    return;
  }
  const { id, kind } = selected;
  const rename = (list, index) => (v, input) => {
    if (v === id) return;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(v) || ids().has(v)) {
      input.value = id;
      hint(`“${v}” cannot be used: ids are letters, digits, _ . - (up to 32), and unique.`);
      return;
    }
    list[index].id = v;
    renameNode(id, v);
    selected = { ...selected, id: v };
    renderAll();
    changed();
  };
  if (kind === "mar") {
    const i = s.network.mars.findIndex((m) => m.id === id);
    box.append(html("h3", {}, `MAR ${id}`));
    box.append(field("Id", id, `scenario.network.mars[${i}].id`, rename(s.network.mars, i)));
    box.append(field("Prefix pool", s.network.mars[i].prefix_pool, `scenario.network.mars[${i}].prefix_pool`, (v) => {
      s.network.mars[i].prefix_pool = v;
      renderCanvas();
      changed();
    }, { id: "prop-pool", size: 22 }));
  } else if (kind === "cn") {
    const i = s.network.cns.findIndex((c) => c.id === id);
    box.append(html("h3", {}, `Correspondent node ${id}`));
    box.append(field("Id", id, `scenario.network.cns[${i}].id`, rename(s.network.cns, i)));
    box.append(field("Address", s.network.cns[i].address, `scenario.network.cns[${i}].address`, (v) => {
      s.network.cns[i].address = v;
      renderCanvas();
      changed();
    }, { size: 22 }));
  } else if (kind === "mn") {
    const i = s.mobile_nodes.findIndex((m) => m.id === id);
    box.append(html("h3", {}, `Mobile node ${id}`));
    box.append(field("Id", id, `scenario.mobile_nodes[${i}].id`, rename(s.mobile_nodes, i)));
    box.append(field("Interfaces", s.mobile_nodes[i].interfaces.join(", "), `scenario.mobile_nodes[${i}].interfaces`, (v) => {
      s.mobile_nodes[i].interfaces = v.split(/[\s,]+/).filter(Boolean);
      renderAll();
      changed();
    }));
  } else if (kind === "lma") {
    s.network.lma ??= { id: "LMA", prefix_pool: "2001:db8:100::/48" };
    box.append(html("h3", {}, `LMA ${id}`));
    box.append(field("Prefix pool", s.network.lma.prefix_pool, "scenario.network.lma.prefix_pool", (v) => {
      s.network.lma.prefix_pool = v;
      renderCanvas();
      changed();
    }));
  } else {
    box.append(html("p", { className: "lx-muted" }, `${id}: drag it to place it.`));
  }
}

function addNode(kind) {
  const s = sc();
  let id;
  if (kind === "mar") {
    id = nextId("MAR");
    s.network.mars.push({ id, prefix_pool: nextPool() });
  } else if (kind === "cn") {
    id = nextId("CN");
    const n = s.network.cns.length + 1;
    s.network.cns.push({ id, address: `2001:db8:ca5e::${n.toString(16)}` });
  } else {
    id = nextId("MN");
    s.mobile_nodes.push({ id, interfaces: ["if1"] });
  }
  select({ type: "node", id, kind });
  renderAll();
  changed();
}

function deleteSelected() {
  if (!selected) return;
  const s = sc();
  if (selected.type === "link") {
    s.network.links.splice(selected.index, 1);
  } else {
    const { id, kind } = selected;
    if (kind === "mar") s.network.mars = s.network.mars.filter((m) => m.id !== id);
    if (kind === "cn") s.network.cns = s.network.cns.filter((c) => c.id !== id);
    if (kind === "mn") s.mobile_nodes = s.mobile_nodes.filter((m) => m.id !== id);
    s.network.links = s.network.links.filter((l) => !l.between.includes(id));
    // Script entries about it go too; anything else that still names it is reported on validation.
    s.script = s.script.filter((e) => e.mn !== id && e.mar !== id && e.cn !== id);
    delete s.layout[id];
  }
  selected = null;
  renderAll();
  changed();
}

// ---- record mode and the script ----

/** The step recorded into, or null for the script. */
function recordStep() {
  const value = $("rec-target").value;
  return value === "script" ? null : Number(value);
}

function recordTime() {
  const k = recordStep();
  if (k !== null) return k === 0 ? 0 : Number(doc.steps[k - 1]?.until ?? 0); // a step's actions run where it begins
  const t = Number($("rec-t").value);
  return Number.isFinite(t) && t >= 0 ? t : 0;
}

/** What the engine is asked to run: the script to t, or the lesson to where the chosen step begins. */
function simulation(command) {
  const k = recordStep();
  const base = k === null ? { scenario: sc(), until: recordTime() } : { scenario: sc(), steps: doc.steps, step: k };
  return command ? { ...base, command } : base;
}

async function refreshSim() {
  const seq = ++simSeq;
  body.dataset.edSim = "busy";
  const { ok, reply } = await api(body.dataset.simulateUrl, "POST", simulation());
  if (seq !== simSeq) return;
  simState = ok ? reply.state : null;
  if (!ok) hint(`The network cannot run yet: ${(reply.problems ?? []).map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  renderCanvas();
  renderFlowControls();
  body.dataset.edSim = "idle";
}

async function recordAction(command) {
  const t = recordTime();
  const k = recordStep();
  body.dataset.edSim = "busy";
  const { ok, reply } = await api(body.dataset.simulateUrl, "POST", simulation(command));
  if (!ok) {
    hint(`Not recorded: ${(reply.problems ?? []).map((p) => p.message).join("; ")}`);
    body.dataset.edSim = "idle";
    return renderCanvas();
  }
  if (k === null) {
    sc().script.push({ at: t, ...command });
    hint(`Recorded at t = ${t} s: ${describe(command)}.`);
    renderScript();
  } else {
    doc.steps[k].actions ??= [];
    doc.steps[k].actions.push(command);
    hint(`Recorded into step ${k + 1} (runs when students reach it, t = ${t} s): ${describe(command)}.`);
    renderSteps();
  }
  changed();
}

function describe(e) {
  return describeCommand(e); // the engine's command catalogue wording (static/js/catalogue.js)
}

function renderScript() {
  const list = $("ed-script");
  list.replaceChildren();
  const order = sc().script.map((e, i) => [e, i]).sort((a, b) => a[0].at - b[0].at || a[1] - b[1]);
  for (const [entry, i] of order) {
    const li = html("li", { className: "ed-script-row", "data-path": `scenario.script[${i}]` });
    const at = html("input", { type: "number", value: entry.at, min: 0, step: 0.1, className: "ed-num", "data-path": `scenario.script[${i}].at`, "aria-label": "time (s)" });
    at.addEventListener("change", () => { entry.at = Number(at.value); renderScript(); changed(); });
    const text = html("span", { className: "ed-script-text" }, describe(entry));
    const remove = html("button", { type: "button", className: "lx-link", "aria-label": `remove: ${describe(entry)}` }, "remove");
    remove.addEventListener("click", () => { sc().script.splice(i, 1); renderScript(); changed(); });
    li.append("t = ", at, " s ", text, " ", remove);
    list.append(li);
  }
}

function options(select, values, keep = true) {
  const before = select.value;
  select.replaceChildren(...values.map((v) => html("option", { value: v }, v)));
  if (keep && values.includes(before)) select.value = before;
}

function renderFlowControls() {
  options($("flow-mn"), sc().mobile_nodes.map((m) => m.id));
  options($("flow-cn"), sc().network.cns.map((c) => c.id));
  options($("rec-iface"), sc().mobile_nodes.find((m) => m.id === $("flow-mn").value)?.interfaces ?? []);
  const target = $("rec-target");
  const before = target.value;
  target.replaceChildren(html("option", { value: "script" }, "the script, at t"),
    ...doc.steps.map((s, k) => html("option", { value: String(k) }, `step ${k + 1}, when reached`)));
  target.value = [...target.options].some((o) => o.value === before) ? before : "script";
  $("rec-t").disabled = target.value !== "script";
  if (target.value !== "script") $("rec-t").value = String(recordTime());
}

/** The interface a drag or a flow button acts on: the one chosen, if the mobile node has it, else its first. */
function chosenInterface(mn) {
  const wanted = $("rec-iface").value;
  return mn.interfaces.includes(wanted) && $("flow-mn").value === mn.id ? wanted : mn.interfaces[0];
}

function nextFlowId() {
  const used = new Set(flowIds());
  for (let n = 1; ; n++) if (!used.has(`flow${n}`)) return `flow${n}`;
}

function flowIds() {
  const all = [...sc().script, ...doc.steps.flatMap((s) => s.actions ?? [])];
  return [...new Set(all.filter((e) => e.flow).map((e) => e.flow))];
}

// ---- steps ----

function control(tag, attrs, value, onChange) {
  const el = html(tag, attrs);
  el.value = value ?? "";
  el.addEventListener("change", () => onChange(el.value, el));
  return el;
}

function labelled(text, el, className = "ed-field") {
  const wrap = html("label", { className }, `${text} `);
  wrap.append(el);
  return wrap;
}

function paramValues(param, checkpoint) {
  const s = sc();
  if (param === "mn") return s.mobile_nodes.map((m) => m.id);
  if (param === "flow") return flowIds();
  if (param === "node") return [...s.network.mars.map((m) => m.id), ...(mode() === "centralized-pmipv6" ? [s.network.lma?.id ?? "LMA"] : [])];
  if (param === "interface") return s.mobile_nodes.find((m) => m.id === checkpoint.mn)?.interfaces ?? [];
  return [];
}

function renderSteps() {
  if (doc.steps.length && $("rec-target").options.length !== doc.steps.length + 1) renderFlowControls();
  const list = $("ed-steps");
  list.replaceChildren();
  doc.steps.forEach((step, k) => {
    const li = html("li", { className: "ed-step", "data-path": `steps[${k}]`, dataset: { step: k } });
    const head = html("div", { className: "ed-step-head" });
    head.append(labelled("Title", control("input", { type: "text", "data-path": `steps[${k}].title`, className: "ed-step-title" }, step.title, (v) => { step.title = v; changed({ sim: false }); })));
    head.append(labelled("opens at t =", control("input", { type: "number", min: 0, step: 0.5, className: "ed-num ed-start", placeholder: "prev.", title: "Where students find the simulation, paused, when the step opens (empty: where the previous step paused). Or click a message below.", "data-path": `steps[${k}].start` }, step.start ?? "", (v) => { step.start = v === "" ? null : Number(v); changed({ sim: false }); })));
    head.append(labelled("pauses at t =", control("input", { type: "number", min: 0, step: 0.5, className: "ed-num ed-until", "data-path": `steps[${k}].until` }, step.until, (v) => { step.until = Number(v); changed({ sim: false }); })));
    const tools = html("span", { className: "ed-step-tools" });
    for (const [label, fn, disabled] of [["↑", () => swap(k, k - 1), k === 0], ["↓", () => swap(k, k + 1), k === doc.steps.length - 1], ["remove", () => { doc.steps.splice(k, 1); renderSteps(); changed({ sim: false }); }, false]]) {
      const b = html("button", { type: "button", className: "lx-link", "aria-label": `${label} step ${k + 1}` }, label);
      b.disabled = disabled;
      b.addEventListener("click", fn);
      tools.append(b, " ");
    }
    head.append(tools);
    li.append(head);
    li.append(labelled("Narrative (Markdown)", control("textarea", { rows: 3, "data-path": `steps[${k}].text`, className: "ed-step-text" }, step.text, (v) => { step.text = v; changed({ sim: false }); }), "ed-block"));
    li.append(labelled("Highlight (node ids, message kinds)", control("input", { type: "text", size: 30, className: "ed-highlight", "data-path": `steps[${k}].highlight`, placeholder: "MAR2 PBU PBA" }, (step.highlight ?? []).join(" "), (v) => { step.highlight = v.split(/[\s,]+/).filter(Boolean); changed({ sim: false }); }), "ed-block"));
    li.append(momentPicker(step, k));
    if ((step.actions ?? []).length) {
      const acts = html("ul", { className: "ed-actions", "data-path": `steps[${k}].actions` });
      step.actions.forEach((a, j) => {
        const item = html("li", { "data-path": `steps[${k}].actions[${j}]` }, `When reached: ${describe(a)} `);
        const rm = html("button", { type: "button", className: "lx-link" }, "remove");
        rm.addEventListener("click", () => { step.actions.splice(j, 1); renderSteps(); changed({ sim: false }); });
        item.append(rm);
        acts.append(item);
      });
      li.append(acts);
    }
    li.append(checkpointEditor(step, k));
    list.append(li);
  });
  showAnswers();
}

// "Pause before this": the messages of the step (from the validator's moments); clicking one makes the step open
// just before it is sent and highlights its kind, so Play shows it happen (issue 12: steps play into their moment).
function momentPicker(step, k) {
  const box = html("details", { className: "ed-moments", id: `ed-moments-${k}` });
  box.append(html("summary", {}, "Messages in this step: click one to open the step just before it"));
  box.append(html("ol", { className: "ed-msgs" }));
  fillMoments(box, step, k);
  return box;
}

function fillMoments(box, step, k) {
  const list = box.querySelector("ol");
  list.replaceChildren();
  const messages = moments[k]?.messages ?? [];
  if (!messages.length) list.append(html("li", { className: "ed-muted" }, moments.length ? "No signalling in this step." : "Shown once the lesson is valid."));
  for (const m of messages) {
    const chosen = step.start !== null && step.start !== undefined && Math.abs(Number(step.start) - m.t) < 1e-9;
    const b = html("button", { type: "button", className: "lx-link ed-msg", dataset: { t: m.t, kind: m.kind } },
      `t = ${m.t.toFixed(3)} ${m.src} → ${m.dst} ${m.kind}`);
    b.title = "Pause before this: the step opens just before this message";
    b.setAttribute("aria-pressed", String(chosen));
    b.addEventListener("click", () => {
      step.start = m.t;
      step.highlight = [...new Set([...(step.highlight ?? []), m.kind])];
      renderSteps();
      changed({ sim: false });
      body.dataset.edMoment = `${k}:${m.t}`;
    });
    const item = html("li");
    item.append(b);
    list.append(item);
  }
}

function checkpointEditor(step, k) {
  const box = html("fieldset", { className: "ed-checkpoint" });
  box.append(html("legend", {}, "Checkpoint"));
  const kindSelect = html("select", { "data-path": `steps[${k}].checkpoint.kind`, className: "ed-kind" });
  kindSelect.append(html("option", { value: "" }, "none"));
  for (const kind of kinds) kindSelect.append(html("option", { value: kind.kind }, kind.label));
  kindSelect.value = step.checkpoint?.kind ?? "";
  kindSelect.addEventListener("change", () => {
    step.checkpoint = kindSelect.value ? { kind: kindSelect.value } : null;
    const kind = kinds.find((x) => x.kind === kindSelect.value);
    for (const p of kind?.required ?? []) {
      const values = paramValues(p, step.checkpoint);
      if (values.length) step.checkpoint[p] = values[0];
    }
    renderSteps();
    changed({ sim: false });
  });
  box.append(labelled("Ask", kindSelect));
  const cp = step.checkpoint;
  const kind = kinds.find((x) => x.kind === cp?.kind);
  if (cp && kind) {
    for (const p of [...kind.required, ...kind.optional]) {
      const sel = html("select", { "data-path": `steps[${k}].checkpoint.${p}`, className: `ed-param ed-param-${p}` });
      if (!kind.required.includes(p)) sel.append(html("option", { value: "" }, "(the only one)"));
      const values = paramValues(p, cp);
      if (cp[p] && !values.includes(cp[p])) values.push(cp[p]);
      for (const v of values) sel.append(html("option", { value: v }, v));
      sel.value = cp[p] ?? "";
      sel.addEventListener("change", () => {
        if (sel.value) cp[p] = sel.value;
        else delete cp[p];
        if (p === "mn") renderSteps();
        changed({ sim: false });
      });
      box.append(labelled(p, sel));
    }
    box.append(labelled("Own wording (optional)", control("input", { type: "text", "data-path": `steps[${k}].checkpoint.question`, size: 36 }, cp.question, (v) => { if (v) cp.question = v; else delete cp.question; changed({ sim: false }); })));
    for (const which of ["correct", "incorrect"]) {
      const area = control("textarea", { rows: 1, "data-path": `steps[${k}].checkpoint.feedback.${which}` }, cp.feedback?.[which], (v) => {
        cp.feedback ??= {};
        if (v) cp.feedback[which] = v;
        else delete cp.feedback[which];
        if (!Object.keys(cp.feedback).length) delete cp.feedback;
        changed({ sim: false });
      });
      box.append(labelled(`Feedback when ${which === "correct" ? "right" : "wrong"}`, area, "ed-block"));
    }
    box.append(html("p", { className: "ed-answer", id: `ed-answer-${k}` }));
  }
  return box;
}

function showAnswers() {
  doc.steps.forEach((step, k) => {
    const el = $(`ed-answer-${k}`);
    if (!el) return;
    const q = moments[k]?.question;
    el.textContent = q ? `Students are asked: “${q.prompt}” The engine's answer at t = ${moments[k].t} s: ${q.answer}` : "The engine's answer appears here once the lesson is valid.";
  });
  doc.steps.forEach((step, k) => {
    const box = $(`ed-moments-${k}`);
    if (box) fillMoments(box, step, k);
  });
}

function swap(a, b) {
  [doc.steps[a], doc.steps[b]] = [doc.steps[b], doc.steps[a]];
  renderSteps();
  changed({ sim: false });
}

function addStep() {
  const last = doc.steps.at(-1);
  doc.steps.push({ title: `Step ${doc.steps.length + 1}`, text: "", actions: [], start: null, until: (last ? Number(last.until) : 0) + 2, checkpoint: null, highlight: [] });
  renderSteps();
  changed({ sim: false });
  document.querySelector(`#ed-steps li[data-step="${doc.steps.length - 1}"] .ed-step-title`)?.focus();
}

// ---- saving ----

async function save() {
  body.dataset.edStatus = "saving";
  $("ed-saved").textContent = "saving…";
  const { ok, reply } = await api(body.dataset.apiUrl, "PUT", { ...doc, status: $("ed-status").value });
  if (ok) {
    if (reply.slug && reply.slug !== slug) followSlug(reply.slug);
    doc = reply.lesson;
    normalise();
    status = reply.status;
    moments = reply.moments;
    showProblems([]);
    renderAll();
    $("ed-saved").textContent = `saved${status === "published" ? ", published" : ""}`;
    body.dataset.edStatus = "saved";
  } else {
    showProblems(reply.problems ?? []);
    $("ed-saved").textContent = `not saved: ${(reply.problems ?? []).length} problem(s), each shown at its field`;
    body.dataset.edStatus = "invalid";
  }
}

/** A new lesson's first real title gave it its own slug: the page's address, API and links follow it. */
function followSlug(next) {
  const swap = (url) => url.replace(`/${slug}/`, `/${next}/`);
  body.dataset.apiUrl = swap(body.dataset.apiUrl);
  body.dataset.detailUrl = swap(body.dataset.detailUrl);
  for (const a of document.querySelectorAll(`a[href*="/${slug}/"]`)) a.setAttribute("href", swap(a.getAttribute("href")));
  history.replaceState(history.state, "", swap(location.pathname) + location.search + location.hash);
  slug = next;
}

function renderAll() {
  $("ed-title").value = doc.title;
  $("ed-summary").value = doc.summary ?? "";
  $("ed-mode").value = mode();
  $("ed-status").value = status;
  renderCanvas();
  renderProps();
  renderScript();
  renderFlowControls();
  renderSteps();
}

// ---- wiring ----

$("ed-title").addEventListener("change", () => {
  // The scenario's title is what the visualiser shows: it follows the lesson's until the author sets it apart.
  if (!sc().title || sc().title === doc.title || sc().title === "New lesson") sc().title = $("ed-title").value;
  doc.title = $("ed-title").value;
  changed({ sim: false });
});
$("ed-summary").addEventListener("change", () => { doc.summary = $("ed-summary").value; changed({ sim: false }); });
$("ed-mode").addEventListener("change", () => { sc().mode = $("ed-mode").value; renderAll(); changed(); });
$("ed-status").addEventListener("change", () => changed({ sim: false }));
$("add-mar").addEventListener("click", () => addNode("mar"));
$("add-cn").addEventListener("click", () => addNode("cn"));
$("add-mn").addEventListener("click", () => addNode("mn"));
$("tool-link").addEventListener("click", () => setLinkTool(!linkTool));
$("delete-selected").addEventListener("click", deleteSelected);
$("rec-toggle").addEventListener("click", () => {
  record = !record;
  $("rec-toggle").setAttribute("aria-pressed", String(record));
  body.dataset.edRecord = String(record);
  hint(record ? "Recording: drag a mobile node onto a MAR, or use the flow buttons; each becomes a script entry at t." : "Record is off.");
});
$("rec-t").addEventListener("change", refreshSim);
$("rec-target").addEventListener("change", () => { renderFlowControls(); refreshSim(); });
$("flow-mn").addEventListener("change", renderFlowControls);
$("flow-move").addEventListener("click", async () => {
  if (!record) return hint("Turn Record on first.");
  const mn = sc().mobile_nodes.find((m) => m.id === $("flow-mn").value);
  const flow = $("flow-id").value.trim();
  if (!mn || !flow) return hint("Choose the mobile node, its interface and the flow.");
  await recordAction({ action: "move_flow", mn: mn.id, flow, interface: chosenInterface(mn) });
});
for (const b of document.querySelectorAll(".rec-plus")) {
  b.addEventListener("click", () => {
    $("rec-t").value = String(Math.round((recordTime() + Number(b.dataset.dt)) * 1000) / 1000);
    refreshSim();
  });
}
$("flow-start").addEventListener("click", async () => {
  if (!record) return hint("Turn Record on first: the flow then starts at t in the script.");
  const flow = $("flow-id").value.trim() || nextFlowId();
  const mn = sc().mobile_nodes.find((m) => m.id === $("flow-mn").value);
  const command = { action: "start_flow", mn: mn.id, flow, cn: $("flow-cn").value };
  if (mn.interfaces.length > 1) command.interface = chosenInterface(mn);
  await recordAction(command);
  $("flow-id").value = nextFlowId();
});
$("flow-stop").addEventListener("click", async () => {
  if (!record) return hint("Turn Record on first: the flow then stops at t in the script.");
  const mn = $("flow-mn").value;
  const active = (simState?.mns?.[mn]?.flows ?? []).filter((f) => f.active).map((f) => f.id);
  const flow = active.includes($("flow-id").value.trim()) ? $("flow-id").value.trim() : active.at(-1);
  if (!flow) return hint(`${mn} has no active flow at t = ${recordTime()} s.`);
  await recordAction({ action: "stop_flow", mn, flow });
});
// ---- faults (issue 13; H-faultui): script a drop / loss / fail / recover at t, like the flow buttons ----
{
  const row = html("div", { className: "ed-flow ed-fault", role: "group", "aria-label": "script a fault" });
  const pick = (label, el) => { const l = html("label", {}, `${label} `); l.append(el); row.append(l, " "); return el; };
  const action = pick("fault", html("select", { id: "fault-action" }));
  action.append(...["drop", "loss", "fail", "recover"].map((a) => html("option", { value: a }, a)));
  const node = pick("node", html("select", { id: "fault-node" }));
  const kind = pick("message", html("select", { id: "fault-kind" }));
  kind.append(...MESSAGE_KINDS.map((k) => html("option", { value: k }, k)));
  const rate = pick("rate", html("input", { type: "number", id: "fault-rate", min: 0, max: 1, step: 0.05, value: 0.5, className: "ed-num" }));
  const add = row.appendChild(html("button", { type: "button", id: "fault-add" }, "Script fault"));
  $("ed-flow").after(row);
  const nodes = () => {
    const net = sc().network;
    const extra = mode() === "centralized-pmipv6" ? [net.lma?.id ?? "LMA"] : mode() === "network-dmm" ? [net.session_db?.id ?? "DB"] : [];
    return [...net.mars.map((m) => m.id), ...extra, ...net.cns.map((c) => c.id)];
  };
  const show = () => {
    if (doc) options(node, nodes()); // the lesson is loaded after this block runs
    node.disabled = action.value === "drop"; // a drop names a message kind (from anywhere), not a node
    kind.disabled = action.value !== "drop";
    rate.disabled = action.value !== "loss";
  };
  action.addEventListener("change", show);
  node.addEventListener("focus", show);
  row.addEventListener("pointerenter", show);
  add.addEventListener("click", async () => {
    if (!record) return hint("Turn Record on first: the fault then happens at t in the script.");
    show();
    const a = action.value;
    const command = a === "drop" ? { action: a, kind: kind.value, count: 1 } : a === "loss" ? { action: a, node: node.value, rate: Number(rate.value) } : { action: a, node: node.value };
    await recordAction(command);
  });
  show();
}
$("add-step").addEventListener("click", addStep);
$("ed-save").addEventListener("click", save);
window.addEventListener("beforeunload", (e) => {
  if (body.dataset.edStatus === "dirty") e.preventDefault();
});

const [{ reply: loaded }, { reply: kindList }] = await Promise.all([api(body.dataset.apiUrl), api(body.dataset.kindsUrl)]);
doc = loaded.lesson;
status = loaded.status;
slug = loaded.slug;
moments = loaded.moments ?? [];
kinds = kindList.kinds;
normalise();
renderAll();
$("flow-id").value = nextFlowId();
await refreshSim();
body.dataset.edStatus = "ready";
