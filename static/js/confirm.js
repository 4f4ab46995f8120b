// Behaviour that used to be inline (onsubmit="return confirm(...)", onfocus="this.select()"): the Content-Security-
// Policy allows scripts from this site's files only (docs/security.md), so pages mark elements with data attributes.
//   <form data-confirm="Delete this?">      asks before submitting
//   <input data-select-on-focus>            selects its text on focus (share links)
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("focusin", (event) => {
  if (event.target.matches("[data-select-on-focus]")) event.target.select();
});
