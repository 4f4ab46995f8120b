"""The dmmviz websocket protocol, version 1. This docstring is the specification.

Endpoint
    ``ws://HOST/ws/session/<session-uuid>/``; the session is made by POSTing to ``/scenarios/<slug>/start/`` (the home
    page's "Open" button), which redirects to the session's page ``/s/<session-uuid>/``. The Origin header must name a
    host in ALLOWED_HOSTS, otherwise the handshake is refused. An unknown session gets an ``error`` (code
    ``session_not_found``) and the socket is closed with code 4404.

Envelope
    Every frame, both ways, is one UTF-8 text frame holding one JSON object with ``"v": 1`` (this version) and
    ``"type"`` (a string below). A client frame may carry ``"id"`` (a string of at most 64 characters or an integer);
    the server copies it as ``"re"`` into the reply that the same socket gets (``snapshot``, ``events`` or ``error``),
    so a client can match replies; other tabs get the same update without ``re``. A client frame is at most
    ``MAX_FRAME_BYTES`` bytes; keys not listed for its type are refused.

Every change is saved in the database (the session is its scenario, seed, commands and step count) before any other
tab hears of it; the tab that asked gets its reply as soon as the change is made, while it is being saved. In the
rare case that another server process saved a change to the same session in that instant, the asking tab then gets a
``snapshot`` (cause "resync") of what was stored, followed by its request's reply redone on top of it. A ``hello``
is answered after every change this tab asked for has been saved.

The browser keeps no protocol state of its own: after every change the server sends what it needs to draw, either a
whole ``snapshot`` or ``events`` with the complete ``state`` (or ``state`` null when no table changed, so the last one
still holds). Every tab on one session is in one channel-layer group
and gets the same ``snapshot``/``events`` messages, in the same order, from whichever tab (or server process) caused
them. The server owns no timers: the client paces playback and asks for the next events (``step``, ``run_until``).

Client -> server (``ClientType``)
    ``hello``     {session?}  Ask for a ``snapshot`` (one is also sent unasked right after connecting). ``session``, if
                  given, must be the session of the URL.
    ``command``   {command: {action, ...}}  A user action applied at the current simulated time: the keys of a scenario
                  script entry without ``at`` (``ACTIONS``: attach {mn, interface?, mar}, detach {mn, interface?},
                  move {mn, interface?, mar}, start_flow {mn, flow, cn, interface?}, stop_flow {mn, flow},
                  move_flow {mn, flow, interface}). Reply: ``events`` (cause "command").
    ``step``      {}  One visible step: the engine processes scheduled items up to the next one that emits events
                  (``sim.step()``). Reply: ``events`` (cause "step"); ``nothing_scheduled`` when the queue is empty.
    ``run_until`` {t}  Process every event scheduled at or before simulated time ``t`` (seconds, ``t >= now``), then set
                  now to ``t``; at most about ``MAX_RUN_STEPS`` items per request: if it stops early, ``now`` in the
                  reply is below ``t`` and ``more`` is true. Reply: ``events`` (cause "run_until").
    ``step_back`` {}  Undo the last user command or the last visible step, whichever came last (``sim.step_back()``,
                  a replay). Reply: ``snapshot`` (cause "step_back"); ``nothing_to_undo`` at the start.
    ``reset``     {}  Back to the start of the scenario, user commands forgotten. Reply: ``snapshot`` (cause "reset").
    ``seek``      {steps}  Go to the state after ``steps`` engine items (the ``steps`` of an earlier ``events`` or
                  ``snapshot``; 0 = the start), keeping the user commands given up to there. Forward seeks go at most
                  ``MAX_RUN_STEPS`` ahead. Reply: ``snapshot`` (cause "seek").

Server -> client (``ServerType``)
    Every ``snapshot`` and ``events`` carries ``revision``, the session's change counter: each change adds one, so
    a tab's messages arrive with revisions rising by one. (A tab that would miss one, because its messages crossed
    another server process's, gets a ``snapshot`` with cause "resync" instead; stale ones are never sent.)

    ``snapshot``  {cause, revision, session, scenario, seed, mode, now, next, steps, state, events, events_omitted,
                  journal, can_step_back}: everything needed to draw the session from nothing. ``scenario`` is the
                  scenario document, ``mode`` the mode it runs under, ``state`` the engine's "dmmviz-state/1" snapshot
                  at ``now``, ``events`` every wire event so far in ``seq`` order (docs/engine.md; a message lost on
                  the way has ``arrive`` null), except that only the last ``MAX_SNAPSHOT_EVENTS`` are sent and
                  ``events_omitted`` says how many earlier ones were left out. ``next`` is the time of the next
                  scheduled event or null. ``journal`` lists the user's commands as {steps, t, command}: applied at
                  simulated time ``t`` after ``steps`` steps. ``cause`` is "connect", "hello", "step_back", "reset",
                  "seek" or "resync".
    ``events``    {cause, revision, events, state, now, next, steps, can_step_back, more}: the wire events that one
                  request produced (possibly none), in ``seq`` order, and the state after it. ``state`` is null when
                  the request changed none of the state's tables, which is when its events hold no state event (lower
                  case kind) other than ``drop``: only messages went by, so the last ``state`` the tab got (from the
                  previous revision) still holds, apart from its clock ``t`` (this message's ``now``) and the flows'
                  ``packets`` counters. ``cause`` is "command", "step" or "run_until". ``more`` is true only for a
                  ``run_until`` that stopped at ``MAX_RUN_STEPS``.
    ``error``     {code, field, message, request}: sent only to the socket whose frame caused it; nothing changed.
                  ``code`` is an ``ErrorCode``; ``field`` names the offending key as a path into the client's frame
                  (``"t"``, ``"command.mar"``) or is null; ``message`` is for people; ``request`` is the request's type
                  (or null when it could not be read). The connection stays open and usable, except after
                  ``session_not_found`` (closed with 4404) and ``scenario_invalid`` (the stored scenario is one the
                  engine now refuses; closed with 4422).
                  Sessions that belong to someone (a student's lesson attempt, practice run or branch, a class's
                  session; see docs/lessons.md) refuse anyone else with ``forbidden`` and close with 4403. A class's
                  students follow its session through ``/ws/class/<code>/``, which sends ``snapshot`` and ``events``
                  like a session socket but answers every request except ``hello`` with ``read_only``.

Limits
    Each socket may send ``RATE_BURST`` frames at once and ``RATE_PER_SECOND`` a second on average; a frame beyond
    that is dropped with an ``error`` (code ``rate_limited``), at most one such error per second, and changes nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulator.commands import COMMANDS, shape_problems
from simulator.jsonin import JSONInputError, loads
from simulator.limits import MAX_TIME

VERSION = 1

MAX_FRAME_BYTES = 16 * 1024
MAX_ID_CHARS = 64
MAX_RUN_STEPS = 2_000
MAX_SNAPSHOT_EVENTS = 2_000
RATE_PER_SECOND = 100.0
RATE_BURST = 200

CLOSE_SESSION_NOT_FOUND = 4404
CLOSE_SCENARIO_INVALID = 4422
CLOSE_FORBIDDEN = 4403
CLOSE_UNAVAILABLE = 4503  # after an ``unavailable`` error (database or Redis away): try again later, like HTTP 503


class ClientType(StrEnum):
    HELLO = "hello"
    COMMAND = "command"
    STEP = "step"
    RUN_UNTIL = "run_until"
    STEP_BACK = "step_back"
    RESET = "reset"
    SEEK = "seek"


class ServerType(StrEnum):
    SNAPSHOT = "snapshot"
    EVENTS = "events"
    ERROR = "error"


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"  # the frame is not JSON text, or is binary
    BAD_ENVELOPE = "bad_envelope"  # not an object, no "type", bad "id", or a key that does not belong
    BAD_VERSION = "bad_version"  # "v" is not VERSION
    UNKNOWN_TYPE = "unknown_type"  # "type" is not a ClientType
    BAD_FIELD = "bad_field"  # a field of the request is missing or has the wrong type or value
    FRAME_TOO_LARGE = "frame_too_large"  # more than MAX_FRAME_BYTES
    RATE_LIMITED = "rate_limited"  # too many frames; this one was dropped
    COMMAND_REJECTED = "command_rejected"  # the engine refused the command (unknown node, already there, ...)
    NOTHING_SCHEDULED = "nothing_scheduled"  # step with an empty event queue
    NOTHING_TO_UNDO = "nothing_to_undo"  # step_back at the start
    SESSION_NOT_FOUND = "session_not_found"  # the URL's session does not exist; the socket closes (4404)
    SCENARIO_INVALID = "scenario_invalid"  # the session's stored scenario is refused by the engine; closes (4422)
    BUSY = "busy"  # the session kept changing under this request (other tabs or servers); try again
    INTERNAL = "internal"  # a bug: reported, logged, nothing changed
    FORBIDDEN = "forbidden"  # the session belongs to someone else (lessons app); the socket closes (4403)
    READ_ONLY = "read_only"  # a class follower's socket: only hello is accepted (lessons app)
    TOO_MUCH_WORK = (
        "too_much_work"  # the request needed more engine work than its budget (simulator.limits); nothing changed
    )
    UNAVAILABLE = "unavailable"  # the database or the channel layer is away; try again later


_CLIENT_TYPES = {t.value: t for t in ClientType}

# The actions a user may command, with their required and optional keys: the engine's command catalogue
# (simulator/commands.py), which also checks them (``_check_command`` below).
ACTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    name: (spec.required, spec.optional) for name, spec in COMMANDS.items()
}

# Keys allowed in each client frame besides "v", "type" and "id".
CLIENT_FIELDS: dict[ClientType, frozenset[str]] = {
    ClientType.HELLO: frozenset({"session"}),
    ClientType.COMMAND: frozenset({"command"}),
    ClientType.STEP: frozenset(),
    ClientType.RUN_UNTIL: frozenset({"t"}),
    ClientType.STEP_BACK: frozenset(),
    ClientType.RESET: frozenset(),
    ClientType.SEEK: frozenset({"steps"}),
}


@dataclass(slots=True, kw_only=True)
class ProtocolError(Exception):
    """A client frame that cannot be acted on; becomes an ``error`` frame. Nothing has changed."""

    code: ErrorCode
    message: str
    field: str | None = None
    request: str | None = None
    re: str | int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.field + ': ' if self.field else ''}{self.message}"


@dataclass(slots=True, kw_only=True)
class ClientMessage:
    """A validated client frame: its type, its id (or None) and its type-specific fields."""

    type: ClientType
    id: str | int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def parse_client_frame(text: str | None, binary: bytes | None = None) -> ClientMessage:
    """Parse and validate one client frame; raise ProtocolError saying exactly what is wrong.

    Checks what needs no session: size, JSON, envelope, version, type, and each field's presence and type.
    Checks against the simulation (t >= now, known nodes) are the consumer's and the engine's.
    """
    if text is None:
        size = len(binary or b"")
        if size > MAX_FRAME_BYTES:
            raise ProtocolError(code=ErrorCode.FRAME_TOO_LARGE, message=_too_large(size))
        raise ProtocolError(code=ErrorCode.BAD_JSON, message="binary frames are not accepted; send JSON text")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(code=ErrorCode.FRAME_TOO_LARGE, message=_too_large(size))
    try:
        data = loads(text)  # the one JSON parser for user input: bounded digits, depth, no NaN (dmmviz/web/limits.py)
    except JSONInputError as exc:
        raise ProtocolError(code=ErrorCode.BAD_JSON, message=exc.message) from None
    if not isinstance(data, dict):
        raise ProtocolError(code=ErrorCode.BAD_ENVELOPE, message='a frame is a JSON object with "v" and "type"')

    msg_id = data.get("id")
    valid_id = (
        msg_id is None
        or (isinstance(msg_id, str) and len(msg_id) <= MAX_ID_CHARS)
        or (isinstance(msg_id, int) and not isinstance(msg_id, bool) and abs(msg_id) < 2**53)
    )
    if not valid_id:
        raise ProtocolError(
            code=ErrorCode.BAD_ENVELOPE,
            field="id",
            message=f"id must be a string of at most {MAX_ID_CHARS} characters or an integer",
        )
    kind = data.get("type")
    ctype = _CLIENT_TYPES.get(kind) if isinstance(kind, str) else None
    try:
        return _message(data, kind, ctype, msg_id)
    except ProtocolError as exc:
        exc.request, exc.re = ctype, msg_id  # every refusal after a valid id names the request it answers
        raise


def _message(data: dict[str, Any], kind: Any, ctype: ClientType | None, msg_id: str | int | None) -> ClientMessage:
    """The message, once the frame's version, type, keys and fields are right."""
    if "v" not in data:
        message = f'missing "v" (the protocol version, {VERSION})'
        raise ProtocolError(code=ErrorCode.BAD_ENVELOPE, field="v", message=message)
    if data["v"] != VERSION or isinstance(data["v"], bool):
        message = f"protocol version {data['v']!r} is not supported; this server speaks {VERSION}"
        raise ProtocolError(code=ErrorCode.BAD_VERSION, field="v", message=message)
    if not isinstance(kind, str):
        raise ProtocolError(code=ErrorCode.BAD_ENVELOPE, field="type", message='missing "type" (a string)')
    if ctype is None:
        known = ", ".join(t.value for t in ClientType)
        message = f"unknown message type {kind[:40]!r}; known: {known}"
        raise ProtocolError(code=ErrorCode.UNKNOWN_TYPE, field="type", message=message)
    allowed = CLIENT_FIELDS[ctype]
    for key in data:
        if key not in allowed and key not in ("v", "type", "id"):
            message = f"{ctype} takes no key {str(key)[:40]!r}"
            raise ProtocolError(code=ErrorCode.BAD_ENVELOPE, field=str(key)[:40], message=message)
    fields = {key: data[key] for key in allowed if key in data}
    _VALIDATORS[ctype](fields)
    return ClientMessage(type=ctype, id=msg_id, fields=fields)


