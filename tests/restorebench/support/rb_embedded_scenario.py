"""Run by tests/restorebench/pipeline/test_embedded_mode.py in a subprocess with no database or broker
settings (SQLite and the filesystem broker under RESTOREBENCH_VAR_DIR): migrate, set up a phase with
ground truth, submit a zip, wait for the worker, print the result as JSON."""

import datetime as dt
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restorebench.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone
    from restorebench.accounts.services import team_create, track_enter
    from restorebench.challenges.phase_data import phase_data_install
    from restorebench.challenges.services import challenge_create, phase_create, track_create
    from restorebench.submissions.models import Submission
    from restorebench.submissions.services import submission_create

    if sys.argv[1] == "migrate":
        call_command("migrate", verbosity=0)
        print(
            json.dumps(
                {"engine": settings.DATABASES["default"]["ENGINE"], "broker": settings.CELERY_BROKER_URL}
            )
        )
        return
    user = User.objects.create_user("embedded", password="x")
    challenge = challenge_create(slug="embedded", title="Embedded", created_by=user)
    track = track_create(challenge=challenge, slug="t", title="T", task="denoise", ranking_metrics=["psnr"],
                         scoring_spec={"metrics": ["psnr"]})  # fmt: skip
    gt = Path(settings.RESTOREBENCH_STORAGE_DIR) / "tmp" / "embedded-gt"
    gt.mkdir(parents=True)
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    expected = []
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(2):
            truth = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(truth).save(gt / f"{i}.png")
            restored = np.clip(truth.astype(np.int16) + 4, 0, 255).astype(np.uint8)
            mse = np.mean((restored.astype(np.float64) - truth) ** 2)
            expected.append(10 * np.log10(255.0**2 / mse))
            out = io.BytesIO()
            Image.fromarray(restored).save(out, format="PNG")
            archive.writestr(f"{i}.png", out.getvalue())
    now = timezone.now()
    phase = phase_create(track=track, slug="d", title="D", starts_at=now - dt.timedelta(days=1),
                         ends_at=now + dt.timedelta(days=1))  # fmt: skip
    phase = phase_data_install(phase=phase, inputs_src=None, ground_truth_src=gt, actor=user)
    team = team_create(challenge=challenge, name="a", user=user)
    track_enter(team=team, track=track)
    submission = submission_create(phase=phase, user=user, archive=[buffer.getvalue()])
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.status in ("scored", "failed"):
            break
        time.sleep(0.3)
    print(json.dumps({"status": submission.status, "scores": submission.scores,
                      "expected_psnr": float(np.mean(expected)), "reason": submission.failure_reason,
                      "rows": Submission.objects.count()}))  # fmt: skip


if __name__ == "__main__":
    main()
