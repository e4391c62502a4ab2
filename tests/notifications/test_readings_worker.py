"""Device readings graded by a real Celery prefork worker on a private Redis (clinical-rules §10): a batch of
readings completing a sustained fever reaches the on-call nurse's phone through the loopback SMS provider, exactly
as a typed fever does (tests/notifications/test_worker_integration.py)."""

import datetime as dt
import os

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from monitoring.models import Alert, StreamGrading
from monitoring.signals import readings_stored
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tests.monitoring.stream_support import store, wear
from tests.services import FakeOutside, PreforkWorker, RedisServer, wait_until
from tracker.catalogue import sync_catalogue
from tracker.models import Reading, Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _point_celery_at(url: str) -> None:
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 5}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def outside():
    fake = FakeOutside().start()
    yield fake
    fake.stop()


@pytest.fixture
def worker(outside, tmp_path):
    """A private Redis and a prefork worker on it, this process publishing to it."""
    server = RedisServer()
    server.start()
    original = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    _point_celery_at(server.url)
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
                        f"{settings['PORT'] or 5432}/{settings['NAME']}",
        "REDIS_URL": server.url,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "SMS_BACKEND": "notifications.channels.sms.HttpProviderSmsBackend",
        "SMS_PROVIDER_URL": outside.url + "/sms",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    process = PreforkWorker(env, tmp_path / "worker.log", concurrency=2, name=f"readings-{os.getpid()}")
    process.start()
    yield process
    process.stop()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = original
    _point_celery_at(original[0])
    celery_app.conf.broker_transport_options = original[1]
    server.stop()


def test_readings_completing_a_sustained_fever_reach_the_nurse_by_sms(outside, worker):
    sync_catalogue(Therapy)  # transactional tests flush tables
    team = CareTeamFactory(name="Cellular Therapy")
    nurse = UserFactory(role=Role.NURSE, teams=[team], email="nurse@example.org", phone="+15550100001")
    patient = PatientFactory(care_team=team)
    CourseFactory(patient=patient)
    now = timezone.now()
    patch = wear(patient, started_at=now - dt.timedelta(hours=1))
    store(patch, [37.4] * 5 + [38.3] * 4, start=now - dt.timedelta(minutes=30))  # 6 minutes of fever so far
    readings_stored.send(sender=Reading, patients={patient.pk: now - dt.timedelta(minutes=30)})
    wait_until(lambda: StreamGrading.objects.filter(pk=patient.pk, pending_since__isnull=True,
                                                   graded_at__isnull=False).exists(),
               timeout=60, what="the worker grading the first batch")
    assert not Alert.objects.filter(patient=patient).exists()
    # The next batch completes ten minutes above 38.0 °C with every expected reading.
    since = store(patch, [38.4] * 3, start=now - dt.timedelta(minutes=12), received_at=timezone.now())
    readings_stored.send(sender=Reading, patients={patient.pk: since})

    wait_until(lambda: outside.json("/sms"), timeout=60, what="the nurse's SMS")
    sms = outside.json("/sms")
    assert [m["to"] for m in sms] == [nurse.phone]
    assert "/staff/alerts/" in sms[0]["text"]
    alert = Alert.objects.get(patient=patient)
    assert (alert.condition, alert.urgency) == ("crs", 3)
    assert alert.evidence[0]["device"]["readings"] >= 7
