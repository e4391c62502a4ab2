"""The outbox sweep (re-enqueue rows the broker lost or a dead worker left in `sending`; give alerts whose
fast path was lost their rows), the queue-health measures of notifications, its command and admin page, and
the beat schedule. The other health checks are in test_health.py."""


import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from monitoring.models import Alert
from notifications.beat_schedule import SCHEDULE
from notifications.models import Notification
from notifications.services.health import queue_health
from notifications.services.sweep import outbox_sweep
from tests.factories import UserFactory
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    make_notification,
    now_s,
    post_checkin,
    reachable,
    signed_in,
)
from tracker.models import DeliveryStatus, Invitation, Role

NOTIFICATION_CHECKS = ["stuck_notifications", "failed_notifications", "alerts_without_notification"]


def unnotified_alerts() -> int:
    return queue_health(only=["alerts_without_notification"])["checks"]["alerts_without_notification"]["count"]


@pytest.fixture
def now():
    moment = now_s()
    with time_machine.travel(moment, tick=False):
        yield moment


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    def _sweep():
        with django_capture_on_commit_callbacks(execute=True):
            return outbox_sweep()

    return _sweep


def test_pending_row_whose_enqueue_was_lost_is_enqueued_again(nurse, now, enqueued, sweep):
    lost = make_notification(recipient=nurse, next_attempt_at=now - dt.timedelta(minutes=5))
    fresh = make_notification(recipient=nurse, next_attempt_at=now)  # its task is probably on the way
    done = make_notification(recipient=nurse, status="sent", next_attempt_at=now - dt.timedelta(hours=1))
    failed = make_notification(recipient=nurse, status="failed", next_attempt_at=now - dt.timedelta(hours=1))
    report = sweep()
    assert enqueued == [lost.pk]
    assert report == {"requeued": 1, "alerts_fixed": 0, "gave_up": 0}
    assert fresh.pk not in enqueued and done.pk not in enqueued and failed.pk not in enqueued


def test_row_left_in_sending_by_a_dead_worker_is_enqueued_again_once_stale(nurse, now, enqueued, sweep, settings):
    stuck = make_notification(recipient=nurse, status="sending", attempts=1,
                              claimed_at=now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS + 1))
    busy = make_notification(recipient=nurse, status="sending", attempts=1, claimed_at=now - dt.timedelta(seconds=5))
    sweep()
    assert enqueued == [stuck.pk]
    assert busy.pk not in enqueued


def test_sweep_then_delivery_sends_the_lost_row(nurse, now, eager_tasks, outside_calls, sweep):
    reachable(nurse)
    row = make_notification(recipient=nurse, channel="sms", next_attempt_at=now - dt.timedelta(minutes=5))
    sweep()
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(outside_calls.sms()) == 1


def test_open_emergency_alert_whose_fast_path_was_lost_gets_its_rows_from_the_sweep(
        as_user, patient, nurse, now, enqueued, sweep):
    """The check-in's after-commit hook never ran (a crash between commit and enqueue): no rows for step 0."""
    reachable(nurse)
    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)  # on_commit hooks are not run here
    alert = Alert.objects.get()
    assert not alert.notifications.exists()
    assert unnotified_alerts() == 1

    report = sweep()
    assert report["alerts_fixed"] == 1
    rows = alert.notifications.all()
    assert {(r.recipient_id, r.channel, r.step) for r in rows} == {
        (nurse.pk, "inapp", 0), (nurse.pk, "email", 0), (nurse.pk, "sms", 0)}
    assert sorted(enqueued) == sorted(r.pk for r in rows if r.channel != "inapp")  # in-app is sent by being written
    assert unnotified_alerts() == 0
    assert sweep()["alerts_fixed"] == 0  # nothing twice


def test_resolved_alert_without_rows_is_left_alone(as_user, patient, nurse, now, enqueued, sweep):
    from monitoring.services.alerts import alert_resolve

    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)
    alert_resolve(alert=Alert.objects.get(), user=nurse, note="Seen in clinic")
    assert sweep()["alerts_fixed"] == 0
    assert not Notification.objects.exists()