def _too_large(size: int) -> str:
    return f"the frame is {size} bytes; at most {MAX_FRAME_BYTES} are accepted"


def _bad(field_path: str, message: str) -> ProtocolError:
    return ProtocolError(code=ErrorCode.BAD_FIELD, field=field_path, message=message)


def _check_hello(fields: dict[str, Any]) -> None:
    if "session" in fields and not isinstance(fields["session"], str):
        raise _bad("session", "session must be the session id (a string)")


def _check_command(fields: dict[str, Any]) -> None:
    command = fields.get("command")
    if not isinstance(command, dict):
        raise _bad("command", 'command must be an object such as {"action": "move", "mn": "MN1", "mar": "MAR2"}')
    problems = shape_problems(command)
    if problems:
        key, message = problems[0]
        raise _bad(f"command.{key}", message)


def _check_nothing(fields: dict[str, Any]) -> None:
    return None


def _check_run_until(fields: dict[str, Any]) -> None:
    t = fields.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= MAX_TIME:
        raise _bad("t", f"t must be a simulated time in seconds, from 0 to {MAX_TIME:g} (the longest run)")


def _check_seek(fields: dict[str, Any]) -> None:
    steps = fields.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise _bad("steps", "steps must be an integer >= 0")


_VALIDATORS = {
    ClientType.HELLO: _check_hello,
    ClientType.COMMAND: _check_command,
    ClientType.STEP: _check_nothing,
    ClientType.RUN_UNTIL: _check_run_until,
    ClientType.STEP_BACK: _check_nothing,
    ClientType.RESET: _check_nothing,
    ClientType.SEEK: _check_seek,
}


