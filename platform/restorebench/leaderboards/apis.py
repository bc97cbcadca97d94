"""REST views for a phase's leaderboards, as JSON and as CSV, showing what the viewer may see.

`phases/<id>/leaderboard/` (and `.csv`) is the phase's first board; `phases/<id>/leaderboards/` lists
every board, each at `phases/<id>/leaderboards/<slug>/`, with `.csv` and `.json` downloads."""

import json

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from restorebench.accounts.selectors import team_for_user
from restorebench.challenges.selectors import phase_get, track_get, user_is_organizer
from restorebench.csv_export import csv_text
from restorebench.leaderboards.documents import phase_completeness, team_documents_submit
from restorebench.leaderboards.report import FORMATS, challenge_report, report_archive, report_render
from restorebench.leaderboards.reveal import reveal_changes
from restorebench.leaderboards.selectors import leaderboard_csv_rows, leaderboard_for_viewer
from restorebench.leaderboards.services import phase_reveal
from restorebench.leaderboards.single_flight import cache_get_or_compute
from restorebench.leaderboards.versions import (
    LEADERBOARD_CACHE_SECONDS,
    leaderboard_cache_key,
    leaderboard_view_key,
)


class RowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    is_reference = serializers.BooleanField()
    team_id = serializers.IntegerField(allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    method_name = serializers.CharField()
    submission_id = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    scores = serializers.DictField()
    mean_rank = serializers.FloatField(allow_null=True)
    runtime_per_mp = serializers.FloatField(allow_null=True)
    flagged_identical = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=["images", "model"])
    seconds_per_image = serializers.FloatField(allow_null=True, help_text="Model entries: sandbox runtime.")
    parameters = serializers.IntegerField(allow_null=True)
    peak_memory_bytes = serializers.IntegerField(allow_null=True)
    flops = serializers.IntegerField(
        allow_null=True,
        help_text="Model entries: FLOPs (= multiply-adds, fvcore's convention) at the board's "
        "reference_input; null when an operator could not be counted.",
    )
    activations = serializers.IntegerField(allow_null=True, help_text="Model entries: conv output elements.")
    seconds_per_image_median = serializers.FloatField(allow_null=True, help_text="Model entries: median.")
    score = serializers.FloatField(
        allow_null=True,
        help_text="Formula value; the primary metric; or the mean rank (mean-rank, combined).",
    )
    gated_out = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why the entry is not ranked on this board.")
    inputs = serializers.DictField(allow_null=True, help_text="Formula boards: every input of the formula.")
    ranks = serializers.DictField(allow_null=True, help_text="Combined boards: the rank on each board.")


class BoardTabSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()


class LeaderboardSerializer(serializers.Serializer):
    phase = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["metrics", "formula", "combined"])
    description = serializers.CharField(help_text="How the board ranks, in one line.")
    aggregation = serializers.ChoiceField(
        choices=["means", "per_image"],
        allow_null=True,
        help_text="Formula boards: where the formula applies.",
    )
    boards = BoardTabSerializer(many=True)
    ranking = serializers.DictField()
    metrics = serializers.ListField(child=serializers.CharField())
    rounded_to = serializers.IntegerField(allow_null=True)
    restricted = serializers.BooleanField()
    reference_input = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="[height, width] of the model input at which model entries' FLOPs are counted "
        "(an sr track: the low-resolution input).",
    )
    rows = RowSerializer(many=True)


def _phase_or_404(request, phase_id: int):
    phase = phase_get(user=request.user, phase_id=phase_id)
    if phase is None:
        raise Http404
    return phase


def _board(request, phase, slug: str | None):
    try:
        return leaderboard_for_viewer(phase=phase, user=request.user, board=slug)
    except KeyError:
        raise Http404 from None


