// Where nodes go: pure functions of the scenario (and, for mobile nodes, of the state). No DOM here.
//
// The rule (also in docs/visualiser.md):
// - Positions from the scenario's optional `layout` key, {"NODE": [x, y]}, win; x to the right, y down, in drawing
//   units (the view scales to fit). Nodes not listed are placed automatically:
// - CNs on the top row, spread evenly; the IP core in the middle below them; the session DB to the core's left and
//   the LMA (centralised mode) to its right. When `layout` places nodes, the IP core (not a node of the scenario)
//   goes halfway between the correspondent nodes and the MARs, at the middle of them all.
// - MARs on one row below the core (up to 8), on a shallow arc so that a direct link between two MARs never passes
//   behind a third; more than 8 MARs form a grid of rows of up to 10.
// - A mobile node sits under the MAR its interface is attached to (under the middle of its MARs when its interfaces
//   are attached to several); several MNs under one MAR stand side by side, wrapping into rows. A mobile node with no
//   interface attached waits in the "not attached" area at the bottom.

export const CORE = "core";

const MAR_ROW_Y = 300;
const CN_Y = 50;
const CORE_Y = 165;
const MN_DY = 104; // from a MAR's centre to the first row of its mobile nodes
const MN_SLOT_W = 76;
const MN_SLOT_H = 56;
const ARC = 100; // how much lower the middle MARs of a single row sit
const ZIGZAG = 200; // with 5 to 8 MARs, how much lower every other one sits ...
const ZIGZAG_CELL = 115; // ... and how far apart in x neighbours are

/** Spread n items over [0, width]: centres of n equal cells. */
function spread(n, width, offset = 0) {
  return Array.from({ length: n }, (_, i) => offset + (width * (i + 0.5)) / n);
}

/**
 * Fixed positions of the network's nodes.
 * @param {object} scenario the "dmmviz-scenario/1" document
 * @param {string} mode the effective mode ("network-dmm", "client-dmm", "centralized-pmipv6")
 * @returns {{nodes: Map<string, {id, type, x, y, label, sub}>, width: number, marCell: number, mnRows: number}}
 */
export function layoutNetwork(scenario, mode) {
  const net = scenario.network ?? {};
  const mars = net.mars ?? [];
  const cns = net.cns ?? [];
  const given = scenario.layout ?? {};
  const nodes = new Map();

  const rows = mars.length > 8 ? Math.ceil(mars.length / 10) : 1;
  const cols = Math.max(1, Math.ceil(mars.length / rows));
  // 5 to 8 MARs: one zig-zag row (every other MAR ZIGZAG lower), so neighbours are close in x but the boxes and
  // their text can still be drawn large enough to read at 1280×720 (topology.js k).
  const zigzag = mars.length >= 5 && mars.length <= 8;
  const width = zigzag ? Math.max(640, (mars.length + 1) * ZIGZAG_CELL) : Math.max(640, cols * (mars.length > 8 ? 130 : mars.length > 4 ? 200 : 260));
  const marCell = zigzag ? ZIGZAG_CELL : width / cols;
  // Mobile nodes per MAR cell, so rows of MARs leave room for the MNs under them.
  const mnCount = (scenario.mobile_nodes ?? []).length;
  const perCell = Math.max(1, Math.floor(marCell / MN_SLOT_W));
  const mnRows = Math.max(1, Math.min(4, Math.ceil(mnCount / Math.max(1, mars.length) / perCell) + (mnCount > mars.length ? 1 : 0)));
  const rowH = 70 + MN_DY + mnRows * MN_SLOT_H;

  const place = (id, type, x, y, extra = {}) => {
    const pos = Array.isArray(given[id]) && given[id].length === 2 ? given[id] : [x, y];
    nodes.set(id, { id, type, x: Number(pos[0]), y: Number(pos[1]), ...extra });
  };

  spread(cns.length, width).forEach((x, i) => place(cns[i].id, "cn", x, CN_Y, { sub: cns[i].address ?? "" }));
  place(CORE, "core", width / 2, CORE_Y, { label: "IP core" });
  if (mode === "network-dmm") {
    const db = net.session_db?.id ?? "DB";
    place(db, "db", Math.max(70, width / 2 - 250), CORE_Y, { label: db, sub: "session DB" });
  }
  if (mode === "centralized-pmipv6") {
    const lma = net.lma ?? { id: "LMA", prefix_pool: "" };
    place(lma.id, "lma", Math.min(width - 70, width / 2 + 250), CORE_Y, { sub: lma.prefix_pool ?? "" });
  }
  mars.forEach((mar, i) => {
    const row = Math.floor(i / cols);
    const col = i % cols;
    const inRow = Math.min(cols, mars.length - row * cols);
    const x = spread(inRow, width)[col];
    let y = MAR_ROW_Y + row * rowH;
    if (zigzag) y += 40 + (col % 2 ? ZIGZAG : 0); // a little lower: room for the role tags under the core
    else if (rows === 1 && inRow >= 3) {
      const u = (2 * (col + 0.5)) / inRow - 1; // -1 .. 1 across the row
      y += ARC * (1 - u * u);
    }
    place(mar.id, "mar", x, y, { sub: mar.prefix_pool ?? "" });
  });
  if (Object.keys(given).length && !Array.isArray(given[CORE])) {
    // The core between the CNs and the MARs wherever the scenario put them (unless it placed the core too).
    const ends = [...nodes.values()].filter((n) => n.type === "cn" || n.type === "mar");
    const mean = (list, k) => list.reduce((sum, n) => sum + n[k], 0) / list.length;
    const cnsAt = ends.filter((n) => n.type === "cn"), marsAt = ends.filter((n) => n.type === "mar");
    if (cnsAt.length && marsAt.length) {
      const core = nodes.get(CORE);
      core.x = mean(ends, "x");
      core.y = (mean(cnsAt, "y") + mean(marsAt, "y")) / 2;
    }
  }
  return { nodes, width, marCell, mnRows };
}

