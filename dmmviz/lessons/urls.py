"""Lesson, practice, class and account URLs (included at the site root by dmmviz/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from dmmviz.web.urls import slug_actions

from . import api, views, views_class, views_practice

app_name = "lessons"

urlpatterns = [
    path("lessons/", views.lesson_list, name="list"),
    path("lessons/new/", views.lesson_new, name="new"),
    path("lessons/import/", views.lesson_import, name="import"),
    path("lessons/shared/<str:token>/", views.lesson_shared, name="shared"),
    path("lessons/api/validate/", api.validate, name="api_validate"),
    path("lessons/api/simulate/", api.simulate, name="api_simulate"),
    path("lessons/api/kinds/", api.kinds, name="api_kinds"),
    path("lessons/api/<slug:slug>/", api.lesson, name="api_lesson"),
    path("lessons/attempt/<uuid:attempt_id>/", views.attempt_page, name="attempt"),
    path("lessons/attempt/<uuid:attempt_id>/go/", views.attempt_go, name="attempt_go"),
    path("lessons/attempt/<uuid:attempt_id>/answer/", views.attempt_answer, name="attempt_answer"),
    path("lessons/<slug:slug>/", views.lesson_detail, name="detail"),
    *slug_actions(
        "lessons",
        {
            "start": views.attempt_start,
            "edit": views.lesson_edit,
            "duplicate": views.lesson_duplicate,
            "publish": views.lesson_publish,
            "delete": views.lesson_delete,
            "results": views.lesson_results,
        },
    ),
    path("lessons/<slug:slug>/lesson.json", views.lesson_export, name="export"),
    path("lessons/<slug:slug>/results.csv", views.lesson_results_csv, name="results_csv"),
    path("lessons/<slug:slug>/scenario.json", views.scenario_export, name="export_scenario"),
    path("lessons/<slug:slug>/class/", views_class.class_start, name="class_start"),
    path("lessons/<slug:slug>/practice/", views_practice.practice_lesson, name="practice_lesson"),
    path("lessons/attempt/<uuid:attempt_id>/practice/", views_practice.practice_attempt, name="practice_attempt"),
    path("practice/scenario/<slug:slug>/", views_practice.practice_scenario, name="practice_scenario"),
    path("practice/<uuid:run_id>/", views_practice.practice_page, name="practice"),
    path("practice/<uuid:run_id>/question/", views_practice.practice_question, name="practice_question"),
    path("practice/<uuid:run_id>/answer/", views_practice.practice_answer, name="practice_answer"),
    path("class/", views_class.class_join, name="class_join"),
    path("class/<str:code>/", views_class.class_follow, name="class_follow"),
    path("class/<str:code>/teach/", views_class.class_teach, name="class_teach"),
    path("class/<str:code>/step/", views_class.class_step, name="class_step"),
    path("class/<str:code>/end/", views_class.class_end, name="class_end"),
    path("class/<str:code>/branch/", views_class.class_branch, name="class_branch"),
    path("class/<str:code>/branch/<int:branch_id>/", views_class.class_branch_page, name="class_branch_page"),
    path("class/<str:code>/info.json", views_class.class_info, name="class_info"),
    path("class/<str:code>/answer/", views_class.class_answer, name="class_answer"),
    path("class/<str:code>/reveal/", views_class.class_reveal, name="class_reveal"),
    path("class/<str:code>/teach/stats.json", views_class.class_stats, name="class_stats"),
    path("class/<str:code>/export/<slug:fmt>/", views_class.class_export, name="class_export"),
    path("class/<str:code>/sequence.json", views_class.class_sequence, name="class_sequence"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="lessons/login.html", next_page="/lessons/"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/lessons/"), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
]
