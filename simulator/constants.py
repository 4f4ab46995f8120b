"""Protocol constants and the simulator's default delays: the one place they live.

Every value can be overridden per scenario through the optional ``timers`` object
(``{"timers": {"min_delay_before_bce_delete": 5}}``); see :func:`timers_from_scenario`.
Times are seconds unless the name says ``_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

US = 1_000_000  # microseconds per second: the engine's clock counts integer microseconds

# Mobility Header types and options (RFC 6275 §6.1, §6.2; RFC 5213 §8).
MH_TYPE_BU = 5
MH_TYPE_BA = 6
OPT_MN_ID = 8  # RFC 4283, subtype 1 = NAI
OPT_HNP = 22  # RFC 5213 §8.3
OPT_HANDOFF_INDICATOR = 23  # RFC 5213 §8.4
OPT_ATT = 24  # RFC 5213 §8.5
OPT_LINK_LOCAL = 26  # RFC 5213 §8.6
OPT_TIMESTAMP = 27  # RFC 5213 §8.8

# Handoff Indicator values (RFC 5213 §8.4).
HI_NEW_INTERFACE = 1
HI_BETWEEN_INTERFACES = 2
HI_BETWEEN_MAGS = 3
HI_UNKNOWN = 4
HI_NOT_CHANGED = 5

# Access Technology Type (RFC 5213 §8.5).
ATT_VIRTUAL = 1
ATT_PPP = 2
ATT_IEEE_802_3 = 3
ATT_IEEE_802_11 = 4
ATT_IEEE_802_16E = 5

# PBA / BA status codes (RFC 5213 §8.9, RFC 6275 §6.1.8).
STATUS_ACCEPTED = 0
STATUS_NOT_LMA_FOR_THIS_MN = 153
STATUS_NOT_HOME_AGENT_FOR_THIS_MN = 133
STATUS_SEQUENCE_OUT_OF_WINDOW = 135  # RFC 6275 §9.5.1
STATUS_TIMESTAMP_MISMATCH = 156  # RFC 5213 §5.5, §8.9: outside TimestampValidityWindow
STATUS_TIMESTAMP_LOWER_THAN_PREV_ACCEPTED = 157  # RFC 5213 §5.5: older than the PBU last accepted

OPT_FLOW_ID = 45  # RFC 6089 §4.1 Flow Identification
FLOW_ACTION_ADD, FLOW_ACTION_DELETE, FLOW_ACTION_REFRESH = 1, 3, 4  # RFC 7864/6089 usage; not on the wire (Reserved)
TS_FORMAT_IPV6 = 2  # RFC 6088 §3.1: IPv6 binary traffic selector
MH_TYPE_HEARTBEAT = 13  # RFC 5847 §5.1
MAX_RTR_SOLICITATIONS = 3  # RFC 4861 §10
HOST_MIN_VALID_LIFETIME = 2 * 3600  # RFC 4862 §5.5.3 e: the "two hours" rule

# Router Advertisement lifetimes (RFC 4861 §6.2.1 AdvValidLifetime / AdvPreferredLifetime defaults).
ADV_VALID_LIFETIME = 30 * 24 * 3600
ADV_PREFERRED_LIFETIME = 7 * 24 * 3600

HNP_LENGTH = 64  # per-MN /64 home network prefixes (RFC 5213 §2.2)


@dataclass(frozen=True, slots=True)
class Timers:
    """Timers and default delays of one simulation."""

    # RFC 5213 §5.3.5, §9.1: how long the anchor keeps a de-registered binding before deleting it.
    min_delay_before_bce_delete: float = 10.0
    # RFC 5213 §6.9.4: first PBU retransmission; doubles up to max_bindack_timeout.
    initial_bindack_timeout: float = 1.0
    max_bindack_timeout: float = 32.0
    # RFC 5213 §5.5, §9.1: a PBU whose Timestamp is this much older than the anchor's clock is refused (156).
    timestamp_validity_window: float = 0.3
    # A binding is refreshed (HI 5) when this share of its lifetime has run (the RFCs only say "before it expires").
    refresh_fraction: float = 0.9
    # RFC 4861 §10 RTR_SOLICITATION_INTERVAL: the host repeats its RS while no RA came.
    rtr_solicitation_interval: float = 4.0
    # RFC 7559 §2 MAX_RTR_SOLICITATION_INTERVAL: after MAX_RTR_SOLICITATIONS the RSs back off up to this interval.
    max_rtr_solicitation_interval: float = 3600.0
    # RFC 6275 §13: first-registration BU retransmission (client-based mode).
    initial_bindack_timeout_first_reg: float = 1.5
    # Lifetime requested in PBU/BU; the formats' example uses 3600 s. RFC 5213 carries it in 4 s units.
    binding_lifetime: float = 3600.0
    # Time between the L2 detach from the old MAR and the L2 attach at the new one in a ``move``.
    l2_handover_delay: float = 0.05
    # RS sent this long after L2 attach (RFC 4861 §6.3.7 allows up to 1 s; 0 keeps diagrams compact).
    rs_delay: float = 0.0
    # One-way delays (ms).
    access_delay_ms: float = 2.0  # MN <-> MAR radio link
    core_delay_ms: float = 5.0  # any MAR, CN, DB or LMA <-> the IP core (so node to node through the core: 10 ms)
    # Each active flow sends one packet each way every flow_interval seconds.
    flow_interval: float = 0.2
    data_size: int = 100  # UDP payload bytes of a data packet


def timers_from_scenario(data: dict[str, Any] | None) -> Timers:
    """Defaults overridden by the scenario's optional ``timers`` object (validated elsewhere)."""
    overrides = dict((data or {}).get("timers") or {})
    return replace(Timers(), **overrides)


TIMER_NAMES = tuple(f.name for f in fields(Timers))