/**
 * Positions of the mobile nodes for the current attachments.
 * @param {object} scenario
 * @param {object|null} state the "dmmviz-state/1" snapshot (null before the first one: everything unattached)
 * @param {{nodes: Map, width: number, marCell: number}} net from layoutNetwork
 * @param {number} k how many times larger than drawn the mobile nodes are shown (their slots widen with them)
 * @returns {Map<string, {x, y, interfaces: Map<string, {x, y, mar: string|null}>}>}
 */
export function layoutMobileNodes(scenario, state, net, k = 1) {
  const slotW = MN_SLOT_W * k; // side by side: as far apart as the bodies are drawn wide (topology.js k)
  const result = new Map();
  const mns = scenario.mobile_nodes ?? [];
  const groups = new Map(); // key (a MAR id, or several joined) -> MN ids, to give each a slot
  const parked = [];
  const info = new Map();
  for (const mn of mns) {
    const names = mn.interfaces ?? ["if1"];
    const attached = state?.mns?.[mn.id]?.interfaces ?? {};
    const mars = [...new Set(names.map((n) => attached[n]).filter((m) => m && net.nodes.has(m)))].sort();
    info.set(mn.id, { names, attached, mars });
    if (mars.length === 0) {
      parked.push(mn.id);
      continue;
    }
    const key = mars.join("+");
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(mn.id);
  }
  const perRow = Math.max(1, Math.floor(net.marCell / slotW));
  for (const [key, ids] of groups) {
    const marNodes = key.split("+").map((m) => net.nodes.get(m));
    const cx = marNodes.reduce((s, n) => s + n.x, 0) / marNodes.length;
    const baseY = Math.max(...marNodes.map((n) => n.y)) + MN_DY + (marNodes.length > 1 ? 16 : 0);
    ids.forEach((id, k) => {
      const row = Math.floor(k / perRow);
      const inRow = Math.min(perRow, ids.length - row * perRow);
      const col = k % perRow;
      result.set(id, { x: cx + (col - (inRow - 1) / 2) * slotW, y: baseY + row * MN_SLOT_H });
    });
  }
  const bottom = parkingY(net);
  parked.forEach((id, n) => {
    const given = scenario.layout?.[id];
    const pos = Array.isArray(given) && given.length === 2 ? { x: given[0], y: given[1] } : { x: net.width - 40 - n * slotW, y: bottom };
    result.set(id, pos);
  });
  // Interface handles along the top edge of the body, so the access link leaves towards the MAR.
  for (const [id, pos] of result) {
    const { names, attached } = info.get(id);
    const ifaces = new Map();
    names.forEach((name, i) => {
      const dx = names.length === 1 ? 0 : (i - (names.length - 1) / 2) * 24;
      ifaces.set(name, { x: pos.x + dx, y: pos.y - 15, mar: attached[name] ?? null });
    });
    pos.interfaces = ifaces;
  }
  return result;
}

/** y of the "not attached" area: below every MAR and the MNs under it. */
export function parkingY(net) {
  let maxY = 0;
  for (const n of net.nodes.values()) if (n.type === "mar") maxY = Math.max(maxY, n.y);
  return maxY + MN_DY + net.mnRows * MN_SLOT_H + 10;
}

/** The drawing's bounds (for the viewBox): every fixed node, the room for MNs, and the parking row. */
export function bounds(net) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const n of net.nodes.values()) {
    minX = Math.min(minX, n.x - 115); // a node may be drawn up to 1.7 times larger (topology.js k)
    maxX = Math.max(maxX, n.x + 115);
    minY = Math.min(minY, n.y - 45);
    maxY = Math.max(maxY, n.y + 45);
  }
  maxY = Math.max(maxY, parkingY(net) + 30);
  minX = Math.min(minX, 0);
  maxX = Math.max(maxX, net.width + 30); // room for a parked mobile node drawn larger (topology.js k)
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}
