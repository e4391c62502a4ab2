"""Doses of a treatment course (clinical-rules §8): the model, its validation, corrections that keep the
original, the API (/api/v1/courses/{id}/doses/), its audit rows and its query count."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CourseFactory
from tracker.models import AuditEvent, DoseAdministration, Therapy

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def days_ago(days: float, *, hour: int = 9) -> dt.datetime:
    """`days` local days ago at `hour` o'clock in New York (the patients' time zone), as an aware time."""
    day = timezone.localtime(timezone.now(), NEW_YORK).date() - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=NEW_YORK)


def course_of(patient, code: str, *, started_days_ago: int = 30):
    return CourseFactory(patient=patient, therapy=Therapy.objects.get(code=code),
                         start_date=timezone.localtime(timezone.now(), NEW_YORK).date()
                         - dt.timedelta(days=started_days_ago))


def url(course, dose=None) -> str:
    base = f"/api/v1/courses/{course.uuid}/doses/"
    return f"{base}{dose.uuid}/corrections/" if dose else base


def body(step="su1", *, start=None, end=None, setting="inpatient", **extra) -> dict:
    start = start or days_ago(20)
    return {"step_code": step, "started_at": start.isoformat(),
            "ended_at": (end or start + dt.timedelta(minutes=5)).isoformat(), "setting": setting,
            "kept_for_monitoring": True, **extra}


@pytest.fixture
def tecvayli(patient):
    return course_of(patient, "teclistamab")


@pytest.fixture
def nurse_api(as_user, nurse):
    return as_user(nurse)


def test_a_nurse_records_a_step_up_dose_and_sees_it_listed_with_its_step(nurse_api, tecvayli, nurse):
    response = nurse_api.post(url(tecvayli), body("su1"), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["step_name"] == "Step-up dose 1" and data["step_up"] is True and data["monitor_hours"] == 48
    dose = DoseAdministration.objects.get(uuid=data["dose"]["id"])
    assert (dose.course, dose.step_code, dose.cycle, dose.recorded_by) == (tecvayli, "su1", 1, nurse)
    assert dose.setting == "inpatient" and dose.kept_for_monitoring is True
    listed = nurse_api.get(url(tecvayli)).json()
    assert [d["dose"]["step_code"] for d in listed["doses"]] == ["su1"]
    assert listed["doses"][0]["monitoring_ends_at"]
    assert [p["step_code"] for p in listed["planned"]][:3] == ["su1", "su2", "first_treatment"]
    assert listed["schedule"]["restart_rule"] == "tecvayli"


def test_recording_and_correcting_a_dose_are_in_the_audit_trail(nurse_api, tecvayli, nurse, patient):
    dose_id = nurse_api.post(url(tecvayli), body("su1"), format="json").json()["dose"]["id"]
    dose = DoseAdministration.objects.get(uuid=dose_id)
    assert nurse_api.post(url(tecvayli, dose), {"reason": "Wrong setting", "setting": "infusion_center"},
                          format="json").status_code == 201
    nurse_api.get(url(tecvayli))
    rows = list(AuditEvent.objects.filter(user=nurse, path__startswith="/api/v1/courses/").order_by("pk")
                .values_list("action", "patient_id", "status_code"))
    assert rows == [("record_dose", patient.pk, 201), ("correct_dose", patient.pk, 201), ("view", patient.pk, 200)]


def test_doses_list_in_time_order_with_the_step_metadata(nurse_api, tecvayli):
    for step, days in (("first_treatment", 14), ("su1", 20), ("su2", 17)):
        assert nurse_api.post(url(tecvayli), body(step, start=days_ago(days)), format="json").status_code == 201
    doses = nurse_api.get(url(tecvayli)).json()["doses"]
    assert [(d["dose"]["step_code"], d["step_name"]) for d in doses] == [
        ("su1", "Step-up dose 1"), ("su2", "Step-up dose 2"), ("first_treatment", "First treatment dose")]


# --- Bad input: 400 naming the field, nothing stored ----------------------------------------------------------------

def _refused(api, course, data, field, *, dose=None):
    before = DoseAdministration.objects.count()
    response = api.post(url(course, dose), data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert DoseAdministration.objects.count() == before
    return response.json()


def test_a_dose_before_the_course_start_in_the_patient_s_time_zone_is_refused(nurse_api, patient):
    course = course_of(patient, "teclistamab", started_days_ago=10)
    # 23:30 in New York on the day before the start is already the start day in UTC: still refused.
    _refused(nurse_api, course, body(start=days_ago(11, hour=23) + dt.timedelta(minutes=30)), "started_at")
    assert nurse_api.post(url(course), body(start=days_ago(10, hour=0)), format="json").status_code == 201


def test_a_step_code_not_in_the_product_s_schedule_is_refused(nurse_api, tecvayli):
    errors = _refused(nurse_api, tecvayli, body("su3"), "step_code")
    assert "su1" in errors["fields"]["step_code"][0]


def test_an_end_before_its_start_is_refused(nurse_api, tecvayli):
    start = days_ago(20)
    _refused(nurse_api, tecvayli, body(start=start, end=start - dt.timedelta(minutes=1)), "ended_at")


@pytest.mark.parametrize("field", ["started_at", "ended_at"])
def test_a_time_in_the_future_is_refused_beyond_five_minutes_of_clock_skew(nurse_api, tecvayli, field):
    now = timezone.now()
    start, end = (now + dt.timedelta(minutes=6), None) if field == "started_at" else (now, now + dt.timedelta(minutes=6))
    data = body(start=start)
    data["ended_at"] = end.isoformat() if end else None
    _refused(nurse_api, tecvayli, data, field)
    ok = body(start=now + dt.timedelta(minutes=4))
    ok["ended_at"] = None
    assert nurse_api.post(url(tecvayli), ok, format="json").status_code == 201


def test_a_duplicate_current_dose_for_the_same_step_and_cycle_is_refused(nurse_api, tecvayli):
    assert nurse_api.post(url(tecvayli), body("su1", cycle=1), format="json").status_code == 201
    _refused(nurse_api, tecvayli, body("su1", start=days_ago(19), cycle=1), "step_code")


def test_without_a_cycle_a_repeating_step_takes_the_next_number(nurse_api, tecvayli):
    cycles = [nurse_api.post(url(tecvayli), body("weekly", start=days_ago(d)), format="json").json()["dose"]["cycle"]
              for d in (14, 7)]
    assert cycles == [1, 2]


def test_overlapping_continuous_infusions_on_one_course_are_refused(nurse_api, patient):
    course = course_of(patient, "blinatumomab")
    first = body("infusion_c1", start=days_ago(20), end=days_ago(12))
    assert nurse_api.post(url(course), first, format="json").status_code == 201
    _refused(nurse_api, course, body("infusion_restart", start=days_ago(15), end=days_ago(14)), "started_at")
    _refused(nurse_api, course, body("infusion_restart", start=days_ago(21), end=days_ago(19)), "ended_at")
    assert nurse_api.post(url(course), body("infusion_restart", start=days_ago(11), end=days_ago(10)),
                          format="json").status_code == 201


def test_a_running_infusion_overlaps_every_later_start(nurse_api, patient):
    course = course_of(patient, "blinatumomab")
    running = body("infusion_c1", start=days_ago(5))
    running["ended_at"] = None
    assert nurse_api.post(url(course), running, format="json").status_code == 201
    _refused(nurse_api, course, body("infusion_restart", start=days_ago(2)), "started_at")


def test_mosunetuzumab_doses_record_the_iv_route(nurse_api, patient):
    course = course_of(patient, "mosunetuzumab")
    _refused(nurse_api, course, body("su1"), "route")
    _refused(nurse_api, course, body("su1", route="subcutaneous"), "route")
    assert nurse_api.post(url(course), body("su1", route="iv"), format="json").status_code == 201


@pytest.mark.parametrize(("change", "field"), [
    ({"setting": "kitchen"}, "setting"), ({"started_at": "yesterday"}, "started_at"), ({"cycle": 0}, "cycle"),
    ({"route": "oral"}, "route"), ({"dose_mg": 5}, "dose_mg"), ({"step_code": "x" * 61}, "step_code"),
    ({"started_at": "0001-01-01T00:00:00Z"}, "started_at"),
])
def test_malformed_fields_are_named(nurse_api, tecvayli, change, field):
    _refused(nurse_api, tecvayli, {**body(), **change}, field)


def test_a_product_without_a_template_takes_a_free_dose_name(nurse_api, patient):
    course = patient.courses.get()  # CAR T: no schedule template
    response = nurse_api.post(url(course), body("cycle 1 day 1", start=days_ago(1)), format="json")
    assert response.status_code == 201
    assert response.json()["step_name"] == "cycle 1 day 1" and response.json()["step_up"] is None
    _refused(nurse_api, course, body("   ", start=days_ago(1)), "step_code")


# --- Corrections keep the original ------------------------------------------------------------------------------

def test_a_correction_is_a_new_row_and_the_original_is_kept_unchanged(nurse_api, physician, as_user, tecvayli):
    original_id = nurse_api.post(url(tecvayli), body("su1"), format="json").json()["dose"]["id"]
    original = DoseAdministration.objects.get(uuid=original_id)
    new_start = days_ago(20, hour=11)
    response = as_user(physician).post(url(tecvayli, original), {
        "reason": "Infusion started at 11:00, not 09:00", "started_at": new_start.isoformat(),
        "ended_at": (new_start + dt.timedelta(minutes=30)).isoformat()}, format="json")
    assert response.status_code == 201, response.content
    correction = DoseAdministration.objects.get(uuid=response.json()["dose"]["id"])
    assert correction.corrects == original and correction.recorded_by == physician
    assert correction.correction_reason == "Infusion started at 11:00, not 09:00"
    assert (correction.step_code, correction.setting, correction.started_at) == ("su1", "inpatient", new_start)
    original.refresh_from_db()
    assert original.started_at == days_ago(20) and not original.correction_reason  # unchanged
    assert list(DoseAdministration.objects.current()) == [correction]
    listed = nurse_api.get(url(tecvayli)).json()["doses"]
    assert [d["dose"]["id"] for d in listed] == [str(correction.uuid)]
    assert [h["id"] for h in listed[0]["history"]] == [original_id]


def test_a_correction_needs_a_reason_and_is_validated_like_a_new_dose(nurse_api, tecvayli):
    dose = DoseAdministration.objects.get(uuid=nurse_api.post(url(tecvayli), body(), format="json").json()["dose"]["id"])
    _refused(nurse_api, tecvayli, {"started_at": days_ago(19).isoformat()}, "reason", dose=dose)
    _refused(nurse_api, tecvayli, {"reason": "  ", "setting": "home_or_clinic"}, "reason", dose=dose)
    _refused(nurse_api, tecvayli, {"reason": "Wrong step", "step_code": "su9"}, "step_code", dose=dose)
    _refused(nurse_api, tecvayli, {"reason": "Wrong end", "ended_at": days_ago(21).isoformat()}, "ended_at", dose=dose)


def test_only_the_current_version_is_corrected(nurse_api, tecvayli):
    dose = DoseAdministration.objects.get(uuid=nurse_api.post(url(tecvayli), body(), format="json").json()["dose"]["id"])
    assert nurse_api.post(url(tecvayli, dose), {"reason": "Step 2 in fact", "step_code": "su2"},
                          format="json").status_code == 201
    response = nurse_api.post(url(tecvayli, dose), {"reason": "again", "setting": "home_or_clinic"}, format="json")
    assert response.status_code == 409 and DoseAdministration.objects.count() == 2


def test_a_correction_frees_the_step_it_moved_away_from(nurse_api, tecvayli):
    dose = DoseAdministration.objects.get(uuid=nurse_api.post(url(tecvayli), body("su1"), format="json").json()["dose"]["id"])
    assert nurse_api.post(url(tecvayli, dose), {"reason": "It was SU2", "step_code": "su2"},
                          format="json").status_code == 201
    assert nurse_api.post(url(tecvayli), body("su1", start=days_ago(23), cycle=1), format="json").status_code == 201


def test_dose_rows_are_never_changed_or_deleted(nurse_api, tecvayli):
    dose = DoseAdministration.objects.get(uuid=nurse_api.post(url(tecvayli), body(), format="json").json()["dose"]["id"])
    with pytest.raises(ValueError):
        dose.save()
    with pytest.raises(ValueError):
        dose.delete()


def test_the_model_clean_names_each_bad_field(tecvayli, nurse):
    dose = DoseAdministration(course=tecvayli, step_code="su7", started_at=days_ago(40), setting="inpatient",
                              recorded_by=nurse)
    with pytest.raises(ValidationError) as exc:
        dose.clean()
    assert set(exc.value.message_dict) == {"step_code"}
    dose.step_code = "su1"
    dose.ended_at = days_ago(41)
    with pytest.raises(ValidationError) as exc:
        dose.clean()
    assert set(exc.value.message_dict) == {"started_at", "ended_at"}


# --- Planned doses and the restart proposal ---------------------------------------------------------------------

def test_a_late_weekly_tecvayli_dose_brings_the_restart_proposal(nurse_api, patient):
    course = course_of(patient, "teclistamab", started_days_ago=80)
    for step, days in (("su1", 75), ("su2", 72), ("first_treatment", 69), ("weekly", 40)):
        assert nurse_api.post(url(course), body(step, start=days_ago(days)), format="json").status_code == 201
    restart = nurse_api.get(url(course)).json()["restart"]
    assert restart["restart_at"] == "su2" and restart["rule"] == "tecvayli" and restart["days_since_last"] == 40
    assert restart["planned"][0]["step_code"] == "su2"


def test_an_on_time_course_has_no_restart_proposal(nurse_api, tecvayli):
    nurse_api.post(url(tecvayli), body("su1", start=days_ago(2)), format="json")
    assert nurse_api.get(url(tecvayli)).json()["restart"] is None


# --- Who may ----------------------------------------------------------------------------------------------------

def test_patients_and_caregivers_get_403_and_another_team_404(as_user, patient, caregiver, other_nurse, tecvayli):
    for user in (patient.user, caregiver):
        assert as_user(user).get(url(tecvayli)).status_code == 403
        assert as_user(user).post(url(tecvayli), body(), format="json").status_code == 403
    assert as_user(other_nurse).get(url(tecvayli)).status_code == 404
    assert as_user(other_nurse).post(url(tecvayli), body(), format="json").status_code == 404
    assert DoseAdministration.objects.count() == 0


def test_a_dose_of_another_course_is_not_found_under_this_one(nurse_api, patient, tecvayli):
    other = course_of(patient, "elranatamab")
    dose = DoseAdministration.objects.get(uuid=nurse_api.post(url(other), body(), format="json").json()["dose"]["id"])
    assert nurse_api.post(url(tecvayli, dose), {"reason": "x", "setting": "inpatient"}, format="json").status_code == 404


def test_the_same_idempotency_key_records_the_dose_once(nurse_api, tecvayli):
    first = nurse_api.post(url(tecvayli), body(), format="json", HTTP_IDEMPOTENCY_KEY="dose-key-1")
    again = nurse_api.post(url(tecvayli), body(), format="json", HTTP_IDEMPOTENCY_KEY="dose-key-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert DoseAdministration.objects.count() == 1


# --- Query counts -------------------------------------------------------------------------------------------------

def _list_queries(api, course) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url(course)).status_code == 200
    return len(queries)


def test_the_list_takes_as_many_queries_for_ten_doses_as_for_one(nurse_api, patient):
    course = course_of(patient, "teclistamab", started_days_ago=90)
    nurse_api.post(url(course), body("su1", start=days_ago(80)), format="json")
    one = _list_queries(nurse_api, course)
    for n in range(9):
        nurse_api.post(url(course), body("weekly", start=days_ago(70 - 7 * n)), format="json")
    dose = course.doses.current().last()
    nurse_api.post(url(course, dose), {"reason": "time", "setting": "infusion_center"}, format="json")
    assert course.doses.current().count() == 10
    assert _list_queries(nurse_api, course) == one


# --- The catalogue through the API ------------------------------------------------------------------------------

def test_staff_see_label_date_markers_and_schedule_of_each_section_8_product(nurse_api):
    therapies = {t["code"]: t for t in nurse_api.get("/api/v1/therapies/").json()}
    glofitamab = therapies["glofitamab"]
    assert glofitamab["label_facts_unverified"] is True and "2025" in glofitamab["label_date"]
    assert {(m["topic"], m["status"]) for m in glofitamab["label_markers"]} >= {
        ("driving", "unverified"), ("monitoring", "unverified")}
    assert [s["code"] for s in glofitamab["dose_schedule"]["steps"]][:3] == ["obinutuzumab", "su1", "su2"]
    assert therapies["yescarta"]["dose_schedule"] == {} and therapies["yescarta"]["label_markers"] == []
    assert therapies["lifileucel"]["therapy_class"] == "tcr_til"


# --- The catalogue loads in old migrations; the schema describes the endpoints ----------------------------------

def test_sync_catalogue_writes_only_the_fields_an_old_historical_model_has():
    """Migration 0002 runs with the Therapy of its time (no §8 fields); 0010 writes the rest."""
    from types import SimpleNamespace

    from tracker.catalogue import all_therapies, sync_catalogue

    written = []
    old_fields = ["code", "brand_name", "generic_name", "therapy_class", "target", "label_facts", "source"]
    model = SimpleNamespace(
        _meta=SimpleNamespace(get_fields=lambda: [SimpleNamespace(name=n) for n in old_fields]),
        objects=SimpleNamespace(update_or_create=lambda code, defaults: written.append((code, defaults))))
    assert sync_catalogue(model) == len(all_therapies())
    assert all(set(defaults) <= set(old_fields) - {"code"} for _code, defaults in written)
    assert "teclistamab" in {code for code, _defaults in written}


def test_the_openapi_schema_describes_the_dose_endpoints(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()
    doses = schema["paths"]["/api/v1/courses/{id}/doses/"]
    assert set(doses) >= {"get", "post"}
    assert "post" in schema["paths"]["/api/v1/courses/{id}/doses/{dose_id}/corrections/"]
    body = schema["components"]["schemas"]["DoseCorrectionInputRequest"]
    assert body["required"] == ["reason"]
