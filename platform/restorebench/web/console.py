"""The organizer console: what an organizer does after loading a bundle, in the browser.

Per challenge (its organizers only; everyone else gets a 404, as for anything not theirs): per-phase
analytics, rescore with the before/after diff, the audit log, the evaluation problems; per submission:
disqualify / requalify with a reason, cancel. Staff: upload a bundle, validated first with every
problem shown against its line, then loaded. Every change goes through the services (audit-logged).
"""

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from restorebench.bundles.schema import BundleError
from restorebench.bundles.services import bundle_load, bundle_read
from restorebench.bundles.source import format_path
from restorebench.challenges.models import Challenge, Phase
from restorebench.challenges.selectors import challenge_get, phase_get, user_is_organizer
from restorebench.leaderboards.selectors import rescore_changes
from restorebench.submissions import selectors as submissions
from restorebench.submissions import services as submitting
from restorebench.submissions.models import Rescore
from restorebench.web import console_selectors as console

MAX_BUNDLE_BYTES = 1024**2


def _organized_challenge(request: HttpRequest, slug: str) -> Challenge:
    challenge = challenge_get(user=request.user, slug=slug)
    if challenge is None or not user_is_organizer(user=request.user, challenge=challenge):
        raise Http404
    return challenge


def _organized_phase(request: HttpRequest, phase_id: int) -> Phase:
    phase = phase_get(user=request.user, phase_id=phase_id)
    if phase is None or not user_is_organizer(user=request.user, challenge=phase.track.challenge_id):
        raise Http404
    return phase


@login_required
def console_home(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _organized_challenge(request, slug)
    context = {"challenge": challenge, "tracks": console.challenge_console(challenge=challenge)}
    return render(request, "web/console/home.html", context)


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _organized_challenge(request, slug)
    entries = console.audit_log_page(challenge=challenge)
    return render(request, "web/console/audit_log.html", {"challenge": challenge, "entries": entries})


@login_required
def evaluation_problems(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _organized_challenge(request, slug)
    jobs = console.evaluation_problems_page(challenge=challenge)
    return render(request, "web/console/problems.html", {"challenge": challenge, "jobs": jobs})


@login_required
@require_POST
def phase_rescore(request: HttpRequest, phase_id: int) -> HttpResponse:
    phase = _organized_phase(request, phase_id)
    rescore = submitting.phase_rescore(phase=phase, actor=request.user, reason=request.POST.get("reason", ""))
    messages.success(
        request, f"Rescoring {phase.track.title} / {phase.title}: the changes appear below as jobs finish."
    )
    return redirect("web:rescore", rescore_id=rescore.pk)


@login_required
def rescore_detail(request: HttpRequest, rescore_id: int) -> HttpResponse:
    rescore = (
        Rescore.objects.select_related("phase", "phase__track", "phase__track__challenge")
        .filter(pk=rescore_id)
        .first()
    )
    if rescore is None or not user_is_organizer(
        user=request.user, challenge=rescore.phase.track.challenge_id
    ):
        raise Http404
    changes = rescore_changes(rescore=rescore)
    context = {"rescore": rescore, "phase": rescore.phase, "challenge": rescore.phase.track.challenge,
               "changes": changes}  # fmt: skip
    return render(request, "web/console/rescore.html", context)


_ACTIONS = {  # each service audit-logs the action with its reason
    "disqualify": submitting.submission_disqualify,
    "requalify": submitting.submission_requalify,
    "cancel": submitting.submission_cancel,
}


@login_required
@require_POST
def submission_action(request: HttpRequest, submission_id: int, action: str) -> HttpResponse:
    submission = submissions.submission_get(user=request.user, submission_id=submission_id)
    if (
        submission is None
        or action not in _ACTIONS
        or not user_is_organizer(user=request.user, challenge=submission.phase.track.challenge_id)
    ):
        raise Http404
    reason = request.POST.get("reason", "").strip()
    try:
        _ACTIONS[action](submission=submission, actor=request.user, reason=reason)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, f"Submission {submission.pk}: {action} done.")
    return redirect("web:submission", submission_id=submission.pk)


def _bundle_problems(error: BundleError, folder: str) -> list[dict]:
    """Each problem with its line and field; the temporary folder never shows (no server paths)."""
    out = []
    for problem in error.problems:
        where = format_path(problem.path)
        message = f"{where}: {problem.message}" if where else str(problem.message)
        out.append({"line": problem.line, "message": message.replace(folder + "/", "").replace(folder, "")})
    return out


@login_required
def bundle_upload(request: HttpRequest) -> HttpResponse:
    """Staff: upload a bundle (YAML); "Validate" shows every problem against its line, "Load" creates it."""
    if not request.user.is_staff:
        raise Http404
    context: dict = {"problems": None, "lines": [], "text": ""}
    if request.method == "POST":
        upload = request.FILES.get("bundle")
        text = request.POST.get("text", "")
        if upload is not None:
            if upload.size > MAX_BUNDLE_BYTES:
                context["problems"] = [{"line": None, "message": f"{upload.name}: larger than 1 MiB"}]
                return render(request, "web/console/bundle.html", context, status=400)
            text = upload.read().decode("utf-8", errors="replace")
        name = Path(upload.name).name if upload is not None else request.POST.get("name", "bundle.yaml")
        context.update(text=text, name=name)
        with tempfile.TemporaryDirectory(prefix="rb-bundle-") as folder:
            path = Path(folder) / (Path(name).name or "bundle.yaml")
            path.write_text(text, encoding="utf-8")
            try:
                if request.POST.get("action") == "load":
                    result = bundle_load(path=path, actor=request.user)
                    messages.success(request, result.message)
                    return redirect("web:console", slug=result.challenge.slug)
                bundle_read(path)
            except BundleError as error:
                context["problems"] = _bundle_problems(error, folder)
            else:
                context["problems"] = []
        bad_lines = {p["line"] for p in context["problems"] or [] if p["line"]}
        context["lines"] = [
            {"number": i, "text": line, "bad": i in bad_lines} for i, line in enumerate(text.splitlines(), 1)
        ]
        return render(request, "web/console/bundle.html", context, status=400 if context["problems"] else 200)
    return render(request, "web/console/bundle.html", context)
