"""REST views for challenges, tracks, phases, organizers, the audit log and a phase's data: inputs,
public ground truth and scoring spec to download, organizer pairs to upload.

Reading is open to anyone who can see the challenge; creating a challenge needs a staff account;
changing one needs to be one of its organizers (403). Objects the viewer cannot see are 404.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from restorebench.challenges import phase_data, selectors, services
from restorebench.challenges.models import Challenge, Compute, Phase, RankingMethod, Task, Track


class PhaseOutputSerializer(serializers.ModelSerializer):
    image_count = serializers.SerializerMethodField()
    # False for a track judged by no-reference metrics alone: its phases have inputs and no ground truth.
    has_ground_truth = serializers.BooleanField(source="track.has_ground_truth", read_only=True)

    class Meta:
        model = Phase
        fields = [
            "id", "track", "slug", "title", "description", "starts_at", "ends_at", "max_submissions_per_day",
            "max_submissions_total", "leaderboard_public", "hidden_ground_truth", "score_decimals",
            "max_upload_bytes", "image_count", "order", "inputs_installed_at", "ground_truth_installed_at",
            "results_hidden", "reveal_at", "requires_factsheet", "requires_code", "max_team_size",
            "has_ground_truth",
        ]  # fmt: skip

    def get_image_count(self, phase: Phase) -> int:
        return len(phase.expected_images)


class TrackOutputSerializer(serializers.ModelSerializer):
    phases = PhaseOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Track
        fields = [
            "id", "challenge", "slug", "title", "description", "task", "degradation_spec", "scoring_spec",
            "ranking_method", "ranking_metrics", "leaderboards", "efficiency", "compute", "order", "phases",
        ]  # fmt: skip


class ChallengeOutputSerializer(serializers.ModelSerializer):
    tracks = TrackOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Challenge
        fields = ["id", "slug", "title", "description", "is_public", "created_at", "tracks"]


class ChallengeSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Challenge
        fields = ["id", "slug", "title", "description", "is_public", "created_at"]


def _validated(serializer: serializers.Serializer) -> dict:
    """The serializer's data, refusing fields it does not know (400 naming them) rather than
    silently dropping them: a data path sent by an old client is told where data comes from now."""
    sent = serializer.initial_data if hasattr(serializer.initial_data, "keys") else {}
    services.check_no_data_paths(sent)
    unknown = sorted(set(sent.keys()) - set(serializer.fields))
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _challenge_or_404(request, slug: str) -> Challenge:
    challenge = selectors.challenge_get(user=request.user, slug=slug)
    if challenge is None:
        raise Http404
    return challenge


def _require_organizer(request, challenge_id: int) -> None:
    if not selectors.user_is_organizer(user=request.user, challenge=challenge_id):
        raise PermissionDenied("only this challenge's organizers can do this")


class ChallengeListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ChallengeSummarySerializer(many=True))
    def get(self, request):
        return Response(
            ChallengeSummarySerializer(selectors.challenge_list(user=request.user), many=True).data
        )


class ChallengeDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ChallengeOutputSerializer)
    def get(self, request, slug: str):
        challenge = _challenge_or_404(request, slug)
        return Response(ChallengeOutputSerializer(challenge).data)


class ChallengeCreateApi(APIView):
    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        slug = serializers.SlugField(max_length=64)
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        is_public = serializers.BooleanField(required=False, default=True)

    @extend_schema(request=InputSerializer, responses={201: ChallengeOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(created_by=request.user, **data.validated_data)
        return Response(ChallengeOutputSerializer(challenge).data, status=status.HTTP_201_CREATED)


class ChallengeUpdateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        is_public = serializers.BooleanField(required=False)

    @extend_schema(request=InputSerializer, responses=ChallengeOutputSerializer)
    def patch(self, request, slug: str):
        challenge = _challenge_or_404(request, slug)
        _require_organizer(request, challenge.pk)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_update(challenge=challenge, actor=request.user, **data.validated_data)
        return Response(ChallengeOutputSerializer(challenge).data)


class OrganizerAddApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        challenge = _challenge_or_404(request, slug)
        _require_organizer(request, challenge.pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            return Response({"detail": "no such user"}, status=status.HTTP_400_BAD_REQUEST)
        services.challenge_organizer_add(challenge=challenge, user=user, actor=request.user)
        return Response({"challenge": challenge.slug, "organizer": user.get_username()}, status=201)


class AuditLogApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        actor = serializers.CharField(source="actor.username", default=None)
        action = serializers.CharField()
        target = serializers.CharField()
        details = serializers.JSONField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, slug: str):
        challenge = _challenge_or_404(request, slug)
        _require_organizer(request, challenge.pk)
        return Response(self.OutputSerializer(selectors.audit_log_list(challenge=challenge), many=True).data)


class TrackInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    task = serializers.ChoiceField(choices=Task.choices)
    degradation_spec = serializers.JSONField(required=False)
    scoring_spec = serializers.JSONField(required=False)
    ranking_method = serializers.ChoiceField(choices=RankingMethod.choices, required=False)
    ranking_metrics = serializers.JSONField(
        required=False, help_text='[{"metric": "psnr", "higher_is_better": true}, ...]'
    )
    ranking = serializers.JSONField(
        required=False,
        help_text='Several leaderboards, as in a bundle: {"leaderboards": [{"slug", "title", "score", '
        '"order", "gate", "per_image"} | {"slug", "title", "metrics"} | {"slug", "title", "combine"}]}',
    )
    efficiency = serializers.JSONField(
        required=False,
        help_text='{"input_size": [height, width]}: the model input at which model submissions\' FLOPs are '
        "counted (an sr track: the low-resolution input); default: the task's, 256 x 256",
    )
    compute = serializers.ChoiceField(choices=Compute.choices, required=False)
    order = serializers.IntegerField(required=False, min_value=0)


class TrackCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=TrackInputSerializer, responses={201: TrackOutputSerializer})
    def post(self, request, slug: str):
        challenge = _challenge_or_404(request, slug)
        _require_organizer(request, challenge.pk)
        fields = _validated(TrackInputSerializer(data=request.data))
        track = services.track_create(challenge=challenge, actor=request.user, **fields)
        return Response(TrackOutputSerializer(track).data, status=status.HTTP_201_CREATED)


class TrackDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=TrackOutputSerializer)
    def get(self, request, track_id: int):
        track = selectors.track_get(user=request.user, track_id=track_id)
        if track is None:
            raise Http404
        return Response(TrackOutputSerializer(track).data)


class TrackUpdateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(TrackInputSerializer):
        slug = None
        task = None

    @extend_schema(request=InputSerializer, responses=TrackOutputSerializer)
    def patch(self, request, track_id: int):
        track = selectors.track_get(user=request.user, track_id=track_id)
        if track is None:
            raise Http404
        _require_organizer(request, track.challenge_id)
        fields = _validated(self.InputSerializer(data=request.data, partial=True))
        track = services.track_update(track=track, actor=request.user, **fields)
        return Response(TrackOutputSerializer(track).data)


class PhaseInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    max_submissions_per_day = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    max_submissions_total = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    leaderboard_public = serializers.BooleanField(required=False)
    hidden_ground_truth = serializers.BooleanField(required=False)
    score_decimals = serializers.IntegerField(required=False, min_value=0, max_value=10)
    max_upload_bytes = serializers.IntegerField(required=False, min_value=1)
    results_hidden = serializers.BooleanField(
        required=False, help_text="Participants see no leaderboard until the results are revealed."
    )
    reveal_at = serializers.DateTimeField(required=False, allow_null=True)
    requires_factsheet = serializers.BooleanField(required=False)
    requires_code = serializers.BooleanField(required=False)
    max_team_size = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    expected_images = serializers.ListField(child=serializers.CharField(), required=False)
    order = serializers.IntegerField(required=False, min_value=0)


class PhaseCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PhaseInputSerializer, responses={201: PhaseOutputSerializer})
    def post(self, request, track_id: int):
        track = selectors.track_get(user=request.user, track_id=track_id)
        if track is None:
            raise Http404
        _require_organizer(request, track.challenge_id)
        fields = _validated(PhaseInputSerializer(data=request.data))
        phase = services.phase_create(track=track, actor=request.user, **fields)
        return Response(PhaseOutputSerializer(phase).data, status=status.HTTP_201_CREATED)


class PhaseDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PhaseOutputSerializer)
    def get(self, request, phase_id: int):
        phase = selectors.phase_get(user=request.user, phase_id=phase_id)
        if phase is None:
            raise Http404
        return Response(PhaseOutputSerializer(phase).data)


class PhaseUpdateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(PhaseInputSerializer):
        slug = None

    @extend_schema(request=InputSerializer, responses=PhaseOutputSerializer)
    def patch(self, request, phase_id: int):
        phase = selectors.phase_get(user=request.user, phase_id=phase_id)
        if phase is None:
            raise Http404
        _require_organizer(request, phase.track.challenge_id)
        fields = _validated(self.InputSerializer(data=request.data, partial=True))
        phase = services.phase_update(phase=phase, actor=request.user, **fields)
        return Response(PhaseOutputSerializer(phase).data)


class PhaseInputsDownloadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, phase_id: int):
        phase = selectors.phase_get(user=request.user, phase_id=phase_id)
        if phase is None:
            raise Http404
        try:
            path = phase_data.phase_inputs_archive(phase=phase)
        except FileNotFoundError as error:  # not installed, or refused by the confinement check
            raise Http404(str(error)) from error
        name = f"{phase.track.challenge.slug}-{phase.track.slug}-{phase.slug}-inputs.zip"
        return FileResponse(
            open(path, "rb"), as_attachment=True, filename=name, content_type="application/zip"
        )


def _phase_or_404(request, phase_id: int) -> Phase:
    phase = selectors.phase_get(user=request.user, phase_id=phase_id)
    if phase is None:
        raise Http404
    return phase


def _download_name(phase: Phase, what: str) -> str:
    return f"{phase.track.challenge.slug}-{phase.track.slug}-{phase.slug}-{what}"


class PhaseGroundTruthDownloadApi(APIView):
    """The phase's ground truth as a zip, only when the phase's ground truth is public (a development
    phase); hidden ground truth is a 404 for everyone."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        try:
            path = phase_data.phase_ground_truth_archive(phase=phase)
        except FileNotFoundError as error:
            raise Http404(str(error)) from error
        return FileResponse(
            open(path, "rb"),
            as_attachment=True,
            filename=_download_name(phase, "ground-truth.zip"),
            content_type="application/zip",
        )


class PhaseScoringSpecApi(APIView):
    """The exact scoring spec the workers use for this phase, for `python -m evaluator score PRED GT
    --spec SPEC.json` (docs/local_scoring.md)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        name = _download_name(phase, "scoring-spec.json")
        response = Response(selectors.phase_scoring_spec(phase=phase))
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class PhaseDataUploadApi(APIView):
    """Replace a phase's data with organizer pairs: multipart `file`, a zip holding `inputs/` and
    `ground_truth/` (docs/platform.md). Organizers of the phase's challenge only. Every problem is
    named in one 400 and nothing is stored then."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses=PhaseOutputSerializer)
    def post(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        _require_organizer(request, phase.track.challenge_id)  # before the body is read
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            phase = phase_data.phase_data_upload(
                phase=phase, archive=upload.chunks(1024 * 1024), actor=request.user
            )
        finally:
            upload.close()
        return Response(PhaseOutputSerializer(phase).data)
