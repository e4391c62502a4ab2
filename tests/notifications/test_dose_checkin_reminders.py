"""Check-in reminders every 12 h for 72 h after each step-up or first full dose of a T-cell engager
(clinical-rules §8, policies dose_checkin_interval_hours / dose_checkin_period_hours): slots counted in real
hours in the patient's zone (New York, across the 2026-11-01 change from EDT to EST), answered by a complete
check-in, skipped while the patient is kept in hospital, back to the daily schedule afterwards; the batch's
query count does not grow with doses present."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from notifications.channels import REGISTRY
from notifications.models import Notification, ReminderState
from notifications.services.reminders import reminder_reschedule, reminders_advance_batch, reminders_advance_due
from tests.notifications.notif_support import add_caregiver, log_complete_checkin, new_patient, reachable
from tests.notifications.test_reminder_batches import NOW, due_patients
from tracker.dose_services import dose_record

NY = zoneinfo.ZoneInfo("America/New_York")
H = dt.timedelta(hours=1)
Stage = ReminderState.Stage


def ny(month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NY)


def plus(moment: dt.datetime, hours: float) -> dt.datetime:
    return moment.astimezone(dt.UTC) + hours * H


@pytest.fixture
def tecvayli(team_a):
    patient = new_patient(team_a, therapy_code="teclistamab", start=dt.date(2026, 10, 29))
    reachable(patient.user)
    return patient


@pytest.fixture
def give(nurse, django_capture_on_commit_callbacks, eager_tasks):
    """give(patient, step, start, setting=..., kept=...): a dose recorded a minute after it ended (5 minutes)."""

    def _give(patient, step, start, *, setting="infusion_center", kept=False):
        values = {"step_code": step, "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
                  "setting": setting, "kept_for_monitoring": kept}
        with time_machine.travel(start + dt.timedelta(minutes=6), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            return dose_record(course=patient.courses.get(), values=values, recorded_by=nurse)
    return _give


def state_of(patient) -> ReminderState:
    return ReminderState.objects.get(patient=patient)


def run_until(patient, until: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """Run the scan at each moment the patient's reminder state is next due, up to `until`: (when, outcome)."""
    steps = []
    for _ in range(100):
        due = state_of(patient).next_due_at
        if due is None or due > until:
            break
        with time_machine.travel(due, tick=False):
            outcomes = reminders_advance_due(now=due)
        steps.append((due, next(iter(outcomes))))
    return steps


def first_reminders(steps) -> list[str]:
    return [when.astimezone(NY).strftime("%a %d %H:%M %Z") for when, outcome in steps if outcome == "first reminder"]


def test_a_step_up_dose_sends_reminders_every_12_real_hours_for_72_hours_across_the_dst_change(tecvayli, give):
    give(tecvayli, "su1", ny(10, 30, 10))  # Friday 10:00 EDT; the clocks go back on Sunday 1 November
    state = state_of(tecvayli)
    assert (state.dose_slot_from, state.dose_slot_at, state.next_due_at) == (
        ny(10, 30, 10), ny(10, 30, 22), ny(10, 30, 22))
    steps = run_until(tecvayli, ny(11, 2, 20, 30))
    # No check-in at all: each slot gets its reminders and the nurse, then the next slot 12 real hours after
    # the one before (09:00 EST on Sunday is 12 h after 22:00 EDT); the last slot is the period's end (72 h).
    assert first_reminders(steps) == [
        "Fri 30 22:00 EDT", "Sat 31 10:00 EDT", "Sat 31 22:00 EDT", "Sun 01 09:00 EST", "Sun 01 21:00 EST",
        "Mon 02 09:00 EST", "Mon 02 20:00 EST"]  # the last one: the daily reminder time again
    assert [o for _, o in steps].count("nurse told") == 6
    state = state_of(tecvayli)
    assert state.dose_slot_at is None and state.expected_on == dt.date(2026, 11, 2)
    # One row per slot, stage, person and channel: the slot's time is in the key.
    keys = set(Notification.objects.filter(patient=tecvayli, kind="reminder").values_list("dedup_key", flat=True))
    assert f"reminder:{tecvayli.uuid}:slot2026-11-01T1400Z:1:user{tecvayli.user_id}:inapp" in keys
    # The nurse is told which check-in was missed: the 12-hourly one after a dose, not "today's".
    notices = Notification.objects.filter(patient=tecvayli, kind="missed_checkin")
    assert notices.exists() and all(n.context["dose_slot"] for n in notices)
    notice = notices.first()
    assert "72 hours after a dose" in REGISTRY[notice.channel]().render(notice, "body")


