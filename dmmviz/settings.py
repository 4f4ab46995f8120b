"""Django settings for dmmviz.

Defaults suit a classroom laptop with nothing else installed: a SQLite file next to the project and an in-memory channel
layer (one Daphne process). Environment variables switch to shared services:

- ``DATABASE_URL`` (e.g. ``postgres://postgres@127.0.0.1:5432/test``): the database, through dj-database-url.
- ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``): channels_redis, so several Daphne processes share session groups.
- ``DMMVIZ_DEBUG=1``: Django's debug pages. Off by default; static files are served either way (see asgi.py).
- ``DMMVIZ_ALLOWED_HOSTS``: extra host names, comma separated (loopback names are always allowed).
- ``DMMVIZ_SECRET_KEY``: the signing key; without it, the key file ``.secret_key`` (gitignored, mode 0600) made on first
  use (dmmviz/secret.py). Never a public default: a system check refuses one. Security settings: docs/security.md.
- ``DMMVIZ_REQUIRE_SHARED_SERVICES=1``: refuse to start without PostgreSQL and Redis (several workers, docs/deploy.md).
- ``DMMVIZ_WS_ECHO=1``: also route the bare JSON echo consumer at /ws/echo/ (bench/ws.py compares against it).
"""

import os
import tempfile
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


from dmmviz.secret import secret_key  # noqa: E402

SECRET_KEY = secret_key()  # DMMVIZ_SECRET_KEY, else the project's own key file; never a public default
DEBUG = _env_flag("DMMVIZ_DEBUG")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    host.strip() for host in os.environ.get("DMMVIZ_ALLOWED_HOSTS", "").split(",") if host.strip()
]

INSTALLED_APPS = [
    "daphne",  # first: its runserver replaces Django's with the ASGI one
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",  # log-in lock-out per account (AXES_* below)
    "dmmviz.apps.SiteConfig",  # site-wide checks (the secret key)
    "dmmviz.web",
    "dmmviz.lessons",  # lessons, practice, classes (owner: lessons engineer)
]

