"""Every page fits a 390 px phone without horizontal scrolling (wide tables scroll inside their own
box), the leaderboard fits 1280 px, and the API docs render their operations with no CDN."""

import pytest
from rb_test_helpers import scored_submission

from .conftest import DESKTOP, PHONE, foreign_urls, horizontal_overflow, requested_urls, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(make_arena, make_participant):
    """A challenge with a wide leaderboard (teams with long names, model columns), one of each page."""
    arena = make_arena(images=2, metrics=("psnr", "ssim"))
    user, first = make_participant(arena, username="participant-with-a-rather-long-name")
    mine = scored_submission(
        arena.phase, first, {"psnr": 31.234567, "ssim": 0.912345}, method_name="A very long method name v2.1"
    )
    for i in range(8):
        _, team = make_participant(arena)
        scored_submission(arena.phase, team, {"psnr": 25.0 + i / 7, "ssim": 0.8 + i / 100})
    scored_submission(arena.phase, None, {"psnr": 24.1, "ssim": 0.7}, method_name="bicubic")
    _, modeller = make_participant(arena)
    scored_submission(  # a model entry brings the runtime, parameter, FLOPs and memory columns
        arena.phase,
        modeller,
        {"psnr": 29.5, "ssim": 0.9},
        method_name="a-model-with-a-long-name",
        kind="model",
        model_format="onnx",
        model_manifest={"task": "denoise"},
        model_parameters=1_234_567,
        model_seconds_per_image=0.1234,
        model_peak_memory_bytes=987_654_321,
        model_flops=23_456_789_012,
    )
    return arena, user, mine


def _pages(arena, mine) -> dict[str, str]:
    return {
        "home": "/",
        "login": "/accounts/login/",
        "signup": "/accounts/signup/",
        "challenge": f"/challenges/{arena.challenge.slug}/",
        "team": f"/challenges/{arena.challenge.slug}/team/",
        "track": f"/tracks/{arena.track.pk}/",
        "leaderboard": f"/phases/{arena.phase.pk}/leaderboard/",
        "plots": f"/phases/{arena.phase.pk}/plots/",
        "submit": f"/phases/{arena.phase.pk}/submit/",
        "my-submissions": "/submissions/",
        "submission": f"/submissions/{mine.pk}/",
    }


def test_no_page_scrolls_horizontally_on_a_390_px_phone(site, page, sign_in_browser):
    arena, user, mine = site
    sign_in_browser(user)
    too_wide = {}
    for name, path in _pages(arena, mine).items():
        driver = page(path, PHONE)
        overflow = horizontal_overflow(driver)
        if overflow > 0:
            too_wide[name] = overflow
        screenshot(driver, f"{name}-390")
    assert too_wide == {}


def test_every_page_renders_at_1280_px_and_the_leaderboard_is_not_clipped(site, page, sign_in_browser):
    arena, user, mine = site
    sign_in_browser(user)
    for name, path in _pages(arena, mine).items():
        driver = page(path, DESKTOP)
        assert horizontal_overflow(driver) <= 0, name
        screenshot(driver, f"{name}-1280")
    driver = page(f"/phases/{arena.phase.pk}/leaderboard/", DESKTOP)
    clipped = driver.execute_script(
        "const box = document.querySelector('.table-scroll');"
        "return box ? box.scrollWidth - box.clientWidth : -1;"
    )
    assert clipped == 0


def test_the_api_docs_render_their_operations_without_any_outside_request(page, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    driver = page("/api/docs/", DESKTOP)
    WebDriverWait(driver, 30).until(shown.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary")))
    operations = driver.find_elements(By.CSS_SELECTOR, ".opblock-summary")
    assert len(operations) > 20
    assert foreign_urls(requested_urls(driver), live_server.url) == []
    screenshot(driver, "api-docs-1280")


def test_pages_load_with_a_favicon_and_no_missing_asset(page, live_server):
    driver = page("/", DESKTOP)
    assert (
        driver.execute_script(
            "const link = document.querySelector('link[rel=icon]');"
            "return link && fetch(link.href).then(r => r.status)"
        )
        == 200
    )
    statuses = driver.execute_script(
        "return Promise.all(['/favicon.ico'].concat([...document.querySelectorAll('link[href],script[src]')]"
        ".map(e => e.href || e.src)).map(u => fetch(u).then(r => r.status)))"
    )
    assert statuses and set(statuses) == {200}
