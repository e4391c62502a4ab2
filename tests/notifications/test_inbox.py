"""The in-app inbox (/inbox/): in-app notifications were marked sent and nobody could read them. Each
signed-in person (staff, patient, caregiver) reads their own, in their language and on their clock; the header
shows how many are unread; opening one or marking it read sets `read_at`. Through the full stack."""

import datetime as dt
import itertools
import re

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from notifications.models import Notification
from tests.monitoring.support import signed_in

NOW = dt.datetime(2025, 2, 12, 17, 0, tzinfo=dt.UTC)  # 12:00 EST
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def note(recipient, kind="alert", *, channel="inapp", status="sent", read=False, minutes_ago=0, language="en",
         patient=None, **context):
    at = NOW - dt.timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        dedup_key=f"inbox-test:{next(_seq)}", kind=kind, channel=channel, recipient=recipient, patient=patient,
        urgency=context.pop("urgency", ""), status=status, created_at=at, sent_at=at if status == "sent" else None,
        read_at=at if read else None, language=language, context=context)


def badge(html: str) -> str | None:
    match = re.search(r'class="inbox-link"[^>]*>[^<]*(?:<span class="badge"[^>]*>(\d+)</span>)?', html)
    assert match, "no inbox link in the header"
    return match.group(1)


def entries(html: str) -> list[str]:
    return re.findall(r'data-notification="([^"]+)"', html)


def test_a_nurse_reads_her_in_app_notifications_newest_first_and_nobody_elses(nurse, charge_nurse, patient):
    older = note(nurse, urgency="urgent", link="/staff/alerts/00000000-0000-0000-0000-000000000001/", minutes_ago=30)
    newer = note(nurse, "escalation", urgency="emergency", minutes=5, link="/staff/", minutes_ago=2)
    note(nurse, channel="sms")  # not in-app
    note(nurse, status="pending")  # not delivered yet
    note(charge_nurse)  # someone else's
    html = signed_in(nurse).get("/inbox/").content.decode()
    assert entries(html) == [str(newer.uuid), str(older.uuid)]
    assert "ESCALATED: EMERGENCY alert not acknowledged for 5 min." in html
    assert "URGENT alert for a patient in your care" in html
    assert "11:30 EST" in html and "11:58 EST" in html
    assert "http" not in html.split("<main", 1)[1]  # the in-app body's link is the page's button, not a URL


def test_the_header_counts_unread_and_opening_marks_read_and_follows_the_link(nurse, patient):
    first = note(nurse, urgency="urgent", link=f"/staff/patients/{patient.uuid}/")
    note(nurse, "digest", open_alerts=2, emergencies=0, urgents=1, missed=1, windows_ending=0, link="/staff/")
    note(nurse, read=True)
    client = signed_in(nurse)
    assert badge(client.get("/staff/").content.decode()) == "2"
    response = client.post("/inbox/open/", {"notification": str(first.uuid)})
    assert response.status_code == 302 and response["Location"] == f"/staff/patients/{patient.uuid}/"
    first.refresh_from_db()
    assert first.read_at == NOW
    assert badge(client.get("/inbox/").content.decode()) == "1"
    assert client.post("/inbox/read/").status_code == 302  # mark all as read
    assert badge(client.get("/inbox/").content.decode()) is None
    assert not Notification.objects.filter(recipient=nurse, channel="inapp", read_at__isnull=True).exists()


def test_one_cannot_open_or_mark_someone_elses_notification(nurse, charge_nurse):
    theirs = note(charge_nurse)
    client = signed_in(nurse)
    assert client.post("/inbox/open/", {"notification": str(theirs.uuid)}).status_code == 404
    client.post("/inbox/read/", {"notification": str(theirs.uuid)})
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_link_off_the_site_is_not_followed(nurse):
    odd = note(nurse, link="https://evil.example.com/")
    response = signed_in(nurse).post("/inbox/open/", {"notification": str(odd.uuid)})
    assert response.status_code == 302 and response["Location"] == "/inbox/"


def test_a_spanish_speaking_patient_reads_her_reminders_in_spanish(patient):
    patient.preferred_language = "es"
    patient.save()
    reminder = note(patient.user, "reminder", language="es", patient=patient, link=f"/patients/{patient.uuid}/")
    with translation.override("es"):
        expected = translation.gettext("Time for your check-in")
        inbox = translation.gettext("Inbox")
    assert expected != "Time for your check-in", "the Spanish catalogue is missing"
    client = signed_in(patient.user)
    html = client.get("/inbox/").content.decode()
    assert '<html lang="es">' in html
    assert expected in html and inbox in html
    assert badge(html) == "1"
    assert badge(client.get(f"/patients/{patient.uuid}/").content.decode()) == "1"  # her own pages show it too
    response = client.post("/inbox/open/", {"notification": str(reminder.uuid)})
    assert response["Location"] == f"/patients/{patient.uuid}/"


def test_a_caregiver_has_an_inbox_too(caregiver, patient):
    note(caregiver, "window_end", for_patient=True, window_kind="driving", link=f"/patients/{patient.uuid}/")
    html = signed_in(caregiver).get("/inbox/").content.decode()
    assert "Your no-driving period has ended." in html


def test_the_inbox_needs_a_sign_in():
    response = Client().get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
