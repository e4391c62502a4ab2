"""No PHI leaves by SMS, email or paging webhook: no name, no MRN, no therapy or diagnosis word; each message
carries the urgency (for alerts) and a link into the app (house style "Avoid"; clinical-rules: the tracker
reports urgency, never a diagnosis)."""


import datetime as dt
import json
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from monitoring.models import Alert, Window
from notifications.models import NotificationKind, PagingWebhook, ReminderState
from notifications.services import reminders
from notifications.services.alerts import alerts_escalate_due
from notifications.services.digest import digests_send_due, window_ends_notify
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    HOOK_SECRET,
    HOOK_URL,
    local,
    post_checkin,
    reachable,
)

NY = "America/New_York"
DIAGNOSIS_WORDS = [r"yescarta", r"axicabtagene", r"\bcar[- ]?t\b", r"\bcrs\b", r"cytokine", r"lymphoma",
                   r"pembrolizumab", r"keytruda", r"icans", r"neurotox"]


@pytest.fixture
def day():
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def world(patient, caregiver, nurse, charge_nurse, physician, team_a):
    """Patient Maria Lopez (Yescarta, team A) with phone and email; everyone reachable; a paging webhook."""
    patient.mrn = "MRN-778812"
    patient.save()
    reachable(patient.user, first="Maria", last="Lopez")
    reachable(caregiver, first="Ana", last="Lopez", phone="")  # the caregiver is reached by email
    for user in (nurse, charge_nurse, physician):
        reachable(user)
    PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)
    return patient


@pytest.fixture
def outbound(outside_calls, mailoutbox):
    """Everything that left, as (channel, text) pairs; `reset()` between scenarios."""

    class Outbound:
        def reset(self):
            outside_calls.calls.clear()
            mailoutbox.clear()

        def messages(self):
            out = []
            for m in mailoutbox:
                out.append(("email subject", m.subject))
                out.append(("email body", m.body))
            for sms in outside_calls.sms():
                out.append(("sms", sms["text"]))
            for call in outside_calls.hooks():
                out.append(("webhook", call["body"].decode()))
                out.append(("webhook message", json.loads(call["body"])["message"]))
            return out

    return Outbound()


@pytest.fixture
def run(eager_tasks, django_capture_on_commit_callbacks):
    def _run(moment, func):
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            return func()

    return _run


def assert_no_phi(messages, patient):
    assert messages, "nothing was sent"
    forbidden = [patient.first_name, patient.last_name, patient.mrn, patient.user.first_name, patient.user.last_name,
                 patient.date_of_birth.isoformat()]
    for channel, text in messages:
        for word in forbidden:
            assert word.lower() not in text.lower(), (channel, word, text)
        for pattern in DIAGNOSIS_WORDS:
            assert not re.search(pattern, text, re.IGNORECASE), (channel, pattern, text)


def assert_link(messages, path_prefix):
    for channel, text in messages:
        if channel == "email subject":
            continue
        assert f"{django_settings.SITE_URL}{path_prefix}" in text or f'"link":"{path_prefix}' in text, (channel, text)


def _emergency(run, as_user, patient, day):
    t0 = local(NY, day.year, day.month, day.day, 9, 0)
    run(t0, lambda: post_checkin(as_user(patient.user), **FEVER_AND_DIZZY))
    return t0, Alert.objects.get()


def test_alert_messages_carry_urgency_and_link_but_no_phi(world, day, run, as_user, outbound):
    _, alert = _emergency(run, as_user, world, day)
    messages = outbound.messages()
    assert {c for c, _ in messages} == {"email subject", "email body", "sms", "webhook", "webhook message"}
    assert_no_phi(messages, world)
    assert_link(messages, f"/staff/alerts/{alert.uuid}/")
    for channel, text in messages:
        assert "emergency" in text.lower(), (channel, text)


def test_escalation_messages_carry_urgency_and_link_but_no_phi(world, day, run, as_user, outbound):
    t0, alert = _emergency(run, as_user, world, day)
    outbound.reset()
    run(t0 + dt.timedelta(minutes=5), alerts_escalate_due)
    run(t0 + dt.timedelta(minutes=10), alerts_escalate_due)
    messages = outbound.messages()
    assert len([c for c, _ in messages if c == "sms"]) == 2  # charge nurse, then physician
    assert_no_phi(messages, world)
    assert_link(messages, f"/staff/alerts/{alert.uuid}/")
    for channel, text in messages:
        assert "emergency" in text.lower(), (channel, text)


