"""The wired network: the only module that imports networkx.

Nodes are the MARs, the CNs, the session DB and the LMA, all joined to one abstract IP core (``CORE``) with the
default core delay, plus the scenario's extra links. Paths are shortest by delay (Dijkstra). The mobile nodes are not
in this graph: their radio links are modelled by the engine with ``Timers.access_delay_ms``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import networkx as nx

CORE = "CORE"


class Topology:
    """Delays and hop counts between every pair of wired nodes, computed once."""

    def __init__(self, nodes: Iterable[str], links: Iterable[tuple[str, str, float]], core_delay_ms: float) -> None:
        graph: nx.Graph[str] = nx.Graph()
        graph.add_node(CORE)
        for node in sorted(nodes):
            graph.add_edge(node, CORE, delay_ms=core_delay_ms)
        for a, b, delay_ms in links:
            graph.add_edge(a, b, delay_ms=delay_ms)
        self.graph = graph
        self.delay_us: dict[str, dict[str, int]] = {}
        self.hops: dict[str, dict[str, int]] = {}
        self.paths: dict[str, dict[str, list[str]]] = {}
        for src in sorted(graph.nodes):
            # Without a target, networkx returns (lengths, paths) dicts; its stubs also allow the single-target form.
            found = nx.single_source_dijkstra(graph, src, weight="delay_ms")
            lengths = cast(dict[str, float], found[0])
            paths = cast(dict[str, list[str]], found[1])
            self.delay_us[src] = {dst: round(ms * 1000) for dst, ms in lengths.items()}
            self.hops[src] = {dst: len(path) - 1 for dst, path in paths.items()}
            self.paths[src] = paths

    def path(self, src: str, dst: str) -> list[str]:
        """The nodes on the shortest path, ends included (``CORE`` may appear in the middle)."""
        return self.paths[src][dst]
