// One question before something is lost (the student's undone actions, a reset): a modal <dialog> in the page
// (templates/web/session.html, #confirm) rather than window.confirm, so it looks like the rest of the page, lists what
// would go, and is reachable by keyboard (Esc or "Cancel" keeps everything).

import { html } from "./svg.js";

/**
 * Ask; resolves true when the student chose `ok`. While it is open body[data-asking] is set (the state hook says
 * "asking", and the keyboard shortcuts leave the page alone).
 * @param {{title: string, text: string, items?: string[], ok: string, cancel?: string}} q
 */
export function ask({ title, text, items = [], ok, cancel = "Cancel" }) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-text").textContent = text;
  const list = dialog.querySelector("#confirm-items");
  list.replaceChildren(...items.slice(0, 8).map((t) => html("li", {}, t)));
  if (items.length > 8) list.appendChild(html("li", {}, `and ${items.length - 8} more`));
  list.hidden = items.length === 0;
  const okButton = dialog.querySelector("#confirm-ok");
  const cancelButton = dialog.querySelector("#confirm-cancel");
  okButton.textContent = ok;
  cancelButton.textContent = cancel;
  dialog.returnValue = "";
  document.body.dataset.asking = "1";
  dialog.showModal();
  cancelButton.focus(); // the safe answer is the default
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      delete document.body.dataset.asking;
      resolve(dialog.returnValue === "ok");
    }, { once: true });
  });
}
