"""URL configuration: the admin and the web app's pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("dmmviz.web.urls")),
]
