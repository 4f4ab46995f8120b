"""One JSON parser for every input a person gives: the web's doors (websocket frames, scenario upload, lesson import,
the lesson API, practice answers) and the command line's files, so that both accept and refuse the same documents.

`loads` refuses, with a message naming the problem, what the standard parser would turn into a traceback or a runaway:
an integer with more digits than MAX_INT_DIGITS (Python's 4,300-digit limit raises a bare ValueError), a number the
float cannot hold (1e999 becomes inf), NaN/Infinity, nesting deeper than MAX_DEPTH (100,000 brackets raise
RecursionError), text that is not UTF-8, a lone surrogate escape ("\\ud800": not Unicode text) and NUL ("\\u0000", which
PostgreSQL cannot store). A byte order mark is allowed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Integers: at most 20 digits (a signed 64-bit integer has 19; SQLite, PostgreSQL's bigint and orjson all stop there).
MAX_INT_DIGITS = 20
# Nesting: objects and arrays at most 32 deep. A scenario is about 5 deep, a lesson about 7.
MAX_DEPTH = 32


class JSONInputError(ValueError):
    """Input that is not JSON we accept; `message` says why, for people (no traceback, no Python repr)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse text whose brackets nest deeper than `limit` (brackets inside strings do not count). One C-speed scan:
    the only Python work is per bracket or string, so a 16 KiB frame costs microseconds."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        c = match.group()[0]
        if c in "[{":
            depth += 1
            if depth > limit:
                raise JSONInputError(f"nested more than {limit} levels deep (objects and arrays)")
        elif c in "]}":
            depth -= 1


def _parse_int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_INT_DIGITS:
        raise JSONInputError(f"an integer has {count} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too large")
    return value


def _parse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """Parse JSON text within the limits above; raise JSONInputError saying what is wrong (with line and column
    for a syntax error)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"not UTF-8 text (byte {exc.start})") from None
    check_depth(text)
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:  # not reached after check_depth; kept so no traceback can ever come from here
        raise JSONInputError(f"nested more than {MAX_DEPTH} levels deep (objects and arrays)") from None
    if _SURROGATE_ESCAPE.search(text):  # only then look closer: "\\ud800" escapes a backslash, not a surrogate
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JSONInputError("a string has a lone surrogate (an escape such as \\ud800 alone): not Unicode "
                                 "text, which no page or database can hold") from None
    if "\\u0000" in text and _has_nul(value):  # only then look closer ("\\\\u0000" escapes a backslash)
        raise JSONInputError("a string has the character U+0000 (NUL, written \\u0000), which PostgreSQL cannot "
                             "store")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_nul(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (a key too) holds U+0000. Iterative: depth is already bounded, but a
    walk needs no stack of its own."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
