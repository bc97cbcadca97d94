"""The organizer console in a real browser: a bundle with an error shows the line it is on, and the
console's pages fit a 390 px phone."""

import pytest
from rb_test_helpers import scored_submission

from .conftest import DESKTOP, PHONE, horizontal_overflow, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

BAD_BUNDLE = """\
format: 1
challenge:
  slug: browser-bundle
  title: Browser bundle
tracks:
  - slug: denoise
    title: Denoising
    task: levitate
    degradation: {sigma: 25}
    scoring: {metrics: [psnr, ssim], ranking_metric: psnr}
    data: {dataset: starter, seed: 7}
    phases:
      - slug: dev
        title: Development
        split: val
        starts_at: 2020-01-01T00:00:00Z
        ends_at: 2099-01-01T00:00:00Z
"""


def test_an_organizer_uploading_a_bundle_with_an_error_sees_the_line(
    page, sign_in_browser, make_user, tmp_path
):
    from selenium.webdriver.common.by import By

    staff = make_user("staffer", is_staff=True)
    sign_in_browser(staff)
    bundle = tmp_path / "challenge.yaml"
    bundle.write_text(BAD_BUNDLE)
    driver = page("/organize/bundle/", DESKTOP)
    driver.find_element(By.ID, "bundle-file").send_keys(str(bundle))
    driver.find_element(By.CSS_SELECTOR, "button[value=validate]").click()
    problems = driver.find_element(By.ID, "bundle-problems")
    line = BAD_BUNDLE.splitlines().index("    task: levitate") + 1
    assert f"line {line}" in problems.text and "levitate" in problems.text
    flagged = driver.find_element(By.ID, f"line-{line}")
    assert "bad" in flagged.get_attribute("class") and "task: levitate" in flagged.text
    assert not driver.find_elements(By.ID, "load-button")  # nothing to load until it is valid
    screenshot(driver, "bundle-error-1280")


def test_the_console_pages_fit_a_phone(page, sign_in_browser, make_arena, make_participant):
    arena = make_arena(images=1)
    _, team = make_participant(arena)
    submission = scored_submission(arena.phase, team, {"psnr": 25.0, "ssim": 0.5}, method_name="net")
    sign_in_browser(arena.organizer)
    slug = arena.challenge.slug
    for name, path in {
        "console": f"/challenges/{slug}/organize/",
        "audit-log": f"/challenges/{slug}/organize/audit-log/",
        "problems": f"/challenges/{slug}/organize/problems/",
        "organizer-submission": f"/submissions/{submission.pk}/",
    }.items():
        driver = page(path, PHONE)
        assert horizontal_overflow(driver) <= 0, name
        screenshot(driver, f"{name}-390")
