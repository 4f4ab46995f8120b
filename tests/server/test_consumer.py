"""The session websocket (dmmviz/protocol.py) with the real engine behind it."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import (
    database_sync_to_async as sync_to_async,  # closes its connections, so test DBs can be dropped
)

from dmmviz import protocol
from dmmviz.web import live
from dmmviz.web.models import SimSession
from simulator import Simulation

from .conftest import tables

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def kinds(events):
    return [e["kind"] for e in events]


def shown_state(snapshot, replies):
    """The state a tab draws after these replies: the last one sent (an events message has null when nothing
    changed)."""
    states = [snapshot["state"]] + [r["state"] for r in replies if r["state"] is not None]
    return states[-1]


async def test_connect_sends_snapshot_of_fresh_session(new_session, clients):
    """Opening a session's socket sends a snapshot of the scenario at t=0 with nothing done yet."""
    session = await sync_to_async(new_session)("fig5-handover")
    _, snap = await clients(session.id)
    assert snap["v"] == 1 and snap["cause"] == "connect"
    assert snap["session"] == str(session.id)
    assert snap["scenario"]["title"].startswith("Seed Figure 5")
    assert (snap["steps"], snap["now"], snap["events"], snap["journal"]) == (0, 0.0, [], [])
    assert snap["state"]["format"] == "dmmviz-state/1"
    assert snap["next"] == 0.0 and snap["can_step_back"] is False and snap["mode"] == "network-dmm"


async def test_step_returns_one_step_of_events_and_state(new_session, clients):
    """A step processes the first script entry: the attach of MN1 to MAR1."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    reply = await client.request("step")
    assert reply["cause"] == "step" and reply["steps"] == 1 and reply["revision"] == 1
    assert reply["events"][0]["kind"] == "action" and reply["events"][0]["action"] == "attach"
    assert "l2_attach" in kinds(reply["events"])
    assert reply["state"]["mns"]["MN1"]["interfaces"]["if1"] == "MAR1"
    assert reply["can_step_back"] is True
    await client.request("hello", expect="snapshot")  # answered once the step is saved
    row = await sync_to_async(SimSession.objects.get)(id=session.id)
    assert (row.steps, row.revision) == (1, 1)


async def test_fig5_drag_to_mar2_signals_pbu_pba_and_tunnel(new_session, clients):
    """Figure 5: after a user move to MAR2, MAR2 sends a PBU to MAR1, MAR1 answers PBA and a tunnel comes up."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    before = await client.request("run_until", t=3.0)
    assert before["now"] == 3.0 and before["more"] is False
    flows = before["state"]["mns"]["MN1"]["flows"]
    assert [f["id"] for f in flows if f["active"]] == ["flow1"]

    moved = await client.request("command", command={"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR2"})
    assert moved["cause"] == "command"
    expected = {"kind": "action", "action": "move", "source": "user", "mar": "MAR2"}
    assert moved["events"][0] == {**moved["events"][0], **expected}
    assert "l2_detach" in kinds(moved["events"])

    after = await client.request("run_until", t=3.5)
    events = after["events"]
    pbu = next(e for e in events if e["kind"] == "PBU")
    pba = next(e for e in events if e["kind"] == "PBA")
    assert (pbu["src"], pbu["dst"], pba["src"], pba["dst"]) == ("MAR2", "MAR1", "MAR1", "MAR2")
    assert set(pbu["flags"]) >= set("AHP") and pba["status"] == 0
    assert kinds(events).index("PBU") < kinds(events).index("PBA")
    assert kinds(events).index("PBU") < kinds(events).index("tunnel_up")
    mar1 = after["state"]["mars"]["MAR1"]
    assert mar1["tunnels"] == ["MAR2"]
    assert [(b["mn"], b["serving"]) for b in mar1["binding_cache"]] == [("MN1", "MAR2")]
    assert after["state"]["mns"]["MN1"]["interfaces"]["if1"] == "MAR2"


