"""POST /api/v1/checkins/ grades the check-in in the same transaction: urgency, instruction, findings and
alerts come back in the response (clinical-rules "Urgency levels", §1, §4)."""

import pytest
from rest_framework.test import APIClient

from monitoring.models import Alert, AlertEvent, CheckinAssessment
from tests.monitoring.support import CAR_T_NORMAL, CHECKINS, PHONE, post_checkin
from tracker.models import CheckIn

URGENCIES = {"none", "routine", "same-day", "urgent", "emergency"}


# --- What the response carries ----------------------------------------------------------------------------------

def test_normal_car_t_checkin_is_graded_none_and_opens_no_alert(as_user, patient):
    response = post_checkin(as_user(patient.user), **CAR_T_NORMAL)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "none"
    assert body["findings"] == []
    assert body["alerts"] == []
    assert PHONE in body["instruction"]
    assert "911" not in body["instruction"]
    assert not Alert.objects.exists()
    assessment = CheckinAssessment.objects.get(checkin__uuid=body["id"])
    assert assessment.urgency == 0
    assert assessment.instruction == body["instruction"]


def test_fever_with_dizziness_after_car_t_is_an_emergency_that_says_call_911_first(as_user, patient):
    """clinical-rules §1: fever plus a possible-grade-2 sign (dizziness) → emergency; the Urgency levels table
    tells the patient to call 911 first, then the care team (24/7 number shown)."""
    response = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "temperature": "38.3",
                                                        "dizzy_or_fainting": True})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "emergency"
    assert body["instruction"].startswith("Call 911")
    assert PHONE in body["instruction"]
    assert body["instruction"].index("911") < body["instruction"].index(PHONE)
    assert body["findings"], body
    for finding in body["findings"]:
        assert finding["rule_id"]
        assert finding["source"].startswith("clinical-rules §")
        assert finding["urgency"] in URGENCIES
    assert [f["condition"] for f in body["findings"]] == ["crs"]
    assert body["findings"][0]["min_grade"] == 2
    assert len(body["alerts"]) == 1
    alert = body["alerts"][0]
    assert (alert["condition"], alert["urgency"], alert["status"]) == ("crs", "emergency", "open")
    assert str(Alert.objects.get().uuid) == alert["id"]


@pytest.mark.parametrize(
    ("temperature", "unit", "urgency"),
    [("38.0", "C", "urgent"), ("37.9", "C", "none"), ("100.4", "F", "urgent"), ("100.2", "F", "none")],
)
def test_car_t_fever_threshold_is_38_0_c(as_user, patient, temperature, unit, urgency):
    """clinical-rules §1: fever is >= 38.0 °C (100.4 °F); any fever after CAR T → urgent."""
    response = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "temperature": temperature,
                                                        "temperature_unit": unit})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == urgency
    if urgency == "urgent":
        assert [f["rule_id"] for f in body["findings"]] == ["crs.fever"]
        assert body["findings"][0]["source"] == "clinical-rules §1 ASTCT CRS"
        assert "Call your care team now" in body["instruction"] and PHONE in body["instruction"]
        assert Alert.objects.get().urgency_label == "urgent"
    else:
        assert body["findings"] == [] and body["alerts"] == []
        assert not Alert.objects.exists()


@pytest.mark.parametrize(("extra_stools", "urgency", "grade"), [(4, "same-day", 2), (3, "routine", 1)])
def test_checkpoint_diarrhea_grade_sets_the_urgency(as_user, other_patient, extra_stools, urgency, grade):
    """clinical-rules §4 CTCAE v5 diarrhea: < 4 stools above usual → grade 1 routine; 4-6 → grade 2 same-day."""
    response = post_checkin(as_user(other_patient.user), temperature="36.8", extra_stools=extra_stools)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == urgency
    assert [f["rule_id"] for f in body["findings"]] == ["irae.diarrhea_colitis"]
    finding = body["findings"][0]
    assert finding["min_grade"] == grade
    assert finding["source"] == "clinical-rules §4 CTCAE v5 diarrhea/colitis"
    assert PHONE in body["instruction"]
    assert [(a["condition"], a["urgency"]) for a in body["alerts"]] == [("diarrhea_colitis", urgency)]


def test_caregiver_and_nurse_get_the_same_grading_as_the_patient(as_user, patient, caregiver, nurse):
    for user in (caregiver, nurse):
        response = post_checkin(as_user(user), patient, **{**CAR_T_NORMAL, "temperature": "38.1"})
        assert response.status_code == 201, response.json()
        assert response.json()["urgency"] == "urgent"


# --- One alert per condition ----------------------------------------------------------------------------------

SEVERAL_CRS_SIGNS = {**CAR_T_NORMAL, "temperature": "38.6", "dizzy_or_fainting": True, "spo2": 88,
                     "systolic_bp": 85, "diastolic_bp": 50}


