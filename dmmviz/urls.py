"""URL configuration: the admin and the web app's pages."""

from django.contrib import admin
from django.urls import include, path

from dmmviz import views_compare

urlpatterns = [
    path("admin/", admin.site.urls),
    path("compare/", views_compare.compare_index, name="compare_index"),
    path("compare/<slug:slug>/", views_compare.compare_page, name="compare"),
    path("", include("dmmviz.web.urls")),
    path("", include("dmmviz.lessons.urls")),  # /lessons/, /practice/, /class/, /accounts/
]
