"""Staff pages besides the dashboard: the alert inbox (/staff/alerts/), the patient timeline
(/staff/patients/<uuid>/) and who may open any /staff/ page. Through the full stack with the test client;
notification rows are written straight to the outbox table (nothing is sent)."""

import datetime as dt
import html as html_lib
import itertools
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.models import Alert, Window
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from monitoring.services.intake import checkin_amend, checkin_submit
from notifications.models import Notification
from tests.factories import AlertFactory, CourseFactory, PatientFactory
from tests.monitoring.support import signed_in
from tracker.models import Therapy
from tracker.questions import YES_NO_QUESTIONS, required_fields
from tracker.selectors import patient_question_groups

# Wednesday 12 Feb 2025, 17:00 UTC: noon in New York, 11:00 in Chicago.
NOW = dt.datetime(2025, 2, 12, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 2, 12)
INBOX = "/staff/alerts/"
EMERGENCY, URGENT, SAME_DAY, ROUTINE = 4, 3, 2, 1

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


# --- Helpers ----------------------------------------------------------------------------------------------------

def text_of(fragment: str) -> str:
    """What a reader sees: tags removed, entities decoded, whitespace collapsed (none before a colon)."""
    text = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()
    return text.replace(" :", ":")


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def detail_url(patient) -> str:
    return f"/staff/patients/{patient.uuid}/"


def complete_values(patient, **overrides) -> dict:
    """Service-level values answering every required question of the patient's therapies, all normal."""
    question_groups = patient_question_groups(patient)
    values = {q.field: False for q in YES_NO_QUESTIONS if q.required and q.applies_to in question_groups}
    normal = {"temperature_c": Decimal("37.0"), "consciousness": "alert", "extra_stools": 0,
              "abdominal_pain": "none", "rash_percent": 0}
    values.update({name: normal[name] for name in required_fields(question_groups) if name in normal})
    values.update(overrides)
    values["temperature_entered"], values["temperature_unit"] = values["temperature_c"], "C"
    return values


def log_checkin(patient, at: dt.datetime, entered_by=None, **overrides):
    """A complete check-in recorded at `at`, graded as the product does it, with the clock at `at`."""
    with time_machine.travel(at, tick=False):
        return checkin_submit(patient=patient, entered_by=entered_by or patient.user, channel="api",
                              values=complete_values(patient, **overrides), recorded_at=at).checkin


def open_alert(patient, *, urgency, min_grade=None, opened_at=None, title=None, rationale="Why it fired",
               status="open", by=None) -> Alert:
    at = opened_at or timezone.now()
    extra = {"title": title} if title else {}
    if status in ("acknowledged", "resolved"):
        extra.update(acknowledged_at=at, acknowledged_by=by)
    if status == "resolved":
        extra.update(resolved_at=at, resolved_by=by, resolution_note="Called, settled")
    return AlertFactory(patient=patient, urgency=urgency, min_grade=min_grade, opened_at=at, rationale=rationale,
                        status=status, **extra)


def notify(alert, recipient, channel, status, at=None, **fields) -> Notification:
    at = at or timezone.now()
    return Notification.objects.create(
        dedup_key=f"test:{next(_seq)}", kind="alert", channel=channel, alert=alert, patient=alert.patient,
        recipient=recipient, urgency=alert.urgency_label, alert_urgency=alert.urgency, status=status,
        created_at=at, sent_at=at if status == "sent" else None, attempts=1, **fields,
    )


def named(team, last_name, therapy_code="yescarta", start=None):
    patient = PatientFactory(care_team=team, last_name=last_name, first_name="Pat")
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code=therapy_code),
                  start_date=start or TODAY - dt.timedelta(days=2))
    return patient


def rename(user, first, last):
    user.first_name, user.last_name = first, last
    user.save()
    return user


CARD_RE = re.compile(r'<article class="card alert-card[^"]*" data-alert="(?P<uuid>[^"]+)">(?P<html>.*?)</article>', re.S)


def cards(html: str) -> list[dict]:
    return [m.groupdict() for m in CARD_RE.finditer(html)]


def card_of(html: str, alert) -> str:
    found = [c for c in cards(html) if c["uuid"] == str(alert.uuid)]
    assert len(found) == 1, f"{alert} not shown exactly once"
    return text_of(found[0]["html"])


def measure(client, url) -> tuple[int, str]:
    client.get(url)  # warm-up: per-process caches are not the list's cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


