"""The morning digest per care team at the center's digest time (center policy, 07:00), and the notice that a
no-driving or stay-nearby window ended (clinical-rules §3: the window ends when its time has passed, on the
patient's local date, unless a physician cleared it earlier)."""


import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import Window
from monitoring.services.windows import window_clear
from notifications.models import DigestRun, Notification
from notifications.services.digest import digests_send_due, window_ends_notify
from notifications.tasks import digests_send_due_task, window_ends_notify_task
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    local,
    new_patient,
    post_checkin,
    reachable,
)

NY = "America/New_York"


@pytest.fixture
def day():
    """Tomorrow (UTC date): the `patient` fixture's course started 3 days before it."""
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def teams(patient, other_patient, nurse, charge_nurse, physician, other_nurse, caregiver):
    for user in (nurse, charge_nurse, physician, other_nurse):
        reachable(user)
    reachable(patient.user)
    reachable(caregiver)
    return patient.care_team, other_patient.care_team


@pytest.fixture
def deliver(eager_tasks, outside_calls, django_capture_on_commit_callbacks):
    def _run(moment, func):
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return func()

    return _run


# --- Digest -----------------------------------------------------------------------------------------------------

def test_digest_goes_out_at_07_00_center_time_once_per_team_to_staff_by_inapp_and_email(
        teams, day, deliver, as_user, patient, other_patient, nurse, charge_nurse, physician, other_nurse, caregiver,
        outside_calls, mailoutbox):
    """clinical-rules "Urgency levels": routine alerts are reviewed in the daily digest."""
    team_a, team_b = teams
    with time_machine.travel(local(NY, day.year, day.month, day.day, 6, 0), tick=False):
        assert post_checkin(as_user(patient.user), **FEVER_AND_DIZZY).json()["urgency"] == "emergency"
        assert post_checkin(as_user(other_patient.user), extra_stools=3).json()["urgency"] == "routine"
    assert deliver(local(NY, day.year, day.month, day.day, 6, 59), digests_send_due) == 0
    assert not DigestRun.objects.exists()

    assert deliver(local(NY, day.year, day.month, day.day, 7, 0), digests_send_due) == 2
    runs = {run.team_id: run for run in DigestRun.objects.all()}
    assert set(runs) == {team_a.pk, team_b.pk}
    assert all(run.local_date == day for run in runs.values())
    assert runs[team_a.pk].summary["open_alerts"] == 1
    assert runs[team_a.pk].summary["emergencies"] == 1
    assert runs[team_a.pk].summary["urgents"] == 0
    assert runs[team_b.pk].summary["open_alerts"] == 1
    assert runs[team_b.pk].summary["emergencies"] == 0

    rows = Notification.objects.filter(kind="digest")
    assert {(r.recipient_id, r.channel) for r in rows} == {
        (u.pk, c) for u in (nurse, charge_nurse, physician, other_nurse) for c in ("inapp", "email")}
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    assert not rows.filter(recipient__in=[patient.user, caregiver]).exists()
    assert outside_calls.calls == []  # no SMS for a digest
    mail_to_nurse = [m for m in mailoutbox if m.to == [nurse.email]]
    assert len(mail_to_nurse) == 1
    assert "1 open alerts (1 emergency, 0 urgent)" in mail_to_nurse[0].body
    assert "/staff/patients/" in mail_to_nurse[0].body

    count = Notification.objects.count()
    assert deliver(local(NY, day.year, day.month, day.day, 7, 5), digests_send_due) == 0
    assert deliver(local(NY, day.year, day.month, day.day, 23, 59), digests_send_due) == 0
    assert Notification.objects.count() == count
    assert DigestRun.objects.count() == 2


