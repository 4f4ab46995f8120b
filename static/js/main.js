// Wiring only: the socket feeds the views; the frame loop moves the clock and redraws what moves.
// The page keeps no protocol state: every table and tunnel comes from the server's latest state.

import { Socket } from "./socket.js";
import { TopologyView } from "./topology.js";
import { MessageLayer } from "./animation.js";
import { Player, SPEEDS } from "./player.js";
import { SessionDbPanel, MarPanel, MnPanel } from "./tables.js";
import { EventLog, Details } from "./log.js";
import { Timeline } from "./timeline.js";
import { describeCommand } from "./catalogue.js";
import { Controls } from "./controls.js";
import { SequenceView } from "./sequence.js";
import { ask } from "./ask.js";
import { FaultsUi } from "./faults.js"; // breaking the network on purpose (hook at the end)

const body = document.body;
function setStatus(s) {
  if (body.dataset.simStatus !== s) body.dataset.simStatus = s;
}
setStatus("connecting");

const scenario = JSON.parse(document.getElementById("scenario-data").textContent);
const mode = body.dataset.mode || scenario.mode || "network-dmm";
const toastEl = document.getElementById("toast");
const connEl = document.getElementById("conn");
let toastTimer = null;

/** A short message above the drawing (errors from the server, hints). */
function toast(text, kind = "info", ms = 5000) {
  toastEl.textContent = text;
  toastEl.dataset.kind = kind;
  toastEl.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastEl.hidden = true; }, ms);
}

/** A hint says what to press next: it goes as soon as that is done. */
function clearHint() {
  if (toastEl.dataset.kind === "hint") toastEl.hidden = true;
}

// ---- views ----
const topology = new TopologyView(document.getElementById("topology"), document.getElementById("air"), {
  scenario, mode,
  onSelect: (kind, id) => select(kind, id),
  onDrop: ({ mn, interface: iface, mar, from }) => {
    if (mar === null) command({ action: "detach", mn, interface: iface });
    else command({ action: from ? "move" : "attach", mn, interface: iface, mar });
  },
});
topology.onHint = (text) => toast(text, "info");
let dragging = false;
topology.onDragState = (on) => { dragging = on; };
body.dataset.topology = "drawn";
performance.mark("dmmviz:topology-drawn");

const layer = new MessageLayer(topology.layers.messages, topology.layers.drops, () => topology.routeView(), (ev) => pick(ev));
const dbId = scenario.network?.session_db?.id ?? "DB";
const dbPanel = new SessionDbPanel(document.getElementById("panel-db"), { mode, dbId });
const marPanel = new MarPanel(document.getElementById("panel-mar"), { topology, mode });
const mnPanel = new MnPanel(document.getElementById("panel-mn"), { scenario, onCommand: (cmd) => command(cmd) });
const log = new EventLog(document.getElementById("log"), (ev) => pick(ev));
const details = new Details(document.getElementById("details"), () => pick(null));
const sequenceEl = document.getElementById("sequence");
const sequence = new SequenceView(sequenceEl, {
  url: sequenceEl.dataset.url,
  onPick: (ids) => {
    const rec = ids.length ? layer.byId.get(String(ids[0])) : null;
    if (rec) pick(rec.ev);
  },
});
const viewButtons = { network: document.getElementById("view-network"), sequence: document.getElementById("view-sequence") };
/** Show the network drawing or the sequence diagram in the main area. */
function showView(name) {
  for (const [k, b] of Object.entries(viewButtons)) b.setAttribute("aria-pressed", String(k === name));
  document.querySelector(".scene").hidden = name !== "network";
  document.querySelector(".legend").classList.toggle("dim", name !== "network");
  sequence.show(name === "sequence");
}
viewButtons.network.addEventListener("click", () => showView("network"));
viewButtons.sequence.addEventListener("click", () => showView("sequence"));
// The download menu closes when you click elsewhere.
document.addEventListener("click", (e) => {
  const menu = document.querySelector(".downloads");
  if (menu.open && !menu.contains(e.target)) menu.open = false;
});
const timeline = new Timeline(document.getElementById("timeline"), {
  script: scenario.script,
  onSeek: (t) => seek(t),
  mineKey: `dmmviz-mine-${body.dataset.session}`,
  othersLabel: body.dataset.othersLabel ?? "user", // a class follower's page says "instructor"
});