# --- 1. Query counts do not grow with data -------------------------------------------------------------------------

def add_alerts(team, nurse, charge_nurse, *, first: int, count: int) -> None:
    """`count` open alerts of every urgency on as many patients, some acknowledged, each with two
    notifications (one sent, one failed)."""
    for i in range(first, first + count):
        patient = named(team, f"Inbox{i:03d}", ("yescarta", "pembrolizumab")[i % 2])
        alert = open_alert(patient, urgency=1 + i % 4, min_grade=(None, 1, 2)[i % 3],
                           opened_at=NOW - dt.timedelta(minutes=i), status="acknowledged" if i % 3 == 0 else "open",
                           by=charge_nurse)
        notify(alert, nurse, "sms", "sent")
        notify(alert, charge_nurse, "email", "failed", last_error="SMTP 550")


def test_alert_inbox_runs_the_same_queries_for_5_and_for_60_alerts(nurse, charge_nurse, team_a):
    client = signed_in(nurse)
    add_alerts(team_a, nurse, charge_nurse, first=0, count=5)
    small, small_html = measure(client, INBOX)
    add_alerts(team_a, nurse, charge_nurse, first=5, count=55)
    large, large_html = measure(client, INBOX)
    assert len(cards(small_html)) == 5
    assert len(cards(large_html)) == 60
    assert small == large
    assert small <= 10


HISTORY_START = dt.datetime(2025, 1, 21, 13, 0, tzinfo=dt.UTC)


def grow_history(patient, nurse, *, first: int, count: int) -> None:
    """Check-ins every 8 hours, every third one a fever (clinical-rules §1: urgent after CAR T); alerts
    acknowledged and resolved by the nurse in turn; some check-ins corrected; notifications for every alert."""
    for i in range(first, first + count):
        at = HISTORY_START + dt.timedelta(hours=8 * i)
        temperature = (Decimal("37.0"), Decimal("37.4"), Decimal("38.3"))[i % 3]
        checkin = log_checkin(patient, at, temperature_c=temperature, heart_rate=80 + i % 9)
        with time_machine.travel(at + dt.timedelta(minutes=10), tick=False):
            for alert in checkin.assessment.alerts.all():
                notify(alert, nurse, ("sms", "email", "inapp")[i % 3], ("sent", "failed")[i % 2])
                if alert.status == "open":
                    alert_acknowledge(alert=alert, user=nurse, note="Calling the patient")
                if i % 2:
                    alert_resolve(alert=alert, user=nurse, note="Fever settled on the phone")
            if i % 4 == 1:
                checkin_amend(original=checkin, entered_by=nurse, channel="phone",
                              changes={"heart_rate": 70 + i % 9}, reason="Pulse read back on the phone")


def test_patient_timeline_runs_the_same_queries_for_3_and_for_40_checkins(nurse, team_a):
    patient = named(team_a, "Timeline", start=dt.date(2025, 1, 20))
    client = signed_in(nurse)
    grow_history(patient, nurse, first=0, count=3)
    small, small_html = measure(client, detail_url(patient))
    grow_history(patient, nurse, first=3, count=37)
    large, large_html = measure(client, detail_url(patient))
    assert Alert.objects.filter(patient=patient).count() > 3
    assert Notification.objects.filter(patient=patient).count() > 3
    assert large_html.count('class="tl-amendment"') == 10
    assert large_html.count('class="tl-checkin"') == 40
    assert small == large
    assert small <= 27  # 25, and the Devices section: the patient's assignments and the center's free devices


# --- 7. Alert inbox ------------------------------------------------------------------------------------------------

@pytest.fixture
def inbox(team_a, nurse, charge_nurse, other_patient):
    rename(nurse, "Nina", "Park")
    rename(charge_nurse, "Carl", "Ortiz")
    fever = named(team_a, "Adams")
    urgent = open_alert(fever, urgency=URGENT, min_grade=1, opened_at=NOW - dt.timedelta(hours=1),
                        title="Possible CRS: fever", rationale="Temperature 38.4 °C is a fever (>= 38.0 °C).")
    notify(urgent, nurse, "sms", "sent")
    notify(urgent, nurse, "email", "failed", last_error="SMTP 550")
    dizzy = named(team_a, "Zorn")
    emergency = open_alert(dizzy, urgency=EMERGENCY, min_grade=2, opened_at=NOW - dt.timedelta(minutes=20),
                           title="Possible CRS grade 2: fever with dizziness", status="acknowledged", by=charge_nurse,
                           rationale="Fever 38.6 °C with dizziness when standing.")
    routine = open_alert(named(team_a, "Moss", "pembrolizumab"), urgency=ROUTINE, min_grade=1,
                         opened_at=NOW - dt.timedelta(hours=5), title="Grade 1 diarrhea")
    closed = open_alert(named(team_a, "Hale"), urgency=EMERGENCY, min_grade=3, title="Closed emergency",
                        status="resolved", by=nurse)
    elsewhere = open_alert(other_patient, urgency=EMERGENCY, min_grade=2, title="Other team emergency")
    return {"urgent": urgent, "emergency": emergency, "routine": routine, "closed": closed, "elsewhere": elsewhere}


