"""Every form control on the main pages has a label a screen reader announces, and every progress bar
is tied to the text that names it."""

import pytest
from rb_test_helpers import scored_submission

from .conftest import DESKTOP

pytestmark = pytest.mark.django_db(transaction=True)

UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea, progress')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null || e.tagName === 'PROGRESS')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => e.tagName.toLowerCase() + (e.name ? '[name=' + e.name + ']' : '') + (e.id ? '#' + e.id : ''));
"""


def test_every_control_and_progress_bar_is_labelled(
    page, sign_in_browser, make_arena, make_participant, make_user
):
    arena = make_arena(images=1)
    user, team = make_participant(arena)
    mine = scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5})
    paths = [
        "/accounts/login/",
        "/accounts/signup/",
        f"/challenges/{arena.challenge.slug}/team/",
        f"/phases/{arena.phase.pk}/submit/",
        f"/submissions/{mine.pk}/",
    ]
    missing = {}
    for path in paths[:2]:
        found = page(path, DESKTOP).execute_script(UNLABELLED)
        if found:
            missing[path] = found
    sign_in_browser(user)
    for path in paths[2:]:
        found = page(path, DESKTOP).execute_script(UNLABELLED)
        if found:
            missing[path] = found
    sign_in_browser(arena.organizer)
    for path in (f"/challenges/{arena.challenge.slug}/organize/", f"/submissions/{mine.pk}/"):
        found = page(path, DESKTOP).execute_script(UNLABELLED)
        if found:
            missing[path + " (organizer)"] = found
    assert missing == {}
