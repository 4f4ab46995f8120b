"""Work budgets from the web side: every server path that runs the engine passes it a budget of scheduled items and a
`should_stop` hook that checks the CPU time the call has used and whether its client is still there.

The engine (simulator/limits.py: `Budget`, `TooMuchWork`) counts items and polls `should_stop` inside its event
loop; it never reads a clock itself. `engine_kwargs(fn, ...)` gives `{"budget": ...}` for an engine call that takes
one. Callers turn `TooMuchWork` into their own clear answer: an `error` frame (code too_much_work) on a socket,
a page saying so over HTTP (`too_much_work_response`).
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

try:  # the engine's budget API (H-core); absent in an older engine, where the web side's own checks still apply
    from simulator.limits import Budget, TooMuchWork
except ImportError:  # pragma: no cover - only with an engine from before the budget API
    Budget = None  # type: ignore[assignment,misc]

    class TooMuchWork(RuntimeError):  # type: ignore[no-redef]
        def __init__(self, reason: str, message: str, done: int) -> None:
            self.reason, self.done = reason, done
            super().__init__(f"too much work: {message}")


# CPU seconds one request may take: a websocket request, a page (export, compare, practice, lesson simulate).
REQUEST_CPU_SECONDS = 2.0
# Rebuilding a session from the database (a replay) may take longer: it happens once per process and session.
REBUILD_CPU_SECONDS = 10.0
# Scheduled items a call on the event loop's own thread (a command, a step) may process: about 20 ms of work.
IN_LOOP_ITEMS = 20_000


class StopHook:
    """`should_stop` for the engine: True once the calling thread has used `cpu_seconds` of CPU since its first call,
    or once `alive()` says the client went away. `reason` says which."""

    def __init__(self, cpu_seconds: float, alive: Callable[[], bool] | None = None) -> None:
        self.cpu_seconds = cpu_seconds
        self.alive = alive
        self.start: float | None = None
        self.thread: int | None = None
        self.reason: str | None = None

    def begin(self) -> StopHook:
        """Start counting now, in this thread (a call from another thread starts counting there)."""
        self.start = time.thread_time()
        self.thread = threading.get_ident()
        return self

    def __call__(self) -> bool:
        if self.start is None or self.thread != threading.get_ident():
            self.begin()
        if self.alive is not None and not self.alive():
            self.reason = "the client went away"
            return True
        if time.thread_time() - (self.start or 0.0) > self.cpu_seconds:
            self.reason = f"more than {self.cpu_seconds:g} s of CPU time"
            return True
        return False

    def check(self) -> None:
        """Raise TooMuchWork if the hook says stop (for the web side's own loops between engine calls)."""
        if self():
            raise TooMuchWork("stopped", self.reason or "stopped", 0)


@functools.cache
def _takes_budget(fn: Callable[..., Any]) -> bool:
    try:
        return "budget" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def engine_kwargs(fn: Callable[..., Any], hook: StopHook | None = None, max_items: int | None = None) -> dict[str, Any]:
    """Keyword arguments that give the engine call `fn` a budget (empty if the engine takes none)."""
    if Budget is None or not _takes_budget(getattr(fn, "__func__", fn)):
        return {}
    fields: dict[str, Any] = {}
    if hook is not None:
        fields["should_stop"] = hook
    if max_items is not None:
        fields["max_items"] = max_items
    return {"budget": Budget(**fields)}


def describe(exc: BaseException) -> str:
    """A sentence for people about a TooMuchWork."""
    text = str(exc)
    if not text.startswith("too much work"):
        text = f"too much work: {text}"
    return f"{text}. Nothing was changed; ask for less (an earlier time, fewer steps) or reset the session."


def too_much_work_response(exc: BaseException) -> Any:
    """An HTTP answer for a page whose engine work went over its budget: 422 with the reason, never a 500."""
    from django.http import HttpResponse

    return HttpResponse(describe(exc), status=422, content_type="text/plain; charset=utf-8")