# Server messages: one builder each, so the keys are spelled in one place.


def error_message(err: ProtocolError) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "v": VERSION,
        "type": ServerType.ERROR.value,
        "code": err.code.value,
        "field": err.field,
        "message": err.message,
        "request": str(err.request) if err.request is not None else None,
    }
    if err.re is not None:
        msg["re"] = err.re
    return msg


def events_message(
    *,
    cause: str,
    revision: int,
    events: list[dict[str, Any]],
    state: dict[str, Any] | None,
    now: float,
    next_time: float | None,
    steps: int,
    can_step_back: bool,
    more: bool = False,
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "type": ServerType.EVENTS.value,
        "cause": cause,
        "revision": revision,
        "events": events,
        "state": state,
        "now": now,
        "next": next_time,
        "steps": steps,
        "can_step_back": can_step_back,
        "more": more,
    }


def snapshot_message(
    *,
    cause: str,
    revision: int,
    session: str,
    scenario: dict[str, Any],
    seed: int,
    mode: str,
    now: float,
    next_time: float | None,
    steps: int,
    state: dict[str, Any],
    events: list[dict[str, Any]],
    journal: list[list[Any]],
    can_step_back: bool,
) -> dict[str, Any]:
    omitted = max(0, len(events) - MAX_SNAPSHOT_EVENTS)
    return {
        "v": VERSION,
        "type": ServerType.SNAPSHOT.value,
        "cause": cause,
        "revision": revision,
        "session": session,
        "scenario": scenario,
        "seed": seed,
        "mode": mode,
        "now": now,
        "next": next_time,
        "steps": steps,
        "state": state,
        "events": events[omitted:],
        "events_omitted": omitted,
        "journal": [{"steps": int(sb), "t": int(now_us) / 1_000_000, "command": cmd} for sb, now_us, cmd in journal],
        "can_step_back": can_step_back,
    }


