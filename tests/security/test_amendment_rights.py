"""Who may correct what, through the API. A check-in the care team entered (a nurse's phone entry, or a
staff correction) is what the dashboard and the charts show as the team's record: only staff correct it. The
patient and their caregiver, who see it, get 403 in the error shape naming the check-in; nothing is stored."""

import pytest

from tests.monitoring.support import CAR_T_NORMAL
from tests.security.authz_support import token_client
from tracker.models import CheckIn


def amend(user, checkin, **values):
    return token_client(user).post(f"/api/v1/checkins/{checkin.uuid}/amend/",
                                   {"reason": "My readings were different", **values}, format="json")


@pytest.fixture
def phone_entry(patient, nurse):
    """The nurse enters Maria's check-in from a phone call: a fever with a fast pulse."""
    response = token_client(nurse).post("/api/v1/checkins/", {
        **CAR_T_NORMAL, "patient": str(patient.uuid), "temperature": "38.9", "heart_rate": 124}, format="json")
    assert response.status_code == 201, response.json()
    checkin = CheckIn.objects.get(uuid=response.json()["id"])
    assert checkin.entered_role == "staff"
    return checkin


def current_versions(user) -> list[dict]:
    return token_client(user).get("/api/v1/checkins/").json()["results"]


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_the_patient_side_cannot_replace_the_nurses_phone_entry(request, patient, phone_entry, nurse, who):
    user = patient.user if who == "patient" else request.getfixturevalue("caregiver")
    before = CheckIn.objects.count()
    response = amend(user, phone_entry, temperature="36.8", heart_rate=72)
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "permission_denied"
    assert list(body["fields"]) == ["id"]
    assert CheckIn.objects.count() == before
    shown = current_versions(nurse)
    assert [(row["id"], row["heart_rate"]) for row in shown] == [(str(phone_entry.uuid), 124)]


def test_nor_a_staff_correction_of_their_own_checkin(patient, nurse):
    """The nurse corrects Maria's entry; the corrected version is the team's and stays theirs."""
    own = token_client(patient.user).post("/api/v1/checkins/", {**CAR_T_NORMAL, "heart_rate": 80}, format="json")
    assert own.status_code == 201
    original = CheckIn.objects.get(uuid=own.json()["id"])
    corrected = amend(nurse, original, heart_rate=118)
    assert corrected.status_code == 201
    version = CheckIn.objects.get(uuid=corrected.json()["id"])
    assert amend(patient.user, version, heart_rate=80).status_code == 403
    assert CheckIn.objects.count() == 2


def test_the_patient_still_corrects_their_own_checkin(patient, caregiver):
    own = token_client(patient.user).post("/api/v1/checkins/", {**CAR_T_NORMAL, "heart_rate": 80}, format="json")
    original = CheckIn.objects.get(uuid=own.json()["id"])
    response = amend(patient.user, original, heart_rate=84)
    assert response.status_code == 201
    version = CheckIn.objects.get(uuid=response.json()["id"])
    assert amend(caregiver, version, heart_rate=86).status_code == 201


@pytest.mark.parametrize("who", ["charge_nurse", "physician", "admin_user"])
def test_other_staff_correct_the_nurses_entry(request, phone_entry, who):
    response = amend(request.getfixturevalue(who), phone_entry, heart_rate=120)
    assert response.status_code == 201, response.json()
