// The playback clock. The browser paces the animation; the server never sleeps: the player asks for the events up to
// its clock (run_until) and never lets the clock pass a time the server has not processed yet (`next`, the time of
// the next scheduled event).
//
// Pacing: while a visible message is in the air, simulated time runs in slow motion, so that a message whose flight
// is the geometric mean of the shortest and longest in the air takes FLIGHT_WALL seconds at 1× (a 2 ms access link
// and a 10 ms core path take about 0.4 s and 2 s: their real proportions, slowed down), and the shortest never takes
// less than MIN_FLIGHT_WALL. Data alone in the air moves faster (DATA_FLIGHT_WALL): signalling is what students
// watch. When nothing is in the air the clock skips to the next event in at most IDLE_SKIP_WALL seconds.
// Speed multiplies all of these.

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 10, 100];
const FLIGHT_WALL = 0.9;
const DATA_FLIGHT_WALL = 0.25;
const MIN_FLIGHT_WALL = 0.3; // for signalling; data may be quicker
const MIN_DATA_FLIGHT_WALL = 0.1;
const IDLE_SKIP_WALL = 0.4;
const IDLE_RATE = 0.5; // simulated s per wall s, at least, across idle gaps
const STEP_TWEEN_WALL = 0.45; // a single step glides the clock to the new time over this long
const FAST = 10; // from this speed on, one request may cover several event times (messages may be skipped) ...
const MAX_CHUNK = 0.25; // ... but never more than this much simulated time, so a reply stays small ...
const LEAD_WALL = 0.3; // ... and the page asks ahead, this much playback early, so the clock never waits on a reply

export class Player {
  /**
   * @param {{request: (type: string, fields?: object) => void, flight: (clock) => number|null, onChange: () => void}} deps
   *   request sends run_until; flights gives {min, max, signalling} of the visible messages in the air (or null);
   *   nextStart gives the send time of the first visible message known but not yet sent at the clock (or null);
   *   onChange is told when playing stops.
   */
  constructor({ request, flights, nextStart, onChange }) {
    this.request = request;
    this.flights = flights;
    this.nextStart = nextStart;
    this.onChange = onChange;
    this.clock = 0;
    this.serverNow = 0;
    this.next = null;
    this.playing = false;
    this.speed = 1;
    this.tween = null;
    this.waiting = false; // a run_until of ours is out
    this.requestId = null; // its id
    this.rate = 0; // simulated s per wall s in the last frame (shown as "slow motion")
    // A time the clock stops at while playing, for something the page itself does then (redo the student's undone
    // action): the server is asked for events up to it exactly, never beyond, and onHold(t) is called once there.
    this.hold = null;
    this.holding = false; // onHold was called and has not finished (main.js clears it)
    this.onHold = null;
  }

  /** The next time something happens: the server's next event or the hold, whichever comes first. */
  get upcomingStop() {
    if (this.hold === null) return this.next;
    return this.next === null || this.hold < this.next ? this.hold : this.next;
  }

  /** A snapshot: the clock jumps to the server's time. */
  sync(now, next) {
    this.serverNow = now;
    this.next = next;
    this.clock = now;
    this.tween = null;
    this.waiting = false;
  }

  /**
   * An `events` message: the reply to the player's own run_until (`paced`), or anything else (a step, a command, a
   * seek forward, another tab's playback), to which the clock glides.
   */
  onEvents(msg, { paced }) {
    this.serverNow = msg.now;
    this.next = msg.next;
    if (paced) {
      this.waiting = false;
      this.requestId = null;
      // Paused while a request ahead of the clock was out: the clock catches up with what is now drawn.
      if (!this.playing && msg.now > this.clock && !this.tween) this.glideTo(msg.now);
      return;
    }
    if (msg.now > this.clock) this.glideTo(msg.now);
    else if (msg.now < this.clock) this.clock = msg.now;
  }

  glideTo(t) {
    const now = performance.now() / 1000;
    this.tween = { from: this.clock, to: t, start: now, dur: STEP_TWEEN_WALL };
  }

  play() {
    if (this.tween) {
      this.clock = this.tween.to;
      this.tween = null;
    }
    this.playing = true;
  }

