from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("scenarios/<slug:slug>/start/", views.session_new, name="session_new"),
    path("s/<uuid:session_id>/", views.session_page, name="session"),
    path("protocol.js", views.protocol_js, name="protocol_js"),
]
