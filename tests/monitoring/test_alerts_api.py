"""/api/v1/alerts/: the care team's worklist, scoped to their patients, and the acknowledge/resolve
lifecycle with its audit trail (every change an AlertEvent row with the actor)."""

from decimal import Decimal

import pytest

from monitoring.models import Alert, AlertEvent
from monitoring.services.alerts import alert_acknowledge
from monitoring.services.intake import checkin_submit
from tests.monitoring.support import ALERTS, CAR_T_NORMAL, new_patient, post_checkin

FEVER = {**CAR_T_NORMAL, "temperature": "38.2"}
FEVER_AND_DIZZY = {**CAR_T_NORMAL, "temperature": "38.4", "dizzy_or_fainting": True}


@pytest.fixture
def fever_alert(as_user, patient):
    """An urgent CRS alert for `patient` (clinical-rules §1: fever after CAR T → urgent)."""
    body = post_checkin(as_user(patient.user), **FEVER).json()
    return body["alerts"][0]["id"]


@pytest.fixture
def diarrhea_alert(as_user, other_patient):
    """A same-day alert for `other_patient` on team B (clinical-rules §4: 5 stools above usual → grade 2)."""
    return post_checkin(as_user(other_patient.user), extra_stools=5).json()["alerts"][0]["id"]


# --- Who may see alerts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_patients_and_caregivers_may_not_list_alerts(request, as_user, fever_alert, who):
    user = request.getfixturevalue(who)
    user = user.user if who == "patient" else user
    for url in (ALERTS, f"{ALERTS}{fever_alert}/"):
        response = as_user(user).get(url)
        assert response.status_code == 403, url
        body = response.json()
        assert set(body) == {"type", "detail", "fields"}
        assert body["type"] == "permission_denied"
        assert body["fields"] == {}


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_patients_and_caregivers_may_not_acknowledge_or_resolve(request, as_user, fever_alert, who):
    user = request.getfixturevalue(who)
    user = user.user if who == "patient" else user
    client = as_user(user)
    assert client.post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json").status_code == 403
    assert client.post(f"{ALERTS}{fever_alert}/resolve/", {"note": "fine"}, format="json").status_code == 403
    assert Alert.objects.get().status == "open"


def test_anonymous_gets_401_in_the_common_shape(as_user, fever_alert):
    for url in (ALERTS, f"{ALERTS}{fever_alert}/"):
        response = as_user(None).get(url)
        assert response.status_code == 401
        assert set(response.json()) == {"type", "detail", "fields"}
        assert response.json()["type"] == "not_authenticated"
    assert as_user(None).post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json").status_code == 401


def test_nurse_sees_only_her_teams_alerts(as_user, nurse, other_nurse, fever_alert, diarrhea_alert):
    mine = as_user(nurse).get(ALERTS).json()
    assert [a["id"] for a in mine] == [fever_alert]
    theirs = as_user(other_nurse).get(ALERTS).json()
    assert [a["id"] for a in theirs] == [diarrhea_alert]
    assert as_user(other_nurse).get(f"{ALERTS}{fever_alert}/").status_code == 404
    assert as_user(nurse).get(f"{ALERTS}{diarrhea_alert}/").status_code == 404


@pytest.mark.parametrize("who", ["charge_nurse", "physician"])
def test_other_staff_roles_of_the_team_see_the_teams_alerts(request, as_user, fever_alert, diarrhea_alert, who):
    rows = as_user(request.getfixturevalue(who)).get(ALERTS).json()
    assert [a["id"] for a in rows] == [fever_alert]


def test_admin_sees_every_alert_most_urgent_first(as_user, admin_user, patient, fever_alert, diarrhea_alert, team_a):
    third = new_patient(team_a)
    emergency = post_checkin(as_user(third.user), **FEVER_AND_DIZZY).json()["alerts"][0]["id"]
    rows = as_user(admin_user).get(ALERTS).json()
    assert [a["id"] for a in rows] == [emergency, fever_alert, diarrhea_alert]
    assert [a["urgency"] for a in rows] == ["emergency", "urgent", "same-day"]
    first = rows[1]
    assert first["patient"] == str(patient.uuid)
    assert first["patient_name"] == patient.full_name
    assert first["condition"] == "crs"
    assert first["rule_ids"] == ["crs.fever"]
    assert first["sources"] == ["clinical-rules §1 ASTCT CRS"]
    assert "38.2" in first["rationale"]


def test_alerts_filter_by_urgency_and_status(as_user, nurse, patient, team_a, fever_alert):
    second = new_patient(team_a)
    emergency = post_checkin(as_user(second.user), **FEVER_AND_DIZZY).json()["alerts"][0]["id"]
    client = as_user(nurse)
    assert [a["id"] for a in client.get(ALERTS, {"urgency": "emergency"}).json()] == [emergency]
    assert [a["id"] for a in client.get(ALERTS, {"urgency": "urgent"}).json()] == [fever_alert]
    assert client.post(f"{ALERTS}{emergency}/acknowledge/", {}, format="json").status_code == 200
    assert [a["id"] for a in client.get(ALERTS, {"status": "open"}).json()] == [fever_alert]
    assert [a["id"] for a in client.get(ALERTS, {"status": "acknowledged"}).json()] == [emergency]
    assert [a["id"] for a in client.get(ALERTS, {"status": "resolved"}).json()] == []
    assert client.get(ALERTS, {"urgency": "severe"}).status_code == 400


