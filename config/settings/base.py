"""Settings shared by every environment. Values come from the environment (django-environ).

Each environment module (local, test, production) imports this one and overrides what differs.
The defaults here are safe ones: DEBUG is off and there is no usable secret key.
"""

from pathlib import Path

import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A `.env` file is read only when asked (`make run` asks); elsewhere the environment alone configures the site.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "tracker",
    "monitoring",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tracker.security.NoStoreMiddleware",  # authenticated responses are never cached (patient data)
    # Outside the idle and two-factor checks, so the requests they stop are on record too.
    "tracker.audit.AuditMiddleware",
    "tracker.security.IdleTimeoutMiddleware",
    "tracker.security.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Paths that carry patient data (the URL space tracker/urls.py puts together from the apps): AuditMiddleware
# records every request under them, also those no view annotated with tracker.audit.audit().
AUDITED_PATH_PREFIXES = [
    "/patients/", "/staff/", "/api/v1/checkins/", "/api/v1/patients/", "/api/v1/courses/",  # records
    "/admin/tracker/",
    "/api/v1/alerts/", "/api/v1/windows/", "/admin/monitoring/",  # monitoring (its pages are under /staff/)
    "/admin/notifications/",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling and lockout
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "tracker.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "monitoring.context_processors.patient_monitoring",
            ],
        },
    },
]

# SQLite is the embedded default for the quick start; PostgreSQL in tests and production.
SQLITE_PATH = BASE_DIR / "var" / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing, write-ahead log.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # PostgreSQL's JIT compiles the dashboard's query on every request (about 200 ms of 400 at 10,000
    # patients, bench/dashboard.py); the queries here are short, so it costs far more than it saves.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A kept connection is checked before a request (and, in the worker, before each task: config/celery.py)
# reuses it, so a database restart or failover costs a reconnect, not an error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Reverse proxies in front of the site that append the client's address to X-Forwarded-For. 0: clients
# connect directly and REMOTE_ADDR is the client. One helper (tracker.security.client_ip) reads it for rate
# limits, the sign-in lockout and the audit trail; a forwarded address beyond the trusted hops is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tracker.security.ExpiringTokenAuthentication",
        "tracker.security.TwoFactorSessionAuthentication",
    ],
    # JSON nested deeper than tracker.api.parsers.MAX_DEPTH is refused with 400 before it is decoded.
    "DEFAULT_PARSER_CLASSES": [
        "tracker.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "tracker.api.schema.TrackerAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tracker.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tracker.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("RATE_LIMIT_LOGIN", default="10/min"),
        "checkin": env.str("RATE_LIMIT_CHECKIN", default="30/min"),
        "amend": env.str("RATE_LIMIT_AMEND", default="30/min"),
        # Batches of device readings per device key (a patch sends one every 2 minutes; a phone catching up
        # after a day offline sends a few dozen at once).
        "readings": env.str("RATE_LIMIT_READINGS", default="120/min"),
        # "Forgot your password?": requests per client address (429), and per email address asked for (beyond
        # it nothing more is sent, with the same answer: no account enumeration).
        "password_reset": env.str("RATE_LIMIT_PASSWORD_RESET", default="10/hour"),
        "password_reset_account": env.str("RATE_LIMIT_PASSWORD_RESET_ACCOUNT", default="3/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CAR T Tracker API",
    "DESCRIPTION": (
        "Home monitoring after CAR T-cell therapy and immune checkpoint inhibitors: patients and caregivers "
        "log check-ins; care teams review them. Every error has the shape "
        '{"type", "detail", "fields"} with the offending fields named.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CourseStatusEnum": "tracker.models.therapies.CourseStatus",
        "AlertStatusEnum": "monitoring.models.alerts.AlertStatus",
        "CallWithEnum": "monitoring.models.alerts.CallWith",
        "CallOutcomeEnum": "monitoring.models.alerts.CallOutcome",
        "DeviceKindEnum": "tracker.models.devices.DeviceKind",
        "BodySiteEnum": "tracker.models.devices.BodySite",
    },
}

# Celery. Redis when REDIS_URL is set; otherwise the filesystem broker under var/celery, so the
# quick start needs no server. Clinical work is acknowledged late and re-queued if a worker dies.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_FILESYSTEM_DIR = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / "var" / "celery")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacknowledged task (its worker died) is handed out again after this many seconds.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # A hung Redis must not hang a web thread or a worker: fail fast, the outbox sweep catches up.
        "socket_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=2.0),
        "socket_connect_timeout": env.float("BROKER_CONNECT_TIMEOUT", default=1.0),
        "health_check_interval": 10,
        # A worker takes from its queues in the order of CELERY_TASK_QUEUES, not in turn: alert work first.
        "queue_order_strategy": "priority",
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),  # kombu's default is ./control in the checkout
        "store_processed": False,
    }
