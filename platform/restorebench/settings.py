"""Settings for the RestoreBench site, read from the environment in this one module.

With no environment at all the site runs embedded: SQLite under `var/` and a Celery broker kept on
the local filesystem, so a fresh machine needs no services. Production (and the test suite) set
`RESTOREBENCH_DATABASE_URL` (PostgreSQL) and `RESTOREBENCH_BROKER_URL` (RabbitMQ or Redis);
`docs/deployment.md` lists the settings long-running evaluation jobs need.
"""

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # platform/
REPO_ROOT = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("RESTOREBENCH_VAR_DIR", REPO_ROOT / "var")).resolve()


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use 1 or 0")


DEBUG = _env_flag("RESTOREBENCH_DEBUG", True)
# The development key is public (it is in this file): a production site (DEBUG off) must bring its own,
# or anyone could forge its sessions and password-reset links.
_DEVELOPMENT_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = os.environ.get("RESTOREBENCH_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "RESTOREBENCH_SECRET_KEY is not set: with RESTOREBENCH_DEBUG=0 the site needs its own secret key "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = os.environ.get("RESTOREBENCH_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("RESTOREBENCH_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Transport security: on by default in production (DEBUG off), each switch overridable, e.g. behind a
# proxy that terminates TLS (set RESTOREBENCH_PROXY_SSL_HEADER, or turn the redirect off there).
SECURE_SSL_REDIRECT = _env_flag("RESTOREBENCH_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("RESTOREBENCH_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("RESTOREBENCH_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = _env_flag("RESTOREBENCH_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = _env_flag("RESTOREBENCH_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
_proxy_ssl_header = os.environ.get("RESTOREBENCH_PROXY_SSL_HEADER", "")  # e.g. "X-Forwarded-Proto: https"
if _proxy_ssl_header:
    _header, _, _value = _proxy_ssl_header.partition(":")
    if not _value.strip():
        raise ImproperlyConfigured(
            f"RESTOREBENCH_PROXY_SSL_HEADER={_proxy_ssl_header!r}: use 'Header-Name: value', "
            "e.g. 'X-Forwarded-Proto: https'"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.strip().upper().replace("-", "_"), _value.strip())
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

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
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files (no CDN)
    "restorebench.catalog",
    "restorebench.baselines",
    "restorebench.challenges",
    "restorebench.accounts",
    "restorebench.submissions",
    "restorebench.leaderboards",
    "restorebench.bundles",
    "restorebench.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "restorebench.request_framing.RequireContentLengthMiddleware",
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
                "restorebench.web.context_processors.demo_baselines",
            ],
        },
    },
]


def _conn_max_age() -> int | None:
    value = os.environ.get("RESTOREBENCH_DB_CONN_MAX_AGE", "0").strip().lower() or "0"
    if value == "none":
        return None  # unlimited: kept for the life of the process
    if not value.isdigit():
        raise ImproperlyConfigured(
            f"RESTOREBENCH_DB_CONN_MAX_AGE={value!r}: use seconds (0: a new connection per request) or none"
        )
    return int(value)


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
            # Web processes should keep their connections (RESTOREBENCH_DB_CONN_MAX_AGE, e.g. 600):
            # a new one per request cost PostgreSQL ~8–13 ms of CPU (a forked backend, its catalog
            # caches filled again) and Django 2–4 ms, more than most pages themselves
            # (docs/benchmarks.md, "Per-request cost of each page"). Health checks make a
            # kept connection that the server dropped (a restart) reconnect instead of failing.
            "CONN_MAX_AGE": _conn_max_age(),
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": os.environ.get("RESTOREBENCH_TEST_DATABASE_NAME") or None},
        }
    if parsed.scheme == "sqlite":
        name = parsed.path or VAR_DIR / "restorebench.sqlite3"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    raise ValueError(
        f"RESTOREBENCH_DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite://)"
    )


# Under pytest (which sets PYTEST_VERSION) the suite runs against the real services named by the
# RESTOREBENCH_TEST_* variables (the Makefile exports them), with names unique to this run so that
# concurrent runs on one machine share neither a test database nor a queue.
TESTING = "PYTEST_VERSION" in os.environ
_RUN_ID = f"{os.getpid()}"
if TESTING:
    _database_url = os.environ.get(
        "RESTOREBENCH_TEST_DATABASE_URL",
        os.environ.get("RESTOREBENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/restorebench"),
    )
else:
    _database_url = os.environ.get(
        "RESTOREBENCH_DATABASE_URL", f"sqlite://{VAR_DIR / 'restorebench.sqlite3'}"
    )
