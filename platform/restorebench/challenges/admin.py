"""Admin for challenges, tracks, phases and organizers; the audit log is read-only."""

from django.contrib import admin

from restorebench.challenges.models import AuditLogEntry, Challenge, ChallengeOrganizer, Phase, Track


class OrganizerInline(admin.TabularInline):
    model = ChallengeOrganizer
    extra = 0
    raw_id_fields = ("user",)


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    fields = ("slug", "title", "task", "compute", "ranking_method", "order")
    show_change_link = True


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    fields = (
        "slug",
        "title",
        "starts_at",
        "ends_at",
        "max_submissions_per_day",
        "max_submissions_total",
        "leaderboard_public",
        "hidden_ground_truth",
    )
    show_change_link = True


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "is_public", "created_at")
    search_fields = ("slug", "title")
    inlines = [OrganizerInline, TrackInline]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("__str__", "task", "compute", "ranking_method")
    list_filter = ("task", "compute")
    inlines = [PhaseInline]


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "starts_at",
        "ends_at",
        "max_submissions_per_day",
        "max_submissions_total",
        "leaderboard_public",
        "hidden_ground_truth",
    )
    list_filter = ("hidden_ground_truth", "leaderboard_public")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "challenge", "actor", "action", "target")
    list_filter = ("action",)
    readonly_fields = ("challenge", "actor", "action", "target", "details", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
