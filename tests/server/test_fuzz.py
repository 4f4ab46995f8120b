"""Hypothesis fuzzing of every JSON door (issue 10 item 7): websocket frames, scenario documents, lesson documents.
About 10,000 generated inputs in all; each must get a specific, typed refusal (a ProtocolError with a known code, a
list of "path: message" problems, a LessonError) or be accepted; never another exception, never a traceback."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async as sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmmviz import protocol
from dmmviz.protocol import ClientMessage, ErrorCode, ProtocolError
from dmmviz.web import limits
from dmmviz.web.consumers import parse_frame
from dmmviz.web.models import scenario_problems


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )

# Values a hostile client would send: huge and boundary integers, non-finite and extreme floats, long strings.
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from([0, -1, 2**53, 2**63, 2**70, -(2**63) - 1, 10**25]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 1e-300, 5e-324]),
    st.text(max_size=40), st.sampled_from(["", "MN1", "MAR2", "CN1", "x" * 200, "\u0000", "\ud800"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


def encode(value) -> str:
    """JSON text as a client could send it (Infinity/NaN included, lone surrogates escaped)."""
    return json.dumps(value, allow_nan=True)


@st.composite
def frames(draw) -> str:
    kind = draw(st.sampled_from(["structured", "value", "raw", "deep", "hugeint"]))
    if kind == "structured":
        ctype = draw(st.sampled_from([*[t.value for t in protocol.ClientType], "nope", 7]))
        frame = {"v": draw(st.sampled_from([1, 1, 1, 2, "1", True, None])), "type": ctype}
        if draw(st.booleans()):
            frame["id"] = draw(scalars)
        keys = st.sampled_from(["t", "steps", "command", "session", "at", "extra"])
        fields = draw(st.dictionaries(keys, json_values, max_size=3))
        if draw(st.booleans()):
            action = draw(st.sampled_from([*protocol.ACTIONS, "fly"]))
            keys = st.sampled_from(["mn", "mar", "flow", "cn", "interface", "at"])
            fields["command"] = {"action": action, **draw(st.dictionaries(keys, scalars, max_size=4))}
        frame.update(fields)
        return encode(frame)
    if kind == "value":
        return encode(draw(json_values))
    if kind == "raw":
        return draw(st.text(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(30, 3000))
        return "[" * depth + "]" * depth
    digits = draw(st.integers(15, 6000))
    return f'{{"v": 1, "type": "seek", "steps": {"9" * digits}}}'


def check_frame_outcome(text: str) -> None:
    try:
        message = parse_frame(text, None)
    except ProtocolError as err:
        assert err.code in set(ErrorCode) and err.message and "Traceback" not in err.message
        assert err.code != ErrorCode.INTERNAL
        protocol.error_message(err)  # and it serialises
        return
    assert isinstance(message, ClientMessage)


@fuzz(4600)
@given(frames())
def test_websocket_frames_get_a_typed_answer(text):
    check_frame_outcome(text)


# -- scenario documents --------------------------------------------------------------------------------------------

BASE_SCENARIO = json.load(open("dmmviz/builtin_scenarios/fig5-handover.json", encoding="utf-8"))


@st.composite
def scenarios(draw) -> str:
    """The built-in Figure 5 with one to three values replaced, at any depth, by hostile ones."""
    doc = json.loads(json.dumps(BASE_SCENARIO))
    for _ in range(draw(st.integers(1, 3))):
        node, key = doc, None
        for _level in range(draw(st.integers(1, 4))):
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                key = draw(st.integers(0, len(node) - 1))
            else:
                break
            if isinstance(node[key], (dict, list)) and node[key] and draw(st.booleans()):
                node, key = node[key], None
            else:
                break
        if key is not None and isinstance(node, (dict, list)):
            node[key] = draw(json_values)
    return encode(doc)


def check_scenario_outcome(text: str) -> None:
    try:
        data = limits.loads(text)
    except limits.JSONInputError as exc:
        assert exc.message
        return
    if not isinstance(data, dict):
        return  # the upload form refuses a non-object before the engine sees it
    problems = scenario_problems(data)
    assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)


@fuzz(3500)
@given(scenarios())
def test_scenario_documents_get_problems_or_pass(text):
    check_scenario_outcome(text)


# -- lesson documents ----------------------------------------------------------------------------------------------

BASE_LESSON = json.load(open("dmmviz/builtin_lessons/fig5-handover.json", encoding="utf-8"))


@st.composite
def lessons(draw) -> str:
    doc = json.loads(json.dumps(BASE_LESSON))
    steps = doc.get("steps") or []
    choice = draw(st.sampled_from(["step_key", "top_key", "value"]))
    if choice == "step_key" and steps:
        step = steps[draw(st.integers(0, len(steps) - 1))]
        keys = st.sampled_from(["until", "title", "text", "actions", "checkpoint", "start", "highlight", "zz"])
        step[draw(keys)] = draw(json_values)
    elif choice == "top_key":
        doc[draw(st.sampled_from(["format", "title", "steps", "scenario", "zz"]))] = draw(json_values)
    else:
        return encode(draw(json_values))
    return encode(doc)


@fuzz(1800)
@given(lessons())
def test_lesson_documents_get_problems_or_pass(text):
    from dmmviz.lessons import lessonfile

    try:
        data = lessonfile.parse_text(text)
    except lessonfile.LessonError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    problems = lessonfile.validate(data)
    assert isinstance(problems, list) and all(p.message for p in problems)


# -- the same frames through a live socket -------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_answers_hostile_frames_without_an_internal_error(new_session, clients, caplog):
    """150 generated frames (valid requests among them; fewer than the rate limit's burst) on one socket: every reply
    is a snapshot, events or a
    specific error; none is "internal", nothing is logged as an exception, and the session still opens."""
    session = await sync_to_async(new_session)("fig5-handover")
    client, _ = await clients(session.id)
    sample = frames()
    texts = [t for t in _examples(sample, 200) if t][:150]
    internal = []
    for text in texts:
        await client.send_raw(text)
        reply = await client.receive()
        assert reply["type"] in ("snapshot", "events", "error")
        if reply["type"] == "error" and reply["code"] == "internal":
            internal.append((text[:200], reply))
    assert internal == []
    assert not [r for r in caplog.records if r.exc_info]
    _, snapshot = await clients(session.id)
    assert snapshot["type"] == "snapshot"


def _examples(strategy, n: int) -> list[str]:
    out: list[str] = []

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(strategy)
    def collect(text):
        out.append(text)

    collect()
    return out[:n]
