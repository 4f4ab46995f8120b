"""Lesson files ("dmmviz-lesson/1"): validation, playing a lesson through the engine, export.

A lesson is a scenario plus ordered steps (docs/lessons.md is the reference). Playing it::

    sim = Simulation(scenario, seed)
    for each step k:
        apply the step's actions as commands at sim.now (the time the previous step paused at; 0 for the first)
        sim.run(step.start)                 # the step opens here (if it has a start)
        sim.run(step.until)                 # the step pauses here
        ask the step's checkpoint against sim.snapshot()

A step may say where it opens: ``start`` (a time before its key event; by default where the previous step paused,
its actions applied). A student or a class opening the step is put there, paused; Play runs to ``until``.

So a lesson's state at each step is a plain engine run: (scenario, seed, journal of step actions, steps), the same
thing a simulation session stores. ``play`` does this once and returns every pause (``Moment``); ``validate`` uses it
to report problems with JSON paths into the lesson file (``steps[2].checkpoint.flow: MN1 has no active flow 'flow9'``).

Pure: no Django, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dmmviz.web import limits
from simulator import CommandError, Problem, ScenarioError, Simulation, load_scenario
from simulator import limits as engine_limits
from simulator import validate as validate_scenario
from simulator.commands import COMMANDS, shape_problems

from . import checkpoints
from .checkpoints import CheckpointError, Question

FORMAT = "dmmviz-lesson/1"
SCENARIO_FORMAT = "dmmviz-scenario/1"
MAX_STEPS = 200
MAX_TEXT = 20_000
MAX_ACTIONS = 50
MAX_TIME = engine_limits.MAX_TIME  # one day of simulated time, the engine's own limit
STEP_KEYS = ("title", "text", "actions", "start", "until", "checkpoint", "highlight")
STEP_SHAPE = "a step is an object with title, text, until, actions and checkpoint"
MAX_HIGHLIGHT = 20
ACTION_KEYS = {name: (set(spec.required), set(spec.optional)) for name, spec in COMMANDS.items()}


class LessonError(ValueError):
    """A lesson document with problems; ``problems`` is a list of Problem(path, message)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems))


@dataclass(frozen=True, slots=True)
class Position:
    """Where a simulation stands: simulated time, engine steps, the journal of commands so far, the state there."""

    t: float
    steps: int
    journal: tuple[Any, ...]
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Moment:
    """Step ``index`` of a lesson: where it opens (``start``, paused before its key event) and where it ends and
    pauses (``t``, ``steps``, ``journal``, ``state``: the moment its checkpoint asks about)."""

    index: int
    t: float
    steps: int
    journal: tuple[Any, ...]
    state: dict[str, Any]
    question: Question | None
    start: Position | None = None

    @property
    def end(self) -> Position:
        return Position(self.t, self.steps, self.journal, self.state)

    @property
    def opening(self) -> Position:
        """Where a student or a class is put when the step opens (the end, for a moment made without a start)."""
        return self.start or self.end


