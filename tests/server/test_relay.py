"""The relay (dmmviz/web/relay.py): a process is in a session's channel-layer group once, whatever its number of tabs,
and hands each change to every one of its tabs on that session, in order.

Two processes are two Relay objects over one in-memory channel layer (a layer shared the way Redis is shared); the tabs
are stand-ins that record what they are handed. The multi-process tests (test_multiprocess.py, tests/lessons/
test_class_multiprocess.py, tests/deploy) run the real thing through channels_redis and Daphne.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer

from dmmviz.web.relay import Relay, session_group

pytestmark = pytest.mark.asyncio

SESSION = "5f0c2a52-0000-4000-8000-000000000001"


class Tab:
    def __init__(self, fail: bool = False) -> None:
        self.joined = True
        self.updates: list[int] = []
        self.resyncs = 0
        self.fail = fail

    async def session_update(self, event: dict) -> None:
        if self.fail:
            raise RuntimeError("this tab's socket closed")
        self.updates.append(event["revision"])

    async def lessons_resync(self, event: dict) -> None:
        self.resyncs += 1


class Process:
    """What one server process has: its tabs of each session and its relay."""

    def __init__(self, layer: InMemoryChannelLayer) -> None:
        self.layer = layer
        self.tabs: dict[str, set[Tab]] = {}
        self.relay = Relay(self.tabs)
        self.handed_out = 0
        hand_out = self.relay.hand_out

        async def counting(message: dict) -> None:
            self.handed_out += 1
            await hand_out(message)

        self.relay.hand_out = counting  # type: ignore[method-assign]

    async def open_tabs(self, count: int, **kwargs: bool) -> list[Tab]:
        tabs = [Tab(**kwargs) for _ in range(count)]
        for tab in tabs:
            self.tabs.setdefault(SESSION, set()).add(tab)
            await self.relay.join(self.layer, SESSION)
        return tabs

    async def close_tabs(self) -> None:
        self.tabs.pop(SESSION, None)
        await self.relay.leave(self.layer, SESSION)


async def settle(condition, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the relay did not hand the messages out in time"
        await asyncio.sleep(0.01)


async def test_fifty_tabs_in_another_process_get_every_change_in_order_from_one_message_each():
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    (instructor,) = await a.open_tabs(1)
    followers = await b.open_tabs(50)
    assert len(layer.groups[session_group(SESSION)]) == 2  # one member per process, not per tab

    for revision in range(1, 6):
        await a.relay.send(layer, SESSION, {"type": "session.update", "revision": revision, "text": "{}"})
    await settle(lambda: all(len(tab.updates) == 5 for tab in followers))

    assert all(tab.updates == [1, 2, 3, 4, 5] for tab in followers)
    assert b.handed_out == 5  # five messages reached process B, not 250
    # The sending process's own tabs had the change directly (consumers._broadcast): its relay does not repeat it.
    await settle(lambda: a.handed_out == 5)
    assert instructor.updates == []


async def test_a_process_whose_last_tab_left_is_out_of_the_group_and_hears_nothing():
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    await a.open_tabs(1)
    gone = await b.open_tabs(3)
    await b.close_tabs()
    assert len(layer.groups[session_group(SESSION)]) == 1

    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 1, "text": "{}"})
    await settle(lambda: a.handed_out == 1)
    await asyncio.sleep(0.05)
    assert b.handed_out == 0 and all(tab.updates == [] for tab in gone)

    # A tab that comes back joins again, once.
    (back,) = await b.open_tabs(1)
    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 2, "text": "{}"})
    await settle(lambda: back.updates == [2])


async def test_one_failing_tab_does_not_keep_the_change_from_the_others():
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    await a.open_tabs(1)
    await b.open_tabs(1, fail=True)
    healthy = await b.open_tabs(5)
    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 1, "text": "{}"})
    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 2, "text": "{}"})
    await settle(lambda: all(tab.updates == [1, 2] for tab in healthy))


async def test_a_server_side_resync_reaches_every_tab_of_every_process():
    """classroom/player.resync: sent by a page (no origin), so the sending process's tabs get it too."""
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    tabs = await a.open_tabs(2) + await b.open_tabs(3)
    await layer.group_send(session_group(SESSION), {"type": "lessons.resync", "session": SESSION})
    await settle(lambda: all(tab.resyncs == 1 for tab in tabs))


async def test_tabs_closed_meanwhile_are_skipped():
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    await a.open_tabs(1)
    closing, open_tab = await b.open_tabs(2)
    closing.joined = False  # its disconnect has begun
    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 1, "text": "{}"})
    await settle(lambda: open_tab.updates == [1])
    assert closing.updates == []


async def test_the_receive_loop_stops_with_the_last_session_and_starts_again_with_the_next():
    """Like a tab's own receive, the relay's lasts only while the process has tabs: nothing is left waiting on the
    channel layer once they are gone (a receive left over from one event loop breaks the next one's)."""
    layer = InMemoryChannelLayer(capacity=1000)
    a, b = Process(layer), Process(layer)
    await a.open_tabs(1)
    await b.open_tabs(2)
    receiving = b.relay._task
    assert receiving is not None and not receiving.done()
    await b.close_tabs()
    assert receiving.done() and b.relay._task is None

    (back,) = await b.open_tabs(1)
    await a.relay.send(layer, SESSION, {"type": "session.update", "revision": 1, "text": "{}"})
    await settle(lambda: back.updates == [1])
