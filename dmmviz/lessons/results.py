"""What instructors see of students' work, and what students may see of a lesson before they answer.

- ``student_document``: the lesson file as a student may have it: every checkpoint without its instructor feedback
  (the engine computes answers on the server; the file never carries them, and feedback often gives them away).
- ``sees_answers``: who gets the full lesson file and the engine's answers (the lesson's editors, and instructors,
  who may duplicate any lesson they can open anyway).
- ``may_see_results`` / ``lesson_results``: the Results page of a lesson (every attempt, right or wrong per checkpoint,
  the most common wrong answers) and its CSV.
- ``class_stats``: the live class panel of the instructor: who joined, who branched off, the answers to the current
  checkpoint so far.
"""

from __future__ import annotations

import copy
import csv
import io
from collections import Counter
from typing import Any

from . import player
from .checkpoints import Question
from .models import Attempt, Branch, ClassAnswer, ClassMember, Lesson, LiveClass
from .permissions import can_edit, is_instructor

MOST_COMMON = 3  # wrong answers listed per checkpoint


def sees_answers(user: Any, lesson: Lesson) -> bool:
    """The full lesson file (feedback) and the engine's answers: its editors and instructors."""
    return can_edit(user, lesson) or is_instructor(user)


def student_document(document: dict[str, Any]) -> dict[str, Any]:
    """The lesson document without what a student must not see before answering (checkpoint feedback)."""
    data = copy.deepcopy(document)
    for step in data.get("steps", []):
        checkpoint = step.get("checkpoint") if isinstance(step, dict) else None
        if isinstance(checkpoint, dict):
            checkpoint.pop("feedback", None)
    return data


def may_see_results(user: Any, lesson: Lesson) -> bool:
    """A lesson's results: its owner (and superusers); for a built-in lesson, which every instructor teaches, any
    instructor."""
    return can_edit(user, lesson) or (lesson.builtin and is_instructor(user))


def _label(question: Question | None, response: Any) -> str:
    """A response as the student saw it (choice labels, not values)."""
    if response is None:
        return ""
    if question is None or question.input == "number" or not isinstance(response, list):
        return str(response)
    labels = dict(question.choices)
    return ", ".join(labels.get(v, v) for v in response)


def _verdict(record: dict[str, Any] | None) -> str:
    """One cell of the results table: right (first try), right after a retry, revealed, wrong, or not answered."""
    if not record:
        return "—"
    if record.get("first_try"):
        return "right"
    if record.get("revealed") and not record.get("correct"):
        return "revealed"
    if record.get("correct"):
        return "right (retry)"
    return "wrong"


def lesson_results(lesson: Lesson) -> dict[str, Any]:
    """Every student attempt at the lesson (previews left out), newest first, and per checkpoint the count of
    right-first-time answers and the most common wrong answers (every wrong try counts)."""
    attempts = list(Attempt.objects.filter(lesson=lesson, preview=False).select_related("user").order_by("-updated"))
    data = lesson.document()
    try:
        moments = player.moments(data)
    except Exception:  # a lesson that no longer plays still lists its attempts, without labels
        moments = []
    columns = []
    for k, step in enumerate(data.get("steps", [])):
        if isinstance(step, dict) and step.get("checkpoint"):
            question = moments[k].question if k < len(moments) else None
            columns.append(
                {
                    "index": k,
                    "title": step.get("title") or f"Step {k + 1}",
                    "prompt": question.prompt if question else "",
                    "question": question,
                    "answer": question.answer_text() if question else "",
                }
            )
    rows = []
    wrong: dict[int, Counter[str]] = {c["index"]: Counter() for c in columns}
    right_first: Counter[int] = Counter()
    for attempt in attempts:
        cells = []
        for c in columns:
            # Answers are kept per step index of the attempt's own copy; a lesson edited since may differ.
            record = attempt.answers.get(str(c["index"]))
            cells.append(_verdict(record))
            if record and record.get("first_try"):
                right_first[c["index"]] += 1
            for response in (record or {}).get("wrong", []) or (
                [record["response"]]
                if record and not record.get("correct") and record.get("response") is not None
                else []
            ):
                wrong[c["index"]][_label(c["question"], response)] += 1
        score = attempt.score()
        rows.append(
            {
                "attempt": attempt,
                "student": attempt.user.get_username() if attempt.user_id else "anonymous",
                "score": score,
                "started": attempt.created,
                "updated": attempt.updated,
                "minutes": max(0, round((attempt.updated - attempt.created).total_seconds() / 60)),
                "cells": cells,
                "progress": attempt.progress_percent(),
            }
        )
    for c in columns:
        c["right_first"] = right_first[c["index"]]
        c["wrong"] = wrong[c["index"]].most_common(MOST_COMMON)
        c.pop("question")
    return {"columns": columns, "rows": rows, "count": len(rows)}


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ (or a tab, a carriage return) would be read
    as a formula (usernames may start with + - @, titles with anything), so it gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def results_csv(lesson: Lesson) -> str:
    results = lesson_results(lesson)
    out = io.StringIO()
    writer = csv.writer(out)

    def writer_row(cells: list[Any]) -> None:
        writer.writerow([_cell(c) for c in cells])

    writer_row(
        [
            "student",
            "started",
            "last activity",
            "minutes",
            "points",
            "checkpoints",
            "score %",
            "progress %",
            *[f"{c['index'] + 1}. {c['title']}" for c in results["columns"]],
        ]
    )
    for row in results["rows"]:
        writer_row(
            [
                row["student"],
                row["started"].isoformat(timespec="seconds"),
                row["updated"].isoformat(timespec="seconds"),
                row["minutes"],
                row["score"]["points"],
                row["score"]["total"],
                row["score"]["percent"],
                row["progress"],
                *row["cells"],
            ]
        )
    return out.getvalue()


# -- the live class ---------------------------------------------------------------------------------------------


def class_stats(live_class: LiveClass) -> dict[str, Any]:
    """For the instructor's panel only (it shows how the class answers before the answer is revealed)."""
    members = list(ClassMember.objects.filter(live_class=live_class).select_related("user"))
    branches = list(Branch.objects.filter(live_class=live_class).select_related("user"))
    # Anonymous students are numbered in the order they joined (never by anything of their browser session).
    number = {m.session_key: k for k, m in enumerate((m for m in members if not m.user_id), start=1)}
    branched = sorted(
        {b.user.get_username() if b.user_id else f"anonymous #{number.get(b.session_key, '?')}" for b in branches}
    )
    step = live_class.step
    moments = player.moments(live_class.lesson_data)
    question = moments[step].question if step < len(moments) else None
    answers = list(ClassAnswer.objects.filter(live_class=live_class, step=step))
    counts: Counter[str] = Counter(_label(question, a.first) for a in answers)
    distribution = []
    if question is not None:
        if question.input == "number":
            labels = sorted(counts, key=lambda s: int(s) if s.lstrip("-").isdigit() else 0)
        else:
            labels = [label for _, label in question.choices]
            labels += [label for label in counts if label not in labels]  # combinations of a multi-choice answer
        distribution = [
            {"label": label, "count": counts.get(label, 0)}
            for label in labels
            if counts.get(label, 0) or question.input != "multi"
        ]
    return {
        "joined": len(members),
        "students": [m.name() for m in members],
        "branched": branched,
        "branched_count": len(branched),
        "step": step,
        "question": question.prompt if question else None,
        "answered": len(answers),
        "right": sum(1 for a in answers if a.first_correct),
        "distribution": distribution,
        "revealed": step in (live_class.revealed or []),
        "answer": question.answer_text() if question else None,
    }
