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
