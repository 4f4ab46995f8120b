from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("scenarios/<slug:slug>/start/", views.session_new, name="session_new"),
    path("scenarios/<slug:slug>/rename/", views.scenario_rename, name="scenario_rename"),
    path("scenarios/<slug:slug>/delete/", views.scenario_delete, name="scenario_delete"),
    path("scenarios/<slug:slug>/publish/", views.scenario_publish, name="scenario_publish"),
    path("s/<uuid:session_id>/", views.session_page, name="session"),
    path("protocol.js", views.protocol_js, name="protocol_js"),
]