let state = null;
let canStepBack = false;
let haveSnapshot = false;
let queued = null; // an update held back until the clock has glided to its time
let history = []; // [steps, now] seen this visit, for seeking back on the timeline
let steps = 0;

const tabs = { mar: document.getElementById("tab-mar"), mn: document.getElementById("tab-mn") };
const tabPanels = { mar: document.getElementById("panel-mar"), mn: document.getElementById("panel-mn") };

/** Show the MAR or the MN tab of the side panel. */
function showTab(kind) {
  for (const k of ["mar", "mn"]) {
    tabs[k].setAttribute("aria-selected", String(k === kind));
    tabs[k].tabIndex = k === kind ? 0 : -1;
    tabPanels[k].hidden = k !== kind;
  }
}
for (const k of ["mar", "mn"]) {
  tabs[k].addEventListener("click", () => showTab(k));
  tabs[k].addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const other = k === "mar" ? "mn" : "mar";
      showTab(other);
      tabs[other].focus();
      e.preventDefault();
      e.stopPropagation();
    }
  });
}

function select(kind, id, { reveal = true } = {}) {
  if (kind === "mar") {
    topology.setSelected("mar", id);
    marPanel.select(id);
    marPanel.update(state, false);
    tabs.mar.textContent = id ? `${id} tables` : "MAR";
  } else if (kind === "mn") {
    topology.setSelected("mn", id);
    mnPanel.select(id);
    mnPanel.update(state, false);
    tabs.mn.textContent = id ? `${id}: prefixes, flows` : "Mobile node";
  } else return;
  if (reveal) showTab(kind);
}

function pick(ev) {
  details.show(ev);
  log.select(ev ? ev.seq : null);
  layer.select(ev && ev.id !== undefined ? ev.id : null);
}

const firstMar = scenario.network?.mars?.[0]?.id ?? null;
const firstMn = scenario.mobile_nodes?.[0]?.id ?? null;
select("mn", firstMn, { reveal: false });
select("mar", firstMar);

function showState(flash) {
  topology.update(state);
  dbPanel.update(state, flash);
  marPanel.update(state, flash);
  mnPanel.update(state, flash);
}

// ---- the socket ----
// Counters the bench (bench/frames.py) reads: requests answered, their round trips, time spent handling messages.
const stats = { requests: 0, rttTotal: 0, rttMax: 0, events: 0, handled: 0, handleTotal: 0, handleMax: 0, sent: new Map() };
window.dmmvizStats = stats;

const protocol = await import(body.dataset.protocolUrl);
const { CLIENT, SERVER } = protocol;

