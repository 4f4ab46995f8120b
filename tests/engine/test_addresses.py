"""A MAR formats each prefix it allocates with simulator.nodes.ipv6_text instead of ipaddress (for speed): the text
must be exactly what ipaddress gives, or prefixes in traces, tables and exports would change."""

from __future__ import annotations

import ipaddress
import random

import pytest

from simulator.nodes import ipv6_text


def test_ipv6_text_is_ipaddress_text_for_every_shape_of_prefix() -> None:
    rng = random.Random(5952)
    values = [0, 1 << 64, 1 << 112, 0x20010DB8 << 96, 0x20010DB8000000010000000000000000, (2**64 - 1) << 64]
    for _ in range(50_000):
        value = 0
        for _ in range(4):  # zero groups often, so that every shape of zero run comes up
            value = value << 16 | rng.choice([0, 0, 0, 1, 0xFFFF, rng.randrange(1 << 16)])
        values.append(value << 64)  # a /64 prefix: the low 64 bits are zero
    mismatches = [(v, ipv6_text(v)) for v in values if ipv6_text(v) != str(ipaddress.IPv6Address(v))]
    assert mismatches == []
    with pytest.raises(ValueError, match="not a /64 prefix"):
        ipv6_text(1)


def test_allocated_prefixes_read_as_the_pool_says() -> None:
    from simulator import Simulation, load_scenario
    from tests.engine.helpers import public

    sim = Simulation(load_scenario(public("fig5-handover")))
    sim.run(20)
    allocated = [(e["hnp"], sim.mars[e["node"]].pool) for e in sim.events if e["kind"] == "hnp_allocated"]
    assert allocated
    for hnp, pool in allocated:
        assert str(ipaddress.IPv6Network(hnp)) == hnp and ipaddress.IPv6Network(hnp).subnet_of(pool)
