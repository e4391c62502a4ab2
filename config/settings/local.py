"""Local development and the quick start: SQLite and the filesystem broker unless configured."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# The embedded defaults keep their files under var/ (git-ignored).
for folder in (SQLITE_PATH.parent, *(CELERY_FILESYSTEM_DIR / name for name in ("queue", "processed", "control"))):  # noqa: F405
    folder.mkdir(parents=True, exist_ok=True)

# The quick start is also the demo: a 404 or an error shows the product's own page (tracker/error_pages.py),
# not Django's debug pages, while DEBUG keeps the rest of what it gives a developer. DJANGO_DEBUG_ERROR_PAGES=on
# brings the debug pages (URL list, traceback) back.
DEBUG_ERROR_PAGES = env.bool("DJANGO_DEBUG_ERROR_PAGES", default=False)
MIDDLEWARE = [*MIDDLEWARE, "tracker.error_pages.ProductErrorPagesMiddleware"]  # noqa: F405