MIDDLEWARE = [
    "dmmviz.web.middleware.ServiceMiddleware",  # first: a stalled or absent database/Redis is a 503 within seconds
    "dmmviz.web.budget.PageBudgetMiddleware",  # engine work per page: CPU time, stop when cancelled (budget.py)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dmmviz.throttle.ThrottleMiddleware",  # wrong class codes, sign-ups, uploads: 429 (dmmviz/throttle.py)
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "dmmviz.urls"

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

ASGI_APPLICATION = "dmmviz.asgi.application"

# Database: a SQLite file unless DATABASE_URL says otherwise.
DATABASES = {
    # Persistent connections: the websocket consumer saves on every step, and opening a connection per save (and
    # running SQLite's PRAGMAs again) costs more than the save itself. Channels' database_sync_to_async still closes
    # connections that have gone bad.
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=None, conn_health_checks=True
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Many websocket clients write their sessions at once: wait for the lock instead of failing, and let readers
        # go on while one writes (WAL).
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a live Daphne started by browser tests sees the same test database; one per process
    # because several engineers (and CI) may run the tests in one tree at once.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"dmmviz-test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_dmmviz_{os.getpid()}"}
    # A PostgreSQL that accepts and never answers: a new connection gives up after 3 s, a statement the server runs
    # after 5 s; a stalled open connection is bounded by the waits in dmmviz/web (DMMVIZ_PAGE_TIMEOUT,
    # DMMVIZ_DB_TIMEOUT).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"connect_timeout": 3, "options": "-c statement_timeout=5000 -c lock_timeout=5000"}
    )
# Seconds a page may wait for its database before answering 503; seconds a websocket request waits for a database
# trip before answering an "unavailable" error frame.
DMMVIZ_PAGE_TIMEOUT = float(os.environ.get("DMMVIZ_PAGE_TIMEOUT", "8"))
DMMVIZ_DB_TIMEOUT = float(os.environ.get("DMMVIZ_DB_TIMEOUT", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: in memory (one process) unless REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool allows 100 connections by default and raises beyond; hundreds of sockets
                # each doing a group_send at once need more (1,000 failed at 850 sockets per process joining in a
                # burst; Redis allows 10,000 clients in all). redis-py 8 reads with a 5 s socket timeout by default,
                # the same 5 s that channels_redis blocks in BZPOPMIN waiting for a message: an idle consumer then
                # dies with "Timeout reading from 127.0.0.1:6379". Reads may take longer than that block.
                "hosts": [
                    {"address": REDIS_URL, "max_connections": 3000, "socket_timeout": 30, "socket_connect_timeout": 5}
                ],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# Several worker processes (deploy/, `make serve`): they must share the database and the channel layer, so refuse to
# start on SQLite or the in-memory layer rather than serve classes that silently split between processes.
if _env_flag("DMMVIZ_REQUIRE_SHARED_SERVICES"):
    from django.core.exceptions import ImproperlyConfigured

    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not REDIS_URL:
        raise ImproperlyConfigured(
            "DMMVIZ_REQUIRE_SHARED_SERVICES=1: set DATABASE_URL to a PostgreSQL database and REDIS_URL to a Redis "
            "server (docs/deploy.md)"
        )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# -- Security (docs/security.md; owner: security) -------------------------------------------------------------------
# Log-in lock-out: 5 wrong passwords lock that *account* for 15 minutes, whatever the address (a whole class shares
# one address behind NAT, so the address is never locked). django-axes keeps the failures in the database.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("DMMVIZ_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("DMMVIZ_LOGIN_LOCK_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# axes warns that the address is not locked: on purpose (a classroom shares one); addresses are throttled elsewhere.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Throttles (dmmviz/throttle.py): name -> (count, seconds), per client address unless said otherwise.
DMMVIZ_RATES = {
    "class_code": (200, 15 * 60),  # wrong class codes: far above a classroom's typing mistakes behind one NAT address
    "signup": (100, 60 * 60),
    "upload": (200, 60 * 60),  # scenario uploads from one address
    "upload_per_uploader": (30, 60 * 60),  # ... and from one account or browser session
}
# Throttle counts live in this cache: per process by default; DMMVIZ_CACHE_URL (e.g. redis://127.0.0.1:6379/1) shares
# them between the Daphne processes of a multi-process deployment.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("DMMVIZ_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["DMMVIZ_CACHE_URL"]}}

# Anonymous scenario uploads are deleted this many days after upload (`manage.py expire_uploads`, run by `make run`).
DMMVIZ_UPLOAD_TTL_DAYS = int(os.environ.get("DMMVIZ_UPLOAD_TTL_DAYS", "7"))

# Websocket origins allowed besides the page's own (dmmviz/origin.py), exact "scheme://host[:port]", comma separated.
DMMVIZ_ALLOWED_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"] + [
    origin.strip() for origin in os.environ.get("DMMVIZ_ALLOWED_ORIGINS", "").split(",") if origin.strip()
]

# Headers: scripts only from this site's files (no inline script, no eval); styles may be inline (the visualiser sets
# SVG style attributes); nothing framed, nothing fetched elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# DMMVIZ_HTTPS=1: the site is served over HTTPS (usually behind a TLS proxy that sets X-Forwarded-Proto): cookies are
# sent only over HTTPS and browsers are told to use HTTPS for a year (HSTS).
DMMVIZ_HTTPS = _env_flag("DMMVIZ_HTTPS")
if DMMVIZ_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DMMVIZ_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_flag("DMMVIZ_SSL_REDIRECT")
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if not host.startswith("[")]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".staticfiles"  # only for `collectstatic`; the server reads STATICFILES_DIRS directly

# Uploaded scenario files are small JSON documents; refuse anything larger before parsing it.
DMMVIZ_MAX_SCENARIO_BYTES = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024
# Any request body: refused with 413 before it is read (dmmviz/server.py, in Daphne; dmmviz/web/limits.py BodyLimit).
DMMVIZ_MAX_BODY_BYTES = int(os.environ.get("DMMVIZ_MAX_BODY_BYTES", str(1024 * 1024)))
# CPU seconds of engine work one page may take (export, compare, practice, lessons): then a 422 "too much work".
DMMVIZ_PAGE_CPU_SECONDS = float(os.environ.get("DMMVIZ_PAGE_CPU_SECONDS", "5"))
# Live simulations kept in memory per server process, in estimated bytes (dmmviz/web/live.py LiveCache).
DMMVIZ_LIVE_CACHE_BYTES = int(os.environ.get("DMMVIZ_LIVE_CACHE_BYTES", str(128 * 1024 * 1024)))
# Process tuning of the server entry point (python -m dmmviz.server): gc.freeze() after start-up and a 0.5 ms switch
# interval, for the websocket latency tail (docs/websocket.md). Off: DMMVIZ_PROCESS_TUNING=0.
DMMVIZ_PROCESS_TUNING = _env_flag("DMMVIZ_PROCESS_TUNING", default=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024

# Route the bare echo consumer used by bench/ws.py.
DMMVIZ_WS_ECHO = _env_flag("DMMVIZ_WS_ECHO")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line": {"()": "dmmviz.badrequest.OneLine"}},
    "formatters": {"line": {"format": "%(asctime)s %(levelname)-8s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # A request Django refused before any view (too many fields, a bad Host): a warning line, no traceback
        # (dmmviz/badrequest.py).
        "refused": {"class": "logging.StreamHandler", "filters": ["one_line"], "formatter": "line"},
    },
    "loggers": {
        "dmmviz": {"handlers": ["console"], "level": os.environ.get("DMMVIZ_LOG_LEVEL", "INFO")},
        "django.security": {"handlers": ["refused"], "level": "WARNING", "propagate": False},
    },
}
