"""Device readings graded by a real Celery prefork worker on a private Redis (clinical-rules §10): a batch of
readings posted to the readings API with the device's key, completing a sustained fever, reaches the on-call
nurse's phone through the loopback SMS provider, exactly as a typed fever does
(tests/notifications/test_worker_integration.py)."""

import datetime as dt
import os

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from monitoring.models import Alert, StreamGrading
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tests.monitoring.stream_support import wear
from tests.services import FakeOutside, PreforkWorker, RedisServer, wait_until
from tracker.catalogue import sync_catalogue
from tracker.models import DeviceCredential, Role, Therapy

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
    _credential, key = DeviceCredential.issue(patch.device, created_by=nurse)
    gateway = Client()

    def post(values, start):
        """A batch from the patch's phone gateway: a reading every 2 minutes from `start`."""
        body = {"readings": [{"type": "temperature", "value": value, "unit": "Cel",
                              "measured_at": (start + dt.timedelta(minutes=2 * i)).isoformat()}
                             for i, value in enumerate(values)]}
        answer = gateway.post("/api/v1/readings/", body, content_type="application/json",
                              headers={"Authorization": f"Device {key}"})
        assert answer.status_code == 202 and answer.json()["stored"] == len(values), answer.content

    post([37.4] * 5 + [38.3] * 4, now - dt.timedelta(minutes=30))  # 6 minutes of fever so far
    wait_until(lambda: StreamGrading.objects.filter(pk=patient.pk, pending_since__isnull=True,
                                                   graded_at__isnull=False).exists(),
               timeout=60, what="the worker grading the first batch")
    assert not Alert.objects.filter(patient=patient).exists()
    # The next batch completes ten minutes above 38.0 °C with every expected reading.
    post([38.4] * 3, now - dt.timedelta(minutes=12))

    wait_until(lambda: outside.json("/sms"), timeout=60, what="the nurse's SMS")
    sms = outside.json("/sms")
    assert [m["to"] for m in sms] == [nurse.phone]
    assert "/staff/alerts/" in sms[0]["text"]
    alert = Alert.objects.get(patient=patient)
    assert (alert.condition, alert.urgency) == ("crs", 3)
    assert alert.evidence[0]["device"]["readings"] >= 7
