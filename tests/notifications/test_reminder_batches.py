"""The missed check-in scan in batches: a fixed number of queries per batch whatever its size, one step per
due row per tick, a failing row costs only itself, rows another scan holds are skipped, and the scan keeps
taking batches until nothing is due (within its per-tick bound)."""


import datetime as dt
import logging
import threading

import pytest
import time_machine
from django.db import connection, transaction

from notifications.models import Notification, ReminderState
from notifications.services import reminders
from notifications.services.reminders import reminder_reschedule, reminders_advance_batch, reminders_advance_due
from tests.factories import CaregiverLinkFactory
from tests.notifications.notif_support import (
    add_caregiver,
    local,
    log_complete_checkin,
    new_patient,
    reachable,
)

NY = "America/New_York"
DAY = dt.date(2026, 5, 4)
# Between the first (20:00) and second (21:00) reminder times of DAY: a row taken one step is not due again.
NOW = local(NY, 2026, 5, 4, 20, 30)
Stage = ReminderState.Stage


def due_patients(team, n: int, *, logged_every: int = 4) -> list:
    """n CAR T patients with a caregiver, each due at some stage of DAY; every `logged_every`-th one logged a
    complete check-in that day (the scan must find it and send nothing)."""
    patients = []
    with time_machine.travel(local(NY, 2026, 5, 4, 9, 0), tick=False):
        for i in range(n):
            patient = new_patient(team, start=DAY - dt.timedelta(days=3))
            reachable(patient.user)
            reachable(add_caregiver(patient))
            if i % logged_every == logged_every - 1:
                log_complete_checkin(patient)
            ReminderState.objects.create(patient=patient, expected_on=DAY, stage=i % 3,
                                         next_due_at=NOW - dt.timedelta(minutes=1))
            patients.append(patient)
    return patients


@pytest.mark.parametrize("n", [4, 40])
def test_a_batch_costs_the_same_queries_for_4_or_40_due_rows(team_a, nurse, n, django_assert_max_num_queries):
    """Every kind of step in both: first, second, nurse, and logged (rescheduled)."""
    reachable(nurse)
    due_patients(team_a, n)
    # Claim, policies, doses in a 12-hourly check-in period (and those patients' last check-ins, when any has
    # one), logged check, caregivers, on call (shifts, then members), preferences, reschedule (courses, last
    # check-ins), notifications, their attempts, the states: 14, + savepoint and release here.
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(16):
        claimed, outcomes = reminders_advance_batch(now=NOW)
    assert len(claimed) == n
    assert set(outcomes.values()) == {"first reminder", "second reminder", "nurse told", "logged"}
    assert Notification.objects.count() > n


def test_a_batch_sends_what_each_stage_sends(team_a, nurse):
    reachable(nurse)
    patients = due_patients(team_a, 4)  # stages 0, 1, 2; the fourth (stage 0) logged
    with time_machine.travel(NOW, tick=False):
        _, outcomes = reminders_advance_batch(now=NOW)
    states = {s.patient_id: s for s in ReminderState.objects.all()}
    by_patient = {p.pk: outcomes[states[p.pk].pk] for p in patients}
    assert [by_patient[p.pk] for p in patients] == ["first reminder", "second reminder", "nurse told", "logged"]

    first, second, told, logged = patients
    for patient, stage in ((first, 1), (second, 2)):
        rows = Notification.objects.filter(patient=patient, kind="reminder")
        assert {r.dedup_key.split(":")[3] for r in rows} == {str(stage)}
        assert {(r.recipient_id, r.channel) for r in rows} == {
            (patient.user_id, "inapp"), (patient.user_id, "sms"),
            (patient.caregivers.get().pk, "inapp"), (patient.caregivers.get().pk, "sms")}
    assert {(r.recipient_id, r.channel) for r in Notification.objects.filter(patient=told)} == {
        (nurse.pk, "inapp"), (nurse.pk, "email")}
    assert not Notification.objects.filter(patient=logged).exists()

    assert (states[first.pk].stage, states[first.pk].next_due_at) == (Stage.FIRST_SENT, local(NY, 2026, 5, 4, 21, 0))
    assert (states[second.pk].stage, states[second.pk].next_due_at) == (Stage.SECOND_SENT, local(NY, 2026, 5, 4, 22, 0))
    assert (states[told.pk].stage, states[told.pk].expected_on) == (Stage.WAITING, DAY + dt.timedelta(days=1))
    assert (states[logged.pk].expected_on, states[logged.pk].next_due_at) == (
        DAY + dt.timedelta(days=1), local(NY, 2026, 5, 5, 20, 0))
    # In-app rows are delivered by being written, each with its attempt; the others wait for a worker.
    inapp = Notification.objects.filter(channel="inapp")
    assert set(inapp.values_list("status", flat=True)) == {"sent"}
    assert all(n.delivery_attempts.count() == 1 for n in inapp)
    assert set(Notification.objects.exclude(channel="inapp").values_list("status", flat=True)) == {"pending"}


