import { reveal } from "./scroll.js";

// A lesson step's checkpoint, answered from the drawing: clicking (or pressing Enter on) a node of the live topology
// picks the choice with that node's id, so "which MAR anchors flow1?" can be answered by clicking the MAR, as the
// issue asks. The radio buttons stay the accessible way to answer; the form is still posted as plain HTML.

const form = document.getElementById("checkpoint-form");
const topology = document.getElementById("topology");

function pick(event) {
  const node = event.target.closest?.("g[data-id]");
  if (!node || !form || form.querySelector("fieldset").disabled) return;
  const radio = form.querySelector(`input[type=radio][value="${CSS.escape(node.dataset.id)}"]`);
  if (!radio) return;
  radio.checked = true;
  radio.closest("label")?.classList.add("lx-picked");
  setTimeout(() => radio.closest("label")?.classList.remove("lx-picked"), 900);
  document.body.dataset.lxPicked = node.dataset.id;
}

if (form && topology && form.closest("#checkpoint")?.dataset.input === "choice") {
  topology.addEventListener("click", pick);
  topology.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(e); });
  const hint = document.createElement("p");
  hint.className = "lx-muted";
  hint.textContent = "You can also click the node in the drawing.";
  form.querySelector(".lx-choices")?.after(hint);
}

// ---- Answered in place (issue 12): the form is posted with fetch and graded on the server; the verdict, the
// instructor's feedback and, once right or revealed, the answer and its explanation appear under the question, which
// scrolls into view and takes the focus (the page does not reload). Without this script the form still works.

const resultBox = document.getElementById("checkpoint-result");
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value;

function el(tag, props = {}, text = null) {
  const node = Object.assign(document.createElement(tag), props);
  if (text !== null) node.textContent = text;
  return node;
}

function showResult(reply) {
  const r = reply.result;
  const parts = [];
  if (r.correct) parts.push(el("p", { className: "lx-right", id: "verdict" }, `✔ Right${r.first_try ? ", at the first try" : r.revealed_elsewhere ? "; no point: its answer was shown to you in another attempt" : ""}.`));
  else if (r.revealed && !r.tries) parts.push(el("p", { className: "lx-revealed", id: "verdict" }, "Answer shown."));
  else parts.push(el("p", { className: "lx-wrong", id: "verdict" }, `✘ Not right${r.finished ? "" : " — look again and try once more"}.`));
  parts[0].dataset.correct = r.correct ? "1" : "0";
  if (r.feedback_html) {
    const fb = el("div", { className: "lx-prose lx-feedback" });
    fb.innerHTML = r.feedback_html; // sanitised by the server (dmmviz/lessons/text.py)
    parts.push(fb);
  }
  if (r.finished) {
    const line = el("p");
    line.append(el("strong", {}, "Answer:"), " ", el("span", { id: "true-answer" }, r.answer));
    parts.push(line, el("p", { className: "lx-explain" }, r.explanation));
    form.querySelector("fieldset").disabled = true;
  } else {
    const reveal = el("button", { type: "button", className: "lx-link", id: "reveal" }, "Show me the answer (no point for this one)");
    reveal.addEventListener("click", () => send(new URLSearchParams({ reveal: "1" })));
    parts.push(reveal);
  }
  resultBox.replaceChildren(...parts);
  const score = document.getElementById("score");
  score.textContent = `Score: ${reply.score.points} / ${reply.score.total}`;
  score.dataset.points = String(reply.score.points);
  document.getElementById("progress").value = reply.progress;
  document.getElementById("progress-text").textContent = `${reply.progress}% done`;
  if (reply.can_next) {
    document.getElementById("next-form")?.removeAttribute("hidden");
    document.getElementById("next-blocked")?.setAttribute("hidden", "");
  }
  if (reply.finished) {
    document.getElementById("finished-score").textContent =
      `${reply.score.points} / ${reply.score.total} right at the first try (${reply.score.percent}%)`;
    document.getElementById("finished").hidden = false;
  }
  reveal(resultBox);
  resultBox.focus({ preventScroll: true });
  document.body.dataset.lxAnswered = r.correct ? "right" : r.finished ? "revealed" : "wrong";
}

async function send(data) {
  const error = document.getElementById("answer-error") ?? form.appendChild(el("p", { className: "lx-errors", id: "answer-error", role: "alert" }));
  const response = await fetch(form.action, {
    method: "POST", body: data, credentials: "same-origin",
    headers: { "X-CSRFToken": csrf, Accept: "application/json" },
  });
  let reply = {};
  try { reply = await response.json(); } catch { reply = { error: `the server answered ${response.status}` }; }
  if (!response.ok) {
    error.textContent = reply.error || "That answer could not be checked.";
    error.hidden = false;
    reveal(error);
    return;
  }
  error.hidden = true;
  showResult(reply);
}

if (form && resultBox) {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (k === "answer") data.append(k, v);
    send(data);
  });
  document.getElementById("reveal-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    send(new URLSearchParams({ reveal: "1" }));
  });
}
