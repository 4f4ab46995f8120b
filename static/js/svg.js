// The one place that creates SVG elements (tabatkins/railroad-diagrams keeps a single SVG() helper the same way).
// Text always goes in through textContent, so nothing from the server or a lesson is ever parsed as markup.

const NS = "http://www.w3.org/2000/svg";

/** Create an SVG element `name` with attributes `attrs` and optional text content. */
export function svg(name, attrs = {}, text = null) {
  const el = document.createElementNS(NS, name);
  for (const key in attrs) {
    const value = attrs[key];
    if (value !== null && value !== undefined && value !== false) el.setAttribute(key, value);
  }
  if (text !== null && text !== undefined) el.textContent = String(text);
  return el;
}

/** Set (or, for null/undefined/false, remove) attributes; only writes what changed, so per-frame updates stay cheap. */
export function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) {
      if (el.hasAttribute(key)) el.removeAttribute(key);
    } else {
      const text = String(value);
      if (el.getAttribute(key) !== text) el.setAttribute(key, text);
    }
  }
  return el;
}

/** Set text content only when it differs (avoids layout work on every update). */
export function setText(el, text) {
  const value = String(text ?? "");
  if (el.textContent !== value) el.textContent = value;
  return el;
}

/** A plain HTML element with attributes and text (for tables and panels); never innerHTML. */
export function html(name, attrs = {}, text = null) {
  const el = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  if (text !== null && text !== undefined) el.textContent = String(text);
  return el;
}
