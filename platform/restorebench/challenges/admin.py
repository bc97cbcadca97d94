"""Admin for challenges, tracks, phases and organizers; the audit log is read-only."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from evaluator.ranking import RankingConfigError
from restorebench.challenges.models import AuditLogEntry, Challenge, ChallengeOrganizer, Phase, Track
from restorebench.challenges.services import (
    AUDITED_PHASE_FIELDS,
    AUDITED_TRACK_FIELDS,
    DATA_PATH_FIELDS,
    audit_log_record,
    json_value,
    validated_specs,
)
from restorebench.challenges.track_efficiency import EfficiencyConfigError, track_efficiency_validate
from restorebench.challenges.track_ranking import (
    ranking_problems_text,
    scored_metrics,
    track_ranking_validate,
)


def _audit_admin_change(
    request, obj, form, audited: tuple[str, ...], challenge, action: str, target: str
) -> None:
    # The admin edits rows directly; organizer changes made there are audited like the API's.
    changes = {
        name: {"from": json_value(form.initial.get(name)), "to": json_value(form.cleaned_data.get(name))}
        for name in form.changed_data
        if name in audited
    }
    if changes:
        audit_log_record(
            challenge=challenge, actor=request.user, action=action, target=target, details=changes
        )


class TrackAdminForm(forms.ModelForm):
    class Meta:
        model = Track
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if data.get("task") and not self.errors:
            try:  # the same spec validator as the bundle loader and the services
                specs = (data.get("degradation_spec") or {}, data.get("scoring_spec") or {})
                validated_specs(data["task"], *specs)
            except ValidationError as error:
                raise forms.ValidationError(error.message_dict) from error
        # The same validator as the bundle loader and the services: leaderboards when given, else the
        # single-board method and metrics.
        ranking = data.get("leaderboards") or {
            "method": data.get("ranking_method"),
            "metrics": data.get("ranking_metrics"),
        }
        try:
            rules = track_ranking_validate(ranking, scored=scored_metrics(data.get("scoring_spec") or {}))
        except RankingConfigError as error:
            field = "leaderboards" if data.get("leaderboards") else "ranking_metrics"
            raise forms.ValidationError({field: ranking_problems_text(error)}) from error
        data["ranking_method"], data["ranking_metrics"] = rules.ranking_method, rules.ranking_metrics
        data["leaderboards"] = rules.leaderboards
        if data.get("task"):
            try:  # {} (or empty) becomes the task's default, stored explicitly
                data["efficiency"] = track_efficiency_validate(
                    data.get("efficiency") or None, task=data["task"]
                )
            except EfficiencyConfigError as error:
                raise forms.ValidationError({"efficiency": str(error)}) from error
        return data


class PhaseAdminForm(forms.ModelForm):
    """Data folders are not fields (the platform places them); a post that names one is refused."""

    class Meta:
        model = Phase
        fields = "__all__"

    def clean(self):
        data = super().clean()
        for name in DATA_PATH_FIELDS:
            if name in self.data:
                self.add_error(None, f"{name}: data folders are placed by the platform, never set by a path")
        return data


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
    form = TrackAdminForm
    list_display = ("__str__", "task", "compute", "ranking_method")
    list_filter = ("task", "compute")
    inlines = [PhaseInline]

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        # A track never moves to another challenge: its phases' data lives in its challenge's area.
        return ("challenge",) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:
            _audit_admin_change(
                request, obj, form, AUDITED_TRACK_FIELDS, obj.challenge, "track.update", f"track:{obj.pk}"
            )


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
    form = PhaseAdminForm

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        # The installed-at times are the platform's record; a phase never moves to another track.
        installed = ("inputs_installed_at", "ground_truth_installed_at")
        return ("track", *installed) if obj is not None else installed

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:
            _audit_admin_change(
                request,
                obj,
                form,
                AUDITED_PHASE_FIELDS,
                obj.track.challenge,
                "phase.update",
                f"phase:{obj.pk}",
            )


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
