"""/staff/: the care team's worklist (shared/journeys.md, the nurse's day). Patients sorted by risk, each
row with therapy, day since infusion and the peak-risk marker (clinical-rules §1), latest readings, open
alerts, the no-driving window (§3) and the missed check-in flag; filters; the htmx partial; acknowledge
and resolve from a row. Through the full stack with the Django test client."""

import datetime as dt
import html as html_lib
import itertools
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.dashboard import PAGE_SIZE, ROW_FIELDS, DashboardFilters, dashboard_page
from monitoring.models import Alert, AlertEvent, DoseWindow, Window
from monitoring.services.intake import checkin_amend, checkin_submit
from monitoring.services.policy import policy_set
from tests.factories import (
    AlertFactory,
    CareTeamFactory,
    CenterFactory,
    CheckInFactory,
    CourseFactory,
    DeviceAssignmentFactory,
    DeviceFactory,
    PatientFactory,
    add_readings,
    open_silence_alert,
)
from tests.monitoring.dashboard_reference import dashboard_patients_for_user
from tests.monitoring.support import signed_in
from tracker.models import (
    CareTeamMembership,
    CheckIn,
    Device,
    DeviceAssignment,
    DoseAdministration,
    Patient,
    Reading,
    Therapy,
)
from tracker.questions import YES_NO_QUESTIONS, required_fields
from tracker.readings import assignments_refresh_temperature
from tracker.selectors import patient_question_groups

# Wednesday 12 Feb 2025, 17:00 UTC: noon in New York, 11:00 in Chicago (same calendar day, no DST change near).
NOW = dt.datetime(2025, 2, 12, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 2, 12)
DASHBOARD = "/staff/"
HTMX = {"HX-Request": "true"}
EMERGENCY, URGENT, SAME_DAY, ROUTINE = 4, 3, 2, 1

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen():
    """Every test runs at NOW (fixtures too: autouse fixtures are set up first)."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


# --- Helpers ----------------------------------------------------------------------------------------------------

ROW_RE = re.compile(
    r'<tr class="(?P<classes>[^"]*)" data-patient="(?P<uuid>[^"]+)" data-urgency="(?P<urgency>\d+)">(?P<html>.*?)</tr>',
    re.S,
)


def text_of(fragment: str) -> str:
    """What a reader sees: tags removed, entities decoded, whitespace (also non-breaking) collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def get_page(client, params=None, headers=None) -> str:
    response = client.get(DASHBOARD, params or {}, headers=headers or {})
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[dict]:
    return [m.groupdict() for m in ROW_RE.finditer(html)]


def order(html: str) -> list[str]:
    return [r["uuid"] for r in rows(html)]


def row_of(html: str, patient) -> dict:
    found = [r for r in rows(html) if r["uuid"] == str(patient.uuid)]
    assert len(found) == 1, f"{patient} not shown exactly once"
    return found[0]


def row_text(html: str, patient) -> str:
    return text_of(row_of(html, patient)["html"])


def shown(client, **params) -> set[str]:
    if "q" in params:  # a search is POSTed (never in the URL); the page it redirects to shows the result
        response = client.post(DASHBOARD, params)
        assert response.status_code == 302 and "q=" not in response["Location"]
        return set(order(get_page(client, {k: v for k, v in params.items() if k != "q"})))
    return set(order(get_page(client, params)))


def ids(*patients) -> set[str]:
    return {str(p.uuid) for p in patients}


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


def log_checkin(patient, at: dt.datetime, *, complete=True, **overrides) -> CheckIn:
    values = complete_values(patient, **overrides)
    if not complete:
        values = {"temperature_c": values["temperature_c"], "temperature_entered": values["temperature_c"],
                  "temperature_unit": "C"}
    checkin = checkin_submit(patient=patient, entered_by=patient.user, channel="api", values=values,
                             recorded_at=at).checkin
    assert checkin.is_complete is complete
    return checkin


def bare_checkin(patient, at: dt.datetime, **fields) -> CheckIn:
    """A stored check-in row without grading (for alerts whose urgency a test sets itself)."""
    return CheckInFactory(patient=patient, recorded_at=at, **fields)


def open_alert(patient, *, urgency, min_grade=None, opened_at=None, title=None, status="open", by=None,
               checkin=None) -> Alert:
    at = opened_at or timezone.now()
    extra = {"first_checkin": checkin} if checkin else {}
    if title:
        extra["title"] = title
    if status in ("acknowledged", "resolved"):
        extra.update(acknowledged_at=at, acknowledged_by=by)
    if status == "resolved":
        extra.update(resolved_at=at, resolved_by=by, resolution_note="Called, settled")
    return AlertFactory(patient=patient, urgency=urgency, min_grade=min_grade, opened_at=at, status=status, **extra)


def named(team, last_name, therapy_code="yescarta", start=None, **kwargs):
    patient = PatientFactory(care_team=team, last_name=last_name, first_name="Pat", **kwargs)
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code=therapy_code),
                  start_date=start or TODAY - dt.timedelta(days=2))
    return patient


# --- 1. Query count does not grow with the list --------------------------------------------------------------------

THERAPY_CYCLE = ("yescarta", "kymriah", "pembrolizumab", "carvykti", "nivolumab")


