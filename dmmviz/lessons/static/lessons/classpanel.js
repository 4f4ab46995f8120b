// Live class panel: the lesson step the class is on, kept current through /ws/class/<code>/events/ (a channel-layer
// group, so it works across server processes). Followers answer the step's checkpoint here (graded on the server);
// the instructor moves the class between steps, sees who joined and how the class answers (polled from a
// teacher-only JSON view, so no student ever receives the distribution), and reveals the answer.
// The visualiser beside it is the front end's page, fed by the class session's socket. Text from the server goes in
// with textContent, except step_html, which the server sanitises.

import { highlight, playTo } from "./highlight.js";
import { reveal } from "./scroll.js";

const body = document.body;
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value;
const role = body.dataset.lxRole;
const stepEl = $("class-step");
let info = {
  step: Number(stepEl.dataset.step), count: 0, active: !$("class-ended") || $("class-ended").hidden,
  checkpoint: JSON.parse($("class-checkpoint-data").textContent), t: Number(stepEl.dataset.until),
  highlight: (stepEl.dataset.highlight || "").split(" ").filter(Boolean),
};
let answeredStep = null; // the step this follower's shown result belongs to

async function post(url, data) {
  const form = new URLSearchParams(); // urlencoded: an empty multipart body is refused (400)
  for (const [k, v] of Object.entries(data)) for (const x of [].concat(v)) form.append(k, String(x));
  const response = await fetch(url, {
    method: "POST", body: form, headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin",
  });
  let reply = {};
  try { reply = await response.json(); } catch { reply = { error: `the server answered ${response.status}` }; }
  return { ok: response.ok, reply };
}

function drawChoices(cp) {
  const box = $("class-choices");
  if (!box) return;
  box.replaceChildren();
  if (!cp) return;
  if (cp.input === "number") {
    const label = document.createElement("label");
    const input = Object.assign(document.createElement("input"), { type: "number", name: "answer", min: "0", step: "1", required: true });
    input.inputMode = "numeric";
    label.append("Your answer ", input);
    box.append(label);
    return;
  }
  for (const [value, text] of cp.choices) {
    const wrap = document.createElement("label");
    wrap.className = "lx-choice";
    const input = Object.assign(document.createElement("input"), { type: cp.input === "multi" ? "checkbox" : "radio", name: "answer", value });
    wrap.append(input, " ", text);
    box.append(wrap);
  }
}

function show(next, { fresh = false } = {}) {
  const moved = fresh || next.step !== info.step;
  info = next;
  stepEl.dataset.step = String(next.step);
  $("class-step-number").textContent = `Step ${next.step + 1} of ${next.count}`;
  $("class-step-title").textContent = next.step_title;
  // step_html is produced by the server's sanitiser (dmmviz/lessons/text.py: Markdown, then nh3's allow-list of
  // tags and attributes), never raw lesson text, so it may be parsed as HTML here.
  $("class-step-text").innerHTML = next.step_html;
  $("class-checkpoint").hidden = !next.checkpoint;
  $("class-question").textContent = next.question || "";
  $("class-ended").hidden = next.active !== false;
  body.dataset.lxClassStep = String(next.step);
  body.dataset.lxClassActive = String(next.active !== false);
  highlight(next.highlight || []);
  playTo(next.t, next.start);
  const hint = $("class-play-hint");
  if (hint) hint.textContent = `The class opens this step at t = ${(+next.start).toFixed(3)} s; Play runs it to t = ${(+next.t).toFixed(3)} s and pauses.`;
  if (role === "follow") {
    if (moved) {
      drawChoices(next.checkpoint);
      $("class-result").hidden = true;
      $("class-answer-error").hidden = true;
      $("class-check").disabled = false;
      answeredStep = null;
    }
    const shown = $("class-shown");
    shown.hidden = !next.revealed;
    $("class-shown-answer").textContent = next.answer || "";
    $("class-shown-explain").textContent = next.explanation || "";
  }
  const prev = $("class-prev");
  if (prev) {
    prev.disabled = next.step <= 0 || !next.active;
    $("class-next").disabled = next.step + 1 >= next.count || !next.active;
    refreshStats();
  }
}

