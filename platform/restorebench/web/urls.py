"""The site's pages (mounted at the root by restorebench.urls)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from restorebench.web import compare, console, leaderboard_page, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="web:home"), name="logout"),
    path("challenges/<slug:slug>/", views.challenge_detail, name="challenge"),
    path("challenges/<slug:slug>/team/", views.team, name="team"),
    path("tracks/<int:track_id>/", views.track_detail, name="track"),
    path("tracks/<int:track_id>/enter/", views.track_enter, name="track-enter"),
    path("phases/<int:phase_id>/leaderboard/", leaderboard_page.leaderboard, name="leaderboard"),
    path("phases/<int:phase_id>/submit/", views.submit, name="submit"),
    path("phases/<int:phase_id>/plots/", views.phase_plots, name="plots"),
    path("submissions/", views.my_submissions, name="submissions"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
    path("submissions/<int:submission_id>/choose/", views.submission_choose, name="submission-choose"),
    path("submissions/<int:submission_id>/compare/", compare.compare_page, name="compare"),
    path(
        "submissions/<int:submission_id>/images/<str:stem>/<str:kind>.png",
        compare.submission_image,
        name="submission-image",
    ),
    # the organizer console
    path("challenges/<slug:slug>/organize/", console.console_home, name="console"),
    path("challenges/<slug:slug>/organize/audit-log/", console.audit_log, name="console-audit-log"),
    path("challenges/<slug:slug>/organize/problems/", console.evaluation_problems, name="console-problems"),
    path("phases/<int:phase_id>/organize/rescore/", console.phase_rescore, name="console-rescore"),
    path("rescores/<int:rescore_id>/", console.rescore_detail, name="rescore"),
    path(
        "submissions/<int:submission_id>/organize/<str:action>/",
        console.submission_action,
        name="console-submission-action",
    ),
    path("organize/bundle/", console.bundle_upload, name="console-bundle"),
]
