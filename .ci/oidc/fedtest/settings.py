"""Minimal Django settings for the oidc-fed conformance check (.ci/check-oidc.sh).

One project, two roles chosen by OIDC_ROLE: "ta" (a Trust Anchor: entity configuration,
fetch and list endpoints) and "op" (an OpenID Provider of the SPID profile, with its entity
configuration under /oidc/op). Each role has its own SQLite database in OIDC_STATE and is
served by its own gunicorn over TLS on 127.0.0.1; the HTTP client of spid_cie_oidc (aiohttp)
trusts only the test CA in OIDC_CA.
"""
import os
import ssl

import aiohttp

ROLE = os.environ["OIDC_ROLE"]
if ROLE not in ("ta", "op"):
    raise RuntimeError(f"OIDC_ROLE must be ta or op, not {ROLE!r}")
STATE = os.environ["OIDC_STATE"]
TA_ID = os.environ["OIDC_TA_ID"]
OP_ID = os.environ["OIDC_OP_ID"]

SECRET_KEY = os.environ["OIDC_SECRET"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
APPEND_SLASH = False

INSTALLED_APPS = [
    "spid_cie_oidc.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "spid_cie_oidc.entity",
    "spid_cie_oidc.authority",
    "spid_cie_oidc.provider",
]
AUTH_USER_MODEL = "spid_cie_oidc_accounts.User"

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "fedtest.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # our stand-in for the Bootstrap Italia base template (see templates/)
        "DIRS": [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")],
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
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(STATE, f"{ROLE}.sqlite3"),
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
STATIC_URL = "static/"
STATIC_ROOT = os.path.join(STATE, "static")
LOGIN_URL = "/oidc/op/authorization"

# Federation: the one Trust Anchor of this test federation.
OIDCFED_DEFAULT_TRUST_ANCHOR = TA_ID
OIDCFED_TRUST_ANCHORS = [TA_ID]
OIDCFED_REQUIRED_TRUST_MARKS = []
# SPID profile: claims named https://attributes.eid.gov.it/..., acr SpidL1-3.
OIDCFED_PROVIDER_PROFILE = "spid"
OIDCFED_DEFAULT_PROVIDER_PROFILE = "spid"
OIDCFED_PROVIDER_SALT = SECRET_KEY

_TLS = ssl.create_default_context(cafile=os.environ["OIDC_CA"])
HTTPC_PARAMS = {
    "connection": {"ssl": _TLS},
    "session": {"timeout": aiohttp.ClientTimeout(total=8)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "spid_cie_oidc": {"handlers": ["console"], "level": "INFO"},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