def test_inbox_lists_open_alerts_of_the_nurses_teams_emergencies_first(inbox, nurse):
    html = page(signed_in(nurse), INBOX)
    assert [c["uuid"] for c in cards(html)] == [str(inbox[k].uuid) for k in ("emergency", "urgent", "routine")]
    assert "Closed emergency" not in html
    assert "Other team emergency" not in html


def test_inbox_card_explains_why_it_fired_and_who_was_told(inbox, nurse):
    html = page(signed_in(nurse), INBOX)
    urgent = card_of(html, inbox["urgent"])
    assert "urgent New Possible CRS: fever" in urgent  # not opened by her yet; no rule it knows: its title
    assert "Pat Adams" in urgent
    assert "Temperature 38.4 °C is a fever (>= 38.0 °C)." in urgent
    assert "rules test.rule" in urgent and "clinical-rules §1" in urgent
    delivery = urgent.split("Delivery:", 1)[1]
    assert "SMS sent" in delivery and "Email failed" in delivery
    routine = card_of(html, inbox["routine"])
    assert "Delivery: nobody notified yet" in routine


def test_inbox_shows_who_acknowledged_and_offers_acknowledge_only_for_open_alerts(inbox, nurse):
    html = page(signed_in(nurse), INBOX)
    emergency = card_of(html, inbox["emergency"])
    assert "Acknowledged" in emergency and "acknowledged by Carl Ortiz" in emergency
    raw = {c["uuid"]: c["html"] for c in cards(html)}
    assert f"/staff/alerts/{inbox['emergency'].uuid}/acknowledge/" not in raw[str(inbox["emergency"].uuid)]
    assert f"/staff/alerts/{inbox['urgent'].uuid}/acknowledge/" in raw[str(inbox["urgent"].uuid)]


def test_inbox_acknowledge_returns_to_the_inbox(inbox, nurse):
    alert = inbox["urgent"]
    response = signed_in(nurse).post(f"/staff/alerts/{alert.uuid}/acknowledge/", {"next": INBOX})
    assert response.status_code == 302 and response["Location"] == INBOX
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == nurse


def test_inbox_within_one_urgency_puts_the_higher_grade_first_and_an_ungraded_alert_after(nurse, team_a):
    """Emergencies first, then by grade (a known grade before none), then by waiting time."""
    ungraded = open_alert(named(team_a, "Ames"), urgency=URGENT, min_grade=None, opened_at=NOW - dt.timedelta(hours=6))
    grade1_old = open_alert(named(team_a, "Bell"), urgency=URGENT, min_grade=1, opened_at=NOW - dt.timedelta(hours=3))
    grade1_new = open_alert(named(team_a, "Cruz"), urgency=URGENT, min_grade=1, opened_at=NOW - dt.timedelta(hours=1))
    grade3 = open_alert(named(team_a, "Dyer"), urgency=URGENT, min_grade=3, opened_at=NOW - dt.timedelta(minutes=5))
    names = {str(grade3.uuid): "grade 3", str(grade1_old.uuid): "grade 1, older", str(grade1_new.uuid): "grade 1, newer",
             str(ungraded.uuid): "no grade"}
    html = page(signed_in(nurse), INBOX)
    assert [names[c["uuid"]] for c in cards(html)] == ["grade 3", "grade 1, older", "grade 1, newer", "no grade"]


def test_admin_inbox_includes_every_team(inbox, admin_user):
    html = page(signed_in(admin_user), INBOX)
    assert "Other team emergency" in html
    assert "Closed emergency" not in html


def test_other_teams_nurse_sees_only_her_own_alerts(inbox, other_nurse):
    html = page(signed_in(other_nurse), INBOX)
    assert [c["uuid"] for c in cards(html)] == [str(inbox["elsewhere"].uuid)]


