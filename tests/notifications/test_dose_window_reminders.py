"""No home check-in reminder while the patient is in hospital or kept for monitoring after a dose (clinical-rules
§8: monitored after each step-up-schedule dose; home monitoring starts when it ends), with the batch's query count
unchanged."""

import datetime as dt

import pytest
import time_machine

from monitoring.models import DoseWindow, DoseWindowKind
from notifications.models import Notification, ReminderState
from notifications.services.reminders import reminders_advance_batch
from tests.factories import CheckInFactory
from tests.notifications.notif_support import local, reachable
from tests.notifications.test_reminder_batches import DAY, NOW, NY, due_patients

Stage = ReminderState.Stage


def watch(patient, *, supervised=True, opens=NOW - dt.timedelta(hours=2), hours=48, kind=DoseWindowKind.MONITORING):
    course = patient.courses.first()
    checkin = CheckInFactory(patient=patient, recorded_at=opens)
    return DoseWindow.objects.create(course=course, kind=kind, checkin=checkin, reason="monitor_after_dose",
                                     opens_at=opens, closes_at=opens + dt.timedelta(hours=hours),
                                     supervised=supervised)


def test_no_reminder_during_an_inpatient_monitoring_window(team_a, nurse):
    reachable(nurse)
    inpatient, at_home, ended, nurse_stage = due_patients(team_a, 4, logged_every=99)
    watch(inpatient)
    watch(at_home, supervised=False)  # monitored, but not by the team: reminded as usual
    watch(ended, opens=NOW - dt.timedelta(hours=50))  # closed 2 h ago
    watch(nurse_stage)  # stage "second sent": the nurse is not told of a missed check-in either
    with time_machine.travel(NOW, tick=False):
        _, outcomes = reminders_advance_batch(now=NOW)
    states = {s.patient_id: s for s in ReminderState.objects.all()}
    assert outcomes[states[inpatient.pk].pk] == "under watch"
    assert outcomes[states[at_home.pk].pk] == "second reminder"
    assert outcomes[states[ended.pk].pk] == "nurse told"
    assert outcomes[states[nurse_stage.pk].pk] == "under watch"
    assert not Notification.objects.filter(patient__in=[inpatient, nurse_stage]).exists()
    assert Notification.objects.filter(patient=at_home, kind="reminder").exists()
    state = states[inpatient.pk]
    assert (state.stage, state.expected_on, state.next_due_at) == (
        Stage.WAITING, DAY + dt.timedelta(days=1), local(NY, 2026, 5, 5, 20, 0))


@pytest.mark.parametrize("n", [4, 40])
def test_the_batch_query_count_stays_the_same_with_watched_patients(team_a, nurse, n, django_assert_max_num_queries):
    reachable(nurse)
    for i, patient in enumerate(due_patients(team_a, n)):
        if i % 5 == 0:
            watch(patient)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(16):
        claimed, outcomes = reminders_advance_batch(now=NOW)
    assert len(claimed) == n and "under watch" in outcomes.values()