def test_new_rows_are_handed_to_workers_after_commit_and_duplicates_are_not(team_a, nurse, enqueued,
                                                                          django_capture_on_commit_callbacks):
    reachable(nurse)
    due_patients(team_a, 3, logged_every=99)
    before = list(ReminderState.objects.values_list("pk", "expected_on", "stage", "next_due_at"))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_advance_batch(now=NOW)
    assert enqueued == []  # nothing before commit
    for callback in callbacks:
        callback()
    outside = set(Notification.objects.exclude(channel="inapp").values_list("pk", flat=True))
    assert sorted(enqueued) == sorted(outside) and outside

    # The same steps again (the states put back by hand): every key exists, nothing new, nothing enqueued.
    for pk, expected_on, stage, next_due_at in before:
        ReminderState.objects.filter(pk=pk).update(expected_on=expected_on, stage=stage, next_due_at=next_due_at)
    count, enqueued[:] = Notification.objects.count(), []
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        reminders_advance_batch(now=NOW)
    assert Notification.objects.count() == count
    assert enqueued == []


def test_a_row_due_twice_over_takes_one_step_per_tick(team_a, nurse):
    """After an outage, a reminder whose second time has passed too is not sent first and second at once:
    each tick takes each due row one step, as the per-row scan did."""
    with time_machine.travel(local(NY, 2026, 5, 4, 9, 0), tick=False):
        patient = new_patient(team_a, start=DAY - dt.timedelta(days=3))
        reminder_reschedule(patient=patient)
    late = local(NY, 2026, 5, 4, 22, 30)  # the second (21:00) and nurse (22:00) times have passed too
    with time_machine.travel(late, tick=False):
        assert reminders_advance_due(now=late, batch_size=1) == {"first reminder": 1}
        assert reminders_advance_due(now=late, batch_size=1) == {"second reminder": 1}
        assert reminders_advance_due(now=late, batch_size=1) == {"nurse told": 1}
        assert reminders_advance_due(now=late, batch_size=1) == {}


def test_the_scan_takes_batches_until_nothing_is_due(team_a, nurse):
    due_patients(team_a, 7, logged_every=99)
    with time_machine.travel(NOW, tick=False):
        assert reminders_advance_due(now=NOW, batch_size=2).total() == 7
    assert not ReminderState.objects.filter(next_due_at__lte=NOW).exists()


def test_the_scan_stops_at_its_per_tick_bound_and_the_next_tick_goes_on(team_a, nurse, caplog):
    due_patients(team_a, 7, logged_every=99)
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.WARNING, logger=reminders.__name__):
        assert reminders_advance_due(now=NOW, batch_size=2, max_rows=5).total() == 5
        assert ReminderState.objects.filter(next_due_at__lte=NOW).count() == 2
        assert "2 rows wait for the next tick" in caplog.text
        assert reminders_advance_due(now=NOW, batch_size=2, max_seconds=0).total() == 2  # at least one batch runs
    assert not ReminderState.objects.filter(next_due_at__lte=NOW).exists()


def test_the_tick_bounds_drain_a_100k_evening_peak(settings):
    """The bound is well above the ~10,500 rows due at the evening peak of 100,000 patients (bench/scans.py)."""
    assert reminders.TICK_MAX_ROWS >= 20 * reminders.BATCH_SIZE
    assert reminders.TICK_MAX_SECONDS < 60  # below the beat interval of reminders_advance_due_task


