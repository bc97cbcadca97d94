"""Writes for submissions, split by concept; import from here.

- `admission`: the refusals and the checks that need no upload (team, track entry, phase window,
  limits, declared size, open uploads, content already submitted), also run before a request's body
  is read;
- `storing`: receiving and checking a zip, and the locked transaction every way in ends with;
- `creating`: direct submissions (a zip of images or a model) and reference entries;
- `upload_sessions`: chunked, resumable uploads (open, append, complete, abort);
- `organizing`: the team's choice and the organizers' actions (cancel, disqualify, rescore).

A submission goes: checks that need no upload → the upload streamed to a temporary file and hashed →
the zip checked from its directory and its images' headers, or the model and manifest checked
statically (`model_files`) → one transaction that locks the team's row, checks the window, limits and
earlier content again, moves the file into place and creates the submission and its evaluation job →
the job is sent to the broker after the commit. Any refusal leaves nothing behind: no row, no file.
The team-row lock serialises a team's concurrent submissions and upload openings, so no number of
parallel requests can pass the per-day or total limit.
"""

from restorebench.submissions.services.admission import (
    SubmissionLimitReached,
    SubmissionRefused,
    UploadConflict,
    UploadTooLarge,
    submission_admission_check,
    submission_limits_used,
)
from restorebench.submissions.services.creating import (
    UploadedChunks,
    model_max_bytes,
    submission_create,
    submission_create_baseline,
    submission_create_model,
    submission_create_model_baseline,
)
from restorebench.submissions.services.organizing import (
    phase_rescore,
    submission_cancel,
    submission_choose,
    submission_disqualify,
    submission_requalify,
)
from restorebench.submissions.services.storing import storage_dir, submission_archive_file
from restorebench.submissions.services.upload_sessions import (
    upload_part,
    upload_session_abort,
    upload_session_append,
    upload_session_complete,
    upload_session_create,
)

__all__ = [
    "SubmissionLimitReached",
    "SubmissionRefused",
    "UploadConflict",
    "UploadTooLarge",
    "model_max_bytes",
    "phase_rescore",
    "storage_dir",
    "submission_admission_check",
    "submission_archive_file",
    "submission_cancel",
    "submission_choose",
    "submission_create",
    "submission_create_baseline",
    "submission_create_model",
    "UploadedChunks",
    "submission_create_model_baseline",
    "submission_disqualify",
    "submission_limits_used",
    "submission_requalify",
    "upload_part",
    "upload_session_abort",
    "upload_session_append",
    "upload_session_complete",
    "upload_session_create",
]