def test_next_days_digest_waits_for_07_00_again(teams, day, deliver):
    deliver(local(NY, day.year, day.month, day.day, 7, 0), digests_send_due)
    nxt = day + dt.timedelta(days=1)
    assert deliver(local(NY, nxt.year, nxt.month, nxt.day, 0, 30), digests_send_due) == 0
    assert deliver(local(NY, nxt.year, nxt.month, nxt.day, 6, 59), digests_send_due) == 0
    assert deliver(local(NY, nxt.year, nxt.month, nxt.day, 7, 0), digests_send_due) == 2
    assert sorted(DigestRun.objects.values_list("local_date", flat=True)) == [day, day, nxt, nxt]


def test_digest_time_follows_the_centers_time_zone(teams, day, deliver, patient):
    center = patient.center
    center.time_zone = "Asia/Tokyo"
    center.save()
    assert deliver(local("Asia/Tokyo", day.year, day.month, day.day, 6, 59), digests_send_due) == 0
    assert deliver(local("Asia/Tokyo", day.year, day.month, day.day, 7, 0), digests_send_due) == 2
    assert set(DigestRun.objects.values_list("local_date", flat=True)) == {day}


def test_digest_counts_missed_checkins_and_windows_ending_soon(teams, day, deliver, patient):
    from notifications.models import ReminderState

    ReminderState.objects.create(patient=patient, expected_on=day - dt.timedelta(days=1))
    Window.objects.filter(course__patient=patient, kind="driving").update(ends_on=day + dt.timedelta(days=2))
    assert deliver(local(NY, day.year, day.month, day.day, 7, 0), lambda: digests_send_due_task.delay().get()) == 2
    summary = DigestRun.objects.get(team=patient.care_team).summary
    assert summary["missed"] == 1
    assert summary["windows_ending"] == 1


# --- Window end -------------------------------------------------------------------------------------------------

def _driving(patient):
    return Window.objects.get(course__patient=patient, kind="driving")


def _rows_for(window):
    return Notification.objects.filter(kind="window_end", dedup_key__startswith=f"window_end:{window.uuid}:")


def test_window_end_is_told_to_patient_caregiver_and_nurse_once_on_the_patients_local_date(
        teams, deliver, patient, caregiver, nurse, outside_calls):
    """clinical-rules §3: no driving for 2 weeks after infusion; `ends_on` is the first day without it."""
    window = _driving(patient)
    end = window.ends_on
    eve = end - dt.timedelta(days=1)
    # 23:30 in New York is already `end` in UTC: the patient's date is what counts.
    assert deliver(local(NY, eve.year, eve.month, eve.day, 23, 30), window_ends_notify) == 0
    assert not Notification.objects.exists()

    told = deliver(local(NY, end.year, end.month, end.day, 0, 30), window_ends_notify)
    assert told == 2  # the driving and the stay-nearby window of Yescarta end together (14 days each)
    rows = _rows_for(window)
    assert {(r.recipient_id, r.channel) for r in rows} == {
        (patient.user_id, "inapp"), (patient.user_id, "sms"), (caregiver.pk, "inapp"), (caregiver.pk, "sms"),
        (nurse.pk, "inapp")}
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    assert all(r.context["window_kind"] == "driving" for r in rows)
    assert rows.get(recipient=nurse).context["for_patient"] is False
    texts = [s["text"] for s in outside_calls.sms()]
    assert any("no-driving period has ended" in t for t in texts)
    window.refresh_from_db()
    assert window.end_notified_at == local(NY, end.year, end.month, end.day, 0, 30)

    count = Notification.objects.count()
    assert deliver(local(NY, end.year, end.month, end.day, 12, 0), window_ends_notify) == 0
    later = end + dt.timedelta(days=3)
    assert deliver(local(NY, later.year, later.month, later.day, 12, 0), lambda: window_ends_notify_task.delay().get()) == 0
    assert Notification.objects.count() == count


def test_cleared_window_gets_no_end_notice(teams, deliver, patient, physician):
    window = _driving(patient)
    with time_machine.travel(local(NY, window.starts_on.year, window.starts_on.month, window.starts_on.day, 12, 0)
                             + dt.timedelta(days=10), tick=False):
        window_clear(window=window, user=physician, reason="Neurology review: safe to drive")
    end = window.ends_on
    assert deliver(local(NY, end.year, end.month, end.day, 9, 0), window_ends_notify) == 1  # proximity only
    assert not _rows_for(window).exists()
    assert Notification.objects.filter(kind="window_end").exists()


