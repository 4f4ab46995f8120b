"""static/js/socket.js under node with a fake WebSocket: the page reconnects with growing, jittered back-off when the
server closes with 4503 (database/Redis away), says so once, and starts again from the shortest delay after a
snapshot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HARNESS = r"""
const delays = [], statuses = [], sockets = [];
globalThis.setTimeout = (fn, ms) => { delays.push(ms); return 0; };
class FakeWS {
  static OPEN = 1;
  constructor(url) { this.url = url; this.listeners = {}; this.readyState = 0; sockets.push(this); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  fire(type, event = {}) { for (const fn of this.listeners[type] ?? []) fn(event); }
  send() {}
}
globalThis.WebSocket = FakeWS;
const { Socket } = await import(process.argv[2]);
const protocol = {
  CLOSE_SESSION_NOT_FOUND: 4404, SERVER: { SNAPSHOT: "snapshot" }, frame: (t, f) => JSON.stringify({ t, ...f }),
};
const s = new Socket("ws://x/ws/session/1/", protocol, {
  onMessage: () => {}, onStatus: (st, detail) => statuses.push([st, detail ?? null]),
});
await new Promise((r) => queueMicrotask(r));
for (let i = 0; i < 8; i++) {           // the server keeps answering 4503
  const ws = sockets.at(-1);
  ws.fire("open");
  ws.fire("close", { code: 4503 });
  s.connect();
}
const afterOutage = delays.length;
const ws = sockets.at(-1);
ws.fire("open");
ws.fire("message", { data: JSON.stringify({ type: "snapshot" }) });  // back: a working session
ws.fire("close", { code: 1006 });
console.log(JSON.stringify({ delays, statuses, afterOutage }));
"""


def test_reconnect_backs_off_with_jitter_and_resets_after_a_snapshot(tmp_path):
    node = shutil.which("node")
    assert node, "node is needed for this test (apt-get install nodejs)"
    script = tmp_path / "harness.mjs"
    script.write_text(HARNESS)
    out = subprocess.run([node, str(script), str(ROOT / "static/js/socket.js")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    delays = result["delays"][: result["afterOutage"]]
    bases = [min(15000, 300 * 2**i) for i in range(len(delays))]
    assert all(0.5 * b <= d <= b for d, b in zip(delays, bases, strict=True)), delays
    assert delays[-1] >= 7500  # grew to the cap's range, not hammering the server
    told = [d for st, d in result["statuses"] if d]
    assert len(told) == 1 and "database or message service" in told[0]
    assert result["delays"][-1] <= 300  # after a snapshot, the next outage starts from the shortest delay
