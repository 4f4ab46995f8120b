// Parse Mermaid files with Mermaid's own parser: node check.mjs FILE... ; exit 1 if any fails.
// Mermaid expects a browser; jsdom gives it enough of one to parse (not to lay out).
import fs from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "SVGElement", "Node", "DOMParser", "MutationObserver"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log("ok", file, result.diagramType);
  } catch (err) {
    failed += 1;
    console.log("FAIL", file, String(err.message || err));
  }
}
process.exit(failed ? 1 : 0);
