// What Mermaid's own parser makes of a file: node actors.mjs FILE -> {"actors": [...], "title": ..., "messages": n}.
// The hostile-names tests use it to check that no user string added a participant, a message or a directive.
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

const diagram = await mermaid.mermaidAPI.getDiagramFromText(fs.readFileSync(process.argv[2], "utf8"));
const db = diagram.db;
const actors = db.getActors();
console.log(JSON.stringify({
  actors: actors instanceof Map ? [...actors.keys()] : Object.keys(actors),
  labels: (actors instanceof Map ? [...actors.values()] : Object.values(actors)).map((a) => a.description),
  title: db.getDiagramTitle ? db.getDiagramTitle() : null,
  messages: db.getMessages().length,
}));
