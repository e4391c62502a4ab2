"""notifications_create_many: notification_create for many rows in one INSERT, with the same
de-duplication, the same in-app handling and the same after-commit hand-off to a worker."""


import pytest
from django.db import IntegrityError, transaction

from notifications.models import DeliveryAttempt, Notification
from notifications.services.outbox import notification_create, notifications_create_many


def row(key, user, channel="email", **fields):
    return {"dedup_key": key, "kind": "reminder", "channel": channel, "recipient": user, "context": {"link": "/x/"},
            **fields}


def test_rows_whose_key_exists_or_repeats_are_skipped_and_only_new_ones_are_enqueued_after_commit(
        nurse, enqueued, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    with django_capture_on_commit_callbacks(execute=True):
        old = notification_create(**row("k1", nurse))
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_max_num_queries(3):
        created = notifications_create_many([row("k1", nurse), row("k2", nurse), row("k2", nurse, channel="sms"),
                                             row("k3", nurse, channel="inapp"), row("k4", nurse, channel="sms")])
    assert list(created) == ["k2", "k3", "k4"]
    assert enqueued == []
    for callback in callbacks:
        callback()
    assert enqueued == [created["k2"], created["k4"]]  # the in-app row is delivered by being written
    assert Notification.objects.get(dedup_key="k1").pk == old.pk
    k2 = Notification.objects.get(dedup_key="k2")
    assert (k2.channel, k2.status, k2.attempts, k2.language, k2.step, k2.context) == ("email", "pending", 0, "en", 0,
                                                                                       {"link": "/x/"})
    assert k2.uuid and k2.created_at and k2.next_attempt_at and k2.sent_at is None
    k3 = Notification.objects.get(dedup_key="k3")
    assert (k3.status, k3.attempts) == ("sent", 1) and k3.sent_at == k3.claimed_at
    attempt = DeliveryAttempt.objects.get(notification=k3)
    assert (attempt.outcome, attempt.started_at, attempt.finished_at) == ("sent", k3.sent_at, k3.sent_at)
    assert not DeliveryAttempt.objects.filter(notification__dedup_key__in=["k2", "k4"]).exists()


def test_any_other_constraint_still_raises(nurse):
    with pytest.raises(IntegrityError), transaction.atomic():
        notifications_create_many([row("ok", nurse), row("nobody", None)])  # neither recipient nor webhook
    assert not Notification.objects.exists()  # all or nothing


def test_an_unknown_field_is_refused(nurse):
    with pytest.raises(TypeError, match="no field"):
        notifications_create_many([row("k", nurse, colour="red")])


def test_nothing_to_write_costs_no_query(db, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert notifications_create_many([]) == {}