DATABASES = {"default": _database_from_url(_database_url)}
_db = DATABASES["default"]
if TESTING and _db["ENGINE"].endswith("postgresql") and not _db["TEST"]["NAME"]:
    _db["TEST"]["NAME"] = f"test_{_db['NAME']}_{_RUN_ID}"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Workers and the web process share the file: wait for locks rather than fail. IMMEDIATE makes a
    # write transaction take the lock when it begins: a deferred one that reads first and then writes
    # fails at once ("database is locked") when another writer got in between — seen in the demo with
    # two restoring processes and the worker. WAL lets readers go on while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if TESTING:  # hashing is deliberately slow; tests create many users
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The cache holds the sign-in throttles' counters and the leaderboards' rendered views. Several web
# processes must share it (Redis), or each counts alone; the embedded site has one process and keeps it
# in memory. With a shared cache, sessions are read from it (written through to the database), which
# saves a signed-in request its session query; a per-process cache cannot hold them, since signing
# out in one process would leave the session alive in the others' copies.
_cache_url = os.environ.get("RESTOREBENCH_CACHE_URL", "")
if _cache_url:
    if not _cache_url.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(
            f"RESTOREBENCH_CACHE_URL: use redis:// (got {_cache_url.split(':')[0]}://)"
        )
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sign-in, token and sign-up attempts allowed per client address and per account name
# ("N/second|minute|hour|day"); past them the answer is 429 with Retry-After.
RESTOREBENCH_THROTTLE_LOGIN = os.environ.get("RESTOREBENCH_THROTTLE_LOGIN", "10/minute")
RESTOREBENCH_THROTTLE_SIGNUP = os.environ.get("RESTOREBENCH_THROTTLE_SIGNUP", "20/hour")
# Proxies in front of the site that append to X-Forwarded-For; 0 = use the socket's address.
RESTOREBENCH_TRUSTED_PROXIES = int(os.environ.get("RESTOREBENCH_TRUSTED_PROXIES", "0"))

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
    # Token first, so that an unauthenticated API call gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "EXCEPTION_HANDLER": "restorebench.api_errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "restorebench.api_errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "restorebench.api_schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RestoreBench API",
    "DESCRIPTION": "Image-restoration challenges: tracks, phases, submissions, scores and leaderboards.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. JSON only: a pickled message from a compromised broker would execute code in a worker.