# --- 7b. Who may open /staff/ pages -------------------------------------------------------------------------------

def staff_urls(patient, alert) -> list[str]:
    return ["/staff/", "/staff/?since=2025-02-12T16:00:00%2B00:00", "/staff/alerts/", "/staff/patients/",
            detail_url(patient), f"/staff/alerts/{alert.uuid}/"]


@pytest.fixture
def patients_alert(patient) -> Alert:
    """clinical-rules §1: any fever after CAR T → urgent."""
    checkin = log_checkin(patient, NOW - dt.timedelta(minutes=30), temperature_c=Decimal("38.2"))
    return checkin.assessment.alerts.get()


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_patients_and_caregivers_get_404_on_every_staff_page(who, patient, caregiver, patients_alert):
    client = signed_in(patient.user if who == "patient" else caregiver)
    for url in staff_urls(patient, patients_alert):
        assert client.get(url).status_code == 404, url
    assert client.get("/staff/", headers={"HX-Request": "true"}).status_code == 404
    for action in ("acknowledge", "resolve"):
        response = client.post(f"/staff/alerts/{patients_alert.uuid}/{action}/", {"note": "I feel fine", "next": "/"})
        assert response.status_code == 404, action
    patients_alert.refresh_from_db()
    assert patients_alert.status == "open"


