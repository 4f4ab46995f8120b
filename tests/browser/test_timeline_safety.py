"""The timeline never loses a student's work silently (issue 12, item 4), and the clock after a pause at any speed
shows the time of the last event drawn, at which an action applies (item 5)."""

from __future__ import annotations

from tests.browser.conftest import shot
from tests.browser.helpers import centre, drag, open_scenario, play_until, wait_idle

MOVE = "user move MN1 if1 MAR2"


def tick_labels(page) -> list[tuple[str, int]]:
    """The timeline's scale: each tick label and its x position (px), once the labels are laid out. The timeline
    redraws its ticks now and then (a label read mid-redraw has no box yet, x 0), so the labels are checked and read
    in one go, in one turn of the page's script."""
    scale = page.wait_for_function(
        """() => {
          const labels = [...document.querySelectorAll('#timeline .tick-label')];
          const boxes = labels.map(e => e.getBoundingClientRect());
          if (!labels.length || boxes.some(box => box.width === 0)) return null;
          return labels.map((e, i) => [e.textContent, Math.round(boxes[i].x)]);
        }"""
    )
    return scale.json_value()


def click_timeline_at(page, seconds: int) -> None:
    """Click the timeline's track under its "<seconds>s" tick label, as a student does to jump there."""
    # Read in one go: the timeline redraws its ticks now and then, so a located element may be replaced meanwhile.
    x, y = page.evaluate(
        """(text) => {
          const label = [...document.querySelectorAll('#timeline .tick-label')].find(e => e.textContent === text);
          const a = label.getBoundingClientRect();
          const track = document.querySelector('#timeline .track').getBoundingClientRect();
          return [a.x + a.width / 2, track.y + 2];
        }""",
        f"{seconds}s",
    )
    page.mouse.click(x, y)
    wait_idle(page)


def action_times(page, text: str) -> list[str]:
    """The times (as the log prints them) of the log rows that contain `text`."""
    return page.eval_on_selector_all(
        "#log li",
        f"rows => rows.filter(r => r.textContent.includes({text!r})).map(r => r.querySelector('.t').textContent)",
    )


def drag_mn1_to_mar2_asked(page) -> None:
    """Drag MN1 onto MAR2 when the page is expected to ask first: wait for the question, not for idle."""
    x, y = centre(page, "#topology g.mn[data-id=MN1] .mn-body")
    tx, ty = centre(page, "#topology g[data-id=MAR2] .shape")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y - 8, steps=3)
    page.mouse.move(tx, ty, steps=10)
    page.mouse.up()
    page.wait_for_selector("body[data-sim-status=asking]", state="attached")


def now(page) -> float:
    return float(page.get_attribute("body", "data-sim-now"))


def hand_over_at_about_2s(page) -> str:
    """Figure 5: play to 2 s, drag MN1 onto MAR2, play on to 4 s; return the move's time as the log prints it."""
    open_scenario(page, "fig5-handover")
    play_until(page, 2.0)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    [t_move] = action_times(page, MOVE)
    play_until(page, 4.0)
    return t_move


def test_jump_back_keeps_later_actions_as_a_redo_that_plays_again(page):
    t_move = hand_over_at_about_2s(page)
    scale = tick_labels(page)
    click_timeline_at(page, 1)
    assert now(page) < 1.1
    # The move is undone but not lost: the timeline shows it, hollow, as "redo"; the scale has not changed.
    assert action_times(page, MOVE) == []
    assert page.locator("#timeline .mark.redo").count() == 1
    assert "redo: move MN1 if1 to MAR2" in page.text_content("#timeline .mark.redo")
    assert tick_labels(page) == scale
    shot(page, "timeline-redo-branch")
    # Nothing changed: playing on redoes the move at its own time.
    play_until(page, float(t_move) + 0.5)
    assert action_times(page, MOVE) == [t_move]
    assert page.locator("#timeline .mark.redo").count() == 0
    assert page.get_attribute("body", "data-redo") == "0"
    # A jump forward past an undone action redoes it too.
    click_timeline_at(page, 1)
    assert action_times(page, MOVE) == []
    click_timeline_at(page, 3)
    assert action_times(page, MOVE) == [t_move]
    assert abs(now(page) - 3.0) < 0.05
    assert tick_labels(page) == scale


