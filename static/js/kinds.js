// What each event kind looks like and how it reads: one table used by the animation, the legend, the filters,
// the event log and the message details. Kinds are told apart by colour AND by shape and label, never colour alone
// (Okabe-Ito colours, which stay distinct for the common colour-vision deficiencies).
import { isMessage as isMessageKind } from "./catalogue.js";

/** Filter groups, in legend order. `shape` is drawn by animation.js; `kinds` are the wire kinds in the group. */
export const GROUPS = [
  { id: "ndp", label: "RS / RA", note: "router solicitation / advertisement (access link)", shape: "pill", fill: "#0072B2", ink: "#ffffff", kinds: ["RS", "RA"] },
  { id: "db", label: "DBQ / DBR / DBU", note: "session DB query / reply / update", shape: "hex", fill: "#CC79A7", ink: "#000000", kinds: ["DB_QUERY", "DB_REPLY", "DB_UPDATE"] },
  { id: "pmip", label: "PBU / PBA", note: "proxy binding update / ack (MAR to anchor)", shape: "rect", fill: "#E69F00", ink: "#000000", kinds: ["PBU", "PBA"] },
  { id: "mip", label: "BU / BA", note: "binding update / ack sent by the MN (client-based)", shape: "para", fill: "#56B4E9", ink: "#000000", kinds: ["BU", "BA"] },
  { id: "data", label: "data", note: "data packet routed natively", shape: "dot", fill: "#009E73", ink: "#000000", kinds: ["DATA"] },
  { id: "tunnel", label: "tunnelled data", note: "data packet inside the anchor's tunnel (IPv6 in IPv6)", shape: "envelope", fill: "#009E73", ink: "#000000", kinds: ["DATA+"] },
  { id: "drop", label: "dropped", note: "a packet lost during a handover", shape: "cross", fill: "#D55E00", ink: "#ffffff", kinds: ["drop"] },
  { id: "state", label: "table changes", note: "state events (log only)", shape: null, fill: "#6b6b6b", ink: "#ffffff", kinds: [] },
  { id: "action", label: "actions", note: "script and user actions (log only)", shape: null, fill: "#222222", ink: "#ffffff", kinds: ["action"] },
];

const GROUP_BY_ID = new Map(GROUPS.map((g) => [g.id, g]));

/** Short label drawn on a moving message. */
const LABELS = { RS: "RS", RA: "RA", DB_QUERY: "DBQ", DB_REPLY: "DBR", DB_UPDATE: "DBU", PBU: "PBU", PBA: "PBA", BU: "BU", BA: "BA" };

/** Short tags for the log's kind column (state events have long names). */
const TAGS = {
  DB_QUERY: "DBQ", DB_REPLY: "DBR", DB_UPDATE: "DBU", l2_attach: "L2 up", l2_detach: "L2 down", hnp_allocated: "HNP +",
  hnp_released: "HNP −", db_entry_added: "DB +", db_entry_removed: "DB −", binding_created: "BC +", binding_updated: "BC ~",
  binding_deleted: "BC −", bul_added: "BUL +", bul_removed: "BUL −", tunnel_up: "tunnel +", tunnel_down: "tunnel −",
  prefixes_changed: "prefixes", flow_started: "flow +", flow_stopped: "flow −", flow_moved: "flow →", drop: "DROP",
  action_rejected: "skipped",
};

/** The tag shown in the log's kind column. */
export function tag(ev) {
  if (ev.kind === "DATA") return ev.encapsulated ? "DATA ⊂" : "DATA";
  return TAGS[ev.kind] ?? ev.kind;
}

/** True for message events (they travel from src to dst): the engine's event catalogue says which kinds. */
export function isMessage(ev) {
  return isMessageKind(ev.kind);
}

/** The filter group of any event. */
export function groupOf(ev) {
  if (ev.kind === "DATA") return GROUP_BY_ID.get(ev.encapsulated ? "tunnel" : "data");
  if (ev.kind === "drop") return GROUP_BY_ID.get("drop");
  if (ev.kind === "action" || ev.kind === "action_rejected") return GROUP_BY_ID.get("action");
  for (const g of GROUPS) if (g.kinds.includes(ev.kind)) return g;
  return GROUP_BY_ID.get("state");
}

/** The label drawn on a message in flight. */
export function messageLabel(ev) {
  if (ev.kind === "DATA") return ev.flow ?? "data";
  if (ev.kind === "DB_UPDATE" && ev.op === "remove") return "DBU−";
  return LABELS[ev.kind] ?? ev.kind;
}

const HANDOFF = {
  1: "attachment over a new interface", 2: "handoff between two interfaces", 3: "handoff between MAGs, same interface",
  4: "unknown", 5: "handoff state not changed",
};
const ATT = { 1: "virtual", 2: "PPP", 3: "IEEE 802.3", 4: "IEEE 802.11a/b/g", 5: "IEEE 802.16e" };
const FLAG_NAMES = { A: "acknowledge", H: "home registration", P: "proxy registration", L: "link-local compat.", K: "key mgmt", M: "MAP", R: "mobile router" };

function statusText(status) {
  if (status === 0) return "0 (accepted)";
  if (status === undefined || status === null) return "";
  return `${status} (rejected)`;
}

function prefixList(list) {
  return (list ?? []).join(", ");
}

function entriesText(entries) {
  return (entries ?? []).map((e) => `${e.hnp} @ ${e.anchor}`).join(", ");
}

