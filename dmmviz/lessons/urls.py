"""Lesson, practice, class and account URLs (included at the site root by dmmviz/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import api, views

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
    path("lessons/<slug:slug>/start/", views.attempt_start, name="start"),
    path("lessons/<slug:slug>/edit/", views.lesson_edit, name="edit"),
    path("lessons/<slug:slug>/duplicate/", views.lesson_duplicate, name="duplicate"),
    path("lessons/<slug:slug>/publish/", views.lesson_publish, name="publish"),
    path("lessons/<slug:slug>/delete/", views.lesson_delete, name="delete"),
    path("lessons/<slug:slug>/lesson.json", views.lesson_export, name="export"),
    path("lessons/<slug:slug>/scenario.json", views.scenario_export, name="export_scenario"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="lessons/login.html", next_page="/lessons/"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/lessons/"), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
]
