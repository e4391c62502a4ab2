"""notification_deliver: claim with a conditional UPDATE, record the attempt before the outside call and the
outcome after; transient errors back off and retry, permanent ones fail; a row stuck in `sending` by a dead
worker is taken up again once stale (at-least-once, never twice at the same time)."""


import datetime as dt

import pytest
import time_machine

from notifications.channels import DeliveryError
from notifications.models import DeliveryAttempt
from notifications.services.delivery import backoff, notification_deliver
from notifications.services.outbox import notification_create
from tests.notifications.notif_support import (
    SMS_URL,
    make_notification,
    now_s,
    reachable,
)


@pytest.fixture
def frozen():
    moment = now_s()
    with time_machine.travel(moment, tick=False) as traveller:
        yield moment, traveller


@pytest.fixture
def sms_row(nurse, outside_calls):
    reachable(nurse, phone="+15550100077")
    return make_notification(recipient=nurse, channel="sms", urgency="urgent")


def test_backoff_doubles_from_ten_seconds_and_is_capped_at_fifteen_minutes():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(20) == dt.timedelta(minutes=15)


def test_pending_row_is_sent_and_its_attempt_recorded(sms_row, outside_calls, frozen):
    now, _ = frozen
    assert notification_deliver(notification_id=sms_row.pk) == "sent"
    sms_row.refresh_from_db()
    assert sms_row.status == "sent"
    assert sms_row.sent_at == now
    assert sms_row.attempts == 1
    assert sms_row.last_error == ""
    [attempt] = sms_row.delivery_attempts.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.SENT
    assert attempt.started_at == now and attempt.finished_at == now
    assert attempt.worker
    assert len(outside_calls.to(SMS_URL)) == 1


def test_delivering_a_sent_row_again_is_skipped_and_the_channel_called_once(sms_row, outside_calls, frozen):
    assert notification_deliver(notification_id=sms_row.pk) == "sent"
    assert notification_deliver(notification_id=sms_row.pk) == "skipped"
    assert len(outside_calls.calls) == 1
    sms_row.refresh_from_db()
    assert sms_row.attempts == 1
    assert sms_row.delivery_attempts.count() == 1


def test_email_row_is_sent_once_even_when_delivered_twice(nurse, mailoutbox, frozen):
    reachable(nurse)
    row = make_notification(recipient=nurse, channel="email")
    assert notification_deliver(notification_id=row.pk) == "sent"
    assert notification_deliver(notification_id=row.pk) == "skipped"
    assert len(mailoutbox) == 1


def test_transient_error_leaves_the_row_pending_with_backoff_then_it_is_sent_after_the_backoff(
        sms_row, outside_calls, frozen):
    now, traveller = frozen
    outside_calls.fail_with.append(DeliveryError("HTTP 503 from provider", permanent=False))
    assert notification_deliver(notification_id=sms_row.pk) == "retry"
    sms_row.refresh_from_db()
    assert sms_row.status == "pending"
    assert sms_row.attempts == 1
    assert sms_row.next_attempt_at == now + backoff(1) == now + dt.timedelta(seconds=10)
    assert "503" in sms_row.last_error
    [attempt] = sms_row.delivery_attempts.all()
    assert attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT
    assert "503" in attempt.error

    traveller.move_to(now + dt.timedelta(seconds=10))
    assert notification_deliver(notification_id=sms_row.pk) == "sent"
    sms_row.refresh_from_db()
    assert sms_row.status == "sent"
    assert sms_row.attempts == 2
    assert sms_row.last_error == ""
    assert [a.outcome for a in sms_row.delivery_attempts.all()] == ["transient", "sent"]
    assert len(outside_calls.calls) == 2


def test_permanent_error_fails_the_row_with_the_error_kept(sms_row, outside_calls, frozen):
    outside_calls.fail_with.append(DeliveryError("HTTP 400 from provider", permanent=True))
    assert notification_deliver(notification_id=sms_row.pk) == "failed"
    sms_row.refresh_from_db()
    assert sms_row.status == "failed"
    assert sms_row.last_error == "HTTP 400 from provider"
    assert sms_row.delivery_attempts.get().outcome == DeliveryAttempt.Outcome.PERMANENT
    assert notification_deliver(notification_id=sms_row.pk) == "skipped"
    assert len(outside_calls.calls) == 1


def test_missing_address_fails_permanently_at_once(nurse, frozen):
    row = make_notification(recipient=nurse, channel="email")  # the factory gives no address
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.status == "failed" and "no email address" in row.last_error