def populate(team, nurse, *, first: int, count: int, doses: bool = False) -> None:
    """`count` patients of mixed therapies and days, three check-ins each (one incomplete), alerts of every
    urgency on half of them (some acknowledged), no-driving windows on the CAR T courses; with `doses`, every
    sixth patient is on teclistamab with its step-up doses given and their windows open (clinical-rules §8)."""
    therapies = {code: Therapy.objects.get(code=code) for code in (*THERAPY_CYCLE, "teclistamab")}
    patients = []
    for i in range(first, first + count):
        patient = PatientFactory(care_team=team, last_name=f"Ward{i:04d}", first_name="Pat")
        code = "teclistamab" if doses and i % 6 == 5 else THERAPY_CYCLE[i % len(THERAPY_CYCLE)]
        course = CourseFactory(patient=patient, therapy=therapies[code], start_date=TODAY - dt.timedelta(days=i % 40))
        if code == "teclistamab":
            given_doses(course, nurse)
        patients.append((i, patient))
    checkins = CheckIn.objects.bulk_create([
        CheckIn(patient=p, entered_by=p.user, entered_role="patient", channel="api",
                recorded_at=NOW - dt.timedelta(hours=3 + 24 * k + i % 5),
                local_date=timezone.localtime(NOW - dt.timedelta(hours=3 + 24 * k + i % 5), p.tz).date(),
                is_complete=k != 1, temperature_c=Decimal("36.8") + Decimal(k) / 2, heart_rate=80 + k + i % 7)
        for i, p in patients for k in range(3)
    ])
    by_patient = {c.patient_id: c for c in checkins}
    Alert.objects.bulk_create([
        Alert(patient=p, condition=f"bulk-{i}", urgency=1 + (i // 2) % 4, min_grade=(None, 1, 2)[i % 3],
              grading_system="ASTCT", title=f"Bulk alert {i}", rationale="Why", patient_instruction="Call",
              rule_ids=["test.rule"], sources=["clinical-rules §1"], evidence=[],
              first_checkin=by_patient[p.pk], last_checkin=by_patient[p.pk],
              opened_at=NOW - dt.timedelta(minutes=i), updated_at=NOW,
              status="acknowledged" if i % 4 == 0 else "open", acknowledged_by=nurse if i % 4 == 0 else None)
        for i, p in patients if i % 2 == 0
    ])
    # Connected devices (clinical-rules §10) on a third of them: a patch with an hour of readings every 2 minutes,
    # a pulse oximeter beside it on some, the silence scan's alert open on some.
    worn = [(i, p) for i, p in patients if i % 3 == 0]
    devices = Device.objects.bulk_create([
        Device(center=p.center, kind=kind, maker="Acme", model_name="Bulk", serial=f"bulk-{kind}-{i}",
               body_site="axillary" if kind == "temperature_patch" else "finger")
        for i, p in worn for kind in ("temperature_patch", "pulse_oximeter")])
    assignments = DeviceAssignment.objects.bulk_create([
        DeviceAssignment(device=d, patient=p, started_at=NOW - dt.timedelta(days=1), assigned_by=nurse,
                         last_measured_at=NOW - dt.timedelta(minutes=i % 50), last_received_at=NOW)
        for n, (i, p) in enumerate(worn) for d in devices[2 * n:2 * n + 2]])
    Reading.objects.bulk_create([
        Reading(patient_id=a.patient_id, type=reading_type, measured_at=a.last_measured_at - dt.timedelta(minutes=2 * k),
                device_id=a.device_id, value=value + k % 3 / 10, unit=unit, utc_offset_minutes=-300, received_at=NOW)
        for a in assignments
        for reading_type, value, unit in ([(1, 36.8, 1)] if a.device.kind == "temperature_patch" else [(2, 80, 3), (3, 97, 4)])
        for k in range(30)])
    assignments_refresh_temperature(DeviceAssignment.objects.filter(pk__in=[a.pk for a in assignments]))
    Alert.objects.bulk_create([
        Alert(patient=p, condition="device_silence", urgency=SAME_DAY, grading_system="", title="Device silent",
              rationale="Why", patient_instruction="Check the patch", rule_ids=["device.silence"],
              sources=["clinical-rules §10"], evidence=[], first_checkin=by_patient[p.pk], last_checkin=by_patient[p.pk],
              opened_at=NOW - dt.timedelta(minutes=i % 40), updated_at=NOW)
        for i, p in worn if i % 4 == 0])
    assert Window.objects.filter(course__patient__in=[p for _, p in patients], kind="driving").exists()


def given_doses(course, nurse) -> None:
    """SU1 and SU2 given (SU2 yesterday), with the windows they open: monitoring, no driving, re-monitoring."""
    su1, su2 = DoseAdministration.objects.bulk_create([
        DoseAdministration(course=course, step_code=step, cycle=1, started_at=NOW - dt.timedelta(hours=hours),
                           ended_at=NOW - dt.timedelta(hours=hours - 1), setting="infusion_center",
                           recorded_by=nurse)
        for step, hours in (("su1", 96), ("su2", 24))])
    DoseWindow.objects.bulk_create([
        DoseWindow(course=course, kind="dose_monitoring", dose=su2, reason="monitor_after_dose",
                   opens_at=su2.started_at, closes_at=su2.started_at + dt.timedelta(hours=48)),
        DoseWindow(course=course, kind="dose_driving", dose=su1, reason="driving_step_up", opens_at=su1.started_at),
        DoseWindow(course=course, kind="dose_monitoring", dose=su1, reason="monitor_after_dose",
                   opens_at=su1.started_at, closes_at=su1.started_at + dt.timedelta(hours=48)),
    ])


def measured(client, headers=None) -> tuple[int, str]:
    client.get(DASHBOARD, headers=headers or {})  # warm-up: per-process caches are not the list's cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD, headers=headers or {})
    assert response.status_code == 200
    # The device column reads what the ingest keeps on the assignments, never the readings (14.4 M rows a day).
    assert not [q["sql"] for q in queries.captured_queries if "tracker_reading" in q["sql"]]
    return len(queries), response.content.decode()


def test_dashboard_page_runs_the_same_queries_for_5_and_for_200_patients(nurse, team_a):
    """With doses and their windows for a sixth of the patients (T-cell engagers, clinical-rules §8)."""
    client = signed_in(nurse)
    populate(team_a, nurse, first=0, count=5, doses=True)
    small, small_html = measured(client)
    populate(team_a, nurse, first=5, count=195, doses=True)
    assert DoseWindow.objects.values("course__patient").distinct().count() == 33
    large, large_html = measured(client)
    assert len(rows(small_html)) == 5
    assert len(rows(large_html)) == 200
    assert small == large
    # Devices and their readings were there, and shown, without a query more (monitoring/devices.py).
    assert Reading.objects.count() == 67 * 90
    assert "device 36.8 °C" in text_of(large_html) and "device silent" in text_of(large_html)
    # session, user; rank, policies, rows, unresolved alerts (with "new" for this nurse); counts, teams, therapies;
    # the inbox badge's unread count in the header (+1); audit; session save. The center's time zone
    # is kept in the session after the first page (monitoring.staff.request_zone), so it costs no query here.
    assert small <= 14, small


def test_htmx_rows_partial_runs_the_same_queries_for_5_and_for_200_patients(nurse, team_a):
    client = signed_in(nurse)
    populate(team_a, nurse, first=0, count=5, doses=True)
    small, small_html = measured(client, HTMX)
    populate(team_a, nurse, first=5, count=195, doses=True)
    large, large_html = measured(client, HTMX)
    assert len(rows(small_html)) == 5
    assert len(rows(large_html)) == 200
    assert small == large
    assert small <= 8, small  # the page's, without the filter form's teams and therapies


# --- 2. Sorted by risk -------------------------------------------------------------------------------------------

def test_rows_are_sorted_by_urgency_then_grade_then_oldest_alert_then_name(nurse, team_a, charge_nurse):
    """Urgency levels (clinical-rules): emergency > urgent > same-day > routine > none. Within one urgency the
    higher grade first, then the alert that has waited longest; patients without open alerts last, by name."""
    minutes = lambda n: NOW - dt.timedelta(minutes=n)  # noqa: E731
    baker = named(team_a, "Baker")  # created first: name order must not come from creation order
    adams = named(team_a, "Adams")
    resolved_only = named(team_a, "Carter")
    open_alert(resolved_only, urgency=EMERGENCY, min_grade=3, opened_at=minutes(90), status="resolved",
               by=charge_nurse)
    routine = named(team_a, "Anders")
    open_alert(routine, urgency=ROUTINE, opened_at=minutes(600))
    same_day_ungraded = named(team_a, "Beck")
    open_alert(same_day_ungraded, urgency=SAME_DAY, min_grade=None, opened_at=minutes(300))
    same_day_grade2 = named(team_a, "Bloom")
    open_alert(same_day_grade2, urgency=SAME_DAY, min_grade=2, opened_at=minutes(60))
    urgent_g1_newer = named(team_a, "Abel")
    open_alert(urgent_g1_newer, urgency=URGENT, min_grade=1, opened_at=minutes(60))
    urgent_g1_older = named(team_a, "Young")
    open_alert(urgent_g1_older, urgency=URGENT, min_grade=1, opened_at=minutes(300))
    urgent_g3 = named(team_a, "Zed")
    open_alert(urgent_g3, urgency=URGENT, min_grade=3, opened_at=minutes(120))
    emergency_newer = named(team_a, "Xu")
    open_alert(emergency_newer, urgency=EMERGENCY, min_grade=2, opened_at=minutes(10))
    emergency_acknowledged_older = named(team_a, "Wolf")  # acknowledged, awaiting resolution: still on top
    open_alert(emergency_acknowledged_older, urgency=EMERGENCY, min_grade=2, opened_at=minutes(30), status="acknowledged",
               by=charge_nurse)
    emergency_ungraded = named(team_a, "Vance")
    open_alert(emergency_ungraded, urgency=EMERGENCY, min_grade=None, opened_at=minutes(500))

    expected = [emergency_acknowledged_older, emergency_newer, emergency_ungraded, urgent_g3, urgent_g1_older,
                urgent_g1_newer, same_day_grade2, same_day_ungraded, routine, adams, baker, resolved_only]
    assert order(get_page(signed_in(nurse))) == [str(p.uuid) for p in expected]


def test_a_patients_most_urgent_open_alert_decides_the_rows_place(nurse, team_a):
    two_alerts = named(team_a, "Zimmer")
    open_alert(two_alerts, urgency=ROUTINE, opened_at=NOW - dt.timedelta(hours=9), title="Grade 1 diarrhea")
    open_alert(two_alerts, urgency=URGENT, min_grade=1, opened_at=NOW - dt.timedelta(hours=1), title="Fever after CAR T")
    one_same_day = named(team_a, "Adams")
    open_alert(one_same_day, urgency=SAME_DAY, opened_at=NOW - dt.timedelta(hours=8))
    html = get_page(signed_in(nurse))
    assert order(html) == [str(two_alerts.uuid), str(one_same_day.uuid)]
    assert row_of(html, two_alerts)["urgency"] == str(URGENT)


# --- 3. What each row shows ----------------------------------------------------------------------------------------

def test_row_shows_therapy_day_latest_readings_last_checkin_open_alerts_and_driving_end(patient, nurse):
    """clinical-rules §1: fever (>= 38.0 °C) after CAR T opens an urgent alert; day 2 is in the peak-risk
    window (days 0-14). §3: no driving for 2 weeks after infusion, so the window ends 14 days after it."""
    log_checkin(patient, NOW - dt.timedelta(hours=26), temperature_c=Decimal("37.1"), heart_rate=88)
    fever = log_checkin(patient, NOW - dt.timedelta(hours=5), temperature_c=Decimal("38.3"), heart_rate=96)
    fever_alert = fever.assessment.alerts.get()
    assert fever_alert.urgency_label == "urgent"
    open_alert(patient, urgency=ROUTINE, opened_at=NOW - dt.timedelta(hours=3), title="Mild rash",
               checkin=fever)
    window = Window.objects.get(course__patient=patient, kind="driving")
    assert window.ends_on == TODAY + dt.timedelta(days=12)

    html = get_page(signed_in(nurse))
    text = row_text(html, patient)
    assert "Lopez, Maria" in text
    assert patient.mrn in text and "Cellular Therapy" in text
    assert "Yescarta" in text
    assert "day 2 peak risk" in text
    assert "5 hours ago 12 Feb 07:00 EST" in text  # and when, on the center's clock (New York)
    assert "38.3 °C · 96" in text
    # Every open alert is listed, newest first, in plain words (clinical-rules §1: fever after CAR T, grade 1).
    assert "urgent New Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS opened 12 Feb 12:00 EST" in text
    assert "routine New Mild rash opened 12 Feb 09:00 EST" in text
    assert text.index("Fever ≥ 38 °C") < text.index("Mild rash")  # the fever alert opened later (graded at noon)
    assert "more" not in text
    assert f"until {window.ends_on.day} {window.ends_on:%b}" in text
    assert "missed check-in" not in text
    assert f'href="/staff/alerts/{fever_alert.uuid}/"' in row_of(html, patient)["html"]
    assert f'href="/staff/patients/{patient.uuid}/"' in row_of(html, patient)["html"]


# --- Connected devices (clinical-rules §10) ---------------------------------------------------------------------

def test_row_shows_the_latest_device_temperature_with_its_age_next_to_the_typed_one(patient, nurse):
    bare_checkin(patient, NOW - dt.timedelta(hours=5), temperature_c=Decimal("37.1"), heart_rate=88)
    worn = DeviceAssignmentFactory(patient=patient)
    add_readings(worn, 1, [36.9, 37.6, 38.4], end=NOW - dt.timedelta(minutes=2))
    cell = row_of(get_page(signed_in(nurse)), patient)["html"]
    assert "37.1 °C · 88 device 38.4 °C · 2 min ago" in text_of(cell)
    assert '<span class="fever">38.4 °C</span>' in cell  # clinical-rules §1, as for a typed reading
    assert "12 Feb 11:58 EST" in cell  # when, on the center's clock, in the title
    assert "device silent" not in text_of(cell)


def test_a_device_no_longer_worn_shows_no_device_temperature(patient, nurse):
    worn = DeviceAssignmentFactory(patient=patient, started_at=NOW - dt.timedelta(days=3))
    add_readings(worn, 1, [36.9], end=NOW - dt.timedelta(days=2))
    DeviceAssignment.objects.filter(pk=worn.pk).update(ended_at=NOW - dt.timedelta(days=1))
    assert "device" not in row_text(get_page(signed_in(nurse)), patient)


def test_a_pulse_oximeter_alone_shows_no_device_temperature(patient, nurse):
    oximeter = DeviceAssignmentFactory(patient=patient, device=DeviceFactory(kind="pulse_oximeter", center=patient.center))
    add_readings(oximeter, 2, [80, 82])
    assert "device" not in row_text(get_page(signed_in(nurse)), patient)


def test_an_open_silence_alert_flags_the_row_device_silent_with_the_last_readings_age(patient, nurse):
    worn = DeviceAssignmentFactory(patient=patient)
    add_readings(worn, 1, [36.8, 36.9], end=NOW - dt.timedelta(minutes=42))
    open_silence_alert(patient, opened_at=NOW - dt.timedelta(minutes=12))
    text = row_text(get_page(signed_in(nurse)), patient)
    assert "device 36.9 °C · 42 min ago device silent" in text  # the age once, the stale value greyed
    assert "last reading" not in text
    assert 'class="device-reading stale"' in row_of(get_page(signed_in(nurse)), patient)["html"]


def test_a_silent_oximeter_beside_a_sending_patch_gives_the_oximeters_last_reading(patient, nurse):
    patch = DeviceAssignmentFactory(patient=patient)
    add_readings(patch, 1, [36.8], end=NOW - dt.timedelta(minutes=2))
    oximeter = DeviceAssignmentFactory(patient=patient, device=DeviceFactory(kind="pulse_oximeter",
                                                                             center=patient.center))
    add_readings(oximeter, 3, [97], end=NOW - dt.timedelta(minutes=50))
    DeviceAssignment.objects.filter(pk=patch.pk).update(last_measured_at=NOW - dt.timedelta(minutes=2))
    open_silence_alert(patient)
    text = row_text(get_page(signed_in(nurse)), patient)
    assert "device 36.8 °C · 2 min ago device silent last reading 50 min ago" in text  # the quiet one's


def test_a_resolved_silence_alert_no_longer_flags_the_row(patient, nurse, charge_nurse):
    worn = DeviceAssignmentFactory(patient=patient)
    add_readings(worn, 1, [36.8])
    open_alert(patient, urgency=SAME_DAY, status="resolved", by=charge_nurse)
    Alert.objects.filter(patient=patient).update(condition="device_silence")
    assert "device silent" not in row_text(get_page(signed_in(nurse)), patient)


def test_device_columns_read_in_spanish(patient, nurse):
    worn = DeviceAssignmentFactory(patient=patient)
    add_readings(worn, 1, [36.8], end=NOW - dt.timedelta(minutes=5))
    open_silence_alert(patient)
    nurse.preferred_language = "es"
    nurse.save(update_fields=["preferred_language"])
    text = row_text(get_page(signed_in(nurse)), patient)
    assert "dispositivo 36,8 °C · hace 5 min" in text and "dispositivo sin señal" in text


@pytest.mark.parametrize(("celsius", "highlighted"), [("37.9", False), ("38.0", True), ("38.4", True)])
def test_the_latest_temperature_is_highlighted_from_38_0_c(patient, nurse, celsius, highlighted):
    """clinical-rules §1: fever is 38.0 °C or higher."""
    bare_checkin(patient, NOW - dt.timedelta(hours=1), temperature_c=Decimal(celsius))
    cell = row_of(get_page(signed_in(nurse)), patient)["html"]
    assert f"{celsius} °C" in text_of(cell)
    assert ('class="fever"' in cell) is highlighted


def test_row_readings_come_from_the_correction_not_the_superseded_checkin(patient, nurse):
    original = log_checkin(patient, NOW - dt.timedelta(hours=4), temperature_c=Decimal("37.8"), heart_rate=90)
    checkin_amend(original=original, entered_by=nurse, channel="phone",
                  changes={"temperature_c": Decimal("37.3"), "heart_rate": 84}, reason="Read back on the phone")
    text = row_text(get_page(signed_in(nurse)), patient)
    assert "37.3 °C · 84" in text
    assert "37.8" not in text


@pytest.mark.parametrize(("day", "peak"), [(0, True), (7, True), (14, True), (15, False), (30, False)])
def test_peak_risk_marker_is_shown_for_days_0_to_14_after_car_t_infusion_only(nurse, team_a, day, peak):
    """clinical-rules §1 timing: show days since infusion and a peak-risk window (days 0-14) marker."""
    car_t = named(team_a, "Lopez", start=TODAY - dt.timedelta(days=day))
    text = row_text(get_page(signed_in(nurse)), car_t)
    assert f"day {day}" in text
    assert ("peak risk" in text) is peak


def test_checkpoint_patient_never_gets_the_car_t_peak_risk_marker(nurse, team_a):
    """clinical-rules §1 is about CAR T; §4 checkpoint inhibitors have no such window."""
    checkpoint = named(team_a, "Chen", therapy_code="pembrolizumab", start=TODAY - dt.timedelta(days=3))
    text = row_text(get_page(signed_in(nurse)), checkpoint)
    assert "Keytruda" in text
    assert "peak risk" not in text
    assert "until" not in text  # no driving window on checkpoint inhibitors (§3 is CAR T only)


def test_driving_column_shows_nothing_once_a_physician_cleared_the_window(patient, nurse, physician):
    """clinical-rules §3: the window ends early only by a physician's explicit clearance with a reason."""
    Window.objects.filter(course__patient=patient, kind="driving").update(
        cleared_on=TODAY, cleared_by=physician, clearance_reason="Neuro course reviewed")
    text = row_text(get_page(signed_in(nurse)), patient)
    assert "until" not in text


def test_driving_column_follows_the_patients_local_date_not_utc(patient, nurse):
    """clinical-rules §3: at 21:00 in New York on the last day of the window, the patient may not drive yet
    (their own pages say 1 day left); the dashboard must not already say the window ended."""
    window = Window.objects.get(course__patient=patient, kind="driving")
    evening_before_end = dt.datetime.combine(window.ends_on - dt.timedelta(days=1), dt.time(21), tzinfo=patient.tz)
    with time_machine.travel(evening_before_end, tick=False):
        client = signed_in(nurse)
        text = row_text(get_page(client), patient)
        detail = text_of(client.get(f"/staff/patients/{patient.uuid}/").content.decode())
    assert f"No driving until {window.ends_on.day} {window.ends_on:%b} (1 day left)" in detail
    assert f"until {window.ends_on.day} {window.ends_on:%b}" in text
    assert "ended" not in text


# --- 3b. Missed check-in flag ------------------------------------------------------------------------------------

def noon_local(patient, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=patient.tz)


def missed_flag(client, patient) -> bool:
    return "missed check-in" in row_text(get_page(client), patient)


def test_car_t_patient_in_daily_period_without_a_complete_checkin_yesterday_is_missed(nurse, team_a):
    """Daily check-ins through the CAR T daily period (clinical-rules §3: daily monitoring; policy
    car_t_daily_checkin_days = 14)."""
    checked_in_yesterday = named(team_a, "Ames", start=TODAY - dt.timedelta(days=5))
    log_checkin(checked_in_yesterday, noon_local(checked_in_yesterday, TODAY - dt.timedelta(days=1)))
    last_two_days_ago = named(team_a, "Berg", start=TODAY - dt.timedelta(days=5))
    log_checkin(last_two_days_ago, noon_local(last_two_days_ago, TODAY - dt.timedelta(days=2)))
    only_incomplete_yesterday = named(team_a, "Cole", start=TODAY - dt.timedelta(days=5))
    log_checkin(only_incomplete_yesterday, noon_local(only_incomplete_yesterday, TODAY - dt.timedelta(days=2)))
    log_checkin(only_incomplete_yesterday, noon_local(only_incomplete_yesterday, TODAY - dt.timedelta(days=1)),
                complete=False)
    never = named(team_a, "Dunn", start=TODAY - dt.timedelta(days=5))
    infused_today = named(team_a, "Egan", start=TODAY)

    client = signed_in(nurse)
    assert missed_flag(client, checked_in_yesterday) is False
    assert missed_flag(client, last_two_days_ago) is True
    assert missed_flag(client, only_incomplete_yesterday) is True
    assert missed_flag(client, never) is True
    assert missed_flag(client, infused_today) is False


@pytest.mark.parametrize(("days_ago", "missed"), [(2, False), (7, False), (8, True), (20, True)])
def test_checkpoint_patient_is_missed_only_after_the_policy_interval(nurse, team_a, days_ago, missed):
    """Checkpoint inhibitors: a check-in is expected every checkin_interval_days (center policy, default 7;
    weekly reporting as in clinical-rules §7)."""
    checkpoint = named(team_a, "Chen", therapy_code="pembrolizumab", start=TODAY - dt.timedelta(days=60))
    log_checkin(checkpoint, noon_local(checkpoint, TODAY - dt.timedelta(days=days_ago)))
    assert missed_flag(signed_in(nurse), checkpoint) is missed


def test_car_t_patient_after_the_daily_period_follows_the_interval(nurse, team_a):
    """After day 13 (policy car_t_daily_checkin_days = 14) a CAR T patient is expected every 7 days."""
    late = named(team_a, "Hale", start=TODAY - dt.timedelta(days=40))
    log_checkin(late, noon_local(late, TODAY - dt.timedelta(days=4)))
    assert missed_flag(signed_in(nurse), late) is False


def test_missed_is_judged_by_the_patients_own_calendar_day(nurse, team_a):
    """At 00:30 in New York (the center) it is still 23:30 yesterday in Chicago: a Chicago patient who
    checked in on their yesterday has not missed a day yet (check-in dates are the patient's local dates)."""
    chicago = named(team_a, "Ruiz", start=TODAY - dt.timedelta(days=5), time_zone="America/Chicago")
    log_checkin(chicago, noon_local(chicago, TODAY - dt.timedelta(days=1)))
    just_after_midnight_in_new_york = dt.datetime(2025, 2, 13, 5, 30, tzinfo=dt.UTC)
    with time_machine.travel(just_after_midnight_in_new_york, tick=False):
        assert timezone.localtime(timezone.now(), chicago.tz).date() == TODAY
        assert missed_flag(signed_in(nurse), chicago) is False


# --- 4. Filters and visibility -------------------------------------------------------------------------------------

@pytest.fixture
def ward(nurse, team_a, other_patient):
    """The nurse's two teams (A and Lymphoma) and, on team B, other_patient she must never see."""
    lymphoma = CareTeamFactory(name="Lymphoma", center=team_a.center)
    CareTeamMembership.objects.create(user=nurse, team=lymphoma)
    lopez = named(team_a, "Lopez", therapy_code="yescarta")
    lopez.first_name = "Maria"
    lopez.save()
    kim = named(lymphoma, "Kim", therapy_code="kymriah")
    open_alert(kim, urgency=EMERGENCY, min_grade=2)
    shaw = named(team_a, "Shaw", therapy_code="pembrolizumab", start=TODAY - dt.timedelta(days=30))
    open_alert(shaw, urgency=SAME_DAY)
    log_checkin(shaw, noon_local(shaw, TODAY - dt.timedelta(days=1)))
    open_alert(other_patient, urgency=EMERGENCY, min_grade=2)
    return {"lymphoma": lymphoma, "lopez": lopez, "kim": kim, "shaw": shaw}


def test_nurse_sees_all_patients_of_her_teams_and_none_of_another_team(ward, nurse, other_patient):
    assert shown(signed_in(nurse)) == ids(ward["lopez"], ward["kim"], ward["shaw"])


def test_care_team_filter_narrows_to_one_of_the_nurses_teams(ward, nurse, team_a):
    client = signed_in(nurse)
    assert shown(client, team=str(ward["lymphoma"].uuid)) == ids(ward["kim"])
    assert shown(client, team=str(team_a.uuid)) == ids(ward["lopez"], ward["shaw"])


def test_filtering_by_another_teams_uuid_shows_nothing_of_that_team(ward, nurse, team_b, other_patient):
    html = get_page(signed_in(nurse), {"team": str(team_b.uuid)})
    assert rows(html) == []
    assert str(other_patient.uuid) not in html and other_patient.mrn not in html
    assert "Thoracic Oncology" not in html  # not even offered as a filter


def test_malformed_team_filter_does_not_break_the_page(ward, nurse):
    response = signed_in(nurse).get(DASHBOARD, {"team": "not-a-uuid"})
    assert response.status_code in (200, 400)


def test_therapy_filter_matches_the_active_course(ward, nurse):
    client = signed_in(nurse)
    assert shown(client, therapy="pembrolizumab") == ids(ward["shaw"])
    assert shown(client, therapy="kymriah") == ids(ward["kim"])
    assert shown(client, therapy="tecartus") == set()


def test_urgency_filter_shows_patients_whose_top_alert_is_at_least_that_urgent(ward, nurse):
    client = signed_in(nurse)
    assert shown(client, urgency="emergency") == ids(ward["kim"])
    assert shown(client, urgency="same-day") == ids(ward["kim"], ward["shaw"])
    assert shown(client, urgency="routine") == ids(ward["kim"], ward["shaw"])
    assert shown(client, urgency="nonsense") == ids(ward["lopez"], ward["kim"], ward["shaw"])


def test_missed_filter_shows_only_patients_with_an_overdue_checkin(ward, nurse):
    """Lopez and Kim (CAR T, day 2, daily period) never checked in; Shaw (checkpoint) did yesterday."""
    assert shown(signed_in(nurse), missed="1") == ids(ward["lopez"], ward["kim"])


def test_search_matches_names_case_insensitively_and_the_exact_mrn(ward, nurse):
    client = signed_in(nurse)
    assert shown(client, q="lop") == ids(ward["lopez"])
    assert shown(client, q="MARIA") == ids(ward["lopez"])
    assert shown(client, q=ward["kim"].mrn) == ids(ward["kim"])
    assert shown(client, q=ward["kim"].mrn.lower()) == ids(ward["kim"])
    assert shown(client, q=ward["kim"].mrn[:-1]) == set()  # MRN: exact only


def test_search_never_reaches_another_teams_patient(ward, nurse, other_patient):
    client = signed_in(nurse)
    assert shown(client, q=other_patient.mrn) == set()
    assert shown(client, q="Chen") == set()


def test_admin_sees_every_team_and_can_filter_by_any(ward, admin_user, team_b, other_patient):
    client = signed_in(admin_user)
    assert shown(client) == ids(ward["lopez"], ward["kim"], ward["shaw"], other_patient)
    assert shown(client, team=str(team_b.uuid)) == ids(other_patient)
    assert "Thoracic Oncology" in get_page(client)


def test_filters_combine(ward, nurse, team_a):
    assert shown(signed_in(nurse), team=str(team_a.uuid), urgency="same-day") == ids(ward["shaw"])


# --- 5. htmx partial -----------------------------------------------------------------------------------------------

@pytest.fixture
def polled(nurse, team_a, other_patient, charge_nurse):
    fresh = named(team_a, "Fresh")
    open_alert(fresh, urgency=EMERGENCY, min_grade=2, opened_at=NOW - dt.timedelta(minutes=10))
    old = named(team_a, "Old")
    open_alert(old, urgency=URGENT, min_grade=1, opened_at=NOW - dt.timedelta(hours=2))
    open_alert(old, urgency=ROUTINE, opened_at=NOW - dt.timedelta(minutes=5))  # newer, but not the top alert
    quiet = named(team_a, "Quiet")
    open_alert(quiet, urgency=SAME_DAY, opened_at=NOW - dt.timedelta(hours=1), status="resolved", by=charge_nurse)
    open_alert(other_patient, urgency=EMERGENCY, opened_at=NOW - dt.timedelta(minutes=1))  # team B: not counted
    return {"fresh": fresh, "old": old, "quiet": quiet}


def test_htmx_request_returns_only_the_rows_fragment(polled, nurse):
    html = get_page(signed_in(nurse), headers=HTMX)
    assert "<html" not in html and "<body" not in html and "<form method=\"get\"" not in html
    assert html.lstrip().startswith('<p class="summary"')
    assert "<table" in html
    assert set(order(html)) == ids(polled["fresh"], polled["old"], polled["quiet"])


def test_full_page_polls_the_rows(polled, nurse):
    html = get_page(signed_in(nurse))
    assert "<html" in html
    assert 'hx-get="/staff/"' in html and 'hx-trigger="every ' in html


def alerts_in_row(html: str, patient) -> list[tuple[str, bool]]:
    """(alert uuid, marked new) for each alert listed in the patient's row, in the order shown."""
    return [(m["uuid"], "unseen" in m["classes"].split())
            for m in re.finditer(r'<li class="(?P<classes>row-alert[^"]*)" data-alert="(?P<uuid>[^"]+)">',
                                 row_of(html, patient)["html"])]


def test_every_open_alert_of_a_patient_is_listed_newest_first_each_marked_new_until_opened(polled, nurse):
    """A new alert on a patient who already has an older open one is listed (not folded into "+1
    more"), marked new, and its row outlined, until this nurse opens it."""
    old = polled["old"]
    urgent, routine = Alert.objects.filter(patient=old).order_by("opened_at")
    client = signed_in(nurse)
    html = get_page(client, headers=HTMX)
    assert alerts_in_row(html, old) == [(str(routine.uuid), True), (str(urgent.uuid), True)]
    assert "new" in row_of(html, old)["classes"].split()
    assert client.get(f"/staff/alerts/{urgent.uuid}/").status_code == 200  # she opens the older one
    html = get_page(client, headers=HTMX)
    assert alerts_in_row(html, old) == [(str(routine.uuid), True), (str(urgent.uuid), False)]
    assert "new" in row_of(html, old)["classes"].split()  # the routine one is still new to her
    assert client.get(f"/staff/alerts/{routine.uuid}/").status_code == 200
    html = get_page(client, headers=HTMX)
    assert alerts_in_row(html, old) == [(str(routine.uuid), False), (str(urgent.uuid), False)]
    assert "new" not in row_of(html, old)["classes"].split()
    assert "new" in row_of(html, polled["fresh"])["classes"].split()  # not opened yet


def test_seen_is_per_staff_member(polled, nurse, charge_nurse):
    fresh_alert = Alert.objects.get(patient=polled["fresh"])
    assert signed_in(charge_nurse).get(f"/staff/alerts/{fresh_alert.uuid}/").status_code == 200
    assert "new" not in row_of(get_page(signed_in(charge_nurse), headers=HTMX), polled["fresh"])["classes"].split()
    assert "new" in row_of(get_page(signed_in(nurse), headers=HTMX), polled["fresh"])["classes"].split()


def test_an_alert_that_gets_worse_after_she_opened_it_is_new_again(patient, nurse):
    """clinical-rules §1: a fever after CAR T is urgent; with dizziness, emergency. The alert she opened got
    worse: new again."""
    alert = log_checkin(patient, NOW - dt.timedelta(hours=2), temperature_c=Decimal("38.2")).assessment.alerts.get()
    client = signed_in(nurse)
    client.get(f"/staff/alerts/{alert.uuid}/")
    assert "new" not in row_of(get_page(client, headers=HTMX), patient)["classes"].split()
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        log_checkin(patient, NOW + dt.timedelta(minutes=9), temperature_c=Decimal("38.6"), dizzy_or_fainting=True)
        alert.refresh_from_db()
        html = get_page(client, headers=HTMX)
    assert alert.urgency == EMERGENCY
    assert "new" in row_of(html, patient)["classes"].split()


def test_acknowledging_from_the_row_counts_as_seen(browser, patient, fever_alert):
    assert "new" in row_of(get_page(browser), patient)["classes"].split()
    action, fields = row_form(get_page(browser), patient, "acknowledge")
    browser.post(action, fields)
    assert "new" not in row_of(get_page(browser), patient)["classes"].split()


def test_partial_includes_the_open_alert_counts_of_the_nurses_teams(polled, nurse):
    """Acknowledged alerts still count as open; resolved ones and other teams' do not."""
    summary = text_of(get_page(signed_in(nurse), headers=HTMX).split("</p>", 1)[0])
    assert summary == "Open alerts: 1 emergency 1 urgent 0 same-day 1 routine 2 patients with a new alert"


# --- 6. Acknowledge and resolve from the dashboard -----------------------------------------------------------------

FORM_RE = re.compile(r'<form method="post" action="(?P<action>[^"]+)"[^>]*>(?P<body>.*?)</form>', re.S)
HIDDEN_RE = re.compile(r'<input type="hidden" name="(?P<name>\w+)" value="(?P<value>[^"]*)">')


def row_form(html: str, patient, action: str) -> tuple[str, dict]:
    for form in FORM_RE.finditer(row_of(html, patient)["html"]):
        if form["action"].endswith(f"/{action}/"):
            return form["action"], {m["name"]: html_lib.unescape(m["value"]) for m in HIDDEN_RE.finditer(form["body"])}
    raise AssertionError(f"no {action} form in the row of {patient}")


@pytest.fixture
def browser(nurse) -> Client:
    """A client that checks CSRF like a browser session does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    return client


@pytest.fixture
def fever_alert(patient) -> Alert:
    """clinical-rules §1: any fever after CAR T → urgent."""
    checkin = log_checkin(patient, NOW - dt.timedelta(minutes=20), temperature_c=Decimal("38.4"))
    return checkin.assessment.alerts.get()


def test_acknowledge_button_on_a_row_takes_ownership_and_returns_to_the_dashboard(browser, patient, nurse,
                                                                                  fever_alert):
    action, fields = row_form(get_page(browser), patient, "acknowledge")
    assert action == f"/staff/alerts/{fever_alert.uuid}/acknowledge/"
    assert fields["next"] == DASHBOARD
    response = browser.post(action, fields)
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    fever_alert.refresh_from_db()
    assert fever_alert.status == "acknowledged" and fever_alert.acknowledged_by == nurse
    assert AlertEvent.objects.filter(alert=fever_alert, kind="acknowledged", actor=nurse).exists()
    html = get_page(browser)
    assert f"acknowledged by {nurse.get_full_name()}" in row_text(html, patient)
    with pytest.raises(AssertionError):
        row_form(html, patient, "acknowledge")  # nothing left to acknowledge


def test_resolve_form_on_a_row_closes_the_alert_with_the_note(browser, patient, nurse, fever_alert):
    action, fields = row_form(get_page(browser), patient, "resolve")
    assert action == f"/staff/alerts/{fever_alert.uuid}/resolve/"
    response = browser.post(action, {**fields, "note": "Called: 37.6 °C after paracetamol, reviewed in clinic"})
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    fever_alert.refresh_from_db()
    assert fever_alert.status == "resolved" and fever_alert.resolved_by == nurse
    assert fever_alert.resolution_note == "Called: 37.6 °C after paracetamol, reviewed in clinic"
    event = AlertEvent.objects.get(alert=fever_alert, kind="resolved")
    assert event.actor == nurse and event.note == fever_alert.resolution_note
    html = get_page(browser)
    assert row_of(html, patient)["urgency"] == "0"
    assert fever_alert.title not in row_text(html, patient)


def test_resolving_from_a_row_without_a_note_is_refused_and_the_alert_stays_open(browser, patient, fever_alert):
    action, fields = row_form(get_page(browser), patient, "resolve")
    response = browser.post(action, {**fields, "note": "   "})
    assert response.status_code == 400
    assert "A resolution note is required." in response.content.decode()
    fever_alert.refresh_from_db()
    assert fever_alert.status == "open"


@pytest.mark.parametrize("next_url", [
    "https://evil.example.com/staff/",
    "//evil.example.com/staff/",
    "http://evil.example.com",
    "javascript:alert(1)",
])
def test_acknowledge_ignores_a_next_url_on_another_host(nurse, fever_alert, next_url):
    response = signed_in(nurse).post(f"/staff/alerts/{fever_alert.uuid}/acknowledge/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == f"/staff/alerts/{fever_alert.uuid}/"
    fever_alert.refresh_from_db()
    assert fever_alert.status == "acknowledged"


def test_resolve_ignores_a_next_url_on_another_host(nurse, fever_alert):
    response = signed_in(nurse).post(f"/staff/alerts/{fever_alert.uuid}/resolve/",
                                     {"next": "https://evil.example.com/", "note": "Called, settled"})
    assert response.status_code == 302
    assert response["Location"] == f"/staff/alerts/{fever_alert.uuid}/"


def test_other_teams_nurse_cannot_acknowledge_from_a_forged_form(other_nurse, fever_alert):
    response = signed_in(other_nurse).post(f"/staff/alerts/{fever_alert.uuid}/acknowledge/", {"next": DASHBOARD})
    assert response.status_code == 404
    fever_alert.refresh_from_db()
    assert fever_alert.status == "open"



# --- 7. The page ranks first, then reads the shown rows: same rows, same order as the definition ---------------
#
# dashboard_page (what the page runs) ranks from the unresolved alerts alone and reads the other columns of the
# shown rows only; dashboard_patients_for_user (tests/monitoring/dashboard_reference.py) is the definition (every
# column for every patient, then sorted).
# On a mixed ward both must give the same rows in the same order, and that order must be the one the nurse was
# promised, worked out here in Python straight from the alert rows.

COMPARED = (*ROW_FIELDS, "top_urgency", "top_grade", "top_opened_at", "top_alert_id", "top_alert_title",
            "top_alert_status", "open_alert_count")


def definition(user, filters=DashboardFilters(), limit=PAGE_SIZE) -> list[dict]:
    return [{name: getattr(p, name) for name in COMPARED} for p in dashboard_patients_for_user(user, filters)[:limit]]


def page(user, filters=DashboardFilters(), limit=PAGE_SIZE) -> list[dict]:
    return [{name: row[name] for name in COMPARED} for row in dashboard_page(user, filters, limit=limit)]


def expected_order(patients) -> list:
    """Sorted as promised: the top unresolved alert (most urgent, then highest grade with ungraded last, then
    longest waiting) decides; by its urgency, then its grade (ungraded as 0), then its age; then name, then id."""
    def key(p):
        unresolved = list(Alert.objects.filter(patient=p).exclude(status="resolved"))
        if not unresolved:
            return (0, 0, 1, NOW, p.last_name, p.pk)
        top = min(unresolved, key=lambda a: (-a.urgency, -(a.min_grade if a.min_grade is not None else -1),
                                             a.opened_at, a.pk))
        return (-top.urgency, -(top.min_grade or 0), 0, top.opened_at, p.last_name, p.pk)
    return sorted(patients, key=key)


@pytest.fixture
def mixed(nurse, team_a, team_b, charge_nurse):
    """A ward where every sort key matters: populate()'s 60 patients (every urgency, grades 1, 2 and none,
    acknowledged and open), ties on urgency, grade and age broken by name and then id (two Harts), a patient
    whose top alert is decided by grade and one by age among several, grade 0 against ungraded, resolved-only,
    no alerts; a second center in another time zone with its own daily check-in policy; a team B patient whose
    course team A runs (visible), and team B's own patient (not visible)."""
    populate(team_a, nurse, first=0, count=60)
    at = NOW - dt.timedelta(minutes=45)
    tied = [named(team_a, name) for name in ("Hart", "Hart", "Gale")]
    for p in tied:
        open_alert(p, urgency=URGENT, min_grade=2, opened_at=at)
    several = named(team_a, "Moss")
    open_alert(several, urgency=SAME_DAY, min_grade=None, opened_at=NOW - dt.timedelta(hours=9))
    open_alert(several, urgency=SAME_DAY, min_grade=1, opened_at=NOW - dt.timedelta(hours=1))
    open_alert(several, urgency=ROUTINE, min_grade=3, opened_at=NOW - dt.timedelta(hours=20))
    by_age = named(team_a, "Nash")
    open_alert(by_age, urgency=EMERGENCY, min_grade=2, opened_at=NOW - dt.timedelta(minutes=5))
    open_alert(by_age, urgency=EMERGENCY, min_grade=2, opened_at=NOW - dt.timedelta(minutes=50), status="acknowledged",
               by=charge_nurse)
    grade_zero = named(team_a, "Ortiz")
    open_alert(grade_zero, urgency=URGENT, min_grade=0, opened_at=at)
    ungraded = named(team_a, "Olsen")
    open_alert(ungraded, urgency=URGENT, min_grade=None, opened_at=at - dt.timedelta(minutes=1))
    resolved_only = named(team_a, "Pratt")
    open_alert(resolved_only, urgency=EMERGENCY, min_grade=4, status="resolved", by=charge_nurse)
    named(team_a, "Quill", therapy_code="nivolumab", start=TODAY - dt.timedelta(days=90))

    west = CareTeamFactory(name="West Lymphoma", center=CenterFactory(name="Western Cancer Center"))
    CareTeamMembership.objects.create(user=nurse, team=west)
    policy_set(center=west.center, name="car_t_daily_checkin_days", value="3", user=None, reason="test")
    for i in range(6):
        p = named(west, f"West{i}", start=TODAY - dt.timedelta(days=i), time_zone="America/Los_Angeles")
        if i % 2:
            log_checkin(p, NOW - dt.timedelta(days=i, hours=1))
        if i % 3 == 0:
            open_alert(p, urgency=URGENT, min_grade=1, opened_at=at)

    shared = named(team_b, "Reyes")  # team B's patient, treated by team A
    CourseFactory(patient=shared, therapy=Therapy.objects.get(code="kymriah"), care_team=team_a,
                  start_date=TODAY - dt.timedelta(days=1))
    open_alert(shared, urgency=EMERGENCY, min_grade=1, opened_at=at)
    hidden = named(team_b, "Stone")
    open_alert(hidden, urgency=EMERGENCY, min_grade=4, opened_at=at)
    visible = list(Patient.objects.filter(Q(care_team__in=[team_a, west]) | Q(pk=shared.pk)))
    return {"visible": visible, "hidden": hidden, "shared": shared, "west": west, "tied": tied}


