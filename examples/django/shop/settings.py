"""Settings of the example shop: a minimal Django project that talks to the gateway.

GATEWAY_CONFIG names the gateway's configuration file: the proxy reads its [webapp] section to
find the gateway and its credentials (the shared-configuration policy, docs/WEBAPP.md).
"""
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# The Python proxy lives in clients/python of the gateway's repository; a real project would
# install or vendor gateway_proxy.py.
sys.path.insert(0, str(BASE_DIR.parent.parent / "clients" / "python"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "orders.apps.OrdersConfig",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "shop.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# The gateway: its configuration file, and the WebSocket URL and realm browsers connect to.
GATEWAY_CONFIG = os.environ.get("GATEWAY_CONFIG", str(BASE_DIR / "gateway.toml"))
GATEWAY_WS_URL = os.environ.get("GATEWAY_WS_URL", "ws://127.0.0.1:8080/ws")
GATEWAY_REALM = os.environ.get("GATEWAY_REALM", "realm1")
