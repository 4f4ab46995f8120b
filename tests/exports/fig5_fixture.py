"""A hand-made trace of the seed's Figure 5, in the event vocabulary of docs/engine.md.

The exporters were written before the engine landed; this fixture stands in for `sim.trace()` of
../shared/scenarios/fig5-handover.json where the engine is not importable, and exercises what the engine's run may
not (a lost packet, a de-registration). Delays: access link 1 ms, IP core 10 ms, MAR1-MAR2 2 ms; data every 0.5 s.
"""

from __future__ import annotations

from itertools import pairwise

HNP1, HNP2 = "2001:db8:1:1::/64", "2001:db8:2:1::/64"
MN_HNP1, MN_HNP2 = "2001:db8:1:1::1", "2001:db8:2:1::1"
CN1, CN2 = "2001:db8:ca5e::1", "2001:db8:ca5e::2"
MAR1_ADDR, MAR2_ADDR = "2001:db8:1::1", "2001:db8:2::1"
LIFE = {"preferred_lifetime": 604800, "valid_lifetime": 2592000}


class _Trace:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.next_id = 0

    def state(self, t: float, kind: str, **keys) -> None:
        self.events.append({"seq": len(self.events), "t": round(t, 6), "kind": kind, **keys})

    def msg(self, t: float, kind: str, src: str, dst: str, delay: float | None, **keys) -> float:
        self.next_id += 1
        arrive = None if delay is None else round(t + delay, 6)
        self.events.append({"seq": len(self.events), "id": self.next_id, "t": round(t, 6), "arrive": arrive,
                            "kind": kind, "src": src, "dst": dst, **keys})
        return arrive if arrive is not None else t


def _data(tr: _Trace, t: float, flow: str, n: int, cn: str, cn_addr: str, mn_addr: str, path: list[str],
          anchor: str | None, serving: str, lost_at: int | None = None) -> None:
    """One packet down (CN -> MN) and one up along `path` (CN first), tunnelled between anchor and serving MAR."""
    addresses = {"MAR1": MAR1_ADDR, "MAR2": MAR2_ADDR}
    for direction, hops in (("down", path), ("up", path[::-1])):
        inner = (cn_addr, mn_addr) if direction == "down" else (mn_addr, cn_addr)
        when = t
        for i, (a, b) in enumerate(pairwise(hops)):
            tunnel = anchor is not None and {a, b} == {anchor, serving}
            delay = 0.002 if tunnel else 0.001 if "MN1" in (a, b) else 0.010
            lost = direction == "down" and lost_at == i
            extra = {"outer_src": addresses[a], "outer_dst": addresses[b]} if tunnel else {}
            when = tr.msg(when, "DATA", a, b, None if lost else delay, flow=flow, direction=direction,
                          encapsulated=tunnel, inner_src=inner[0], inner_dst=inner[1], packet=n, size=200, **extra)
            if lost:
                tr.state(when, "drop", node=a, msg=tr.next_id, flow=flow, reason="no route to MN1: detached")
                break


