"""The comparison viewer in a real browser: the before/after slider moves the clip and the zoom is
shared by every panel; on a hidden phase the participant's browser never asks for a ground-truth or
error-map URL."""

import io

import pytest
from rb_test_helpers import install_phase_data, png_bytes
from restorebench.submissions.models import Submission
from restorebench.submissions.previews import previews_make
from restorebench.submissions.services import submission_create

from .conftest import DESKTOP, PHONE, horizontal_overflow, requested_urls, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _scored(make_arena, make_participant, hidden: bool):
    arena = make_arena(images=2, size=(48, 64), hidden_ground_truth=hidden)
    arena.phase = install_phase_data(
        arena.phase, inputs={n: png_bytes(g // 2) for n, g in arena.ground_truth.items()}
    )
    user, _ = make_participant(arena)
    submission = submission_create(
        phase=arena.phase, user=user, archive=io.BytesIO(arena.submission_zip(noise=8)), method_name="net"
    )
    Submission.objects.filter(pk=submission.pk).update(status="scored", scores={"psnr": 30.0, "ssim": 0.9})
    submission.refresh_from_db()
    previews_make(submission=submission)
    return arena, user, submission


def test_the_slider_moves_the_clip_and_zoom_is_shared_by_every_panel(
    page, sign_in_browser, make_arena, make_participant
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    arena, user, submission = _scored(make_arena, make_participant, hidden=False)
    sign_in_browser(user)
    driver = page(f"/submissions/{submission.pk}/compare/", DESKTOP)
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.getElementById('slider-over').naturalWidth") == 64
    )
    over = driver.find_element(By.ID, "slider-over")
    before = over.value_of_css_property("clip-path")
    driver.execute_script(
        "const s = document.getElementById('slider'); s.value = 80; s.dispatchEvent(new Event('input'));"
    )
    after = over.value_of_css_property("clip-path")
    assert before != after and "80%" in after
    driver.find_element(By.CSS_SELECTOR, "[data-zoom-action=one]").click()
    transforms = driver.execute_script(
        "return [...document.querySelectorAll('#viewer img.layer')].map(i => i.style.transform)"
    )
    # the slider's two layers and the four panels, all at 1:1
    assert len(transforms) == 6 and len(set(transforms)) == 1 and "scale(1)" in transforms[0]
    assert driver.find_element(By.ID, "zoom-level").text == "100 %"
    screenshot(driver, "compare-1280")
    driver = page(f"/submissions/{submission.pk}/compare/", PHONE)
    assert horizontal_overflow(driver) <= 0
    screenshot(driver, "compare-390")


def test_a_hidden_phase_page_never_requests_ground_truth(page, sign_in_browser, make_arena, make_participant):
    arena, user, submission = _scored(make_arena, make_participant, hidden=True)
    sign_in_browser(user)
    requested_urls(page("/", DESKTOP))  # clear the log
    driver = page(f"/submissions/{submission.pk}/compare/", DESKTOP)
    driver.execute_script("return document.readyState")
    urls = requested_urls(driver)
    assert any(u.endswith("/restored.png") for u in urls)
    assert not [u for u in urls if u.endswith(("/truth.png", "/error.png")) or "ground" in u]
    html = driver.page_source
    assert "truth.png" not in html and "error.png" not in html
