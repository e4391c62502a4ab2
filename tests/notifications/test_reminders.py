"""Check-in reminders at the patient's local reminder time (center policy, 20:00), a second one 60 min later,
then the team's nurse 60 min after that. Daily through the CAR T daily period (clinical-rules §3 "daily
monitoring for at least the first 7 days", asked through the peak-risk window days 0-14 of §1), every
`checkin_interval_days` otherwise. Times are built in the patient's IANA zone, so DST neither skips nor
repeats a day."""


import datetime as dt
import zoneinfo
from collections import Counter

import pytest
import time_machine

from notifications.models import Notification, ReminderState
from notifications.services.reminders import reminder_reschedule, reminders_advance_due
from notifications.tasks import reminders_advance_due_task
from tests.notifications.notif_support import (
    CAR_T_NORMAL,
    add_caregiver,
    local,
    log_complete_checkin,
    new_patient,
    post_checkin,
    reachable,
    utc,
)

NY = "America/New_York"


def first_reminders(patient, channel="inapp"):
    """The first reminders sent to the patient themself, as (expected date, local send time)."""
    rows = Notification.objects.filter(kind="reminder", patient=patient, recipient=patient.user, channel=channel,
                                       dedup_key__contains=":1:user")
    result = []
    for row in rows.order_by("created_at"):
        expected = dt.date.fromisoformat(row.dedup_key.split(":")[2])
        result.append((expected, row.created_at.astimezone(patient.tz)))
    return result


def stage_rows(patient, stage: int):
    state = ReminderState.objects.get(patient=patient)
    return Notification.objects.filter(kind="reminder", dedup_key__contains=f":{state.expected_on}:{stage}:user")


# --- When the next reminder is due ------------------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "now", "expected_on", "due_utc"), [
    # 10:00 in New York (EDT, UTC-4): today at 20:00 EDT = 00:00 UTC the next day.
    (NY, utc(2026, 5, 4, 14, 0), dt.date(2026, 5, 4), utc(2026, 5, 5, 0, 0)),
    # 16:00 UTC is already 01:00 on 5 May in Tokyo (UTC+9): the patient's date, not UTC's, counts.
    ("Asia/Tokyo", utc(2026, 5, 4, 16, 0), dt.date(2026, 5, 5), utc(2026, 5, 5, 11, 0)),
    # Berlin before its DST change (CET, UTC+1) ...
    ("Europe/Berlin", utc(2026, 3, 28, 9, 0), dt.date(2026, 3, 28), utc(2026, 3, 28, 19, 0)),
    # ... and on the day of it (CEST, UTC+2).
    ("Europe/Berlin", utc(2026, 3, 29, 9, 0), dt.date(2026, 3, 29), utc(2026, 3, 29, 18, 0)),
])
def test_reschedule_sets_the_next_reminder_at_20_00_local_on_the_expected_date(team_a, zone, now, expected_on,
                                                                                due_utc):
    """Center policy reminder_local_time defaults to 20:00 in the patient's own zone."""
    with time_machine.travel(now, tick=False):
        patient = new_patient(team_a, time_zone=zone, start=expected_on - dt.timedelta(days=2))
        state = reminder_reschedule(patient=patient)
    assert state.expected_on == expected_on
    assert state.stage == ReminderState.Stage.WAITING
    assert state.next_due_at == due_utc
    assert state.next_due_at.astimezone(zoneinfo.ZoneInfo(zone)).time() == dt.time(20, 0)


def test_center_policy_moves_the_reminder_time(team_a, admin_user):
    from monitoring.services.policy import policy_set

    with time_machine.travel(utc(2026, 5, 4, 12, 0), tick=False):
        patient = new_patient(team_a, start=dt.date(2026, 5, 2))
        policy_set(center=patient.center, name="reminder_local_time", value="18:30", user=admin_user)
        state = reminder_reschedule(patient=patient)
    assert state.next_due_at == local(NY, 2026, 5, 4, 18, 30)


# --- First, second, nurse ---------------------------------------------------------------------------------------

@pytest.fixture
def household(team_a, nurse):
    """A Spanish-speaking CAR T patient in New York with a phone, a caregiver with email only, and a reachable
    nurse; created at 10:00 local on day 2 after infusion."""
    with time_machine.travel(local(NY, 2026, 5, 4, 10, 0), tick=False):
        patient = new_patient(team_a, start=dt.date(2026, 5, 2), preferred_language="es")
        reachable(patient.user, phone="+15550107001", email="")  # the login's own setting stays "en"
        caregiver = add_caregiver(patient)
        caregiver.preferred_language = "es"
        reachable(caregiver, phone="", email="carer@example.test")
        reachable(nurse, phone="+15550107003", email="nurse@example.test")
    return patient, caregiver, nurse


@pytest.fixture
def run_scan(eager_tasks, outside_calls, django_capture_on_commit_callbacks):
    def _at(moment: dt.datetime) -> int:
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return reminders_advance_due_task.delay().get()

    return _at


