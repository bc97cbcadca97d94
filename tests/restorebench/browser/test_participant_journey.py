"""A new participant, in a real browser, end to end: sign up → create a team → enter the track →
choose the zip in the file input → the page uploads it in chunks → status → scored by a real worker
→ the comparison viewer, whose before/after slider moves."""

import pytest
from rb_test_helpers import wait_for
from restorebench.submissions.models import Submission

from .conftest import DESKTOP, screenshot

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def _fill(driver, fields: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By

    for name, value in fields.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def _click(driver, css: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, css).click()


def test_a_new_participant_signs_up_submits_through_the_file_input_and_sees_the_score(
    make_arena, cpu_worker, page, tmp_path
):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    arena = make_arena(images=2)
    upload = tmp_path / "my-results.zip"
    upload.write_bytes(arena.submission_zip(noise=5))
    expected_psnr = arena.expected_psnr(noise=5)

    driver = page("/accounts/signup/", DESKTOP)
    _fill(
        driver,
        {
            "username": "newcomer",
            "password": "quartz-lantern-orbit",
            "password_again": "quartz-lantern-orbit",
        },
    )
    _click(driver, "main form button")
    WebDriverWait(driver, 20).until(lambda d: "Welcome, newcomer" in d.page_source)

    driver = page(f"/challenges/{arena.challenge.slug}/team/", DESKTOP)
    _fill(driver, {"name": "Team Browser"})
    _click(driver, "form input[value=create] ~ button, form:has(input[value=create]) button")
    WebDriverWait(driver, 20).until(
        lambda d: (
            "Team &#x27;Team Browser&#x27; created" in d.page_source
            or "Team 'Team Browser' created" in d.page_source
        )
    )

    driver = page(f"/phases/{arena.phase.pk}/submit/", DESKTOP)
    _click(driver, "form.note button")  # "Enter this track"
    # The old page has the button too, disabled until the team has entered: wait for the new one.
    WebDriverWait(
        driver, 30, ignored_exceptions=[StaleElementReferenceException, NoSuchElementException]
    ).until(lambda d: d.find_element(By.ID, "submit-button").is_enabled())
    driver.find_element(By.CSS_SELECTOR, "#submit-form input[type=file]").send_keys(str(upload))
    _fill(driver, {"method_name": "browser net"})
    screenshot(driver, "submit-filled-1280")
    driver.set_window_size(*DESKTOP)
    _click(driver, "#submit-button")

    WebDriverWait(driver, 60).until(
        lambda d: "/submissions/" in d.current_url and d.find_elements(By.ID, "status-badge")
    )
    submission = Submission.objects.get(method_name="browser net")
    assert submission.team.name == "Team Browser"
    wait_for(
        lambda: Submission.objects.get(pk=submission.pk).status == "scored",
        timeout=120,
        why="the worker to score the browser's submission",
    )
    # status.js reloads the page by itself once the submission is scored
    WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: "Scored" in d.find_element(By.ID, "status-badge").text
    )
    shown = driver.find_element(By.CSS_SELECTOR, "table.scores td.num").get_attribute("title")
    assert float(shown) == pytest.approx(expected_psnr, abs=1e-9)
    screenshot(driver, "submission-scored-1280")
    # The worker made the previews after scoring: the viewer shows them and its slider moves.
    _click(driver, "#compare-link")
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const i = document.getElementById('slider-over'); return i && i.naturalWidth > 0"
        )
    )
    over = driver.find_element(By.ID, "slider-over")
    before = over.value_of_css_property("clip-path")
    driver.execute_script(
        "const s = document.getElementById('slider'); s.value = 20; s.dispatchEvent(new Event('input'));"
    )
    assert over.value_of_css_property("clip-path") != before
    screenshot(driver, "journey-compare-1280")