def test_anonymous_visitor_is_sent_to_sign_in_from_every_staff_page(patient, patients_alert):
    client = Client()
    for url in staff_urls(patient, patients_alert):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    response = client.post(f"/staff/alerts/{patients_alert.uuid}/acknowledge/", {"next": "/staff/"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    patients_alert.refresh_from_db()
    assert patients_alert.status == "open"


def test_nurse_of_another_team_gets_404_for_the_patient_and_the_alert(other_nurse, patient, patients_alert):
    client = signed_in(other_nurse)
    assert client.get(detail_url(patient)).status_code == 404
    assert client.get(f"/staff/alerts/{patients_alert.uuid}/").status_code == 404
    assert str(patient.uuid) not in page(client, "/staff/")


def test_every_staff_role_and_the_admin_can_open_the_patient_timeline(patient, nurse, charge_nurse, physician,
                                                                       admin_user, other_patient):
    for user in (nurse, charge_nurse, physician, admin_user):
        assert signed_in(user).get(detail_url(patient)).status_code == 200, user.role
    assert signed_in(admin_user).get(detail_url(other_patient)).status_code == 200
    assert signed_in(nurse).get(detail_url(other_patient)).status_code == 404


# --- 8. Patient timeline -------------------------------------------------------------------------------------------

@pytest.fixture
def history(patient, nurse, charge_nurse):
    """Maria Lopez, Yescarta on 10 Feb: a normal check-in, a fever (urgent alert, clinical-rules §1) that
    Nina Park was told about by SMS and by email (failed) and acknowledged, then a correction of the first
    check-in's temperature."""
    rename(nurse, "Nina", "Park")
    first = log_checkin(patient, NOW - dt.timedelta(hours=20), temperature_c=Decimal("37.0"), heart_rate=82)
    fever = log_checkin(patient, NOW - dt.timedelta(hours=6), temperature_c=Decimal("38.4"), heart_rate=94)
    alert = fever.assessment.alerts.get()
    notify(alert, nurse, "sms", "sent", at=NOW - dt.timedelta(hours=6) + dt.timedelta(seconds=5))
    notify(alert, nurse, "email", "failed", at=NOW - dt.timedelta(hours=6) + dt.timedelta(seconds=6),
           last_error="SMTP 550")
    with time_machine.travel(NOW - dt.timedelta(hours=5, minutes=50), tick=False):
        alert_acknowledge(alert=alert, user=nurse, note="Calling the patient")
    with time_machine.travel(NOW - dt.timedelta(hours=1), tick=False):
        correction = checkin_amend(original=first, entered_by=nurse, channel="phone",
                                   changes={"temperature_c": Decimal("37.2")}, reason="Thermometer read back").checkin
    return {"first": first, "fever": fever, "alert": alert, "correction": correction}


TIMELINE_RE = re.compile(r'<li class="tl-(?P<kind>[\w]+)"><time datetime="(?P<at>[^"]+)">.*?</time>(?P<html>.*?)</li>',
                         re.S)


def timeline(html: str) -> list[tuple[str, str]]:
    return [(m["kind"], text_of(m["html"])) for m in TIMELINE_RE.finditer(html)]


def test_timeline_lists_checkins_corrections_alert_events_and_notifications_newest_first(history, patient, nurse):
    entries = timeline(page(signed_in(nurse), detail_url(patient)))
    kinds = [kind for kind, _ in entries]
    assert kinds.count("checkin") == 2
    assert kinds.count("amendment") == 1
    assert kinds.count("alert_event") == 2
    assert kinds.count("notification") == 2
    texts = dict(enumerate(text for _, text in entries))
    joined = " | ".join(texts.values())
    title = "Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS"  # clinical-rules §1, in plain words
    assert f"{title}: Acknowledged by Nina Park — Calling the patient" in joined
    assert f"{title}: Opened by the rules" in joined
    assert "crs.fever" not in joined and "→" not in joined
    assert "Notified Nina Park by SMS: sent" in joined
    assert "Notified Nina Park by Email: failed" in joined
    correction = next(text for kind, text in entries if kind == "amendment")
    assert correction.startswith("Correction by Nina Park (Staff (phone report))")
    assert "37.2 °C" in correction and "Thermometer read back" in correction
    fever = [text for kind, text in entries if kind == "checkin" and "38.4 °C" in text]
    assert len(fever) == 1 and "urgent" in fever[0]
    times = [dt.datetime.fromisoformat(m["at"]) for m in TIMELINE_RE.finditer(page(signed_in(nurse),
                                                                                  detail_url(patient)))]
    assert times == sorted(times, reverse=True)


def test_timeline_links_each_checkin_and_the_alert(history, patient, nurse):
    html = page(signed_in(nurse), detail_url(patient))
    for key in ("first", "fever", "correction"):
        assert f'href="/patients/{patient.uuid}/checkins/{history[key].uuid}/"' in html
    assert f'href="/staff/alerts/{history["alert"].uuid}/"' in html


def test_chart_data_has_the_temperatures_in_time_order_without_superseded_checkins(history, patient, nurse):
    """The chart shows 38.0 °C as the fever line (clinical-rules §1); a corrected reading replaces the
    original, which is not plotted."""
    html = page(signed_in(nurse), detail_url(patient))
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no chart-data script"
    chart = json.loads(match.group(1))
    assert chart["temperature"] == [37.2, 38.4]
    assert chart["heart_rate"] == [82, 94]
    assert [dt.datetime.fromisoformat(x) for x in chart["labels"]] == [history["first"].recorded_at,
                                                                          history["fever"].recorded_at]
    assert 37.0 not in chart["temperature"]


def test_patient_page_shows_windows_and_the_therapy_label_facts(history, patient, nurse):
    """clinical-rules §3: no driving and stay near the center for 2 weeks after infusion (10 Feb → 24 Feb)."""
    text = text_of(page(signed_in(nurse), detail_url(patient)))
    therapy = Therapy.objects.get(code="yescarta")
    driving = Window.objects.get(course__patient=patient, kind="driving")
    assert driving.ends_on == dt.date(2025, 2, 24)
    assert "No driving or heavy machinery: until 24 Feb 2025 (12 days left)" in text
    assert "Stay near the treating center: until 24 Feb 2025 (12 days left)" in text
    assert "Yescarta (axicabtagene ciloleucel, CD19) from 10 Feb 2025" in text
    assert text_of(therapy.label_facts) in text
    assert "urgent Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS (Acknowledged, Nina Park)" in text


def test_patient_page_shows_a_cleared_window_with_who_and_why(patient, nurse, physician):
    """clinical-rules §3: a physician's clearance needs a reason and is shown with their name."""
    rename(physician, "Omar", "Reyes")
    Window.objects.filter(course__patient=patient, kind="driving").update(
        cleared_on=TODAY, cleared_by=physician, clearance_reason="Neuro course reviewed")
    text = text_of(page(signed_in(nurse), detail_url(patient)))
    assert "No driving or heavy machinery: cleared 12 Feb 2025 by Omar Reyes: Neuro course reviewed" in text


def test_checkpoint_patient_page_has_no_windows_and_shows_its_label_facts(other_patient, other_nurse):
    """clinical-rules §4: checkpoint inhibitors have no driving or proximity window."""
    text = text_of(page(signed_in(other_nurse), detail_url(other_patient)))
    assert "Windows None." in text
    assert "Keytruda (pembrolizumab, PD-1)" in text
    assert "median onset 2-15 weeks" in text
