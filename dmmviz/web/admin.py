"""The admin door: sessions go through the same rule as every other door (dmmviz/access.py)."""

from django.contrib import admin

from dmmviz import access

from .models import Scenario, SimSession


class TitledAdmin(admin.ModelAdmin):
    """A model named by a title with a slug made from it (models.unique_slug): scenarios and lessons."""

    prepopulated_fields = {"slug": ("title",)}


class OwnRowsAdmin(admin.ModelAdmin):
    """Superusers see every row; other staff only the rows whose `owner_field` is themselves."""

    owner_field = "owner"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(**{self.owner_field: request.user})


@admin.register(Scenario)
class ScenarioAdmin(TitledAdmin):
    list_display = ("title", "slug", "builtin", "public", "owner", "created")
    list_filter = ("builtin", "public")
    search_fields = ("title", "description", "slug")

    def get_queryset(self, request):
        return access.visible_scenarios(access.Who.of(request))


@admin.register(SimSession)
class SimSessionAdmin(OwnRowsAdmin):  # a session is its staff member's when started under their account
    list_display = ("id", "scenario", "steps", "mode", "owner", "updated")
    readonly_fields = ("id", "created", "updated", "revision", "owner", "owner_key")

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or access.can_view(access.Who.of(request), obj.pk))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or access.can_change(access.Who.of(request), obj.pk))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.can_change(access.Who.of(request), obj.pk))