def _download(phase, board, body: str, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    names = (phase.track.challenge.slug, phase.track.slug, phase.slug, board.slug)
    response["Content-Disposition"] = f'attachment; filename="{"-".join(names)}-leaderboard.{extension}"'
    return response


def _csv(board) -> str:
    return csv_text(leaderboard_csv_rows(board))


class LeaderboardApi(APIView):
    """The phase's first board (every board: `LeaderboardBoardApi`)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=LeaderboardSerializer)
    def get(self, request, phase_id: int, board: str | None = None):
        phase = _phase_or_404(request, phase_id)
        if not isinstance(request.accepted_renderer, JSONRenderer):  # the browsable API
            return Response(_board(request, phase, board).as_dict())
        return HttpResponse(_board_json(request, phase, board), content_type=JSONRenderer.media_type)


def _board_json(request, phase, slug: str | None) -> bytes:
    """The board as the viewer sees it, rendered to JSON; kept in the cache for every viewer who sees
    the same (`leaderboard_view_key`), so most reads are one cache lookup. (The board is already plain
    JSON data: serialising it again field by field would only cost time.)"""
    organizer = user_is_organizer(user=request.user, challenge=phase.track.challenge_id)
    version = leaderboard_cache_key(phase)
    key = leaderboard_view_key(
        phase=phase, user=request.user, board=slug, version=version, organizer=organizer
    )

    def rendered() -> bytes:
        try:
            shown = leaderboard_for_viewer(
                phase=phase, user=request.user, board=slug, version=version, organizer=organizer
            )
        except KeyError:
            raise Http404 from None
        return JSONRenderer().render(shown.as_dict())

    if key is None:  # the viewer's own view: nothing to share
        return rendered()
    return cache_get_or_compute(f"{key}:json", rendered, LEADERBOARD_CACHE_SECONDS)


class LeaderboardBoardApi(LeaderboardApi):
    """One board of the phase, by slug."""


class LeaderboardListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=BoardTabSerializer(many=True))
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        return Response(_board(request, phase, None).boards)


class LeaderboardCsvApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, phase_id: int, board: str | None = None):
        phase = _phase_or_404(request, phase_id)
        first = board is None
        board = _board(request, phase, board)
        response = _download(phase, board, _csv(board), "text/csv; charset=utf-8", "csv")
        if first:  # the first board keeps its older file name
            name = f"{phase.track.challenge.slug}-{phase.track.slug}-{phase.slug}-leaderboard.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class LeaderboardBoardCsvApi(LeaderboardCsvApi):
    """One board of the phase as CSV."""


class LeaderboardBoardJsonApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=LeaderboardSerializer)
    def get(self, request, phase_id: int, board: str):
        phase = _phase_or_404(request, phase_id)
        board = _board(request, phase, board)
        body = json.dumps(board.as_dict(), indent=1, default=str)
        return _download(phase, board, body, "application/json", "json")


class PhaseRevealApi(APIView):
    """Organizers: GET the frozen ranking (rule, version, evaluator records, boards) and how the live
    ranking differs from it; POST to reveal the results now (final)."""

    permission_classes = [IsAuthenticated]

    def _phase(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        if not user_is_organizer(user=request.user, challenge=phase.track.challenge_id):
            raise PermissionDenied("only the challenge's organizers see and make the reveal")
        return phase

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, phase_id: int):
        changes = reveal_changes(phase=self._phase(request, phase_id))
        if changes is None:
            raise Http404("the results of this phase are not revealed")
        return Response(changes)

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, phase_id: int):
        phase = self._phase(request, phase_id)
        reveal = phase_reveal(phase=phase, actor=request.user)
        body = {
            "phase": phase.pk,
            "revealed_at": reveal.revealed_at.isoformat(),
            "rule_version": reveal.rule_version,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TrackReportApi(APIView):
    """Organizers: the track's challenge report (final phase; frozen results when revealed) as
    `json`, `csv` or `tex` (a LaTeX table in the style of NTIRE challenge reports)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request, track_id: int, fmt: str):
        track = track_get(user=request.user, track_id=track_id)
        if track is None or fmt not in FORMATS:
            raise Http404
        if not user_is_organizer(user=request.user, challenge=track.challenge_id):
            raise PermissionDenied("only the challenge's organizers export the report")
        if fmt == "zip":
            body = report_archive(track=track)
        else:
            body = report_render(challenge_report(track=track), fmt)
        content_type = {
            "json": "application/json",
            "csv": "text/csv; charset=utf-8",
            "zip": "application/zip",
        }.get(fmt, "text/x-tex")
        response = HttpResponse(body, content_type=content_type)
        name = f"{track.challenge.slug}-{track.slug}-report.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# Both methods answer a list of per-team completeness rows (not one object).
_ROWS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


class PhaseDocumentsApi(APIView):
    """A phase's factsheets and code (when it requires them to rank a team). POST (multipart): the
    caller's team adds or replaces `factsheet` (PDF), `code_archive` (zip), `code_url`, `extra_data`.
    GET: organizers see every team's completeness; a participant sees their own team's."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        factsheet = serializers.FileField(required=False)
        code_archive = serializers.FileField(required=False)
        code_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
        extra_data = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(responses={200: _ROWS})
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        rows = phase_completeness(phase=phase)
        if not user_is_organizer(user=request.user, challenge=phase.track.challenge_id):
            team = team_for_user(user=request.user, challenge=phase.track.challenge_id)
            rows = [r for r in rows if team is not None and r["team_id"] == team.pk]
        return Response(rows)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={200: _ROWS})
    def post(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        files = {name: data.validated_data.get(name) for name in ("factsheet", "code_archive")}
        try:
            team_documents_submit(
                phase=phase,
                user=request.user,
                factsheet=files["factsheet"].chunks() if files["factsheet"] else None,
                code_archive=files["code_archive"].chunks() if files["code_archive"] else None,
                code_url=data.validated_data.get("code_url"),
                extra_data=data.validated_data.get("extra_data"),
            )
        finally:
            for upload in files.values():
                if upload is not None:
                    upload.close()
        team = team_for_user(user=request.user, challenge=phase.track.challenge_id)
        return Response([r for r in phase_completeness(phase=phase) if r["team_id"] == team.pk])


class LeaderboardConfidenceApi(APIView):
    """Rank confidence of one board: per ranked row the viewer sees, the 95 % rank interval over 1000
    paired bootstrap resamples of the test images and the paired test against the row above."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, phase_id: int, board: str):
        from restorebench.leaderboards.confidence import LEVEL, RESAMPLES, board_confidence

        phase = _phase_or_404(request, phase_id)
        shown = _board(request, phase, board)
        confidence = board_confidence(phase=phase, board=shown)
        rows = [
            {"submission_id": row.submission_id, **confidence[row.submission_id]}
            for row in shown.rows
            if row.submission_id in confidence
        ]
        return Response(
            {"board": shown.slug, "resamples": RESAMPLES, "level": LEVEL, "seed": phase.pk, "rows": rows}
        )
