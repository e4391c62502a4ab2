"""Where a batch's grading goes (clinical-rules §10): a batch holding a reading past a stream rule's limit is
graded from the default queue, ahead of the ordinary readings on the `readings` queue, so a fever's alert never
waits behind a heavy ingest. Published to the real Redis broker; the task's queue is read as Celery sends it."""

import datetime as dt

import pytest
import time_machine
from celery.signals import before_task_publish
from django.conf import settings

from monitoring.models import PolicySetting
from tests.factories import DeviceAssignmentFactory, DeviceFactory
from tests.monitoring.test_readings_api import NOW, device_client, reading
from tracker.models import DeviceCredential, DeviceKind

GRADE = "notifications.tasks.readings_grade_task"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def published():
    """(task name, queue, args) of every task sent to the broker meanwhile."""
    sent: list[tuple[str, str, list]] = []

    def record(sender=None, routing_key=None, headers=None, body=None, **kwargs):
        sent.append((sender, routing_key, list(body[0]) if body else []))

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


def wear(patient, nurse, kind=DeviceKind.TEMPERATURE_PATCH, offset=0.0):
    device = DeviceFactory(center=patient.center, kind=kind, temperature_offset_c=offset)
    DeviceAssignmentFactory(patient=patient, device=device, assigned_by=nurse, started_at=NOW - dt.timedelta(days=1))
    return DeviceCredential.issue(device, created_by=nurse)[1]


def grading(published):
    return [(queue, args[0]) for task, queue, args in published if task == GRADE]


def send(key, readings, capture):
    with capture(execute=True):
        response = device_client(key).post("/api/v1/readings/", {"readings": readings}, format="json")
    assert response.status_code == 202, response.content


def test_ordinary_readings_are_graded_from_the_readings_queue(patient, nurse, published,
                                                              django_capture_on_commit_callbacks):
    send(wear(patient, nurse), [reading(m, 37.2) for m in range(10)], django_capture_on_commit_callbacks)
    assert grading(published) == [(settings.READINGS_QUEUE, patient.pk)]


@pytest.mark.parametrize("value", [38.0, 39.4])
def test_a_batch_with_a_fever_reading_is_graded_ahead(patient, nurse, published, value,
                                                      django_capture_on_commit_callbacks):
    readings = [reading(m, 37.4) for m in range(2, 10)] + [reading(1, value)]
    send(wear(patient, nurse), readings, django_capture_on_commit_callbacks)
    assert grading(published) == [(settings.CELERY_TASK_DEFAULT_QUEUE, patient.pk)]


def test_fahrenheit_and_the_devices_offset_count(patient, nurse, published, django_capture_on_commit_callbacks):
    send(wear(patient, nurse), [reading(1, 100.4, unit="[degF]")], django_capture_on_commit_callbacks)
    other = wear(patient, nurse, kind=DeviceKind.THERMOMETER, offset=0.6)
    send(other, [reading(1, 37.5)], django_capture_on_commit_callbacks)  # 37.5 + 0.6 = 38.1 °C
    assert grading(published) == [(settings.CELERY_TASK_DEFAULT_QUEUE, patient.pk)] * 2


def test_oxygen_follows_the_centers_limit(patient, nurse, published, django_capture_on_commit_callbacks):
    key = wear(patient, nurse, kind=DeviceKind.PULSE_OXIMETER)
    send(key, [reading(3, 93, "spo2", "%")], django_capture_on_commit_callbacks)
    PolicySetting.objects.create(center=patient.center, name="spo2_min", value="94")
    send(key, [reading(2, 93, "spo2", "%")], django_capture_on_commit_callbacks)
    send(key, [reading(1, 89, "spo2", "%"), reading(0, 120, "heart_rate", "/min")], django_capture_on_commit_callbacks)
    assert grading(published) == [(settings.READINGS_QUEUE, patient.pk),
                                  (settings.CELERY_TASK_DEFAULT_QUEUE, patient.pk),
                                  (settings.CELERY_TASK_DEFAULT_QUEUE, patient.pk)]


def test_a_duplicate_batch_grades_nothing(patient, nurse, published, django_capture_on_commit_callbacks):
    key = wear(patient, nurse)
    send(key, [reading(1, 39.0)], django_capture_on_commit_callbacks)
    send(key, [reading(1, 39.0)], django_capture_on_commit_callbacks)
    assert len(grading(published)) == 1


def test_every_worker_takes_from_both_queues_alert_work_first():
    from config.celery import app

    assert [queue.name for queue in app.conf.task_queues] == [settings.CELERY_TASK_DEFAULT_QUEUE,
                                                              settings.READINGS_QUEUE]
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"


@pytest.mark.parametrize(("task", "queue"), [
    ("notifications.tasks.reading_partitions_maintain_task", "readings"),  # bulk upkeep: partitions, roll-up, REINDEX
    ("notifications.tasks.readings_grade_missed_task", "celery"),  # the sweep that catches lost grading
    ("notifications.tasks.alert_notify_now_task", "celery"),
    ("notifications.tasks.device_silence_scan_task", "celery"),
])
def test_what_beat_and_the_services_send_lands_on_its_queue(task, queue):
    from config.celery import app

    assert app.amqp.router.route({}, task, (), {})["queue"].name == queue


def test_each_task_lands_on_its_own_queue_in_redis_and_on_no_other(settings):
    """What the broker holds after one publish to each queue: one message each, none copied to the other (the
    queues are bound by their own names)."""
    import redis

    from notifications.services.enqueue import publish

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    names = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.READINGS_QUEUE]
    client.delete(*names)
    assert publish(GRADE, 1, NOW.isoformat(), what="ordinary", queue=settings.READINGS_QUEUE)
    assert publish(GRADE, 2, NOW.isoformat(), what="ahead")
    held = {name: client.lrange(name, 0, -1) for name in names}
    client.delete(*names)
    assert {name: len(messages) for name, messages in held.items()} == {names[0]: 1, names[1]: 1}
    assert b'"argsrepr": "(1,' in held[settings.READINGS_QUEUE][0]
    assert b'"argsrepr": "(2,' in held[settings.CELERY_TASK_DEFAULT_QUEUE][0]