def test_a_check_in_answers_the_slot_and_the_next_is_due_12_hours_after_it(tecvayli, give):
    give(tecvayli, "su1", ny(10, 30, 10))
    with time_machine.travel(ny(10, 30, 19), tick=False):
        log_complete_checkin(tecvayli)
    with time_machine.travel(ny(10, 30, 22), tick=False):
        assert reminders_advance_due(now=ny(10, 30, 22)) == {"logged": 1}
    state = state_of(tecvayli)
    assert (state.dose_slot_from, state.dose_slot_at, state.stage) == (ny(10, 30, 19), ny(10, 31, 7), Stage.WAITING)
    assert not Notification.objects.filter(patient=tecvayli).exists()


def test_the_daily_schedule_moves_to_the_slots_of_a_dose_recorded_without_a_reschedule(tecvayli, give, nurse):
    """Even if the reschedule after the dose was lost (no broker, no inline), the scan finds the period."""
    with time_machine.travel(ny(10, 30, 8), tick=False):
        reminder_reschedule(patient=tecvayli)
    from tracker.models import DoseAdministration

    DoseAdministration.objects.create(  # straight to the table: no signal, no reschedule
        course=tecvayli.courses.get(), step_code="su1", started_at=ny(10, 30, 10), ended_at=ny(10, 30, 10, 5),
        setting="infusion_center", recorded_by=nurse)
    state = state_of(tecvayli)
    assert state.dose_slot_at is None and state.next_due_at == ny(10, 30, 20)
    with time_machine.travel(ny(10, 30, 20), tick=False):
        assert reminders_advance_due(now=ny(10, 30, 20)) == {"to 12-hourly check-ins": 1}
    assert state_of(tecvayli).dose_slot_at == ny(10, 30, 22)


def test_no_reminder_while_the_patient_is_kept_in_hospital_after_the_dose(tecvayli, give):
    give(tecvayli, "su1", ny(10, 30, 10), setting="inpatient", kept=True)  # supervised for 48 h
    steps = run_until(tecvayli, ny(11, 2, 12))
    outcomes = [o for _, o in steps]
    # The slots at 12, 24 and 36 real hours fall in the 48 h in hospital; the one at 48 h is the first at home.
    assert outcomes[:3] == ["under watch"] * 3
    assert first_reminders(steps) == ["Sun 01 09:00 EST", "Sun 01 21:00 EST", "Mon 02 09:00 EST"]
    assert not Notification.objects.filter(patient=tecvayli, created_at__lt=ny(11, 1, 9)).exists()


@pytest.mark.parametrize("n", [4, 40])
def test_the_batch_query_count_stays_the_same_with_doses_present(team_a, nurse, n, django_assert_max_num_queries):
    """A fifth of the due patients are on teclistamab with a step-up dose 30 hours ago, some of them working on a
    12-hourly slot: every kind of step in one batch, same queries for 4 or 40."""
    from tracker.models import DoseAdministration, Therapy

    reachable(nurse)
    patients = due_patients(team_a, n)
    for i, patient in enumerate(patients):
        if i % 5 == 0:
            course = patient.courses.get()
            course.therapy = Therapy.objects.get(code="teclistamab")
            course.save()
            DoseAdministration.objects.create(course=course, step_code="su1", started_at=NOW - 30 * H,
                                              setting="infusion_center", recorded_by=nurse)
            if i % 10 == 0:
                ReminderState.objects.filter(patient=patient).update(
                    dose_slot_from=NOW - 18 * H, dose_slot_at=NOW - 6 * H, stage=i % 3)
    add_caregiver(patients[0])
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(16):
        claimed, outcomes = reminders_advance_batch(now=NOW)
    assert len(claimed) == n
    assert Notification.objects.filter(dedup_key__contains=":slot").exists()
