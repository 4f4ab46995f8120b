// The author previewing their own lesson sets a step's moment from the visualiser's event log: click a message, then
// "Pause before this". The lesson (GET /lessons/api/<slug>/, the author's full copy with each step's messages at
// their exact times) gets this step's "start" set to that message's time and its kind added to "highlight", and is
// saved with PUT (validated by the server; a refusal is shown as it comes). Previews made before keep their copy.

const box = document.getElementById("lx-author");
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]")?.value;
const index = Number(box.dataset.step);
let picked = null; // {t, kind, src, dst} as the log shows it

document.getElementById("log").addEventListener("click", (e) => {
  const li = e.target.closest("li.is-msg");
  if (!li) return;
  const kind = li.querySelector(".kind")?.title;
  const [src, rest] = (li.querySelector(".what")?.textContent ?? "").split(" → ");
  picked = { t: Number(li.querySelector(".t")?.textContent), kind, src: src?.trim(), dst: rest?.trim().split(/\s+/)[0] };
  $("lx-author-picked").textContent = `Chosen: t = ${picked.t.toFixed(3)} s, ${picked.src} → ${picked.dst} ${kind}`;
  $("lx-pause-before").disabled = false;
  document.body.dataset.lxAuthorPicked = kind;
});

$("lx-pause-before").addEventListener("click", async () => {
  if (!picked) return;
  const result = $("lx-author-result");
  const got = await fetch(box.dataset.apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const data = await got.json();
  // The exact time: the step's message with this kind, sender and receiver at the time shown (3 decimals).
  const exact = (data.moments[index]?.messages ?? []).find(
    (m) => m.kind === picked.kind && m.src === picked.src && m.dst === picked.dst && Math.abs(m.t - picked.t) < 0.0006,
  );
  if (!exact) {
    result.textContent = "That message is not part of this step (between the previous step's pause and this one's).";
    return;
  }
  const step = data.lesson.steps[index];
  step.start = exact.t;
  step.highlight = [...new Set([...(step.highlight ?? []), exact.kind])];
  const saved = await fetch(box.dataset.apiUrl, {
    method: "PUT", credentials: "same-origin", body: JSON.stringify({ ...data.lesson, status: data.status }),
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
  });
  const reply = await saved.json();
  if (!saved.ok) {
    result.textContent = `Not saved: ${(reply.problems ?? []).map((p) => `${p.path}: ${p.message}`).join("; ")}`;
    return;
  }
  result.textContent = `Saved: step ${index + 1} now opens at t = ${exact.t.toFixed(3)} s, just before the ${exact.kind}. Start a new preview to try it.`;
  document.body.dataset.lxAuthorSaved = String(exact.t);
});
