// Bring an element into view by scrolling only its nearest scrolling box (the lesson panel, the event log), so the
// page itself never shifts under the toolbar at 1280x720. Where no box scrolls (phones: the page does), the page does.

function scroller(el) {
  for (let p = el.parentElement; p && p !== document.body && p !== document.documentElement; p = p.parentElement) {
    const style = getComputedStyle(p);
    if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
}

/** Scroll el into view: `centre` puts it in the middle of its box, otherwise just enough to show it. */
export function reveal(el, { centre = false } = {}) {
  if (!el) return;
  const box = scroller(el);
  if (!box) {
    el.scrollIntoView({ block: centre ? "center" : "nearest" });
    return;
  }
  const r = el.getBoundingClientRect();
  const b = box.getBoundingClientRect();
  if (centre) box.scrollTop += r.top - b.top - (b.height - r.height) / 2;
  else if (r.bottom > b.bottom) box.scrollTop += Math.min(r.bottom - b.bottom + 8, r.top - b.top);
  else if (r.top < b.top) box.scrollTop -= b.top - r.top + 8;
}