def test_several_emergency_crs_signs_make_one_alert_with_the_evidence_combined(as_user, patient):
    """clinical-rules §1: fever + dizziness, + SpO2 < 92 %, + systolic < 90 mmHg are each an emergency sign;
    they are one condition (possible CRS, grade >= 2 signs), so one alert carries all of them."""
    body = post_checkin(as_user(patient.user), **SEVERAL_CRS_SIGNS).json()
    assert body["urgency"] == "emergency"
    assert [f["condition"] for f in body["findings"]] == ["crs"]
    evidence = body["findings"][0]["evidence"]
    assert evidence["temperature_c"] == 38.6
    assert evidence["dizzy_or_fainting"] is True
    assert evidence["spo2"] == 88
    assert evidence["systolic_bp"] == 85
    assert len(body["alerts"]) == 1

    alert = Alert.objects.get()
    assert alert.condition == "crs"
    assert alert.urgency_label == "emergency"
    assert alert.min_grade == 2
    assert len(alert.evidence) == 1
    values = alert.evidence[0]["values"]
    assert {"temperature_c", "dizzy_or_fainting", "spo2", "systolic_bp"} <= set(values)
    assert "SpO2 88" in alert.rationale and "systolic BP 85" in alert.rationale
    assert "center policy" in " ".join(alert.sources)
    assert list(AlertEvent.objects.values_list("kind", flat=True)) == ["opened"]


def test_a_second_checkin_for_the_same_condition_updates_the_open_alert(as_user, patient):
    client = as_user(patient.user)
    first = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.2"}).json()
    second = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.4"}).json()
    assert second["alerts"][0]["id"] == first["alerts"][0]["id"]
    alert = Alert.objects.get()
    assert len(alert.evidence) == 2
    assert [e["checkin"] for e in alert.evidence] == [first["id"], second["id"]]
    assert str(alert.first_checkin.uuid) == first["id"]
    assert str(alert.last_checkin.uuid) == second["id"]
    kinds = list(alert.events.values_list("kind", flat=True))
    assert kinds == ["opened", "evidence"]
    assert alert.events.last().checkin == alert.last_checkin


def test_worse_findings_raise_the_urgency_of_the_same_alert(as_user, patient):
    client = as_user(patient.user)
    post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.2"})
    body = post_checkin(client, **SEVERAL_CRS_SIGNS).json()
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert body["alerts"][0]["id"] == str(alert.uuid)
    assert alert.urgency_label == "emergency"
    event = alert.events.last()
    assert event.kind == AlertEvent.Kind.URGENCY_RAISED
    assert (event.old_urgency, event.new_urgency) == (3, 4)
    assert (event.old_status, event.new_status) == ("open", "open")


def test_after_resolving_a_new_finding_opens_a_new_alert(as_user, patient, nurse):
    client = as_user(patient.user)
    first = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.2"}).json()["alerts"][0]["id"]
    response = as_user(nurse).post(f"/api/v1/alerts/{first}/resolve/", {"note": "Seen in clinic"}, format="json")
    assert response.status_code == 200, response.json()
    second = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.3"}).json()["alerts"][0]
    assert second["id"] != first
    assert second["status"] == "open"
    assert Alert.objects.count() == 2
    assert Alert.objects.filter(status="resolved").count() == 1
    assert len(Alert.objects.get(uuid=first).evidence) == 1  # the new finding went to the new alert


def test_rising_urgency_on_an_acknowledged_alert_reopens_it(as_user, patient, nurse):
    client = as_user(patient.user)
    alert_id = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.2"}).json()["alerts"][0]["id"]
    ack = as_user(nurse).post(f"/api/v1/alerts/{alert_id}/acknowledge/", {}, format="json")
    assert ack.json()["status"] == "acknowledged"
    assert ack.json()["next_escalation_at"] is None

    body = post_checkin(client, **SEVERAL_CRS_SIGNS).json()
    assert body["alerts"][0] == {"id": alert_id, "condition": "crs", "urgency": "emergency", "status": "open"}
    alert = Alert.objects.get()
    assert alert.status == "open"
    assert alert.acknowledged_by is None and alert.acknowledged_at is None
    assert alert.next_escalation_at is not None
    event = alert.events.last()
    assert event.kind == AlertEvent.Kind.REOPENED
    assert (event.old_status, event.new_status) == ("acknowledged", "open")


def test_same_urgency_on_an_acknowledged_alert_keeps_it_acknowledged(as_user, patient, nurse):
    client = as_user(patient.user)
    alert_id = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.2"}).json()["alerts"][0]["id"]
    as_user(nurse).post(f"/api/v1/alerts/{alert_id}/acknowledge/", {}, format="json")
    post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.1"})
    alert = Alert.objects.get()
    assert alert.status == "acknowledged"
    assert alert.acknowledged_by == nurse
    assert alert.events.last().kind == AlertEvent.Kind.EVIDENCE
    assert len(alert.evidence) == 2