  /**
   * Stop playing. At high speed the server has run a little ahead of the clock (the tables and the log show events
   * up to serverNow): the clock glides there, so it shows the time of the last event drawn and an action applies at
   * the time shown. (If a request is still out, onEvents does the same when its reply comes.)
   */
  pause() {
    this.playing = false;
    if (!this.waiting && this.serverNow > this.clock + 1e-9 && !this.tween) this.glideTo(this.serverNow);
  }

  /** Nothing scheduled, nothing to redo and nothing in the air: the run is over for now. */
  finished() {
    return this.upcomingStop === null && this.flights(this.clock) === null && this.nextStart(this.clock) === null;
  }

  /** Advance the clock by one frame of `dt` wall seconds; returns the clock. */
  frame(dt) {
    if (this.tween) {
      const now = performance.now() / 1000;
      const u = Math.min(1, (now - this.tween.start) / this.tween.dur);
      const eased = u < 0.5 ? 2 * u * u : 1 - 2 * (1 - u) * (1 - u);
      this.clock = u >= 1 ? this.tween.to : this.tween.from + (this.tween.to - this.tween.from) * eased;
      if (u >= 1) this.tween = null;
      return this.clock;
    }
    if (!this.playing) {
      this.rate = 0;
      return this.clock;
    }
    const next = this.upcomingStop; // the server's next event, or the hold if that comes first
    if (this.hold !== null && next === this.hold && this.clock >= this.hold - 1e-9) {
      // At the hold: once the server is there too, hand over (once); the clock waits meanwhile.
      if (!this.holding && !this.waiting && this.serverNow >= this.hold - 1e-9) {
        this.holding = true;
        this.onHold?.(this.hold);
      } else if (!this.holding && !this.waiting) {
        this.waiting = true;
        this.requestId = this.request(this.hold);
        if (this.requestId === null) this.waiting = false;
      }
      this.rate = 0;
      return this.clock;
    }
    const f = this.flights(this.clock);
    const upcoming = this.nextStart(this.clock); // a message already known, leaving later
    let rate;
    let stop = next; // the clock may not pass this in this frame
    if (f !== null) {
      const typical = Math.sqrt(f.min * f.max);
      rate = f.signalling ? Math.min(typical / FLIGHT_WALL, f.min / MIN_FLIGHT_WALL) : Math.min(typical / DATA_FLIGHT_WALL, f.min / MIN_DATA_FLIGHT_WALL);
      rate *= this.speed;
    } else if (next === null && upcoming === null) {
      if (!this.waiting) {
        this.playing = false;
        this.onChange();
      }
      return this.clock;
    } else {
      // Nothing in the air: skip to whatever happens next, and land on it (never jump over a message).
      const until = upcoming === null ? next : next === null ? upcoming : Math.min(upcoming, next);
      rate = Math.max(this.speed * IDLE_RATE, (until - this.clock) / IDLE_SKIP_WALL);
      if (upcoming !== null && (stop === null || upcoming < stop)) stop = upcoming;
    }
    this.rate = rate;
    let target = this.clock + rate * Math.min(dt, 0.1);
    const fast = this.speed >= FAST;
    // Up to 1×-ish speeds: ask exactly to the next event time when the clock reaches it, so a message sent then is seen
    // leaving and the tables change when it arrives. At high speed: ask ahead of the clock (the tables may lead it by
    // a fraction of a second of playback), in small chunks.
    const lead = fast ? Math.min(MAX_CHUNK, rate * LEAD_WALL) : 0;
    const there = next === this.hold && this.serverNow >= next - 1e-9; // the server is already at the hold
    if (next !== null && !there && target + lead >= next && !this.waiting) {
      this.waiting = true;
      let t = fast ? Math.min(Math.max(target + lead, next), next + MAX_CHUNK) : next;
      if (this.hold !== null && t > this.hold) t = this.hold; // never run past an action still to be redone
      this.requestId = this.request(t);
      if (this.requestId === null) this.waiting = false; // not connected: try again next frame
    }
    if (stop !== null && target > stop) target = stop;
    if (target > this.clock) this.clock = target;
    return this.clock;
  }

  /** Busy means the page is still moving or waiting: the state hook says "animating". */
  busy() {
    return this.playing || this.tween !== null || this.waiting || this.holding;
  }
}
