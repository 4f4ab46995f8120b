"""Everything one server process keeps for its websockets, in one object made once in WebConfig.ready
(dmmviz/web/apps.py): the per-session locks, the open tabs of each session and the relay that keeps the process in
each one's channel-layer group (relay.py), presence (who else has tabs) and the live cache. Nothing of this lives in
module globals of the consumer, so tests and management commands that import it change nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

from . import presence as presence_module
from .live import LiveCache
from .relay import Relay

if TYPE_CHECKING:
    from .consumers import SessionConsumer


class ProcessState:
    def __init__(self, cache: LiveCache, presence: Any) -> None:
        self.cache = cache
        self.presence = presence
        # One asyncio lock per session in this process, shared by its tabs' consumers (each holds a strong reference).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # The open tabs of each session in this process; the relay keeps this process in each one's channel-layer group.
        self.tabs: dict[str, set[SessionConsumer]] = {}
        self.relay = Relay(self.tabs)  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls) -> ProcessState:
        from django.conf import settings

        cache = LiveCache(max_bytes=int(getattr(settings, "DMMVIZ_LIVE_CACHE_BYTES", 256 * 1024 * 1024)))
        return cls(cache, presence_module.for_settings())

    def lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[session_id] = lock
        return lock

    def add_tab(self, session_id: str, tab: SessionConsumer) -> bool:
        """Register a tab; True if it is the first of its session in this process."""
        tabs = self.tabs.setdefault(session_id, set())
        tabs.add(tab)
        return len(tabs) == 1

    def remove_tab(self, session_id: str, tab: SessionConsumer) -> bool:
        """Forget a tab; True if it was the last of its session in this process."""
        tabs = self.tabs.get(session_id)
        if tabs is None:
            return False
        tabs.discard(tab)
        if tabs:
            return False
        del self.tabs[session_id]
        return True


_state: ProcessState | None = None


def state() -> ProcessState:
    """This process's state (made by WebConfig.ready; made here on first use when the app registry was bypassed)."""
    global _state
    if _state is None:
        _state = ProcessState.from_settings()
    return _state


def install(new: ProcessState) -> None:
    global _state
    _state = new
