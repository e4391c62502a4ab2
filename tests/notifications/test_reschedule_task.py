"""A complete check-in moves the next reminder on in a Celery task enqueued after commit, not in the web
request. Without a broker the check-in still succeeds; the scan finds the check-in at the reminder time,
sends nothing and reschedules then. A saved treatment course uses the same task (or, without a broker,
reschedules in place: the scan could not tell a course had ended)."""


import datetime as dt
import logging

import pytest
import time_machine
from kombu.exceptions import OperationalError as BrokerError

from notifications.models import Notification, ReminderState
from notifications.services.reminders import reminder_reschedule
from notifications.tasks import reminder_reschedule_task, reminders_advance_due_task
from tests.notifications.notif_support import (
    CAR_T_NORMAL,
    local,
    new_patient,
    post_checkin,
)
from tracker.models.therapies import CourseStatus

NY = "America/New_York"
DAY = dt.date(2026, 5, 4)


@pytest.fixture
def scheduled(team_a, nurse):
    """A CAR T patient whose first reminder is due at 20:00 on DAY."""
    with time_machine.travel(local(NY, 2026, 5, 4, 9, 0), tick=False):
        patient = new_patient(team_a, start=DAY - dt.timedelta(days=2))
        state = reminder_reschedule(patient=patient)
    assert state.next_due_at == local(NY, 2026, 5, 4, 20, 0)
    return patient


@pytest.fixture
def sent_tasks(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(reminder_reschedule_task, "delay", lambda patient_id: ids.append(patient_id))
    return ids


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise BrokerError("connection refused")

    monkeypatch.setattr(reminder_reschedule_task, "delay", refuse)


def checkin_at_15(as_user, patient, django_capture_on_commit_callbacks):
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        response = post_checkin(as_user(patient.user), **CAR_T_NORMAL)
    assert response.status_code == 201 and response.json()["is_complete"] is True


def test_a_complete_checkin_enqueues_the_reschedule_after_commit_instead_of_doing_it(
        scheduled, as_user, sent_tasks, django_capture_on_commit_callbacks):
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_checkin(as_user(scheduled.user), **CAR_T_NORMAL)
    assert sent_tasks == []  # not before commit
    for callback in callbacks:
        callback()
    assert sent_tasks == [scheduled.pk]
    assert ReminderState.objects.get(patient=scheduled).expected_on == DAY  # the request did not reschedule


def test_an_incomplete_checkin_enqueues_nothing(scheduled, as_user, sent_tasks, django_capture_on_commit_callbacks):
    with time_machine.travel(local(NY, 2026, 5, 4, 15, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert post_checkin(as_user(scheduled.user), temperature="37.1").json()["is_complete"] is False
    assert sent_tasks == []


def test_only_the_first_complete_checkin_of_a_local_day_enqueues_it(
        scheduled, as_user, sent_tasks, django_capture_on_commit_callbacks):
    """A later complete check-in the same day changes nothing the reschedule reads (the last complete
    check-in's date): no task. The next day's first one enqueues it again."""
    for hour in (9, 15, 22):  # 22:00 in New York is the next day in UTC, the same local date
        with time_machine.travel(local(NY, 2026, 5, 4, hour, 0), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            assert post_checkin(as_user(scheduled.user), **CAR_T_NORMAL).status_code == 201
    assert sent_tasks == [scheduled.pk]
    with time_machine.travel(local(NY, 2026, 5, 5, 8, 0), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert post_checkin(as_user(scheduled.user), **CAR_T_NORMAL).status_code == 201
    assert sent_tasks == [scheduled.pk, scheduled.pk]


def test_the_task_moves_the_next_reminder_on(scheduled, as_user, eager_tasks, django_capture_on_commit_callbacks):
    checkin_at_15(as_user, scheduled, django_capture_on_commit_callbacks)
    state = ReminderState.objects.get(patient=scheduled)
    assert (state.expected_on, state.next_due_at) == (DAY + dt.timedelta(days=1), local(NY, 2026, 5, 5, 20, 0))


def test_the_task_for_a_patient_who_is_gone_does_nothing(db):
    assert reminder_reschedule_task.run(patient_id=987654321) == "no patient"


def test_without_a_broker_the_checkin_succeeds_and_the_patient_who_logged_is_not_reminded(
        scheduled, as_user, broker_down, eager_tasks, outside_calls, caplog, django_capture_on_commit_callbacks):
    """The reschedule task never ran: at 20:00 the scan finds the day's check-in, sends nothing and moves
    the reminder to the next day."""
    with caplog.at_level(logging.WARNING, logger="notifications.services.enqueue"):
        checkin_at_15(as_user, scheduled, django_capture_on_commit_callbacks)
    assert "Broker unavailable; the reminder reschedule of patient" in caplog.text
    assert ReminderState.objects.get(patient=scheduled).expected_on == DAY  # not rescheduled yet
    for hour in (20, 21, 22):
        with time_machine.travel(local(NY, 2026, 5, 4, hour, 0), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            reminders_advance_due_task()
    assert not Notification.objects.exists()
    assert outside_calls.calls == []
    state = ReminderState.objects.get(patient=scheduled)
    assert (state.expected_on, state.next_due_at) == (DAY + dt.timedelta(days=1), local(NY, 2026, 5, 5, 20, 0))


def test_a_saved_course_enqueues_the_reschedule(scheduled, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        course = scheduled.courses.get()
        course.status = CourseStatus.COMPLETED
        course.save()
    assert sent_tasks == [scheduled.pk]


def test_a_course_ended_without_a_broker_stops_the_reminders_in_place(scheduled, broker_down, caplog,
                                                                     django_capture_on_commit_callbacks):
    with caplog.at_level(logging.WARNING, logger="notifications.receivers"), \
            django_capture_on_commit_callbacks(execute=True):
        course = scheduled.courses.get()
        course.status = CourseStatus.COMPLETED
        course.save()
    assert "Rescheduling the reminders of patient" in caplog.text
    assert ReminderState.objects.get(patient=scheduled).next_due_at is None
