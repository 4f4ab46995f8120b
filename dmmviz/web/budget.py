"""Work budgets from the web side: every server path that runs the engine passes it a budget of scheduled items and a
`should_stop` hook that checks the CPU time the call has used and whether its client is still there.

The engine (simulator/limits.py: `Budget`, `TooMuchWork`) counts items and polls `should_stop` inside its event
loop; it never reads a clock itself. `engine_kwargs(fn, ...)` gives `{"budget": ...}` for an engine call that takes
one. Callers turn `TooMuchWork` into their own clear answer: an `error` frame (code too_much_work) on a socket,
a page saying so over HTTP (`too_much_work_response`).

HTTP: `PageBudgetMiddleware` installs one StopHook per request (PAGE_CPU_SECONDS of CPU, and stop once the request is
cancelled) with `simulator.limits.stop_hook`, so every engine call the view makes polls it, whichever module makes
it (an export's replay, compare's runs, practice's look-ahead, a lesson's run, the lesson API).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import markcoroutinefunction

try:  # the engine's budget API (H-core); absent in an older engine, where the web side's own checks still apply
    from simulator.limits import Budget, TooMuchWork, stop_hook
except ImportError:  # pragma: no cover - only with an engine from before the budget API
    from contextlib import nullcontext as stop_hook  # type: ignore[assignment]

    Budget = None  # type: ignore[assignment,misc]

    class TooMuchWork(RuntimeError):  # type: ignore[no-redef]
        def __init__(self, reason: str, message: str, done: int) -> None:
            self.reason, self.done = reason, done
            super().__init__(f"too much work: {message}")


# CPU seconds one websocket request may take.
REQUEST_CPU_SECONDS = 2.0
# CPU seconds of engine work one page may take (export, compare, practice, a lesson's run, the lesson API);
# settings.DMMVIZ_PAGE_CPU_SECONDS overrides it. The dearest shipped page, /compare/mostly-static/?until=600, takes
# 3.8 s (six runs of 600 simulated seconds).
PAGE_CPU_SECONDS = 5.0
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


def _wants_json(request: Any) -> bool:
    """The page's scripts ask with Accept: application/json; documents end in .json or say ?format=json."""
    accept = request.headers.get("Accept", "")
    return ("application/json" in accept and "text/html" not in accept) or request.path.endswith(".json") or (
        request.GET.get("format") == "json")


def too_much_work_response(exc: BaseException, request: Any = None) -> Any:
    """An HTTP answer for a page whose engine work went over its budget: 422 with the reason, never a 500. As JSON
    for a script (`error` as the practice and class pages read it, `problems` as the lesson editor does)."""
    from django.http import HttpResponse, JsonResponse

    text = describe(exc)
    if request is not None and _wants_json(request):
        return JsonResponse({"error": text, "code": "too_much_work", "problems": [{"path": "", "message": text}]},
                            status=422)
    return HttpResponse(text, status=422, content_type="text/plain; charset=utf-8")


def page_cpu_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "DMMVIZ_PAGE_CPU_SECONDS", PAGE_CPU_SECONDS))


class PageBudgetMiddleware:
    """Every HTTP request's engine work runs under one StopHook: `page_cpu_seconds()` of CPU in the view's thread, and
    stop as soon as the request is cancelled (Django cancels it when the client disconnects, ServiceMiddleware when
    the page times out), so the view's thread stops at the engine's next poll instead of working on for nobody.
    Over budget, the engine raises TooMuchWork: ServiceMiddleware answers it with `too_much_work_response`."""

    async_capable = True
    sync_capable = False

    def __init__(self, get_response: Callable[[Any], Awaitable[Any]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: Any) -> Any:
        cancelled = threading.Event()
        hook = StopHook(page_cpu_seconds(), alive=lambda: not cancelled.is_set())
        with stop_hook(hook):  # a context variable: the view's thread gets a copy of this context
            page = asyncio.ensure_future(self.get_response(request))
        page.add_done_callback(_retrieve)
        try:
            # Shielded: asgiref answers a cancel by waiting for the view's thread to finish, so without the shield the
            # cancel would reach this line only once the work it should stop was done.
            return await asyncio.shield(page)
        except asyncio.CancelledError:
            cancelled.set()  # the view's thread stops at the engine's next poll; its late answer is dropped
            raise


def _retrieve(page: asyncio.Future[Any]) -> None:
    """Read a finished page's outcome, so that the exception of one nobody waits for any more is not logged."""
    if not page.cancelled():
        page.exception()
