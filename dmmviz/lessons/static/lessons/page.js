// Small behaviours of the lessons pages, without inline handlers (the Content-Security-Policy allows scripts from
// 'self' only): a form with data-confirm asks before it is sent; an input with data-select-on-focus selects its text.

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (e) => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  });
}
for (const input of document.querySelectorAll("[data-select-on-focus]")) {
  input.addEventListener("focus", () => input.select());
}
