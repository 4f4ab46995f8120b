"""The websocket protocol checks commands with the engine's command catalogue, and bounds run_until by the longest
run (dmmviz/protocol.py; no Django needed)."""

from __future__ import annotations

import json

import pytest

from dmmviz import protocol
from simulator.commands import COMMANDS
from simulator.limits import MAX_TIME


def frame(**fields: object) -> str:
    return json.dumps({"v": 1, **fields})


@pytest.mark.parametrize(
    "command, field, words",
    [
        ({"action": "fly", "mn": "MN1"}, "command.action", "unknown action"),
        ({"action": "move", "mn": "MN1"}, "command.mar", "is required for 'move'"),
        ({"action": "move", "mn": "MN1", "mar": "MAR2", "speed": 3}, "command.speed", "unknown key"),
        ({"action": "start_flow", "mn": "MN1", "cn": "CN1", "flow": "f" * 33}, "command.flow", "at most 32 characters"),
        ({"action": "stop_flow", "mn": "MN1", "flow": ["x"]}, "command.flow", "must be an id"),
        ({"action": "stop_flow", "mn": "MN1", "flow": "x\n"}, "command.flow", "must be an id"),  # "$" before a newline
        ({"action": "detach", "mn": "MN1", "at": 3}, "command.at", "belongs in scenario scripts"),
    ],
)
def test_command_frames_are_checked_by_the_catalogue(command, field, words):
    """A malformed command is a bad_field error naming the key, in the catalogue's words."""
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse_client_frame(frame(type="command", command=command))
    assert info.value.code == protocol.ErrorCode.BAD_FIELD and info.value.field == field and words in info.value.message


@pytest.mark.parametrize("t", [MAX_TIME * 2, 1e308, -1])
def test_run_until_past_the_longest_run_is_refused(t):
    """run_until beyond limits.MAX_TIME (or below 0) is refused naming "t"."""
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse_client_frame(frame(type="run_until", t=t))
    assert info.value.field == "t"
    assert protocol.parse_client_frame(frame(type="run_until", t=MAX_TIME)).fields == {"t": MAX_TIME}


def test_protocol_actions_are_the_catalogue():
    """The protocol's ACTIONS (and /protocol.js) come from the command catalogue."""
    assert {name: (set(r), set(o)) for name, (r, o) in protocol.ACTIONS.items()} == {
        name: (set(spec.required), set(spec.optional)) for name, spec in COMMANDS.items()
    }
    assert '"move_flow"' in protocol.javascript_module()
