"""The REST API's URL map (mounted at /api/ by restorebench.urls)."""

from django.urls import path

from restorebench.accounts import apis as accounts
from restorebench.challenges import apis as challenges
from restorebench.leaderboards import apis as leaderboards
from restorebench.submissions import apis as submissions

urlpatterns = [
    # accounts
    path("auth/signup/", accounts.SignupApi.as_view(), name="api-signup"),
    path("auth/token/", accounts.TokenObtainApi.as_view(), name="api-token"),
    path("auth/me/", accounts.MeApi.as_view(), name="api-me"),
    path("challenges/<slug:slug>/teams/create/", accounts.TeamCreateApi.as_view(), name="api-team-create"),
    path("challenges/<slug:slug>/teams/mine/", accounts.TeamMineApi.as_view(), name="api-team-mine"),
    path("teams/<int:team_id>/join/", accounts.TeamJoinApi.as_view(), name="api-team-join"),
    path("teams/<int:team_id>/tracks/enter/", accounts.TrackEnterApi.as_view(), name="api-track-enter"),
    # challenges, tracks, phases
    path("challenges/", challenges.ChallengeListApi.as_view(), name="api-challenge-list"),
    path("challenges/create/", challenges.ChallengeCreateApi.as_view(), name="api-challenge-create"),
    path("challenges/<slug:slug>/", challenges.ChallengeDetailApi.as_view(), name="api-challenge-detail"),
    path(
        "challenges/<slug:slug>/update/", challenges.ChallengeUpdateApi.as_view(), name="api-challenge-update"
    ),
    path(
        "challenges/<slug:slug>/organizers/add/",
        challenges.OrganizerAddApi.as_view(),
        name="api-organizer-add",
    ),
    path("challenges/<slug:slug>/audit-log/", challenges.AuditLogApi.as_view(), name="api-audit-log"),
    path(
        "challenges/<slug:slug>/tracks/create/", challenges.TrackCreateApi.as_view(), name="api-track-create"
    ),
    path(
        "challenges/<slug:slug>/evaluation-problems/",
        submissions.EvaluationProblemsApi.as_view(),
        name="api-evaluation-problems",
    ),
    path("tracks/<int:track_id>/", challenges.TrackDetailApi.as_view(), name="api-track-detail"),
    path("tracks/<int:track_id>/update/", challenges.TrackUpdateApi.as_view(), name="api-track-update"),
    path(
        "tracks/<int:track_id>/phases/create/", challenges.PhaseCreateApi.as_view(), name="api-phase-create"
    ),
    path("phases/<int:phase_id>/", challenges.PhaseDetailApi.as_view(), name="api-phase-detail"),
    path("phases/<int:phase_id>/update/", challenges.PhaseUpdateApi.as_view(), name="api-phase-update"),
    path(
        "phases/<int:phase_id>/inputs.zip",
        challenges.PhaseInputsDownloadApi.as_view(),
        name="api-phase-inputs",
    ),
    path(
        "phases/<int:phase_id>/ground-truth.zip",
        challenges.PhaseGroundTruthDownloadApi.as_view(),
        name="api-phase-ground-truth",
    ),
    path(
        "phases/<int:phase_id>/scoring-spec.json",
        challenges.PhaseScoringSpecApi.as_view(),
        name="api-phase-scoring-spec",
    ),
    path(
        "phases/<int:phase_id>/data/", challenges.PhaseDataUploadApi.as_view(), name="api-phase-data-upload"
    ),
    # submissions
    path(
        "phases/<int:phase_id>/submissions/create/",
        submissions.SubmissionCreateApi.as_view(),
        name="api-submission-create",
    ),
    path(
        "phases/<int:phase_id>/submissions/model/",
        submissions.SubmissionModelCreateApi.as_view(),
        name="api-submission-model-create",
    ),
    path(
        "phases/<int:phase_id>/submissions/",
        submissions.PhaseSubmissionListApi.as_view(),
        name="api-phase-submissions",
    ),
    path(
        "phases/<int:phase_id>/uploads/create/",
        submissions.UploadCreateApi.as_view(),
        name="api-upload-create",
    ),
    path("phases/<int:phase_id>/rescore/", submissions.PhaseRescoreApi.as_view(), name="api-phase-rescore"),
    path(
        "phases/<int:phase_id>/identical/",
        submissions.IdenticalSubmissionsApi.as_view(),
        name="api-identical",
    ),
    path("submissions/", submissions.SubmissionListApi.as_view(), name="api-submission-list"),
    path(
        "submissions/<int:submission_id>/",
        submissions.SubmissionDetailApi.as_view(),
        name="api-submission-detail",
    ),
    path(
        "submissions/<int:submission_id>/scores/",
        submissions.SubmissionScoresApi.as_view(),
        name="api-submission-scores",
    ),
    path(
        "submissions/<int:submission_id>/choose/",
        submissions.SubmissionChooseApi.as_view(),
        name="api-submission-choose",
    ),
    path(
        "submissions/<int:submission_id>/cancel/",
        submissions.SubmissionCancelApi.as_view(),
        name="api-submission-cancel",
    ),
    path(
        "submissions/<int:submission_id>/disqualify/",
        submissions.SubmissionDisqualifyApi.as_view(),
        name="api-submission-disqualify",
    ),
    path("uploads/<uuid:upload_id>/", submissions.UploadDetailApi.as_view(), name="api-upload-detail"),
    path("uploads/<uuid:upload_id>/chunk/", submissions.UploadChunkApi.as_view(), name="api-upload-chunk"),
    path(
        "uploads/<uuid:upload_id>/complete/",
        submissions.UploadCompleteApi.as_view(),
        name="api-upload-complete",
    ),
    path("uploads/<uuid:upload_id>/abort/", submissions.UploadAbortApi.as_view(), name="api-upload-abort"),
    path("rescores/<int:rescore_id>/", submissions.RescoreDetailApi.as_view(), name="api-rescore-detail"),
    # leaderboards
    path(
        "tracks/<int:track_id>/report.<str:fmt>",
        leaderboards.TrackReportApi.as_view(),
        name="api-track-report",
    ),
    path(
        "phases/<int:phase_id>/documents/",
        leaderboards.PhaseDocumentsApi.as_view(),
        name="api-phase-documents",
    ),
    path("phases/<int:phase_id>/reveal/", leaderboards.PhaseRevealApi.as_view(), name="api-phase-reveal"),
    path(
        "phases/<int:phase_id>/leaderboards/",
        leaderboards.LeaderboardListApi.as_view(),
        name="api-leaderboard-list",
    ),
    path(
        "phases/<int:phase_id>/leaderboards/<slug:board>/confidence/",
        leaderboards.LeaderboardConfidenceApi.as_view(),
        name="api-leaderboard-confidence",
    ),
    path(
        "phases/<int:phase_id>/leaderboards/<slug:board>/",
        leaderboards.LeaderboardBoardApi.as_view(),
        name="api-leaderboard-board",
    ),
    path(
        "phases/<int:phase_id>/leaderboards/<slug:board>.csv",
        leaderboards.LeaderboardBoardCsvApi.as_view(),
        name="api-leaderboard-board-csv",
    ),
    path(
        "phases/<int:phase_id>/leaderboards/<slug:board>.json",
        leaderboards.LeaderboardBoardJsonApi.as_view(),
        name="api-leaderboard-board-json",
    ),
    path("phases/<int:phase_id>/leaderboard/", leaderboards.LeaderboardApi.as_view(), name="api-leaderboard"),
    path(
        "phases/<int:phase_id>/leaderboard.csv",
        leaderboards.LeaderboardCsvApi.as_view(),
        name="api-leaderboard-csv",
    ),
]