async def test_step_back_undoes_the_last_command_then_the_last_step(new_session, clients):
    """step_back first takes back a user command given since the last step, then steps one at a time."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    ran = await client.request("run_until", t=3.0)
    await client.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})

    undone = await client.request("step_back", expect="snapshot")
    assert undone["cause"] == "step_back" and undone["journal"] == []
    assert undone["steps"] == ran["steps"] and undone["now"] == 3.0
    assert undone["state"] == ran["state"]
    assert undone["state"]["mns"]["MN1"]["interfaces"]["if1"] == "MAR1"

    back = await client.request("step_back", expect="snapshot")
    # one visible step earlier: right after the step before the last one that changed something (the engine's
    # step_back skips items that change nothing visible, such as a packet arriving)
    assert back["steps"] < ran["steps"]
    assert back["events"] == undone["events"][: len(back["events"])] and len(back["events"]) < len(undone["events"])


async def test_step_back_after_pba_removes_binding_and_tunnel(new_session, clients):
    """Stepping back over the PBA's arrival takes the binding and the tunnel away again."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.request("run_until", t=3.0)
    await client.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    while True:
        reply = await client.request("step")
        if "tunnel_up" in kinds(reply["events"]):
            break
    assert reply["state"]["mars"]["MAR1"]["tunnels"] == ["MAR2"]
    back = await client.request("step_back", expect="snapshot")
    assert back["state"]["mars"]["MAR1"]["tunnels"] == []
    assert back["state"]["mars"]["MAR1"]["binding_cache"] == []
    assert "tunnel_up" not in kinds(back["events"])
    assert "PBU" in kinds(back["events"])


async def test_reset_and_seek_replay_the_session(new_session, clients):
    """reset forgets everything; seek goes to the state after a given number of steps, back or forward."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, start = await clients(session.id)
    replies = [await client.request("step") for _ in range(12)]
    middle = replies[5]
    sought = await client.request("seek", expect="snapshot", steps=middle["steps"])
    assert (sought["steps"], sought["now"]) == (middle["steps"], middle["now"])
    assert tables(sought["state"]) == tables(shown_state(start, replies[:6]))
    assert sought["events"][-1] == middle["events"][-1]
    forward = await client.request("seek", expect="snapshot", steps=replies[-1]["steps"])
    assert forward["steps"] == replies[-1]["steps"]
    assert tables(forward["state"]) == tables(shown_state(start, replies))
    reset = await client.request("reset", expect="snapshot")
    assert (reset["steps"], reset["now"], reset["events"], reset["can_step_back"]) == (0, 0.0, [], False)


async def test_state_is_sent_when_a_table_changed_and_null_when_only_messages_went_by(new_session, clients):
    """Figure 5 stepped through its handover: every reply whose events change a table carries the new state; a reply
    with only data packets (or drops) carries null, and the state the tab already has is still right then."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, snap = await clients(session.id)
    reference = Simulation(snap["scenario"], seed=snap["seed"])
    shown, nulls = snap["state"], 0
    while True:
        reply = await client.request("step")
        assert reply["events"] == json.loads(json.dumps(reference.step()))
        changes = [k for k in kinds(reply["events"]) if k.islower() and k != "drop"]
        if changes:
            assert reply["state"] == reference.snapshot(), changes
            shown = reply["state"]
        else:
            assert reply["state"] is None, kinds(reply["events"])
            assert tables(shown) == tables(reference.snapshot())
            nulls += 1
        if reply["now"] >= 7.5:  # past the handover (5 s) and the second flow (7 s)
            break
    assert nulls > 10 and "tunnel_up" in kinds(reference.events)


