"""The nurse's pages in a real browser, as the night nurse of shared/journeys.md uses them: a new fever
alert on a patient who already has an open alert is its own line on the row, marked new until she opens it; the
alert page has the patient's and the caregiver's numbers to tap; she logs her call ("called patient, advised
ED"), acknowledges, and the call is in the alert's history. Times are the center's (New York) with the zone;
the charts sit on a time axis with a 24-hour clock, and a vital without readings has no chart.

Screenshots at 1366 px and 360 px go to screenshots/ (git-ignored)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import Alert, AlertEvent
from monitoring.services.alerts import alert_mark_seen
from monitoring.services.intake import checkin_submit
from notifications.models import Notification
from tests.browser.support import sign_in
from tests.factories import CaregiverLinkFactory, CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy
from tracker.questions import YES_NO_QUESTIONS, required_fields
from tracker.selectors import patient_question_groups

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
DESKTOP, PHONE = (1366, 900), (360, 800)




def check_in(patient, at, **answers):
    """A complete check-in graded as the product grades it (clinical-rules §1, §2)."""
    question_groups = patient_question_groups(patient)
    values = {q.field: False for q in YES_NO_QUESTIONS if q.required and q.applies_to in question_groups}
    values.update({name: "alert" for name in required_fields(question_groups) if name == "consciousness"})
    temperature = answers.pop("temperature_c", Decimal("37.1"))
    values.update(temperature_c=temperature, temperature_entered=temperature, temperature_unit="C", **answers)
    return checkin_submit(patient=patient, entered_by=patient.user, channel="web", values=values, recorded_at=at).checkin


@pytest.fixture
def ward(db, settings):
    settings.DASHBOARD_POLL_SECONDS = 2
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    nurse = UserFactory(username="ana", role=Role.NURSE, teams=[team], first_name="Ana", last_name="Ruiz")
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez", phone="(555) 010-0142",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    CourseFactory(patient=maria, start_date=timezone.localdate() - dt.timedelta(days=3))
    CaregiverLinkFactory(patient=maria, relationship="husband",
                         user=UserFactory(username="david", role=Role.CAREGIVER, first_name="David", last_name="Lopez",
                                          phone="(555) 010-0143"))
    quiet = PatientFactory(care_team=team, first_name="Quentin", last_name="Abbott", phone="(555) 010-0150")
    CourseFactory(patient=quiet, therapy=Therapy.objects.get(code="kymriah"))
    now = timezone.now()
    # Readings over the last day and a half (the charts), then a new tremor (clinical-rules §2: urgent), which
    # the nurse has already opened, and now a fever (§1: urgent; grade 1 CRS signs): a second alert.
    # The readings go up and down (no rising-trend alert) and the pulse stays within the center's limit.
    for hours, celsius, pulse in ((36, "37.2", 88), (26, "36.9", 82), (14, "37.3", 86)):
        check_in(maria, now - dt.timedelta(hours=hours), temperature_c=Decimal(celsius), heart_rate=pulse)
    check_in(maria, now - dt.timedelta(hours=3), temperature_c=Decimal("37.0"), heart_rate=84, tremor=True)
    tremor = Alert.objects.get(patient=maria, condition="icans")
    alert_mark_seen(alert=tremor, user=nurse)
    check_in(maria, now - dt.timedelta(minutes=4), temperature_c=Decimal("38.4"), heart_rate=96)
    assert Alert.objects.filter(patient=maria).count() == 2
    fever = Alert.objects.get(patient=maria, condition="crs")
    # What the in-app channel delivered to her for it (the outbox row; no broker in this test).
    Notification.objects.create(dedup_key=f"browser:{fever.pk}", kind="alert", channel="inapp", alert=fever,
                                patient=maria, recipient=nurse, urgency="urgent", alert_urgency=fever.urgency,
                                status="sent", sent_at=now, context={"link": f"/staff/alerts/{fever.uuid}/"})
    return {"nurse": nurse, "maria": maria, "tremor": tremor, "fever": fever}


def test_a_nurse_sees_both_alerts_opens_the_new_one_calls_logs_the_call_and_acknowledges(live_server, ward, new_page,
                                                                                          shot):
    maria, fever, tremor = ward["maria"], ward["fever"], ward["tremor"]
    page = new_page(*DESKTOP)
    sign_in(page, live_server.url, "ana")
    row = page.locator(f'tr[data-patient="{maria.uuid}"]')
    expect(row).to_have_class(re.compile(r"\bnew\b"))  # outlined: it has an alert she has not opened
    items = row.locator("li.row-alert")
    expect(items).to_have_count(2)
    # Newest first; the fever is new to her, the tremor she opened before is not.
    expect(items.nth(0)).to_have_attribute("data-alert", str(fever.uuid))
    expect(items.nth(0)).to_contain_text("New")
    expect(items.nth(0)).to_contain_text("Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS")
    expect(items.nth(1)).to_have_attribute("data-alert", str(tremor.uuid))
    expect(items.nth(1).locator(".pill.new")).to_have_count(0)
    expect(items.nth(1)).to_contain_text("New tremor after CAR T")
    expect(row).not_to_contain_text("more")
    expect(row.locator('a[href="tel:5550100142"]')).to_be_visible()  # the patient
    expect(row.locator('a[href="tel:5550100143"]')).to_be_visible()  # her husband
    expect(page.locator("#rows-updated")).to_contain_text(re.compile(r"Updated \d{2}:\d{2}:\d{2} E[SD]T"))
    shot(page, "nurse-dashboard-desktop")

    items.nth(0).get_by_role("link", name=re.compile("Fever")).click()
    expect(page).to_have_url(f"{live_server.url}/staff/alerts/{fever.uuid}/")
    expect(page.locator("h1")).to_contain_text("Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS")
    expect(page.locator(".alert-head")).to_contain_text(re.compile(r"opened \d+ \w+ \d{2}:\d{2} E[SD]T"))
    expect(page.locator(".alert-head")).to_contain_text(re.compile(r"Escalates at \d{2}:\d{2} E[SD]T"))
    contacts = page.locator("#calls .contacts")
    expect(contacts.locator('a[href="tel:5550100142"]')).to_have_text("Call (555) 010-0142")
    expect(contacts.locator('a[href="tel:5550100143"]')).to_have_text("Call (555) 010-0143")
    expect(contacts).to_contain_text("Caregiver (husband) David Lopez")
    rule_ids = page.locator("details.why code")
    expect(rule_ids).to_be_hidden()  # the rule ids wait behind "Why"
    page.locator("details.why summary").click()
    expect(rule_ids).to_be_visible()
    expect(rule_ids).to_contain_text("crs.fever")
    shot(page, "nurse-alert-desktop")

    page.locator("details.log-call summary").click()
    page.get_by_label("The patient").check()
    page.select_option("#call-outcome", "advised_911")
    page.fill("#call-note", "called patient, advised ED")
    page.get_by_role("button", name="Save the call").click()
    history = page.locator("#history")
    expect(history).to_contain_text(re.compile(
        r"Ana Ruiz called the patient at \d{2}:\d{2} E[SD]T: advised to call 911 or go to the emergency department"))
    expect(history).to_contain_text("called patient, advised ED")
    page.get_by_role("button", name="Acknowledge: I am on it").click()
    expect(page.locator(".alert-head .alert-status")).to_contain_text("Acknowledged")
    expect(history).to_contain_text(re.compile(r"Acknowledged by Ana Ruiz at \d{2}:\d{2} E[SD]T"))
    expect(page.get_by_role("button", name="Acknowledge: I am on it")).to_have_count(0)
    assert fever.events.filter(kind=AlertEvent.Kind.CALL, actor=ward["nurse"], call_outcome="advised_911").exists()
    shot(page, "nurse-alert-after-call-desktop")

    page.goto(f"{live_server.url}/staff/")
    row = page.locator(f'tr[data-patient="{maria.uuid}"]')
    expect(row).not_to_have_class(re.compile(r"\bnew\b"))  # nothing left she has not seen
    expect(row.locator("li.row-alert").nth(0)).to_contain_text("acknowledged by Ana Ruiz")

    # The patient page: the call in the timeline, charts on a time axis, 24-hour, no empty SpO2 chart.
    page.goto(f"{live_server.url}/staff/patients/{maria.uuid}/")
    expect(page.locator("ol.timeline")).to_contain_text("Ana Ruiz called the patient")
    expect(page.locator("#chart-spo2")).to_have_count(0)
    expect(page.locator('.no-readings li[data-vital="spo2"]')).to_have_text("SpO2: No readings yet")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-temperature'))")
    charts = page.evaluate("""() => ['chart-temperature', 'chart-heart_rate'].map(id => {
        const chart = Chart.getChart(document.getElementById(id));
        return {type: chart.scales.x.type, min: chart.scales.y.min, max: chart.scales.y.max,
                ticks: chart.scales.x.ticks.map(t => t.label), title: chart.options.scales.x.title.text,
                points: chart.data.datasets[0].data.map(p => p.x)};
    })""")
    temperature, heart_rate = charts
    assert temperature["type"] == "time" and heart_rate["type"] == "time"
    assert temperature["min"] <= 35 and temperature["max"] >= 41  # around 35-41 °C, the 38 °C line inside
    assert heart_rate["min"] <= 40 and heart_rate["max"] >= 160
    assert temperature["title"] in ("EST", "EDT")
    labels = [str(label) for label in temperature["ticks"]]
    assert labels and not any(re.search(r"AM|PM", label) for label in labels), labels
    assert any(re.fullmatch(r"\d{2}:\d{2}", label) for label in labels), labels
    gaps = [b - a for a, b in zip(temperature["points"], temperature["points"][1:], strict=False)]
    assert max(gaps) > 3 * min(gaps)  # placed by time, not evenly spaced
    shot(page, "nurse-patient-desktop")

    small = new_page(*PHONE)
    sign_in(small, live_server.url, "ana")
    shot(small, "nurse-dashboard-360")
    small.goto(f"{live_server.url}/staff/alerts/{fever.uuid}/")
    expect(small.locator("#calls a[href='tel:5550100142']")).to_be_visible()
    shot(small, "nurse-alert-360")
    small.goto(f"{live_server.url}/staff/patients/{maria.uuid}/")
    shot(small, "nurse-patient-360")
    expect(small.locator("header .badge")).to_have_text("1")  # the in-app message about the fever, unread
    small.goto(f"{live_server.url}/inbox/")
    expect(small.locator("li.message.unread")).to_contain_text("URGENT alert for a patient in your care")
    shot(small, "nurse-inbox-360")
    small.get_by_role("button", name="View").click()
    expect(small).to_have_url(f"{live_server.url}/staff/alerts/{fever.uuid}/")
    expect(small.locator("header .badge")).to_have_count(0)