function connect(retry = 0) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${body.dataset.lxEventsPath}`;
  const ws = new WebSocket(url);
  ws.addEventListener("open", () => { retry = 0; body.dataset.lxClassLive = "open"; });
  ws.addEventListener("message", (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "class" && !msg.missing) show(msg);
    else if (msg.missing) show({ ...info, active: false });
  });
  ws.addEventListener("close", () => {
    body.dataset.lxClassLive = "closed";
    if (info.active) setTimeout(() => connect(retry + 1), Math.min(8000, 300 * 2 ** retry));
  });
}

// ---- a follower answers ----
async function answer(event) {
  event.preventDefault();
  const chosen = [...document.querySelectorAll("#class-choices input")]
    .filter((i) => (i.type === "number" ? i.value !== "" : i.checked)).map((i) => i.value);
  const { ok, reply } = await post(body.dataset.lxAnswerUrl, { step: info.step, answer: chosen });
  const error = $("class-answer-error");
  if (!ok) {
    error.textContent = reply.error || "That answer could not be checked.";
    error.hidden = false;
    return;
  }
  error.hidden = true;
  showAnswer(reply, { focus: true });
}

function showAnswer(reply, { focus = false } = {}) {
  answeredStep = reply.step;
  const verdict = $("class-verdict");
  verdict.textContent = reply.correct ? "✔ Right!" : "✘ Not right: look again and try once more.";
  verdict.className = reply.correct ? "lx-right" : "lx-wrong";
  $("class-feedback").innerHTML = reply.feedback_html || ""; // sanitised by the server (text.render)
  $("class-answer-line").hidden = !reply.answer;
  $("class-true-answer").textContent = reply.answer || "";
  $("class-explain").hidden = !reply.explanation;
  $("class-explain").textContent = reply.explanation || "";
  if (reply.correct) $("class-check").disabled = true;
  const result = $("class-result");
  result.hidden = false;
  if (focus) {
    reveal(result);
    result.focus({ preventScroll: true });
  }
  body.dataset.lxClassAnswer = reply.correct ? "right" : "wrong";
}

// ---- the instructor's panel ----
let statsTimer = null;
async function refreshStats() {
  if (!body.dataset.lxStatsUrl) return;
  clearTimeout(statsTimer);
  try {
    const response = await fetch(body.dataset.lxStatsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) showStats(await response.json());
  } finally {
    if (info.active) statsTimer = setTimeout(refreshStats, 2000);
  }
}

function showStats(s) {
  $("joined-count").textContent = String(s.joined);
  $("branched-note").hidden = !s.branched_count;
  $("branched-count").textContent = String(s.branched_count);
  $("branched-names").textContent = s.branched.join(", ");
  $("answered-count").textContent = String(s.answered);
  $("right-count").textContent = String(s.right);
  const bars = $("answer-bars");
  bars.replaceChildren();
  const most = Math.max(1, ...s.distribution.map((d) => d.count));
  for (const d of s.distribution) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "lx-bar-label";
    label.textContent = d.label;
    const bar = document.createElement("span");
    bar.className = "lx-bar";
    bar.style.width = `${Math.round((100 * d.count) / most)}%`;
    const n = document.createElement("span");
    n.className = "lx-bar-count";
    n.textContent = String(d.count);
    li.append(label, bar, n);
    bars.append(li);
  }
  $("class-revealed").hidden = !s.revealed;
  $("class-revealed-answer").textContent = s.revealed ? s.answer : "";
  $("class-reveal").disabled = s.revealed || !s.question;
  body.dataset.lxStats = `${s.joined}/${s.answered}`;
}

async function move(delta) {
  const { ok, reply } = await post(body.dataset.lxStepUrl, { step: info.step + delta });
  if (ok) show(reply);
}

for (const id of ["class-prev", "class-next"]) {
  const button = $(id);
  if (button) button.addEventListener("click", () => move(Number(button.dataset.delta)));
}
$("class-reveal")?.addEventListener("click", async () => {
  const { ok, reply } = await post(body.dataset.lxRevealUrl, {});
  if (ok) showStats(reply);
});
$("class-answer-form")?.addEventListener("submit", answer);

// The page arrives drawn by the server; the socket's first message (the class now) then keeps it current.
drawChoices(info.checkpoint);
const mine = JSON.parse($("class-my-answer")?.textContent || "null"); // this follower's answer, after a reload
if (mine && role === "follow" && mine.step === info.step) showAnswer(mine);
highlight(info.highlight);
playTo(info.t, Number(stepEl.dataset.start));
refreshStats();
connect();