@pytest.mark.parametrize("count", [3, 30])
def test_alert_list_query_count_does_not_grow_with_alerts(as_user, nurse, team_a, django_assert_max_num_queries,
                                                          count):
    for n in range(count):
        p = new_patient(team_a)
        result = checkin_submit(patient=p, entered_by=p.user, channel="api",
                                values={"temperature_c": Decimal("38.5"), "dizzy_or_fainting": n % 2 == 0})
        if n % 3 == 0:
            alert_acknowledge(alert=result.checkin.assessment.alerts.get(), user=nurse)
    client = as_user(nurse)
    with django_assert_max_num_queries(5):  # +1: the audit row
        response = client.get(ALERTS)
    assert response.status_code == 200
    assert len(response.json()) == count


def test_alert_detail_includes_its_events(as_user, nurse, patient, fever_alert):
    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)
    body = as_user(nurse).get(f"{ALERTS}{fever_alert}/").json()
    assert [e["kind"] for e in body["events"]] == ["opened", "urgency_raised"]
    assert body["events"][1]["old_urgency"] == "urgent"
    assert body["events"][1]["new_urgency"] == "emergency"
    assert body["events"][0]["checkin"] is not None
    assert len(body["evidence"]) == 2


# --- Acknowledge and resolve ------------------------------------------------------------------------------------

def test_acknowledging_takes_ownership_and_stops_escalation(as_user, nurse, fever_alert):
    response = as_user(nurse).post(f"{ALERTS}{fever_alert}/acknowledge/", {"note": "Calling her"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == nurse.get_full_name()
    assert body["acknowledged_at"] is not None
    assert body["next_escalation_at"] is None
    event = AlertEvent.objects.get(kind="acknowledged")
    assert event.actor == nurse
    assert (event.old_status, event.new_status) == ("open", "acknowledged")
    assert event.note == "Calling her"
    assert body["events"][-1]["actor"] == nurse.get_full_name()


def test_second_acknowledge_is_a_conflict(as_user, nurse, charge_nurse, fever_alert):
    assert as_user(nurse).post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json").status_code == 200
    response = as_user(charge_nurse).post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "conflict"
    alert = Alert.objects.get()
    assert alert.acknowledged_by == nurse
    assert alert.events.filter(kind="acknowledged").count() == 1


def test_resolving_without_a_note_is_refused_naming_the_note(as_user, nurse, fever_alert):
    for payload in ({}, {"note": ""}, {"note": "   "}):
        response = as_user(nurse).post(f"{ALERTS}{fever_alert}/resolve/", payload, format="json")
        assert response.status_code == 400, payload
        body = response.json()
        assert body["type"] == "validation_error"
        assert "note" in body["fields"]
    assert Alert.objects.get().status == "open"
    assert not AlertEvent.objects.filter(kind="resolved").exists()


def test_resolving_with_a_note_closes_the_alert(as_user, physician, fever_alert):
    response = as_user(physician).post(f"{ALERTS}{fever_alert}/resolve/",
                                       {"note": "Fever from a UTI, antibiotics started"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolved_by"] == physician.get_full_name()
    assert body["resolution_note"] == "Fever from a UTI, antibiotics started"
    assert body["next_escalation_at"] is None
    event = AlertEvent.objects.get(kind="resolved")
    assert event.actor == physician
    assert event.note == "Fever from a UTI, antibiotics started"
    assert (event.old_status, event.new_status) == ("open", "resolved")
    again = as_user(physician).post(f"{ALERTS}{fever_alert}/resolve/", {"note": "again"}, format="json")
    assert again.status_code == 409
    assert as_user(physician).post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json").status_code == 409


def test_other_teams_nurse_cannot_acknowledge_or_resolve(as_user, other_nurse, fever_alert):
    client = as_user(other_nurse)
    ack = client.post(f"{ALERTS}{fever_alert}/acknowledge/", {}, format="json")
    assert ack.status_code == 404
    assert ack.json()["type"] == "not_found"
    assert client.post(f"{ALERTS}{fever_alert}/resolve/", {"note": "not mine"}, format="json").status_code == 404
    alert = Alert.objects.get()
    assert alert.status == "open"
    assert list(alert.events.values_list("kind", flat=True)) == ["opened"]


def test_whole_lifecycle_is_audited_with_old_and_new_status_and_actor(as_user, patient, nurse, physician):
    client = as_user(patient.user)
    alert_id = post_checkin(client, **FEVER).json()["alerts"][0]["id"]
    post_checkin(client, **FEVER)  # more evidence, same urgency
    as_user(nurse).post(f"{ALERTS}{alert_id}/acknowledge/", {"note": "On it"}, format="json")
    post_checkin(client, **FEVER_AND_DIZZY)  # worse: back to open
    as_user(physician).post(f"{ALERTS}{alert_id}/acknowledge/", {}, format="json")
    as_user(physician).post(f"{ALERTS}{alert_id}/resolve/", {"note": "Admitted for CRS"}, format="json")

    events = as_user(nurse).get(f"{ALERTS}{alert_id}/").json()["events"]
    trail = [(e["kind"], e["old_status"], e["new_status"], e["actor"]) for e in events]
    assert trail == [
        ("opened", "", "open", None),
        ("evidence", "open", "open", None),
        ("acknowledged", "open", "acknowledged", nurse.get_full_name()),
        ("reopened", "acknowledged", "open", None),
        ("acknowledged", "open", "acknowledged", physician.get_full_name()),
        ("resolved", "acknowledged", "resolved", physician.get_full_name()),
    ]
    assert [e["new_urgency"] for e in events] == ["urgent", "urgent", "urgent", "emergency", "emergency", "emergency"]
    assert all(e["checkin"] for e in events if e["kind"] in ("opened", "evidence", "reopened"))
    assert events[-1]["note"] == "Admitted for CRS"
