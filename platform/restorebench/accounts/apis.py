"""REST views for sign-up, API tokens, the current user, teams and track entry (one view per operation)."""

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from restorebench.accounts import selectors, services
from restorebench.accounts.models import Team
from restorebench.accounts.throttling import sign_in_wait, sign_up_wait
from restorebench.challenges.selectors import challenge_get, challenge_list


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    challenge = serializers.CharField(source="challenge.slug", read_only=True)
    members = serializers.SerializerMethodField()
    tracks = serializers.SerializerMethodField()

    def get_members(self, team: Team) -> list[str]:
        return [m.user.get_username() for m in selectors.team_members(team=team)]

    def get_tracks(self, team: Team) -> list[int]:
        return list(selectors.team_tracks(team=team).values_list("id", flat=True))


class TeamWithCodeSerializer(TeamOutputSerializer):
    join_code = serializers.CharField(help_text="Give it to teammates so they can join.")


class ThrottledSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why, and how many seconds to wait (also in Retry-After).")


class SignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(write_only=True)
        email = serializers.EmailField(required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, 429: ThrottledSerializer})
    def post(self, request):
        wait = sign_up_wait(request)
        if wait is not None:
            raise Throttled(wait=wait, detail="too many sign-ups from this address.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        token = services.token_get_or_create(user=user)
        return Response(
            self.OutputSerializer({"id": user.pk, "username": user.get_username(), "token": token.key}).data,
            status=status.HTTP_201_CREATED,
        )


class TokenObtainApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(write_only=True)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 429: ThrottledSerializer})
    def post(self, request):
        claimed = request.data.get("username") if isinstance(request.data, dict) else None
        wait = sign_in_wait(request, claimed if isinstance(claimed, str) else None)
        if wait is not None:
            raise Throttled(wait=wait, detail="too many sign-in attempts for this account or address.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            return Response({"detail": "wrong username or password"}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"token": services.token_get_or_create(user=user).key})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        teams = TeamOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        teams = Team.objects.filter(memberships__user=request.user).select_related("challenge")
        return Response(
            self.OutputSerializer(
                {"id": request.user.pk, "username": request.user.get_username(), "teams": teams}
            ).data
        )


class TeamCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(request=InputSerializer, responses={201: TeamWithCodeSerializer})
    def post(self, request, slug: str):
        challenge = challenge_get(user=request.user, slug=slug)
        if challenge is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(challenge=challenge, name=data.validated_data["name"], user=request.user)
        return Response(TeamWithCodeSerializer(team).data, status=status.HTTP_201_CREATED)


class TeamMineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TeamWithCodeSerializer)
    def get(self, request, slug: str):
        challenge = challenge_get(user=request.user, slug=slug)
        team = challenge and selectors.team_for_user(user=request.user, challenge=challenge)
        if team is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(TeamWithCodeSerializer(team).data)


class TeamJoinApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        join_code = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: TeamOutputSerializer})
    def post(self, request, team_id: int):
        team = get_object_or_404(Team, pk=team_id, challenge__in=challenge_list(user=request.user))
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.team_join(team=team, user=request.user, join_code=data.validated_data["join_code"])
        return Response(TeamOutputSerializer(team).data, status=status.HTTP_201_CREATED)


class TrackEnterApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        track = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: TeamOutputSerializer})
    def post(self, request, team_id: int):
        team = get_object_or_404(Team, pk=team_id, memberships__user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = get_object_or_404(team.challenge.tracks, pk=data.validated_data["track"])
        services.track_enter(team=team, track=track)
        return Response(TeamOutputSerializer(team).data, status=status.HTTP_201_CREATED)