# --- Atomicity ------------------------------------------------------------------------------------------------

def _broken_rules(*args, **kwargs):
    raise RuntimeError("rules engine failed")


def test_checkin_is_not_stored_when_grading_fails(monkeypatch, patient):
    """monitoring.services.intake: grading that fails rolls the check-in back, so a check-in is never stored ungraded."""
    monkeypatch.setattr("monitoring.services.assessment.evaluate", _broken_rules)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(patient.user)
    response = client.post(CHECKINS, {**CAR_T_NORMAL, "temperature": "38.5"}, format="json")
    assert response.status_code == 500
    assert not CheckIn.objects.exists()
    assert not CheckinAssessment.objects.exists()
    assert not Alert.objects.exists()


def test_grading_failure_propagates_and_leaves_nothing_half_saved(monkeypatch, patient):
    client = APIClient()
    client.force_authenticate(patient.user)
    monkeypatch.setattr("monitoring.services.assessment.evaluate", _broken_rules)
    with pytest.raises(RuntimeError, match="rules engine failed"):
        client.post(CHECKINS, CAR_T_NORMAL, format="json")
    assert not CheckIn.objects.exists()
    monkeypatch.undo()
    assert client.post(CHECKINS, CAR_T_NORMAL, format="json").status_code == 201
    assert CheckIn.objects.count() == 1


def test_failure_after_an_alert_was_opened_rolls_the_alert_back_too(monkeypatch, patient):
    """The alert row is written before the assessment: a later failure must take it back with the check-in."""
    def broken_instruction(*args, **kwargs):
        raise RuntimeError("instruction failed")

    monkeypatch.setattr("monitoring.services.assessment.compose_instruction", broken_instruction)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(patient.user)
    response = client.post(CHECKINS, {**CAR_T_NORMAL, "temperature": "38.5"}, format="json")
    assert response.status_code == 500
    assert not CheckIn.objects.exists()
    assert not Alert.objects.exists()
    assert not AlertEvent.objects.exists()


# --- Amendments -----------------------------------------------------------------------------------------------

def test_amending_a_checkin_regrades_the_corrected_values_and_keeps_the_original_assessment(as_user, patient):
    """clinical-rules §1: 38.5 °C → urgent; corrected to 37.0 °C → none."""
    client = as_user(patient.user)
    original = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.5"}).json()
    assert original["urgency"] == "urgent"
    before = CheckinAssessment.objects.get(checkin__uuid=original["id"])
    before_values = (before.urgency, before.findings, before.instruction, before.evaluated_at)

    response = client.post(f"{CHECKINS}{original['id']}/amend/",
                           {"reason": "Misread the thermometer", "temperature": "37.0", "temperature_unit": "C"},
                           format="json")
    assert response.status_code == 201, response.json()
    amended = response.json()
    assert amended["amends"] == original["id"]
    assert amended["urgency"] == "none"
    assert amended["findings"] == []
    assert "Thank you, nothing in this check-in needs action now" in amended["instruction"]

    after = CheckinAssessment.objects.get(checkin__uuid=original["id"])
    assert (after.urgency, after.findings, after.instruction, after.evaluated_at) == before_values
    assert CheckinAssessment.objects.get(checkin__uuid=amended["id"]).urgency == 0
    assert CheckinAssessment.objects.count() == 2


def test_amending_in_a_fever_grades_the_amendment_urgent(as_user, patient, nurse):
    client = as_user(nurse)
    original = post_checkin(client, patient, **CAR_T_NORMAL).json()
    assert original["urgency"] == "none"
    response = client.post(f"{CHECKINS}{original['id']}/amend/",
                           {"reason": "Patient re-measured on the phone", "temperature": "38.4",
                            "temperature_unit": "C", "dizzy_or_fainting": True}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["urgency"] == "emergency"
    assert CheckinAssessment.objects.get(checkin__uuid=original["id"]).urgency == 0
    alert = Alert.objects.get()
    assert str(alert.first_checkin.uuid) == response.json()["id"]


def test_page_form_stores_nothing_when_grading_fails(monkeypatch, patient):
    from tests.monitoring.support import form_post, signed_in

    client = signed_in(patient.user)
    url = f"/patients/{patient.uuid}/checkin/"
    form = client.get(url).content.decode()
    monkeypatch.setattr("monitoring.services.assessment.evaluate", _broken_rules)
    client.raise_request_exception = False
    response = client.post(url, form_post(form, ticked=["chills"], temperature="38.5", temperature_unit="C"))
    assert response.status_code == 500
    assert not CheckIn.objects.exists()