def test_first_reminder_at_20_00_then_second_after_60_min_then_the_nurse_after_another_60(
        household, run_scan, outside_calls, mailoutbox):
    patient, caregiver, nurse = household
    assert run_scan(local(NY, 2026, 5, 4, 19, 59)) == 0  # creates the schedule, nothing due
    assert not Notification.objects.exists()

    assert run_scan(local(NY, 2026, 5, 4, 20, 0)) == 1
    first = stage_rows(patient, 1)
    assert {(r.recipient_id, r.channel) for r in first} == {
        (patient.user_id, "inapp"), (patient.user_id, "sms"), (caregiver.pk, "inapp"), (caregiver.pk, "email")}
    assert {r.language for r in first if r.recipient_id == patient.user_id} == {"es"}  # the patient's language
    assert {r.language for r in first if r.recipient_id == caregiver.pk} == {"es"}
    assert set(first.values_list("status", flat=True)) == {"sent"}
    assert [s["to"] for s in outside_calls.sms()] == ["+15550107001"]
    assert [m.to for m in mailoutbox] == [["carer@example.test"]]
    assert ReminderState.objects.get(patient=patient).stage == ReminderState.Stage.FIRST_SENT

    assert run_scan(local(NY, 2026, 5, 4, 20, 59)) == 0
    assert run_scan(local(NY, 2026, 5, 4, 21, 0)) == 1
    second = stage_rows(patient, 2)
    assert second.count() == 4
    assert len(outside_calls.sms()) == 2 and len(mailoutbox) == 2

    assert run_scan(local(NY, 2026, 5, 4, 21, 59)) == 0
    assert not Notification.objects.filter(kind="missed_checkin").exists()
    assert run_scan(local(NY, 2026, 5, 4, 22, 0)) == 1
    missed = Notification.objects.filter(kind="missed_checkin")
    assert {(r.recipient_id, r.channel) for r in missed} == {(nurse.pk, "inapp"), (nurse.pk, "email")}  # no SMS
    assert missed.first().patient == patient
    assert len(outside_calls.sms()) == 2  # nothing more went to a phone
    assert Notification.objects.filter(kind="reminder").count() == 8

    state = ReminderState.objects.get(patient=patient)
    assert state.expected_on == dt.date(2026, 5, 5)
    assert state.stage == ReminderState.Stage.WAITING
    assert state.next_due_at == local(NY, 2026, 5, 5, 20, 0)


def test_rescanning_the_same_minute_sends_nothing_twice(household, run_scan):
    patient = household[0]
    run_scan(local(NY, 2026, 5, 4, 12, 0))
    run_scan(local(NY, 2026, 5, 4, 20, 0))
    count = Notification.objects.count()
    assert run_scan(local(NY, 2026, 5, 4, 20, 0)) == 0
    assert Notification.objects.count() == count
    assert len(first_reminders(patient)) == 1


def test_complete_checkin_before_the_reminder_time_means_no_reminder(household, run_scan, as_user, outside_calls,
                                                                     django_capture_on_commit_callbacks):
    patient = household[0]
    run_scan(local(NY, 2026, 5, 4, 12, 0))
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        response = post_checkin(as_user(patient.user), **CAR_T_NORMAL)
    assert response.status_code == 201 and response.json()["is_complete"] is True
    for hour in (20, 21, 22, 23):
        run_scan(local(NY, 2026, 5, 4, hour, 0))
    assert not Notification.objects.exists()
    assert outside_calls.calls == []
    state = ReminderState.objects.get(patient=patient)
    assert state.expected_on == dt.date(2026, 5, 5)
    assert state.next_due_at == local(NY, 2026, 5, 5, 20, 0)


def test_checkin_logged_when_the_reschedule_hook_was_lost_still_prevents_the_reminder(household):
    """The scan itself looks for a check-in on the expected date before sending."""
    patient = household[0]
    with time_machine.travel(local(NY, 2026, 5, 4, 12, 0), tick=False):
        state = reminder_reschedule(patient=patient)
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False):
        log_complete_checkin(patient)  # its on_commit hook never runs here
    with time_machine.travel(local(NY, 2026, 5, 4, 20, 0), tick=False):
        due = local(NY, 2026, 5, 4, 20, 0)
        assert ReminderState.objects.get(pk=state.pk).next_due_at <= due  # still due: not moved on
        assert reminders_advance_due(now=due) == {"logged": 1}
    assert not Notification.objects.exists()
    assert ReminderState.objects.get(pk=state.pk).expected_on == dt.date(2026, 5, 5)


def test_incomplete_checkin_does_not_stop_the_reminder(household, run_scan, as_user,
                                                        django_capture_on_commit_callbacks):
    patient = household[0]
    run_scan(local(NY, 2026, 5, 4, 12, 0))
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert post_checkin(as_user(patient.user), temperature="37.1").json()["is_complete"] is False
    run_scan(local(NY, 2026, 5, 4, 20, 0))
    assert [d for d, _ in first_reminders(patient)] == [dt.date(2026, 5, 4)]