def test_the_redo_branch_survives_a_reload(page):
    """A reload of the page in the middle of a redo branch keeps it: the undone move is still there to replay."""
    t_move = hand_over_at_about_2s(page)
    click_timeline_at(page, 1)
    assert page.locator("#timeline .mark.redo").count() == 1
    page.reload()
    wait_idle(page)
    assert page.locator("#timeline .mark.redo").count() == 1
    play_until(page, float(t_move) + 0.5)
    assert action_times(page, MOVE) == [t_move]


def test_step_back_over_an_action_then_step_redoes_it(page):
    open_scenario(page, "fig5-handover")
    play_until(page, 2.0)
    drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
    [t_move] = action_times(page, MOVE)
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert action_times(page, MOVE) == []
    assert page.locator("#timeline .mark.redo").count() == 1
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert action_times(page, MOVE) == [t_move]


def test_a_new_action_asks_before_discarding_the_redo_branch(page):
    hand_over_at_about_2s(page)
    click_timeline_at(page, 1)
    # A different action now would change what the undone move replays on: the page asks first.
    drag_mn1_to_mar2_asked(page)
    dialog = page.locator("dialog#confirm")
    assert dialog.is_visible()
    assert "move MN1 if1 to MAR2" in dialog.inner_text()  # the command catalogue's words
    shot(page, "timeline-discard-question")
    page.click("#confirm-cancel")  # keep them: nothing changes
    wait_idle(page)
    assert not dialog.is_visible()
    assert action_times(page, MOVE) == []
    assert page.locator("#timeline .mark.redo").count() == 1
    # Asked again, Esc also keeps them.
    drag_mn1_to_mar2_asked(page)
    page.keyboard.press("Escape")
    wait_idle(page)
    assert page.locator("#timeline .mark.redo").count() == 1 and action_times(page, MOVE) == []
    # Discarding applies the new action now, at the time shown, and the old one is gone for good.
    drag_mn1_to_mar2_asked(page)
    shown = page.inner_text("#clock")
    page.click("#confirm-ok")
    wait_idle(page)
    assert page.locator("#timeline .mark.redo").count() == 0
    assert action_times(page, MOVE) == [shown.removeprefix("t = ").removesuffix(" s")]


def test_reset_asks_first(page):
    hand_over_at_about_2s(page)
    before = now(page)
    page.keyboard.press("r")
    dialog = page.locator("dialog#confirm")
    assert dialog.is_visible()
    assert "move MN1 if1 to MAR2" in dialog.inner_text()  # it says what would be forgotten
    page.keyboard.press("Escape")
    wait_idle(page)
    assert now(page) == before and len(action_times(page, MOVE)) == 1
    page.click("#btn-reset")
    assert dialog.is_visible()
    page.click("#confirm-ok")
    wait_idle(page)
    assert now(page) == 0.0 and page.locator("#log li").count() == 0


def test_after_a_pause_at_high_speed_the_clock_shows_the_last_event_drawn(page):
    """At 10× and 100×: pause, and the clock is within 0.25 s of the newest event in the log; a drag then applies at
    the time the clock shows."""
    for speed in ("10×", "100×"):
        open_scenario(page, "fig5-handover")
        page.select_option("#speed", label=speed)
        page.keyboard.press("Space")
        page.wait_for_function(
            "() => parseFloat(document.querySelector('#clock').textContent.slice(4)) > 3.2", timeout=60_000
        )
        page.keyboard.press("Space")
        wait_idle(page)
        shown = float(page.inner_text("#clock").removeprefix("t = ").removesuffix(" s"))
        newest = max(float(t) for t in page.eval_on_selector_all("#log li .t", "els => els.map(e => e.textContent)"))
        assert shown >= newest - 1e-9, (speed, shown, newest)
        assert shown - newest <= 0.25, (speed, shown, newest)
        assert abs(now(page) - shown) < 0.0005
        drag(page, "#topology g.mn[data-id=MN1] .mn-body", "#topology g[data-id=MAR2] .shape")
        assert action_times(page, MOVE) == [f"{shown:.3f}"], speed
