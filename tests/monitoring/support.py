"""Shared helpers for the monitoring integration tests (full stack: APIClient and the test client)."""

import datetime as dt
import html as html_lib
import re

from django.test import Client
from django.utils import timezone

from tests.factories import CourseFactory, PatientFactory
from tracker.models import Therapy

CHECKINS = "/api/v1/checkins/"
ALERTS = "/api/v1/alerts/"
PHONE = "(555) 010-0199"  # tests.factories.CenterFactory.phone_24_7

# Every CAR T warning sign answered "no" (clinical-rules §1, §2).
CAR_T_SIGNS_NO = {
    "chills": False, "short_of_breath": False, "dizzy_or_fainting": False, "severe_nausea_vomiting_diarrhea": False,
    "fast_heartbeat": False, "severe_fatigue": False, "severe_muscle_joint_pain": False, "confusion": False,
    "agitation": False, "speech_trouble": False, "balance_loss": False, "tremor": False, "seizure": False,
    "focal_weakness": False,
}
CAR_T_NORMAL = {"temperature": "37.0", "temperature_unit": "C", "consciousness": "alert", **CAR_T_SIGNS_NO}


def utc(year, month, day, hour=17, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def noon_utc(day: dt.date) -> dt.datetime:
    """17:00 UTC: the same calendar day in New York and Chicago (midday there)."""
    return dt.datetime(day.year, day.month, day.day, 17, 0, tzinfo=dt.UTC)


def new_patient(team, therapy_code="yescarta", start=None, time_zone="America/New_York", **course_kwargs):
    patient = PatientFactory(care_team=team, time_zone=time_zone)
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code=therapy_code),
                  start_date=start or timezone.localdate() - dt.timedelta(days=2), **course_kwargs)
    return patient


def infused(team, therapy_code="yescarta", start=None, time_zone="America/New_York", **course_kwargs):
    """A patient whose course is recorded on its start day (so audit rows are in time order)."""
    import time_machine

    with time_machine.travel(noon_utc(start), tick=False):
        return new_patient(team, therapy_code, start=start, time_zone=time_zone, **course_kwargs)


def post_checkin(client, patient=None, **values):
    payload = dict(values)
    if patient is not None:
        payload["patient"] = str(patient.uuid)
    return client.post(CHECKINS, payload, format="json")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def asked_fields(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="asked" value="(\w+)">', html)


def form_post(html: str, *, ticked=(), **values) -> dict:
    """What a browser sends: every shown question's hidden 'asked' input, the ticked boxes, and the values."""
    return {"asked": asked_fields(html), "yes": list(ticked), **values}


def parse_dt(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def banner_text(ends_on: dt.date, days_left: int) -> str:
    unit = "day" if days_left == 1 else "days"
    return f"No driving until {ends_on.day} {ends_on:%b} ({days_left} {unit} left)"


def text_of(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags removed, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()
