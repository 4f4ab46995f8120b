// Animation geometry: pure functions, no DOM, no clock. A message is drawn at
//   progress = (now - t) / (arrive - t)
// along the path between its ends (RaftScope animates messages the same way).

/** How far along its path a message is at simulated time `now`: 0 at send, 1 at arrival (clamped). */
export function progress(now, t, arrive) {
  if (arrive === null || arrive === undefined) return 0;
  if (arrive <= t) return now >= t ? 1 : 0;
  return Math.min(1, Math.max(0, (now - t) / (arrive - t)));
}

/** A path: points plus cumulative lengths, so pointAt is a binary search rather than a walk. */
export function makePath(points) {
  const cum = [0];
  for (let i = 1; i < points.length; i++) {
    const dx = points[i].x - points[i - 1].x;
    const dy = points[i].y - points[i - 1].y;
    cum.push(cum[i - 1] + Math.hypot(dx, dy));
  }
  return { points, cum, length: cum[cum.length - 1] };
}

/** The point at fraction f (0..1) of the path's length. */
export function pointAt(path, f) {
  const { points, cum, length } = path;
  if (points.length === 1 || length === 0) return { x: points[0].x, y: points[0].y };
  const target = Math.min(1, Math.max(0, f)) * length;
  let lo = 1, hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  const seg = cum[lo] - cum[lo - 1] || 1;
  const u = (target - cum[lo - 1]) / seg;
  const a = points[lo - 1], b = points[lo];
  return { x: a.x + (b.x - a.x) * u, y: a.y + (b.y - a.y) * u };
}

/** Shift a polyline sideways by `d` (to the left of its direction), so opposite directions use separate lanes. */
export function offsetPolyline(points, d) {
  if (!d || points.length < 2) return points;
  return points.map((p, i) => {
    const a = points[Math.max(0, i - 1)];
    const b = points[Math.min(points.length - 1, i + 1)];
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    return { x: p.x + (-(b.y - a.y) / len) * d, y: p.y + ((b.x - a.x) / len) * d };
  });
}

/**
 * The tunnel between two nodes: a quadratic curve bowing away from the straight link (upwards when the ends are
 * level), the same curve whichever end it is asked from. Returns {points, control, mid}.
 */
export function tunnelCurve(aId, a, bId, b, samples = 24) {
  const flip = aId > bId;
  const p = flip ? b : a;
  const q = flip ? a : b;
  const dx = q.x - p.x, dy = q.y - p.y;
  const len = Math.hypot(dx, dy) || 1;
  let nx = -dy / len, ny = dx / len;
  if (ny > 0 || (ny === 0 && nx > 0)) { nx = -nx; ny = -ny; } // bow upwards
  const bow = Math.min(140, 0.22 * len + 20);
  const c = { x: (p.x + q.x) / 2 + nx * bow, y: (p.y + q.y) / 2 + ny * bow };
  const points = [];
  for (let i = 0; i <= samples; i++) {
    const u = i / samples;
    const w0 = (1 - u) * (1 - u), w1 = 2 * u * (1 - u), w2 = u * u;
    points.push({ x: w0 * p.x + w1 * c.x + w2 * q.x, y: w0 * p.y + w1 * c.y + w2 * q.y });
  }
  const mid = points[samples >> 1];
  return { points: flip ? points.slice().reverse() : points, start: p, end: q, control: c, mid };
}

/** The unordered pair key of two node ids ("A|B" with A < B). */
export function pairKey(a, b) {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * The route a message is drawn along.
 * @param {object} ev a message event (src, dst, kind, interface, encapsulated)
 * @param {object} view {pos(id), isMn(id), hasLink(a, b), core, tunnel(a, b) -> curve|null,
 *                       handle(mn, iface) -> {x, y, mar}|null, below(mar) -> point, box(id) -> {x, y, hw, hh}|null}
 */
export function messageRoute(ev, view) {
  const { src, dst } = ev;
  let points;
  const srcIsMn = view.isMn(src);
  if (srcIsMn || view.isMn(dst)) {
    const mn = srcIsMn ? src : dst;
    const other = srcIsMn ? dst : src;
    points = mnRoute(ev, mn, other, view);
    if (!srcIsMn) points = points.slice().reverse();
  } else {
    const a = view.pos(src), b = view.pos(dst);
    const tunnel = ev.encapsulated ? view.tunnel(src, dst) : null;
    if (tunnel) points = orient(tunnel.points, a);
    else points = wired(src, dst, view);
  }
  points = points.filter(Boolean);
  // Leave from the sender's edge and stop at the receiver's, so a message never hides a node's name.
  points = trimStart(points, view.box(src));
  points = trimStart(points.slice().reverse(), view.box(dst)).reverse();
  const lane = src < dst ? 5 : -5;
  return makePath(offsetPolyline(points, lane));
}

/** Cut the start of a polyline where it leaves a box {x, y, hw, hh} (centred on its first point); null: unchanged. */
export function trimStart(points, box) {
  if (!box || points.length < 2) return points;
  const inside = (p) => Math.abs(p.x - box.x) < box.hw && Math.abs(p.y - box.y) < box.hh;
  let i = 0;
  while (i < points.length && inside(points[i])) i++;
  if (i === 0 || i === points.length) return points;
  const a = points[i - 1], b = points[i];
  let lo = 0, hi = 1;
  for (let k = 0; k < 18; k++) {
    const mid = (lo + hi) / 2;
    if (inside({ x: a.x + (b.x - a.x) * mid, y: a.y + (b.y - a.y) * mid })) lo = mid;
    else hi = mid;
  }
  return [{ x: a.x + (b.x - a.x) * hi, y: a.y + (b.y - a.y) * hi }, ...points.slice(i)];
}

/** Between two fixed nodes: the scenario's direct link if there is one, otherwise through the IP core. */
function wired(a, b, view) {
  return view.hasLink(a, b) ? [view.pos(a), view.pos(b)] : [view.pos(a), view.core, view.pos(b)];
}

/** From the MN's side to `other`, MN end first. */
function mnRoute(ev, mn, other, view) {
  const h = view.handle(mn, ev.interface);
  const otherPos = view.pos(other);
  const accessOnly = ev.kind === "RS" || ev.kind === "RA" || (ev.kind === "DATA" && !ev.encapsulated);
  if (accessOnly) {
    // The air link to that MAR: from the MN if it is there, else from where it stood (a packet chasing a left MN).
    const end = h && h.mar === other ? h : view.below(other);
    return [end, otherPos];
  }
  const tunnel = ev.encapsulated ? view.tunnel(mn, other) : null;
  if (tunnel && h) return orient(tunnel.points, h);
  // End to end (client-based BU/BA): the access link to the serving MAR, then the wired path on.
  if (!h || !h.mar || h.mar === other) return [h ?? view.below(other), otherPos];
  return [h, ...wired(h.mar, other, view)];
}

/** Make a sampled curve start at the end nearer `from`. */
function orient(points, from) {
  const first = points[0], last = points[points.length - 1];
  if (!from) return points;
  const d0 = Math.hypot(first.x - from.x, first.y - from.y);
  const d1 = Math.hypot(last.x - from.x, last.y - from.y);
  return d0 <= d1 ? points : points.slice().reverse();
}
