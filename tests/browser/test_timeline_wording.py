"""The timeline says every action in the command catalogue's words (simulator/commands.py `describe`, the browser's
`describeCommand` in the generated static/js/catalogue.js): the script's steps, a student's own move and a fault
alike, with no wording of its own (issue 9)."""

from __future__ import annotations

import pytest

from simulator.commands import describe
from simulator.scenario import load_scenario
from tests.browser.conftest import ROOT
from tests.browser.helpers import drag, flying, open_scenario, play_until, step, step_until, wait_idle


def mark_titles(page, cls: str) -> list[str]:
    """The tooltips of the timeline's markers of one kind (script, user, redo): "<t> s: <words><why>"."""
    return page.eval_on_selector_all(f"#timeline .mark.{cls} title", "els => els.map(e => e.textContent)")


@pytest.mark.parametrize("slug", ["fig5-handover", "fig6-multi-interface"])
def test_script_actions_are_in_the_catalogue_words(page, slug):
    """Every script step's marker says what the catalogue says of it; the labels drawn are those words too."""
    script = load_scenario(ROOT / "dmmviz" / "builtin_scenarios" / f"{slug}.json")["script"]
    words = [describe(step) for step in script]
    assert any(" to " in w for w in words)  # a step with more than a name in it (not just "attach")
    open_scenario(page, slug)
    assert mark_titles(page, "script") == [f"{step['at']:.3f} s: {describe(step)} (script)" for step in script]
    labels = page.eval_on_selector_all("#timeline .mark.script text", "els => els.map(e => e.textContent)")
    assert labels and set(labels) <= set(words), labels


def test_a_dropped_message_and_a_students_move_are_in_the_catalogue_words(page):
    """Figure 5: clicking the handover's PBU in the air with Break on is "you: drop the next PBU" (the event carries
    the command's kind as msg_kind; the words are the command's); dragging MN1 back onto MAR1 then is
    "you: move MN1 if1 to MAR1"."""
    open_scenario(page, "fig5-handover")
    play_until(page, 4.9)
    step_until(page, lambda p: "PBU" in flying(p), limit=60)
    page.click("#btn-break")
    page.click("#air g.msg[data-kind=PBU]:not([display])")
    wait_idle(page)
    drop = describe({"action": "drop", "kind": "PBU", "src": "MAR2", "dst": "MAR1", "count": 1})
    assert drop == "drop the next PBU"
    [title] = mark_titles(page, "user")
    assert title.endswith(f": you: {drop} (your action)"), title

    page.click("#btn-break")  # Break off: a drag moves the MN again
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR1] .shape")
    move = describe({"action": "move", "mn": "MN1", "interface": "if1", "mar": "MAR1"})
    assert move == "move MN1 if1 to MAR1"
    # The page is behind the server's clock after the drop's replay: the move shows once the page has played to it.
    step(page)
    page.wait_for_function("document.querySelectorAll('#timeline .mark.user').length >= 2", timeout=10_000)
    titles = mark_titles(page, "user")
    assert len(titles) == 2 and titles[1].endswith(f": you: {move} (your action)"), titles
