"""Snapshots and traces: the "dmmviz-state/1" tables and the "dmmviz-trace/1" document of a Simulation.

Read-only views of the core's state, built on request (formats in ../shared/spec/formats.md, docs/engine.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bindings import State
from .constants import US
from .events import Role
from .nodes import Mar

if TYPE_CHECKING:
    from .engine import Simulation

TRACE_FORMAT = "dmmviz-trace/1"
STATE_FORMAT = "dmmviz-state/1"


def state(sim: Simulation) -> dict[str, Any]:
    """The network's tables now ("dmmviz-state/1")."""
    mars = {}
    for mar_id in sorted(sim.routers):
        mars[mar_id] = node_tables(sim, sim.routers[mar_id])
    mns = {}
    for mn_id in sorted(sim.mns):
        mn = sim.mns[mn_id]
        prefixes = []
        for iface in mn.interfaces:
            prefixes += [{**p, "interface": iface} for p in mn.prefixes[iface]]
        mns[mn_id] = {
            "interfaces": dict(mn.attached),
            "prefixes": prefixes,
            "flows": [
                {
                    "id": f.id,
                    "cn": f.cn,
                    "interface": f.interface,
                    "prefix": f.prefix,
                    "anchor": f.anchor,
                    "active": f.active,
                    "packets": f.packets,
                }
                for f in sorted(mn.flows.values(), key=lambda f: f.id)
            ],
        }
    session_db = {mn: [dict(e) for e in entries.values()] for mn, entries in sorted(sim.db.items())}
    result = {
        "format": STATE_FORMAT,
        "t": sim.now,
        "mode": sim.mode,
        "session_db": session_db,
        "mars": mars,
        "mns": mns,
        "failed": sorted(sim.faults.failed),
        "faults": sim.faults.snapshot(),
    }
    sim.design.snapshot_extra(result)
    return result


def node_tables(sim: Simulation, mar: Mar) -> dict[str, Any]:
    """One router's tables: binding cache, binding update list (entries in force), tunnels, attached MNs, prefixes."""
    return {
        "binding_cache": [
            {
                "mn": b.mn,
                "hnp": b.hnp,
                "flow": b.flow,
                "serving": b.serving,
                "lifetime": remaining(sim, b.expires_us, b.state == State.ACTIVE),
                "expires": b.expires_us / US,
                "sequence": b.sequence,
                "state": b.state,
            }
            for b in sorted(mar.bc.values(), key=lambda b: (b.mn, b.hnp, b.flow or ""))
        ],
        "binding_update_list": [
            {
                "mn": e.mn,
                "interface": e.interface,
                "hnp": e.hnp,
                "flow": e.flow,
                "anchor": e.anchor,
                "lifetime": remaining(sim, e.expires_us, True),
                "expires": e.expires_us / US,
                "sequence": e.sequence,
            }
            for e in sorted(mar.bul.values(), key=lambda e: (e.mn, e.hnp, e.flow or ""))
            if e.state == State.ACTIVE
        ],
        "tunnels": tunnels_of(sim, mar.id),
        "attached": [{"mn": mn, "interface": iface} for mn, iface in sorted(mar.attached)],
        "prefixes": [{"hnp": hnp, "mn": owner[0], "interface": owner[1]} for hnp, owner in sorted(mar.own.items())],
    }


def remaining(sim: Simulation, expires_us: int, active: bool) -> float:
    """Seconds of lifetime left now, 0 once de-registered: the tables count down (RFC 5213 §5.3.3); ``expires`` is
    the absolute time, for a view that counts down between snapshots."""
    return round(max(0, expires_us - sim.now_us) / US, 3) if active else 0


def tunnels_of(sim: Simulation, node: str) -> list[str]:
    """The peers this node has a tunnel with (derived from the binding caches: no tunnel without a binding)."""
    peers: set[str] = set()
    for mar in sim.routers.values():
        for binding in mar.bc.values():
            if mar.id == node:
                peers.add(binding.serving)
            elif binding.serving == node:
                peers.add(mar.id)
    return sorted(peers)


def trace(sim: Simulation) -> dict[str, Any]:
    """Everything emitted so far ("dmmviz-trace/1"); a message lost on the way has ``arrive`` null. Empty ``events``
    when the simulation keeps none (``record=False``)."""
    lost = {e["msg"]: e for e in sim.events if e["kind"] == "drop" and e.get("in_flight")}
    events = [lost_in_flight(e, lost[e["id"]]) if e.get("id") in lost and "src" in e else e for e in sim.events]
    return {
        "format": TRACE_FORMAT,
        "title": sim.scenario["title"],
        "mode": sim.mode,
        "seed": sim.seed,
        "until": sim.now,
        "nodes": node_roles(sim),
        "events": events,
    }


def lost_in_flight(msg: dict[str, Any], drop: dict[str, Any]) -> dict[str, Any]:
    """A message that never reached ``dst``: arrive null, and a fault's loss says so (formats.md "Faults")."""
    if drop.get("lost") == "fault":
        return {**msg, "arrive": None, "lost": "fault", "fault": drop["fault"], "lost_reason": drop["reason"]}
    return {**msg, "arrive": None}


def node_roles(sim: Simulation) -> dict[str, str]:
    """Every node of the run -> its role (simulator/events.py ``Role``): the trace's ``nodes`` map."""
    roles = dict.fromkeys(sim.mars, Role.MAR.value)
    roles.update({node: Role.LMA.value for node in sim.routers if node not in sim.mars})
    roles.update(dict.fromkeys(sim.cns, Role.CN.value))
    roles[sim.db_id] = Role.DB.value
    roles.update(dict.fromkeys(sim.mns, Role.MN.value))
    return dict(sorted(roles.items()))
