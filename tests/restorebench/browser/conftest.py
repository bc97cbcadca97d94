"""Real-browser tests: Debian's headless Chromium driven by Selenium against a live test server.

`make test` installs `chromium` and `chromium-driver` (scripts/browser.sh); nothing is downloaded by
Selenium (the driver and browser paths are given). Screenshots go to var/test-artifacts/screenshots/.
"""

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def _executables() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            "Chromium and its driver are missing: run scripts/browser.sh (apt: chromium chromium-driver)"
        )
    return browser, driver


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _executables()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, live_server) -> Callable:
    """Open a path of the live server at a window size; returns the driver."""

    def open_(path: str, size: tuple[int, int] = DESKTOP):
        browser.set_window_size(*size)
        browser.get(live_server.url + path)
        return browser

    browser.delete_all_cookies()
    browser.get_log("performance")  # drop what earlier tests requested
    return open_


@pytest.fixture
def sign_in_browser(browser, live_server, client) -> Callable:
    """Give the browser the session of `user` (signed in as on the site)."""

    def sign_in(user) -> None:
        client.force_login(user)
        browser.get(live_server.url + "/accounts/login/")
        browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})

    return sign_in


def requested_urls(browser) -> list[str]:
    """Every URL the browser asked for since the log was last read (Chrome's performance log)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign_urls(urls: list[str], live_url: str) -> list[str]:
    own = urlparse(live_url).netloc
    return [u for u in urls if urlparse(u).scheme in ("http", "https") and urlparse(u).netloc != own]


def screenshot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # The whole page, not just the window: size the window to the document for the shot.
    width = browser.execute_script("return window.innerWidth")
    height = browser.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
    browser.set_window_size(width, max(height, 300))
    browser.save_screenshot(str(path))
    return path


def horizontal_overflow(browser) -> int:
    """How many CSS pixels the page is wider than the window (0 = no horizontal scroll)."""
    return browser.execute_script(
        "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"
    )
