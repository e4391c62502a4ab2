import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()


def load_and_freeze() -> None:
    """Import every view now (the URLconf), then take everything loaded so far out of the garbage
    collector's sight: its full collections then walk what requests create, not the whole framework
    (bench/dashboard.py saw one every ~15 dashboard requests, pausing that request 50-75 ms)."""
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.freeze()


load_and_freeze()
