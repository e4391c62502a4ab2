"""The escalation scan in batches: the alerts, their events and notifications in a fixed number of queries
whatever the batch size, per-scan lookups (policy per center, on-call people per team and step), the same
rows as one alert at a time, and a failing alert that costs only itself."""


import datetime as dt
import logging

import pytest
import time_machine

from monitoring.models import Alert, AlertEvent
from notifications.models import Notification
from notifications.services import alerts as escalation
from notifications.services.alerts import alerts_escalate_due
from tests.notifications.notif_support import log_complete_checkin, new_patient, now_s

Urgent, Emergency = 3, 4


def overdue_alerts(team, n: int, now: dt.datetime, *, notified: bool = True) -> list[Alert]:
    """n open alerts past their escalation time: emergencies at step 0, urgent ones at step 1, in turn; each
    with its current step's notification written (as the fast path or the previous escalation did) unless
    `notified` is False."""
    result = []
    for i in range(n):
        patient = new_patient(team)
        checkin = log_complete_checkin(patient)
        alert = Alert.objects.create(
            patient=patient, condition="crs", urgency=Emergency if i % 2 == 0 else Urgent, grading_system="ASTCT",
            title="Possible CRS", rationale="test", patient_instruction="test", first_checkin=checkin,
            last_checkin=checkin, escalation_level=i % 2, next_escalation_at=now - dt.timedelta(minutes=1))
        if notified:
            Notification.objects.create(
                dedup_key=f"earlier-step:{alert.pk}", kind="alert", channel="inapp", alert=alert, patient=patient,
                recipient=patient.user, step=alert.escalation_level, alert_urgency=alert.urgency, status="sent")
        result.append(alert)
    return result


def test_an_alert_whose_current_step_was_never_notified_gets_that_step_and_the_next(staff, team_a):
    """Its fast path was lost in a broker outage and the escalation scan ran before the sweep: the nurse is
    told as well as the charge nurse, never skipped."""
    nurse, charge_nurse, _physician = staff
    now = now_s()
    (emergency,) = overdue_alerts(team_a, 1, now, notified=False)
    with time_machine.travel(now, tick=False):
        assert alerts_escalate_due(now=now) == 1
    sent = set(Notification.objects.filter(alert=emergency).values_list("step", "recipient_id", "channel"))
    assert {(0, nurse.pk, "sms"), (0, nurse.pk, "inapp"), (1, charge_nurse.pk, "sms")} <= sent
    assert {step for step, recipient, channel in sent if channel == "webhook"} == {0, 1}


@pytest.mark.parametrize("n", [3, 30])
def test_a_batch_costs_the_same_queries_for_3_or_30_overdue_alerts(staff, team_a, n, django_assert_max_num_queries):
    now = now_s()
    overdue_alerts(team_a, n, now)
    # Claim, policies, on call for steps 1 and 2 (shifts, then members, each), webhooks, preferences, the
    # alerts, their events, notifications, in-app attempts: 12; + the savepoint and its release here.
    with time_machine.travel(now, tick=False), django_assert_max_num_queries(14):
        assert alerts_escalate_due(now=now) == n


def test_each_alert_moves_one_step_with_its_event_and_notifications(staff, team_a):
    nurse, charge_nurse, physician = staff
    now = now_s()
    emergency, urgent = overdue_alerts(team_a, 2, now)
    with time_machine.travel(now, tick=False):
        assert alerts_escalate_due(now=now) == 2
        assert alerts_escalate_due(now=now) == 0  # a repeated scan does nothing
    emergency.refresh_from_db()
    urgent.refresh_from_db()
    assert (emergency.escalation_level, emergency.next_escalation_at) == (1, now + dt.timedelta(minutes=5))
    assert (urgent.escalation_level, urgent.next_escalation_at) == (2, now + dt.timedelta(minutes=15))
    assert emergency.updated_at == now
    event = emergency.events.get(kind=AlertEvent.Kind.ESCALATED)
    assert (event.at, event.old_status, event.new_status, event.new_urgency) == (now, "open", "open", Emergency)
    assert event.note == "Not acknowledged in time: step 1 (charge_nurse)."
    assert urgent.events.get(kind=AlertEvent.Kind.ESCALATED).note == "Not acknowledged in time: step 2 (physician)."

    step1 = Notification.objects.filter(alert=emergency).exclude(dedup_key__startswith="earlier-step:")
    assert {(n.recipient_id, n.channel) for n in step1} == {
        (charge_nurse.pk, "inapp"), (charge_nurse.pk, "email"), (charge_nurse.pk, "sms"), (None, "webhook")}
    assert {n.kind for n in step1} == {"escalation"} and {n.step for n in step1} == {1}
    assert step1.get(channel="sms").context == {"link": f"/staff/alerts/{emergency.uuid}/", "minutes": 5}
    assert step1.get(channel="sms").dedup_key == f"alert:{emergency.uuid}:u4:s1:sms:user{charge_nurse.pk}"
    assert step1.get(channel="webhook").dedup_key.startswith(f"alert:{emergency.uuid}:u4:s1:webhook")
    step2 = Notification.objects.filter(alert=urgent).exclude(dedup_key__startswith="earlier-step:")
    assert {n.recipient_id for n in step2} == {physician.pk, None}
    assert step2.get(channel="inapp").context["minutes"] == 30
    assert step2.get(channel="inapp").delivery_attempts.count() == 1


def test_the_scan_takes_batches_until_no_alert_is_due(staff, team_a):
    now = now_s()
    overdue_alerts(team_a, 5, now)
    with time_machine.travel(now, tick=False):
        assert alerts_escalate_due(now=now, batch_size=2) == 5
    assert not Alert.objects.filter(next_escalation_at__lte=now).exists()


def test_a_failing_alert_costs_only_itself_and_is_logged(staff, team_a, monkeypatch, caplog):
    now = now_s()
    alerts = overdue_alerts(team_a, 4, now)
    bad = alerts[1]
    real = escalation._alert_rows

    def rows_failing(alert, *args):
        if alert.pk == bad.pk:
            raise RuntimeError("simulated failure")
        return real(alert, *args)

    monkeypatch.setattr(escalation, "_alert_rows", rows_failing)
    with time_machine.travel(now, tick=False), caplog.at_level(logging.ERROR, logger=escalation.__name__):
        assert alerts_escalate_due(now=now) == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "batch of 4 alerts" in errors[0] and f"alert {bad.pk} failed" in errors[1]
    bad.refresh_from_db()
    assert (bad.escalation_level, bad.next_escalation_at) == (1, now - dt.timedelta(minutes=1))  # still due
    assert not bad.events.filter(kind=AlertEvent.Kind.ESCALATED).exists()
    assert not Notification.objects.filter(alert=bad, step=2).exists()
    for alert in alerts:
        if alert != bad:
            assert Notification.objects.filter(alert=alert, step=alert.escalation_level + 1).exists()
            assert alert.events.filter(kind=AlertEvent.Kind.ESCALATED).count() == 1