# --- Daylight-saving changes ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "start", "days"), [
    (NY, dt.date(2026, 3, 6), 4),              # spring forward on Sunday 8 March 2026
    (NY, dt.date(2026, 10, 30), 4),            # fall back on Sunday 1 November 2026
    ("Europe/Berlin", dt.date(2026, 3, 27), 4),  # Europe: 29 March 2026
    ("Europe/Berlin", dt.date(2026, 10, 23), 4),  # Europe: 25 October 2026
])
def test_hourly_scans_across_a_dst_change_send_one_first_reminder_per_day_at_20_00_local(team_a, nurse, zone,
                                                                                           start, days):
    tz = zoneinfo.ZoneInfo(zone)
    begin = dt.datetime.combine(start, dt.time(8, 0), tzinfo=tz).astimezone(dt.UTC)
    with time_machine.travel(begin, tick=False):
        patient = new_patient(team_a, time_zone=zone, start=start - dt.timedelta(days=1))
    moment = begin
    end = begin + dt.timedelta(days=days)
    while moment <= end:
        with time_machine.travel(moment, tick=False):
            reminders_advance_due_task()
        moment += dt.timedelta(hours=1)

    sent = first_reminders(patient)
    expected_dates = [start + dt.timedelta(days=n) for n in range(days)]
    assert Counter(d for d, _ in sent) == Counter(expected_dates)  # none missed, none repeated
    for expected, at in sent:
        assert at.date() == expected
        assert at.time() == dt.time(20, 0), (expected, at)
    missed = Notification.objects.filter(kind="missed_checkin", recipient=nurse, channel="inapp")
    assert missed.count() == days
    assert sorted(r.created_at.astimezone(tz).time() for r in missed) == [dt.time(22, 0)] * days


# --- How often a check-in is expected ---------------------------------------------------------------------------

@pytest.mark.parametrize(("days_since_infusion", "interval"), [(2, 1), (13, 1), (14, 7), (30, 7)])
def test_car_t_patient_is_expected_daily_through_the_daily_period_then_weekly(team_a, days_since_infusion, interval):
    """Policy car_t_daily_checkin_days = 14 (clinical-rules §3 daily monitoring, §1 days 0-14), then
    checkin_interval_days = 7."""
    today = dt.date(2026, 5, 20)
    with time_machine.travel(local(NY, 2026, 5, 20, 9, 0), tick=False):
        patient = new_patient(team_a, start=today - dt.timedelta(days=days_since_infusion))
        log_complete_checkin(patient)
        state = reminder_reschedule(patient=patient)
    assert state.expected_on == today + dt.timedelta(days=interval)
    assert state.next_due_at == local(NY, 2026, 5, 20 + interval, 20, 0)


def test_checkpoint_patient_is_expected_every_7_days_after_a_checkin(team_b, eager_tasks,
                                                                     django_capture_on_commit_callbacks):
    """Policy checkin_interval_days = 7 (weekly reporting, clinical-rules §7)."""
    chicago = "America/Chicago"
    with time_machine.travel(local(chicago, 2026, 5, 20, 9, 0), tick=False):
        patient = new_patient(team_b, therapy_code="pembrolizumab", time_zone=chicago, start=dt.date(2026, 4, 1))
        with django_capture_on_commit_callbacks(execute=True):
            log_complete_checkin(patient)  # the check-in hook's task reschedules
    state = ReminderState.objects.get(patient=patient)
    assert state.expected_on == dt.date(2026, 5, 27)
    assert state.next_due_at == local(chicago, 2026, 5, 27, 20, 0)

    with time_machine.travel(local(chicago, 2026, 5, 23, 9, 0), tick=False):
        assert reminder_reschedule(patient=patient).expected_on == dt.date(2026, 5, 27)  # last + 7 still ahead


def test_checkpoint_patient_overdue_is_expected_today(team_b):
    chicago = "America/Chicago"
    with time_machine.travel(local(chicago, 2026, 5, 20, 9, 0), tick=False):
        patient = new_patient(team_b, therapy_code="pembrolizumab", time_zone=chicago, start=dt.date(2026, 4, 1))
        log_complete_checkin(patient)
    with time_machine.travel(local(chicago, 2026, 5, 29, 9, 0), tick=False):
        state = reminder_reschedule(patient=patient)
    assert state.expected_on == dt.date(2026, 5, 29)
    assert state.next_due_at == local(chicago, 2026, 5, 29, 20, 0)


def test_patient_without_an_active_course_gets_no_reminders(team_a):
    from tracker.models.therapies import CourseStatus

    with time_machine.travel(local(NY, 2026, 5, 4, 10, 0), tick=False):
        patient = new_patient(team_a, start=dt.date(2026, 5, 2))
        reminder_reschedule(patient=patient)
        patient.courses.update(status=CourseStatus.COMPLETED)
        assert reminder_reschedule(patient=patient) is None
    assert ReminderState.objects.get(patient=patient).next_due_at is None
    with time_machine.travel(local(NY, 2026, 5, 4, 21, 0), tick=False):
        reminders_advance_due_task()
    assert not Notification.objects.exists()
