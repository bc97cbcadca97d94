"""The site's pages. Each view looks things up with the platform's selectors, calls a service for any
change, and renders a template; who may see what is decided by the selectors (a submission of
another team is "not found", as in the API)."""

import json
import uuid
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from benchdata.tasks import list_tasks
from restorebench.accounts import services as accounts
from restorebench.accounts.selectors import team_for_user, team_members
from restorebench.accounts.throttling import sign_in_wait, sign_up_wait
from restorebench.challenges.models import Phase
from restorebench.challenges.selectors import (
    challenge_get,
    challenge_list,
    phase_get,
    track_get,
    user_is_organizer,
)
from restorebench.submissions import selectors as submissions
from restorebench.submissions import services as submitting
from restorebench.submissions.models import Submission
from restorebench.web import selectors
from restorebench.web.forms import (
    ModelSubmissionForm,
    SignupForm,
    SubmissionForm,
    TeamCreateForm,
    TeamJoinForm,
    add_service_errors,
)


def _next_or(request: HttpRequest, default: str) -> str:
    """Where to go after a form: the `next` field when it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _or_404(value):
    if value is None:
        raise Http404
    return value


def home(request: HttpRequest) -> HttpResponse:
    challenges = challenge_list(user=request.user).prefetch_related("tracks")
    tasks = [t.label for t in list_tasks()]
    return render(request, "web/home.html", {"challenges": challenges, "tasks": tasks})


def _too_many(request: HttpRequest, wait: int, what: str) -> HttpResponse:
    response = render(request, "web/too_many.html", {"what": what, "wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    """Django's sign-in page, with attempts counted per client address and per account name."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = sign_in_wait(request, request.POST.get("username"))
        if wait is not None:
            return _too_many(request, wait, "sign-in attempts for this account or from this address")
        return super().post(request, *args, **kwargs)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    if request.method == "POST":
        wait = sign_up_wait(request)
        if wait is not None:
            return _too_many(request, wait, "sign-ups from this address")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        # Show the service's objections too (name taken, weak password), not one problem per attempt.
        problems = accounts.user_signup_problems(
            username=form.data.get("username", ""), password=form.data.get("password", "")
        )
        for field, messages_ in problems.items():
            for message in messages_:
                if form.data.get(field) and message not in form.errors.get(field, []):
                    form.add_error(field, message)
    elif request.method == "POST":
        try:
            user = accounts.user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                email=form.cleaned_data["email"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, f"Welcome, {user.get_username()}. Join or create a team in a challenge."
            )
            return redirect(_next_or(request, reverse("web:home")))
    return render(request, "registration/signup.html", {"form": form})


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _or_404(challenge_get(user=request.user, slug=slug))
    view = selectors.challenge_view(challenge=challenge, user=request.user)
    return render(request, "web/challenge_detail.html", {"view": view, "challenge": challenge})


