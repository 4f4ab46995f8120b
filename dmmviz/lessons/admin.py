"""Lessons in the Django admin. Instructors (staff in the "instructors" group) see and change only their own lessons;
superusers see everything. The model's clean() validates through the engine, so an invalid lesson is refused here too.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from dmmviz.web.admin import OwnRowsAdmin, TitledAdmin

from .models import Attempt, Branch, Lesson, LiveClass, PracticeQuestion, PracticeRun
from .permissions import can_edit


@admin.register(Lesson)
class LessonAdmin(TitledAdmin, OwnRowsAdmin):
    list_display = ("title", "slug", "status", "owner", "builtin", "updated")
    list_filter = ("status", "builtin")
    search_fields = ("title", "summary", "slug")
    readonly_fields = ("share_token", "copied_from", "created", "updated")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["owner", "builtin"]  # an instructor cannot give a lesson away or mark it built in
        return fields

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        if obj is not None and not can_edit(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        if obj is not None and not can_edit(request.user, obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: Any, obj: Lesson, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.owner = request.user
        super().save_model(request, obj, form, change)


@admin.register(Attempt)
class AttemptAdmin(OwnRowsAdmin):
    owner_field = "lesson__owner"
    list_display = ("__str__", "lesson", "user", "preview", "reached", "updated")
    list_filter = ("preview",)
    readonly_fields = [f.name for f in Attempt._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(LiveClass)
class LiveClassAdmin(OwnRowsAdmin):
    owner_field = "instructor"
    list_display = ("code", "__str__", "instructor", "active", "step", "created")
    list_filter = ("active",)
    readonly_fields = ("code", "lesson_data", "sim_session", "created")


admin.site.register(PracticeRun)
admin.site.register(PracticeQuestion)
admin.site.register(Branch)
