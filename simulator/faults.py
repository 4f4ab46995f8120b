"""Faults a lesson breaks the network with on purpose (../shared/spec/formats.md "Faults"), and how nodes recover.

- ``drop`` {kind, src?, dst?, count?}: the next ``count`` messages of ``kind`` sent from now on (from ``src``, to
  ``dst`` where given) are lost in the network.
- ``loss`` {node, rate}: each message sent to or from ``node`` is lost with probability ``rate``; rate 0 ends it.
- ``fail`` {node} / ``recover`` {node}: a failed MAR, DB or LMA neither sends, receives nor forwards; it comes back
  with empty tables and says so with an RFC 5847 Heartbeat carrying a new Restart Counter.

The commands and their checks are in the command catalogue (simulator/commands.py). :class:`Faults` is the state the
engine's ``_send`` and data path consult; :class:`Recovery` is what a failure and a restart do to the tables.
Which message a ``loss`` rate hits is drawn from the simulation's seeded generator, and only for a message that a
rate applies to: a run without faults draws nothing, so its trace is what it was before faults existed.
docs/engine.md "Faults and timers" says what is chosen where the RFCs are silent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import constants as C
from .bindings import BulEntry, State
from .constants import US

if TYPE_CHECKING:
    from .engine import Simulation
    from .nodes import Mar



@dataclass(slots=True)
class DropRule:
    kind: str
    src: str | None
    dst: str | None
    count: int

    def matches(self, kind: str, src: str, dst: str) -> bool:
        return kind == self.kind and self.src in (None, src) and self.dst in (None, dst)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "src": self.src, "dst": self.dst, "count": self.count}


@dataclass(slots=True)
class Faults:
    """The faults in force now. ``active`` is False while there are none: the hot path checks only that."""

    random: random.Random
    drops: list[DropRule] = field(default_factory=list)
    loss: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    restarts: dict[str, int] = field(default_factory=dict)  # RFC 5847 Restart Counter per node
    active: bool = False
    on_change: Callable[[bool], None] | None = None  # told ``active`` (the engine mirrors it for its hot path)

    def _update(self) -> None:
        self.active = bool(self.drops or self.loss or self.failed)
        if self.on_change is not None:
            self.on_change(self.active)

    def add_drop(self, kind: str, src: str | None, dst: str | None, count: int) -> None:
        self.drops.append(DropRule(kind, src, dst, count))
        self._update()

    def set_loss(self, node: str, rate: float) -> None:
        if rate > 0:
            self.loss[node] = float(rate)
        else:
            self.loss.pop(node, None)
        self._update()

    def fail(self, node: str) -> None:
        self.failed.add(node)
        self._update()

    def recover(self, node: str) -> int:
        self.failed.discard(node)
        self.restarts[node] = self.restarts.get(node, 0) + 1
        self._update()
        return self.restarts[node]

    def verdict(self, kind: str, src: str, dst: str) -> tuple[str, str] | None:
        """Whether a message sent now is lost: (fault, reason), or None. Call only when ``active``.

        A failed end loses it first, then a matching drop rule (which is used up), then a loss rate."""
        for node in (src, dst):
            if node in self.failed:
                return "fail", f"{node} has failed"
        for rule in self.drops:
            if rule.matches(kind, src, dst):
                rule.count -= 1
                if rule.count <= 0:
                    self.drops.remove(rule)
                    self._update()
                return "drop", f"dropped on purpose (drop {kind})"
        for node in (src, dst):
            rate = self.loss.get(node)
            if rate is not None and self.random.random() < rate:
                return "loss", f"lost at {node} (loss rate {rate:g})"
        return None

    def snapshot(self) -> dict[str, Any]:
        return {"loss": dict(sorted(self.loss.items())), "drop": [r.as_dict() for r in self.drops]}


class Recovery:
    """What ``fail`` and ``recover`` do to a node's tables, and the RFC 5847 Heartbeats that follow a restart."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.heartbeat_waiting: dict[str, set[str]] = {}  # a recovered node -> peers yet to answer its Heartbeat
        self.restarts_seen: dict[tuple[str, str], int] = {}  # (node, peer) -> the peer's last Restart Counter
        self.heartbeat_sequence: dict[str, int] = {}  # RFC 5847 §5.1 Sequence Number, per sender
        self.db_resync: set[str] | None = None  # after a DB restart: MARs whose write-back it still waits for
        self.db_held: list[dict[str, Any]] = []  # DB_QUERYs answered once the write-back is done

    def fail(self, node: str) -> None:
        """The node stops: it neither sends, receives nor forwards, and its tables are gone. A MAR keeps its prefix
        delegations (its pool's allocations, as a DHCPv6 server keeps its leases on stable storage), so flows
        anchored there can be served again once it is back."""
        sim = self.sim
        sim.faults.fail(node)
        sim._state("node_failed", node)
        if node == sim.db_id:
            for mn_id in sorted(sim.db):
                for _, row in sorted(sim.db[mn_id].items()):
                    sim.db_entry_state("db_entry_removed", mn_id, row, reason="node failed")
            sim.db.clear()
            self.db_resync, self.db_held = None, []
            return
        router = sim.routers.get(node)
        if router is None:
            return
        for binding in sorted(router.bc.values(), key=lambda b: (b.mn, b.hnp, b.flow or "")):
            sim._delete_binding(router, binding, "node failed")
        for entry in sorted(router.bul.values(), key=lambda e: (e.mn, e.hnp, e.flow or "")):
            router.bul.remove(entry, "node failed")
            if entry.state == State.ACTIVE:
                sim.bul_state("bul_removed", node, entry, reason="node failed")
        router.pending_ra.clear()
        router.db_lookup.clear()
        router.flow_lookups.clear()

    def recover(self, node: str) -> None:
        """Back with empty tables. It tells its peers with a Heartbeat carrying a new Restart Counter (RFC 5847 §3.1,
        §3.3), repeated with back-off until each peer answers: a MAR serving through it re-registers, and a restarted
        DB gets every MAR's prefixes written back. A recovered MAR releases the idle prefixes of MNs that left
        meanwhile, writes its prefixes to the DB, and its access links come up again: attached MNs send an RS and
        their handover runs afresh (RFC 4861 §6.3.7)."""
        sim = self.sim
        counter = sim.faults.recover(node)
        sim._state("node_recovered", node, restart_counter=counter)
        if node == sim.db_id:
            if sim.mode != "network-dmm":
                return  # only network-dmm uses the session DB
            peers = {m for m in sim.mars if m not in sim.faults.failed}
            self.db_resync = set(peers)
            sim._at(sim.now_us + sim.initial_us, self._db_resync_deadline, counter)
        else:
            peers = {r for r in sim.routers if r != node and r not in sim.faults.failed}
        self.heartbeat_waiting[node] = peers
        self._send_heartbeats((node, counter, 1, sim.initial_us))
        router = sim.routers.get(node)
        if router is None:
            return
        if sim.mode == "network-dmm":
            for hnp, (mn_id, iface) in sorted(router.own.items()):  # REQ2: an MN that left meanwhile, an idle prefix
                if (mn_id, iface) not in router.attached and not sim.prefix_flows.get(hnp):
                    sim.release_prefix_at(router, mn_id, hnp)
            self.write_back(router)
        for mn_id, iface in sorted(router.attached):
            mn = sim.mns[mn_id]
            mn.link_confirmed[iface] = False
            router.attached[(mn_id, iface)] = sim.now_us
            sim._state("l2_attach", node, mn=mn_id, interface=iface)
            sim._at(sim.now_us + round(sim.timers.rs_delay * US), sim._send_rs, (mn, iface, node, sim.now_us, 1))

    def _send_heartbeats(self, arg: tuple[str, int, int, int]) -> None:
        sim = self.sim
        node, counter, attempt, timeout_us = arg
        if sim.faults.restarts.get(node) != counter or node in sim.faults.failed:
            return  # failed again: its next restart asks afresh
        waiting = self.heartbeat_waiting.get(node, set())
        waiting -= sim.faults.failed  # a failed peer starts afresh (and writes back) when it recovers
        if not waiting:
            self.heartbeat_waiting.pop(node, None)
            return
        for peer in sorted(waiting):
            seq = self.heartbeat_sequence[node] = self.heartbeat_sequence.get(node, 0) + 1
            fields = {"restart_counter": counter, "flags": "", "sequence": seq, "attempt": attempt}
            sim._send("HEARTBEAT", node, peer, fields)
        # RFC 5847 heartbeats are periodic: until a peer answers they go on, at most MAX_BINDACK_TIMEOUT apart.
        later = min(2 * timeout_us, round(sim.timers.max_bindack_timeout * US))
        sim._at(sim.now_us + timeout_us, self._send_heartbeats, (node, counter, attempt + 1, later))

    def write_back(self, router: Mar) -> None:
        """The prefixes this MAR anchors, written to the session DB again (after a restart of either)."""
        sim = self.sim
        owned: dict[str, list[dict[str, str]]] = {}
        for hnp, (mn_id, iface) in sorted(router.own.items()):
            owned.setdefault(mn_id, []).append({"hnp": hnp, "anchor": router.id, "interface": iface})
        for mn_id in sorted(owned):
            sim._send("DB_UPDATE", router.id, sim.db_id, {"mn": mn_id, "op": "add", "entries": owned[mn_id]})

    def on_heartbeat(self, msg: dict[str, Any]) -> None:
        """RFC 5847 §3.3: a request is answered (flags "R", its sequence echoed); a Restart Counter not seen before
        from that peer means it restarted: a MAR writes back to a restarted DB, and re-registers what it serves
        through a restarted anchor."""
        sim = self.sim
        src, dst = msg["src"], msg["dst"]
        if msg["flags"] == "R":
            self.heartbeat_waiting.get(dst, set()).discard(src)
            if dst == sim.db_id and self.db_resync is not None:
                self.db_resync.discard(src)
                if not self.db_resync:
                    self._db_resynced()
            return
        router = sim.routers[dst]
        restarted = self.restarts_seen.get((dst, src)) != msg["restart_counter"]
        self.restarts_seen[(dst, src)] = msg["restart_counter"]
        if restarted and src == sim.db_id:
            self.write_back(router)
        elif restarted:
            groups: dict[tuple[str, str, str], list[BulEntry]] = {}
            for entry in sorted(router.bul.values(), key=lambda e: (e.mn, e.hnp, e.flow or "")):
                if entry.anchor == src:
                    groups.setdefault((entry.mn, entry.interface, entry.flow or ""), []).append(entry)
            for group in groups.values():
                if group[0].state == State.ACTIVE:
                    sim.refresh(router, group, C.HI_NOT_CHANGED)
                else:  # still waiting for a PBA from before the restart: send again now, back-off from the start
                    sim.transmit_pbu(
                        router,
                        group,
                        C.HI_BETWEEN_MAGS,
                        sim.timers.binding_lifetime,
                        group[0].attempt + 1,
                        sim.initial_us,
                        C.FLOW_ACTION_ADD,
                    )
        answer = {"restart_counter": sim.faults.restarts.get(dst, 0), "flags": "R", "sequence": msg["sequence"]}
        sim._send("HEARTBEAT", dst, src, answer)

    def hold_lookup(self, msg: dict[str, Any]) -> bool:
        """Just after a restart the DB answers a lookup (whose write it applies at once) only when the MARs have
        written their prefixes back: True when ``msg`` is held for then."""
        if self.db_resync is None:
            return False
        self.db_held.append({**msg, "entries": []})
        return True

    def _db_resync_deadline(self, counter: int) -> None:
        sim = self.sim
        if (
            sim.faults.restarts.get(sim.db_id) == counter
            and self.db_resync is not None
            and sim.db_id not in sim.faults.failed
        ):
            self._db_resynced()

    def _db_resynced(self) -> None:
        """Every MAR has written its prefixes back (or a second went by): answer the lookups held meanwhile."""
        self.db_resync = None
        held, self.db_held = self.db_held, []
        for msg in held:
            self.sim.on_db_query(msg)