# Two queues, and every worker takes from both unless started with -Q: `celery` (the default) carries everything
# a person waits for (check-in grading and alerts, notifications, escalations, scans, and the grading of device
# readings that hold a value past a limit); `readings` carries the grading of ordinary device readings, which
# under a heavy ingest can be minutes of work. With Redis a worker always empties `celery` first
# ("queue_order_strategy" above), so a fever's grading and its SMS never wait behind that backlog; a backlog
# shows in the health check (`readings_grading`).
CELERY_TASK_DEFAULT_QUEUE = "celery"
READINGS_QUEUE = "readings"
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, READINGS_QUEUE))
# The readings' hourly upkeep (new day partitions, roll-up, an index rebuilt) is bulk work too.
CELERY_TASK_ROUTES = {"notifications.tasks.reading_partitions_maintain_task": {"queue": READINGS_QUEUE}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits out a broker outage; it never gives up and exits
# Keep a worker's database connection across tasks (Celery's Django fix-up closes it after each by default);
# config/celery.py checks it before each task, so a kept connection that died is replaced, not used.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Publishing is tried once: a broker that is down or hung costs one socket timeout, then the database-side
# scans take over (notifications/services/enqueue.py).
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=1.0)  # per connection attempt

# Notifications. Links in messages point here; messages carry no names or diagnoses.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tracker@localhost")
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.channels.sms.ConsoleSmsBackend")
SMS_PROVIDER_URL = env.str("SMS_PROVIDER_URL", default="")
SMS_PROVIDER_TOKEN = env_secret("SMS_PROVIDER_TOKEN", default="")
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# A row left `sending` this long was being sent by a worker that died (every outside call times out
# sooner: outside.TIMEOUT_SECONDS, EMAIL_TIMEOUT), so the sweep sends it again.
NOTIFICATION_STUCK_SECONDS = env.int("NOTIFICATION_STUCK_SECONDS", default=45)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# The staff dashboard refreshes its rows this often (htmx polling).
DASHBOARD_POLL_SECONDS = env.int("DASHBOARD_POLL_SECONDS", default=10)

# Queue health (`manage.py queue_health`, `/health/`): operational thresholds, the same for every center.
HEALTH_ALERT_GRACE_SECONDS = env.int("HEALTH_ALERT_GRACE_SECONDS", default=120)  # past an escalation, or unnotified
HEALTH_WORKER_STALE_SECONDS = env.int("HEALTH_WORKER_STALE_SECONDS", default=120)  # the heartbeat runs every 30 s
HEALTH_SCAN_STALE_INTERVALS = env.int("HEALTH_SCAN_STALE_INTERVALS", default=4)  # x each scan's interval
# Device readings asked for grading longer ago than this are a problem (operational, not clinical).
HEALTH_READINGS_GRADING_SECONDS = env.int("HEALTH_READINGS_GRADING_SECONDS", default=300)
HEALTH_TOKEN = env_secret("HEALTH_TOKEN", default="")  # `Authorization: Bearer <it>` gets /health/'s messages

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django.template logs unresolved variables with the page's data at DEBUG: never let that reach a log.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django.template": {"level": "WARNING"}},
}

# Accounts and sessions (policy: a center may change these).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)  # signed out after this long without activity
SESSION_COOKIE_AGE = env.int("SESSION_MAX_HOURS", default=12) * 3600  # and after this long in any case
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=30)
# A retried write with the same Idempotency-Key gets the first answer for this long (clients are promised 24 h).
IDEMPOTENCY_KEY_HOURS = max(env.int("IDEMPOTENCY_KEY_HOURS", default=48), 24)
# Device readings (clinical-rules §10): raw readings are kept this many days, then only their five-minute
# summaries (tracker/reading_storage.py; policy). At least 2, so yesterday's late readings are never dropped.
READINGS_RETENTION_DAYS = max(env.int("READINGS_RETENTION_DAYS", default=30), 2)
REQUIRE_STAFF_2FA = env.bool("REQUIRE_STAFF_2FA", default=False)
OTP_TOTP_ISSUER = "CAR T Tracker"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # per person and address: a shared ward address is not locked by one typo
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tracker.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "tracker.security.client_ip"  # the real client behind TRUSTED_PROXY_COUNT proxies
# A staff member's first authenticator is set up only with a single-use enrolment code (a second channel):
# emailed to the address on file (unless turned off) or issued by an administrator; it expires after this long.
TWO_FACTOR_ENROLMENT_MINUTES = env.int("TWO_FACTOR_ENROLMENT_MINUTES", default=60)
TWO_FACTOR_ENROL_BY_EMAIL = env.bool("TWO_FACTOR_ENROL_BY_EMAIL", default=True)
# Enrolment: a patient's or caregiver's invitation link to set a first password works once, for this long.
INVITATION_HOURS = env.int("INVITATION_HOURS", default=72)
# "Forgot your password?": the emailed link works once (Django's token changes with the password), this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_MINUTES", default=60) * 60
AXES_VERBOSE = False

# Content Security Policy: everything from this site, nothing inline, no frames.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# The cache holds rate-limit counters only. A down or hung Redis must not tie up web threads: short socket
# timeouts, and the check-in path lets a request through (with a warning) when the cache does not answer.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.3)
CACHES = (
    {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL,  # Django's, one client per pool
                 "OPTIONS": {"socket_connect_timeout": CACHE_SOCKET_TIMEOUT, "socket_timeout": CACHE_SOCKET_TIMEOUT}}}
    if REDIS_URL else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)


SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
