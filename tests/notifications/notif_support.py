"""Shared helpers for the notification tests; their fixtures (`eager_tasks`, `outside_calls`, `enqueued`) are in
tests/conftest.py.

The outside world is patched at one point, `notifications.outside.http_post` (SMS provider and paging
webhook); email goes to Django's locmem backend. Celery runs eagerly in the test process, so nothing needs
a broker; `django_capture_on_commit_callbacks(execute=True)` runs the after-commit hooks."""

import datetime as dt
import itertools
import json
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from monitoring.selectors import policy_for_center
from monitoring.services.intake import checkin_submit
from notifications.channels import DeliveryError
from notifications.models import Notification
from tests.factories import CaregiverLinkFactory, CourseFactory, PatientFactory
from tracker.models import Therapy
from tracker.questions import OTHER_REQUIRED, YES_NO_QUESTIONS, required_fields
from tracker.selectors import patient_question_groups

CHECKINS = "/api/v1/checkins/"
SMS_URL = "https://sms.example.test/messages"
HOOK_URL = "https://pager.example.test/hook"
HOOK_SECRET = "s3cret-paging-key"

# Every CAR T warning sign answered "no" (clinical-rules §1, §2): a complete, normal check-in.
CAR_T_SIGNS_NO = {
    "chills": False, "short_of_breath": False, "dizzy_or_fainting": False, "severe_nausea_vomiting_diarrhea": False,
    "fast_heartbeat": False, "severe_fatigue": False, "severe_muscle_joint_pain": False, "confusion": False,
    "agitation": False, "speech_trouble": False, "balance_loss": False, "tremor": False, "seizure": False,
    "focal_weakness": False,
}
CAR_T_NORMAL = {"temperature": "37.0", "temperature_unit": "C", "consciousness": "alert", **CAR_T_SIGNS_NO}
# clinical-rules §1: fever (>= 38.0 °C) plus dizziness or fainting after CAR T → emergency.
FEVER_AND_DIZZY = {**CAR_T_NORMAL, "temperature": "38.4", "dizzy_or_fainting": True}
# clinical-rules §1: any fever after CAR T → urgent.
FEVER_ONLY = {**CAR_T_NORMAL, "temperature": "38.0"}

_seq = itertools.count(1)


# --- Celery and the outside world ------------------------------------------------------------------------------

class OutsideRecorder:
    """Stands in for `outside.http_post`: records every call; `fail_with` queues errors to raise."""

    def __init__(self):
        self.calls: list[dict] = []
        self.fail_with: list[DeliveryError] = []
        self.fail_for_url: dict[str, DeliveryError] = {}

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append({"url": url, "body": body, "headers": dict(headers)})
        if url in self.fail_for_url:
            raise self.fail_for_url[url]
        if self.fail_with:
            raise self.fail_with.pop(0)
        return 200

    def to(self, url: str) -> list[dict]:
        return [c for c in self.calls if c["url"] == url]

    def sms(self) -> list[dict]:
        return [json.loads(c["body"]) for c in self.to(SMS_URL)]

    def hooks(self) -> list[dict]:
        return [c for c in self.calls if c["url"] == HOOK_URL]


# --- People ----------------------------------------------------------------------------------------------------

def reachable(user, *, email: str | None = None, phone: str | None = None, first="", last=""):
    """Give a user an email address and a phone number (and optionally a known name)."""
    n = next(_seq)
    user.email = email if email is not None else f"{user.username}-{n}@example.test"
    user.phone = phone if phone is not None else f"+1555010{n:04d}"
    if first:
        user.first_name = first
    if last:
        user.last_name = last
    user.save()
    return user


def new_patient(team, *, therapy_code="yescarta", time_zone="America/New_York", start=None, **fields):
    patient = PatientFactory(care_team=team, time_zone=time_zone, **fields)
    kwargs = {"start_date": start} if start else {}
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code=therapy_code), **kwargs)
    return patient


def add_caregiver(patient):
    return CaregiverLinkFactory(patient=patient).user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_checkin(client, **values):
    return client.post(CHECKINS, values, format="json")


def complete_values(patient, **overrides) -> dict:
    """Service-level values answering every required question of the patient's therapies, all normal."""
    question_groups = patient_question_groups(patient)
    values = {q.field: False for q in YES_NO_QUESTIONS if q.required and q.applies_to in question_groups}
    normal = {"temperature_c": Decimal("37.0"), "consciousness": "alert", "extra_stools": 0,
              "abdominal_pain": "none", "rash_percent": 0}
    values.update({name: normal[name] for name in OTHER_REQUIRED if name in required_fields(question_groups)})
    values["temperature_entered"], values["temperature_unit"] = Decimal("37.0"), "C"
    values.update(overrides)
    return values


def log_complete_checkin(patient, at: dt.datetime | None = None):
    result = checkin_submit(patient=patient, entered_by=patient.user, channel="api", values=complete_values(patient),
                            recorded_at=at)
    assert result.checkin.is_complete
    return result.checkin


def policy_of(patient):
    return policy_for_center(patient.center)


# --- Rows ------------------------------------------------------------------------------------------------------

def make_notification(*, recipient=None, webhook=None, kind="alert", channel="inapp", urgency="emergency",
                      context=None, **fields) -> Notification:
    """An outbox row written straight to the table (no enqueue)."""
    return Notification.objects.create(
        dedup_key=f"test:{next(_seq)}", kind=kind, channel=channel, recipient=recipient, webhook=webhook,
        urgency=urgency, context=context if context is not None else {"link": "/staff/alerts/test/"}, **fields,
    )


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def local(tz_name: str, *args) -> dt.datetime:
    import zoneinfo

    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(tz_name))


def now_s() -> dt.datetime:
    return timezone.now().replace(microsecond=0)
