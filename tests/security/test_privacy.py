"""No PHI in logs or outgoing messages. A whole clinical flow runs with every logger at DEBUG (a fever check-in
raising an emergency alert, eager delivery by SMS, email and paging webhook, escalation up the chain,
acknowledgement and resolution, reminders and a missed check-in), and then failed deliveries; no log record and no
message body may hold the patient's name, MRN, date of birth or email, nor a diagnosis or therapy word."""


import datetime as dt
import json
import logging
import re
import smtplib

import pytest
import time_machine
from django.core.mail.backends import locmem
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import Alert
from notifications.channels import DeliveryError
from notifications.models import Notification, PagingWebhook
from notifications.services.alerts import alerts_escalate_due
from notifications.tasks import reminders_advance_due_task
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    HOOK_SECRET,
    HOOK_URL,
    local,
    reachable,
)
from tracker.models import ApiToken

NY = "America/New_York"
DIAGNOSIS_WORDS = [r"yescarta", r"axicabtagene", r"\bcar[- ]?t\b", r"\bcrs\b", r"cytokine release", r"lymphoma",
                   r"pembrolizumab", r"keytruda"]
PATIENT_EMAIL = "maria.lopez.home@example.test"
PATIENT_PHONE = "+15550107788"


@pytest.fixture
def every_logger_at_debug(caplog):
    """caplog at DEBUG on the root and on every logger that exists, including ones that do not propagate."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                detached.append(logger)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def day():
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def world(patient, caregiver, nurse, charge_nurse, physician, team_a):
    """Maria Lopez (Yescarta, team A) with an MRN, a birth date, a phone and an email; everyone reachable."""
    patient.mrn, patient.date_of_birth = "MRN-778812", dt.date(1961, 3, 17)
    patient.phone, patient.email = PATIENT_PHONE, PATIENT_EMAIL
    patient.save()
    patient.user.username = "maria.lopez"  # as people choose them
    patient.user.save()
    reachable(patient.user, first="Maria", last="Lopez", email=PATIENT_EMAIL, phone=PATIENT_PHONE)
    reachable(caregiver, first="Ana", last="Lopez", phone="")  # the caregiver is reached by email
    for user in (nurse, charge_nurse, physician):
        reachable(user)
    PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)
    return patient


def forbidden_words(patient) -> list[str]:
    return [patient.first_name, patient.last_name, patient.mrn, patient.email, patient.date_of_birth.isoformat(),
            patient.date_of_birth.strftime("%m/%d/%Y"), patient.phone]


def phi_in(text: str, patient) -> list[str]:
    found = [word for word in forbidden_words(patient) if word and word.lower() in text.lower()]
    found += [pattern for pattern in DIAGNOSIS_WORDS if re.search(pattern, text, re.IGNORECASE)]
    return found


def record_text(record: logging.LogRecord) -> str:
    """Everything a log handler could write: the message, its arguments, the traceback and any extras."""
    parts = [record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    standard = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
    parts += [repr(value) for key, value in record.__dict__.items() if key not in standard]
    return "\n".join(parts)


def assert_no_phi_in_logs(caplog, patient):
    assert caplog.records, "nothing was logged: the capture is not working"
    leaks = [(r.name, r.levelname, found, r.getMessage()[:300])
             for r in caplog.records if (found := phi_in(record_text(r), patient))]
    assert not leaks, "PHI in log records:\n" + "\n".join(f"{name} {level} {found}: {text}"
                                                            for name, level, found, text in leaks)


def outgoing_messages(outside_calls, mailoutbox) -> list[tuple[str, str]]:
    out = []
    for message in mailoutbox:
        out += [("email subject", message.subject), ("email body", message.body)]
    for sms in outside_calls.sms():
        out.append(("sms", sms["text"]))
    for call in outside_calls.hooks():
        out.append(("webhook", call["body"].decode()))
    return out


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)[1]}")
    return client


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_a_whole_clinical_flow_logs_and_sends_no_phi(world, day, nurse, physician, caregiver, every_logger_at_debug,
                                                     eager_tasks, outside_calls, mailoutbox,
                                                     django_capture_on_commit_callbacks):
    patient = world
    t0 = local(NY, day.year, day.month, day.day, 9, 0)

    # The patient reports a fever with dizziness from the app: an emergency alert, delivered at once.
    with at(t0), django_capture_on_commit_callbacks(execute=True):
        response = token_client(patient.user).post("/api/v1/checkins/", FEVER_AND_DIZZY, format="json")
    assert response.status_code == 201, response.json()
    alert = Alert.objects.get(uuid=response.json()["alerts"][0]["id"])

    # Nobody acknowledges: up the chain to the charge nurse, then the physician.
    for minutes in (5, 10):
        with at(t0 + dt.timedelta(minutes=minutes)), django_capture_on_commit_callbacks(execute=True):
            alerts_escalate_due()

    # The caregiver adds a check-in from the page; the nurse opens the chart, acknowledges and amends.
    with at(t0 + dt.timedelta(minutes=12)), django_capture_on_commit_callbacks(execute=True):
        carer = Client()
        carer.force_login(caregiver)
        assert carer.post(f"/patients/{patient.uuid}/checkin/",
                          {"temperature": "101.2", "temperature_unit": "F"}).status_code == 302
        staff = Client()
        staff.force_login(nurse)
        assert staff.get(f"/staff/patients/{patient.uuid}/").status_code == 200
        assert staff.get(f"/staff/alerts/{alert.uuid}/").status_code == 200
        assert staff.post(f"/staff/alerts/{alert.uuid}/acknowledge/", {"note": "Called her"}).status_code == 302
        first = patient.checkins.order_by("recorded_at").first()
        assert token_client(nurse).post(f"/api/v1/checkins/{first.uuid}/amend/",
                                        {"reason": "Pulse read back", "heart_rate": 118},
                                        format="json").status_code == 201
        assert token_client(physician).post(f"/api/v1/alerts/{alert.uuid}/resolve/",
                                            {"note": "Admitted for observation"}, format="json").status_code == 200
        assert Client().get(f"/patients/{patient.uuid}/").status_code == 302  # someone not signed in
        assert staff.get("/patients/00000000-0000-0000-0000-000000000000/").status_code == 404

    # The next day nothing is logged: reminders at 20:00 and 21:00, then the nurse at 22:00.
    next_day = day + dt.timedelta(days=1)
    for hour in (20, 21, 22):
        with at(local(NY, next_day.year, next_day.month, next_day.day, hour, 0)), \
                django_capture_on_commit_callbacks(execute=True):
            reminders_advance_due_task.delay().get()

    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {"alert", "escalation", "reminder", "missed_checkin"} <= kinds
    assert set(Notification.objects.exclude(channel="inapp").values_list("status", flat=True)) == {"sent"}

    messages = outgoing_messages(outside_calls, mailoutbox)
    assert {channel for channel, _ in messages} == {"email subject", "email body", "sms", "webhook"}
    assert [(channel, text) for channel, text in messages if phi_in(text, patient)] == []
    assert_no_phi_in_logs(every_logger_at_debug, patient)


def test_the_console_sms_backend_logs_the_message_without_phi(world, day, settings, every_logger_at_debug,
                                                              eager_tasks, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "notifications.channels.sms.ConsoleSmsBackend"
    with at(local(NY, day.year, day.month, day.day, 20, 0)), django_capture_on_commit_callbacks(execute=True):
        reminders_advance_due_task.delay().get()
    sms_lines = [r.getMessage() for r in every_logger_at_debug.records if r.name == "notifications.channels.sms"]
    assert sms_lines, "the reminder SMS was not written to the log"
    assert all(f"/patients/{world.uuid}/checkin/" in line for line in sms_lines)
    assert_no_phi_in_logs(every_logger_at_debug, world)


@pytest.fixture
def refusing_smtp(monkeypatch):
    """The mail server refuses one address (SMTP 550), as it does for a mistyped or closed mailbox."""
    refused: set[str] = set()
    send = locmem.EmailBackend.send_messages

    def send_messages(self, messages):
        for message in messages:
            bad = [to for to in message.to if to in refused]
            if bad:
                raise smtplib.SMTPRecipientsRefused({to: (550, b"5.1.1 Mailbox unavailable") for to in bad})
        return send(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", send_messages)
    return refused


def test_failed_deliveries_log_no_phi(world, day, every_logger_at_debug, eager_tasks, outside_calls, mailoutbox,
                                      refusing_smtp, django_capture_on_commit_callbacks):
    """The patient is reached by email (no phone on file); her mail server refuses, the SMS provider is down."""
    patient = world
    patient.phone = ""
    patient.save()
    patient.user.phone = ""
    patient.user.save()
    refusing_smtp.add(PATIENT_EMAIL)
    outside_calls.fail_with = [DeliveryError("HTTP 503 from https://sms.example.test/messages", permanent=False)]

    t0 = local(NY, day.year, day.month, day.day, 9, 0)
    with at(t0), django_capture_on_commit_callbacks(execute=True):
        assert token_client(patient.user).post("/api/v1/checkins/", FEVER_AND_DIZZY,
                                               format="json").status_code == 201
    next_day = day + dt.timedelta(days=1)
    with at(local(NY, next_day.year, next_day.month, next_day.day, 20, 0)), \
            django_capture_on_commit_callbacks(execute=True):
        reminders_advance_due_task.delay().get()

    to_patient = Notification.objects.get(kind="reminder", recipient=patient.user, channel="email")
    assert to_patient.status == "failed"  # the refusal really happened
    assert any(r.levelno >= logging.WARNING for r in every_logger_at_debug.records)
    assert_no_phi_in_logs(every_logger_at_debug, patient)


def test_webhook_payloads_carry_only_ids_urgency_and_a_link(world, day, eager_tasks, outside_calls,
                                                            django_capture_on_commit_callbacks):
    t0 = local(NY, day.year, day.month, day.day, 9, 0)
    with at(t0), django_capture_on_commit_callbacks(execute=True):
        token_client(world.user).post("/api/v1/checkins/", FEVER_AND_DIZZY, format="json")
    hooks = outside_calls.hooks()
    assert hooks
    for call in hooks:
        payload = json.loads(call["body"])
        assert set(payload) == {"id", "kind", "urgency", "step", "message", "link"}
        assert payload["link"].startswith("/staff/alerts/")
        assert phi_in(call["body"].decode(), world) == []
