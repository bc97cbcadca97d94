"""REST views for submissions: direct and chunked uploads (zips of images, or models with their
manifest), status and scores, the team's choice, and the organizer actions (cancel, disqualify,
rescore, identical submissions, platform problems).

A submission the viewer may not see is 404, never 403: ids of other teams' submissions reveal nothing.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from restorebench.challenges.selectors import challenge_get, phase_get, user_is_organizer
from restorebench.leaderboards.selectors import identical_submission_groups, rescore_changes
from restorebench.submissions import selectors, services
from restorebench.submissions.models import Rescore, Submission, UploadSession


class SubmissionOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", default=None)
    challenge = serializers.CharField(source="phase.track.challenge.slug")
    track = serializers.IntegerField(source="phase.track_id")
    evaluation = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id", "challenge", "track", "phase", "team", "is_reference", "kind", "method_name", "description",
            "runtime_per_mp", "archive_bytes", "sha256", "image_count", "status", "failure_kind",
            "failure_reason", "counts_toward_limits", "scores", "scored_at", "is_chosen", "disqualified",
            "disqualified_reason", "created_at", "evaluation", "model",
        ]  # fmt: skip

    def get_model(self, submission: Submission) -> dict | None:
        return selectors.submission_model_summary(submission=submission)

    def get_evaluation(self, submission: Submission) -> dict:
        return selectors.submission_progress(submission=submission)

    def get_scores(self, submission: Submission) -> dict | None:
        # Without a viewer in the context, show what an anonymous participant may see (rounded).
        user = self.context.get("user") or AnonymousUser()
        return selectors.submission_scores_for_viewer(user=user, submission=submission)


def _out(submission: Submission, request) -> dict:
    return SubmissionOutputSerializer(submission, context={"user": request.user}).data


def _submission_or_404(request, submission_id: int) -> Submission:
    submission = selectors.submission_get(user=request.user, submission_id=submission_id)
    if submission is None:
        raise Http404
    return submission


def _phase_or_404(request, phase_id: int):
    phase = phase_get(user=request.user, phase_id=phase_id)
    if phase is None:
        raise Http404
    return phase


def _require_organizer(request, challenge_id: int) -> None:
    if not user_is_organizer(user=request.user, challenge=challenge_id):
        raise PermissionDenied("only this challenge's organizers can do this")


def _early_user(view: APIView, request) -> AbstractBaseUser | None:
    """The caller, found without reading the request's body: by token (a header) or by the session
    (a cookie). DRF's own SessionAuthentication checks CSRF, which parses a POST body (spooling its
    files to disk); a refusal changes nothing, so it needs no CSRF check. None when not known."""
    for authenticator in view.get_authenticators():
        if isinstance(authenticator, SessionAuthentication):
            user = getattr(request._request, "user", None)
            if user is not None and user.is_authenticated and user.is_active:
                return user
            continue
        try:
            found = authenticator.authenticate(request)
        except APIException:
            return None
        if found is not None:
            return found[0]
    return None


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class RefusedBeforeBodyMixin:
    """Refuse a submission that cannot succeed (no team, no track entry, phase not open, limits used
    up, Content-Length over the phase's limit) before DRF authenticates and parses the request, so
    its body is never read or spooled. The service checks all of it again once the body is in."""

    def max_bytes(self, phase) -> int:
        return phase.max_upload_bytes

    def initial(self, request, *args, **kwargs):
        user = _early_user(self, request)
        if user is not None:
            phase = phase_get(user=user, phase_id=kwargs["phase_id"])
            if phase is None:
                raise Http404
            services.submission_admission_check(
                phase=phase,
                user=user,
                content_length=_content_length(request),
                max_bytes=self.max_bytes(phase),
            )
        super().initial(request, *args, **kwargs)


def _create_from_upload(
    request, phase_id: int, serializer_class: type, create: Callable[..., Submission], *, upload_argument: str
) -> Response:
    """Validate a one-request multipart upload (`file` plus the serializer's fields) and hand the file's
    chunks to the `create` service under `upload_argument`; 201 with the new submission."""
    phase = _phase_or_404(request, phase_id)
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    upload = fields.pop("file")
    fields[upload_argument] = services.UploadedChunks(upload)
    try:
        submission = create(phase=phase, user=request.user, **fields)
    finally:
        upload.close()
    return Response(_out(submission, request), status=status.HTTP_201_CREATED)


class SubmissionCreateApi(RefusedBeforeBodyMixin, APIView):
    """Upload a zip of restored images in one request (multipart field `file`). For large result
    sets use the chunked upload endpoints instead."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        method_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        runtime_per_mp = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: SubmissionOutputSerializer}
    )
    def post(self, request, phase_id: int):
        return _create_from_upload(
            request, phase_id, self.InputSerializer, services.submission_create, upload_argument="archive"
        )


class SubmissionModelCreateApi(RefusedBeforeBodyMixin, APIView):
    """Submit a model instead of images (multipart: `file`, the ONNX or safetensors file, and
    `manifest`, a JSON object; see docs/model_submissions.md). The worker runs it in the sandbox on
    the phase's inputs and scores its outputs. For large models use the chunked upload endpoints and
    pass `manifest` when completing."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        manifest = serializers.CharField(help_text="The model manifest, a JSON object.")
        method_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")

    def max_bytes(self, phase) -> int:
        return services.model_max_bytes(phase)

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: SubmissionOutputSerializer}
    )
    def post(self, request, phase_id: int):
        return _create_from_upload(
            request, phase_id, self.InputSerializer, services.submission_create_model, upload_argument="model"
        )


class SubmissionListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("phase", int, required=False)],
        responses=SubmissionOutputSerializer(many=True),
    )
    def get(self, request):
        phase = None
        if request.query_params.get("phase"):
            try:
                phase = _phase_or_404(request, int(request.query_params["phase"]))
            except ValueError as error:
                raise Http404 from error
        submissions = selectors.submission_list(user=request.user, phase=phase)[:500]
        return Response([_out(s, request) for s in submissions])


class PhaseSubmissionListApi(APIView):
    """Every submission of a phase: organizers only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=SubmissionOutputSerializer(many=True))
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        _require_organizer(request, phase.track.challenge_id)
        submissions = selectors.submission_list(user=request.user, phase=phase, mine_only=False)
        return Response([_out(s, request) for s in submissions])


class SubmissionDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=SubmissionOutputSerializer)
    def get(self, request, submission_id: int):
        return Response(_out(_submission_or_404(request, submission_id), request))


class SubmissionScoresApi(APIView):
    """Per-image scores. Not available to participants in a hidden-ground-truth phase (403)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        submission = serializers.IntegerField()
        metrics = serializers.ListField(child=serializers.CharField())
        images = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request, submission_id: int):
        submission = _submission_or_404(request, submission_id)
        if not selectors.submission_can_see_image_scores(user=request.user, submission=submission):
            raise PermissionDenied("per-image scores of a hidden test phase are not shown to participants")
        images = selectors.submission_image_table(submission=submission)
        metrics = sorted({m for row in images for m in row if m != "image"})
        return Response({"submission": submission.pk, "metrics": metrics, "images": images})


class SubmissionChooseApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=SubmissionOutputSerializer)
    def post(self, request, submission_id: int):
        submission = _submission_or_404(request, submission_id)
        submission = services.submission_choose(submission=submission, user=request.user)
        return Response(_out(submission, request))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class SubmissionCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReasonSerializer, responses=SubmissionOutputSerializer)
    def post(self, request, submission_id: int):
        submission = _submission_or_404(request, submission_id)
        _require_organizer(request, submission.phase.track.challenge_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.submission_cancel(
            submission=submission, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_out(submission, request))


class SubmissionDisqualifyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReasonSerializer, responses=SubmissionOutputSerializer)
    def post(self, request, submission_id: int):
        submission = _submission_or_404(request, submission_id)
        _require_organizer(request, submission.phase.track.challenge_id)
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.submission_disqualify(
            submission=submission, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_out(submission, request))


class UploadOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = UploadSession
        fields = [
            "id",
            "phase",
            "filename",
            "total_bytes",
            "sha256",
            "received_bytes",
            "status",
            "submission",
            "error",
            "created_at",
            "updated_at",
        ]


class UploadCreateApi(APIView):
    """Start a resumable upload: declare the size and SHA-256 of the zip, then PUT its chunks."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        filename = serializers.CharField(max_length=255)
        total_bytes = serializers.IntegerField(min_value=1)
        sha256 = serializers.CharField(min_length=64, max_length=64)

    @extend_schema(request=InputSerializer, responses={201: UploadOutputSerializer})
    def post(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.upload_session_create(phase=phase, user=request.user, **data.validated_data)
        return Response(UploadOutputSerializer(session).data, status=status.HTTP_201_CREATED)


def _session_or_404(request, upload_id) -> UploadSession:
    session = selectors.upload_session_get(user=request.user, session_id=upload_id)
    if session is None:
        raise Http404
    return session


class UploadDetailApi(APIView):
    """Where an upload stands: resume by sending the chunk that starts at `received_bytes`."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UploadOutputSerializer)
    def get(self, request, upload_id):
        return Response(UploadOutputSerializer(_session_or_404(request, upload_id)).data)


class UploadChunkApi(APIView):
    """Append raw bytes (the request body) at `?offset=`; the offset must equal `received_bytes`."""

    permission_classes = [IsAuthenticated]
    parser_classes: list = []  # the body is read as a stream, never parsed or held in memory

    @extend_schema(
        parameters=[OpenApiParameter("offset", int, required=True)],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses=UploadOutputSerializer,
    )
    def put(self, request, upload_id):
        # Every refusal here comes before the body is read (a PUT's CSRF check does not read it).
        session = _session_or_404(request, upload_id)
        try:
            offset = int(request.query_params.get("offset", ""))
        except ValueError:
            return Response({"detail": "query parameter offset (an integer) is required"}, status=400)
        length = _content_length(request) or 0
        if length > settings.RESTOREBENCH_UPLOAD_CHUNK_MAX_BYTES:
            return Response(
                {
                    "detail": f"chunk too large: at most {settings.RESTOREBENCH_UPLOAD_CHUNK_MAX_BYTES:,} "
                    "bytes per request"
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if length > session.total_bytes - session.received_bytes:
            return Response(
                {
                    "detail": f"chunk goes past the declared size of {session.total_bytes:,} bytes: "
                    f"{length:,} bytes at offset {offset:,}"
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        session = services.upload_session_append(session=session, offset=offset, data=request._request)
        return Response(UploadOutputSerializer(session).data)


class UploadCompleteApi(APIView):
    """Check the assembled file's size and SHA-256 and submit it."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        method_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        runtime_per_mp = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
        # A JSON object, or the same as text; given, the upload is a model with this manifest.
        manifest = serializers.JSONField(required=False, default=None, allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: SubmissionOutputSerializer})
    def post(self, request, upload_id):
        session = _session_or_404(request, upload_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.upload_session_complete(
            session=session, user=request.user, **data.validated_data
        )
        return Response(_out(submission, request), status=status.HTTP_201_CREATED)


class UploadAbortApi(APIView):
    """Stop an upload and delete the data it received; 409 once it is being completed or complete."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=UploadOutputSerializer)
    def post(self, request, upload_id):
        session = services.upload_session_abort(session=_session_or_404(request, upload_id))
        return Response(UploadOutputSerializer(session).data)


class PhaseRescoreApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        _require_organizer(request, phase.track.challenge_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rescore = services.phase_rescore(
            phase=phase, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(rescore_changes(rescore=rescore), status=status.HTTP_202_ACCEPTED)


class RescoreDetailApi(APIView):
    """What a rescore changed: rank and score before and after, per leaderboard row."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, rescore_id: int):
        rescore = Rescore.objects.select_related("phase", "phase__track").filter(pk=rescore_id).first()
        if rescore is None or not user_is_organizer(
            user=request.user, challenge=rescore.phase.track.challenge_id
        ):
            raise Http404
        return Response(rescore_changes(rescore=rescore))


class IdenticalSubmissionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, phase_id: int):
        phase = _phase_or_404(request, phase_id)
        _require_organizer(request, phase.track.challenge_id)
        return Response({"phase": phase.pk, "groups": identical_submission_groups(phase=phase)})


class EvaluationProblemsApi(APIView):
    """Evaluation jobs that hit platform errors in a challenge (failed, or waiting to be retried)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        job = serializers.IntegerField(source="id")
        submission = serializers.IntegerField(source="submission_id")
        team = serializers.CharField(source="submission.team.name", default=None)
        phase = serializers.IntegerField(source="submission.phase_id")
        status = serializers.CharField()
        attempts = serializers.IntegerField()
        max_attempts = serializers.IntegerField()
        error_message = serializers.CharField()
        created_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, slug: str):
        challenge = challenge_get(user=request.user, slug=slug)
        if challenge is None:
            raise Http404
        _require_organizer(request, challenge.pk)
        jobs = selectors.evaluation_problem_list(challenge_id=challenge.pk)[:500]
        return Response(self.OutputSerializer(jobs, many=True).data)