/** One readable line for the event log. */
export function summary(ev) {
  const who = ev.src !== undefined ? `${ev.src} → ${ev.dst}` : (ev.node ?? "");
  switch (ev.kind) {
    case "RS":
      return `${who}  RS on ${ev.interface ?? ""}`;
    case "RA": {
      const pfx = ev.prefixes ?? [];
      const dep = pfx.filter((p) => p.preferred_lifetime === 0).length;
      return `${who}  RA ${pfx.map((p) => p.prefix).join(", ")}${dep ? ` (${dep} deprecated)` : ""}`;
    }
    case "DB_QUERY":
      return `${who}  query: sessions of ${ev.mn}?`;
    case "DB_REPLY":
      return `${who}  reply: ${entriesText(ev.entries) || "no sessions"}`;
    case "DB_UPDATE":
      return `${who}  ${ev.op ?? "update"} ${entriesText(ev.entries)}`;
    case "PBU":
    case "BU":
      return `${who}  ${ev.kind} ${prefixList(ev.hnps)} seq ${ev.sequence} lifetime ${ev.lifetime}${ev.lifetime === 0 ? " (de-registration)" : ""}`;
    case "PBA":
    case "BA":
      return `${who}  ${ev.kind} status ${statusText(ev.status)} seq ${ev.sequence}`;
    case "DATA":
      return `${who}  ${ev.flow} ${ev.direction === "down" ? "↓" : "↑"} #${ev.packet ?? ""}${ev.encapsulated ? " in tunnel" : ""}${ev.arrive === null ? " (lost)" : ""}`;
    case "drop":
      return `${ev.node} drops ${ev.flow ?? ev.msg_kind ?? "a packet"}: ${ev.reason ?? ""}`;
    case "action": {
      const parts = ["mn", "interface", "flow", "cn", "mar"].filter((k) => ev[k] !== undefined).map((k) => `${ev[k]}`);
      return `${ev.source ?? ""} ${ev.action} ${parts.join(" ")}`;
    }
    case "action_rejected":
      return `script ${ev.action} of ${ev.node} skipped: ${ev.message ?? ""}`;
    case "l2_attach":
      return `${ev.mn}.${ev.interface} attaches to ${ev.node}`;
    case "l2_detach":
      return `${ev.mn}.${ev.interface} leaves ${ev.node}`;
    case "hnp_allocated":
      return `${ev.node} allocates ${ev.hnp} to ${ev.mn}`;
    case "hnp_released":
      return `${ev.node} releases ${ev.hnp} of ${ev.mn}`;
    case "db_entry_added":
      return `${ev.node}: ${ev.mn} ${ev.hnp} anchored at ${ev.anchor}`;
    case "db_entry_removed":
      return `${ev.node}: removed ${ev.mn} ${ev.hnp}`;
    case "binding_created":
    case "binding_updated":
      return `${ev.node} binding ${ev.mn} ${ev.hnp} → ${ev.serving}${ev.flow ? ` (${ev.flow})` : ""}`;
    case "binding_deleted":
      return `${ev.node} deletes binding ${ev.mn} ${ev.hnp}`;
    case "bul_added":
      return `${ev.node} BUL: ${ev.mn} ${ev.hnp} anchored at ${ev.anchor}`;
    case "bul_removed":
      return `${ev.node} BUL: removed ${ev.mn} ${ev.hnp}`;
    case "tunnel_up":
      return `tunnel ${ev.node} ⇄ ${ev.peer} up${ev.hnps ? ` for ${prefixList(ev.hnps)}` : ""}`;
    case "tunnel_down":
      return `tunnel ${ev.node} ⇄ ${ev.peer} down`;
    case "prefixes_changed":
      return `${ev.mn}.${ev.interface} prefixes: ${(ev.prefixes ?? []).map((p) => `${p.prefix}${p.deprecated ? " (deprecated)" : ""}`).join(", ")}`;
    case "flow_started":
      return `${ev.mn} starts ${ev.flow} to ${ev.cn} from ${ev.prefix ?? "?"}`;
    case "flow_stopped":
      return `${ev.mn} stops ${ev.flow}`;
    case "flow_moved":
      return `${ev.mn} moves ${ev.flow} to ${ev.interface}`;
    default:
      return `${who}  ${ev.kind}`;
  }
}

/** Human explanations shown beside raw field values in the message details. */
export function explain(key, value) {
  if (key === "flags" && typeof value === "string") {
    return [...value].map((f) => `${f} = ${FLAG_NAMES[f] ?? "?"}`).join(", ");
  }
  if (key === "status") return statusText(value);
  if (key === "handoff_indicator") return HANDOFF[value] ?? "";
  if (key === "att") return ATT[value] ?? "";
  if (key === "lifetime" && value === 0) return "de-registration";
  if (key === "arrive" && value === null) return "never arrived (lost)";
  if (key === "preferred_lifetime" && value === 0) return "deprecated";
  return "";
}

/** Format a field value for the details table (arrays of objects become one line per item). */
export function formatValue(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) {
    return value.map((item) => (item && typeof item === "object" ? Object.entries(item).map(([k, v]) => `${k}: ${formatScalar(k, v)}`).join(", ") : String(item))).join("\n");
  }
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${formatScalar(k, v)}`).join(", ");
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

function formatScalar(key, v) {
  const note = explain(key, v);
  const text = typeof v === "number" ? formatNumber(v) : String(v);
  return note ? `${text} (${note})` : text;
}

function formatNumber(n) {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6)));
}

/** Simulated time as text: seconds with millisecond precision. */
export function formatTime(t) {
  if (t === null || t === undefined) return "–";
  return `${t.toFixed(3)} s`;
}