def javascript_module() -> str:
    """The constants above as an ES module (served at /protocol.js); the browser imports its names from here."""
    constants = {
        "VERSION": VERSION,
        "MAX_FRAME_BYTES": MAX_FRAME_BYTES,
        "MAX_RUN_STEPS": MAX_RUN_STEPS,
        "RATE_PER_SECOND": RATE_PER_SECOND,
        "RATE_BURST": RATE_BURST,
        "CLOSE_SESSION_NOT_FOUND": CLOSE_SESSION_NOT_FOUND,
        "CLOSE_SCENARIO_INVALID": CLOSE_SCENARIO_INVALID,
        "CLOSE_FORBIDDEN": CLOSE_FORBIDDEN,
        "CLOSE_UNAVAILABLE": CLOSE_UNAVAILABLE,
        "CLIENT": {t.name: t.value for t in ClientType},
        "SERVER": {t.name: t.value for t in ServerType},
        "ERROR": {c.name: c.value for c in ErrorCode},
        "ACTIONS": {name: {"required": sorted(req), "optional": sorted(opt)} for name, (req, opt) in ACTIONS.items()},
    }
    lines = ["// Generated from dmmviz/protocol.py (its docstring is the spec). Do not edit: change the Python.", ""]
    for name, value in constants.items():
        lines.append(f"export const {name} = Object.freeze({json.dumps(value, sort_keys=False)});")
    lines += [
        "",
        "/** A client frame: {v, type, ...fields}. */",
        "export function frame(type, fields = {}) {",
        "  return JSON.stringify({ v: VERSION, type, ...fields });",
        "}",
        "",
    ]
    return "\n".join(lines)
