"""Alert delivery with a real Celery worker process on a real Redis broker (the README's test command
runs these; CI too). The outside world (SMS provider, paging webhook) is a loopback HTTP server; email
goes to Django's file backend. Timing is not asserted here: bench/ measures latency."""

import hashlib
import hmac
import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app as celery_app
from monitoring.models import Alert, AlertStatus
from notifications.models import DeliveryAttempt, Notification, NotificationStatus, PagingWebhook
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tests.services import FakeOutside, RedisServer, Worker, wait_until
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FEVER_WITH_DIZZINESS = {"temperature": "38.4", "dizzy_or_fainting": True}


def _point_celery_at(url: str) -> None:
    """Publish from this process to the given broker (pools are rebuilt on next use)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 5}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outside():
    fake = FakeOutside().start()
    yield fake
    fake.stop()


@pytest.fixture
def broker(redis_server):
    original = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    if redis_server.process is None:
        redis_server.start()
    import redis

    redis.Redis.from_url(redis_server.url).flushall()  # no task left over from another test
    _point_celery_at(redis_server.url)
    yield redis_server
    if redis_server.process is None:
        redis_server.start()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = original
    _point_celery_at(original[0])
    celery_app.conf.broker_transport_options = original[1]


@pytest.fixture
def worker_factory(broker, outside, tmp_path):
    workers = []
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
                        f"{settings['PORT'] or 5432}/{settings['NAME']}",
        "REDIS_URL": broker.url,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "NOTIFICATION_STUCK_SECONDS": "2",
        "SMS_BACKEND": "notifications.channels.sms.HttpProviderSmsBackend",
        "SMS_PROVIDER_URL": outside.url + "/sms",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }

    def start() -> Worker:
        worker = Worker(env, tmp_path / f"worker{len(workers)}.log")
        worker.start()
        workers.append(worker)
        return worker

    start.mail_dir = mail_dir
    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def care_setup(db, outside):
    """A team with a nurse, charge nurse and physician (emails and phones), a paging webhook, and a CAR T
    patient. Transactional tests flush tables, so the catalogue is loaded again."""
    sync_catalogue(Therapy)
    team = CareTeamFactory(name="Cellular Therapy")
    people = {
        role: UserFactory(role=role, teams=[team], email=f"{role}@example.org", phone=f"+1555010{n:04d}")
        for n, role in enumerate([Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN])
    }
    hook = PagingWebhook.objects.create(team=team, url=outside.url + "/page", secret="ward-secret")
    patient = PatientFactory(care_team=team)
    CourseFactory(patient=patient)
    return {"team": team, "patient": patient, "hook": hook, **people}


def _post_checkin(user, payload):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/checkins/", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _sent_to(user) -> set[str]:
    return set(Notification.objects.filter(recipient=user, status=NotificationStatus.SENT).values_list("channel", flat=True))


def test_fever_checkin_reaches_the_on_call_nurse_on_every_channel(care_setup, worker_factory, outside):
    worker_factory()
    nurse = care_setup["nurse"]
    body = _post_checkin(care_setup["patient"].user, FEVER_WITH_DIZZINESS)
    assert body["urgency"] == "emergency"

    wait_until(lambda: _sent_to(nurse) == {"inapp", "email", "sms"}, what="the nurse's notifications")
    wait_until(lambda: outside.answered("/page"), what="the paging webhook")
    sms = outside.json("/sms")
    assert [m["to"] for m in sms] == [nurse.phone]
    assert "EMERGENCY" in sms[0]["text"] and "/staff/alerts/" in sms[0]["text"]
    page = outside.answered("/page")[0]
    timestamp, signature = (part.split("=", 1)[1] for part in page.headers["X-Tracker-Signature"].split(","))
    expected = hmac.new(b"ward-secret", f"{timestamp}.".encode() + page.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    mails = list(worker_factory.mail_dir.iterdir())
    assert len(mails) == 1 and nurse.email in mails[0].read_text()
    # Nobody else is paged before escalation.
    assert not Notification.objects.filter(recipient=care_setup["charge_nurse"]).exists()


def test_unacknowledged_emergency_climbs_to_charge_nurse_then_physician_and_stops_when_acknowledged(
    care_setup, worker_factory
):
    from notifications.tasks import alerts_escalate_due_task

    worker_factory()
    _post_checkin(care_setup["patient"].user, FEVER_WITH_DIZZINESS)
    alert = Alert.objects.get(condition="crs")
    wait_until(lambda: _sent_to(care_setup["nurse"]), what="the nurse's notifications")

    for step, who in ((1, "charge_nurse"), (2, "physician")):
        # The escalation time has come (clinical-rules "Urgency levels": 5 min for emergencies).
        Alert.objects.filter(pk=alert.pk).update(next_escalation_at=alert.opened_at)
        alerts_escalate_due_task.delay()
        wait_until(lambda who=who: _sent_to(care_setup[who]) >= {"inapp", "sms"}, what=f"step {step} ({who})")
        assert Alert.objects.get(pk=alert.pk).escalation_level == step

    client = APIClient()
    client.force_authenticate(care_setup["nurse"])
    assert client.post(f"/api/v1/alerts/{alert.uuid}/acknowledge/", {}, format="json").status_code == 200
    before = Notification.objects.count()
    alerts_escalate_due_task.delay()
    # The scan ran (the worker handles tasks in order): a marker task after it proves it finished.
    from notifications.tasks import outbox_sweep_task

    outbox_sweep_task.delay()
    wait_until(lambda: Alert.objects.get(pk=alert.pk).status == AlertStatus.ACKNOWLEDGED, what="acknowledged")
    assert Alert.objects.get(pk=alert.pk).escalation_level == 2
    assert Notification.objects.count() == before


def test_worker_killed_mid_delivery_is_redelivered_exactly_once(care_setup, worker_factory, outside):
    outside.hang = 1  # the paging system never answers the first attempt
    first = worker_factory()
    _post_checkin(care_setup["patient"].user, FEVER_WITH_DIZZINESS)
    page = wait_until(
        lambda: Notification.objects.filter(webhook=care_setup["hook"], status=NotificationStatus.SENDING).first(),
        what="the webhook delivery to start")
    wait_until(lambda: outside.received, what="the webhook request to arrive")
    first.kill()
    outside.release.set()

    worker_factory()  # a new worker: the unacknowledged task comes back, and the sweep finds the stale row
    from notifications.tasks import outbox_sweep_task

    wait_until(lambda: (outbox_sweep_task.delay() and False) or Notification.objects.get(pk=page.pk).status == "sent",
               timeout=45, interval=1, what="redelivery after the kill")
    assert len(outside.answered("/page")) == 1
    attempts = list(DeliveryAttempt.objects.filter(notification=page).values_list("outcome", flat=True))
    assert attempts == [DeliveryAttempt.Outcome.STARTED, DeliveryAttempt.Outcome.SENT]


def test_checkin_during_a_redis_outage_is_saved_and_its_alert_delivered_when_redis_returns(
    care_setup, worker_factory, broker
):
    worker = worker_factory()
    broker.stop()
    body = _post_checkin(care_setup["patient"].user, FEVER_WITH_DIZZINESS)
    assert body["urgency"] == "emergency"
    alert = Alert.objects.get(condition="crs", patient=care_setup["patient"])
    assert not Notification.objects.filter(alert=alert).exists()

    broker.start()  # same port
    if not worker.alive:
        # A worker may exit when its broker vanishes mid-task; the process supervisor (compose's restart
        # policy) starts it again, as here.
        worker_factory()
    from notifications.tasks import outbox_sweep_task

    wait_until(lambda: (outbox_sweep_task.delay() and False) or _sent_to(care_setup["nurse"]) == {"inapp", "email", "sms"},
               timeout=60, interval=2, what="delivery after Redis returns")
