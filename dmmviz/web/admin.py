"""The admin door: sessions go through the same rule as every other door (dmmviz/access.py)."""

from django.contrib import admin

from dmmviz import access

from .models import Scenario, SimSession


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "builtin", "public", "owner", "created")
    list_filter = ("builtin", "public")
    search_fields = ("title", "description", "slug")
    prepopulated_fields = {"slug": ("title",)}

    def get_queryset(self, request):
        return access.visible_scenarios(access.Who.of(request))


@admin.register(SimSession)
class SimSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "scenario", "steps", "mode", "owner", "updated")
    readonly_fields = ("id", "created", "updated", "revision", "owner", "owner_key")

    def get_queryset(self, request):
        # Superusers see every session; other staff only those started under their own account.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(owner=request.user)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or access.can_view(access.Who.of(request), obj.pk))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or access.can_change(access.Who.of(request), obj.pk))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or access.can_change(access.Who.of(request), obj.pk))
