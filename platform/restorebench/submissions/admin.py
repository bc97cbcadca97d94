"""Admin for submissions, evaluation jobs (with platform errors), uploads and rescores."""

from django.contrib import admin

from restorebench.submissions.models import EvaluationJob, Rescore, Submission, UploadSession


class JobInline(admin.TabularInline):
    model = EvaluationJob
    extra = 0
    fields = ("purpose", "status", "attempts", "queue", "worker", "heartbeat_at", "error_kind")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "phase",
        "team",
        "is_reference",
        "kind",
        "method_name",
        "status",
        "disqualified",
        "created_at",
    )
    list_filter = ("status", "is_reference", "kind", "disqualified", "failure_kind")
    search_fields = ("method_name", "team__name", "sha256")
    readonly_fields = (
        "archive_path",
        "archive_bytes",
        "sha256",
        "content_fingerprint",
        "image_count",
        "kind",
        "model_format",
        "model_manifest",
        "model_parameters",
        "model_seconds_per_image",
        "model_peak_memory_bytes",
        "scores",
        "current_job",
        "scored_at",
        "created_at",
    )
    inlines = [JobInline]

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        # A stored upload belongs to its phase's area: moving the row to another phase (of another
        # challenge) would only make its file unreadable, so the phase is fixed once created.
        return (*self.readonly_fields, "phase") if obj is not None else self.readonly_fields


@admin.register(EvaluationJob)
class EvaluationJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "submission",
        "purpose",
        "status",
        "attempts",
        "queue",
        "worker",
        "heartbeat_at",
        "error_kind",
    )
    list_filter = ("status", "error_kind", "purpose", "queue")
    readonly_fields = ("aggregates", "problems", "scoring_record", "model_run")


@admin.register(UploadSession)
class UploadSessionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "phase",
        "filename",
        "received_bytes",
        "total_bytes",
        "status",
        "updated_at",
    )
    list_filter = ("status",)

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        return ("phase",) if obj is not None else ()  # its partial file belongs to that phase's upload


@admin.register(Rescore)
class RescoreAdmin(admin.ModelAdmin):
    list_display = ("id", "phase", "requested_by", "created_at")
    readonly_fields = ("before",)
