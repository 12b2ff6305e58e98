"""Tongxin settings: one module, every knob a TONGXIN_* environment variable.

Development needs no configuration at all: secrets are generated once into the data directory.
Production (TONGXIN_ENV=production) refuses to start without a real secret key, encryption key
and allowed hosts, and turns on every transport-security setting that `check --deploy` wants.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from tongxin.core.env import envbool, envchoice, envint, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

TONGXIN_ENV = envchoice("TONGXIN_ENV", "development", ("development", "production"))
PRODUCTION = TONGXIN_ENV == "production"
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

DATA_DIR = Path(envstr("TONGXIN_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret(file_name: str, make: callable) -> str:
    """A per-installation development secret kept in the data directory (never in git)."""
    path = DATA_DIR / "secrets" / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = envsecret("TONGXIN_SECRET_KEY")
ENCRYPTION_KEY = envsecret("TONGXIN_ENCRYPTION_KEY")
if PRODUCTION:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "TONGXIN_SECRET_KEY must be a random value of 50+ characters in production"
        )
    if not ENCRYPTION_KEY:
        raise ImproperlyConfigured("TONGXIN_ENCRYPTION_KEY must be set in production")
else:
    SECRET_KEY = SECRET_KEY or _development_secret("secret_key", lambda: secrets.token_urlsafe(64))
    ENCRYPTION_KEY = ENCRYPTION_KEY or _development_secret(
        "encryption_key", lambda: secrets.token_hex(32)
    )
try:
    if len(bytes.fromhex(ENCRYPTION_KEY)) != 32:
        raise ValueError
except ValueError as exc:
    raise ImproperlyConfigured("TONGXIN_ENCRYPTION_KEY must be 64 hexadecimal characters") from exc
# Retired master keys that may still open values sealed before a key change, until
# `manage.py rotate_encryption_key` has re-encrypted everything (comma-separated, 64 hex each).
ENCRYPTION_OLD_KEYS = [
    k.strip() for k in envsecret("TONGXIN_OLD_ENCRYPTION_KEYS").split(",") if k.strip()
]

DEBUG = envbool("TONGXIN_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("TONGXIN_DEBUG must be off in production")

ALLOWED_HOSTS = [h for h in envstr("TONGXIN_ALLOWED_HOSTS", "").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    if PRODUCTION:
        raise ImproperlyConfigured("TONGXIN_ALLOWED_HOSTS must list the site's host names")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [
    o for o in envstr("TONGXIN_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_htmx",
    "huey.contrib.djhuey",
    "tongxin.core",
    "tongxin.accounts",
    "tongxin.orgs",
    "tongxin.notify",
    "tongxin.people",
    "tongxin.grids",
    "tongxin.events",
    "tongxin.cobuild",
    "tongxin.outreach",
    "tongxin.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tongxin.core.middleware.RequestContextMiddleware",
    "tongxin.accounts.middleware.PasswordExpiryMiddleware",
    "tongxin.core.middleware.NoStoreMiddleware",
    # Axes must be last: it turns a locked-out authentication attempt into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tongxin.urls"
WSGI_APPLICATION = "tongxin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tongxin" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongxin.core.context_processors.navigation",
            ],
        },
    },
]

_DATABASE_URL = envstr("TONGXIN_DATABASE_URL")
if _DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(_DATABASE_URL, conn_max_age=60)}
    # One test database per test process, so concurrent runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_tongxin_{os.getpid()}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "tongxin.sqlite3",
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
            # failing with "database is locked" halfway through a transaction.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA cache_size=-65536;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        # Ours: Django 5.2's zh-Hans catalogue lacks this message, so the stock one is English.
        "NAME": "tongxin.accounts.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "tongxin.accounts.validators.CharacterClassValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_MAX_AGE_DAYS = envint("TONGXIN_PASSWORD_MAX_AGE_DAYS", 90, minimum=0)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login failures lock the *username* (SECURITY.md 3): locking by IP alone would lock a whole
# street office behind one NAT and still let an attacker rotate addresses.
AXES_FAILURE_LIMIT = envint("TONGXIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("TONGXIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tongxin.accounts.views.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
# The sign-in code (two-factor step) is kept out of django-axes' attempt log like the password.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp"]
# Deliberate (SECURITY.md 3): the lock is per username; per-IP throttling of the login endpoints
# is the API throttle's job, and an IP lock would shut out a whole office behind one NAT.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = envint("TONGXIN_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
API_TOKEN_TTL = timedelta(hours=envint("TONGXIN_API_TOKEN_HOURS", 8, minimum=1))
# Two-factor sign-in (SECURITY.md 5, docs/operations.md): "officials" makes every official enrol
# an authenticator app before anything else; "off" (development, demo) forces nobody. Under
# both, users who have enrolled give their code at every sign-in.
REQUIRE_2FA = envchoice(
    "TONGXIN_REQUIRE_2FA", "officials" if PRODUCTION else "off", ("officials", "off")
)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "tongxin" / "static",
    # Front-end libraries come from the npm registry at install time and are served locally:
    # the platform must work on an isolated government intranet with no CDN.
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "uploads"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = not PRODUCTION

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tongxin.accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tongxin.core.policy.PolicyPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tongxin.core.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tongxin.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "30/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "同心 Tongxin API",
    "DESCRIPTION": "城市基层党建与网格化治理平台接口。认证：POST /api/v1/auth/token/ 取得令牌，"
    "之后在请求头中携带 `Authorization: Token <token>`。",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a field called status / level / category with different choices;
    # name each choice set after its model so the schema stays stable and readable.
    "ENUM_NAME_OVERRIDES": {
        "GridCrsEnum": "tongxin.grids.geo.CRS_ENUM",
        "NeedCategoryEnum": "tongxin.grids.models.NeedCategory",
        "FollowUpStatusEnum": "tongxin.grids.models.FollowUpStatus",
        "OrgCategoryEnum": "tongxin.orgs.models.OrgCategory",
        "ProjectStatusEnum": "tongxin.orgs.models.ProjectStatus",
        # orgs' node level and events' handling level are both called `level` in the API.
        "OrgLevelEnum": "tongxin.orgs.models.Level",
        "EventStateEnum": "tongxin.events.models.State",
        "EventLevelEnum": "tongxin.events.models.HandlingLevel",
        "EventSourceEnum": "tongxin.events.models.Source",
        "EventPriorityEnum": "tongxin.events.models.Priority",
        "EventActionEnum": "tongxin.events.models.Action",
        "EventAssignmentStateEnum": "tongxin.events.models.AssignmentState",
        "Open311StatusEnum": "tongxin.events.open311.STATUS_CHOICES",
        "AgreementStatusEnum": "tongxin.cobuild.models.AgreementStatus",
        "CommitmentSideEnum": "tongxin.cobuild.models.CommitmentSide",
        "CommitmentAreaEnum": "tongxin.cobuild.models.CommitmentArea",
        "CommitmentStateEnum": "tongxin.cobuild.models.CommitmentState",
        "SecondmentDirectionEnum": "tongxin.cobuild.models.SecondmentDirection",
        "SecondmentRoleEnum": "tongxin.cobuild.models.SecondmentRole",
        "CobuildResourceKindEnum": "tongxin.cobuild.models.ResourceKind",
        "CobuildNeedStatusEnum": "tongxin.cobuild.models.NeedStatus",
        "ServiceProjectStateEnum": "tongxin.cobuild.models.ProjectState",
        "VenueBookingStatusEnum": "tongxin.cobuild.models.BookingStatus",
        "ResolutionStatusEnum": "tongxin.cobuild.models.ResolutionStatus",
        "EvaluationRoundStatusEnum": "tongxin.cobuild.models.RoundStatus",
        "EvaluationRoundActionEnum": "tongxin.cobuild.models.RoundAction",
        "EvaluationDirectionEnum": "tongxin.cobuild.models.EvaluationDirection",
        "AwardKindEnum": "tongxin.cobuild.models.AwardKind",
        "ConsultationSubjectEnum": "tongxin.cobuild.models.ConsultationSubject",
        "ConsultationOpinionEnum": "tongxin.cobuild.models.ConsultationOpinion",
        # cobuild's role / kind / direction fields make these existing sets collide
        "AccountRoleEnum": "tongxin.accounts.models.Role",
        "OrgKindEnum": "tongxin.orgs.models.OrgKind",
        "FloatDirectionEnum": "tongxin.people.models.FloatDirection",
        "WishStateEnum": "tongxin.outreach.models.WishState",
        "WishCategoryEnum": "tongxin.outreach.models.WishCategory",
        "OrderStateEnum": "tongxin.outreach.models.OrderState",
        "OrderKindEnum": "tongxin.outreach.models.OrderKind",
        "SignupStateEnum": "tongxin.outreach.models.SignupState",
        "HoursClaimStateEnum": "tongxin.outreach.models.HoursClaimState",
        "HoursSourceEnum": "tongxin.outreach.models.HoursSource",
        "ActivityStateEnum": "tongxin.outreach.models.ActivityState",
        "ServicePointKindEnum": "tongxin.outreach.models.ServicePointKind",
    },
}

# Background jobs: SQLite file in the data directory by default, Redis when configured.
REDIS_URL = envstr("TONGXIN_REDIS_URL")
_JOBS_IMMEDIATE = envbool("TONGXIN_JOBS_IMMEDIATE", default=TESTING)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "tongxin",
        "url": REDIS_URL,
        "immediate": _JOBS_IMMEDIATE,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tongxin",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": _JOBS_IMMEDIATE,
    }
HUEY["consumer"] = {"workers": envint("TONGXIN_WORKERS", 2, minimum=1), "worker_type": "thread"}

# Events (read by tongxin/events/conf.py, which holds the same defaults).
EVENTS_DUPLICATE_RADIUS_M = envint("TONGXIN_EVENTS_DUPLICATE_RADIUS_M", 200, minimum=10)
EVENTS_DUPLICATE_DAYS = envint("TONGXIN_EVENTS_DUPLICATE_DAYS", 30, minimum=1)
EVENTS_RATING_WORKDAYS = envint("TONGXIN_EVENTS_RATING_WORKDAYS", 5, minimum=1)
EVENTS_PHOTO_MAX_COUNT = envint("TONGXIN_EVENTS_PHOTO_MAX_COUNT", 6, minimum=0)
EVENTS_PHOTO_MAX_BYTES = envint("TONGXIN_EVENTS_PHOTO_MAX_MB", 8, minimum=1) * 1024 * 1024

# Notification channels beyond the in-app inbox. Off by default: no external calls.
NOTIFY_SMS_GATEWAY_URL = envstr("TONGXIN_SMS_GATEWAY_URL")
NOTIFY_WECHAT_GATEWAY_URL = envstr("TONGXIN_WECHAT_GATEWAY_URL")

# The grid map's base layer (docs/grids.md). Empty URL: no tiles, grids drawn on a plain background.
MAP_TILE_URL = envstr("TONGXIN_MAP_TILE_URL")
MAP_TILE_ATTRIBUTION = envstr("TONGXIN_MAP_TILE_ATTRIBUTION")
MAP_TILE_SUBDOMAINS = envstr("TONGXIN_MAP_TILE_SUBDOMAINS", "abc")
MAP_TILE_CRS = envchoice("TONGXIN_MAP_TILE_CRS", "wgs84", ("wgs84", "gcj02"))

# Spreadsheet import and export (docs/imports.md). The web server in front must accept uploads
# of IMPORT_MAX_MB (nginx client_max_body_size).
IMPORT_MAX_MB = envint("TONGXIN_IMPORT_MAX_MB", 20, minimum=1)
IMPORT_MAX_ROWS = envint("TONGXIN_IMPORT_MAX_ROWS", 100_000, minimum=1)
EXPORT_MAX_ROWS = envint("TONGXIN_EXPORT_MAX_ROWS", 100_000, minimum=1)

# Retention of personal data (SECURITY.md 14, core/retention.py): anonymized when past these.
RETENTION_MOVED_OUT_YEARS = envint("TONGXIN_RETENTION_MOVED_OUT_YEARS", 3, minimum=1)
RETENTION_EVENT_REPORTER_YEARS = envint("TONGXIN_RETENTION_EVENT_REPORTER_YEARS", 2, minimum=1)
RETENTION_VISIT_TEXT_YEARS = envint("TONGXIN_RETENTION_VISIT_TEXT_YEARS", 3, minimum=1)
RETENTION_LOGIN_LOG_DAYS = envint("TONGXIN_RETENTION_LOGIN_LOG_DAYS", 180, minimum=180)
# Audit records are never deleted by the application; the DBA archives them after at least this.
RETENTION_AUDIT_MIN_DAYS = 180

DEMO_PASSWORD = "Tongxin-demo-2026"  # noqa: S105 - published demo credential; production refuses demo data

if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("TONGXIN_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("TONGXIN_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("TONGXIN_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

if TESTING:
    # Tests create hundreds of users; the production hasher would dominate the run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