@login_required
def team(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _or_404(challenge_get(user=request.user, slug=slug))
    my_team = team_for_user(user=request.user, challenge=challenge)
    create_form = TeamCreateForm(request.POST if request.POST.get("action") == "create" else None)
    join_form = TeamJoinForm(request.POST if request.POST.get("action") == "join" else None)
    if request.method == "POST" and my_team is None:
        try:
            if create_form.is_bound and create_form.is_valid():
                my_team = accounts.team_create(
                    challenge=challenge, name=create_form.cleaned_data["name"], user=request.user
                )
                messages.success(
                    request, f"Team {my_team.name!r} created. Now enter the tracks you compete in."
                )
                return redirect("web:team", slug=challenge.slug)
            if join_form.is_bound and join_form.is_valid():
                found = selectors.team_by_join_code(
                    challenge=challenge, join_code=join_form.cleaned_data["join_code"]
                )
                if found is None:
                    join_form.add_error("join_code", "no team of this challenge has this join code")
                else:
                    accounts.team_join(
                        team=found, user=request.user, join_code=join_form.cleaned_data["join_code"]
                    )
                    messages.success(request, f"You joined team {found.name!r}.")
                    return redirect("web:team", slug=challenge.slug)
        except ValidationError as error:
            add_service_errors(create_form if create_form.is_bound else join_form, error)
    view = selectors.challenge_view(challenge=challenge, user=request.user)
    context = {
        "challenge": challenge,
        "view": view,
        "team": my_team,
        "members": team_members(team=my_team) if my_team else [],
        "create_form": create_form,
        "join_form": join_form,
        # The first track the team entered gets the steps (the track pages have them for every track).
        "start": next((selectors.getting_started(track=tv.track) for tv in view.tracks if tv.entered), None),
        "start_track": next((tv.track for tv in view.tracks if tv.entered), None),
    }
    return render(request, "web/team.html", context)


def track_detail(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _or_404(track_get(user=request.user, track_id=track_id))
    my_team = team_for_user(user=request.user, challenge=track.challenge_id)
    view = selectors.track_view(track=track, team=my_team)
    context = {
        "track": track,
        "challenge": track.challenge,
        "view": view,
        "team": my_team,
        "start": selectors.getting_started(track=track),
    }
    return render(request, "web/track_detail.html", context)


@login_required
@require_POST
def track_enter(request: HttpRequest, track_id: int) -> HttpResponse:
    track = _or_404(track_get(user=request.user, track_id=track_id))
    my_team = team_for_user(user=request.user, challenge=track.challenge_id)
    if my_team is None:
        messages.error(request, "Create or join a team of this challenge first.")
        return redirect("web:team", slug=track.challenge.slug)
    try:
        accounts.track_enter(team=my_team, track=track)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, f"Team {my_team.name!r} entered {track.title!r}.")
    return redirect(_next_or(request, reverse("web:track", args=[track.pk])))


def _upload_url_template(name: str) -> str:
    placeholder = uuid.UUID(int=0)
    return reverse(name, kwargs={"upload_id": placeholder}).replace(str(placeholder), "{id}")


def _submit_upload(
    request: HttpRequest,
    phase: Phase,
    form: forms.Form,
    create: Callable[..., Submission],
    *,
    file_field: str,
    upload_argument: str,
    fields: tuple[str, ...],
    success: str,
    extra: dict | None = None,
) -> HttpResponse | None:
    """Hand a valid submit form's file (as chunks), `fields` and `extra` to the `create` service: a
    redirect to the new submission, or None with the service's refusal added to the form."""
    upload = form.cleaned_data[file_field]
    try:
        submission = create(
            phase=phase,
            user=request.user,
            **{upload_argument: submitting.UploadedChunks(upload)},
            **{name: form.cleaned_data[name] for name in fields},
            **(extra or {}),
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    finally:
        upload.close()
    messages.success(request, success.format(pk=submission.pk))
    return redirect("web:submission", submission_id=submission.pk)


def _runtime_per_mp(seconds: float | None, phase: Phase) -> float | None:
    """The page asks seconds per image (the site's unit); the API stores seconds per megapixel."""
    megapixels = selectors.phase_megapixels_per_image(phase=phase)
    return None if seconds is None or not megapixels else seconds / megapixels


def _refused_before_body(request: HttpRequest, phase: Phase) -> HttpResponse | None:
    """The submit page's answer to a POST that cannot succeed (no team, no entry, phase not open,
    limits used up, Content-Length over the phase's limit), made without reading the body: the page
    with the reason, and the refusal's status code."""
    from restorebench.api_errors import status_of

    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = None
    try:
        submitting.submission_admission_check(
            phase=phase, user=request.user, content_length=length, max_bytes=phase.max_upload_bytes
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return _submit_page(request, phase, status=status_of(error))
    return None


# Exempt from the middleware's CSRF check, which reads a POST's body (spooling an uploaded file to
# disk) before the view runs: a POST that cannot succeed is answered unread, and the others are
# checked by `csrf_protect` before their body is used.
@csrf_exempt
@login_required
def submit(request: HttpRequest, phase_id: int) -> HttpResponse:
    phase = _or_404(phase_get(user=request.user, phase_id=phase_id))
    if request.method == "POST":
        refused = _refused_before_body(request, phase)
        if refused is not None:
            return refused
    return _submit_checked(request, phase)


# The model form's own element ids: both forms have a method name and a description, and a label must
# find its field.
_MODEL_FORM_IDS = "model_%s"


@csrf_protect
def _submit_checked(request: HttpRequest, phase: Phase) -> HttpResponse:
    is_model = request.method == "POST" and request.POST.get("kind") == "model"
    # The page has two forms (a zip of images, or a model); only the one sent is bound.
    form = SubmissionForm(*((None, None) if is_model else (request.POST or None, request.FILES or None)))
    model_form = ModelSubmissionForm(
        *((request.POST, request.FILES) if is_model else (None, None)), auto_id=_MODEL_FORM_IDS
    )
    if is_model and model_form.is_valid():
        done = _submit_upload(
            request,
            phase,
            model_form,
            submitting.submission_create_model,
            file_field="model_file",
            upload_argument="model",
            fields=("manifest", "method_name", "description"),
            success="Model submission #{pk} received; it is queued to be run and scored.",
        )
        if done is not None:
            return done
    if not is_model and request.method == "POST" and form.is_valid():
        done = _submit_upload(
            request,
            phase,
            form,
            submitting.submission_create,
            file_field="file",
            upload_argument="archive",
            fields=("method_name", "description"),
            success="Submission #{pk} received; it is queued for scoring.",
            extra={"runtime_per_mp": _runtime_per_mp(form.cleaned_data.get("runtime"), phase)},
        )
        if done is not None:
            return done
    return _submit_page(request, phase, form, model_form)


def _submit_page(
    request: HttpRequest,
    phase: Phase,
    form: forms.Form | None = None,
    model_form: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    track = phase.track
    my_team = team_for_user(user=request.user, challenge=track.challenge_id)
    view = selectors.track_view(track=track, team=my_team)
    state = selectors.phase_state(phase=phase)
    problems = []
    if my_team is None:
        problems.append("team")
    elif not view.entered:
        problems.append("track")
    if state != "open":
        problems.append(state)
    used = None
    if my_team is not None:
        today, total = submitting.submission_limits_used(team=my_team, phase=phase, now=timezone.now())
        used = {"today": today, "total": total}
    context = {
        "phase": phase,
        "track": track,
        "challenge": track.challenge,
        "team": my_team,
        "form": form or SubmissionForm(),
        "model_form": model_form or ModelSubmissionForm(auto_id=_MODEL_FORM_IDS),
        "problems": problems,
        "state": state,
        "used": used,
        "megapixels": selectors.phase_megapixels_per_image(phase=phase),
        "api": {
            "create": reverse("api-upload-create", args=[phase.pk]),
            "detail": _upload_url_template("api-upload-detail"),
            "chunk": _upload_url_template("api-upload-chunk"),
            "complete": _upload_url_template("api-upload-complete"),
            "submission_page": reverse("web:submission", args=[0]).replace("/0/", "/{id}/"),
        },
    }
    return render(request, "web/submit.html", context, status=status)


def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    # Public for baselines (anyone who may see the challenge); a team's submission needs its members.
    submission = submissions.submission_get(user=request.user, submission_id=submission_id)
    if submission is None and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    submission = _or_404(submission)
    phase = submission.phase
    scores = submissions.submission_scores_for_viewer(user=request.user, submission=submission) or {}
    ranked = [m["metric"] for m in phase.track.ranking_metrics]
    metrics = ranked + sorted(m for m in scores if m not in ranked)
    is_organizer = user_is_organizer(user=request.user, challenge=phase.track.challenge_id)
    can_see_images = submissions.submission_can_see_image_scores(
        user=request.user, submission=submission, organizer=is_organizer
    )
    images = []
    image_metrics: list[str] = []
    if can_see_images and submission.scores is not None:
        table = submissions.submission_image_table(submission=submission)
        present = {key for row in table for key in row if key != "image"}
        image_metrics = [m for m in metrics if m in present] + sorted(present - set(metrics))
        images = [{"image": row["image"], "values": [row.get(m) for m in image_metrics]} for row in table]
    is_member = submission.team is not None and submission.team.memberships.filter(user=request.user).exists()
    model = submissions.submission_model_summary(submission=submission)
    if model is not None:
        model["manifest_json"] = json.dumps(model["manifest"], sort_keys=True)
        for row in images:
            row["seconds"] = model["image_seconds"].get(row["image"])
    context = {
        "submission": submission,
        "phase": phase,
        "track": phase.track,
        "challenge": phase.track.challenge,
        "progress": submissions.submission_progress(submission=submission),
        "problem_groups": selectors.submission_problem_groups(submission=submission),
        "scores": [(m, scores.get(m)) for m in metrics if m in scores],
        "decimals": phase.score_decimals if phase.hidden_ground_truth else 4,
        "can_see_images": can_see_images,
        "images": images,
        "image_metrics": image_metrics,
        "can_choose": is_member and submission.status == "scored" and not submission.disqualified,
        "status_url": reverse("api-submission-detail", args=[submission.pk]),
        "model": model,
        "is_organizer": is_organizer,
        "reported_runtime": selectors.seconds_per_image(
            measured=None,
            reported_per_mp=submission.runtime_per_mp,
            megapixels=selectors.phase_megapixels_per_image(phase=phase),
        )[0],
    }
    return render(request, "web/submission_detail.html", context)


@login_required
@require_POST
def submission_choose(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = _or_404(submissions.submission_get(user=request.user, submission_id=submission_id))
    try:
        submitting.submission_choose(submission=submission, user=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, f"Submission #{submission.pk} now represents your team on the leaderboard.")
    return redirect(_next_or(request, reverse("web:submission", args=[submission.pk])))


@login_required
def my_submissions(request: HttpRequest) -> HttpResponse:
    phase = None
    if request.GET.get("phase", "").isdigit():
        phase = _or_404(phase_get(user=request.user, phase_id=int(request.GET["phase"])))
    # Only what the page shows: each join more costs PostgreSQL planning time on every view.
    listing = submissions.submission_list(user=request.user, phase=phase)
    listing = listing.select_related(None).select_related("team", "phase__track")[:300]
    return render(request, "web/submission_list.html", {"submissions": listing, "phase": phase})


def phase_plots(request: HttpRequest, phase_id: int) -> HttpResponse:
    from restorebench.leaderboards.figures import phase_figures

    phase = _or_404(phase_get(user=request.user, phase_id=phase_id))
    context = {
        "phase": phase,
        "track": phase.track,
        "challenge": phase.track.challenge,
        "figures": phase_figures(phase=phase, user=request.user),
    }
    return render(request, "web/plots.html", context)