async def test_two_tabs_on_one_session_get_the_same_updates(new_session, clients):
    """Every tab on a session sees every change, whichever tab made it; only the asking tab gets "re"."""
    session = await sync_to_async(new_session)("fig5-handover")
    tab_a, snap_a = await clients(session.id)
    tab_b, snap_b = await clients(session.id)
    assert snap_a["state"] == snap_b["state"]

    mine = await tab_a.request("step")
    theirs = await tab_b.expect("events")
    assert "re" not in theirs
    assert {k: v for k, v in mine.items() if k != "re"} == theirs

    await tab_b.request("run_until", t=2.0)
    seen_by_a = await tab_a.expect("events")
    assert seen_by_a["now"] == 2.0 and seen_by_a["revision"] == 2

    await tab_a.request("step_back", expect="snapshot")
    back_b = await tab_b.expect("snapshot")
    assert back_b["cause"] == "step_back" and back_b["revision"] == 3
    await tab_a.nothing()
    await tab_b.nothing()


async def test_reconnect_to_a_cold_process_resumes_exactly(new_session, clients, builtin_scenario):
    """A reconnect that lands on a process without the simulation in memory rebuilds it by replay, exactly."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.request("run_until", t=3.0)
    await client.request("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    await client.request("run_until", t=4.25)
    before = await client.request("hello", expect="snapshot")
    await client.close()

    live.cache.clear()  # what another Daphne process has in memory: nothing
    client2, again = await clients(session.id)
    for key in ("steps", "now", "next", "state", "events", "journal", "revision"):
        assert again[key] == before[key], key

    # And it goes on exactly as one uninterrupted simulation does.
    reference = Simulation(builtin_scenario("fig5-handover"))
    reference.run(3.0)
    reference.apply({"action": "move", "mn": "MN1", "mar": "MAR2"})
    reference.run(4.25)
    expected = json.loads(json.dumps(reference.step()))
    assert (await client2.request("step"))["events"] == expected


async def test_change_saved_by_another_process_is_not_lost(new_session, clients):
    """If another process saved the session meanwhile, neither change is lost: this tab is resynced, its request
    redone."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.request("step")  # this process now caches the simulation at revision 1
    await client.request("hello", expect="snapshot")  # answered once that step is saved

    def other_process_steps_twice():
        row = live.load_row(str(session.id))
        other = live.rebuild(row)
        other.sim.step()
        other.sim.step()
        assert live.save(str(session.id), row.revision, other.sim, journal_changed=False)

    await sync_to_async(other_process_steps_twice)()
    msg_id = await client.send("step")
    # The save finds revision 2 taken by the other process, so this tab is never shown its unsaved step (issue 10:
    # a tab is told only what is stored): it gets the stored state, then its step done again on top of it.
    resync = await client.expect("snapshot")
    assert (resync["cause"], resync["revision"], "re" in resync) == ("resync", 2, False)
    redone = await client.expect("events")
    assert (redone["re"], redone["revision"]) == (msg_id, 3)
    assert redone["steps"] > resync["steps"]
    await client.nothing()
    await client.request("hello", expect="snapshot")  # answered once the redone step is saved
    row = await sync_to_async(SimSession.objects.get)(id=session.id)
    assert (row.steps, row.revision) == (redone["steps"], 3)


async def test_command_is_judged_on_the_latest_state_not_a_stale_cache(new_session, clients):
    """A command valid only after another process's change is accepted, not refused on this process's old copy."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)  # cached here at revision 0: MN1 not attached yet

    def other_process_runs_to_3s():
        row = live.load_row(str(session.id))
        other = live.rebuild(row)
        other.sim.run(3.0)
        assert live.save(str(session.id), row.revision, other.sim, journal_changed=False)

    await sync_to_async(other_process_runs_to_3s)()
    msg_id = await client.send("command", command={"action": "move", "mn": "MN1", "mar": "MAR2"})
    reply = await client.receive()
    assert reply["type"] == "snapshot" and reply["re"] == msg_id, reply
    move = {"action": "move", "mn": "MN1", "mar": "MAR2"}
    assert reply["journal"] == [{"steps": reply["steps"], "t": 3.0, "command": move}]


async def test_request_id_is_echoed_only_to_the_asker(new_session, clients):
    """A string id comes back as "re" on the reply, errors included."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    await client.comm.send_json_to({"v": 1, "type": "step", "id": "abc"})
    assert (await client.expect("events"))["re"] == "abc"
    await client.comm.send_json_to({"v": 1, "type": "run_until", "t": -1, "id": "x7"})
    assert (await client.expect("error"))["re"] == "x7"


