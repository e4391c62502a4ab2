"""Task names: each task is named after the service it runs; the names the tasks had before stay routable
for one release, and the stored beat and heartbeat rows are renamed by migration 0009."""

import importlib

import pytest
from celery import current_app
from django.apps import apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from notifications import tasks
from notifications.beat_schedule import SCHEDULE
from notifications.models import TaskHeartbeat

RENAMED = importlib.import_module("notifications.migrations.0009_task_names").RENAMED


def _function(task):
    wrapped = task.__wrapped__
    return getattr(wrapped, "__func__", wrapped)


def test_a_bound_task_under_its_old_name_sees_its_own_request(eager_tasks, monkeypatch):
    seen = []
    monkeypatch.setattr(tasks.delivery, "notification_deliver",
                        lambda *, notification_id, task_id: seen.append(task_id) or "skipped")
    current_app.tasks["notifications.tasks.deliver_notification"].apply(args=(1,), task_id="old-name-id")
    assert seen == ["old-name-id"]


def test_every_scheduled_task_is_registered_under_its_name():
    for task_name, _seconds in SCHEDULE.values():
        assert task_name in current_app.tasks


@pytest.mark.parametrize("old_name", [name for name in RENAMED if not name.endswith("worker_heartbeat")])
def test_a_message_queued_under_an_old_task_name_runs_the_renamed_task(old_name):
    old, new = current_app.tasks[old_name], current_app.tasks[RENAMED[old_name]]
    assert _function(old) is _function(new)
    assert (old.acks_late, old.reject_on_worker_lost) == (True, True)


def test_no_task_name_mirrors_its_service_in_another_word_order():
    names = {name.rsplit(".", 1)[1] for name in current_app.tasks if name.startswith("notifications.tasks.")}
    new = {name.rsplit(".", 1)[1] for name in RENAMED.values()}
    assert new <= names and all(name.endswith("_task") for name in new)
    assert tasks.outbox_sweep_task.name == "notifications.tasks.outbox_sweep_task"


@pytest.mark.django_db
def test_the_migration_renames_stored_beat_rows_and_heartbeats():
    migration = importlib.import_module("notifications.migrations.0009_task_names")
    PeriodicTask.objects.all().delete()
    TaskHeartbeat.objects.all().delete()
    every = IntervalSchedule.objects.create(every=15, period="seconds")
    PeriodicTask.objects.create(name="Sweep the notification outbox", task="notifications.tasks.sweep_outbox",
                                interval=every, enabled=False)
    TaskHeartbeat.objects.create(task="notifications.tasks.sweep_outbox")
    TaskHeartbeat.objects.create(task="notifications.tasks.scan_reminders")
    TaskHeartbeat.objects.create(task="notifications.tasks.reminders_advance_due_task")

    migration.forwards(apps, None)

    row = PeriodicTask.objects.get(name="Sweep the notification outbox")
    assert (row.task, row.enabled, row.interval_id) == ("notifications.tasks.outbox_sweep_task", False, every.pk)
    assert set(TaskHeartbeat.objects.values_list("task", flat=True)) == {
        "notifications.tasks.outbox_sweep_task", "notifications.tasks.reminders_advance_due_task"}

    migration.backwards(apps, None)
    assert PeriodicTask.objects.get(name="Sweep the notification outbox").task == "notifications.tasks.sweep_outbox"
