// Practice panel: ask the server for a prediction question about the next step, grade it, then run the simulation to
// the moment the answer happens, so the student sees it. The visualiser is the front end's page, untouched: this
// module opens its own socket to the same session (like a second tab); the run_until it sends reaches the
// visualiser through the session's group and animates there. Text from the server goes in with textContent only.

import { Socket } from "/static/js/socket.js";

const body = document.body;
const protocol = await import(body.dataset.protocolUrl);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
const $ = (id) => document.getElementById(id);

let now = 0;
let current = null; // {id, question}
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${body.dataset.wsPath}`;
const socket = new Socket(wsUrl, protocol, {
  onStatus: () => {},
  onMessage: (msg) => {
    if (msg.now !== undefined) now = msg.now;
  },
});

async function post(url, data) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(data ?? {}),
    credentials: "same-origin",
  });
  return { ok: response.ok, body: await response.json() };
}

function pause() {
  const play = $("btn-play");
  if (play && play.getAttribute("aria-pressed") === "true") play.click();
}

function note(text) {
  $("pq-note").textContent = text;
}

function showQuestion(q) {
  $("practice-result").hidden = true;
  $("pq-error").hidden = true;
  $("pq-prompt").textContent = q.prompt;
  const box = $("pq-choices");
  box.replaceChildren();
  for (const [value, label] of q.choices) {
    const wrap = document.createElement("label");
    wrap.className = "lx-choice";
    const input = document.createElement("input");
    input.type = q.input === "multi" ? "checkbox" : "radio";
    input.name = "answer";
    input.value = value;
    wrap.append(input, " ", label);
    box.append(wrap);
  }
  $("practice-question").hidden = false;
  $("pq-check").disabled = false;
  box.querySelector("input")?.focus();
}

async function ask() {
  pause();
  body.dataset.lxPractice = "asking";
  const { ok, body: reply } = await post(body.dataset.lxQuestionUrl);
  if (!ok || !reply.question) {
    $("practice-question").hidden = true;
    note(reply.message || reply.error || "No question now.");
    body.dataset.lxPractice = "none";
    return;
  }
  current = reply;
  note("");
  showQuestion(reply.question);
  body.dataset.lxPractice = "question";
}

async function answer(event) {
  event.preventDefault();
  if (!current) return;
  const chosen = [...document.querySelectorAll("#pq-choices input:checked")].map((i) => i.value);
  const { ok, body: reply } = await post(body.dataset.lxAnswerUrl, { id: current.id, answer: chosen });
  if (!ok) {
    $("pq-error").textContent = reply.error;
    $("pq-error").hidden = false;
    return;
  }
  $("pq-check").disabled = true;
  $("pq-verdict").textContent = reply.correct ? "✔ Right!" : "✘ Not this time.";
  $("pq-verdict").className = reply.correct ? "lx-right" : "lx-wrong";
  $("pq-answer").textContent = reply.answer;
  $("pq-explain").textContent = reply.explanation;
  $("practice-result").hidden = false;
  $("practice-score").textContent = `${reply.score.right} right of ${reply.score.answered}`;
  current = null;
  body.dataset.lxPractice = reply.correct ? "right" : "wrong";
  // Show it happen: run the session to the moment of the answer; the visualiser animates the events.
  if (reply.reveal_t > now) socket.send(protocol.CLIENT.RUN_UNTIL, { t: reply.reveal_t });
  note("Watch it happen, then predict the next step.");
}

$("ask").addEventListener("click", ask);
$("pq-form").addEventListener("submit", answer);
body.dataset.lxPractice = "ready";