# -- bad input: a specific error, nothing changed, the connection still works ------------------------------------

BAD_FRAMES = [
    ("not json", "{step", "bad_json", None),
    ("not an object", "[1, 2]", "bad_envelope", None),
    ("no version", '{"type": "step"}', "bad_envelope", "v"),
    ("wrong version", '{"v": 2, "type": "step"}', "bad_version", "v"),
    ("no type", '{"v": 1}', "bad_envelope", "type"),
    ("unknown type", '{"v": 1, "type": "teleport"}', "unknown_type", "type"),
    ("method name as type", '{"v": 1, "type": "disconnect"}', "unknown_type", "type"),
    ("extra key", '{"v": 1, "type": "step", "count": 3}', "bad_envelope", "count"),
    ("bad id", '{"v": 1, "type": "step", "id": [1]}', "bad_envelope", "id"),
    ("t not a number", '{"v": 1, "type": "run_until", "t": "soon"}', "bad_field", "t"),
    ("t missing", '{"v": 1, "type": "run_until"}', "bad_field", "t"),
    ("steps negative", '{"v": 1, "type": "seek", "steps": -1}', "bad_field", "steps"),
    ("command not an object", '{"v": 1, "type": "command", "command": "move"}', "bad_field", "command"),
    ("unknown action", '{"v": 1, "type": "command", "command": {"action": "fly", "mn": "MN1"}}',
     "bad_field", "command.action"),
    ("missing mar", '{"v": 1, "type": "command", "command": {"action": "move", "mn": "MN1"}}',
     "bad_field", "command.mar"),
    ("at in a command",
     '{"v": 1, "type": "command", "command": {"action": "move", "mn": "MN1", "mar": "MAR2", "at": 3}}',
     "bad_field", "command.at"),
    ("unknown MN", '{"v": 1, "type": "command", "command": {"action": "move", "mn": "MN9", "mar": "MAR2"}}',
     "command_rejected", "command.mn"),
    ("unknown MAR", '{"v": 1, "type": "command", "command": {"action": "move", "mn": "MN1", "mar": "MAR9"}}',
     "command_rejected", "command.mar"),
    ("move to the MAR it is on",
     '{"v": 1, "type": "command", "command": {"action": "move", "mn": "MN1", "mar": "MAR1"}}',
     "command_rejected", "command.mar"),
    ("unknown flow", '{"v": 1, "type": "command", "command": {"action": "stop_flow", "mn": "MN1", "flow": "nope"}}',
     "command_rejected", "command.flow"),
    ("time travel", '{"v": 1, "type": "run_until", "t": 0.5}', "bad_field", "t"),
    ("wrong session in hello", '{"v": 1, "type": "hello", "session": "someone-else"}', "bad_field", "session"),
]


