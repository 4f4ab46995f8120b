"""URL configuration: the admin and the web app's pages."""

from django.contrib import admin
from django.urls import include, path

from dmmviz import health, views_compare, views_export

handler400 = "dmmviz.badrequest.bad_request"  # a sentence naming the limit, not Django's bare page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),  # the proxy's and systemd's health check (dmmviz/health.py)
    path("compare/", views_compare.compare_index, name="compare_index"),
    path("compare/<slug:slug>/", views_compare.compare_page, name="compare"),
    path("compare/<slug:slug>/watch/", views_compare.compare_watch, name="compare_watch"),
    path("docs/metrics/", views_compare.metrics_doc, name="metrics_doc"),
    path("", include("dmmviz.web.urls")),
    path("", include(views_export.urlpatterns)),  # /s/<uuid>/export/<fmt>/, /s/<uuid>/sequence.json (front end)
    path("", include("dmmviz.lessons.urls")),  # /lessons/, /practice/, /class/, /accounts/
]
