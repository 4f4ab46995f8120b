"""What reaches whom (issue 11 item 2, the class half of item 1) and what instructors get back (issue 12 item 3):
students never get answers or feedback before answering; class followers never see the instructor's session id and
answer the class's checkpoints; instructors get a Results page with a CSV and a live view of the class's answers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dmmviz.lessons.models import Attempt, LiveClass

from .conftest import client_for

pytestmark = pytest.mark.django_db

FEEDBACK_WORDS = "The anchor is the MAR whose pool"  # in fig5's step 4 feedback ("incorrect")


def start(client, lesson) -> Attempt:
    response = client.post(f"/lessons/{lesson.slug}/start/")
    return Attempt.objects.get(id=response["Location"].rstrip("/").split("/")[-1])


# -- answers stay on the server ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "student"])
def test_students_get_no_answers_or_feedback_from_the_api_or_the_download(who, instructor, student, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(student if who == "student" else None)
    api = client.get(f"/lessons/api/{lesson.slug}/")
    assert api.status_code == 200
    body = api.json()
    text = json.dumps(body)
    assert FEEDBACK_WORDS not in text and '"feedback"' not in text
    assert all(
        "answer" not in (m["question"] or {}) and "explanation" not in (m["question"] or {}) for m in body["moments"]
    )
    assert body["moments"][3]["question"]["choices"]  # the question itself is there
    download = client.get(f"/lessons/{lesson.slug}/lesson.json")
    assert download.status_code == 200
    data = json.loads(download.content)
    assert FEEDBACK_WORDS not in download.content.decode() and data["steps"][3]["checkpoint"]["kind"] == "flow_anchor"
    assert "feedback" not in data["steps"][3]["checkpoint"]


def test_the_owner_and_instructors_get_the_full_lesson_file(instructor, other_instructor, lesson_of):
    lesson = lesson_of(instructor)
    for user in (instructor, other_instructor):
        client = client_for(user)
        assert FEEDBACK_WORDS in client.get(f"/lessons/{lesson.slug}/lesson.json").content.decode()
        moments = client.get(f"/lessons/api/{lesson.slug}/").json()["moments"]
        assert moments[3]["question"]["answer"] == "MAR1"


def test_a_student_sees_the_answer_only_after_answering(instructor, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(None)
    attempt = start(client, lesson)
    html = client.get(f"/lessons/attempt/{attempt.id}/").content.decode()
    assert 'id="true-answer"' not in html
    reply = client.post(
        f"/lessons/attempt/{attempt.id}/answer/", {"answer": "7"}, HTTP_ACCEPT="application/json"
    ).json()
    assert reply["result"]["answer"] is None and reply["result"]["explanation"] is None and not reply["can_next"]
    reply = client.post(
        f"/lessons/attempt/{attempt.id}/answer/", {"answer": "1"}, HTTP_ACCEPT="application/json"
    ).json()
    assert reply["result"]["answer"] == "1" and reply["result"]["explanation"] and reply["can_next"]


def test_the_form_without_script_comes_back_to_the_question(instructor, lesson_of):
    lesson = lesson_of(instructor)
    client = client_for(None)
    attempt = start(client, lesson)
    response = client.post(f"/lessons/attempt/{attempt.id}/answer/", {"answer": "1"})
    assert response.status_code == 302 and response["Location"].endswith(f"/lessons/attempt/{attempt.id}/#checkpoint")


# -- the class: a read-only view by code, answers graded on the server ---------------------------------------------


def _class(instructor, lesson_of):
    lesson = lesson_of(instructor)
    teacher = client_for(instructor)
    assert teacher.post(f"/lessons/{lesson.slug}/class/").status_code == 302
    return teacher, LiveClass.objects.get()


def test_the_follower_page_and_its_downloads_never_carry_the_instructors_session_id(instructor, lesson_of):
    teacher, live_class = _class(instructor, lesson_of)
    session_id = str(live_class.sim_session_id)
    teacher.post(f"/class/{live_class.code}/step/", {"step": "2"})  # something to download
    student = client_for(None)
    page = student.get(f"/class/{live_class.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert session_id not in html and session_id.replace("-", "") not in html
    assert f"/class/{live_class.code}/export/svg/" in html and f"/class/{live_class.code}/sequence.json" in html
    for fmt in ("svg", "trace", "state", "mermaid"):
        response = student.get(f"/class/{live_class.code}/export/{fmt}/")
        assert response.status_code == 200, fmt
        assert session_id not in response.content.decode(errors="replace")
    assert student.get(f"/class/{live_class.code}/export/nope/").status_code == 400
    sequence = student.get(f"/class/{live_class.code}/sequence.json")
    assert sequence.status_code == 200 and sequence.json()["items"]
    # As of the class session's stored revision, so the panel folds exactly the later changes onto it.
    live_class.sim_session.refresh_from_db()
    assert sequence.json()["revision"] == live_class.sim_session.revision
    assert session_id in teacher.get(f"/class/{live_class.code}/teach/").content.decode()  # the instructor's own


def test_followers_answer_graded_on_the_server_and_the_instructor_sees_the_distribution(
    instructor, make_user, lesson_of
):
    teacher, live_class = _class(instructor, lesson_of)
    code = live_class.code
    alice, bob, carl = client_for(make_user("alice")), client_for(None), client_for(None)
    for c in (alice, bob, carl):
        c.get(f"/class/{code}/")
    stats = teacher.get(f"/class/{code}/teach/stats.json").json()
    assert stats["joined"] == 3 and stats["answered"] == 0 and "alice" in stats["students"]

    # Step 1: "How many prefixes does the session DB hold for MN1?" (answer 1)
    right = alice.post(f"/class/{code}/answer/", {"step": "0", "answer": "1"}).json()
    assert right["correct"] and right["answer"] == "1" and right["explanation"]
    wrong = bob.post(f"/class/{code}/answer/", {"step": "0", "answer": "2"}).json()
    assert not wrong["correct"] and wrong["answer"] is None and wrong["explanation"] is None
    bob.post(f"/class/{code}/answer/", {"step": "0", "answer": "1"})  # a retry does not change the first answer
    carl.post(f"/class/{code}/answer/", {"step": "0", "answer": "2"})
    assert bob.post(f"/class/{code}/answer/", {"step": "0", "answer": "many"}).status_code == 422
    assert bob.post(f"/class/{code}/answer/", {"step": "2", "answer": "1"}).status_code == 409  # not the step shown

    stats = teacher.get(f"/class/{code}/teach/stats.json").json()
    assert stats["answered"] == 3 and stats["right"] == 1
    assert {d["label"]: d["count"] for d in stats["distribution"]} == {"1": 1, "2": 2}
    # Only the instructor gets that view.
    assert alice.get(f"/class/{code}/teach/stats.json").status_code == 404
    assert client_for(None).get(f"/class/{code}/teach/stats.json").status_code in (302, 404)

    # Nothing of the answer reaches a follower's page or panel before the instructor reveals it; then it does.
    for c in (carl, client_for(None)):  # (bob got it right at his second try: he may see it)
        assert right["explanation"] not in c.get(f"/class/{code}/").content.decode()
    info = bob.get(f"/class/{code}/info.json").json()
    assert info["answer"] is None and not info["revealed"] and info["checkpoint"]["prompt"]
    assert carl.post(f"/class/{code}/reveal/").status_code in (302, 404)  # students cannot reveal
    assert teacher.post(f"/class/{code}/reveal/").json()["revealed"]
    info = bob.get(f"/class/{code}/info.json").json()
    assert info["revealed"] and info["answer"] == "1" and info["explanation"]


def test_branching_off_shows_on_the_instructors_panel(instructor, make_user, lesson_of):
    teacher, live_class = _class(instructor, lesson_of)
    dora, anon1, anon2 = client_for(make_user("dora")), client_for(None), client_for(None)
    for c in (dora, anon1, anon2):
        c.get(f"/class/{live_class.code}/")
    for c in (dora, anon2):
        c.post(f"/class/{live_class.code}/branch/")
    stats = teacher.get(f"/class/{live_class.code}/teach/stats.json").json()
    assert stats["branched"] == ["anonymous #2", "dora"] and stats["branched_count"] == 2
    assert stats["joined"] == 3 and anon2.session.session_key[:8] not in json.dumps(stats)


def test_an_ended_class_code_is_dead(instructor, lesson_of):
    teacher, live_class = _class(instructor, lesson_of)
    teacher.post(f"/class/{live_class.code}/end/")
    student = client_for(None)
    assert student.get(f"/class/{live_class.code}/info.json").status_code == 404
    assert student.get(f"/class/{live_class.code}/export/svg/").status_code == 404
    assert student.post(f"/class/{live_class.code}/answer/", {"answer": "1"}).status_code == 404


# -- the Results page -------------------------------------------------------------------------------------------


def test_results_page_lists_every_attempt_with_checkpoints_and_common_wrong_answers(
    instructor, student, make_user, lesson_of
):
    lesson = lesson_of(instructor)
    stella = client_for(student)
    a = start(stella, lesson)
    stella.post(f"/lessons/attempt/{a.id}/answer/", {"answer": "2"})  # wrong, then right
    stella.post(f"/lessons/attempt/{a.id}/answer/", {"answer": "1"})
    anon = client_for(None)
    b = start(anon, lesson)
    anon.post(f"/lessons/attempt/{b.id}/answer/", {"answer": "2"})
    c = start(client_for(make_user("carla")), lesson)
    client_for(make_user("carla2"))  # no attempt
    Attempt.objects.filter(id=c.id).update(
        answers={"0": {"tries": 1, "first_try": True, "correct": True, "response": 1}}
    )
    owner = client_for(instructor)
    detail = owner.get(f"/lessons/{lesson.slug}/").content.decode()
    assert f'href="/lessons/{lesson.slug}/results/"' in detail and ">Results<" in detail
    page = owner.get(f"/lessons/{lesson.slug}/results/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 attempts" in html and "stella" in html and "anonymous" in html and "carla" in html
    assert "✔ right" in html and "right (retry)" in html and "✘ wrong" in html
    assert '“<span class="lx-wrong-answer">2</span>”: 2 times' in html  # the most common wrong answer to checkpoint 1
    assert "1 of 3 right at the first try" in html

    response = owner.get(f"/lessons/{lesson.slug}/results.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["student", "started", "last activity", "minutes", "points"] and len(rows) == 4
    by_student = {r[0]: r for r in rows[1:]}
    assert (
        by_student["stella"][8] == "right (retry)"
        and by_student["anonymous"][8] == "wrong"
        and by_student["carla"][8] == "right"
    )


def test_results_are_for_the_lessons_instructors_only(instructor, other_instructor, student, lesson_of):
    lesson = lesson_of(instructor)
    for user in (student, other_instructor):
        client = client_for(user)
        assert client.get(f"/lessons/{lesson.slug}/results/").status_code == 403
        assert client.get(f"/lessons/{lesson.slug}/results.csv").status_code == 403
        assert "results-link" not in client.get(f"/lessons/{lesson.slug}/").content.decode()
    assert client_for(None).get(f"/lessons/{lesson.slug}/results/").status_code == 302  # to the login page


def test_the_editor_gets_each_steps_messages_and_students_do_not(instructor, lesson_of):
    """The editor lists a step's messages (to click one: "pause before this"); a student's API has none of it."""
    lesson = lesson_of(instructor)
    moments = client_for(instructor).get(f"/lessons/api/{lesson.slug}/").json()["moments"]
    handover = moments[2]["messages"]
    kinds = [m["kind"] for m in handover]
    assert kinds.index("RS") < kinds.index("PBU") < kinds.index("PBA")
    assert all(moments[1]["t"] <= m["t"] <= moments[2]["t"] for m in handover)
    assert moments[2]["start"] < 5.0 < moments[2]["t"]
    student = client_for(None).get(f"/lessons/api/{lesson.slug}/").json()["moments"]
    assert all("messages" not in m for m in student)


def test_a_followers_answer_is_still_there_after_a_reload_without_giving_the_answer_away(instructor, lesson_of):
    _teacher, live_class = _class(instructor, lesson_of)
    code = live_class.code
    ana, ben = client_for(None), client_for(None)
    for c in (ana, ben):
        c.get(f"/class/{code}/")
    ana.post(f"/class/{code}/answer/", {"step": "0", "answer": "1"})
    ben.post(f"/class/{code}/answer/", {"step": "0", "answer": "4"})

    def mine(client):
        html = client.get(f"/class/{code}/").content.decode()
        return json.loads(html.split('id="class-my-answer" type="application/json">')[1].split("</script>")[0])

    assert mine(ana)["correct"] and mine(ana)["answer"] == "1"
    assert mine(ben) == {**mine(ben), "correct": False, "answer": None, "explanation": None}
    assert mine(client_for(None)) is None


def test_only_the_author_previewing_gets_the_pause_before_this_box(instructor, lesson_of):
    lesson = lesson_of(instructor)
    owner = client_for(instructor)
    preview = owner.post(f"/lessons/{lesson.slug}/start/", {"preview": "1"})
    assert 'id="lx-author"' in owner.get(preview["Location"]).content.decode()
    own_attempt = owner.post(f"/lessons/{lesson.slug}/start/")
    assert 'id="lx-author"' not in owner.get(own_attempt["Location"]).content.decode()  # not a preview
    student = client_for(None)
    theirs = student.post(f"/lessons/{lesson.slug}/start/", {"preview": "1"})  # not theirs to preview
    assert 'id="lx-author"' not in student.get(theirs["Location"]).content.decode()


def test_results_csv_cells_never_start_a_formula(instructor, make_user, lesson_of):
    """A username such as "+1-2" or "@SUM(A1)" (allowed by Django) is text in a spreadsheet, not a formula."""
    lesson = lesson_of(instructor)
    for name in ("+1-2", "@SUM"):
        start(client_for(make_user(name)), lesson)
    text = client_for(instructor).get(f"/lessons/{lesson.slug}/results.csv").content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert {r[0] for r in rows[1:]} == {"'+1-2", "'@SUM"}


def test_a_followers_answers_sent_together_make_one_answer_with_every_try_counted(instructor, make_user, lesson_of):
    """Answers of one follower that race (two arrive before either is stored) are one answer on the instructor's
    panel, with every try counted; the database refuses a second row for the same follower and step."""
    from django.db import IntegrityError, transaction

    from dmmviz.lessons import classroom
    from dmmviz.lessons.models import ClassAnswer

    teacher, live_class = _class(instructor, lesson_of)
    erin = make_user("erin")
    follower = client_for(erin)
    follower.get(f"/class/{live_class.code}/")
    owner = {"user": erin, "session_key": ""}
    first = ClassAnswer.objects.create(live_class=live_class, step=0, first=2, first_correct=False, response=2,
                                       correct=False, **owner)  # as if stored by the other request meanwhile
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassAnswer.objects.create(live_class=live_class, step=0, first=2, first_correct=False, response=2,
                                   correct=False, **owner)
    assert classroom.answer(live_class, owner, ["1"])["correct"]
    classroom.answer(live_class, owner, ["2"])  # a wrong try after a right one leaves it right
    (mine,) = ClassAnswer.objects.filter(live_class=live_class, step=0)
    assert mine.pk == first.pk and mine.tries == 3 and mine.correct and mine.first == 2
    stats = teacher.get(f"/class/{live_class.code}/teach/stats.json").json()
    assert stats["answered"] == 1


def test_reading_a_lesson_from_the_api_plays_its_run_once_not_at_every_request(instructor, lesson_of, monkeypatch):
    """Anyone may GET a published lesson; each GET used to replay the whole lesson (1-2 s for a long one)."""
    from dmmviz.lessons import lessonfile, player

    lesson = lesson_of(instructor)
    player._cache.clear()
    plays = []
    real_play = lessonfile.play
    monkeypatch.setattr(lessonfile, "play", lambda data: plays.append(1) or real_play(data))
    visitor = client_for(None)
    first = visitor.get(f"/lessons/api/{lesson.slug}/").json()["moments"]
    assert visitor.get(f"/lessons/api/{lesson.slug}/").json()["moments"] == first and first
    assert len(plays) == 1
