from django.contrib import admin

from .models import Scenario, SimSession


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "builtin", "created")
    list_filter = ("builtin",)
    search_fields = ("title", "description", "slug")
    prepopulated_fields = {"slug": ("title",)}


@admin.register(SimSession)
class SimSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "scenario", "steps", "mode", "updated")
    readonly_fields = ("id", "created", "updated", "revision")