def parse_text(text: str) -> Any:
    """Parse JSON text within the server's input limits (dmmviz/web/limits.py); raise LessonError saying why."""
    try:
        return limits.loads(text)
    except limits.JSONInputError as exc:
        raise LessonError([Problem("", exc.message)]) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _structure_problems(data: Any) -> list[Problem]:
    """Problems of shape: format, title, steps and their keys. The scenario is checked by the engine's validator."""
    if not isinstance(data, dict):
        return [Problem("", 'a lesson file is a JSON object ({"format": "dmmviz-lesson/1", ...})')]
    fmt = data.get("format")
    if fmt == SCENARIO_FORMAT:
        return [Problem("format", "this is a scenario file (dmmviz-scenario/1), not a lesson; import it as a scenario")]
    if isinstance(fmt, str) and fmt.startswith("dmmviz-lesson/"):
        if fmt != FORMAT:
            return [Problem("format", f"{fmt} is not supported; this dmmviz reads {FORMAT}")]
    elif fmt is None:
        return [Problem("format", f'missing: a lesson file says "format": "{FORMAT}"')]
    else:
        return [Problem("format", f"{str(fmt)[:60]!r} is not a lesson format; expected {FORMAT!r}")]
    problems: list[Problem] = []
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("title", "a lesson needs a title (a non-empty string)"))
    elif len(title) > 200:
        problems.append(Problem("title", f"at most 200 characters (this one has {len(title)})"))
    summary = data.get("summary", "")
    if not isinstance(summary, str) or len(summary) > 5000:
        problems.append(Problem("summary", "a string of at most 5000 characters"))
    if not isinstance(data.get("scenario"), dict):
        problems.append(Problem("scenario", f"a lesson carries its scenario, a {SCENARIO_FORMAT} object"))
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        return [*problems, Problem("steps", "a list of steps")]
    if len(steps) > MAX_STEPS:
        problems.append(Problem("steps", f"at most {MAX_STEPS} steps (this lesson has {len(steps)})"))
    previous = 0.0
    for k, step in enumerate(steps):
        where = f"steps[{k}]"
        if not isinstance(step, dict):
            problems.append(Problem(where, STEP_SHAPE))
            continue
        for key in step:
            if key not in STEP_KEYS:
                problems.append(Problem(f"{where}.{str(key)[:40]}", f"unknown key (a step has {', '.join(STEP_KEYS)})"))
        for key, limit in (("title", 200), ("text", MAX_TEXT)):
            if key in step and (not isinstance(step[key], str) or len(step[key]) > limit):
                problems.append(Problem(f"{where}.{key}", f"a string of at most {limit} characters"))
        start = step.get("start")
        if start is not None:
            if not _is_number(start):
                problems.append(
                    Problem(
                        f"{where}.start", "the simulated time (seconds) at which the step opens, a number (or null)"
                    )
                )
            elif start < previous:
                problems.append(
                    Problem(
                        f"{where}.start",
                        f"{start:g} is before the previous step's pause at {previous:g}; "
                        "a step opens where the previous one ended or later",
                    )
                )
            elif _is_number(step.get("until")) and start > step["until"]:
                problems.append(
                    Problem(
                        f"{where}.start",
                        f"{start:g} is after this step's end ({step['until']:g}); a step opens before it pauses",
                    )
                )
        problems += _highlight_problems(step.get("highlight"), f"{where}.highlight")
        until = step.get("until")
        if not _is_number(until):
            problems.append(
                Problem(f"{where}.until", "the simulated time (seconds) at which the step pauses, a number")
            )
        elif until < previous:
            problems.append(
                Problem(
                    f"{where}.until",
                    f"{until:g} is before the previous step's pause at {previous:g}; steps go forward in time",
                )
            )
        elif until > MAX_TIME:
            problems.append(Problem(f"{where}.until", f"at most {MAX_TIME:g} seconds"))
        else:
            previous = float(until)
        problems += _action_problems(step.get("actions", []), f"{where}.actions")
        problems += _checkpoint_problems(step.get("checkpoint"), f"{where}.checkpoint")
    return problems


def _highlight_problems(highlight: Any, where: str) -> list[Problem]:
    if highlight is None:
        return []
    if not isinstance(highlight, list) or len(highlight) > MAX_HIGHLIGHT:
        return [
            Problem(
                where,
                f'a list of at most {MAX_HIGHLIGHT} names: node ids, message kinds or prefixes, e.g. ["MAR2", "PBU"]',
            )
        ]
    return [
        Problem(f"{where}[{j}]", "a node id, a message kind or a prefix (a non-empty string of at most 80 characters)")
        for j, item in enumerate(highlight)
        if not isinstance(item, str) or not item.strip() or len(item) > 80
    ]


def _action_problems(actions: Any, where: str) -> list[Problem]:
    if not isinstance(actions, list):
        return [Problem(where, 'a list of actions such as {"action": "move", "mn": "MN1", "mar": "MAR2"}')]
    if len(actions) > MAX_ACTIONS:
        return [Problem(where, f"at most {MAX_ACTIONS} actions per step")]
    problems = []
    for j, action in enumerate(actions):
        path = f"{where}[{j}]"
        if not isinstance(action, dict):
            problems.append(Problem(path, 'an action is an object with "action" and its keys'))
            continue
        for key, message in shape_problems(action):  # the engine's command catalogue (simulator/commands.py)
            if key == "at":
                message = "a step's actions run when the step is reached; put timed actions in the scenario's script"
            problems.append(Problem(f"{path}.{key}", message))
    return problems


