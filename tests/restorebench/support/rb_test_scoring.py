"""Scoring function used by the test workers: the real `evaluator.jobs.run_scoring_job`, optionally
slowed down so a test can catch a job mid-run (to kill its worker).

The delay comes from the track's scoring spec, `spec["test_delay_per_image_s"]` (removed before the
spec reaches the evaluator), so one worker serves fast and slow tests alike.
"""

import time

from evaluator.jobs import run_scoring_job


def run_slowed_scoring_job(pred_path, gt_dir, spec, progress=None):
    spec = dict(spec)
    delay = float(spec.pop("test_delay_per_image_s", 0))
    if delay <= 0:
        return run_scoring_job(pred_path, gt_dir, spec, progress)

    def slow_progress(done, total):
        if progress is not None:
            progress(done, total)
        time.sleep(delay)

    return run_scoring_job(pred_path, gt_dir, spec, slow_progress)