def test_row_fails_when_max_attempts_is_reached(sms_row, outside_calls, frozen, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    now, traveller = frozen
    outcomes = []
    for _ in range(3):
        outside_calls.fail_with.append(DeliveryError("timeout", permanent=False))
        outcomes.append(notification_deliver(notification_id=sms_row.pk))
        sms_row.refresh_from_db()
        traveller.move_to(sms_row.next_attempt_at)
    assert outcomes == ["retry", "retry", "failed"]
    assert sms_row.status == "failed"
    assert sms_row.attempts == 3
    assert notification_deliver(notification_id=sms_row.pk) == "skipped"
    assert len(outside_calls.calls) == 3


def test_row_stuck_in_sending_past_the_stuck_limit_is_claimed_again(sms_row, outside_calls, frozen, settings):
    """A worker died mid-send: the row stays `sending`; once older than NOTIFICATION_STUCK_SECONDS it is retaken."""
    now, _ = frozen
    stale = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS + 1)
    type(sms_row).objects.filter(pk=sms_row.pk).update(status="sending", claimed_at=stale, attempts=1)
    DeliveryAttempt.objects.create(notification=sms_row, started_at=stale)  # never finished
    assert notification_deliver(notification_id=sms_row.pk) == "sent"
    sms_row.refresh_from_db()
    assert sms_row.status == "sent"
    assert sms_row.attempts == 2
    assert sms_row.claimed_at == now
    assert [a.outcome for a in sms_row.delivery_attempts.all()] == ["started", "sent"]
    assert len(outside_calls.calls) == 1


def test_fresh_sending_row_is_not_claimed_by_a_second_worker(sms_row, outside_calls, frozen, settings):
    now, _ = frozen
    fresh = now - dt.timedelta(seconds=settings.NOTIFICATION_STUCK_SECONDS - 1)
    type(sms_row).objects.filter(pk=sms_row.pk).update(status="sending", claimed_at=fresh, attempts=1)
    assert notification_deliver(notification_id=sms_row.pk) == "skipped"
    sms_row.refresh_from_db()
    assert sms_row.status == "sending" and sms_row.attempts == 1
    assert outside_calls.calls == []


def test_a_transient_failure_waits_in_its_row_not_in_the_broker_and_the_sweep_sends_it_after_the_backoff(
        sms_row, outside_calls, frozen, monkeypatch):
    """No countdown message: a worker holding one unacknowledged through a broker outage loses it (or dies)."""
    now, _traveller = frozen
    from notifications.services.sweep import stuck_notifications
    from notifications.tasks import notification_deliver_task

    monkeypatch.setattr(notification_deliver_task, "apply_async", lambda *a, **k: pytest.fail("no broker retry"))
    outside_calls.fail_with.append(DeliveryError("HTTP 502", permanent=False))
    assert notification_deliver_task.run(sms_row.pk) == "retry"
    sms_row.refresh_from_db()
    assert (sms_row.status, sms_row.next_attempt_at) == ("pending", now + dt.timedelta(seconds=10))
    assert not stuck_notifications(now + dt.timedelta(seconds=9)).filter(pk=sms_row.pk).exists()
    assert stuck_notifications(now + dt.timedelta(seconds=10)).filter(pk=sms_row.pk).exists()


def test_the_same_task_handed_out_again_after_its_worker_died_takes_its_row_back_at_once(
        sms_row, outside_calls, frozen):
    """A row `sending` under task T (its worker was killed mid-send) is not stale yet: another task leaves it,
    T redelivered (reject_on_worker_lost) sends it again with the same idempotency key."""
    from notifications.services.delivery import claim

    assert claim(sms_row.pk, frozen[0], "task-T")
    assert notification_deliver(notification_id=sms_row.pk, task_id="task-U") == "skipped"
    assert notification_deliver(notification_id=sms_row.pk, task_id="task-T") == "sent"
    assert [call["headers"]["Idempotency-Key"] for call in outside_calls.calls] == [str(sms_row.uuid)]


def test_notification_create_writes_one_row_per_dedup_key_and_enqueues_it_after_commit(
        nurse, django_capture_on_commit_callbacks, monkeypatch):
    from notifications.tasks import notification_deliver_task

    sent = []
    monkeypatch.setattr(notification_deliver_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = notification_create(dedup_key="k1", kind="alert", channel="email", recipient=nurse, urgency="urgent")
        again = notification_create(dedup_key="k1", kind="alert", channel="email", recipient=nurse, urgency="urgent")
    assert row is not None and again is None
    assert sent == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [row.pk]


def test_broker_down_at_enqueue_leaves_the_row_pending_for_the_sweep(nurse, django_capture_on_commit_callbacks,
                                                                     monkeypatch):
    from kombu.exceptions import OperationalError

    from notifications.tasks import notification_deliver_task

    def broker_down(_):
        raise OperationalError("connection refused")

    monkeypatch.setattr(notification_deliver_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        row = notification_create(dedup_key="k2", kind="alert", channel="email", recipient=nurse, urgency="urgent")
    row.refresh_from_db()
    assert row.status == "pending"


def test_an_in_app_message_is_delivered_by_being_written(nurse, django_capture_on_commit_callbacks, monkeypatch):
    """The inbox row is the message: it is stored as sent with its attempt, and no task is queued."""
    from notifications.models import DeliveryAttempt
    from notifications.tasks import notification_deliver_task

    sent = []
    monkeypatch.setattr(notification_deliver_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        row = notification_create(dedup_key="k3", kind="alert", channel="inapp", recipient=nurse, urgency="urgent")
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None
    assert list(DeliveryAttempt.objects.filter(notification=row).values_list("outcome", flat=True)) == ["sent"]
    assert sent == []