@pytest.mark.parametrize("name, frame, code, field", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
async def test_bad_frame_gets_specific_error_and_changes_nothing(new_session, clients, name, frame, code, field):
    """Each kind of bad frame gets its own error code and field; the session is unchanged and the socket usable."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    before = await client.request("run_until", t=1.5)  # MN1 attached to MAR1, flow1 running
    await client.send_raw(frame)
    error = await client.expect("error")
    assert (error["code"], error["field"]) == (code, field), error["message"]
    assert error["message"]
    still = await client.request("hello", expect="snapshot")
    assert (still["revision"], still["steps"], still["state"]) == (before["revision"], before["steps"], before["state"])
    assert (await client.request("step"))["steps"] == before["steps"] + 1


async def test_oversize_and_binary_frames_are_refused(new_session, clients):
    """A frame over MAX_FRAME_BYTES and a binary frame get their own errors; the socket stays usable."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    big = json.dumps({"v": 1, "type": "step", "id": "x" * (protocol.MAX_FRAME_BYTES + 10)})
    await client.send_raw(big)
    error = await client.expect("error")
    assert error["code"] == "frame_too_large" and str(protocol.MAX_FRAME_BYTES) in error["message"]
    await client.send_raw(binary=b'{"v": 1, "type": "step"}')
    assert (await client.expect("error"))["code"] == "bad_json"
    assert (await client.request("step"))["steps"] == 1


async def test_flood_is_rate_limited_then_the_socket_recovers(new_session, clients):
    """Far more frames than the burst allows: the excess is dropped with a rate_limited error, then all is well."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    flood = protocol.RATE_BURST * 6
    for _ in range(flood):
        await client.send_raw('{"v": 1, "type": "hello", "session": 5}')  # cheap and invalid: no session changes
    codes = []
    while not await client.comm.receive_nothing(timeout=0.5):
        codes.append((await client.expect("error"))["code"])
    assert "rate_limited" in codes
    assert codes.count("bad_field") < flood, "every frame of the flood was handled"
    assert set(codes) == {"rate_limited", "bad_field"}
    await asyncio.sleep(1.0)  # the bucket refills
    assert (await client.request("step"))["steps"] >= 1
    assert (await client.request("hello", expect="snapshot"))["revision"] == 1


async def test_nothing_to_undo_at_start(new_session, clients):
    """step_back at the very start is refused with its own code."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    error = await client.error("step_back")
    assert error["code"] == "nothing_to_undo" and error["request"] == "step_back"


async def test_unknown_session_gets_error_and_close(transactional_db):
    """A socket for a session that does not exist gets session_not_found and is closed with 4404."""
    from channels.testing import WebsocketCommunicator

    from dmmviz.asgi import application

    from .conftest import ORIGIN

    comm = WebsocketCommunicator(application, "/ws/session/00000000-0000-4000-8000-000000000000/", headers=[ORIGIN])
    connected, _ = await comm.connect()
    assert connected
    error = await comm.receive_json_from()
    assert error["code"] == "session_not_found"
    closed = await comm.receive_output()
    assert closed == {"type": "websocket.close", "code": protocol.CLOSE_SESSION_NOT_FOUND}
    await comm.disconnect()


async def test_foreign_origin_is_refused(new_session):
    """A page from another origin cannot open a session's socket."""
    from .conftest import Client

    session = await sync_to_async(new_session)("fig5-handover")
    client = Client(session.id, origin=(b"origin", b"http://evil.example"))
    connected, _ = await client.comm.connect()
    assert not connected
    await client.close()


async def test_idle_simulation_step_is_refused(new_session, clients):
    """A scenario whose queue has run dry answers step with nothing_scheduled."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    # Stop the flow so nothing keeps the queue busy, then run far ahead.
    await client.request("run_until", t=8.0)
    for flow in ("flow1", "flow2"):
        await client.request("command", command={"action": "stop_flow", "mn": "MN1", "flow": flow})
    reply = await client.request("run_until", t=80000.0)
    assert reply["next"] is None
    error = await client.error("step")
    assert error["code"] == "nothing_scheduled"


async def test_hello_names_the_session_in_any_spelling_of_its_uuid(new_session, clients):
    """A hello naming the socket's own session in upper case (or without dashes) is the same session, not another."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    for spelling in (str(session.id).upper(), session.id.hex):
        assert (await client.request("hello", expect="snapshot", session=spelling))["type"] == "snapshot"
    await client.send("hello", session="00000000-0000-0000-0000-000000000000")
    assert (await client.error())["field"] == "session"
