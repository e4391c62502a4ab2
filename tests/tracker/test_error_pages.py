"""The product's own error pages (404, 500, 503), also in the quick start where DEBUG is on
(tracker/error_pages.py): a patient or nurse trying the demo never meets Django's yellow URL list or a
traceback; `DJANGO_DEBUG_ERROR_PAGES=on` gives a developer those back."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django import db
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PAGES = "tracker.error_pages.ProductErrorPagesMiddleware"
DJANGO_404 = "Using the URLconf defined in"

QUICK_START_404 = """
import django
django.setup()
from django.conf import settings
from django.test import Client
assert settings.DEBUG, "the quick start runs with DEBUG on"
for path in ("/no-such-page/", "/patients/not-a-patient/"):
    page = Client().get(path, headers={"accept-language": "en"})
    html = page.content.decode()
    assert page.status_code == 404, (path, page.status_code)
    assert "Using the URLconf" not in html and "Page not found at" not in html, html[:2000]
    assert '<h1>Not found</h1>' in html and 'class="brand"' in html and "favicon.svg" in html, html
api = Client().get("/api/v1/no-such-thing/")
assert api.status_code == 404 and api.json()["type"] == "not_found", api.content
print("product 404 page: ok")
"""


def test_a_404_in_the_quick_start_shows_the_products_page_not_djangos_url_list(tmp_path):
    """The quick start's own settings (config.settings.local, DEBUG on), in a process of its own."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               CELERY_FILESYSTEM_DIR=str(tmp_path / "celery"), DJANGO_DEBUG="true", PYTHONPATH=str(ROOT),
               DJANGO_ALLOWED_HOSTS="testserver")
    env.pop("DJANGO_DEBUG_ERROR_PAGES", None)
    result = subprocess.run([sys.executable, "-c", QUICK_START_404], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "product 404 page: ok" in result.stdout, result.stderr[-4000:]


@pytest.fixture
def quick_start(settings):
    """The quick start's error-page settings in this process: DEBUG on, the middleware last."""
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = False
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, PRODUCT_PAGES]
    return settings


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_with_debug_on_a_patient_gets_the_products_404_for_an_unknown_url_and_for_a_view_that_finds_nothing(
        quick_start, patient):
    client = signed_in(patient.user)
    for path in ("/no-such-page/", f"/patients/{uuid.uuid4()}/"):
        page = client.get(path)
        html = page.content.decode()
        assert page.status_code == 404, path
        assert DJANGO_404 not in html and "No such patient in your care" not in html
        assert "<h1>Not found</h1>" in html
        assert "Sign out" in html  # the site's own header, signed in
    assert client.get("/staff").status_code == 301  # CommonMiddleware still adds the missing slash


def test_with_debug_on_the_404_speaks_the_readers_language(quick_start, patient):
    from django.utils import translation

    client = signed_in(patient.user)
    client.cookies["django_language"] = "es"
    html = client.get("/no-such-page/").content.decode()
    with translation.override("es"):
        assert f"<h1>{translation.gettext('Not found')}</h1>" in html
    assert '<html lang="es">' in html


def test_with_debug_on_an_error_shows_the_products_500_page_and_logs_the_traceback(quick_start, patient,
                                                                                    monkeypatch, caplog):
    from tracker import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "patients_visible_to", broken)
    page = signed_in(patient.user).get(f"/patients/{patient.uuid}/")
    html = page.content.decode()
    assert page.status_code == 500
    assert "Traceback" not in html and "RuntimeError" not in html
    assert "<h1>Something went wrong</h1>" in html and 'href="tel:911"' in html
    assert any(record.exc_info and "a bug" in str(record.exc_info[1]) for record in caplog.records)


def test_with_debug_on_a_lost_database_shows_the_503_page_with_retry_after(quick_start, patient, monkeypatch):
    from tracker import selectors

    def gone(*args, **kwargs):
        raise db.OperationalError("the connection was lost")

    monkeypatch.setattr(selectors, "patients_visible_to", gone)
    page = signed_in(patient.user).get(f"/patients/{patient.uuid}/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "<h1>Please try again in a few seconds</h1>" in page.content.decode()


def test_djangos_debug_pages_come_back_with_django_debug_error_pages(quick_start, patient):
    quick_start.DEBUG_ERROR_PAGES = True
    page = signed_in(patient.user).get("/no-such-page/")
    assert page.status_code == 404 and DJANGO_404 in page.content.decode()


def test_with_debug_off_the_handlers_answer_as_before(patient):
    """Tests and production: DEBUG off, the middleware not in use; Django calls handler404 itself."""
    page = signed_in(patient.user).get("/no-such-page/")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.content.decode()
    api = signed_in(patient.user).get("/api/v1/no-such-thing/")
    assert api.status_code == 404 and api.json()["type"] == "not_found"
