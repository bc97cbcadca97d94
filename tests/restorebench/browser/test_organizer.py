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
    from selenium.common.exceptions import NoSuchElementException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    staff = make_user("staffer", is_staff=True)
    sign_in_browser(staff)
    bundle = tmp_path / "challenge.yaml"
    bundle.write_text(BAD_BUNDLE)
    driver = page("/organize/bundle/", DESKTOP)
    driver.find_element(By.ID, "bundle-file").send_keys(str(bundle))
    driver.find_element(By.CSS_SELECTOR, "button[value=validate]").click()
    # The click posts the form: wait for the answer page, not the form page still on screen.
    problems = WebDriverWait(driver, 30, ignored_exceptions=[NoSuchElementException]).until(
        lambda d: d.find_element(By.ID, "bundle-problems")
    )
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


def test_an_organizer_uploads_phase_data_with_progress_and_sees_bad_files_named(
    page, sign_in_browser, make_arena, tmp_path
):
    import numpy as np
    from rb_test_helpers import make_zip, png_bytes
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    arena = make_arena(images=1)
    rng = np.random.default_rng(3)
    images = {f"pair{i}.png": rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for i in range(3)}
    good = tmp_path / "pairs.zip"
    good.write_bytes(make_zip({
        **{f"inputs/{n}": png_bytes(a // 2) for n, a in images.items()},
        **{f"ground_truth/{n}": png_bytes(a) for n, a in images.items()},
    }))  # fmt: skip
    bad = tmp_path / "bad-pairs.zip"
    bad.write_bytes(make_zip({
        "inputs/pair0.png": png_bytes(images["pair0.png"]),
        "inputs/orphan.png": png_bytes(images["pair1.png"]),
        "ground_truth/pair0.png": png_bytes(images["pair0.png"]),
    }))  # fmt: skip
    sign_in_browser(arena.organizer)
    driver = page(f"/challenges/{arena.challenge.slug}/organize/", DESKTOP)
    form = driver.find_element(By.CSS_SELECTOR, "form.phase-data-form")
    form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(bad))
    form.find_element(By.CSS_SELECTOR, "button").click()
    errors = form.find_element(By.CSS_SELECTOR, ".errors")
    WebDriverWait(driver, 30).until(lambda d: errors.is_displayed() and errors.text)
    assert "orphan" in errors.text
    form.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(good))
    form.find_element(By.CSS_SELECTOR, "button").click()
    label = form.find_element(By.CSS_SELECTOR, ".bar-label span")
    WebDriverWait(driver, 30).until(lambda d: "installed" in label.text)
    bar = form.find_element(By.CSS_SELECTOR, "progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    arena.phase.refresh_from_db()
    assert sorted(arena.phase.expected_images) == sorted(images)
    screenshot(driver, "console-phase-data-1280")