const player = new Player({
  request: (t) => socket.send(CLIENT.RUN_UNTIL, { t }),
  flights: (clock) => layer.flights(clock),
  nextStart: (clock) => layer.nextStart(clock),
  onChange: () => refreshControls(),
});
player.onHold = () => redoNext();

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${body.dataset.wsPath}`;
const socket = new Socket(wsUrl, protocol, {
  onStatus: (status, detail) => {
    connEl.dataset.state = status;
    connEl.textContent = { connecting: "connecting…", open: "connected", closed: "reconnecting…", gone: "session not found" }[status] ?? status;
    if (status !== "open") {
      haveSnapshot = false;
      player.waiting = false;
    }
    if (detail) toast(detail, "alert", 60000);
    refreshControls();
  },
  onMessage: (msg, mine) => {
    const t0 = performance.now();
    receive(msg, mine);
    const spent = performance.now() - t0;
    stats.handled++;
    stats.handleTotal += spent;
    stats.handleMax = Math.max(stats.handleMax, spent);
  },
});

// Sending anything makes the page busy at once (not at the next frame), so a test that waits for "idle" after a key
// press never sees the old "idle".
stats.socket = socket; // parseMs, parseMax, bytes: the JSON the page has read
const send = socket.send.bind(socket);
socket.send = (type, fields) => {
  const id = send(type, fields);
  if (id !== null) stats.sent.set(id, performance.now());
  if (id !== null && body.dataset.simStatus === "idle") setStatus("animating");
  return id;
};

function remember(s, now) {
  steps = s;
  history = history.filter(([k]) => k < s);
  history.push([s, now]);
}

function receive(msg, mine) {
  if (msg.re !== undefined && stats.sent.has(msg.re)) {
    const rtt = performance.now() - stats.sent.get(msg.re);
    stats.sent.delete(msg.re);
    stats.requests++;
    stats.rttTotal += rtt;
    stats.rttMax = Math.max(stats.rttMax, rtt);
  }
  stats.events += msg.events?.length ?? 0;
  if (msg.type === SERVER.SNAPSHOT) {
    flushQueued();
    haveSnapshot = true;
    state = msg.state;
    canStepBack = msg.can_step_back;
    takeJournal(msg, mine);
    player.sync(msg.now, msg.next);
    const fresh = msg.cause === "connect" || msg.cause === CLIENT.HELLO; // not a change the user made
    if (!fresh) player.pause();
    layer.reset(msg.events);
    log.reset(msg.events);
    timeline.reset(msg.events);
    sequence.reset(msg); // the sequence panel folds the history afresh (static/js/seqfold.js)
    showState(!fresh);
    pick(null);
    remember(msg.steps, msg.now);
    if (!performance.getEntriesByName("dmmviz:first-state").length) performance.mark("dmmviz:first-state");
    if (seekTo !== null) {
      const t = seekTo;
      seekTo = null;
      if (mine?.type === CLIENT.SEEK && t > msg.now) forwardTo(t);
    }
    if (msg.events_omitted) toast(`${msg.events_omitted} earlier events are not shown in the log.`, "info");
  } else if (msg.type === SERVER.EVENTS) {
    if (mine?.type === CLIENT.COMMAND) timeline.markMine(msg.events);
    if (msg.cause === CLIENT.COMMAND) noteCommand(msg, mine);
    layer.add(msg.events); // the animation is driven by time, so it takes events at once
    sequence.add(msg); // new arrows and notes, no fetch
    player.onEvents(msg, { paced: mine !== null && mine.id === player.requestId });
    canStepBack = msg.can_step_back;
    remember(msg.steps, msg.now);
    flushQueued();
    queued = msg;
    if (!player.tween) flushQueued();
  } else if (msg.type === SERVER.ERROR) {
    if (mine !== null && mine.id === redoing) {
      redoing = null;
      dropRedo();
      toast(`Your undone action could not be redone (${msg.message}); the later ones are dropped too.`, "alert", 7000);
      return refreshControls();
    }
    if (mine?.type === CLIENT.RUN_UNTIL) {
      // Most likely the session moved on under us (another tab): stop and take a fresh snapshot.
      player.waiting = false;
      player.requestId = null;
      player.pause();
      socket.send(CLIENT.HELLO);
    }
    if (msg.code === protocol.ERROR.RATE_LIMITED) return;
    const what = msg.request === CLIENT.COMMAND ? "Action refused" : "Refused";
    toast(`${what}: ${msg.message}`, "alert", 7000);
  }
  refreshControls();
}

/**
 * Apply an `events` message's state, log and timeline (held back while the clock glides to its time). While playing
 * fast, the tables and tunnels are redrawn a few times a second rather than for every reply.
 */
let stateDue = false;
let stateShownAt = 0;
const STATE_EVERY_MS = 150;
function flushQueued() {
  const msg = queued;
  if (!msg) return;
  queued = null;
  log.queue(msg.events);
  if (!player.playing) log.flush(false);
  timeline.add(msg.events);
  if (msg.state) {
    state = msg.state; // null when the request changed no table (only messages went by): the last state holds
    stateDue = true;
  }
  if (!player.playing || player.speed < 10) showDueState(true);
}

function showDueState(now = false) {
  if (!stateDue || (!now && performance.now() - stateShownAt < STATE_EVERY_MS)) return;
  stateDue = false;
  stateShownAt = performance.now();
  showState(!(player.playing && player.speed >= 10)); // rows flash only when there is time to see them
}

// ---- actions ----
async function command(cmd) {
  if (!socket.open) return toast("Not connected: the action was not sent.", "alert");
  if (redo.length) {
    // A new action changes what the undone ones would replay on: they go, but only if the student says so.
    player.pause();
    const ok = await ask({
      title: "Discard your undone actions?",
      text: `You went back in time. ${redo.length === 1 ? "This action" : `These ${redo.length} actions`} will play again when you press Play or Step, unless you do something else now:`,
      items: redo.map((r) => `t = ${r.t.toFixed(3)} s: ${describeCommand(r.command)}`),
      ok: `Discard and ${describeCommand(cmd)}`,
      cancel: "Keep them",
    });
    if (!ok) return;
    dropRedo();
  }
  if (!player.playing) finishGlide(); // the action applies at the time shown
  // A command applies at the server's current time: bring the server to the clock first.
  if (player.clock > player.serverNow + 1e-9 && !player.waiting) socket.send(CLIENT.RUN_UNTIL, { t: player.clock });
  socket.send(CLIENT.COMMAND, { command: cmd });
  if (!player.playing) toast(`${describeCommand(cmd)}: press Play (Space) or Step (→) to watch it happen.`, "hint", 4000);
}

function finishGlide() {
  if (player.tween) {
    player.clock = player.tween.to;
    player.tween = null;
  }
  flushQueued();
}

const handlers = {
  toggle() {
    if (!haveSnapshot) return;
    if (player.playing) player.pause();
    else {
      if (player.finished()) toast("Nothing more is scheduled: drag a mobile node or start a flow.", "info");
      else {
        clearHint();
        flushQueued();
        player.play();
        setStatus("animating");
      }
    }
    refreshControls();
  },
  step() {
    if (!haveSnapshot || socket.pending(CLIENT.STEP)) return;
    player.pause();
    finishGlide();
    if (player.next === null && !redo.length) {
      toast("Nothing is scheduled: drag a mobile node or start a flow.", "info");
      return refreshControls();
    }
    clearHint();
    if (redoing !== null) return;
    if (redo.length && (player.next === null || redo[0].t <= player.next + 1e-9)) redoNext(); // the undone action is next
    else socket.send(CLIENT.STEP);
    refreshControls();
  },
  back() {
    if (!haveSnapshot || !canStepBack || socket.pending(CLIENT.STEP_BACK)) return;
    player.pause();
    finishGlide();
    socket.send(CLIENT.STEP_BACK);
    refreshControls();
  },
  async reset() {
    if (!haveSnapshot || body.dataset.asking) return;
    player.pause();
    finishGlide();
    const actions = journal.length + redo.length;
    if (steps === 0 && actions === 0) return; // already at the start
    const ok = await ask({
      title: "Reset to the start?",
      text: actions
        ? `The scenario goes back to t = 0 and ${actions === 1 ? "the action" : `the ${actions} actions`} done since ${actions === 1 ? "is" : "are"} forgotten:`
        : "The scenario goes back to t = 0 (nothing you did is lost: no action has been made).",
      items: [...journal, ...redo].map((r) => `t = ${r.t.toFixed(3)} s: ${describeCommand(r.command)}`),
      ok: "Reset",
      cancel: "Cancel",
    });
    if (!ok) return;
    dropRedo();
    socket.send(CLIENT.RESET);
  },
  setSpeed(i) {
    player.speed = SPEEDS[i];
  },
  setFilter(group, visible) {
    document.getElementById("stage").classList.toggle(`hide-${group}`, !visible);
    document.getElementById("log").classList.toggle(`hide-${group}`, !visible);
    const hidden = [...document.querySelectorAll("#legend-list input")].filter((b) => !b.checked).map((b) => b.dataset.group);
    layer.setHidden(hidden);
  },
  toggleView() {
    showView(sequence.visible ? "network" : "sequence");
  },
  escape() {
    document.querySelector(".downloads").open = false;
    topology.cancelDrag();
    pick(null);
    document.getElementById("help").close();
  },
};
const controls = new Controls(document, handlers);

let seekTo = null; // a time to run on to once a seek back has landed
function seek(t) {
  if (!haveSnapshot) return;
  player.pause();
  finishGlide();
  if (t >= player.serverNow) {
    forwardTo(t);
  } else {
    // Back: to the latest step seen at or before t (the server replays to it), then on to t.
    let target = 0;
    for (const [k, now] of history) if (now <= t && k > target) target = k;
    seekTo = t;
    socket.send(CLIENT.SEEK, { steps: target });
  }
}

// ---- the redo branch: the student's actions undone by a jump back, replayed at their times if nothing else is done --
let journal = []; // the session's user commands as the server keeps them: {steps, t, command}
let redo = []; // undone ones, oldest first
let redoing = null; // the id of the command that redoes redo[0]
// The branch outlives a reload (sessionStorage, per session), with the journal it was undone from: it is kept only
// while the session is still there (same journal, not yet past the first undone action).
const redoKey = `dmmviz-redo-${body.dataset.session}`;
let redoBase = null; // the journal (keys) the undone actions were undone from
let stored = null;
try {
  stored = JSON.parse(sessionStorage.getItem(redoKey) ?? "null");
} catch {
  stored = null; // no storage: the branch lasts as long as the page
}
let forwardTarget = null; // a forward jump that is redoing actions on its way

const entryKey = (e) => `${Math.round(e.t * 1e6)}|${e.command.action}|${e.command.mn}|${e.command.mar ?? ""}|${e.command.flow ?? ""}`;

/** A snapshot: the journal it carries; what a jump back or step back of this tab removed becomes the redo branch. */
function takeJournal(msg, mine) {
  const before = journal;
  journal = msg.journal ?? [];
  const base = JSON.stringify(journal.map(entryKey));
  if (msg.cause === CLIENT.RESET) dropRedo();
  else if (mine?.type === CLIENT.SEEK || mine?.type === CLIENT.STEP_BACK) {
    const kept = new Set(journal.map(entryKey));
    const undone = before.filter((e) => !kept.has(entryKey(e)));
    if (undone.length || redo.length) {
      const seen = new Set();
      redo = [...undone, ...redo].filter((e) => !seen.has(entryKey(e)) && seen.add(entryKey(e))).sort((a, b) => a.t - b.t || a.steps - b.steps);
      redoBase = base;
      showRedo();
    }
  } else {
    // A fresh snapshot (a reload, a reconnection, another tab, a lesson's step): the branch still holds only if the
    // session is where it was undone from.
    if (!redo.length && stored?.redo?.length) ({ redo, base: redoBase } = stored);
    stored = null;
    if (redo.length && (redoBase !== base || msg.steps > redo[0].steps)) dropRedo();
    else if (redo.length) showRedo();
  }
}

/** An `events` reply to a command (this tab's or another's): the journal grows; a redo is done. */
function noteCommand(msg, mine) {
  let cmd = mine?.type === CLIENT.COMMAND ? mine.fields.command : null;
  if (!cmd) {
    const ev = msg.events.find((e) => e.kind === "action" && e.source === "user");
    if (!ev) return;
    cmd = Object.fromEntries(["action", "mn", "interface", "mar", "flow", "cn"].filter((k) => ev[k] !== undefined && ev[k] !== null).map((k) => [k, ev[k]]));
  }
  journal = [...journal, { steps: msg.steps, t: msg.now, command: cmd }];
  if (mine !== null && mine.id === redoing) {
    redoing = null;
    redo.shift();
    redoBase = JSON.stringify(journal.map(entryKey)); // the rest now follow on from this one
    player.holding = false;
    showRedo();
    if (forwardTarget !== null) forwardTo(forwardTarget);
  }
}

/** Redo the first undone action at its own time: run the server to it, then the command. */
function redoNext() {
  const r = redo[0];
  if (!r || redoing !== null) return;
  if (r.t > player.serverNow + 1e-9) socket.send(CLIENT.RUN_UNTIL, { t: r.t });
  redoing = socket.send(CLIENT.COMMAND, { command: r.command });
  if (redoing === null) player.holding = false;
}

/** Run forward to t, redoing on the way the undone actions up to t. */
function forwardTo(t) {
  forwardTarget = null;
  if (redo.length && redo[0].t <= t + 1e-9) {
    forwardTarget = t;
    redoNext();
  } else socket.send(CLIENT.RUN_UNTIL, { t: Math.max(t, player.serverNow) });
}

function dropRedo() {
  redo = [];
  forwardTarget = null;
  player.holding = false;
  showRedo();
}

function showRedo() {
  player.hold = redo.length ? redo[0].t : null;
  timeline.setRedo(redo);
  body.dataset.redo = String(redo.length);
  try {
    if (redo.length) sessionStorage.setItem(redoKey, JSON.stringify({ redo, base: redoBase }));
    else sessionStorage.removeItem(redoKey);
  } catch {
    // storage full or refused: the branch still lasts as long as the page
  }
}

let lastControls = "";
function refreshControls() {
  const view = { playing: player.playing, canStep: player.next !== null || redo.length > 0, canBack: canStepBack, connected: socket.open && haveSnapshot };
  const key = JSON.stringify(view);
  if (key === lastControls) return;
  lastControls = key;
  controls.show(view);
}

// ---- the frame loop ----
let lastFrame = performance.now();
function frame(now) {
  const dt = (now - lastFrame) / 1000;
  lastFrame = now;
  const gliding = player.tween !== null;
  const clock = player.frame(dt);
  if (gliding && !player.tween) flushQueued();
  layer.render(clock, dt);
  log.flush(player.playing);
  showDueState(!player.playing);
  sequence.tick();
  timeline.setClock(clock);
  timeline.draw();
  controls.showClock(clock, player.tween ? 0 : player.rate);
  refreshControls();
  if (!socket.open || !haveSnapshot) setStatus("connecting");
  else if (body.dataset.asking) setStatus("asking"); // a question (ask.js) waits for the student
  else if (player.busy() || socket.pending() || dragging || queued) setStatus("animating");
  else {
    if (body.dataset.simStatus !== "idle") {
      body.dataset.simNow = String(player.clock);
      body.dataset.simSteps = String(steps);
    }
    setStatus("idle");
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ---- Hook for the lessons pages (H-lessons, docs/lessons.md): a lesson step plays to its end and pauses there ----
// window.dmmvizLesson.stopAt(t): while playing, the clock stops at simulated time t (the server is asked for events up
// to t, never beyond) and playback pauses; Play again goes on. stopAt(null) forgets it. The page says "dmmviz:stopped"
// when it stops there. Nothing else on the page changes.
{
  let stopAt = null;
  const request = player.request;
  player.request = (t) => request(stopAt !== null && player.clock < stopAt - 1e-9 && t > stopAt ? stopAt : t);
  const frameOf = player.frame.bind(player);
  player.frame = (dt) => {
    const before = player.clock;
    const clock = frameOf(dt);
    if (stopAt !== null && player.playing && before < stopAt - 1e-9 && clock >= stopAt - 1e-9) {
      player.clock = stopAt;
      player.pause();
      refreshControls();
      document.dispatchEvent(new CustomEvent("dmmviz:stopped", { detail: { t: stopAt } }));
    }
    return player.clock;
  };
  window.dmmvizLesson = {
    stopAt(t) { stopAt = typeof t === "number" ? t : null; },
    get clock() { return player.clock; },
    get playing() { return player.playing; },
  };
  document.dispatchEvent(new CustomEvent("dmmviz:lesson-ready"));
}

// ---- Hook for breaking the network (H-faultui, static/js/faults.js, docs/visualiser.md "Breaking the network"): ----
// a Break toggle and a Faults menu in the drawing's corner; FaultsUi wraps topology.update, layer.add, log.add and details.show
// to draw failed nodes, loss rates and lost messages. Nothing else on the page changes.
window.dmmvizFaults = new FaultsUi({
  scenario, topology, layer, log, details, player, command, toast, socket, protocol, stage: document.getElementById("stage"),
});
