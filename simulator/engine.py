"""The simulation: distributed mobility anchoring with Proxy Mobile IPv6 (the seed's section 4), step by step.

Theory of operation
-------------------
Roles (seed §1, §4.1; RFC 8885 names in brackets). Every MAR allocates /64 home network prefixes (HNPs) from its
pool to the mobile nodes attached to it and is their *anchor* (H-MAR, LMA role) [anchoring MAAR]. When a mobile node
moves on, the MAR it reaches is the *serving* MAR (V-MAR, MAG role) [S-MAAR] for the prefixes it brought along. One MAR
is anchor for some prefixes and serving MAR for others at once (seed Figure 4). The session DB [CMD] stores, per mobile
node and interface, each live prefix and its anchor.

The life of a prefix:
  allocated   the MAR it was allocated by received an RS; it wrote (hnp, anchor) to the session DB;
  native      the MN sits at the anchor: packets are routed without any mobility function (seed §4.2 step 2);
  redirected  the MN moved on while a flow used the prefix: the serving MAR sent a PBU, the anchor keeps a binding
              and a bidirectional tunnel, the RA lists the prefix as deprecated (seed §4.2 steps 3-5);
  released    no active flow is left on it (REQ2): the DB entry, the binding and the tunnel go.
A prefix with no active flow never gets mobility signalling (REQ2): when the MN leaves the anchor, idle prefixes are
released at once; when the last flow on a redirected prefix ends, the serving MAR de-registers it.

Flows. A flow takes a preferred prefix of its interface (RFC 6724 rule 3 avoids deprecated ones), so a flow started
after a handover is native at the new MAR. Each flow sends a packet each way every ``flow_interval``. The network is
assumed to see a flow's start and end at once (a real router would use an idle timer): this is what lets the MARs
apply REQ2.

How a step works. Everything that happens later sits in one heap of ``(time_us, counter, handler, argument)``; a
``step()`` pops one entry and runs its handler, which may emit events and schedule more entries. Time is integer
microseconds, ties break by the counter, nodes are iterated in sorted order: the same scenario, seed and commands give
the same events, byte for byte. Events are JSON-ready dicts (docs/engine.md), never changed after they are emitted.
"""

from __future__ import annotations

import heapq
import ipaddress
import random
from collections.abc import Callable
from typing import Any

from . import commands
from . import constants as C
from .commands import CommandError
from .events import Role
from .limits import DEFAULT_BUDGET, MAX_SEED, Budget, TooMuchWork
from .bindings import SERVING, Binding, BulEntry, State, next_state
from .designs import Design, design_for
from .nodes import Flow, Mar, MobileNode, Segment
from .constants import Timers, timers_from_scenario
from .scenario import DEFAULT_LMA, Problem, ScenarioError, load_scenario
from .scenario import FORMAT as SCENARIO_FORMAT
from .topology import Topology

TRACE_FORMAT = "dmmviz-trace/1"
STATE_FORMAT = "dmmviz-state/1"
US = 1_000_000  # microseconds per second



def seconds(t_us: int) -> float:
    return t_us / US


