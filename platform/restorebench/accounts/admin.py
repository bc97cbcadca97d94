"""Admin for teams, memberships and track entries."""

from django.contrib import admin

from restorebench.accounts.models import Team, TeamMembership, TrackEntry


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("challenge",)


class TrackEntryInline(admin.TabularInline):
    model = TrackEntry
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "challenge", "created_at")
    list_filter = ("challenge",)
    search_fields = ("name",)
    inlines = [MembershipInline, TrackEntryInline]