def _checkpoint_problems(checkpoint: Any, where: str) -> list[Problem]:
    if checkpoint is None:
        return []
    if not isinstance(checkpoint, dict):
        return [Problem(where, 'a checkpoint is an object with "kind" and the kind\'s keys, or null')]
    name = checkpoint.get("kind")
    kind = checkpoints.KINDS.get(name) if isinstance(name, str) else None  # a list or object: no kind, and unhashable
    if kind is None:
        return [Problem(f"{where}.kind", f"one of {', '.join(checkpoints.KINDS)}")]
    problems = []
    allowed = {*checkpoints.COMMON_KEYS, *kind.required, *kind.optional}
    for key, value in checkpoint.items():
        if key not in allowed:
            problems.append(
                Problem(
                    f"{where}.{str(key)[:40]}",
                    f"{checkpoint['kind']} takes no key {str(key)[:40]!r} "
                    f"(it takes {', '.join(sorted(allowed - {'kind'}))})",
                )
            )
        elif key in (*kind.required, *kind.optional) and (not isinstance(value, str) or not value):
            problems.append(Problem(f"{where}.{key}", "an id (a non-empty string)"))
    for key in kind.required:
        if key not in checkpoint:
            problems.append(Problem(f"{where}.{key}", f"{checkpoint['kind']} needs {key!r}"))
    question = checkpoint.get("question")
    if question is not None and (not isinstance(question, str) or len(question) > 1000):
        problems.append(Problem(f"{where}.question", "a string of at most 1000 characters"))
    feedback = checkpoint.get("feedback")
    if feedback is not None:
        if not isinstance(feedback, dict):
            problems.append(Problem(f"{where}.feedback", 'an object {"correct": "...", "incorrect": "..."}'))
        else:
            for key, value in feedback.items():
                if key not in ("correct", "incorrect"):
                    problems.append(
                        Problem(f"{where}.feedback.{str(key)[:40]}", 'feedback has "correct" and "incorrect"')
                    )
                elif not isinstance(value, str) or len(value) > MAX_TEXT:
                    problems.append(Problem(f"{where}.feedback.{key}", f"a string of at most {MAX_TEXT} characters"))
    return problems


def seed_of(scenario: dict[str, Any]) -> int:
    seed = scenario.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def play(data: dict[str, Any]) -> list[Moment]:
    """Run a structurally valid lesson through the engine; return one Moment per step. Raises LessonError."""
    try:
        scenario = load_scenario(data["scenario"])
        sim = Simulation(scenario, seed=seed_of(scenario))
    except ScenarioError as exc:
        raise LessonError([Problem(_join("scenario", p.path), p.message) for p in exc.problems]) from None
    except ValueError as exc:  # the engine refuses a mode it does not implement
        raise LessonError([Problem("scenario.mode", str(exc))]) from None
    moments: list[Moment] = []
    problems: list[Problem] = []
    for k, step in enumerate(data.get("steps", [])):
        for j, action in enumerate(step.get("actions", [])):
            try:
                sim.apply(dict(action))
            except CommandError as exc:
                field = exc.field if exc.field in action else ""
                problems.append(Problem(_join(f"steps[{k}].actions[{j}]", field), f"at t={sim.now:g}: {exc.message}"))
        # The step opens at its start (or where the previous one paused, its actions applied), paused.
        if step.get("start") is not None:
            # Just before ``start``: everything scheduled earlier has happened, nothing at ``start`` yet (1 µs, the
            # engine's tick), so "start": 5 opens on the move scripted at t = 5, not after it.
            if float(step["start"]) - 1e-6 > sim.now:
                sim.run(float(step["start"]) - 1e-6)
        start = Position(sim.now, sim.steps, tuple(sim.journal), sim.snapshot())
        sim.run(float(step["until"]))
        state = sim.snapshot()
        question = None
        checkpoint = step.get("checkpoint")
        if checkpoint:
            try:
                question = checkpoints.ask(checkpoint, state)
            except CheckpointError as exc:
                problems.append(Problem(_join(f"steps[{k}].checkpoint", exc.field), exc.message))
        moments.append(Moment(k, sim.now, sim.steps, tuple(sim.journal), state, question, start))
    if problems:
        raise LessonError(problems)
    return moments