class Simulation:
    """One run of a scenario. See docs/engine.md for the API and the events."""

    def __init__(self, scenario: dict[str, Any], seed: int = 0, mode: str | None = None, record: bool = True) -> None:
        if scenario.get("format") != SCENARIO_FORMAT or "script" not in scenario or "session_db" not in scenario.get("network", {}):
            scenario = load_scenario(scenario)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ScenarioError([Problem("seed", f"must be an integer from 0 to {MAX_SEED} (docs/engine.md, Limits)")])
        self.scenario = scenario
        self.seed = seed
        self.record = record
        self.timers: Timers = timers_from_scenario(scenario)
        self.random = random.Random(seed)
        net = scenario["network"]
        self.db_id: str = net["session_db"]["id"]
        self.mars: dict[str, Mar] = {m["id"]: Mar(m["id"], ipaddress.IPv6Network(m["prefix_pool"])) for m in net["mars"]}
        self.cns: dict[str, str] = {c["id"]: c["address"] for c in net["cns"]}
        self.mns: dict[str, MobileNode] = {
            m["id"]: MobileNode(m["id"], list(m["interfaces"]), {i: None for i in m["interfaces"]}, {i: [] for i in m["interfaces"]})
            for m in scenario["mobile_nodes"]
        }
        self.lma_spec: dict[str, str] = dict(net.get("lma") or DEFAULT_LMA)
        # The anchoring design: the strategy that makes the decisions in which the designs differ (simulator/designs.py).
        self.design: Design = design_for(mode or scenario.get("mode") or "network-dmm", self)
        self.mode: str = self.design.name
        lma = self.design.lma(self.lma_spec)
        self.routers: dict[str, Mar] = {**self.mars, lma.id: lma} if lma else self.mars  # every node with a binding cache
        wired = [*self.mars, *self.cns, self.db_id, *([lma.id] if lma else [])]
        links = [(l["between"][0], l["between"][1], float(l["delay_ms"])) for l in net["links"]]
        self.topology = Topology(wired, links, self.timers.core_delay_ms)
        self.access_us = round(self.timers.access_delay_ms * 1000)
        self.interval_us = round(self.timers.flow_interval * US)
        # The session DB (RFC 8885 CMD): mn -> hnp -> {"hnp", "anchor", "interface"}
        self.db: dict[str, dict[str, dict[str, str]]] = {}
        self.prefix_anchor: dict[str, str] = {}  # every prefix ever allocated -> its anchor
        self.prefix_flows: dict[str, set[tuple[str, str]]] = {}  # hnp -> active (mn, flow)
        self._seen_attached: set[tuple[str, str]] = set()  # (mn, interface) that attached before: later RSs look up the DB
        self.now_us = 0
        self.steps = 0  # scheduled items processed so far
        # For step_back: ``steps`` right after the visible thing before the latest one (``visible_before``), and
        # right after the latest (``_visible_end``). Items that emit nothing in between do not move them.
        self.visible_before = 0
        self._visible_end = 0
        self.last_was_command = False
        self.journal: tuple[tuple[int, int, dict[str, Any]], ...] = ()
        self._queue: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._counter = 0
        self._seq = 0
        self._msg_id = 0
        self._out: list[dict[str, Any]] = _DISCARD  # where the current step's events go
        self._watching = record  # does anyone keep or collect events? (if not, the hot path skips building them)
        self.events: list[dict[str, Any]] = []
        self._arrival: dict[str, Callable[[Any], None]] = self.design.handlers()
        for step in scenario["script"]:
            self._schedule(round(step["at"] * US), self._script_action, step)

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.now_us / US

    def peek(self) -> float | None:
        return self._queue[0][0] / US if self._queue else None

    def step(self, budget: Budget | None = None) -> list[dict[str, Any]]:
        """Process scheduled items up to and including the next one that changes something visible (emits events);
        return those events. Items that change nothing a user can see (a packet reaching its CN) do not count as a step
        of their own. Returns [] when nothing is scheduled. Raises TooMuchWork past ``budget`` (default: DEFAULT_BUDGET)."""
        out: list[dict[str, Any]] = []
        self._set_out(out)
        meter = _Meter(self, budget or DEFAULT_BUDGET)
        try:
            while self._queue and not out:
                if self.steps >= meter.next_check:
                    meter.check(self.steps)
                self._process(heapq.heappop(self._queue))
        finally:
            self._set_out(_DISCARD)
        return out

    def _process(self, item: tuple[int, int, Callable[[Any], None], Any]) -> None:
        t_us, _, handler, arg = item
        seq = self._seq
        self.now_us = t_us
        handler(arg)
        self.steps += 1
        if self._seq != seq:
            self.visible_before, self._visible_end = self._visible_end, self.steps
            self.last_was_command = False

    def run(self, until: float, collect: bool = True, budget: Budget | None = None) -> list[dict[str, Any]]:
        """Step while the next item is due at or before ``until``; then the clock reads ``until``.

        With ``collect=False`` the events are not returned (they are still recorded when ``record`` is set).
        Raises TooMuchWork when the run needs more than ``budget`` allows (default: DEFAULT_BUDGET, so every run is
        bounded); the simulation then stands where the work stopped, consistent, with ``now`` not advanced to
        ``until``."""
        until_us = round(until * US)
        out: list[dict[str, Any]] = []
        self._set_out(out if collect else _DISCARD)
        queue, pop = self._queue, heapq.heappop
        steps, visible, end, seq = self.steps, self.visible_before, self._visible_end, self._seq
        meter = _Meter(self, budget or DEFAULT_BUDGET)
        check = meter.next_check
        try:
            while queue and queue[0][0] <= until_us:
                if steps >= check:  # the budget is checked every few thousand items: one comparison per item
                    check = meter.check(steps)
                t_us, _, handler, arg = pop(queue)
                self.now_us = t_us
                handler(arg)
                steps += 1
                if self._seq != seq:
                    seq, visible, end = self._seq, end, steps
        finally:
            if steps != self.steps:
                if end != self._visible_end:
                    self.last_was_command = False
                self.steps, self.visible_before, self._visible_end = steps, visible, end
            self._set_out(_DISCARD)
        if until_us > self.now_us:
            self.now_us = until_us
        return out

    def apply(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply a user command now. Raises CommandError and changes nothing when it cannot happen."""
        if not isinstance(command, dict):
            raise CommandError("command", "must be an object")
        step = self._check_command(command)
        self.journal = (*self.journal, (self.steps, self.now_us, dict(command)))
        out = []
        self._set_out(out)
        self._do_action(step, "user")
        self._set_out(_DISCARD)
        self.last_was_command = True
        self._visible_end = self.steps
        return out

    def step_back(self, budget: Budget | None = None) -> "Simulation":
        """A new simulation one visible step earlier: before the last user command, or before the last step that
        emitted events. Built by replay, so it is exact (and bounded by ``budget``, as ``replay``)."""
        if self.last_was_command and self.journal:
            return Simulation.replay(self.scenario, self.seed, self.journal[:-1], self.steps, now=self.now, mode=self.mode,
                                     budget=budget, record=self.record)
        return Simulation.replay(self.scenario, self.seed, self.journal, self.visible_before, mode=self.mode,
                                 budget=budget, record=self.record)

    @classmethod
    def replay(
        cls,
        scenario: dict[str, Any],
        seed: int,
        journal: Any,
        steps: int,
        now: float | None = None,
        mode: str | None = None,
        *,
        budget: Budget | None = None,
        record: bool = True,
    ) -> "Simulation":
        """Rebuild a simulation from its scenario, seed and journal, stopped after ``steps`` steps.

        ``steps`` counts scheduled items (``sim.steps``); a journal entry made after that point is dropped. Raises
        TooMuchWork when that takes more than ``budget`` (default: DEFAULT_BUDGET). ``record=False`` keeps no events.
        """
        sim = Simulation(scenario, seed=seed, mode=mode, record=record)
        meter = _Meter(sim, budget or DEFAULT_BUDGET)
        kept = []
        for steps_before, now_us, command in journal:
            steps_before, now_us = int(steps_before), int(now_us)
            if steps_before > steps:
                break
            while sim.steps < steps_before and sim._queue:
                if sim.steps >= meter.next_check:
                    meter.check(sim.steps)
                sim._process(heapq.heappop(sim._queue))
            sim.now_us = max(sim.now_us, now_us)
            sim.apply(command)
            kept.append((steps_before, now_us, command))
        while sim.steps < steps and sim._queue:
            if sim.steps >= meter.next_check:
                meter.check(sim.steps)
            sim._process(heapq.heappop(sim._queue))
        if now is not None:
            sim.now_us = max(sim.now_us, round(now * US))
        sim.journal = tuple(kept)
        return sim

    # -- scheduling and emission -------------------------------------------------------------------------------

    def _schedule(self, t_us: int, handler: Callable[[Any], None], arg: Any) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (t_us, self._counter, handler, arg))

    def _emit(self, event: dict[str, Any]) -> dict[str, Any]:
        event["seq"] = self._seq
        self._seq += 1
        self._out.append(event)
        if self.record:
            self.events.append(event)
        return event

    def _set_out(self, out: list[dict[str, Any]]) -> None:
        self._out = out
        self._watching = self.record or out is not _DISCARD

    def _state(self, kind: str, node: str, **fields: Any) -> None:
        if self._watching:
            self._emit({"t": self.now_us / US, "kind": kind, "node": node, **fields})
        else:
            self._seq += 1

    def _delay_us(self, src: str, dst: str) -> int:
        if src in self.mns or dst in self.mns:
            return self.access_us
        return self.topology.delay_us[src][dst]

    def _send(self, kind: str, src: str, dst: str, fields: dict[str, Any], delay_us: int | None = None) -> dict[str, Any]:
        """Emit a message and schedule its arrival at ``dst``."""
        if delay_us is None:
            delay_us = self._delay_us(src, dst)
        self._msg_id += 1
        now = self.now_us
        msg = {"id": self._msg_id, "t": now / US, "arrive": (now + delay_us) / US, "kind": kind, "src": src, "dst": dst}
        msg.update(fields)
        self._emit(msg)
        self._schedule(now + delay_us, self._arrival[kind], msg)
        return msg

    def _drop(self, node: str, msg: dict[str, Any], reason: str, in_flight: bool) -> None:
        self._emit(
            {"t": self.now_us / US, "kind": "drop", "node": node, "msg": msg["id"], "msg_kind": msg["kind"],
             "flow": msg.get("flow"), "mn": msg.get("mn"), "reason": reason, "in_flight": in_flight}
        )

    # -- commands ------------------------------------------------------------------------------------------------

    def _script_action(self, step: dict[str, Any]) -> None:
        try:
            checked = self._check_command(step)
        except CommandError as exc:  # validation makes this rare (e.g. a user command changed the picture)
            self._state("action_rejected", step.get("mn", ""), action=step.get("action"), field=exc.field, message=exc.message)
            return
        self._do_action(checked, "script")

    def _check_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """Validate a command against the current state (simulator/commands.py); return it with defaults filled in."""
        return commands.check(self, command, self.mode)

    # The World that commands.check reads (simulator/commands.py).
    def interfaces_of(self, mn: str) -> list[str] | None:
        node = self.mns.get(mn)
        return node.interfaces if node is not None else None

    def attached_to(self, mn: str, interface: str) -> str | None:
        return self.mns[mn].attached[interface]

    def flow_interface(self, mn: str, flow: str) -> str | None:
        found = self.mns[mn].flows.get(flow)
        return found.interface if found is not None and found.active else None

    def _do_action(self, step: dict[str, Any], source: str) -> None:
        self._emit({"t": self.now_us / US, "kind": "action", "node": step["mn"], "source": source, **step})
        action = step["action"]
        mn = self.mns[step["mn"]]
        if action == "attach":
            self._l2_attach(mn, step["interface"], step["mar"])
        elif action == "detach":
            self._l2_detach(mn, step["interface"], leaving=True)
        elif action == "move":
            self._l2_detach(mn, step["interface"], leaving=False)
            delay = round(self.timers.l2_handover_delay * US)
            self._schedule(self.now_us + delay, self._l2_attach_later, (mn, step["interface"], step["mar"]))
        elif action == "start_flow":
            self._start_flow(mn, step["flow"], step["cn"], step["interface"])
        elif action == "stop_flow":
            self._stop_flow(mn, mn.flows[step["flow"]])
        elif action == "move_flow":
            self._move_flow(mn, mn.flows[step["flow"]], step["interface"])

    # -- link layer ----------------------------------------------------------------------------------------------

    def _l2_attach_later(self, arg: tuple[MobileNode, str, str]) -> None:
        mn, iface, mar_id = arg
        if mn.attached[iface] is None:  # a user command may have attached it meanwhile
            self._l2_attach(mn, iface, mar_id)

    def _l2_attach(self, mn: MobileNode, iface: str, mar_id: str) -> None:
        mar = self.mars[mar_id]
        mn.attached[iface] = mar_id
        mn.link_confirmed[iface] = False  # RFC 4862 §5.5 / DNA: new flows wait for this link's RA
        mar.attached[(mn.id, iface)] = self.now_us
        self._state("l2_attach", mar_id, mn=mn.id, interface=iface)
        self._schedule(self.now_us + round(self.timers.rs_delay * US), self._send_rs, (mn, iface, mar_id))

    def _send_rs(self, arg: tuple[MobileNode, str, str]) -> None:
        mn, iface, mar_id = arg
        if mn.attached[iface] == mar_id:
            self._send("RS", mn.id, mar_id, {"mn": mn.id, "interface": iface})

    def _l2_detach(self, mn: MobileNode, iface: str, leaving: bool) -> None:
        """The MN leaves the MAR's link. ``leaving`` is True for ``detach`` (gone), False for the first half of ``move``."""
        self.design.l2_detaching(mn, iface)
        mar = self.mars[mn.attached[iface]]  # type: ignore[index]
        mn.attached[iface] = None
        del mar.attached[(mn.id, iface)]
        mar.pending_ra.pop((mn.id, iface), None)
        self._state("l2_detach", mar.id, mn=mn.id, interface=iface)
        self.design.mn_left(mar, mn, iface, leaving)

    def dmm_mn_left(self, mar: Mar, mn: MobileNode, iface: str) -> None:
        """Seed §4: the old MAR keeps serving nothing for this interface; idle prefixes it anchors are released (REQ2)."""
        for entry in sorted(mar.bul.for_interface(mn.id, iface), key=lambda e: (e.mn, e.hnp, e.flow or "")):
            if entry.flow is not None:
                self._end_flow_binding(mar, entry)
                continue
            mar.bul.remove(entry, "MN left")
            if entry.state == State.ACTIVE:
                self._state("bul_removed", mar.id, mn=mn.id, hnp=entry.hnp, anchor=entry.anchor, flow=entry.flow)
        for hnp in sorted(h for h, owner in mar.own.items() if owner == (mn.id, iface)):
            if not self.prefix_flows.get(hnp):
                self.dmm_release_prefix(mar, mn.id, hnp)

    # -- prefixes and the session DB -------------------------------------------------------------------------

    def _allocate_prefix(self, node_id: str, pool: ipaddress.IPv6Network, index: int, mn: str, iface: str) -> str:
        base = int(pool.network_address) + (index << (128 - C.HNP_LENGTH))
        hnp = f"{ipaddress.IPv6Address(base)}/{C.HNP_LENGTH}"
        self.prefix_anchor[hnp] = node_id
        self.prefix_flows.setdefault(hnp, set())
        self._state("hnp_allocated", node_id, mn=mn, interface=iface, hnp=hnp)
        return hnp

    def dmm_release_prefix(self, mar: Mar, mn: str, hnp: str) -> None:
        """The anchor gives a prefix up (REQ2): the DB forgets it, the prefix is never advertised again."""
        _, iface = mar.own.pop(hnp)
        if mar.local.get((mn, iface)) == hnp:
            del mar.local[(mn, iface)]
        self._state("hnp_released", mar.id, mn=mn, interface=iface, hnp=hnp)
        for key, binding in sorted(mar.bc.items(), key=lambda kb: _key_order(kb[0])):
            if key[0] == mn and key[1] == hnp and binding.state == State.ACTIVE:
                self._delete_binding(mar, binding, "prefix released")  # a released prefix keeps no live binding
        self._send("DB_UPDATE", mar.id, self.db_id, {"mn": mn, "op": "remove", "entries": [{"hnp": hnp, "anchor": mar.id, "interface": iface}]})

    def dmm_on_db_update(self, msg: dict[str, Any]) -> None:
        entries = self.db.setdefault(msg["mn"], {})
        for entry in msg["entries"]:
            if msg["op"] == "add":
                entries[entry["hnp"]] = dict(entry)
                self._state("db_entry_added", self.db_id, mn=msg["mn"], hnp=entry["hnp"], anchor=entry["anchor"], interface=entry["interface"])
            elif entries.pop(entry["hnp"], None) is not None:
                self._state("db_entry_removed", self.db_id, mn=msg["mn"], hnp=entry["hnp"], anchor=entry["anchor"], interface=entry["interface"])
        if not entries:
            self.db.pop(msg["mn"], None)

    def dmm_on_db_query(self, msg: dict[str, Any]) -> None:
        """The DB records what the query writes, then answers with the MN's live prefixes on that interface (or the one
        prefix asked for)."""
        if msg["entries"]:
            self.dmm_on_db_update({**msg, "op": "add"})
        entries = self.db.get(msg["mn"], {})
        if msg.get("hnp"):
            found = [dict(entries[msg["hnp"]])] if msg["hnp"] in entries else []
        else:
            found = [dict(e) for e in entries.values() if e["interface"] == msg["interface"]]
        fields = {"mn": msg["mn"], "interface": msg["interface"], "entries": found}
        if msg.get("hnp"):
            fields["hnp"] = msg["hnp"]
            fields["flow"] = msg.get("flow")
        self._send("DB_REPLY", self.db_id, msg["src"], fields)

    # -- attachment: RS, DB lookup, PBU/PBA, RA (seed §4.2, Figure 5) ----------------------------------------

    def dmm_on_rs(self, msg: dict[str, Any]) -> None:
        mar = self.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if (mn_id, iface) not in mar.attached:
            self._drop(mar.id, msg, "the MN left the link before its RS arrived", in_flight=True)
            return
        hnp = mar.local.get((mn_id, iface))
        written = []
        if hnp is None:  # seed §4.2 step 1/3: the MAR allocates a prefix for new communications
            hnp = self._allocate_prefix(mar.id, mar.pool, mar.next_subnet, mn_id, iface)
            mar.next_subnet += 1
            mar.own[hnp] = (mn_id, iface)
            mar.local[(mn_id, iface)] = hnp
            written = [{"hnp": hnp, "anchor": mar.id, "interface": iface}]
        if (mn_id, iface) not in self._seen_attached:
            # seed Figure 5 step 1: a first attachment (the access network says so, as RFC 5213 §6.9.1.1's Handoff
            # Indicator 1 comes from L2) has no sessions to look up: write the new prefix, advertise it at once.
            self._seen_attached.add((mn_id, iface))
            if written:
                self._send("DB_UPDATE", mar.id, self.db_id, {"mn": mn_id, "op": "add", "entries": written})
            self.send_ra(mar, mn_id, iface)
            return
        mar.pending_ra[(mn_id, iface)] = set()
        # seed §4.2 step 3: retrieve the MN's ongoing mobility sessions from the centralised database. The query also
        # writes the new prefix, one exchange as in RFC 8885 §3.3: ``entries`` is what it writes.
        self._send("DB_QUERY", mar.id, self.db_id, {"mn": mn_id, "interface": iface, "entries": written})

    def dmm_on_db_reply(self, msg: dict[str, Any]) -> None:
        mar = self.mars[msg["dst"]]
        mn_id, iface = msg["mn"], msg["interface"]
        if msg.get("hnp"):
            self._flow_registration_reply(mar, msg)
            return
        waiting = mar.pending_ra.get((mn_id, iface))
        if waiting is None:
            return  # the MN left meanwhile
        by_anchor: dict[str, list[str]] = {}
        for entry in msg["entries"]:
            hnp, anchor = entry["hnp"], entry["anchor"]
            if anchor == mar.id:
                self._back_at_anchor(mar, mn_id, hnp)
            elif (mn_id, hnp, None) not in mar.bul:
                by_anchor.setdefault(anchor, []).append(hnp)
        for anchor in sorted(by_anchor):
            hnps = sorted(by_anchor[anchor])
            self._send_pbu(mar, mn_id, iface, anchor, hnps, None, C.HI_BETWEEN_MAGS)
            waiting.add((anchor, None))
        if not waiting:
            self.send_ra(mar, mn_id, iface)

    def _back_at_anchor(self, mar: Mar, mn_id: str, hnp: str) -> None:
        """The MN is back at a prefix's anchor: the prefix is native again and its binding goes (seed §3.1)."""
        binding = mar.bc.lookup(mn_id, hnp, None)
        if binding is not None and binding.state == State.ACTIVE:
            self._delete_binding(mar, binding, "MN back at the anchor")

    def _next_sequence(self, mar: Mar, mn_id: str) -> int:
        seq = (mar.sequence.get(mn_id, 0) + 1) % 65536
        mar.sequence[mn_id] = seq
        return seq

    def _send_pbu(self, mar: Mar, mn_id: str, iface: str, anchor: str, hnps: list[str], flow: str | None, hi: int) -> None:
        """RFC 5213 §6.9.1.1 / §8.1: flags A, H, P; MN-ID, HNP, Handoff Indicator, ATT and Timestamp options."""
        seq = self._next_sequence(mar, mn_id)
        lifetime = self.timers.binding_lifetime
        for hnp in hnps:
            mar.bul.add(BulEntry(mn_id, iface, hnp, flow, anchor, lifetime, seq, next_state(SERVING, State.NONE, "PBU sent")))
        fields = self._pbu_fields(mn_id, hnps, lifetime, seq, hi)
        if flow is not None:
            fields["flow"] = flow
        self._send("PBU", mar.id, anchor, fields)

    def _pbu_fields(self, mn_id: str, hnps: list[str], lifetime: float, seq: int, hi: int) -> dict[str, Any]:
        return {
            "mn": mn_id, "mn_id": f"{mn_id}@dmmviz.example", "hnps": hnps, "lifetime": lifetime, "sequence": seq,
            "flags": "AHP", "handoff_indicator": hi, "att": C.ATT_IEEE_802_11, "timestamp": self.now_us / US,
        }

    def dmm_on_pbu(self, msg: dict[str, Any]) -> None:
        """The anchor (LMA role) processes a PBU (RFC 5213 §5.3)."""
        anchor = self.routers[msg["dst"]]
        mn_id, flow, serving = msg["mn"], msg.get("flow"), msg["src"]
        if msg["lifetime"] > 0:
            not_mine = [h for h in msg["hnps"] if h not in anchor.own or anchor.own[h][0] != mn_id]
            status = C.STATUS_NOT_LMA_FOR_THIS_MN if not_mine else C.STATUS_ACCEPTED
            if status == C.STATUS_ACCEPTED:
                for hnp in msg["hnps"]:
                    self._register(anchor, mn_id, hnp, flow, serving, msg["lifetime"], msg["sequence"])
        else:  # RFC 5213 §5.3.5: a de-registration is honoured only from the MAG the binding points to
            status = C.STATUS_ACCEPTED
            for hnp in msg["hnps"]:
                binding = anchor.bc.lookup(mn_id, hnp, flow)
                if binding is not None and binding.serving == serving:
                    self._deregister(anchor, mn_id, hnp, flow)
        fields = {
            "mn": mn_id, "mn_id": msg["mn_id"], "hnps": msg["hnps"], "status": status, "sequence": msg["sequence"],
            "lifetime": msg["lifetime"] if status == C.STATUS_ACCEPTED else 0, "flags": "P",
            "handoff_indicator": msg["handoff_indicator"], "att": msg["att"], "timestamp": msg["timestamp"],
        }
        if flow is not None:
            fields["flow"] = flow
        self._send("PBA", anchor.id, serving, fields)

    def _register(self, anchor: Mar, mn_id: str, hnp: str, flow: str | None, serving: str, lifetime: float, seq: int) -> None:
        """RFC 5213 §5.3.2 (new binding) and §5.3.4 (handoff: the prefix route moves to the new tunnel)."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        if binding is None:
            anchor.bc.create(mn_id, hnp, flow, serving, lifetime, seq)
            self._state("binding_created", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=serving, lifetime=lifetime)
            self._tunnel_ref(anchor.id, serving, +1, hnp)
            return
        old = anchor.bc.update(binding, serving, lifetime, seq)
        self._state("binding_updated", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=serving, lifetime=lifetime, previous=old)
        if old != serving:
            self._tunnel_ref(anchor.id, serving, +1, hnp)
            self._tunnel_ref(anchor.id, old, -1, hnp)

    def _deregister(self, anchor: Mar, mn_id: str, hnp: str, flow: str | None) -> None:
        """RFC 5213 §5.3.5: keep the entry MinDelayBeforeBCEDelete, then delete it; REQ2 releases the prefix."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        if binding is None or binding.state != State.ACTIVE:
            return
        anchor.bc.deregister(binding)
        self._state("binding_deregistering", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=binding.serving, lifetime=0)
        delay = round(self.timers.min_delay_before_bce_delete * US)
        self._schedule(self.now_us + delay, self._bce_delete_timer, (anchor, binding, binding.version))
        if flow is None and hnp in anchor.own and not self.prefix_flows.get(hnp):
            self.design.release_prefix(anchor, mn_id, hnp)

    def _bce_delete_timer(self, arg: tuple[Mar, Binding, int]) -> None:
        anchor, binding, version = arg
        if binding.version == version and anchor.bc.lookup(binding.mn, binding.hnp, binding.flow) is binding:
            self._delete_binding(anchor, binding, "MinDelayBeforeBCEDelete expired")
        self.design.binding_expired(anchor, binding)

    def _delete_binding(self, anchor: Mar, binding: Binding, event: str) -> None:
        anchor.bc.delete(binding, event)
        self._state("binding_deleted", anchor.id, mn=binding.mn, hnp=binding.hnp, flow=binding.flow, serving=binding.serving, lifetime=0)
        self._tunnel_ref(anchor.id, binding.serving, -1, binding.hnp)

    def _tunnel_ref(self, a: str, b: str, delta: int, hnp: str) -> None:
        """Called after a binding between a and b appeared (+1) or went (-1): a tunnel exists while any binding uses it
        (RFC 5213 §5.3.4: the LMA removes a tunnel no binding uses any more)."""
        after = self._tunnel_users(a, b)
        before = after - delta
        if before == 0 and after > 0:
            self._state("tunnel_up", a, peer=b, hnps=self._tunnel_hnps(a, b))
        elif before > 0 and after == 0:
            self._state("tunnel_down", a, peer=b, hnps=[hnp])

    def _tunnel_users(self, a: str, b: str) -> int:
        users = sum(1 for x in self.routers[a].bc.values() if x.serving == b)
        if b in self.routers:
            users += sum(1 for x in self.routers[b].bc.values() if x.serving == a)
        return users

    def _tunnel_hnps(self, a: str, b: str) -> list[str]:
        hnps = {x.hnp for x in self.routers[a].bc.values() if x.serving == b}
        if b in self.routers:
            hnps |= {x.hnp for x in self.routers[b].bc.values() if x.serving == a}
        return sorted(hnps)

    def tunnels_of(self, node: str) -> list[str]:
        """The peers this node has a tunnel with (derived from the binding caches: no tunnel without a binding)."""
        peers: set[str] = set()
        for mar in self.routers.values():
            for binding in mar.bc.values():
                if mar.id == node:
                    peers.add(binding.serving)
                elif binding.serving == node:
                    peers.add(mar.id)
        return sorted(peers)

    def dmm_on_pba(self, msg: dict[str, Any]) -> None:
        """RFC 5213 §6.9.1.1: the serving MAR completes the binding; the RA waits for it (§6.9.2)."""
        mar = self.mars[msg["dst"]]
        mn_id, flow, anchor = msg["mn"], msg.get("flow"), msg["src"]
        withdrawn: set[str] = set()  # interfaces that lost a prefix here
        for hnp in msg["hnps"]:
            entry = mar.bul.lookup(mn_id, hnp, flow)
            if entry is None and msg["status"] == C.STATUS_ACCEPTED and msg["lifetime"] > 0:
                # The MN left before the PBA came back: undo the binding (RFC 5213 §6.9.1.2). The anchor ignores
                # this if another MAR has re-pointed the binding meanwhile (§5.3.5).
                gone = BulEntry(mn_id, "", hnp, flow, anchor, 0, msg["sequence"])
                self._send_dereg(mar, gone)
                continue
            if entry is None or entry.sequence != msg["sequence"]:
                continue  # stale: a newer PBU is out
            if msg["status"] != C.STATUS_ACCEPTED or msg["lifetime"] == 0:
                accepted_dereg = msg["status"] == C.STATUS_ACCEPTED
                mar.bul.remove(entry, "PBA for the de-registration" if accepted_dereg else "PBA rejected")
                withdrawn.add(entry.interface)
                if entry.state == State.ACTIVE:
                    self._state("bul_removed", mar.id, mn=mn_id, hnp=hnp, anchor=anchor, flow=flow)
                continue
            if entry.state != State.ACTIVE:
                entry.state = next_state(SERVING, entry.state, "PBA accepted")  # the one change bul.remove leaves to us
                self._state("bul_added", mar.id, mn=mn_id, hnp=hnp, anchor=anchor, flow=flow)
        answered = False
        for (m, iface), waiting in list(mar.pending_ra.items()):
            if m == mn_id and (anchor, flow) in waiting:  # the answer an RA was waiting for (accepted or not)
                answered = True
                waiting.discard((anchor, flow))
                if not waiting:
                    self.send_ra(mar, mn_id, iface)
        if not answered and flow is None:
            for iface in sorted(withdrawn):
                if (mn_id, iface) in mar.attached and (mn_id, iface) not in mar.pending_ra:
                    self.send_ra(mar, mn_id, iface)  # a released prefix is no longer advertised

    def send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """RFC 4861 §6.2.3. The MAR's own prefix is preferred; prefixes anchored elsewhere are deprecated (seed §4.2 step 4)."""
        mar.pending_ra.pop((mn_id, iface), None)
        if (mn_id, iface) not in mar.attached:
            return
        prefixes = []
        local = mar.local.get((mn_id, iface))
        if local:
            prefixes.append({"prefix": local, "preferred_lifetime": C.ADV_PREFERRED_LIFETIME, "valid_lifetime": C.ADV_VALID_LIFETIME})
        for entry in sorted(mar.bul.values(), key=lambda e: e.hnp):
            if entry.mn == mn_id and entry.interface == iface and entry.flow is None and entry.state == State.ACTIVE:
                prefixes.append({"prefix": entry.hnp, "preferred_lifetime": 0, "valid_lifetime": int(entry.lifetime)})
        self._send("RA", mar.id, mn_id, {"mn": mn_id, "interface": iface, "prefixes": prefixes})

    def on_ra(self, msg: dict[str, Any]) -> None:
        mn = self.mns[msg["dst"]]
        iface = msg["interface"]
        if mn.attached[iface] != msg["src"]:
            self._drop(mn.id, msg, "the MN left the link before the RA arrived", in_flight=True)
            return
        # RFC 4862 §5.5.3: the MN updates its prefixes; one it is no longer given is dropped (documented simplification).
        mn.prefixes[iface] = [
            {**p, "anchor": self.prefix_anchor.get(p["prefix"]), "deprecated": p["preferred_lifetime"] == 0} for p in msg["prefixes"]
        ]
        mn.link_confirmed[iface] = True
        self._state("prefixes_changed", mn.id, mn=mn.id, interface=iface, prefixes=mn.prefixes[iface])
        for flow in sorted(mn.flows.values(), key=lambda f: f.id):
            if flow.active and flow.prefix is None and flow.interface == iface:
                self._bind_flow_prefix(mn, flow)

    # -- flows -----------------------------------------------------------------------------------------------------

    def _preferred_prefix(self, mn: MobileNode, iface: str) -> str | None:
        """RFC 6724 rule 3: avoid deprecated addresses; the newest preferred prefix wins. None until the link's RA."""
        if not mn.link_confirmed.get(iface):
            return None
        preferred = [p["prefix"] for p in mn.prefixes[iface] if p["preferred_lifetime"] > 0]
        return preferred[-1] if preferred else None

    def _start_flow(self, mn: MobileNode, flow_id: str, cn: str, iface: str) -> None:
        flow = Flow(flow_id, mn.id, cn, iface, None, None, node=mn)
        old = mn.flows.get(flow_id)
        if old is not None:
            flow.generation = old.generation + 1
        mn.flows[flow_id] = flow
        self._bind_flow_prefix(mn, flow)
        if flow.prefix is None:
            self._state("flow_waiting", mn.id, mn=mn.id, flow=flow_id, cn=cn, interface=iface, reason="no preferred prefix yet")

    def _bind_flow_prefix(self, mn: MobileNode, flow: Flow) -> None:
        prefix = self._preferred_prefix(mn, flow.interface)
        if prefix is None:
            return
        flow.prefix, flow.anchor = prefix, self.prefix_anchor[prefix]
        flow.mn_address, flow.cn_address = self._address(prefix), self.cns[flow.cn]
        self.prefix_flows.setdefault(prefix, set()).add((mn.id, flow.id))
        self._state("flow_started", mn.id, mn=mn.id, flow=flow.id, cn=flow.cn, interface=flow.interface, prefix=prefix, anchor=flow.anchor)
        self._flow_tick((flow, flow.generation))

    def _stop_flow(self, mn: MobileNode, flow: Flow) -> None:
        flow.active = False
        flow.generation += 1
        self._state("flow_stopped", mn.id, mn=mn.id, flow=flow.id, cn=flow.cn, interface=flow.interface, prefix=flow.prefix, anchor=flow.anchor)
        if flow.prefix is None:
            return
        users = self.prefix_flows[flow.prefix]
        users.discard((mn.id, flow.id))
        self.design.flow_binding_ended(mn, flow.prefix, flow.id)
        if not users:
            self.design.prefix_idle(mn, flow.prefix)

    def dmm_release_flow_binding(self, mn: MobileNode, hnp: str, flow_id: str) -> None:
        """A per-flow binding (Figure 6) ends with its flow: its serving MAR de-registers it."""
        for mar_id in self._serving_mars(mn):  # BUL entries live only where the MN is attached
            entry = self.mars[mar_id].bul.lookup(mn.id, hnp, flow_id)
            if entry is not None:
                self._send_dereg(self.mars[mar_id], entry)

    def _serving_mars(self, mn: MobileNode) -> list[str]:
        return sorted({m for m in mn.attached.values() if m is not None})

    def dmm_prefix_idle(self, mn: MobileNode, hnp: str) -> None:
        """REQ2: the last flow on a prefix ended. A redirected prefix is de-registered by its serving MAR."""
        anchor = self.routers[self.prefix_anchor[hnp]]
        serving = None
        for mar_id in self._serving_mars(mn):  # BUL entries live only where the MN is attached
            entry = self.mars[mar_id].bul.lookup(mn.id, hnp, None)
            if entry is not None:
                serving = (self.mars[mar_id], entry)
        if serving is not None:
            self._send_dereg(*serving)
            return
        owner = anchor.own.get(hnp)
        if owner is None:
            return
        at_anchor = mn.attached[owner[1]] == anchor.id
        if not at_anchor:  # nobody serves it (the MN is detached): the anchor releases it, and its binding goes
            self.design.release_prefix(anchor, mn.id, hnp)

    def _end_flow_binding(self, mar: Mar, entry: BulEntry) -> None:
        """The flow left this MAR's interface: a per-flow binding (Figure 6) is not re-pointed by another MAR's lookup,
        so this MAR de-registers it and forgets it (a pending one is undone when its PBA comes back)."""
        mar.bul.remove(entry, "flow left")
        if entry.state == State.ACTIVE:
            self._send_dereg(mar, entry)
            self._state("bul_removed", mar.id, mn=entry.mn, hnp=entry.hnp, anchor=entry.anchor, flow=entry.flow)

    def _send_dereg(self, mar: Mar, entry: BulEntry) -> None:
        """RFC 5213 §6.9.1.2: PBU with lifetime 0 and Handoff Indicator 4."""
        seq = self._next_sequence(mar, entry.mn)
        entry.sequence = seq
        fields = self._pbu_fields(entry.mn, [entry.hnp], 0, seq, C.HI_UNKNOWN)
        if entry.flow is not None:
            fields["flow"] = entry.flow
        self._send("PBU", mar.id, entry.anchor, fields)

    def _move_flow(self, mn: MobileNode, flow: Flow, iface: str) -> None:
        """Seed §4.3, Figure 6: the flow alone moves to another interface; its first packet there triggers the binding."""
        old_iface = flow.interface
        flow.interface = iface
        self._state("flow_moved", mn.id, mn=mn.id, flow=flow.id, cn=flow.cn, interface=iface, previous=old_iface, prefix=flow.prefix, anchor=flow.anchor)
        if flow.prefix is None:
            return
        for mar_id in self._serving_mars(mn):  # a per-flow binding served on the old interface ends there
            entry = self.mars[mar_id].bul.lookup(mn.id, flow.prefix, flow.id)
            if entry is not None and mar_id != mn.attached[iface]:
                self._end_flow_binding(self.mars[mar_id], entry)
        self.design.send_data_up(mn, flow)

    def _flow_registration_reply(self, mar: Mar, msg: dict[str, Any]) -> None:
        """Flow mobility (Figure 6): the DB named the prefix's anchor; register this flow there (HI 2).

        Only a prefix of another interface is a moved flow; a prefix of this interface is a plain handover, which the
        RS-driven registration handles."""
        mn_id, flow_id, iface = msg["mn"], msg["flow"], msg["interface"]
        if not msg["entries"]:
            return  # an unknown prefix: keep the lookup marked, so the flow's next packets do not ask again
        mar.flow_lookups.discard((mn_id, msg["hnp"], flow_id))
        if (mn_id, iface) not in mar.attached:
            return
        entry = msg["entries"][0]
        if entry["anchor"] != mar.id and entry["interface"] != iface:
            self._send_pbu(mar, mn_id, iface, entry["anchor"], [msg["hnp"]], flow_id, C.HI_BETWEEN_INTERFACES)

    def _flow_tick(self, arg: tuple[Flow, int]) -> None:
        flow, generation = arg
        if not flow.active or flow.generation != generation:
            return
        mn = self.mns[flow.mn]
        flow.packets += 1
        self._send_data_down(flow)
        self.design.send_data_up(mn, flow)
        self._counter += 1
        heapq.heappush(self._queue, (self.now_us + self.interval_us, self._counter, self._flow_tick, arg))

    # -- data plane (seed §3.1) ----------------------------------------------------------------------------------

    def _address(self, prefix: str) -> str:
        return prefix.split("/")[0] + "1"  # interface id ::1 in the /64

    def _send_data_down(self, flow: Flow) -> None:
        self._data(flow.cn, flow.anchor, flow, "down", False)  # type: ignore[arg-type]

    def send_data_up_native(self, mn: MobileNode, flow: Flow) -> None:
        mar_id = mn.attached[flow.interface]
        if mar_id is None:
            self._emit({"t": self.now_us / US, "kind": "drop", "node": mn.id, "msg": None, "msg_kind": "DATA", "flow": flow.id,
                        "mn": mn.id, "reason": f"{flow.interface} is not attached", "in_flight": False})
            return
        self._data(mn.id, mar_id, flow, "up", False)

    def _data(self, src: str, dst: str, flow: Flow, direction: str, encapsulated: bool) -> None:
        """One segment of a data packet between two nodes of the diagram (the IP core is not one). The hot path.

        In flight a segment is a plain tuple ``Segment``; its event dict is built only when someone keeps or
        collects events (a batch run without a trace skips it)."""
        if src == flow.mn or dst == flow.mn:
            delay = self.access_us
        else:
            delay = self.topology.delay_us[src][dst]
        self._msg_id += 1
        now = self.now_us
        if self._watching:
            up = direction == "up"
            self._emit({
                "id": self._msg_id, "t": now / US, "arrive": (now + delay) / US, "kind": "DATA", "src": src, "dst": dst,
                "flow": flow.id, "mn": flow.mn, "direction": direction, "encapsulated": encapsulated,
                "inner_src": flow.mn_address if up else flow.cn_address, "inner_dst": flow.cn_address if up else flow.mn_address,
                "prefix": flow.prefix, "packet": flow.packets, "size": self.timers.data_size,
            })
        else:
            self._seq += 1  # unobserved, but still a visible step
        if dst == flow.cn:
            return  # the CN is a sink: nothing happens when the packet arrives, so nothing is scheduled
        self._counter += 1
        heapq.heappush(self._queue, (now + delay, self._counter, self.on_data, (self._msg_id, src, dst, direction, encapsulated, flow)))

    def on_data(self, segment: Segment) -> None:
        _, src, dst, direction, encapsulated, flow = segment
        if dst == flow.mn:
            if src not in flow.node.attached.values():
                self._drop_data(dst, segment, "the MN left the link while the packet was on the air", in_flight=True)
            return
        mar = self.routers[dst]
        if not encapsulated and flow.mn not in mar.bc.bound:  # fast paths: plain routing, no binding for this MN here
            if direction == "down" and flow.node.attached[flow.interface] == dst:
                self._data(dst, flow.mn, flow, "down", False)
                return
            if direction == "up" and flow.anchor == dst:
                self._data(dst, flow.cn, flow, "up", False)
                return
        if direction == "down":
            self.design.forward_down(mar, flow.node, flow, segment)
        else:
            self.design.forward_up(mar, flow.node, flow, segment)

    def _drop_data(self, node: str, segment: Segment, reason: str, in_flight: bool) -> None:
        flow = segment[5]
        self._emit({"t": self.now_us / US, "kind": "drop", "node": node, "msg": segment[0], "msg_kind": "DATA",
                    "flow": flow.id, "mn": flow.mn, "reason": reason, "in_flight": in_flight})

    def _deliver_iface(self, mar: Mar, mn: MobileNode, flow: Flow | None) -> str | None:
        if flow is not None and mn.attached[flow.interface] == mar.id:
            return flow.interface
        for iface in mn.interfaces:
            if mn.attached[iface] == mar.id:
                return iface
        return None

    def pmip_forward_down(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        here = mn.attached[flow.interface] == mar.id
        if here and mn.id not in mar.bc.bound:  # the common case: the MN sits at the anchor, nothing bound for it
            self._data(mar.id, mn.id, flow, "down", False)
            return
        if not segment[4] and flow.anchor == mar.id and not here:
            # At the anchor: a binding (per flow first, then per prefix) sends it down the tunnel (RFC 5213 §5.6.2).
            # A flow whose interface sits on the anchor's own link stays native (seed §4.3: per-flow anchoring).
            binding = mar.bc.lookup(mn.id, hnp, flow.id)
            if binding is None or binding.state != State.ACTIVE:  # a per-flow binding being deleted yields to the prefix's
                binding = mar.bc.lookup(mn.id, hnp, None) or binding
            if binding is not None:
                if binding.state != State.ACTIVE:
                    self._drop_data(mar.id, segment, "binding is being deleted", in_flight=False)
                    return
                self._data(mar.id, binding.serving, flow, "down", True)
                return
        if self._deliver_iface(mar, mn, flow) is not None:
            self._data(mar.id, mn.id, flow, "down", False)
        else:
            self._drop_data(mar.id, segment, f"{mn.id} is not attached to {mar.id}", in_flight=False)

    def pmip_forward_up(self, mar: Mar, mn: MobileNode, flow: Flow, segment: Segment) -> None:
        hnp = flow.prefix
        if segment[4] or flow.anchor == mar.id:
            if mar.bc and segment[1] == mn.id and (mn.id, hnp, flow.id) in mar.bc:
                self._delete_binding(mar, mar.bc[(mn.id, hnp, flow.id)], "MN back at the anchor")  # the flow came home
            self._data(mar.id, flow.cn, flow, "up", False)
            return
        # seed §3.1: an outgoing packet on a prefix anchored elsewhere goes back to its anchor through the tunnel
        entry = mar.bul.lookup(mn.id, hnp, flow.id) or mar.bul.lookup(mn.id, hnp, None)
        if entry is not None and entry.state == State.ACTIVE:
            self._data(mar.id, entry.anchor, flow, "up", True)
            return
        self._drop_data(mar.id, segment, f"{mar.id} has no binding for {hnp} yet", in_flight=False)
        iface = self._deliver_iface(mar, mn, flow)
        lookup = (mn.id, hnp, flow.id)
        settled = (mn.id, iface) in mar.local and (mn.id, iface) not in mar.pending_ra  # its own RS was answered
        if entry is None and settled and flow.interface == iface and lookup not in mar.flow_lookups:
            # Figure 6: a flow may have moved to this interface: look its prefix up in the DB.
            mar.flow_lookups.add(lookup)
            self._send("DB_QUERY", mar.id, self.db_id, {"mn": mn.id, "interface": iface, "hnp": hnp, "flow": flow.id, "entries": []})

    # -- snapshots and exports -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The network's tables now ("dmmviz-state/1")."""
        mars = {}
        for mar_id in sorted(self.routers):
            mars[mar_id] = self._node_tables(self.routers[mar_id])
        mns = {}
        for mn_id in sorted(self.mns):
            mn = self.mns[mn_id]
            prefixes = []
            for iface in mn.interfaces:
                prefixes += [{**p, "interface": iface} for p in mn.prefixes[iface]]
            mns[mn_id] = {
                "interfaces": dict(mn.attached),
                "prefixes": prefixes,
                "flows": [
                    {"id": f.id, "cn": f.cn, "interface": f.interface, "prefix": f.prefix, "anchor": f.anchor, "active": f.active,
                     "packets": f.packets}
                    for f in sorted(mn.flows.values(), key=lambda f: f.id)
                ],
            }
        session_db = {mn: [dict(e) for e in entries.values()] for mn, entries in sorted(self.db.items())}
        state = {"format": STATE_FORMAT, "t": self.now, "mode": self.mode, "session_db": session_db, "mars": mars, "mns": mns}
        self.design.snapshot_extra(state)
        return state

    def _node_tables(self, mar: Mar) -> dict[str, Any]:
        return {
            "binding_cache": [
                {"mn": b.mn, "hnp": b.hnp, "flow": b.flow, "serving": b.serving, "lifetime": b.lifetime, "sequence": b.sequence, "state": b.state}
                for b in sorted(mar.bc.values(), key=lambda b: (b.mn, b.hnp, b.flow or ""))
            ],
            "binding_update_list": [
                {"mn": e.mn, "interface": e.interface, "hnp": e.hnp, "flow": e.flow, "anchor": e.anchor, "lifetime": e.lifetime,
                 "sequence": e.sequence}
                for e in sorted(mar.bul.values(), key=lambda e: (e.mn, e.hnp, e.flow or ""))
                if e.state == State.ACTIVE
            ],
            "tunnels": self.tunnels_of(mar.id),
            "attached": [{"mn": mn, "interface": iface} for mn, iface in sorted(mar.attached)],
            "prefixes": [{"hnp": hnp, "mn": owner[0], "interface": owner[1]} for hnp, owner in sorted(mar.own.items())],
        }

    def trace(self) -> dict[str, Any]:
        """Everything emitted so far ("dmmviz-trace/1"); a message lost on the way has ``arrive`` null."""
        lost = {e["msg"] for e in self.events if e["kind"] == "drop" and e.get("in_flight")}
        events = [{**e, "arrive": None} if e.get("id") in lost and "src" in e else e for e in self.events]
        return {"format": TRACE_FORMAT, "title": self.scenario["title"], "mode": self.mode, "seed": self.seed,
                "until": self.now, "nodes": self.node_roles(), "events": events}

    def node_roles(self) -> dict[str, str]:
        """Every node of the run -> its role (simulator/events.py ``Role``): the trace's ``nodes`` map."""
        roles = {mar: Role.MAR.value for mar in self.mars}
        roles.update({node: Role.LMA.value for node in self.routers if node not in self.mars})
        roles.update({cn: Role.CN.value for cn in self.cns})
        roles[self.db_id] = Role.DB.value
        roles.update({mn: Role.MN.value for mn in self.mns})
        return dict(sorted(roles.items()))


class _Discard(list):  # type: ignore[type-arg]
    """Where events go when the caller does not collect them (the recorder still keeps them)."""

    def append(self, _event: Any) -> None:
        pass

    def __reduce__(self) -> str:
        return "_DISCARD"  # one instance: a copied or unpickled Simulation shares it


class _Meter:
    """Checks one call's work against its Budget every few thousand items (simulator/limits.py). The engine never
    reads a clock: time limits and "the client went away" come through ``budget.should_stop``."""

    __slots__ = ("budget", "sim", "start", "next_check", "instant_t", "instant_start", "every")

    def __init__(self, sim: Simulation, budget: Budget) -> None:
        self.budget, self.sim, self.start = budget, sim, sim.steps
        self.every = max(1, min(budget.poll_every, budget.max_items, budget.max_same_instant))
        self.next_check = self.start + self.every
        self.instant_t, self.instant_start = sim.now_us, sim.steps

    def check(self, steps: int) -> int:
        """Raise TooMuchWork if the call is over budget; return the step count at which to check again."""
        budget, done = self.budget, steps - self.start
        if done >= budget.max_items:
            raise TooMuchWork("items", f"more than {budget.max_items:,} scheduled items in one call (at t = "
                              f"{self.sim.now:g} s); ask for a shorter stretch of time", done)
        now_us = self.sim.now_us
        if now_us != self.instant_t:
            self.instant_t, self.instant_start = now_us, steps
        elif steps - self.instant_start >= budget.max_same_instant:
            raise TooMuchWork("storm", f"more than {budget.max_same_instant:,} scheduled items at one instant "
                              f"(t = {self.sim.now:g} s): the scenario never lets time advance", done)
        if budget.should_stop is not None and budget.should_stop():
            raise TooMuchWork("stopped", f"stopped by its caller after {done:,} scheduled items", done)
        self.next_check = steps + self.every
        return self.next_check


_DISCARD = _Discard()


def _key_order(key: tuple[str, str, str | None]) -> tuple[str, str, str]:
    return (key[0], key[1], key[2] or "")