def test_queue_health_reports_pending_stuck_failed_and_alerts_without_notification(
        as_user, patient, nurse, now, settings):
    make_notification(recipient=nurse)  # pending, due now: not stuck yet
    make_notification(recipient=nurse, next_attempt_at=now - dt.timedelta(minutes=2))  # pending, stuck
    make_notification(recipient=nurse, status="sending", claimed_at=now - dt.timedelta(
        seconds=settings.NOTIFICATION_STUCK_SECONDS + 1))  # stuck
    make_notification(recipient=nurse, status="sending", claimed_at=now)
    make_notification(recipient=nurse, status="failed", last_error="HTTP 400")
    make_notification(recipient=nurse, status="failed", created_at=now - dt.timedelta(days=2))
    make_notification(recipient=nurse, status="sent", sent_at=now - dt.timedelta(minutes=1))
    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)
    checks = queue_health(only=NOTIFICATION_CHECKS)["checks"]
    stuck, failed, unnotified = (checks[name] for name in NOTIFICATION_CHECKS)
    assert (stuck["pending"], stuck["sending"], stuck["count"], stuck["ok"]) == (2, 2, 2, False)
    assert (failed["count"], failed["ok"]) == (1, False)
    assert (unnotified["count"], unnotified["ok"]) == (1, True)  # within the grace: its rows are on the way


def test_queue_health_command_exits_1_when_something_is_stuck(nurse, now, capsys):
    make_notification(recipient=nurse, next_attempt_at=now - dt.timedelta(minutes=10))
    with pytest.raises(SystemExit) as exc:
        call_command("queue_health", "--fail-on-problem")
    assert exc.value.code == 1
    output = capsys.readouterr()
    assert "stuck_notifications" in output.out
    assert "Problem: stuck_notifications: 1 notification is due but not moving" in output.err


def test_queue_health_command_passes_when_all_is_well(nurse, now, capsys):
    make_notification(recipient=nurse, status="sent", sent_at=now)
    call_command("queue_health", "--fail-on-problem", "--check", *NOTIFICATION_CHECKS)
    assert "status: ok" in capsys.readouterr().out


