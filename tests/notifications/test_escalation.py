"""Escalation up the chain (nurse → charge nurse → physician) when nobody acknowledges in time:
clinical-rules "Urgency levels": emergency after 5 min, urgent after 15 min, both center policy."""


import datetime as dt

import pytest
import time_machine

from monitoring.models import Alert, AlertEvent
from monitoring.services.alerts import alert_acknowledge
from monitoring.services.policy import policy_set
from notifications.models import Notification
from notifications.services.alerts import alerts_escalate_due
from notifications.tasks import alerts_escalate_due_task
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    FEVER_ONLY,
    now_s,
    post_checkin,
)


@pytest.fixture
def clock():
    t0 = now_s()
    with time_machine.travel(t0, tick=False) as traveller:
        yield t0, traveller


@pytest.fixture
def raise_alert(as_user, patient, staff, outside_calls, eager_tasks, django_capture_on_commit_callbacks):
    def _raise(values=FEVER_AND_DIZZY) -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_checkin(as_user(patient.user), **values)
        assert response.status_code == 201
        return Alert.objects.get(uuid=response.json()["alerts"][0]["id"])

    return _raise


@pytest.fixture
def scan(django_capture_on_commit_callbacks):
    def _scan() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_escalate_due()

    return _scan


def _recipients(alert, step):
    return set(Notification.objects.filter(alert=alert, step=step, recipient__isnull=False)
               .values_list("recipient_id", flat=True))


def test_unacknowledged_emergency_escalates_to_the_charge_nurse_after_5_then_the_physician_after_10_minutes(
        raise_alert, scan, clock, staff, outside_calls):
    """clinical-rules "Urgency levels": emergency → escalate if not acknowledged in 5 min (policy)."""
    t0, traveller = clock
    nurse, charge_nurse, physician = staff
    alert = raise_alert()
    assert _recipients(alert, 0) == {nurse.pk}

    traveller.move_to(t0 + dt.timedelta(minutes=4, seconds=59))
    assert scan() == 0
    assert not Notification.objects.filter(alert=alert, step=1).exists()

    traveller.move_to(t0 + dt.timedelta(minutes=5))
    assert scan() == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    assert alert.next_escalation_at == t0 + dt.timedelta(minutes=10)
    event = alert.events.get(kind=AlertEvent.Kind.ESCALATED)
    assert event.at == t0 + dt.timedelta(minutes=5)
    assert "charge_nurse" in event.note
    assert _recipients(alert, 1) == {charge_nurse.pk}
    step1 = Notification.objects.filter(alert=alert, step=1)
    assert set(step1.values_list("kind", flat=True)) == {"escalation"}
    assert set(step1.values_list("channel", flat=True)) == {"inapp", "email", "sms", "webhook"}
    assert set(step1.values_list("status", flat=True)) == {"sent"}
    assert step1.filter(channel="sms").get().context["minutes"] == 5
    assert any(s["to"] == charge_nurse.phone and "ESCALATED" in s["text"] for s in outside_calls.sms())

    traveller.move_to(t0 + dt.timedelta(minutes=10))
    assert scan() == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 2
    assert _recipients(alert, 2) == {physician.pk}
    assert alert.events.filter(kind=AlertEvent.Kind.ESCALATED).count() == 2
    assert Notification.objects.filter(alert=alert, step=2, channel="sms").get().context["minutes"] == 10


def test_acknowledged_alert_stops_escalating(raise_alert, scan, clock, staff):
    t0, traveller = clock
    nurse = staff[0]
    alert = raise_alert()
    before = Notification.objects.count()
    traveller.move_to(t0 + dt.timedelta(minutes=2))
    alert_acknowledge(alert=alert, user=nurse)
    for minutes in (5, 10, 60):
        traveller.move_to(t0 + dt.timedelta(minutes=minutes))
        assert scan() == 0
    alert.refresh_from_db()
    assert alert.escalation_level == 0
    assert Notification.objects.count() == before
    assert not alert.events.filter(kind=AlertEvent.Kind.ESCALATED).exists()


def test_alert_acknowledged_after_the_first_escalation_stops_at_that_step(raise_alert, scan, clock, staff):
    t0, traveller = clock
    charge_nurse = staff[1]
    alert = raise_alert()
    traveller.move_to(t0 + dt.timedelta(minutes=5))
    assert scan() == 1
    traveller.move_to(t0 + dt.timedelta(minutes=7))
    alert_acknowledge(alert=Alert.objects.get(pk=alert.pk), user=charge_nurse)
    traveller.move_to(t0 + dt.timedelta(minutes=10))
    assert scan() == 0
    assert not Notification.objects.filter(alert=alert, step=2).exists()


def test_urgent_alert_escalates_after_15_minutes(raise_alert, scan, clock, staff):
    """clinical-rules "Urgency levels": urgent → escalate in 15 min (policy); §1: fever after CAR T → urgent."""
    t0, traveller = clock
    alert = raise_alert(FEVER_ONLY)
    assert alert.urgency == 3
    traveller.move_to(t0 + dt.timedelta(minutes=14, seconds=59))
    assert scan() == 0
    traveller.move_to(t0 + dt.timedelta(minutes=15))
    assert scan() == 1
    assert _recipients(alert, 1) == {staff[1].pk}
    assert Notification.objects.filter(alert=alert, step=1, channel="inapp").get().context["minutes"] == 15


def test_center_policy_of_3_minutes_changes_the_emergency_escalation_time(raise_alert, scan, clock, staff, patient,
                                                                          admin_user):
    """The 5-minute target is center policy (clinical-rules "Urgency levels"); this center sets 3."""
    t0, traveller = clock
    policy_set(center=patient.center, name="escalation_emergency_minutes", value="3", user=admin_user,
               reason="Faster paging")
    alert = raise_alert()
    traveller.move_to(t0 + dt.timedelta(minutes=2, seconds=59))
    assert scan() == 0
    traveller.move_to(t0 + dt.timedelta(minutes=3))
    assert scan() == 1
    alert.refresh_from_db()
    assert alert.next_escalation_at == t0 + dt.timedelta(minutes=6)
    traveller.move_to(t0 + dt.timedelta(minutes=6))
    assert scan() == 1
    assert _recipients(alert, 2) == {staff[2].pk}


def test_running_the_scan_twice_at_the_same_instant_escalates_once(raise_alert, scan, clock, staff):
    t0, traveller = clock
    alert = raise_alert()
    traveller.move_to(t0 + dt.timedelta(minutes=5))
    assert scan() == 1
    rows = Notification.objects.count()
    assert scan() == 0
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    assert alert.events.filter(kind=AlertEvent.Kind.ESCALATED).count() == 1
    assert Notification.objects.count() == rows


def test_the_beat_task_runs_the_escalation_scan(raise_alert, clock, staff, django_capture_on_commit_callbacks):
    t0, traveller = clock
    alert = raise_alert()
    traveller.move_to(t0 + dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_escalate_due_task.delay().get() == 1
    assert _recipients(alert, 1) == {staff[1].pk}


def test_resolved_alert_never_escalates(raise_alert, scan, clock, staff):
    from monitoring.services.alerts import alert_resolve

    t0, traveller = clock
    alert = raise_alert()
    alert_resolve(alert=alert, user=staff[0], note="Sent to the emergency department")
    traveller.move_to(t0 + dt.timedelta(minutes=30))
    assert scan() == 0
    assert not Notification.objects.filter(alert=alert, step__gte=1).exists()
