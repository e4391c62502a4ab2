"""Shared fixtures: one person per role, like the people of shared/journeys.md.

`patient` has a CAR T course on team A; `caregiver` is linked to them; `nurse` is on team A,
`other_nurse` on team B (with `other_patient`, on a checkpoint inhibitor); `physician` and
`charge_nurse` on team A; `admin` sees everything. `eager_tasks` runs Celery tasks in the test process,
`outside_calls` records every HTTP call to the SMS provider and paging webhooks, `enqueued` records hand-offs
to the broker.
"""

import os

import pytest
from rest_framework.test import APIClient

from config.celery import app
from notifications import outside
from tests.factories import CaregiverLinkFactory, CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tests.notifications.notif_support import SMS_URL, OutsideRecorder
from tracker.models import Role, Therapy


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit and lockout counters never leak from one test into the next."""
    from django.core.cache import cache

    from notifications.services.enqueue import reset_for_tests

    cache.clear()
    reset_for_tests()  # a test that took the broker down does not leave it marked down for the next
    yield
    cache.clear()


@pytest.fixture
def team_a(db):
    return CareTeamFactory(name="Cellular Therapy")


@pytest.fixture
def team_b(db):
    return CareTeamFactory(name="Thoracic Oncology")


@pytest.fixture
def patient(team_a):
    p = PatientFactory(care_team=team_a, first_name="Maria", last_name="Lopez")
    CourseFactory(patient=p)
    return p


@pytest.fixture
def other_patient(team_b):
    p = PatientFactory(care_team=team_b, first_name="Robert", last_name="Chen", time_zone="America/Chicago")
    CourseFactory(patient=p, therapy=Therapy.objects.get(code="pembrolizumab"))
    return p


@pytest.fixture
def caregiver(patient):
    return CaregiverLinkFactory(patient=patient).user


@pytest.fixture
def nurse(team_a):
    return UserFactory(role=Role.NURSE, teams=[team_a])


@pytest.fixture
def charge_nurse(team_a):
    return UserFactory(role=Role.CHARGE_NURSE, teams=[team_a])


@pytest.fixture
def physician(team_a):
    return UserFactory(role=Role.PHYSICIAN, teams=[team_a])


@pytest.fixture
def other_nurse(team_b):
    return UserFactory(role=Role.NURSE, teams=[team_b])


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user(api):
    """as_user(user) -> an APIClient authenticated as that user (None: anonymous)."""

    def _as(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _as


# --- Celery and the outside world (notifications) ---------------------------------------------------------------

@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the test process, exceptions propagating; restored afterwards."""
    old = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def outside_calls(monkeypatch, settings):
    """SMS through the HTTP provider adapter; every HTTP call lands in the returned recorder."""
    settings.SMS_BACKEND = "notifications.channels.sms.HttpProviderSmsBackend"
    settings.SMS_PROVIDER_URL = SMS_URL
    settings.SMS_PROVIDER_TOKEN = "provider-token"
    recorder = OutsideRecorder()
    monkeypatch.setattr(outside, "http_post", recorder)
    return recorder


@pytest.fixture
def enqueued(monkeypatch):
    """Replace notification_deliver_task.delay: returns the list of ids handed to the broker."""
    from notifications.tasks import notification_deliver_task

    ids: list[int] = []
    monkeypatch.setattr(notification_deliver_task, "delay", lambda notification_id: ids.append(notification_id))
    return ids


CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run (Playwright's sync API allows one driver per thread). Debian's
    /usr/bin/chromium: a missing browser is a failure, never a skip."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does when run as root).")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()
