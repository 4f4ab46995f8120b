// Live class panel: the lesson step the class is on, kept current through /ws/class/<code>/events/ (a channel-layer
// group, so it works across server processes); for the instructor, the buttons that move the class between steps.
// The visualiser beside it is the front end's page, fed by the class session's socket.

const body = document.body;
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value;
let info = { step: Number($("class-step").dataset.step), count: 0, active: !$("class-ended") || $("class-ended").hidden };

function show(next) {
  info = next;
  $("class-step").dataset.step = String(next.step);
  $("class-step-number").textContent = `Step ${next.step + 1} of ${next.count}`;
  $("class-step-title").textContent = next.step_title;
  // step_html is produced by the server's sanitiser (dmmviz/lessons/text.py: Markdown, then nh3's allow-list of
  // tags and attributes), never raw lesson text, so it may be parsed as HTML here.
  $("class-step-text").innerHTML = next.step_html;
  const q = $("class-question");
  q.hidden = !next.question;
  q.textContent = next.question ? `Think about it: ${next.question}` : "";
  $("class-ended").hidden = next.active !== false;
  body.dataset.lxClassStep = String(next.step);
  body.dataset.lxClassActive = String(next.active !== false);
  const prev = $("class-prev");
  if (prev) {
    prev.disabled = next.step <= 0 || !next.active;
    $("class-next").disabled = next.step + 1 >= next.count || !next.active;
  }
}

function connect(retry = 0) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${body.dataset.lxEventsPath}`;
  const ws = new WebSocket(url);
  ws.addEventListener("open", () => { retry = 0; body.dataset.lxClassLive = "open"; });
  ws.addEventListener("message", (e) => {
    const msg = JSON.parse(e.data);
    if (msg.type === "class" && !msg.missing) show(msg);
  });
  ws.addEventListener("close", () => {
    body.dataset.lxClassLive = "closed";
    setTimeout(() => connect(retry + 1), Math.min(8000, 300 * 2 ** retry));
  });
}
connect();

async function move(delta) {
  const form = new FormData();
  form.append("step", String(info.step + delta));
  const response = await fetch(body.dataset.lxStepUrl, {
    method: "POST", body: form, headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin",
  });
  if (response.ok) show(await response.json());
}
for (const id of ["class-prev", "class-next"]) {
  const button = $(id);
  if (button) button.addEventListener("click", () => move(Number(button.dataset.delta)));
}
