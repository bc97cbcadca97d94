"""A real evaluation (in-process) of a zip with problems fails the submission, and the submission page
lists each problem file under the reason (the job stores the evaluator's per-file list)."""

import numpy as np
import pytest
from rb_test_helpers import make_zip, png_bytes
from restorebench.submissions import jobs
from restorebench.submissions.models import EvaluationJob
from restorebench.submissions.services import storing, submission_create

from .conftest import table_rows


@pytest.mark.django_db(transaction=True)
def test_a_failed_evaluation_lists_each_file_on_the_page(client, make_arena, make_participant, monkeypatch):
    monkeypatch.setattr(jobs, "evaluation_job_enqueue", lambda **kw: True)
    # Past the upload's header checks (which refuse a wrong size up front), as when the ground truth's
    # header could not be read at upload: the evaluator's per-file list is what this page shows.
    monkeypatch.setattr(storing, "expected_sizes", lambda phase: {})
    arena = make_arena(images=3, size=(24, 32))
    user, _ = make_participant(arena)
    restored = arena.restored(noise=2)
    restored["0001.png"] = np.zeros((12, 16, 3), dtype=np.uint8)  # wrong size
    members = {name: png_bytes(a) for name, a in restored.items()}
    members["0002.png"] = members["0002.png"][:80]  # cut short
    submission = submission_create(phase=arena.phase, user=user, archive=[make_zip(members)])
    job = EvaluationJob.objects.get(submission=submission)
    assert jobs.evaluation_job_run(job_id=job.pk, worker="w1") == "failed"
    client.force_login(user)
    html = client.get(f"/submissions/{submission.pk}/").content.decode()
    rows = [r["cells"][:2] for r in table_rows(html, "problems")[1:]]
    assert rows == [["Wrong size", "0001.png"], ["Unreadable files", "0002.png"]], rows
