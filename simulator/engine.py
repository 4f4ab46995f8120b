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
the same events, byte for byte. Events are JSON-ready dicts, never changed after they are emitted; every kind is
described once in simulator/events.py. Every call that processes items runs under a work budget (simulator/limits.py):
a default one when the caller passes none, so no call can loop for ever.

Where the designs differ. This class is the shared core: everything above is written once. The anchoring design
(simulator/designs/) is a strategy object handed the core; the core asks it only the questions listed in
``designs/base.py`` (who answers an RS and how, what an old access router does when the MN leaves, what happens when
a prefix's last flow ends, where a packet goes at a router with a binding).
"""

from __future__ import annotations

import heapq
import ipaddress
import random
from collections.abc import Callable
from typing import Any

from . import commands, snapshots
from . import constants as C
from .bindings import Binding, State
from .clock import Item, Scheduler
from .commands import CommandError as CommandError  # re-exported
from .constants import Timers, timers_from_scenario
from .dataplane import DataPlane
from .designs import Design, design_for
from .limits import DEFAULT_BUDGET, MAX_SEED, Budget, TooMuchWork
from .nodes import Flow, Mar, MobileNode
from .scenario import DEFAULT_LMA, Problem, ScenarioError, load_scenario
from .scenario import FORMAT as SCENARIO_FORMAT
from .snapshots import STATE_FORMAT as STATE_FORMAT  # re-exported: tests and exporters import them from here
from .snapshots import TRACE_FORMAT as TRACE_FORMAT
from .topology import Topology

US = 1_000_000  # microseconds per second


def seconds(t_us: int) -> float:
    return t_us / US


class Simulation(DataPlane):
    """One run of a scenario. See docs/engine.md for the API and the events."""

    def __init__(self, scenario: dict[str, Any], seed: int = 0, mode: str | None = None, record: bool = True) -> None:
        if (
            scenario.get("format") != SCENARIO_FORMAT
            or "script" not in scenario
            or "session_db" not in scenario.get("network", {})
        ):
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
        self.mars: dict[str, Mar] = {
            m["id"]: Mar(m["id"], ipaddress.IPv6Network(m["prefix_pool"])) for m in net["mars"]
        }
        self.cns: dict[str, str] = {c["id"]: c["address"] for c in net["cns"]}
        self.mns: dict[str, MobileNode] = {
            m["id"]: MobileNode(
                m["id"], list(m["interfaces"]), dict.fromkeys(m["interfaces"]), {i: [] for i in m["interfaces"]}
            )
            for m in scenario["mobile_nodes"]
        }
        self.lma_spec: dict[str, str] = dict(net.get("lma") or DEFAULT_LMA)
        # The anchoring design: the strategy for the decisions in which the designs differ (simulator/designs/).
        self.design: Design = design_for(mode or scenario.get("mode") or "network-dmm", self)
        self.mode: str = self.design.name
        lma = self.design.lma(self.lma_spec)
        # Every node with a binding cache: the MARs, and the LMA in centralized-pmipv6.
        self.routers: dict[str, Mar] = {**self.mars, lma.id: lma} if lma else self.mars
        wired = [*self.mars, *self.cns, self.db_id, *([lma.id] if lma else [])]
        links = [(ln["between"][0], ln["between"][1], float(ln["delay_ms"])) for ln in net["links"]]
        self.topology = Topology(wired, links, self.timers.core_delay_ms)
        self.access_us = round(self.timers.access_delay_ms * 1000)
        self.interval_us = round(self.timers.flow_interval * US)
        # The session DB (RFC 8885 CMD): mn -> hnp -> {"hnp", "anchor", "interface"}
        self.db: dict[str, dict[str, dict[str, str]]] = {}
        self.prefix_anchor: dict[str, str] = {}  # every prefix ever allocated -> its anchor
        self.prefix_flows: dict[str, set[tuple[str, str]]] = {}  # hnp -> active (mn, flow)
        self.now_us = 0
        self.steps = 0  # scheduled items processed so far
        # For step_back: ``steps`` right after the visible thing before the latest one (``visible_before``), and
        # right after the latest (``_visible_end``). Items that emit nothing in between do not move them.
        self.visible_before = 0
        self._visible_end = 0
        self.last_was_command = False
        self.journal: tuple[tuple[int, int, dict[str, Any]], ...] = ()
        self.clock = Scheduler()  # everything that happens later (simulator/clock.py)
        self._at = self.clock.at  # bound once: the data path schedules a segment per hop
        self._seq = 0
        self._msg_id = 0
        self._out: list[dict[str, Any]] = _DISCARD  # where the current step's events go
        self._watching = record  # does anyone keep or collect events? (if not, the hot path skips building them)
        self.events: list[dict[str, Any]] = []
        self._arrival: dict[str, Callable[[Any], None]] = self.design.handlers()
        for step in scenario["script"]:
            self._at(round(step["at"] * US), self._script_action, step)

    # -- public API ------------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.now_us / US

    def peek(self) -> float | None:
        next_us = self.clock.next_us()
        return next_us / US if next_us is not None else None

    @property
    def _queue(self) -> list[Item]:
        """The scheduler's heap (read-only use: bench/engine.py reports its length)."""
        return self.clock.queue

    def step(self, budget: Budget | None = None) -> list[dict[str, Any]]:
        """Process scheduled items up to and including the next one that changes something visible (emits events);
        return those events. Items that change nothing a user can see (a packet reaching its CN) do not count as a step
        of their own. Returns [] when nothing is scheduled. Raises TooMuchWork past ``budget`` (default:
        DEFAULT_BUDGET)."""
        out: list[dict[str, Any]] = []
        self._set_out(out)
        meter = _Meter(self, budget or DEFAULT_BUDGET)
        try:
            while self.clock and not out:
                if self.steps >= meter.next_check:
                    meter.check(self.steps)
                self._process(self.clock.pop())
        finally:
            self._set_out(_DISCARD)
        return out

    def _process(self, item: Item) -> None:
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
        queue, pop = self.clock.queue, heapq.heappop  # the hot loop pops the scheduler's heap itself
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
        out: list[dict[str, Any]] = []
        self._set_out(out)
        self._do_action(step, "user")
        self._set_out(_DISCARD)
        self.last_was_command = True
        self._visible_end = self.steps
        return out

    def step_back(self, budget: Budget | None = None) -> Simulation:
        """A new simulation one visible step earlier: before the last user command, or before the last step that
        emitted events. Built by replay, so it is exact (and bounded by ``budget``, as ``replay``)."""
        if self.last_was_command and self.journal:
            return Simulation.replay(
                self.scenario,
                self.seed,
                self.journal[:-1],
                self.steps,
                now=self.now,
                mode=self.mode,
                budget=budget,
                record=self.record,
            )
        return Simulation.replay(
            self.scenario,
            self.seed,
            self.journal,
            self.visible_before,
            mode=self.mode,
            budget=budget,
            record=self.record,
        )

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
    ) -> Simulation:
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
            while sim.steps < steps_before and sim.clock:
                if sim.steps >= meter.next_check:
                    meter.check(sim.steps)
                sim._process(sim.clock.pop())
            sim.now_us = max(sim.now_us, now_us)
            sim.apply(command)
            kept.append((steps_before, now_us, command))
        while sim.steps < steps and sim.clock:
            if sim.steps >= meter.next_check:
                meter.check(sim.steps)
            sim._process(sim.clock.pop())
        if now is not None:
            sim.now_us = max(sim.now_us, round(now * US))
        sim.journal = tuple(kept)
        return sim

    # -- scheduling and emission -------------------------------------------------------------------------------

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

    def _send(
        self, kind: str, src: str, dst: str, fields: dict[str, Any], delay_us: int | None = None
    ) -> dict[str, Any]:
        """Emit a message and schedule its arrival at ``dst``."""
        if delay_us is None:
            delay_us = self._delay_us(src, dst)
        self._msg_id += 1
        now = self.now_us
        msg = {"id": self._msg_id, "t": now / US, "arrive": (now + delay_us) / US, "kind": kind, "src": src, "dst": dst}
        msg.update(fields)
        self._emit(msg)
        self._at(now + delay_us, self._arrival[kind], msg)
        return msg

    def _drop(self, node: str, msg: dict[str, Any], reason: str, in_flight: bool) -> None:
        self._emit(
            {
                "t": self.now_us / US,
                "kind": "drop",
                "node": node,
                "msg": msg["id"],
                "msg_kind": msg["kind"],
                "flow": msg.get("flow"),
                "mn": msg.get("mn"),
                "reason": reason,
                "in_flight": in_flight,
            }
        )

    # -- commands ------------------------------------------------------------------------------------------------

    def _script_action(self, step: dict[str, Any]) -> None:
        try:
            checked = self._check_command(step)
        except CommandError as exc:  # validation makes this rare (e.g. a user command changed the picture)
            self._state(
                "action_rejected", step.get("mn", ""), action=step.get("action"), field=exc.field, message=exc.message
            )
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

    def knows_flow(self, mn: str, flow: str) -> bool:
        return flow in self.mns[mn].flows

    def flow_count(self, mn: str) -> int:
        return len(self.mns[mn].flows)

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
            self._at(self.now_us + delay, self._l2_attach_later, (mn, step["interface"], step["mar"]))
        elif action == "start_flow":
            self._start_flow(mn, step["flow"], step["cn"], step["interface"])
        elif action == "stop_flow":
            self._stop_flow(mn, mn.flows[step["flow"]])
        elif action == "move_flow":
            self.design.move_flow(mn, mn.flows[step["flow"]], step["interface"])

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
        self._at(self.now_us + round(self.timers.rs_delay * US), self._send_rs, (mn, iface, mar_id))

    def _send_rs(self, arg: tuple[MobileNode, str, str]) -> None:
        mn, iface, mar_id = arg
        if mn.attached[iface] == mar_id:
            self._send("RS", mn.id, mar_id, {"mn": mn.id, "interface": iface})

    def _l2_detach(self, mn: MobileNode, iface: str, leaving: bool) -> None:
        """The MN leaves the MAR's link: for good (``leaving``, a ``detach``) or as the first half of a ``move``."""
        self.design.l2_detaching(mn, iface)
        mar = self.mars[mn.attached[iface]]  # type: ignore[index]
        mn.attached[iface] = None
        del mar.attached[(mn.id, iface)]
        mar.pending_ra.pop((mn.id, iface), None)
        self._state("l2_detach", mar.id, mn=mn.id, interface=iface)
        self.design.mn_left(mar, mn, iface, leaving)

    # -- prefixes and the session DB -------------------------------------------------------------------------

    def _allocate_prefix(self, node_id: str, pool: ipaddress.IPv6Network, index: int, mn: str, iface: str) -> str:
        base = int(pool.network_address) + (index << (128 - C.HNP_LENGTH))
        hnp = f"{ipaddress.IPv6Address(base)}/{C.HNP_LENGTH}"
        self.prefix_anchor[hnp] = node_id
        self.prefix_flows.setdefault(hnp, set())
        self._state("hnp_allocated", node_id, mn=mn, interface=iface, hnp=hnp)
        return hnp

    def release_prefix_at(self, mar: Mar, mn: str, hnp: str) -> None:
        """The anchor gives a prefix up (REQ2): the DB forgets it, the prefix is never advertised again."""
        _, iface = mar.own.pop(hnp)
        if mar.local.get((mn, iface)) == hnp:
            del mar.local[(mn, iface)]
        self._state("hnp_released", mar.id, mn=mn, interface=iface, hnp=hnp)
        for key, binding in sorted(mar.bc.items(), key=lambda kb: _key_order(kb[0])):
            if key[0] == mn and key[1] == hnp and binding.state == State.ACTIVE:
                self._delete_binding(mar, binding, "prefix released")  # a released prefix keeps no live binding
        self._send(
            "DB_UPDATE",
            mar.id,
            self.db_id,
            {"mn": mn, "op": "remove", "entries": [{"hnp": hnp, "anchor": mar.id, "interface": iface}]},
        )

    def on_db_update(self, msg: dict[str, Any]) -> None:
        entries = self.db.setdefault(msg["mn"], {})
        for entry in msg["entries"]:
            if msg["op"] == "add":
                entries[entry["hnp"]] = dict(entry)
                self._state(
                    "db_entry_added",
                    self.db_id,
                    mn=msg["mn"],
                    hnp=entry["hnp"],
                    anchor=entry["anchor"],
                    interface=entry["interface"],
                )
            elif entries.pop(entry["hnp"], None) is not None:
                self._state(
                    "db_entry_removed",
                    self.db_id,
                    mn=msg["mn"],
                    hnp=entry["hnp"],
                    anchor=entry["anchor"],
                    interface=entry["interface"],
                )
        if not entries:
            self.db.pop(msg["mn"], None)

    def on_db_query(self, msg: dict[str, Any]) -> None:
        """The DB records what the query writes, then answers with the MN's live prefixes on that interface (or the one
        prefix asked for)."""
        if msg["entries"]:
            self.on_db_update({**msg, "op": "add"})
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

    def _next_sequence(self, mar: Mar, mn_id: str) -> int:
        seq = (mar.sequence.get(mn_id, 0) + 1) % 65536
        mar.sequence[mn_id] = seq
        return seq

    def _pbu_fields(self, mn_id: str, hnps: list[str], lifetime: float, seq: int, hi: int) -> dict[str, Any]:
        return {
            "mn": mn_id,
            "mn_id": f"{mn_id}@dmmviz.example",
            "hnps": hnps,
            "lifetime": lifetime,
            "sequence": seq,
            "flags": "AHP",
            "handoff_indicator": hi,
            "att": C.ATT_IEEE_802_11,
            "timestamp": self.now_us / US,
        }

    def _register(
        self, anchor: Mar, mn_id: str, hnp: str, flow: str | None, serving: str, lifetime: float, seq: int
    ) -> None:
        """RFC 5213 §5.3.2 (new binding) and §5.3.4 (handoff: the prefix route moves to the new tunnel)."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        if binding is None:
            anchor.bc.create(mn_id, hnp, flow, serving, lifetime, seq)
            self._state("binding_created", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=serving, lifetime=lifetime)
            self._tunnel_ref(anchor.id, serving, +1, hnp)
            return
        old = anchor.bc.update(binding, serving, lifetime, seq)
        self._state(
            "binding_updated", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=serving, lifetime=lifetime, previous=old
        )
        if old != serving:
            self._tunnel_ref(anchor.id, serving, +1, hnp)
            self._tunnel_ref(anchor.id, old, -1, hnp)

    def _deregister(self, anchor: Mar, mn_id: str, hnp: str, flow: str | None) -> None:
        """RFC 5213 §5.3.5: keep the entry MinDelayBeforeBCEDelete, then delete it; REQ2 releases the prefix."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        if binding is None or binding.state != State.ACTIVE:
            return
        anchor.bc.deregister(binding)
        self._state(
            "binding_deregistering", anchor.id, mn=mn_id, hnp=hnp, flow=flow, serving=binding.serving, lifetime=0
        )
        delay = round(self.timers.min_delay_before_bce_delete * US)
        self._at(self.now_us + delay, self._bce_delete_timer, (anchor, binding, binding.version))
        if flow is None and hnp in anchor.own and not self.prefix_flows.get(hnp):
            self.design.release_prefix(anchor, mn_id, hnp)

    def _bce_delete_timer(self, arg: tuple[Mar, Binding, int]) -> None:
        anchor, binding, version = arg
        if binding.version == version and anchor.bc.lookup(binding.mn, binding.hnp, binding.flow) is binding:
            self._delete_binding(anchor, binding, "MinDelayBeforeBCEDelete expired")
        self.design.binding_expired(anchor, binding)

    def _delete_binding(self, anchor: Mar, binding: Binding, event: str) -> None:
        anchor.bc.delete(binding, event)
        self._state(
            "binding_deleted",
            anchor.id,
            mn=binding.mn,
            hnp=binding.hnp,
            flow=binding.flow,
            serving=binding.serving,
            lifetime=0,
        )
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

    def send_ra(self, mar: Mar, mn_id: str, iface: str) -> None:
        """RFC 4861 §6.2.3. The MAR's own prefix is preferred; prefixes anchored elsewhere are deprecated (seed §4.2
        step 4)."""
        mar.pending_ra.pop((mn_id, iface), None)
        if (mn_id, iface) not in mar.attached:
            return
        prefixes = []
        local = mar.local.get((mn_id, iface))
        if local:
            prefixes.append(
                {
                    "prefix": local,
                    "preferred_lifetime": C.ADV_PREFERRED_LIFETIME,
                    "valid_lifetime": C.ADV_VALID_LIFETIME,
                }
            )
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
        # RFC 4862 §5.5.3: the MN updates its prefixes; one no longer given is dropped (documented simplification).
        mn.prefixes[iface] = [
            {**p, "anchor": self.prefix_anchor.get(p["prefix"]), "deprecated": p["preferred_lifetime"] == 0}
            for p in msg["prefixes"]
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
        flow = Flow(flow_id, mn.id, cn, iface, None, None, mn)
        old = mn.flows.get(flow_id)
        if old is not None:
            flow.generation = old.generation + 1
        mn.flows[flow_id] = flow
        self._bind_flow_prefix(mn, flow)
        if flow.prefix is None:
            self._state(
                "flow_waiting", mn.id, mn=mn.id, flow=flow_id, cn=cn, interface=iface, reason="no preferred prefix yet"
            )

    def _bind_flow_prefix(self, mn: MobileNode, flow: Flow) -> None:
        prefix = self._preferred_prefix(mn, flow.interface)
        if prefix is None:
            return
        flow.prefix, flow.anchor = prefix, self.prefix_anchor[prefix]
        flow.mn_address, flow.cn_address = self._address(prefix), self.cns[flow.cn]
        self.prefix_flows.setdefault(prefix, set()).add((mn.id, flow.id))
        self._state(
            "flow_started",
            mn.id,
            mn=mn.id,
            flow=flow.id,
            cn=flow.cn,
            interface=flow.interface,
            prefix=prefix,
            anchor=flow.anchor,
        )
        self._flow_tick((flow, flow.generation))

    def _stop_flow(self, mn: MobileNode, flow: Flow) -> None:
        flow.active = False
        flow.generation += 1
        self._state(
            "flow_stopped",
            mn.id,
            mn=mn.id,
            flow=flow.id,
            cn=flow.cn,
            interface=flow.interface,
            prefix=flow.prefix,
            anchor=flow.anchor,
        )
        if flow.prefix is None:
            return
        users = self.prefix_flows[flow.prefix]
        users.discard((mn.id, flow.id))
        self.design.flow_binding_ended(mn, flow.prefix, flow.id)
        if not users:
            self.design.prefix_idle(mn, flow.prefix)

    def _serving_mars(self, mn: MobileNode) -> list[str]:
        return sorted({m for m in mn.attached.values() if m is not None})

    def _flow_tick(self, arg: tuple[Flow, int]) -> None:
        flow, generation = arg
        if not flow.active or flow.generation != generation:
            return
        mn = self.mns[flow.mn]
        flow.packets += 1
        self._send_data_down(flow)
        self.design.send_data_up(mn, flow)
        self._at(self.now_us + self.interval_us, self._flow_tick, arg)

    # -- snapshots and exports (simulator/snapshots.py) -------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The network's tables now ("dmmviz-state/1")."""
        return snapshots.state(self)

    def trace(self) -> dict[str, Any]:
        """Everything emitted so far ("dmmviz-trace/1"); a message lost on the way has ``arrive`` null."""
        return snapshots.trace(self)

    def node_roles(self) -> dict[str, str]:
        """Every node of the run -> its role (simulator/events.py ``Role``): the trace's ``nodes`` map."""
        return snapshots.node_roles(self)

    def tunnels_of(self, node: str) -> list[str]:
        """The peers this node has a tunnel with (derived from the binding caches: no tunnel without a binding)."""
        return snapshots.tunnels_of(self, node)


class _Discard(list):  # type: ignore[type-arg]
    """Where events go when the caller does not collect them (the recorder still keeps them)."""

    def append(self, _event: Any) -> None:
        pass

    def __reduce__(self) -> str:
        return "_DISCARD"  # one instance: a copied or unpickled Simulation shares it


class _Meter:
    """Checks one call's work against its Budget every few thousand items (simulator/limits.py). The engine never
    reads a clock: time limits and "the client went away" come through ``budget.should_stop``."""

    __slots__ = ("budget", "every", "instant_start", "instant_t", "next_check", "sim", "start")

    def __init__(self, sim: Simulation, budget: Budget) -> None:
        self.budget, self.sim, self.start = budget, sim, sim.steps
        self.every = max(1, min(budget.poll_every, budget.max_items, budget.max_same_instant))
        self.next_check = self.start + self.every
        self.instant_t, self.instant_start = sim.now_us, sim.steps

    def check(self, steps: int) -> int:
        """Raise TooMuchWork if the call is over budget; return the step count at which to check again."""
        budget, done = self.budget, steps - self.start
        if done >= budget.max_items:
            raise TooMuchWork(
                "items",
                f"more than {budget.max_items:,} scheduled items in one call (at t = "
                f"{self.sim.now:g} s); ask for a shorter stretch of time",
                done,
            )
        now_us = self.sim.now_us
        if now_us != self.instant_t:
            self.instant_t, self.instant_start = now_us, steps
        elif steps - self.instant_start >= budget.max_same_instant:
            raise TooMuchWork(
                "storm",
                f"more than {budget.max_same_instant:,} scheduled items at one instant "
                f"(t = {self.sim.now:g} s): the scenario never lets time advance",
                done,
            )
        if budget.should_stop is not None and budget.should_stop():
            raise TooMuchWork("stopped", f"stopped by its caller after {done:,} scheduled items", done)
        self.next_check = steps + self.every
        return self.next_check


_DISCARD = _Discard()


def _key_order(key: tuple[str, str, str | None]) -> tuple[str, str, str]:
    return (key[0], key[1], key[2] or "")