@pytest.mark.parametrize("stage", [1, 2])
def test_reminder_messages_carry_a_link_but_no_phi(world, day, run, outbound, stage):
    """Rows written by the reminder scan, sent through the real channels."""
    due = local(NY, day.year, day.month, day.day, 20, 0)
    ReminderState.objects.create(patient=world, expected_on=day, next_due_at=due,
                                 stage=ReminderState.Stage.WAITING if stage == 1 else ReminderState.Stage.FIRST_SENT)
    run(due, reminders.reminders_advance_due)
    messages = outbound.messages()
    assert {c for c, _ in messages} == {"sms", "email subject", "email body"}  # patient by SMS, caregiver by email
    assert_no_phi(messages, world)
    assert_link(messages, f"/patients/{world.uuid}/checkin/")


def test_missed_checkin_message_to_the_nurse_carries_a_link_but_no_phi(world, day, run, outbound):
    due = local(NY, day.year, day.month, day.day, 22, 0)
    ReminderState.objects.create(patient=world, expected_on=day, stage=ReminderState.Stage.SECOND_SENT, next_due_at=due)
    run(due, reminders.reminders_advance_due)
    messages = outbound.messages()
    assert {c for c, _ in messages} == {"email subject", "email body"}  # never an SMS
    assert_no_phi(messages, world)
    assert_link(messages, f"/patients/{world.uuid}/")


def test_digest_messages_carry_counts_and_a_link_but_no_phi(world, day, run, as_user, outbound):
    _emergency(run, as_user, world, day - dt.timedelta(days=1))
    outbound.reset()
    run(local(NY, day.year, day.month, day.day, 7, 0), digests_send_due)
    messages = outbound.messages()
    assert {c for c, _ in messages} == {"email subject", "email body"}
    assert_no_phi(messages, world)
    assert_link(messages, "/staff/patients/")
    assert any("1 open alerts" in text for _, text in messages)


def test_window_end_messages_carry_a_link_but_no_phi(world, run, outbound):
    end = Window.objects.get(course__patient=world, kind="driving").ends_on
    run(local(NY, end.year, end.month, end.day, 9, 0), window_ends_notify)
    messages = outbound.messages()
    assert {c for c, _ in messages} == {"sms", "email subject", "email body"}
    assert_no_phi(messages, world)
    assert_link(messages, f"/patients/{world.uuid}/")


def test_invitation_and_password_reset_messages_carry_a_link_but_no_phi(world, caregiver, run, outbound):
    from tracker.invitations import invitation_issue
    from tracker.signals import password_reset_requested

    def issue():
        invitation_issue(user=world.user, patient=world)  # by SMS (she has a phone)
        invitation_issue(user=caregiver, patient=world)  # by email (he has none)
        password_reset_requested.send(sender=type(world.user), user=world.user)

    run(timezone.now(), issue)
    messages = outbound.messages()
    assert sorted(c for c, _ in messages) == ["email body", "email body", "email subject", "email subject", "sms"]
    assert_no_phi(messages, world)
    for channel, text in messages:
        if channel != "email subject":
            assert f"{django_settings.SITE_URL}/accounts/" in text, (channel, text)


def test_device_silence_messages_carry_a_link_but_no_phi(world, run, outbound):
    """clinical-rules §10: the patient's patch stopped sending; the reminder goes by SMS and to the caregiver."""
    from notifications.services.device_silence import device_silence_scan
    from tests.monitoring.stream_support import wear

    put_on = timezone.now() - dt.timedelta(hours=1)
    wear(world, started_at=put_on)
    run(put_on + dt.timedelta(minutes=30), device_silence_scan)
    messages = [(c, t) for c, t in outbound.messages() if not c.startswith("webhook")]  # the nurses' page
    assert {c for c, _ in messages} >= {"sms", "email subject", "email body"}
    assert_no_phi(messages, world)
    assert_link([(c, t) for c, t in messages if "patch" in t.lower()], f"/patients/{world.uuid}/")


def test_every_kind_was_covered_above():
    assert {k.value for k in NotificationKind} == {
        "alert", "escalation", "reminder", "missed_checkin", "digest", "window_end", "invitation", "password_reset",
        "device_silence"}
