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

How a step works. Everything that happens later is a ``(time_us, counter, handler, argument)`` item of the scheduler
(simulator/clock.py: heaps in time then counter order); a ``step()`` pops one item and runs its handler, which
may emit events and schedule more items. Time is integer microseconds, ties break by the counter, nodes are iterated
in sorted order: the same scenario, seed and commands give the same events, byte for byte. Events are JSON-ready
dicts, never changed after they are emitted; every kind is described once in simulator/events.py. Every call that
processes items runs under a work budget (simulator/limits.py): a default one when the caller passes none, so no
call can loop for ever.

Where the designs differ. This class is the shared core: everything above is written once. The anchoring design
(simulator/designs/) is a strategy object handed the core; the core asks it only the questions listed in
``designs/base.py`` (who answers an RS and how, what an old access router does when the MN leaves, what happens when
a prefix's last flow ends, where a packet goes at a router with a binding).
"""

from __future__ import annotations

import heapq
import ipaddress
import random
from collections import deque
from collections.abc import Callable, MutableSequence
from typing import Any

from . import commands, snapshots
from . import constants as C
from .bindings import Binding, BulEntry, State
from .clock import Item, Scheduler
from .commands import CommandError as CommandError  # re-exported
from .constants import US, Timers, timers_from_scenario
from .dataplane import DataPlane
from .designs import Design, design_for
from .faults import Faults, Recovery
from .limits import DEFAULT_BUDGET, MAX_SEED, Budget, TooMuchWork
from .nodes import BY_HNP, BY_ID, PREFIX, Flow, Mar, MobileNode, ipv6_text
from .scenario import DEFAULT_LMA, Problem, ScenarioError, load_scenario
from .scenario import FORMAT as SCENARIO_FORMAT
from .snapshots import STATE_FORMAT as STATE_FORMAT  # re-exported: tests and exporters import them from here
from .snapshots import TRACE_FORMAT as TRACE_FORMAT
from .topology import Topology


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
        self.initial_us = round(self.timers.initial_bindack_timeout * US)  # INITIAL_BINDACK_TIMEOUT, every PBU's first
        # The session DB (RFC 8885 CMD): mn -> hnp -> {"hnp", "anchor", "interface"}
        self.db: dict[str, dict[str, dict[str, str]]] = {}
        self.prefix_anchor: dict[str, str] = {}  # every prefix ever allocated -> its anchor
        self.prefix_flows: dict[str, set[tuple[str, str]]] = {}  # hnp -> active (mn, flow)
        self._faulty = False  # any fault in force? (the data path's one check; kept by Faults.on_change)
        self.faults = Faults(self.random, on_change=self._faults_changed)  # drop rules, loss rates, failed nodes
        self.recovery = Recovery(self)  # what a failure and a restart do (RFC 5847 heartbeats)
        # (mn, interface) -> prefix -> end of its valid lifetime; per interface, so an RA touches only its own
        self.valid_until: dict[tuple[str, str], dict[str, int]] = {}
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
        for router in self.routers.values():
            router.bul.retire = self.clock.void
        self._seq = 0
        self._msg_id = 0
        self._out: MutableSequence[dict[str, Any]] = _DISCARD  # where the current step's events go
        self._watching = record  # does anyone keep or collect events? (if not, the hot path skips building them)
        self.events: list[dict[str, Any]] = []
        # The script steps refused at their time (the fields of their action_rejected events), kept even when nobody
        # watches the events, so `simulator run --export state` can warn of them without building every event: at
        # most one per script step.
        self.refused_steps: list[dict[str, Any]] = []
        self._arrival: dict[str, Callable[[Any], None]] = self.design.handlers()
        # The design's data path, bound once: the hot path calls these for every packet.
        self._send_data_up, self._forward_down, self._forward_up = self.design.data_path()
        self._on_data, self._tick = self.on_data, self._flow_tick  # bound once: scheduled per hop, per tick
        # Bound once too: these wait up to a binding lifetime (an hour) in the far heap, one per registration, so a
        # shared method object keeps tens of thousands fewer objects alive for the garbage collector to visit.
        self._expiry, self._refresh = self._binding_expiry, self._bul_refresh_timer
        self._arrival["HEARTBEAT"] = self.recovery.on_heartbeat
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
        """The scheduler's near heap, the one every packet goes through (read-only use: bench/engine.py
        reports its length)."""
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
        clock = self.clock
        queue, pop = clock.queue, heapq.heappop  # the hot loop pops the near heap itself
        steps, visible, end, seq = self.steps, self.visible_before, self._visible_end, self._seq
        meter = _Meter(self, budget or DEFAULT_BUDGET)
        check = meter.next_check
        try:
            while clock.ready() and queue[0][0] <= until_us:
                limit = min(clock.horizon_us, until_us + 1)  # up to the horizon, queue[0] is the soonest
                while queue and queue[0][0] < limit:
                    if steps >= check:  # the budget is checked every few thousand items: one comparison per item
                        check = meter.check(steps)
                    self.now_us, _, handler, arg = pop(queue)
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

    def _set_out(self, out: MutableSequence[dict[str, Any]]) -> None:
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
        verdict = self.faults.verdict(kind, src, dst) if self._faulty else None
        if verdict is not None:  # formats.md "Faults": lost in the network, in the trace with arrive null
            msg.update(arrive=None, lost="fault", fault=verdict[0], lost_reason=verdict[1])
            self._emit(msg)
            return msg
        self._emit(msg)
        self._at(now + delay_us, self._arrive, msg)
        return msg

    def _faults_changed(self, active: bool) -> None:
        self._faulty = active

    def _arrive(self, msg: dict[str, Any]) -> None:
        """A message reaches ``dst``, unless ``dst`` failed while it was on its way."""
        if self._faulty and msg["dst"] in self.faults.failed:
            self._drop(msg["dst"], msg, f"{msg['dst']} has failed", in_flight=True, failed=True)
            return
        self._arrival[msg["kind"]](msg)

    def _drop(self, node: str, msg: dict[str, Any], reason: str, in_flight: bool, failed: bool = False) -> None:
        """``node`` drops a signalling message (``failed``: its destination had failed on the way)."""
        self._emit_drop(node, msg["id"], msg["kind"], msg.get("flow"), msg.get("mn"), reason, in_flight, failed)

    # -- commands ------------------------------------------------------------------------------------------------

    def _script_action(self, step: dict[str, Any]) -> None:
        try:
            checked = commands.check(self, step, self.mode, shape_checked=True)  # load_scenario checked its shape
        except CommandError as exc:  # validation makes this rare (e.g. a user command changed the picture)
            fields = {"action": step.get("action"), "field": exc.field, "message": exc.message}
            # The MN, or the fault's node; null when this run has no such node (a fault on the LMA outside
            # centralized-pmipv6: an empty id broke every diagram export, which draws an event at its node)
            where = step.get("mn") or step.get("node") or step.get("src") or step.get("dst")
            if where is not None and self.role_of(where) is None:
                where = None
            self.refused_steps.append({"t": self.now_us / US, "kind": "action_rejected", "node": where, **fields})
            self._state("action_rejected", where, **fields)  # type: ignore[arg-type]
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

    def role_of(self, node: str) -> str | None:
        return snapshots.node_roles(self).get(node)

    def has_failed(self, node: str) -> bool:
        return node in self.faults.failed

    def _do_action(self, step: dict[str, Any], source: str) -> None:
        action = step["action"]
        if "mn" not in step:  # a fault (simulator/faults.py): the command's `kind` shows as `msg_kind`
            where = step.get("node") or step.get("src") or step.get("dst")  # None: a drop anywhere in the network
            shown = {("msg_kind" if k == "kind" else k): v for k, v in step.items()}
            self._emit({"t": self.now_us / US, "kind": "action", "node": where, "source": source, **shown})
            if action == "drop":
                self.faults.add_drop(step["kind"], step.get("src"), step.get("dst"), step["count"])
            elif action == "loss":
                self.faults.set_loss(step["node"], step["rate"])
            elif action == "fail":
                self.recovery.fail(step["node"])
            else:
                self.recovery.recover(step["node"])
            return
        self._emit({"t": self.now_us / US, "kind": "action", "node": step["mn"], "source": source, **step})
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
        self._at(self.now_us + round(self.timers.rs_delay * US), self._send_rs, (mn, iface, mar_id, self.now_us, 1))

    def _send_rs(self, arg: tuple[MobileNode, str, str, int, int]) -> None:
        """RFC 4861 §6.3.7: an RS, repeated RTR_SOLICITATION_INTERVAL later while no RA came; after
        MAX_RTR_SOLICITATIONS the interval doubles up to MAX_RTR_SOLICITATION_INTERVAL (RFC 7559 §2), so a lost RS
        or RA never strands the MN."""
        mn, iface, mar_id, attached_at, attempt = arg
        if mn.attached[iface] != mar_id or self.mars[mar_id].attached.get((mn.id, iface)) != attached_at:
            return
        if attempt > 1 and mn.link_confirmed.get(iface):
            return
        self._send("RS", mn.id, mar_id, {"mn": mn.id, "interface": iface})
        doublings = max(0, attempt - C.MAX_RTR_SOLICITATIONS + 1)
        interval = min(self.timers.rtr_solicitation_interval * 2**doublings, self.timers.max_rtr_solicitation_interval)
        self._at(self.now_us + round(interval * US), self._send_rs, (mn, iface, mar_id, attached_at, attempt + 1))

    def _l2_detach(self, mn: MobileNode, iface: str, leaving: bool) -> None:
        """The MN leaves the MAR's link: for good (``leaving``, a ``detach``) or as the first half of a ``move``."""
        self.design.l2_detaching(mn, iface)
        mar = self.mars[mn.attached[iface]]  # type: ignore[index]
        mn.attached[iface] = None
        del mar.attached[(mn.id, iface)]
        mar.pending_ra.pop((mn.id, iface), None)
        unanswered = mar.db_lookup.pop((mn.id, iface), None) is not None
        self._state("l2_detach", mar.id, mn=mn.id, interface=iface)
        if mar.id in self.faults.failed:
            return  # a failed MAR notices nothing; it tidies up when it recovers
        self.design.mn_left(mar, mn, iface, leaving)
        hnp = mar.local.get((mn.id, iface))
        if unanswered and hnp in mar.own:  # the lookup that wrote its new prefix was never answered: write it now
            entries = [{"hnp": hnp, "anchor": mar.id, "interface": iface}]
            self._send("DB_UPDATE", mar.id, self.db_id, {"mn": mn.id, "op": "add", "entries": entries})

    # -- prefixes and the session DB -------------------------------------------------------------------------

    def allocate_prefix(self, mar: Mar, mn: str, iface: str, *, local: bool = True) -> str:
        """The next /64 of ``mar``'s pool for the MN's interface: ``mar`` anchors it (and, ``local``, it is the MAR's
        own prefix for that interface, advertised as preferred). The one place a prefix is given out."""
        base = int(mar.pool.network_address) + (mar.next_subnet << (128 - C.HNP_LENGTH))
        hnp = f"{ipv6_text(base)}/{C.HNP_LENGTH}"
        mar.next_subnet += 1
        self.prefix_anchor[hnp] = mar.id
        self.prefix_flows.setdefault(hnp, set())
        self._state("hnp_allocated", mar.id, mn=mn, interface=iface, hnp=hnp)
        mar.own.add(hnp, mn, iface)
        if local:
            mar.local[(mn, iface)] = hnp
        return hnp

    def give_back_prefix(self, mar: Mar, hnp: str) -> tuple[str, str]:
        """``mar`` no longer anchors ``hnp`` (REQ2); returns the (mn, interface) it was for. The one place a prefix
        is taken back (what else goes with it, the DB entry or the binding, is the caller's design)."""
        mn, iface = mar.own.pop(hnp)
        if mar.local.get((mn, iface)) == hnp:
            del mar.local[(mn, iface)]
        self._state("hnp_released", mar.id, mn=mn, interface=iface, hnp=hnp)
        return mn, iface

    def release_prefix_at(self, mar: Mar, mn: str, hnp: str) -> None:
        """The anchor gives a prefix up (REQ2): the DB forgets it, the prefix is never advertised again. A failed
        anchor does it when it recovers."""
        if mar.id in self.faults.failed:
            return
        _, iface = self.give_back_prefix(mar, hnp)
        bound = [b for b in mar.bc.values() if b.mn == mn and b.hnp == hnp] if mn in mar.bc.bound else []
        for binding in sorted(bound, key=lambda b: b.flow or ""):
            if binding.state == State.ACTIVE:
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
                if entries.get(entry["hnp"]) == entry:
                    continue  # written back again: nothing changes
                entries[entry["hnp"]] = dict(entry)
                self.db_entry_state("db_entry_added", msg["mn"], entry)
            elif entries.pop(entry["hnp"], None) is not None:
                self.db_entry_state("db_entry_removed", msg["mn"], entry)
        if not entries:
            self.db.pop(msg["mn"], None)

    def db_entry_state(self, kind: str, mn_id: str, entry: dict[str, str], **more: Any) -> None:
        """db_entry_added / db_entry_removed: a row of the session DB."""
        if not self._watching:  # as _state does, without building the fields first (the common case in a batch run)
            self._seq += 1
            return
        hnp, anchor, iface = entry["hnp"], entry["anchor"], entry["interface"]
        self._state(kind, self.db_id, mn=mn_id, hnp=hnp, anchor=anchor, interface=iface, **more)

    def on_db_query(self, msg: dict[str, Any]) -> None:
        """The DB records what the query writes, then answers with the MN's live prefixes on that interface (or the one
        prefix asked for)."""
        if msg["entries"]:
            self.on_db_update({**msg, "op": "add"})
        if self.recovery.hold_lookup(msg):
            return  # just restarted: answered once the MARs have written their prefixes back
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

    def pba_fields(self, pbu: dict[str, Any], hnps: list[str], status: int) -> dict[str, Any]:
        """RFC 5213 §8.2: the PBA answering ``pbu``, its options echoed, with the lifetime granted (0 if refused)."""
        fields: dict[str, Any] = {"mn": pbu["mn"], "mn_id": pbu["mn_id"]}
        if "interface" in pbu:  # centralized-pmipv6 (``pbu_names_interface``): the LMA picked that interface's HNP
            fields["interface"] = pbu["interface"]
        granted = pbu["lifetime"] if status == C.STATUS_ACCEPTED else 0
        fields.update(hnps=hnps, status=status, sequence=pbu["sequence"], lifetime=granted, flags="P")
        fields.update(handoff_indicator=pbu["handoff_indicator"], att=pbu["att"], timestamp=pbu["timestamp"])
        return fields

    def _register(
        self,
        anchor: Mar,
        mn_id: str,
        hnp: str,
        flow: str | None,
        serving: str,
        lifetime: float,
        seq: int,
        timestamp: float | None = None,
    ) -> None:
        """RFC 5213 §5.3.2 (new binding) and §5.3.4 (handoff: the prefix route moves to the new tunnel); the entry
        lives ``lifetime`` seconds unless refreshed (§5.3.3)."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        stamp = self.now if timestamp is None else timestamp
        expires = self.now_us + round(lifetime * US)
        if binding is None:
            binding = anchor.bc.create(mn_id, hnp, flow, serving, lifetime, seq, stamp, expires)
            self._binding_state("binding_created", anchor, binding, lifetime)
            self._tunnel_ref(anchor.id, serving, +1, hnp)
        else:
            old = anchor.bc.update(binding, serving, lifetime, seq, stamp, expires)
            self._binding_state("binding_updated", anchor, binding, lifetime, previous=old)
            if old != serving:
                self._tunnel_ref(anchor.id, serving, +1, hnp)
                self._tunnel_ref(anchor.id, old, -1, hnp)
        self.clock.void(binding.expiry_key)  # the version changed: the previous lifetime timer can do nothing
        binding.expiry_key = self._at(expires, self._expiry, (anchor, binding, binding.version))

    def _binding_state(self, kind: str, anchor: Mar, binding: Binding, lifetime: float, **more: Any) -> None:
        """binding_created / _updated / _deregistering / _deleted: a binding cache entry as it is now."""
        if not self._watching:  # as _state does, without building the fields first (the common case in a batch run)
            self._seq += 1
            return
        b = binding
        self._state(kind, anchor.id, mn=b.mn, hnp=b.hnp, flow=b.flow, serving=b.serving, lifetime=lifetime, **more)

    def _binding_expiry(self, arg: tuple[Mar, Binding, int]) -> None:
        """RFC 5213 §5.3.3: nobody refreshed the binding in its lifetime: it goes, and its tunnel with it."""
        anchor, binding, version = arg
        if binding.version == version and anchor.bc.lookup(binding.mn, binding.hnp, binding.flow) is binding:
            self._delete_binding(anchor, binding, "lifetime expired")

    def _deregister(
        self,
        anchor: Mar,
        mn_id: str,
        hnp: str,
        flow: str | None,
        seq: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        """RFC 5213 §5.3.5: keep the entry MinDelayBeforeBCEDelete, then delete it; REQ2 releases the prefix."""
        binding = anchor.bc.lookup(mn_id, hnp, flow)
        if binding is None or binding.state != State.ACTIVE:
            return
        delay = round(self.timers.min_delay_before_bce_delete * US)
        anchor.bc.deregister(
            binding,
            binding.sequence if seq is None else seq,
            binding.timestamp if timestamp is None else timestamp,
            self.now_us + delay,
        )
        self.clock.void(binding.expiry_key)  # de-registering: the lifetime no longer applies
        self._binding_state("binding_deregistering", anchor, binding, 0)
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
        self.clock.void(binding.expiry_key)
        reason = {"reason": event} if event in ("lifetime expired", "node failed") else {}
        self._binding_state("binding_deleted", anchor, binding, 0, **reason)
        self._tunnel_ref(anchor.id, binding.serving, -1, binding.hnp)

    # -- retransmission, refresh and ordering (docs/engine.md "Faults and timers") ----------------------------------

    def ordering_status(self, anchor: Mar, mn_id: str, hnps: list[str], flow: str | None, timestamp: float) -> int:
        """RFC 5213 §5.5 (Timestamp option; every clock in the simulation agrees): a PBU older than
        TimestampValidityWindow on arrival is refused with 156; one older than the PBU last accepted for the binding
        with 157. This is what keeps the older of two racing registrations from moving the binding back."""
        if self.now - timestamp > self.timers.timestamp_validity_window + 1e-9:
            return C.STATUS_TIMESTAMP_MISMATCH
        for hnp in hnps:
            binding = anchor.bc.lookup(mn_id, hnp, flow)
            if binding is not None and timestamp < binding.timestamp:
                return C.STATUS_TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
        return C.STATUS_ACCEPTED

    def flow_fields(self, mn_id: str, flow_id: str, action: int) -> dict[str, Any]:
        """RFC 6089 Flow Identification (type 45) with an RFC 6088 IPv6 binary traffic selector: on the wire a
        per-flow PBU moves this flow, not the whole prefix. The FID is the flow's number at its MN (1, 2, ... in the
        order the flows first started), stable for the flow. The selector matches what the anchor redirects: the
        flow's packets towards the MN (CN -> MN address)."""
        flows = self.mns[mn_id].flows
        fid = 1 + list(flows).index(flow_id)
        flow = flows[flow_id]
        selector = {
            "ts_format": C.TS_FORMAT_IPV6,
            "source_address": flow.cn_address,
            "destination_address": flow.mn_address,
            "next_header": 17,
        }
        # FID-PRI must be unique per MN among its flow bindings (RFC 6089 §4.1): the FID itself.
        return {"flow_id": fid, "flow_priority": fid, "flow_action": action, "traffic_selector": selector}

    def transmit_pbu(
        self, mar: Mar, entries: list[BulEntry], hi: int, lifetime: float, attempt: int, timeout_us: int, action: int
    ) -> None:
        """Send (or send again) the PBU for these entries, all to one anchor. Each transmission has a new sequence
        number and Timestamp (RFC 6275 §11.8, RFC 5213 §5.5); without a PBA it goes again after ``timeout_us``,
        doubled each time up to MAX_BINDACK_TIMEOUT (RFC 5213 §6.9.4)."""
        first = entries[0]
        seq = self._next_sequence(mar, first.mn)
        for entry in entries:
            entry.sequence, entry.attempt, entry.sent_us = seq, attempt, self.now_us
        hnps = [e.hnp for e in entries]
        fields = self._pbu_fields(first.mn, hnps, lifetime, seq, hi)
        fields["attempt"] = attempt
        if first.flow is not None:
            fields["flow"] = first.flow
            fields.update(self.flow_fields(first.mn, first.flow, action))
        if self.design.pbu_names_interface:
            fields["interface"] = first.interface
        if first.state == State.ACTIVE and (lifetime > 0 or attempt > 1):  # the table shows the new sequence number
            self.refreshing_state(mar.id, first, hnps, lifetime)
        self._send("PBU", mar.id, first.anchor, fields)
        keys = [(e.mn, e.hnp, e.flow) for e in entries]
        self._at(
            self.now_us + timeout_us, self._pbu_timeout, (mar, keys, seq, hi, lifetime, attempt, timeout_us, action)
        )

    def _pbu_timeout(self, arg: tuple[Mar, list[tuple[str, str, str | None]], int, int, float, int, int, int]) -> None:
        mar, keys, seq, hi, lifetime, attempt, timeout_us, action = arg
        entries = []  # (a plain loop: the timer fires for every PBU, and mostly finds it answered)
        for key in keys:
            e = mar.bul.get(key)
            if e is not None and e.sequence == seq and (e.state == State.PENDING or e.refreshing or lifetime == 0):
                entries.append(e)
        if not entries:
            return  # answered, superseded, or the MN left
        max_us = round(self.timers.max_bindack_timeout * US)
        if timeout_us >= max_us:
            self.give_up(mar, entries, lifetime)
            return
        self.transmit_pbu(mar, entries, hi, lifetime, attempt + 1, min(2 * timeout_us, max_us), action)

    def give_up(self, mar: Mar, entries: list[BulEntry], lifetime: float) -> None:
        """No PBA after MAX_BINDACK_TIMEOUT (RFC 5213 §6.9.4, RFC 6275 §11.8): the MAR forgets the binding and stops
        advertising the prefix (§6.9.2: only an accepted prefix is advertised). The MN sees the prefix leave its RA."""
        first = entries[0]
        withdrawn = set()
        for entry in entries:
            mar.bul.remove(entry, "gave up")
            if entry.state == State.ACTIVE:
                withdrawn.add(entry.interface)
                self.bul_state("bul_removed", mar.id, entry)
        hnps = [e.hnp for e in entries]
        self.gave_up_state(mar.id, first.mn, hnps, first.anchor, first.flow, lifetime, first.attempt)
        for iface in sorted(withdrawn):
            if first.flow is None and (first.mn, iface) in mar.attached and (first.mn, iface) not in mar.pending_ra:
                self.design.send_ra(mar, first.mn, iface)

    def bul_state(self, kind: str, node: str, entry: BulEntry, **more: Any) -> None:
        """bul_added / _removed / _refreshed: a binding update list entry (at a MAR, or at the MN in client-dmm)."""
        if not self._watching:  # as _state does, without building the fields first (the common case in a batch run)
            self._seq += 1
            return
        self._state(kind, node, mn=entry.mn, hnp=entry.hnp, anchor=entry.anchor, flow=entry.flow, **more)

    def refreshing_state(self, node: str, first: BulEntry, hnps: list[str], lifetime: float) -> None:
        """bul_refreshing: the PBU (or BU) for ``hnps``, all to ``first``'s anchor, goes (again) with a new sequence
        number while the entries stay in force."""
        fields = {"mn": first.mn, "hnps": hnps, "anchor": first.anchor, "flow": first.flow, "sequence": first.sequence}
        self._state("bul_refreshing", node, **fields, attempt=first.attempt, lifetime=lifetime)

    def gave_up_state(
        self, node: str, mn_id: str, hnps: list[str], anchor: str, flow: str | None, lifetime: float, attempts: int
    ) -> None:
        """registration_gave_up: no PBA (or BA) came for ``hnps`` by MAX_BINDACK_TIMEOUT."""
        fields = {"mn": mn_id, "hnps": hnps, "anchor": anchor, "flow": flow, "lifetime": lifetime, "attempts": attempts}
        self._state("registration_gave_up", node, **fields)

    def refresh(self, mar: Mar, entries: list[BulEntry], hi: int) -> None:
        """Re-register ACTIVE entries before their lifetime runs out (HI 5, RFC 5213 §6.9.1.1 "handoff state not
        changed"), or after the anchor restarted (RFC 5847 §3). The entries stay ACTIVE meanwhile."""
        for entry in entries:
            entry.refreshing = True
        lifetime = self.timers.binding_lifetime
        self.transmit_pbu(mar, entries, hi, lifetime, 1, self.initial_us, C.FLOW_ACTION_REFRESH)

    def schedule_refresh(self, mar: Mar, entry: BulEntry, lifetime: float) -> None:
        """The PBA granted ``lifetime``: the entry runs out then (counted from the PBU's sending) and is refreshed
        when ``refresh_fraction`` of it has run."""
        entry.lifetime = lifetime
        entry.expires_us = entry.sent_us + round(lifetime * US)
        refresh_at = entry.sent_us + round(lifetime * self.timers.refresh_fraction * US)
        if entry.refresh_for_us != entry.expires_us:  # the previous timer checks for its own expiry: it is stale now
            self.clock.void(entry.refresh_key)
        entry.refresh_key = self._at(refresh_at, self._refresh, (mar, entry, entry.expires_us))
        entry.refresh_for_us = entry.expires_us

    def _bul_refresh_timer(self, arg: tuple[Mar, BulEntry, int]) -> None:
        mar, entry, expires_us = arg
        if mar.bul.lookup(entry.mn, entry.hnp, entry.flow) is not entry or entry.expires_us != expires_us:
            return
        if entry.state != State.ACTIVE or entry.refreshing:
            return
        together = sorted(
            (
                e
                for e in mar.bul.values()
                if e.mn == entry.mn
                and e.anchor == entry.anchor
                and e.flow == entry.flow
                and e.interface == entry.interface
                and e.state == State.ACTIVE
                and not e.refreshing
                and e.expires_us == expires_us
            ),
            key=BY_HNP,
        )
        self.refresh(mar, together, C.HI_NOT_CHANGED)

    def pba_for_entry(self, mar: Mar, entry: BulEntry, msg: dict[str, Any]) -> str:
        """A PBA answering ``entry``'s outstanding PBU (same sequence number): what it did to the entry, one of
        "retry" (156: the next transmission carries a fresh Timestamp), "removed" (a de-registration accepted, or a
        rejection: 153, 157 say a newer registration is in force, so the MAR forgets it and does not retry),
        "added" (the registration is in force), "refreshed"."""
        if msg["status"] == C.STATUS_TIMESTAMP_MISMATCH:
            return "retry"
        if msg["status"] != C.STATUS_ACCEPTED or msg["lifetime"] == 0:
            accepted_dereg = msg["status"] == C.STATUS_ACCEPTED
            mar.bul.remove(entry, "PBA for the de-registration" if accepted_dereg else "PBA rejected")
            if entry.state == State.ACTIVE:
                self.bul_state("bul_removed", mar.id, entry)
            return "removed"
        self.schedule_refresh(mar, entry, msg["lifetime"])
        if entry.state != State.ACTIVE:
            mar.bul.confirm(entry)
            self.bul_state("bul_added", mar.id, entry)
            return "added"
        entry.refreshing = False
        self.bul_state("bul_refreshed", mar.id, entry, lifetime=entry.lifetime, sequence=entry.sequence)
        return "refreshed"

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
        users = self.routers[a].bc.pointing_to(b)
        if b in self.routers:
            users += self.routers[b].bc.pointing_to(a)
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
        for entry in sorted(mar.bul.for_interface(mn_id, iface), key=BY_HNP):
            if entry.flow is None and entry.state == State.ACTIVE:
                prefixes.append({"prefix": entry.hnp, "preferred_lifetime": 0, "valid_lifetime": int(entry.lifetime)})
        self._send("RA", mar.id, mn_id, {"mn": mn_id, "interface": iface, "prefixes": prefixes})

    def on_ra(self, msg: dict[str, Any]) -> None:
        mn = self.mns[msg["dst"]]
        iface = msg["interface"]
        if mn.attached[iface] != msg["src"]:
            self._drop(mn.id, msg, "the MN left the link before the RA arrived", in_flight=True)
            return
        # RFC 4862 §5.5.3: the MN updates its prefixes; one no longer given is dropped (documented simplification),
        # unless an active flow still uses it: then it stays, deprecated, for what remains of its valid lifetime.
        in_use = {f.prefix for f in mn.flows.values() if f.active and f.interface == iface}
        kept = []
        if in_use:  # (without a flow on this interface nothing is kept: no need to look)
            advertised = {p["prefix"] for p in msg["prefixes"]}
            kept = [
                {
                    **p,
                    "preferred_lifetime": 0,
                    "valid_lifetime": self.host_valid_lifetime(mn.id, iface, p["prefix"], 0),
                    "deprecated": True,
                }
                for p in mn.prefixes[iface]
                if p["prefix"] not in advertised and p["prefix"] in in_use
            ]
        prefixes = [
            {
                **p,
                "valid_lifetime": self.host_valid_lifetime(mn.id, iface, p["prefix"], p["valid_lifetime"]),
                "anchor": self.prefix_anchor.get(p["prefix"]),
                "deprecated": p["preferred_lifetime"] == 0,
            }
            for p in msg["prefixes"]
        ]
        if kept:
            prefixes += [p for p in kept if p["valid_lifetime"] > 0]
        mn.prefixes[iface] = prefixes
        self.forget_valid_lifetimes(mn.id, iface, prefixes)
        mn.link_confirmed[iface] = True
        self._state("prefixes_changed", mn.id, mn=mn.id, interface=iface, prefixes=mn.prefixes[iface])
        for flow in sorted(mn.flows.values(), key=BY_ID):
            if flow.active and flow.prefix is None and flow.interface == iface:
                self._bind_flow_prefix(mn, flow)

    def host_valid_lifetime(self, mn_id: str, iface: str, prefix: str, advertised: int) -> int:
        """RFC 4862 §5.5.3 e: the host takes an advertised valid lifetime if it exceeds two hours or what remains;
        else it keeps what remains when that is two hours or less, and cuts it to two hours otherwise. So an RA
        deprecating a prefix cannot make the host drop the addresses its flows use within the next two hours."""
        lifetimes = self.valid_until.setdefault((mn_id, iface), {})
        until = lifetimes.get(prefix)
        if until is None:
            valid = advertised
        else:
            remaining = max(0, until - self.now_us) // US
            if advertised > C.HOST_MIN_VALID_LIFETIME or advertised > remaining:
                valid = advertised
            elif remaining <= C.HOST_MIN_VALID_LIFETIME:
                valid = remaining
            else:
                valid = C.HOST_MIN_VALID_LIFETIME
        lifetimes[prefix] = self.now_us + valid * US
        return valid

    def forget_valid_lifetimes(self, mn_id: str, iface: str, kept: list[dict[str, Any]]) -> None:
        lifetimes = self.valid_until.get((mn_id, iface))
        if lifetimes:
            for prefix in lifetimes.keys() - set(map(PREFIX, kept)):
                del lifetimes[prefix]

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
        if old is not None:  # the flow id's packets go on numbering: a packet of the old run may still be on its way
            flow.generation, flow.packets = old.generation + 1, old.packets
        mn.flows[flow_id] = flow
        self._bind_flow_prefix(mn, flow)
        if flow.prefix is None:
            self._state(
                "flow_waiting", mn.id, mn=mn.id, flow=flow_id, cn=cn, interface=iface, reason="no preferred prefix yet"
            )

    def flow_state(self, kind: str, flow: Flow, previous: str | None = None) -> None:
        """flow_started / _stopped / _moved (``previous``: the interface it moved from): the flow as it is now."""
        if not self._watching:  # as _state does, without building the fields first (the common case in a batch run)
            self._seq += 1
            return
        moved = {"previous": previous} if previous is not None else {}
        fields = {"mn": flow.mn, "flow": flow.id, "cn": flow.cn, "interface": flow.interface, **moved}
        self._state(kind, flow.mn, **fields, prefix=flow.prefix, anchor=flow.anchor)

    def _bind_flow_prefix(self, mn: MobileNode, flow: Flow) -> None:
        prefix = self._preferred_prefix(mn, flow.interface)
        if prefix is None:
            return
        flow.prefix, flow.anchor = prefix, self.prefix_anchor[prefix]
        flow.mn_address, flow.cn_address = self._address(prefix), self.cns[flow.cn]
        self.prefix_flows.setdefault(prefix, set()).add((mn.id, flow.id))
        self.flow_state("flow_started", flow)
        self._flow_tick((flow, flow.generation))

    def _stop_flow(self, mn: MobileNode, flow: Flow) -> None:
        flow.active = False
        flow.generation += 1
        self.flow_state("flow_stopped", flow)
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
        flow.packets += 1
        self._data(flow.cn, flow.anchor, flow, "down", False, flow.packets)  # type: ignore[arg-type]  # CN -> anchor
        self._send_data_up(flow.node, flow)
        clock = self.clock  # the hot path pushes inline (simulator/clock.py)
        clock.counter += 1
        heapq.heappush(clock.queue, (self.now_us + self.interval_us, clock.counter, self._tick, arg))

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


class _Discard(deque):  # type: ignore[type-arg]
    """Where events go when the caller does not collect them (the recorder still keeps them): a deque that keeps
    nothing (maxlen 0), so an event is let go in one C call, without a Python frame of its own."""

    def __reduce__(self) -> str:  # type: ignore[override]  # pickle's other form: a global's name
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


_DISCARD = _Discard(maxlen=0)
