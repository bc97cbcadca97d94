"""The comparison viewer: input / restored / ground truth side by side and as a before/after slider,
with synchronised zoom and pan to 1:1 pixels, and the error map (static/restorebench/compare.js).

Who sees what: whoever may see the submission (its team, the organizers, anyone for a baseline where
the challenge is visible) sees its input and restored images; the ground truth and the error map
(derived from it) only organizers, or anyone when the phase's ground truth is public. In a hidden
phase a participant's page holds no ground-truth URL at all, and the image view refuses them. A track
without ground truth shows input and restored images only, to everyone."""

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from restorebench import storage
from restorebench.challenges.selectors import user_is_organizer
from restorebench.submissions import selectors as submissions
from restorebench.submissions.models import Submission

KINDS = ("input", "restored", "truth", "error")


def _visible(request: HttpRequest, submission_id: int) -> Submission:
    submission = submissions.submission_get(user=request.user, submission_id=submission_id)
    if submission is None:
        raise Http404
    return submission


def may_see_truth(request: HttpRequest, submission: Submission) -> bool:
    phase = submission.phase
    if not phase.track.has_ground_truth:
        return False  # nothing to see: no ground truth, no error map (a track judged without it)
    return not phase.hidden_ground_truth or user_is_organizer(
        user=request.user, challenge=phase.track.challenge_id
    )


def compare_page(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = _visible(request, submission_id)
    phase = submission.phase
    stems = [Path(name).stem for name in phase.expected_images]
    chosen = request.GET.get("image") or (stems[0] if stems else "")
    if chosen not in stems:
        raise Http404
    truth = may_see_truth(request, submission)
    context = {
        "submission": submission,
        "phase": phase,
        "track": phase.track,
        "challenge": phase.track.challenge,
        "stems": stems,
        "chosen": chosen,
        "truth": truth,
        "has_ground_truth": phase.track.has_ground_truth,
        "has_restored": submission.status == "scored",
        "kinds": [k for k in KINDS if truth or k in ("input", "restored")],
    }
    return render(request, "web/compare.html", context)


def submission_image(request: HttpRequest, submission_id: int, stem: str, kind: str) -> FileResponse:
    submission = _visible(request, submission_id)
    phase = submission.phase
    if kind not in KINDS or (kind in ("truth", "error") and not may_see_truth(request, submission)):
        raise Http404
    try:
        if kind == "input":
            path = storage.phase_input_for_reading(phase, stem)
        elif kind == "truth":
            names = {Path(n).stem: n for n in phase.expected_images}
            if stem not in names or not names[stem].lower().endswith(".png"):
                raise Http404
            path = storage.phase_ground_truth_file_for_reading(phase, names[stem])
        else:
            path = storage.submission_preview_for_reading(phase, submission.pk, stem, hidden=kind == "error")
    except storage.DataUnavailable:
        raise Http404 from None
    response = FileResponse(open(path, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
