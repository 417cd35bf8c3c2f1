"""Settings come from the environment, with safe embedded defaults.

Embedded mode (the default) keeps everything under GREENROOM_DATA_DIR (./var): the SQLite database,
the Celery broker (a SQLite file through kombu's SQLAlchemy transport), generated secret keys and
outgoing mail. Distributed mode sets DATABASE_URL, CELERY_BROKER_URL and CACHE_URL (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
TESTING = "pytest" in sys.modules or os.environ.get("GREENROOM_TESTING") == "1"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("GREENROOM_DATA_DIR", str(BASE_DIR.parent / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _generated_secret(filename: str, make: str = "token") -> str:
    """A secret kept in a 0600 file under DATA_DIR, created on first use.

    A fresh install gets unique keys without anyone choosing one; production sets the variable.
    """
    path = DATA_DIR / filename
    if not path.exists():
        if make == "fernet":
            from cryptography.fernet import Fernet

            value = Fernet.generate_key().decode()
        else:
            value = secrets.token_urlsafe(50)
        # Processes starting together on a fresh data directory (web, worker and beat) race to
        # make it: each writes its own file whole, and the first to link it under the name wins.
        # The others read the winner's, never a half-written or empty file.
        draft = DATA_DIR / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(value)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY") or _generated_secret("secret_key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]
BASE_URL = env("GREENROOM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "greenroom.core",
    "greenroom.networks",
    "greenroom.networks.sandbox",
    "greenroom.networks.connections",
    "greenroom.networks.bluesky",
    "greenroom.networks.mastodon",
    "greenroom.publishing",
    "greenroom.publishing.composer",
    "greenroom.demo",
    "greenroom.inbox",
    "greenroom.media",
    "greenroom.governance",
    "greenroom.accounts",
    "greenroom.compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "greenroom.accounts.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "greenroom.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "greenroom.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "greenroom.accounts.middleware.SessionSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "greenroom.urls"
ASGI_APPLICATION = "greenroom.asgi.application"
WSGI_APPLICATION = "greenroom.wsgi.application"

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
                "django.template.context_processors.i18n",
                "greenroom.core.context_processors.shell",
            ],
        },
    }
]

# Database: SQLite (WAL, immediate transactions so concurrent writers queue instead of failing)
# unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'greenroom.sqlite3'}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; the suite creates hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins allowed per username and per address before a pause.
LOGIN_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_S = int(env("LOGIN_FAILURE_WINDOW_S", "900"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sign-in security (docs/architecture/accounts.md). HSTS is sent on HTTPS requests only.
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
SESSION_IDLE_TIMEOUT_MINUTES = int(env("SESSION_IDLE_TIMEOUT_MINUTES", "30"))
MFA_ISSUER = env("MFA_ISSUER", "Greenroom")

CACHE_URL = env("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Shared by the web, worker and beat processes of embedded mode.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even when serving from the finders
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

# The media library (docs/architecture/media.md). These are Greenroom's own limits on uploads and
# renditions; what each network accepts comes from the rule table.
MEDIA_MAX_IMAGE_BYTES = int(env("MEDIA_MAX_IMAGE_BYTES", str(50_000_000)))
MEDIA_MAX_VIDEO_BYTES = int(env("MEDIA_MAX_VIDEO_BYTES", str(2_000_000_000)))
# A small file can claim huge dimensions (a decompression bomb): refused before it is decoded.
MEDIA_MAX_IMAGE_PIXELS = int(env("MEDIA_MAX_IMAGE_PIXELS", str(100_000_000)))
MEDIA_MAX_VIDEO_PIXELS = int(env("MEDIA_MAX_VIDEO_PIXELS", str(7680 * 4320)))
# Where renditions crop until someone sets a focal point: "centre" or "attention" (libvips'
# guess at the interesting region).
MEDIA_DEFAULT_FOCUS = env("MEDIA_DEFAULT_FOCUS", "centre")
# Longest side of a rendition for placements whose rules name no size.
MEDIA_IMAGE_MAX_EDGE = int(env("MEDIA_IMAGE_MAX_EDGE", "2048"))
MEDIA_VIDEO_MAX_EDGE = int(env("MEDIA_VIDEO_MAX_EDGE", "1920"))
MEDIA_JPEG_QUALITY = int(env("MEDIA_JPEG_QUALITY", "85"))
MEDIA_X264_PRESET = env("MEDIA_X264_PRESET", "veryfast")
MEDIA_X264_CRF = int(env("MEDIA_X264_CRF", "23"))
# An ffmpeg to use; empty: the newer of the system's ffmpeg and the one imageio-ffmpeg ships.
MEDIA_FFMPEG = env("MEDIA_FFMPEG")
# Image renditions take tens of milliseconds: made at once unless this is off (then by a worker).
MEDIA_RENDER_IMAGES_INLINE = env_bool("MEDIA_RENDER_IMAGES_INLINE", True)

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "greenroom@localhost")
if env("EMAIL_URL"):
    raise ImproperlyConfigured("EMAIL_URL is not supported; set EMAIL_BACKEND and EMAIL_HOST_*.")

# Vault: comma-separated Fernet keys, newest first (MultiFernet). Rotation: put a new key first,
# run `greenroom vault rotate`, then drop the old key.
VAULT_KEYS = [k.strip() for k in env("GREENROOM_VAULT_KEYS").split(",") if k.strip()] or [
    _generated_secret("vault_key", make="fernet")
]

# Networks enabled in this installation; an unknown kind stops start-up with a clear message.
GREENROOM_NETWORKS = [
    k.strip() for k in env("GREENROOM_NETWORKS", "sandbox").split(",") if k.strip()
]
# The sandbox network signs its webhooks with this secret.
SANDBOX_WEBHOOK_SECRET = env("SANDBOX_WEBHOOK_SECRET") or _generated_secret(
    "sandbox_webhook_secret"
)
SANDBOX_BASE_URL = env("SANDBOX_BASE_URL", f"{BASE_URL}/sandbox")
# The sandbox network (docs/architecture/sandbox.md): set SANDBOX_ENABLED=0 to stop serving it.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", True)
# Guards /sandbox/admin/ (accounts, failure settings); only tests, the demo and operators use it.
SANDBOX_ADMIN_KEY = env("SANDBOX_ADMIN_KEY") or _generated_secret("sandbox_admin_key")
# Default failure behaviour; /sandbox/admin/failures overrides it globally or per account.
SANDBOX_LATENCY_MS = int(env("SANDBOX_LATENCY_MS", "0" if TESTING else "40"))
SANDBOX_ERROR_RATE = float(env("SANDBOX_ERROR_RATE", "0"))
SANDBOX_RATE_LIMIT_PER_MINUTE = int(env("SANDBOX_RATE_LIMIT_PER_MINUTE", "600"))
SANDBOX_RETRY_AFTER_S = int(env("SANDBOX_RETRY_AFTER_S", "30"))
SANDBOX_TIMEOUT_RATE = float(env("SANDBOX_TIMEOUT_RATE", "0"))
SANDBOX_TIMEOUT_S = float(env("SANDBOX_TIMEOUT_S", "30"))
# How long Greenroom waits for the sandbox, and the sandbox for a webhook receiver.
SANDBOX_CLIENT_TIMEOUT_S = float(env("SANDBOX_CLIENT_TIMEOUT_S", "10"))
SANDBOX_WEBHOOK_TIMEOUT_S = float(env("SANDBOX_WEBHOOK_TIMEOUT_S", "10"))
# Bluesky and Mastodon do not push to Greenroom: their inboxes are polled this often (seconds).
GREENROOM_INBOX_POLL_SECONDS = float(env("GREENROOM_INBOX_POLL_SECONDS", "60"))
GREENROOM_INBOX_POLL_LEASE_SECONDS = float(env("GREENROOM_INBOX_POLL_LEASE_SECONDS", "300"))
# Inbox pages' live updates (docs/architecture/inbox.md): how long one event stream lasts before
# the browser reconnects, and how often an open conversation posts who is looking at it.
GREENROOM_INBOX_LIVE_SECONDS = float(env("GREENROOM_INBOX_LIVE_SECONDS", "240"))
GREENROOM_INBOX_PRESENCE_HEARTBEAT_S = int(env("GREENROOM_INBOX_PRESENCE_HEARTBEAT_S", "5"))
# Where Bluesky posts are seen on the web, for the post links Greenroom shows.
BLUESKY_WEB_URL = env("BLUESKY_WEB_URL", "https://bsky.app")
NETWORK_CLIENT_TIMEOUT_S = float(env("NETWORK_CLIENT_TIMEOUT_S", "20"))

# Inbox escalations: apprise URLs (comma-separated) told about every SLA breach, besides the team
# lead's own URL (docs/architecture/inbox.md). They may hold tokens: set them in the environment.
INBOX_ESCALATION_URLS = [
    u.strip() for u in env("GREENROOM_INBOX_ESCALATION_URLS").split(",") if u.strip()
]

# Celery: the database is the source of truth; the broker only carries work.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}")
if CELERY_BROKER_URL.startswith("sqla+sqlite:///"):
    _broker_file = CELERY_BROKER_URL.removeprefix("sqla+sqlite:///")

    def _broker_connection() -> sqlite3.Connection:
        # WAL and synchronous=NORMAL: a task sent in a few ms instead of tens (a full-sync
        # rollback journal). A power cut may lose the last messages; the database, not the
        # queue, holds the work (leases and the reconciler pick it up).
        connection = sqlite3.connect(_broker_file, timeout=30, check_same_thread=False)
        # Kept by the file once set. If another process holds it in the old mode, it still
        # works, only slower.
        with contextlib.suppress(sqlite3.OperationalError):
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    # kombu's SQLAlchemy transport hands its transport options to create_engine().
    CELERY_BROKER_TRANSPORT_OPTIONS = {"creator": _broker_connection}
# How often an embedded (SQLite broker) worker looks for the next task when it cannot take one.
BROKER_POLL_S = float(env("BROKER_POLL_S", "0.05"))
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = TESTING
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
WORKER_HEARTBEAT_S = 15

LOG_FORMAT = env("LOG_FORMAT", "json" if not DEBUG else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "greenroom.core.logging.RequestContextFilter"},
        "redact": {"()": "greenroom.core.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "greenroom.core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

# Publishing engine (docs/architecture/publishing.md). Workers renew the leases they hold every
# quarter of PUBLISHING_LEASE_S; beat dispatches every PUBLISHING_DISPATCH_EVERY_S seconds, and
# busy workers take back expired leases every PUBLISHING_RECLAIM_EVERY_S themselves.
PUBLISHING_DISPATCH_EVERY_S = float(env("PUBLISHING_DISPATCH_EVERY_S", "2"))
PUBLISHING_RECLAIM_EVERY_S = float(env("PUBLISHING_RECLAIM_EVERY_S", "10"))
PUBLISHING_LEASE_S = float(env("PUBLISHING_LEASE_S", "60"))
PUBLISHING_MAX_ATTEMPTS = int(env("PUBLISHING_MAX_ATTEMPTS", "8"))
PUBLISHING_BACKOFF_BASE_S = float(env("PUBLISHING_BACKOFF_BASE_S", "5"))
PUBLISHING_BACKOFF_MAX_S = float(env("PUBLISHING_BACKOFF_MAX_S", "900"))
# Variants a task claims and publishes at a time, and the network calls it makes at once (the
# time goes into waiting for the network). Tests send one at a time.
PUBLISHING_TASK_CHUNK = int(env("PUBLISHING_TASK_CHUNK", "16"))
PUBLISHING_TASK_THREADS = int(env("PUBLISHING_TASK_THREADS", "1" if TESTING else "8"))
# Publishing loops to keep going while posts are due (each claims a chunk, publishes it, claims
# the next): about the worker slots publishing may use, 2 prefork processes in embedded mode. In
# distributed mode set it to the number of worker processes (threads) across machines.
PUBLISHING_LOOPS = int(env("PUBLISHING_LOOPS", "2"))
# A task goes on claiming and publishing what is due for this long before it hands over to a
# fresh task at the back of the queue: what queued meanwhile (a claimed chunk, beat's dispatch and
# reconciler, inbox work) waits at most about this long behind publishing.
PUBLISHING_TASK_BUDGET_S = float(env("PUBLISHING_TASK_BUDGET_S", "5"))

# Bulk import of posts from CSV (Greenroom's own limits; each post's limits are the rule table's).
# Approvers get a reminder this long before an approval is due (greenroom/publishing/deadlines.py).
PUBLISHING_APPROVAL_REMIND_BEFORE_S = float(env("PUBLISHING_APPROVAL_REMIND_BEFORE_S", "7200"))
PUBLISHING_IMPORT_MAX_ROWS = int(env("PUBLISHING_IMPORT_MAX_ROWS", "2000"))
PUBLISHING_IMPORT_MAX_BYTES = int(env("PUBLISHING_IMPORT_MAX_BYTES", str(5_000_000)))