def test_page_rows_come_in_the_promised_order(mixed, nurse):
    expected = [str(p.uuid) for p in expected_order(mixed["visible"])]
    assert len(expected) == 60 + 9 + 6 + 1
    assert order(get_page(signed_in(nurse))) == expected
    assert str(mixed["hidden"].uuid) not in expected


def test_ranked_page_equals_the_definition_row_for_row(mixed, nurse):
    rows = page(nurse)
    assert rows == definition(nurse)
    assert {bool(row["missed"]) for row in rows} == {True, False}
    assert {row["top_alert_status"] for row in rows} == {"open", "acknowledged", None}
    assert max(row["open_alert_count"] for row in rows) == 3


@pytest.mark.parametrize("limit", [1, 7, 30])
def test_a_short_page_is_the_head_of_the_definition(mixed, nurse, limit):
    assert page(nurse, limit=limit) == definition(nurse, limit=limit)


@pytest.mark.parametrize("params", [
    {"urgency": "urgent"}, {"urgency": "routine"}, {"missed": "1"}, {"q": "ward00"}, {"q": "hart"},
    {"therapy": "kymriah"}, {"therapy": "pembrolizumab", "urgency": "same-day"}, {"missed": "1", "urgency": "urgent"},
    {"team": "WEST"}, {"team": "WEST", "missed": "1"}, {"team": "not-a-uuid"},
])
def test_filtered_page_equals_the_filtered_definition(mixed, nurse, params):
    if params.get("team") == "WEST":
        params = {**params, "team": str(mixed["west"].uuid)}
    filters = DashboardFilters.from_params(params)
    rows = page(nurse, filters)
    assert rows == definition(nurse, filters)
    if params.get("team") != "not-a-uuid" and params.get("q") != "hart":
        assert rows, "the filter should match someone on this ward"


