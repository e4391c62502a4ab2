"""GET /api/v1/patients/<id>/export/: the patient's whole record as a JSON attachment for a records request.
Administrators, coordinators of the patient's team and the patient themself may export; other staff are refused
(403), people outside the team do not learn the patient exists (404); every export is in the audit trail."""


import json

import pytest
from django.db.models import Max
from rest_framework.test import APIClient

from monitoring.models import Alert
from tests.factories import UserFactory
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    reachable,
)
from tracker.models import ApiToken, AuditEvent, CheckIn, Role


def client_for(user) -> APIClient:
    client = APIClient(REMOTE_ADDR="192.0.2.44")
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)[1]}")
    return client


def export_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/export/"


@pytest.fixture
def record(patient, other_patient, nurse, charge_nurse, physician, eager_tasks, outside_calls,
           django_capture_on_commit_callbacks):
    """A fever with dizziness (emergency alert, delivered), its amendment by the nurse, and an acknowledgement;
    plus a check-in of a patient on another team that must not appear."""
    for user in (patient.user, nurse, charge_nurse, physician):
        reachable(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(patient.user).post("/api/v1/checkins/", FEVER_AND_DIZZY, format="json")
    assert response.status_code == 201, response.json()
    original = CheckIn.objects.get(uuid=response.json()["id"])
    alert = Alert.objects.get(uuid=response.json()["alerts"][0]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        amended = client_for(nurse).post(f"/api/v1/checkins/{original.uuid}/amend/",
                                         {"reason": "Pulse read back on the phone", "heart_rate": 121}, format="json")
        assert amended.status_code == 201, amended.json()
        assert client_for(nurse).post(f"/api/v1/alerts/{alert.uuid}/acknowledge/", {"note": "Calling"},
                                      format="json").status_code == 200
    assert client_for(other_patient.user).post("/api/v1/checkins/", {"temperature": "36.9"},
                                               format="json").status_code == 201
    return {"original": original, "amendment": CheckIn.objects.get(uuid=amended.json()["id"]), "alert": alert}


def assert_full_export(response, patient, record):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert {"patient", "treatment_courses", "checkins", "monitoring", "notifications"} <= set(body)

    assert body["patient"]["id"] == str(patient.uuid)
    assert (body["patient"]["mrn"], body["patient"]["last_name"]) == (patient.mrn, patient.last_name)
    assert [c["therapy"] for c in body["treatment_courses"]] == ["yescarta"]

    versions = {row["uuid"]: row for row in body["checkins"]}
    original, amendment = str(record["original"].uuid), str(record["amendment"].uuid)
    assert set(versions) == {original, amendment}  # every version, the superseded one included
    assert versions[original]["amends"] is None and versions[original]["heart_rate"] != 121
    assert versions[amendment]["amends"] == original
    assert versions[amendment]["amendment_reason"] == "Pulse read back on the phone"
    assert versions[amendment]["heart_rate"] == 121

    monitoring = body["monitoring"]
    assert {"assessments", "alerts", "windows", "followups"} <= set(monitoring)
    assert {a["checkin"] for a in monitoring["assessments"]} >= {original}
    [alert] = monitoring["alerts"]
    assert alert["id"] == str(record["alert"].uuid) and alert["urgency"] == "emergency"
    assert [e["kind"] for e in alert["events"]][:1] == ["opened"]
    assert "acknowledged" in [e["kind"] for e in alert["events"]]
    assert {w["kind"] for w in monitoring["windows"]} >= {"driving"}
    assert isinstance(monitoring["followups"], list)

    notifications = body["notifications"]
    assert notifications and {n["kind"] for n in notifications} >= {"alert"}
    assert {n["status"] for n in notifications} <= {"sent", "pending", "failed"}
    return body


def test_admin_gets_the_whole_record_as_a_json_attachment(admin_user, patient, record):
    response = client_for(admin_user).get(export_url(patient))
    assert_full_export(response, patient, record)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="patient-{patient.uuid}.json"' in disposition


def test_the_patient_gets_her_own_record(patient, record):
    response = client_for(patient.user).get(export_url(patient))
    assert_full_export(response, patient, record)
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_coordinator_of_the_patients_team_gets_the_record(team_a, patient, record):
    coordinator = UserFactory(role=Role.COORDINATOR, teams=[team_a])
    assert_full_export(client_for(coordinator).get(export_url(patient)), patient, record)


def test_the_export_holds_nothing_of_other_patients_and_no_secrets(admin_user, patient, other_patient, record):
    text = client_for(admin_user).get(export_url(patient)).content.decode()
    assert other_patient.mrn not in text and other_patient.last_name not in text
    assert str(other_patient.uuid) not in text
    for secret in ("key_hash", "password", "pbkdf2", "md5$", "secret"):
        assert secret not in text.lower()


@pytest.mark.parametrize("who", ["nurse", "charge_nurse", "physician", "caregiver"])
def test_other_roles_who_see_the_patient_are_refused_with_403_in_the_common_shape(request, patient, record, who):
    response = client_for(request.getfixturevalue(who)).get(export_url(patient))
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "permission_denied" and body["fields"] == {}
    assert "coordinator or administrator" in body["detail"]
    assert "Content-Disposition" not in response


def test_another_teams_coordinator_gets_404_in_the_common_shape(team_b, patient, record):
    coordinator = UserFactory(role=Role.COORDINATOR, teams=[team_b])
    response = client_for(coordinator).get(export_url(patient))
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"type", "detail", "fields"} and body["type"] == "not_found"
    assert patient.last_name not in response.content.decode()


def test_another_patient_gets_404(other_patient, patient, record):
    assert client_for(other_patient.user).get(export_url(patient)).status_code == 404


def test_anonymous_gets_401(patient, record):
    response = client_for(None).get(export_url(patient))
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"


def latest_events_since(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))


def mark() -> int:
    return AuditEvent.objects.aggregate(m=Max("pk"))["m"] or 0


@pytest.mark.parametrize("who", ["admin_user", "patient"])
def test_the_export_is_audited_with_action_export(request, patient, record, who):
    user = patient.user if who == "patient" else request.getfixturevalue(who)
    since = mark()
    assert client_for(user).get(export_url(patient)).status_code == 200
    [event] = latest_events_since(since)
    assert (event.action, event.user_id, event.role, event.patient_id) == ("export", user.pk, user.role, patient.pk)
    assert (event.method, event.path, event.status_code, event.ip_address) == (
        "GET", export_url(patient), 200, "192.0.2.44")


def test_a_refused_export_attempt_is_audited_as_an_export_of_that_patient(nurse, patient, record):
    since = mark()
    assert client_for(nurse).get(export_url(patient)).status_code == 403
    [event] = latest_events_since(since)
    assert (event.user_id, event.status_code, event.path) == (nurse.pk, 403, export_url(patient))
    assert (event.action, event.patient_id) == ("export", patient.pk)
