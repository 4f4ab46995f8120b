// The websocket to the session: frames built by protocol.js's `frame` (generated from dmmviz/protocol.py, so no
// message name is spelled here), request ids so a reply can be matched, and reconnection with back-off (and jitter)
// whenever the socket closes: a restart, a network drop, or the server's database/Redis being away (close 4503). On reconnect
// the server sends a fresh snapshot, which is all the page needs: it keeps no protocol state of its own.

// Close code 4503 (protocol.CLOSE_UNAVAILABLE, like HTTP's 503): the server's database or Redis is away; the socket
// had an error frame (code "unavailable") saying so just before.
const CLOSE_UNAVAILABLE = 4503;
const MAX_RETRY_MS = 15000;

export class Socket {
  /**
   * @param {string} url ws:// or wss:// URL of the session
   * @param {object} protocol the module served at /protocol.js
   * @param {{onMessage: (msg, mine: object|null) => void, onStatus: (status: string, detail?: string) => void}} handlers
   *   mine is the {id, type, fields} of our own request that this message answers, or null.
   */
  constructor(url, protocol, { onMessage, onStatus }) {
    this.url = url;
    this.protocol = protocol;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.nextId = 1;
    this.outstanding = new Map(); // id -> {type, fields}
    this.retry = 0;
    this.closedForGood = false;
    queueMicrotask(() => this.connect()); // after the caller has its reference to us

  }

  connect() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.onStatus("open");
    });
    ws.addEventListener("message", (e) => {
      let msg;
      const t0 = performance.now();
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.parseMs = (this.parseMs ?? 0) + (performance.now() - t0);
      this.parseMax = Math.max(this.parseMax ?? 0, performance.now() - t0);
      this.bytes = (this.bytes ?? 0) + e.data.length;
      if (msg.type === this.protocol.SERVER.SNAPSHOT) {
        // A snapshot is a working session again: the next outage starts its back-off from the shortest delay.
        this.retry = 0;
        this.toldUnavailable = false;
      }
      let mine = null;
      if (msg.re !== undefined && this.outstanding.has(msg.re)) {
        mine = this.outstanding.get(msg.re);
        this.outstanding.delete(msg.re);
      }
      this.onMessage(msg, mine);
    });
    ws.addEventListener("close", (e) => {
      this.outstanding.clear();
      if (e.code === this.protocol.CLOSE_SESSION_NOT_FOUND) {
        this.closedForGood = true;
        this.onStatus("gone", "This session does not exist (any more). Start a new one from the home page.");
        return;
      }
      const delay = this.backoff();
      if (e.code === (this.protocol.CLOSE_UNAVAILABLE ?? CLOSE_UNAVAILABLE) && !this.toldUnavailable) {
        // The server's database or Redis is away (it said so in an error frame first): keep trying, gently.
        this.toldUnavailable = true;
        this.onStatus("closed", "The server cannot reach its database or message service just now; reconnecting by itself.");
      } else {
        this.onStatus("closed");
      }
      setTimeout(() => this.connect(), delay);
    });
  }

  /** Milliseconds before the next attempt: doubling from 300 ms to at most 15 s, with jitter so that a class of
   * tabs that lost the server together does not come back in one burst. */
  backoff() {
    const base = Math.min(MAX_RETRY_MS, 300 * 2 ** this.retry++);
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** True while any request of ours has no reply yet (optionally only of one type). */
  pending(type = null) {
    if (type === null) return this.outstanding.size > 0;
    for (const r of this.outstanding.values()) if (r.type === type) return true;
    return false;
  }

  /** Send a request; returns its id, or null when the socket is not open. */
  send(type, fields = {}) {
    if (!this.open) return null;
    const id = this.nextId++;
    this.outstanding.set(id, { id, type, fields });
    this.ws.send(this.protocol.frame(type, { id, ...fields }));
    return id;
  }
}
