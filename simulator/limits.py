"""Every limit the engine enforces, in one place (docs/engine.md "Limits" prints the same values).

Two kinds:

- Limits at the edge: what a scenario, lesson or command may say. The scenario's JSON Schema is built from these
  (``python -m simulator schema``), and a refusal names the JSON path (``timers.flow_interval: ...``).
- Work budgets inside the event loop (:class:`Budget`): how many scheduled items one call may process, and how many
  may fall at one simulated instant (an event storm). A call that passes no budget gets the default one, so every
  run is bounded; exceeding it raises :class:`TooMuchWork`. The engine never reads a clock: a caller that wants a CPU
  time limit or to stop when its client went away passes ``should_stop``, a callable polled every
  ``Budget.poll_every`` items; or installs one with :func:`stop_hook` for every engine call it makes (through any
  module: compare, metrics, a lesson's run) until the ``with`` block ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# -- the edge: scenario, lesson and command documents ------------------------------------------------------------

MAX_ID_CHARS = 32  # node, interface and flow ids
MAX_MARS = 500
MAX_CNS = 500
MAX_MNS = 5_000
MAX_INTERFACES = 8  # per mobile node
MAX_LINKS = 10_000
MAX_SCRIPT_ACTIONS = 100_000
MAX_FLOWS_PER_MN = 256  # distinct flow ids one mobile node may use in a run
MAX_TIME = 86_400.0  # seconds: the latest ``at`` of a script action, ``until`` of a run or lesson step (one day)
MAX_SEED = 2**63 - 1  # seeds are integers 0..MAX_SEED (random.Random accepts more; a session stores it in 64 bits)
# Events a diagram or capture export keeps in memory (about 650 bytes each: some 330 MB). The streamed exports (trace,
# metrics, state) keep none; a longer run has more to draw than a page or Wireshark shows usefully anyway.
MAX_DIAGRAM_EVENTS = 500_000
MAX_DELAY_MS = 10_000.0  # one-way link, access and core delays
MAX_TIMER = 86_400.0  # any other timer, seconds

# Timer ranges (inclusive): name -> (minimum, maximum). The floors keep a run finite: a flow sends a packet each way
# every ``flow_interval``, so 0 would loop at one instant.
TIMER_RANGES: dict[str, tuple[float, float]] = {
    "min_delay_before_bce_delete": (0.0, MAX_TIMER),
    # Retransmission and refresh timers are floored too: a zero timeout would repeat a message at one instant.
    "initial_bindack_timeout": (0.01, MAX_TIMER),
    "max_bindack_timeout": (0.01, MAX_TIMER),
    "initial_bindack_timeout_first_reg": (0.01, MAX_TIMER),
    "timestamp_validity_window": (0.0, MAX_TIMER),
    "refresh_fraction": (0.1, 0.99),
    "rtr_solicitation_interval": (0.01, MAX_TIMER),
    "max_rtr_solicitation_interval": (0.01, MAX_TIMER),
    "binding_lifetime": (1.0, 262_140.0),  # RFC 5213 §8.1: 16 bits in 4 s units; 0 would mean de-registration
    "l2_handover_delay": (0.0, 60.0),
    "rs_delay": (0.0, 60.0),
    "access_delay_ms": (0.0, MAX_DELAY_MS),
    "core_delay_ms": (0.0, MAX_DELAY_MS),
    "flow_interval": (0.01, MAX_TIMER),  # at most 100 packets a second each way per flow
    "data_size": (0.0, 65_000.0),  # UDP payload bytes (an integer)
}
INTEGER_TIMERS = ("data_size",)

# -- the event loop --------------------------------------------------------------------------------------------

DEFAULT_MAX_ITEMS = 5_000_000  # scheduled items one call (run, step, apply, replay) may process
DEFAULT_MAX_SAME_INSTANT = 100_000  # items processed at one simulated instant before it is called a storm
POLL_EVERY = 4_096  # items between two calls of ``should_stop``


# The stop hook a caller installed for the calls it makes (stop_hook); a context variable, so it follows the caller's
# thread or task and nothing else.
_CALLER_STOP: ContextVar[Callable[[], bool] | None] = ContextVar("simulator_stop_hook", default=None)


def ambient_should_stop() -> bool:
    """The default ``Budget.should_stop``: what the hook installed by :func:`stop_hook` says (False if none is)."""
    hook = _CALLER_STOP.get()
    return hook is not None and hook()


@contextmanager
def stop_hook(hook: Callable[[], bool]) -> Iterator[None]:
    """Within the block, every engine call whose budget does not name its own ``should_stop`` polls ``hook``."""
    token = _CALLER_STOP.set(hook)
    try:
        yield
    finally:
        _CALLER_STOP.reset(token)


class TooMuchWork(RuntimeError):
    """A call needed more work than its budget allows (or its caller asked it to stop). The simulation is left
    consistent, at the point it reached: a caller that wants the state before the call replays or keeps a copy.

    ``reason`` is "items", "storm" or "stopped"; ``done`` the items processed by the call."""

    def __init__(self, reason: str, message: str, done: int) -> None:
        self.reason = reason
        self.done = done
        super().__init__(f"too much work: {message}")


@dataclass(frozen=True, slots=True)
class Budget:
    """How much one call may do. ``max_items`` scheduled items in all, at most ``max_same_instant`` of them at one
    simulated time, and ``should_stop()`` (if given; by default the hook of :func:`stop_hook`, if one is installed)
    returning True stops the call; all raise :class:`TooMuchWork`."""

    max_items: int = DEFAULT_MAX_ITEMS
    max_same_instant: int = DEFAULT_MAX_SAME_INSTANT
    should_stop: Callable[[], bool] | None = ambient_should_stop
    poll_every: int = POLL_EVERY


DEFAULT_BUDGET = Budget()


def shortened(text: str, limit: int = 60) -> str:
    """``text`` (a value as JSON or repr) cut short: an error message must not repeat a whole document, or a
    15,000-character query string back to its sender."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