if TESTING:
    CELERY_BROKER_URL = os.environ.get(
        "RESTOREBENCH_TEST_BROKER_URL",
        os.environ.get("RESTOREBENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    )
else:
    CELERY_BROKER_URL = os.environ.get("RESTOREBENCH_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport with atomic message files (see embedded_broker.py).
    CELERY_BROKER_TRANSPORT = "restorebench.embedded_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu otherwise keeps its broadcast exchanges in ./control, wherever the process started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker cut off from the broker cannot acknowledge its running jobs, which the broker hands to
# another worker: stop them instead of finishing work whose results would be discarded anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Queue names per compute kind (a track's `compute`); prefixed so that several sites (or test runs)
# can share one broker.
RESTOREBENCH_QUEUE_PREFIX = os.environ.get("RESTOREBENCH_QUEUE_PREFIX", f"test{_RUN_ID}-" if TESTING else "")
RESTOREBENCH_QUEUES = {kind: f"{RESTOREBENCH_QUEUE_PREFIX}{kind}" for kind in ("cpu", "gpu")}
CELERY_TASK_DEFAULT_QUEUE = RESTOREBENCH_QUEUES["cpu"]
# Reaper schedule: `evaluation_jobs_reap` finds jobs the broker lost or whose worker vanished.
RESTOREBENCH_REAP_EVERY_S = float(os.environ.get("RESTOREBENCH_REAP_EVERY_S", "60"))
# Upload cleanup: chunked upload sessions (and partial files) untouched for this many hours are deleted.
RESTOREBENCH_UPLOAD_STALE_AFTER_H = float(os.environ.get("RESTOREBENCH_UPLOAD_STALE_AFTER_H", "24"))
RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S = float(os.environ.get("RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S", "3600"))
CELERY_BEAT_SCHEDULE = {
    "reap-evaluation-jobs": {
        "task": "restorebench.submissions.tasks.reap_evaluation_jobs",
        "schedule": RESTOREBENCH_REAP_EVERY_S,
        "options": {"queue": RESTOREBENCH_QUEUES["cpu"], "expires": 0.9 * RESTOREBENCH_REAP_EVERY_S},
    },
    "cleanup-uploads": {
        "task": "restorebench.submissions.tasks.cleanup_uploads",
        "schedule": RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S,
        "options": {
            "queue": RESTOREBENCH_QUEUES["cpu"],
            "expires": 0.9 * RESTOREBENCH_UPLOAD_CLEANUP_EVERY_S,
        },
    },
}
# Evaluation pipeline knobs (seconds). A running job whose heartbeat is older than
# RESTOREBENCH_HEARTBEAT_TIMEOUT_S is taken to have lost its worker.
RESTOREBENCH_HEARTBEAT_EVERY_S = float(os.environ.get("RESTOREBENCH_HEARTBEAT_EVERY_S", "10"))
RESTOREBENCH_HEARTBEAT_TIMEOUT_S = float(os.environ.get("RESTOREBENCH_HEARTBEAT_TIMEOUT_S", "120"))
# A pending job older than this was never handed to the broker (it was down) and is sent again; a
# queued one older than RESTOREBENCH_QUEUED_TIMEOUT_S is sent again in case the broker lost it.
RESTOREBENCH_PENDING_GRACE_S = float(os.environ.get("RESTOREBENCH_PENDING_GRACE_S", "30"))
RESTOREBENCH_QUEUED_TIMEOUT_S = float(os.environ.get("RESTOREBENCH_QUEUED_TIMEOUT_S", "3600"))
# A job running longer than this stops heartbeating (so the reaper requeues it, and the attempt cap
# ends it); prefork workers also kill the task a minute later.
RESTOREBENCH_JOB_TIME_LIMIT_S = float(os.environ.get("RESTOREBENCH_JOB_TIME_LIMIT_S", str(3 * 3600)))
CELERY_TASK_TIME_LIMIT = int(RESTOREBENCH_JOB_TIME_LIMIT_S + 60)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers a message not acknowledged within the visibility timeout, even to a healthy
    # worker still running it (jobs are acknowledged late): it must exceed the longest evaluation.
    # Default: 6 h, or the hard job time limit plus an hour when that is longer; a value not above
    # the hard limit is refused.
    _visibility_timeout = float(
        os.environ.get("RESTOREBENCH_BROKER_VISIBILITY_TIMEOUT_S")
        or max(6 * 3600, CELERY_TASK_TIME_LIMIT + 3600)
    )
    if _visibility_timeout <= CELERY_TASK_TIME_LIMIT:
        raise ImproperlyConfigured(
            f"RESTOREBENCH_BROKER_VISIBILITY_TIMEOUT_S={_visibility_timeout:g} must exceed the job time "
            f"limit ({CELERY_TASK_TIME_LIMIT} s, from RESTOREBENCH_JOB_TIME_LIMIT_S): Redis would hand a "
            "running job to a second worker"
        )
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
RESTOREBENCH_JOB_MAX_ATTEMPTS = int(os.environ.get("RESTOREBENCH_JOB_MAX_ATTEMPTS", "3"))
RESTOREBENCH_RETRY_BACKOFF_S = float(os.environ.get("RESTOREBENCH_RETRY_BACKOFF_S", "30"))
# The scoring function the task calls (a dotted path, so a deployment can wrap it).
RESTOREBENCH_SCORING_FUNCTION = os.environ.get(
    "RESTOREBENCH_SCORING_FUNCTION", "evaluator.jobs.run_scoring_job"
)
# Model submissions (see docs/model_submissions.md): the function the task calls for them (same
# dotted-path indirection as the scoring function), the sandbox limits it passes (RunLimits fields;
# use_gpu defaults to whether the job is on the GPU queue), and the largest model file accepted.
# Model jobs go to the `gpu` queue when RESTOREBENCH_GPU_WORKERS=1 says GPU workers consume it,
# otherwise to the track's queue like image jobs.
RESTOREBENCH_MODEL_FUNCTION = os.environ.get(
    "RESTOREBENCH_MODEL_FUNCTION", "evaluator.model_runner.run_model_job"
)
RESTOREBENCH_MODEL_RUN_LIMITS = json.loads(os.environ.get("RESTOREBENCH_MODEL_RUN_LIMITS", "{}"))
# Model runs need the whole sandbox (network namespace, Landlock, parent-death signal, `nobody`); on a
# host that cannot give it they fail as platform errors unless this explicitly allows a weaker one
# (each run's record says which isolation it had).
RESTOREBENCH_SANDBOX_ALLOW_WEAK = os.environ.get("RESTOREBENCH_SANDBOX_ALLOW_WEAK", "0").lower() in (
    "1",
    "true",
    "yes",
)
RESTOREBENCH_MAX_MODEL_BYTES = int(os.environ.get("RESTOREBENCH_MAX_MODEL_BYTES", str(1024**3)))
RESTOREBENCH_GPU_WORKERS = os.environ.get("RESTOREBENCH_GPU_WORKERS", "0").lower() in ("1", "true", "yes")
# Upload checks done before anything is stored.
RESTOREBENCH_MAX_ZIP_MEMBERS = int(os.environ.get("RESTOREBENCH_MAX_ZIP_MEMBERS", "2000"))
RESTOREBENCH_MAX_UNCOMPRESSED_BYTES = int(
    os.environ.get("RESTOREBENCH_MAX_UNCOMPRESSED_BYTES", str(8 * 1024**3))
)
RESTOREBENCH_MAX_COMPRESSION_RATIO = float(os.environ.get("RESTOREBENCH_MAX_COMPRESSION_RATIO", "100"))
RESTOREBENCH_UPLOAD_CHUNK_MAX_BYTES = int(
    os.environ.get("RESTOREBENCH_UPLOAD_CHUNK_MAX_BYTES", str(64 * 1024**2))
)
# Chunked upload sessions a team may have open at once (each also counts against the phase's limits).
RESTOREBENCH_MAX_OPEN_UPLOADS_PER_TEAM = int(os.environ.get("RESTOREBENCH_MAX_OPEN_UPLOADS_PER_TEAM", "2"))
# Requests may carry large chunks; Django must not try to hold bigger bodies in memory itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = RESTOREBENCH_UPLOAD_CHUNK_MAX_BYTES + 1024**2
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RESTOREBENCH_LOG_LEVEL", "INFO")},
}