def step_start(scenario: dict[str, Any], steps: list[dict[str, Any]], index: int) -> Simulation:
    """The simulation where step ``index`` begins, its own actions applied: what the editor shows while recording
    actions into that step. Raises LessonError (paths into the lesson) or the engine's ScenarioError."""
    scenario = load_scenario(scenario)
    sim = Simulation(scenario, seed=seed_of(scenario))
    for k, step in enumerate(steps[: index + 1]):
        # The editor sends its steps as they are being edited: the same shape rules as a lesson file's, checked
        # before anything runs (an action that is not an object, a pause past the longest run).
        if not isinstance(step, dict):
            raise LessonError([Problem(f"steps[{k}]", STEP_SHAPE)])
        if problems := _action_problems(step.get("actions", []), f"steps[{k}].actions"):
            raise LessonError(problems)
        for j, action in enumerate(step.get("actions", [])):
            try:
                sim.apply(dict(action))
            except (CommandError, TypeError) as exc:
                field = getattr(exc, "field", "") if getattr(exc, "field", "") in action else ""
                raise LessonError(
                    [
                        Problem(
                            _join(f"steps[{k}].actions[{j}]", field),
                            f"at t={sim.now:g}: {getattr(exc, 'message', exc)}",
                        )
                    ]
                ) from None
        if k < index:
            until = step.get("until")
            if not _is_number(until) or not sim.now <= until <= MAX_TIME:
                message = f"a time no earlier than the previous step's, at most {MAX_TIME:g} seconds"
                raise LessonError([Problem(f"steps[{k}].until", message)])
            sim.run(float(until))
    return sim


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def validate(data: Any) -> list[Problem]:
    """Every problem of a lesson document, each with its JSON path (an empty list when the lesson is valid)."""
    problems = _structure_problems(data)
    scenario_problems: list[Problem] = []
    if isinstance(data, dict) and isinstance(data.get("scenario"), dict):
        scenario_problems = [Problem(_join("scenario", p.path), p.message) for p in validate_scenario(data["scenario"])]
    problems += scenario_problems
    if not problems:
        try:
            play(data)
        except LessonError as exc:
            return exc.problems
        return []
    # Report every problem in one round: with a valid scenario, play the parts of the steps that are well formed,
    # so an action or a checkpoint the engine refuses is named now, not after the shape problems are fixed.
    if (
        not scenario_problems
        and isinstance(data, dict)
        and isinstance(data.get("scenario"), dict)
        and isinstance(data.get("steps"), list)
        and not any(p.path in ("", "format") for p in problems)
    ):
        seen = {p.path for p in problems}
        try:
            play({"scenario": data["scenario"], "steps": _playable_steps(data["steps"], problems)})
        except LessonError as exc:
            problems += [p for p in exc.problems if p.path not in seen]
    return problems


def _playable_steps(steps: list[Any], problems: list[Problem]) -> list[dict[str, Any]]:
    """The steps with every part that has a problem left out (a bad time becomes the previous pause), for playing the
    rest of the lesson to find the engine's problems too. Indices are kept, so paths stay right."""

    def bad(prefix: str) -> bool:
        return any(
            p.path == prefix or p.path.startswith(prefix + ".") or p.path.startswith(prefix + "[") for p in problems
        )

    out: list[dict[str, Any]] = []
    previous = 0.0
    for k, step in enumerate(steps):
        step = step if isinstance(step, dict) else {}
        until = step.get("until")
        until = float(until) if _is_number(until) and not bad(f"steps[{k}].until") else previous
        start = step.get("start")
        start = (
            float(start) if _is_number(start) and not bad(f"steps[{k}].start") and previous <= start <= until else None
        )
        actions = (
            step.get("actions") if isinstance(step.get("actions"), list) and not bad(f"steps[{k}].actions") else []
        )
        checkpoint = step.get("checkpoint") if not bad(f"steps[{k}].checkpoint") else None
        out.append({"actions": actions, "start": start, "until": until, "checkpoint": checkpoint})
        previous = until
    return out


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """A valid lesson in its canonical form: every key present, in a fixed order (what export writes)."""
    steps = []
    for k, step in enumerate(data.get("steps", [])):
        steps.append(
            {
                "title": step.get("title") or f"Step {k + 1}",
                "text": step.get("text", ""),
                "actions": [dict(a) for a in step.get("actions", [])],
                "start": float(step["start"]) if step.get("start") is not None else None,
                "until": float(step["until"]),
                "checkpoint": dict(step["checkpoint"]) if step.get("checkpoint") else None,
                "highlight": [str(h) for h in step.get("highlight") or []],
            }
        )
    return {
        "format": FORMAT,
        "title": data["title"].strip(),
        "summary": data.get("summary", ""),
        "scenario": data["scenario"],
        "steps": steps,
    }


def from_scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    """A lesson with one introductory step around a scenario document (importing a scenario file makes one)."""
    script = scenario.get("script") or []
    end = max((float(s.get("at", 0)) for s in script if isinstance(s, dict) and _is_number(s.get("at"))), default=0.0)
    return {
        "format": FORMAT,
        "title": str(scenario.get("title") or "Untitled lesson")[:200],
        "summary": str(scenario.get("description") or "")[:5000],
        "scenario": scenario,
        "steps": [
            {
                "title": "The scenario",
                "text": str(scenario.get("description") or ""),
                "actions": [],
                "until": min(end + 2.0, MAX_TIME),  # a script ending late still fits the longest run
                "checkpoint": None,
            }
        ],
    }