def test_admin_page_equals_the_definition(mixed, admin_user):
    rows = page(admin_user)
    assert rows == definition(admin_user)
    assert str(mixed["hidden"].uuid) in {str(row["uuid"]) for row in rows}


def test_a_team_b_patient_whose_course_team_a_runs_is_on_team_as_dashboard(mixed, nurse, other_nurse):
    shared = mixed["shared"]
    assert row_of(get_page(signed_in(nurse)), shared)["urgency"] == str(EMERGENCY)
    assert str(shared.uuid) in shown(signed_in(other_nurse))


def test_query_count_does_not_grow_with_the_number_of_centers(admin_user, nurse, team_a):
    """Each center's policy decides "missed"; they are read together, not one query per center."""
    client = signed_in(admin_user)
    populate(team_a, nurse, first=0, count=10)
    one_center, _ = measured(client)
    for n in range(3):
        team = CareTeamFactory(name=f"Team at center {n}", center=CenterFactory(name=f"Center {n}"))
        policy_set(center=team.center, name="checkin_interval_days", value=str(3 + n), user=None, reason="test")
        populate(team, nurse, first=100 + 10 * n, count=10)
    four_centers, html = measured(client)
    assert len(rows(html)) == 40
    assert four_centers == one_center


def test_rows_polled_by_htmx_carry_a_token_the_server_accepts(browser, patient, nurse, fever_alert):
    """The rows fragment replaces the page's rows every few seconds; its forms must still post."""
    action, fields = row_form(get_page(browser, headers=HTMX), patient, "acknowledge")
    assert fields["csrfmiddlewaretoken"]
    response = browser.post(action, fields)
    assert response.status_code == 302
    fever_alert.refresh_from_db()
    assert fever_alert.status == "acknowledged"
