"""REST views for a phase's leaderboard, as JSON and as CSV, showing what the viewer may see."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from restorebench.challenges.selectors import phase_get
from restorebench.csv_export import csv_text
from restorebench.leaderboards.selectors import leaderboard_csv_rows, leaderboard_for_viewer


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


class LeaderboardSerializer(serializers.Serializer):
    phase = serializers.IntegerField()
    ranking = serializers.DictField()
    metrics = serializers.ListField(child=serializers.CharField())
    rounded_to = serializers.IntegerField(allow_null=True)
    restricted = serializers.BooleanField()
    rows = RowSerializer(many=True)


def _phase_or_404(request, phase_id: int):
    phase = phase_get(user=request.user, phase_id=phase_id)
    if phase is None:
        raise Http404
    return phase


class LeaderboardApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=LeaderboardSerializer)
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        # The board is already plain JSON data; serialising it again field by field would only cost time.
        return Response(leaderboard_for_viewer(phase=phase, user=request.user).as_dict())


class LeaderboardCsvApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        board = leaderboard_for_viewer(phase=phase, user=request.user)
        response = HttpResponse(csv_text(leaderboard_csv_rows(board)), content_type="text/csv; charset=utf-8")
        filename = f"{phase.track.challenge.slug}-{phase.track.slug}-{phase.slug}-leaderboard.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
