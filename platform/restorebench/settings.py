"""Settings for the RestoreBench site, read from the environment in this one module.

With no environment at all the site runs embedded: SQLite under `var/` and a Celery broker kept on
the local filesystem, so a fresh machine needs no services. Production (and the test suite) set
`RESTOREBENCH_DATABASE_URL` (PostgreSQL) and `RESTOREBENCH_BROKER_URL` (RabbitMQ or Redis);
`docs/deployment.md` lists the settings long-running evaluation jobs need.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent  # platform/
REPO_ROOT = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("RESTOREBENCH_VAR_DIR", REPO_ROOT / "var")).resolve()

SECRET_KEY = os.environ.get("RESTOREBENCH_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = os.environ.get("RESTOREBENCH_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("RESTOREBENCH_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "restorebench.catalog",
    "restorebench.baselines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "restorebench.urls"
WSGI_APPLICATION = "restorebench.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "restorebench",
            "USER": unquote(parsed.username or "postgres"),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1",
            "PORT": str(parsed.port or 5432),
            "CONN_MAX_AGE": 0,
            "TEST": {"NAME": os.environ.get("RESTOREBENCH_TEST_DATABASE_NAME") or None},
        }
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path or VAR_DIR / "restorebench.sqlite3"}
    raise ValueError(f"RESTOREBENCH_DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite://)")


DATABASES = {
    "default": _database_from_url(
        os.environ.get("RESTOREBENCH_DATABASE_URL", f"sqlite://{VAR_DIR / 'restorebench.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Workers and the web process share the file: wait for locks rather than fail.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STATIC_ROOT = VAR_DIR / "static"

# Where uploads, generated track data and hidden ground truth live. Hidden ground truth is kept in
# its own tree that no URL serves.
MEDIA_ROOT = VAR_DIR / "media"
RESTOREBENCH_STORAGE_DIR = VAR_DIR / "storage"
RESTOREBENCH_HIDDEN_DIR = VAR_DIR / "hidden"
RESTOREBENCH_DATASETS_DIR = VAR_DIR / "datasets"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RestoreBench API",
    "DESCRIPTION": "Image-restoration challenges: tracks, phases, submissions, scores and leaderboards.",
    "VERSION": "0.1.0",
}

# Celery. JSON only: a pickled message from a compromised broker would execute code in a worker.
CELERY_BROKER_URL = os.environ.get("RESTOREBENCH_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RESTOREBENCH_LOG_LEVEL", "INFO")},
}