def test_admin_queue_health_page_loads_for_the_admin(admin_user, nurse, now):
    make_notification(recipient=nurse, next_attempt_at=now - dt.timedelta(minutes=10))
    response = signed_in(admin_user).get("/admin/notifications/notification/health/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Notification queue health" in body
    assert "stuck" in body and "alerts_without_notification" in body
    changelist = signed_in(admin_user).get("/admin/notifications/notification/")
    assert changelist.status_code == 200
    assert "/admin/notifications/notification/health/" in changelist.content.decode()


def test_admin_queue_health_page_is_not_for_nurses(nurse):
    response = signed_in(nurse).get("/admin/notifications/notification/health/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_beat_schedule_from_the_migration_has_every_task_of_schedule_py(db):
    from celery import current_app

    tasks = {t.name: t for t in PeriodicTask.objects.select_related("interval")}
    for name, (task, seconds) in SCHEDULE.items():
        assert name in tasks, name
        assert tasks[name].task == task
        assert tasks[name].enabled
        assert tasks[name].interval.every == seconds and tasks[name].interval.period == "seconds"
        assert task in current_app.tasks, f"{task} is not a registered task"


def test_sync_schedule_command_is_idempotent(db):
    before = PeriodicTask.objects.count()
    call_command("sync_schedule")
    call_command("sync_schedule")
    assert PeriodicTask.objects.count() == before


def test_broker_down_when_the_alert_opens_keeps_the_checkin_and_the_sweep_delivers_later(
        as_user, patient, nurse, now, enqueued, sweep, monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    from notifications.tasks import alert_notify_now_task

    def broker_down(*args):
        raise OperationalError("Error 111 connecting to redis")

    monkeypatch.setattr(alert_notify_now_task, "delay", broker_down)
    reachable(nurse)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)
    assert response.status_code == 201
    alert = Alert.objects.get()
    assert not alert.notifications.exists()
    assert sweep()["alerts_fixed"] == 1
    assert alert.notifications.filter(recipient=nurse).count() == 3


def test_a_delivery_that_keeps_dying_becomes_a_visible_failure(nurse, settings):
    """A row stuck in `sending` after the maximum attempts is marked failed (queue health shows it), not
    re-sent forever."""
    import datetime as dt

    from django.utils import timezone

    from notifications.models import Notification
    from notifications.services.sweep import outbox_sweep

    stale = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS + 60)
    row = Notification.objects.create(dedup_key="dying", kind="alert", channel="email", recipient=nurse,
                                      status="sending", claimed_at=stale, next_attempt_at=stale,
                                      attempts=settings.NOTIFICATION_MAX_ATTEMPTS)
    report = outbox_sweep()
    row.refresh_from_db()
    assert report["gave_up"] == 1 and report["requeued"] == 0
    assert row.status == "failed" and "Gave up" in row.last_error
    assert queue_health(only=["failed_notifications"])["checks"]["failed_notifications"]["count"] == 1


# --- Invitations given up by the sweep ------------------------------------------------------------------------------

def invitation_row(patient, *, attempts: int, stale: dt.datetime) -> Invitation:
    """An invitation whose SMS a dead worker left in `sending` after `attempts` attempts."""
    person = UserFactory(role=Role.CAREGIVER)
    invitation = Invitation.objects.create(user=person, patient=patient, channel="sms",
                                           delivery_status=DeliveryStatus.PENDING,
                                           expires_at=stale + dt.timedelta(days=3))
    make_notification(recipient=person, kind="invitation", channel="sms", urgency="", patient=patient,
                      context={"invitation": str(invitation.uuid), "hours": 72}, status="sending",
                      claimed_at=stale, next_attempt_at=stale, attempts=attempts)
    return invitation


def test_the_sweeps_give_up_marks_the_invitations_failed_in_a_fixed_number_of_queries(
        patient, nurse, now, enqueued, sweep, settings):
    stale = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS + 60)
    exhausted = settings.NOTIFICATION_MAX_ATTEMPTS

    def sweep_queries(invitations: list[Invitation]) -> int:
        with CaptureQueriesContext(connection) as captured:
            report = sweep()
        assert report["gave_up"] == len(invitations) + 1  # and the alert row
        for invitation in invitations:
            invitation.refresh_from_db()
            assert (invitation.delivery_status, invitation.delivery_changed_at) == (DeliveryStatus.FAILED, now)
        return len(captured)

    make_notification(recipient=nurse, channel="email", status="sending", claimed_at=stale, next_attempt_at=stale,
                      attempts=exhausted)
    one = sweep_queries([invitation_row(patient, attempts=exhausted, stale=stale)])

    make_notification(recipient=nurse, channel="email", status="sending", claimed_at=stale, next_attempt_at=stale,
                      attempts=exhausted)
    many = [invitation_row(patient, attempts=exhausted, stale=stale) for _ in range(5)]
    retried = invitation_row(patient, attempts=1, stale=stale)  # attempts left: sent again, still pending
    assert sweep_queries(many) == one
    retried.refresh_from_db()
    assert retried.delivery_status == DeliveryStatus.PENDING
    assert enqueued == list(Notification.objects.filter(context__invitation=str(retried.uuid))
                            .values_list("pk", flat=True))


def test_existing_invitations_take_their_status_from_their_messages(patient, now, settings):
    """The data migration: sent and failed messages fill in their invitations; others are left as they are."""
    migration = importlib.import_module("notifications.migrations.0010_invitation_delivery_status")
    stale = now - dt.timedelta(minutes=30)
    sent, failed, pending = (invitation_row(patient, attempts=1, stale=stale) for _ in range(3))
    Notification.objects.filter(context__invitation=str(sent.uuid)).update(status="sent", sent_at=stale)
    Notification.objects.filter(context__invitation=str(failed.uuid)).update(status="failed")
    no_message = Invitation.objects.create(user=UserFactory(role=Role.CAREGIVER), patient=patient,
                                           expires_at=now + dt.timedelta(days=3))
    Notification.objects.create(dedup_key="invitation:broken", kind="invitation", channel="sms",
                                recipient=patient.user, context={"invitation": "not-a-uuid"}, status="sent")
    Invitation.objects.update(delivery_status="", delivery_changed_at=None)
    Invitation.objects.exclude(channel="").update(delivery_status="pending")

    migration.fill_from_messages(apps, None)

    statuses = dict(Invitation.objects.values_list("pk", "delivery_status"))
    assert statuses == {sent.pk: "sent", failed.pk: "failed", pending.pk: "pending", no_message.pk: ""}
    sent.refresh_from_db()
    assert sent.delivery_changed_at == stale