def test_a_failing_row_costs_only_itself_and_is_logged(team_a, nurse, monkeypatch, caplog):
    """The batch is rolled back whole (nothing half-saved) and its rows are advanced one transaction each;
    the row that fails alone stays due with no notification written, and both failures are logged."""
    reachable(nurse)
    patients = due_patients(team_a, 5, logged_every=99)
    bad = patients[2]
    real = reminders._save_states

    def save_failing(states):
        if any(s.patient_id == bad.pk for s in states):
            raise RuntimeError("simulated failure after the notifications were written")
        real(states)

    monkeypatch.setattr(reminders, "_save_states", save_failing)
    before = ReminderState.objects.get(patient=bad)
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.ERROR, logger=reminders.__name__):
        outcomes = reminders_advance_due(now=NOW)
    assert outcomes == {"first reminder": 2, "second reminder": 2, "failed": 1}  # stages 0, 1, 2 (bad), 0, 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "batch of 5 rows" in errors[0].getMessage()
    assert f"state {before.pk} failed" in errors[1].getMessage()
    after = ReminderState.objects.get(patient=bad)
    assert (after.stage, after.next_due_at, after.expected_on) == (before.stage, before.next_due_at, before.expected_on)
    assert not Notification.objects.filter(patient=bad).exists()
    for patient in patients:
        if patient != bad:
            assert Notification.objects.filter(patient=patient).exists()
            assert ReminderState.objects.get(patient=patient).next_due_at > NOW


def test_inactive_caregivers_are_not_reminded(team_a):
    with time_machine.travel(local(NY, 2026, 5, 4, 9, 0), tick=False):
        patient = new_patient(team_a, start=DAY - dt.timedelta(days=3))
        gone = CaregiverLinkFactory(patient=patient).user
        gone.is_active = False
        gone.save()
        reminder_reschedule(patient=patient)
    with time_machine.travel(local(NY, 2026, 5, 4, 20, 0), tick=False):
        reminders_advance_due(now=local(NY, 2026, 5, 4, 20, 0))
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {patient.user_id}


def test_ensure_states_gives_every_active_patient_a_schedule_in_batches(team_a, django_assert_max_num_queries):
    from tracker.models.therapies import CourseStatus

    with time_machine.travel(local(NY, 2026, 5, 4, 9, 0), tick=False):
        patients = [new_patient(team_a, start=DAY - dt.timedelta(days=3)) for _ in range(5)]
        log_complete_checkin(patients[0])
        patients[4].courses.update(status=CourseStatus.COMPLETED)
        with django_assert_max_num_queries(8):  # who lacks one; the policies once; 3 a batch
            assert reminders.reminders_ensure_states(batch_size=2) == 4
        states = {s.patient_id: (s.expected_on, s.stage, s.next_due_at) for s in ReminderState.objects.all()}
        assert set(states) == {p.pk for p in patients[:4]}
        for patient in patients[:4]:  # the same as the one-patient reschedule
            state = reminder_reschedule(patient=patient)
            assert states[patient.pk] == (state.expected_on, Stage.WAITING, state.next_due_at)
    assert states[patients[0].pk][0] == DAY + dt.timedelta(days=1)  # logged today: expected tomorrow
    assert states[patients[1].pk] == (DAY, Stage.WAITING, local(NY, 2026, 5, 4, 20, 0))


@pytest.mark.django_db(transaction=True)
def test_a_row_another_scan_holds_is_skipped_and_sent_once_later(team_a):
    """Two scans at once never send twice: each claims its batch with FOR UPDATE SKIP LOCKED."""
    from tracker.catalogue import sync_catalogue
    from tracker.models import Therapy

    sync_catalogue(Therapy)
    patients = due_patients(team_a, 3, logged_every=99)
    held_state = ReminderState.objects.get(patient=patients[1])
    held, release = threading.Event(), threading.Event()

    def other_scan_holds_one_row():
        try:
            with transaction.atomic():
                ReminderState.objects.select_for_update().get(pk=held_state.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=other_scan_holds_one_row)
    holder.start()
    try:
        assert held.wait(10)
        with time_machine.travel(NOW, tick=False):
            assert reminders_advance_due(now=NOW).total() == 2
    finally:
        release.set()
        holder.join(10)
    assert ReminderState.objects.get(pk=held_state.pk).next_due_at < NOW  # untouched, still due
    assert not ReminderState.objects.filter(next_due_at__lte=NOW).exclude(pk=held_state.pk).exists()
    assert not Notification.objects.filter(patient=patients[1]).exists()
    with time_machine.travel(NOW, tick=False):
        assert reminders_advance_due(now=NOW) == {"second reminder": 1}
        assert reminders_advance_due(now=NOW).total() == 0
    assert Notification.objects.filter(patient=patients[1]).count() == 4  # patient and caregiver, 2 channels