def test_window_end_for_a_tokyo_patient_follows_tokyo_dates(team_a, nurse, deliver):
    tokyo = "Asia/Tokyo"
    start = timezone.localdate() - dt.timedelta(days=2)
    patient = new_patient(team_a, time_zone=tokyo, start=start)
    window = _driving(patient)
    end = window.ends_on
    assert deliver(local(tokyo, end.year, end.month, end.day, 0, 0) - dt.timedelta(minutes=1), window_ends_notify) == 0
    assert deliver(local(tokyo, end.year, end.month, end.day, 0, 0), window_ends_notify) == 2
    assert _rows_for(window).filter(recipient=patient.user).exists()


def test_patient_who_missed_yesterdays_checkin_is_counted_in_this_mornings_digest(
        team_a, nurse, day, deliver, django_capture_on_commit_callbacks):
    """Yesterday's reminders went unanswered and the nurse was told at 22:00; the reminder schedule then moved
    on to today (the state `reminder_advance` leaves). The morning digest must count that missed check-in;
    a patient who did check in yesterday is not counted."""
    from notifications.models import ReminderState
    from notifications.services.reminders import reminder_reschedule
    from tests.notifications.notif_support import log_complete_checkin

    yesterday = day - dt.timedelta(days=1)
    with time_machine.travel(local(NY, yesterday.year, yesterday.month, yesterday.day, 8, 0), tick=False):
        missed = new_patient(team_a, start=yesterday - dt.timedelta(days=2))
        logged = new_patient(team_a, start=yesterday - dt.timedelta(days=2))
        reminder_reschedule(patient=missed)
        log_complete_checkin(logged)
        reminder_reschedule(patient=logged)
    # What the reminder scan leaves behind after first, second and nurse steps for `yesterday`:
    Notification.objects.create(dedup_key=f"missed:{missed.uuid}:{yesterday}:user{nurse.pk}:inapp",
                                kind="missed_checkin", channel="inapp", patient=missed, recipient=nurse,
                                created_at=local(NY, yesterday.year, yesterday.month, yesterday.day, 22, 0),
                                status="sent", context={"link": f"/patients/{missed.uuid}/"})
    ReminderState.objects.filter(patient=missed).update(
        expected_on=day, stage=ReminderState.Stage.WAITING, next_due_at=local(NY, day.year, day.month, day.day, 20, 0))
    assert ReminderState.objects.get(patient=logged).expected_on == day

    deliver(local(NY, day.year, day.month, day.day, 7, 0), digests_send_due)
    assert DigestRun.objects.get(team=team_a).summary["missed"] == 1


def test_patient_whose_course_ended_is_not_counted_as_missing_checkins(team_a, nurse, day, deliver,
                                                                       django_capture_on_commit_callbacks):
    """Monitoring completed: no check-in is expected any more, so none can be missed."""
    from notifications.models import ReminderState
    from notifications.services.reminders import reminder_reschedule
    from tracker.models.therapies import CourseStatus

    earlier = day - dt.timedelta(days=10)
    with time_machine.travel(local(NY, earlier.year, earlier.month, earlier.day, 8, 0), tick=False):
        patient = new_patient(team_a, start=earlier - dt.timedelta(days=30))
        assert reminder_reschedule(patient=patient).expected_on == earlier
        with django_capture_on_commit_callbacks(execute=True):
            course = patient.courses.get()
            course.status = CourseStatus.COMPLETED
            course.save()  # the course hook reschedules: nothing is due any more
    state = ReminderState.objects.get(patient=patient)
    assert state.next_due_at is None
    deliver(local(NY, day.year, day.month, day.day, 7, 0), digests_send_due)
    assert DigestRun.objects.get(team=team_a).summary["missed"] == 0
