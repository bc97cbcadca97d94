"""Production settings: with RESTOREBENCH_DEBUG=0 the site refuses to start without its own secret key,
holds secure defaults (HSTS, SSL redirect, secure cookies), each overridable by its documented
variable, passes `manage.py check --deploy` under the documented environment, and shows its own
404 and 500 pages (never the debug page)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]

# The production environment docs/deployment.md documents (values are examples).
PRODUCTION = {
    "RESTOREBENCH_DEBUG": "0",
    "RESTOREBENCH_SECRET_KEY": secrets.token_urlsafe(50),
    "RESTOREBENCH_ALLOWED_HOSTS": "bench.example.org",
    "RESTOREBENCH_CACHE_URL": "redis://127.0.0.1:6379/1",
}


def _django(args: list[str], env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # Outside pytest's environment (PYTEST_VERSION makes the settings pick the test services).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTOREBENCH_", "PYTEST_"))}
    env.update(RESTOREBENCH_VAR_DIR=str(tmp_path / "var"), **env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


_PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({k: "
    "getattr(settings, k, None) for k in ['DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
    "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_PROXY_SSL_HEADER', 'SECRET_KEY']}))"
)


def _settings(env_extra: dict[str, str], tmp_path: Path) -> dict:
    done = _django(["shell", "-c", _PRINT_SETTINGS], env_extra, tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_refuses_to_start_without_its_own_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "RESTOREBENCH_SECRET_KEY"}
    done = _django(["check"], env, tmp_path)
    assert done.returncode != 0
    assert "RESTOREBENCH_SECRET_KEY is not set" in done.stderr


def test_production_defaults_are_secure(tmp_path):
    values = _settings(PRODUCTION, tmp_path)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECRET_KEY"] == PRODUCTION["RESTOREBENCH_SECRET_KEY"]


def test_each_secure_default_can_be_overridden_for_a_tls_terminating_proxy(tmp_path):
    values = _settings(
        {
            **PRODUCTION,
            "RESTOREBENCH_SSL_REDIRECT": "0",
            "RESTOREBENCH_HSTS_SECONDS": "0",
            "RESTOREBENCH_HSTS_INCLUDE_SUBDOMAINS": "0",
            "RESTOREBENCH_SECURE_COOKIES": "0",
            "RESTOREBENCH_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
        },
        tmp_path,
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_malformed_flag_is_refused_with_its_name(tmp_path):
    done = _django(["check"], {**PRODUCTION, "RESTOREBENCH_SSL_REDIRECT": "maybe"}, tmp_path)
    assert done.returncode != 0
    assert "RESTOREBENCH_SSL_REDIRECT='maybe'" in done.stderr


def test_check_deploy_reports_nothing_under_the_documented_production_environment(tmp_path):
    done = _django(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_warns_when_throttles_would_count_per_process(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "RESTOREBENCH_CACHE_URL"}
    done = _django(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert done.returncode != 0
    assert "restorebench.W001" in done.stdout + done.stderr


@pytest.mark.django_db
def test_a_missing_page_shows_the_sites_own_404_page(settings):
    settings.DEBUG = False
    page = Client().get("/no/such/page/")
    assert page.status_code == 404
    assert b"There is no page here" in page.content
    assert b"Page not found at" not in page.content  # Django's debug 404


@pytest.mark.django_db
def test_a_failing_page_shows_the_sites_own_500_page_without_internal_details(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "rb_error_urls"
    page = Client(raise_request_exception=False).get("/test-fail/")
    assert page.status_code == 500
    assert b"Something went wrong on our side" in page.content
    assert b"secret internal detail" not in page.content
    assert b"Traceback" not in page.content


_PRINT_CONNECTION = (
    "import json, django; from django.conf import settings; django.setup(); "
    "d = settings.DATABASES['default']; print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS']]))"
)


@pytest.mark.parametrize(("value", "kept"), [(None, 0), ("600", 600), ("none", None), ("0", 0)])
def test_web_processes_keep_their_database_connection_as_long_as_configured(tmp_path, value, kept):
    env = {**PRODUCTION, "RESTOREBENCH_DATABASE_URL": "postgres://u@db.example.org:5432/rb"}
    if value is not None:
        env["RESTOREBENCH_DB_CONN_MAX_AGE"] = value
    done = _django(["shell", "-c", _PRINT_CONNECTION], env, tmp_path)
    assert done.returncode == 0, done.stderr
    # A kept connection is checked before reuse, so a server restart costs one reconnect, not an error.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [kept, True]


def test_a_malformed_connection_age_is_refused_with_its_name(tmp_path):
    env = {**PRODUCTION, "RESTOREBENCH_DATABASE_URL": "postgres://u@db.example.org:5432/rb"}
    done = _django(["check"], {**env, "RESTOREBENCH_DB_CONN_MAX_AGE": "10m"}, tmp_path)
    assert done.returncode != 0
    assert "RESTOREBENCH_DB_CONN_MAX_AGE='10m'" in done.stderr