def fig5_trace() -> dict:
    """The trace of fig5-handover.json until t = 8.6 s."""
    tr = _Trace()
    pbu = {"mn": "MN1", "flags": "AHP", "handoff_indicator": 3, "att": 4, "mn_id": "MN1@dmmviz.example"}
    # (1) attach to MAR1
    tr.state(0.0, "action", action="attach", mn="MN1", interface="if1", mar="MAR1", source="script")
    tr.state(0.0, "l2_attach", node="MAR1", mn="MN1", interface="if1")
    t = tr.msg(0.0, "RS", "MN1", "MAR1", 0.001, mn="MN1", interface="if1")
    tr.state(t, "hnp_allocated", node="MAR1", mn="MN1", interface="if1", hnp=HNP1)
    t1 = tr.msg(t, "DB_UPDATE", "MAR1", "DB", 0.010, mn="MN1", op="add",
                entries=[{"hnp": HNP1, "anchor": "MAR1", "interface": "if1"}])
    tr.msg(t, "RA", "MAR1", "MN1", 0.001, mn="MN1", interface="if1", prefixes=[{"prefix": HNP1, **LIFE}])
    tr.state(t1, "db_entry_added", node="DB", mn="MN1", hnp=HNP1, anchor="MAR1")
    # (2) flow1 to CN1 using HNP1, natively
    tr.state(1.0, "flow_started", node="MN1", mn="MN1", flow="flow1", cn="CN1", interface="if1", prefix=HNP1,
             anchor="MAR1")
    n = 0
    for n, t in enumerate((1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0), start=1):
        _data(tr, t, "flow1", n, "CN1", CN1, MN_HNP1, ["CN1", "MAR1", "MN1"], None, "MAR1",
              lost_at=1 if t == 5.0 else None)
    # (3) handover to MAR2: DB lookup, PBU/PBA, tunnel
    tr.state(5.005, "action", action="move", mn="MN1", interface="if1", mar="MAR2", source="script")
    tr.state(5.005, "l2_detach", node="MAR1", mn="MN1", interface="if1")
    tr.state(5.005, "l2_attach", node="MAR2", mn="MN1", interface="if1")
    t = tr.msg(5.005, "RS", "MN1", "MAR2", 0.001, mn="MN1", interface="if1")
    tr.state(t, "hnp_allocated", node="MAR2", mn="MN1", interface="if1", hnp=HNP2)
    t = tr.msg(t, "DB_QUERY", "MAR2", "DB", 0.010, mn="MN1", entries=[])
    t = tr.msg(t, "DB_REPLY", "DB", "MAR2", 0.010, mn="MN1",
               entries=[{"hnp": HNP1, "anchor": "MAR1", "interface": "if1"}])
    t = tr.msg(t, "PBU", "MAR2", "MAR1", 0.002, hnps=[HNP1], lifetime=3600, sequence=1, timestamp=t, **pbu)
    tr.state(t, "binding_created", node="MAR1", mn="MN1", hnp=HNP1, serving="MAR2", flow=None, lifetime=3600)
    tr.state(t, "tunnel_up", node="MAR1", peer="MAR2", hnps=[HNP1])
    t = tr.msg(t, "PBA", "MAR1", "MAR2", 0.002, hnps=[HNP1], status=0, sequence=1, lifetime=3600, flags="P",
               **{k: v for k, v in pbu.items() if k != "flags"}, timestamp=t)
    tr.state(t, "bul_added", node="MAR2", mn="MN1", hnp=HNP1, anchor="MAR1", flow=None)
    t1 = tr.msg(t, "DB_UPDATE", "MAR2", "DB", 0.010, mn="MN1", op="add",
                entries=[{"hnp": HNP2, "anchor": "MAR2", "interface": "if1"}])
    # (4) RA: HNP1 deprecated, HNP2 new
    tr.msg(t, "RA", "MAR2", "MN1", 0.001, mn="MN1", interface="if1",
           prefixes=[{"prefix": HNP1, "preferred_lifetime": 0, "valid_lifetime": 2592000}, {"prefix": HNP2, **LIFE}])
    tr.state(t1, "db_entry_added", node="DB", mn="MN1", hnp=HNP2, anchor="MAR2")
    # (5) flow1 through the tunnel, (6) flow2 to CN2 using HNP2, natively
    for t in (5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5):
        n += 1
        if t == 7.0:
            tr.state(7.0, "flow_started", node="MN1", mn="MN1", flow="flow2", cn="CN2", interface="if1", prefix=HNP2,
                     anchor="MAR2")
        _data(tr, t, "flow1", n, "CN1", CN1, MN_HNP1, ["CN1", "MAR1", "MAR2", "MN1"], "MAR1", "MAR2")
        if t >= 7.0:
            _data(tr, t, "flow2", n - 12, "CN2", CN2, MN_HNP2, ["CN2", "MAR2", "MN1"], None, "MAR2")
    tr.events.sort(key=lambda e: (e["t"], e["seq"]))
    for i, ev in enumerate(tr.events):
        ev["seq"] = i
    return {"format": "dmmviz-trace/1", "title": "Seed Figure 5: handover with distributed mobility anchoring",
            "mode": "network-dmm",
            "nodes": {"CN1": "cn", "CN2": "cn", "DB": "db", "MAR1": "mar", "MAR2": "mar", "MN1": "mn"},
            "events": tr.events}
