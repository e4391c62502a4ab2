"""POST /api/v1/auth/token/ and GET /api/v1/me/."""

import pytest
from rest_framework.test import APIClient

from tests.factories import CaregiverLinkFactory, CourseFactory, PatientFactory, UserFactory
from tracker.models import ApiToken, CareTeamMembership, Role
from tracker.models.users import hash_key

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/me/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def get_token(client, username, password=PASSWORD, **extra):
    return client.post(TOKEN_URL, {"username": username, "password": password, **extra}, format="json")


def test_good_password_gives_a_token_that_works_on_me(api, patient):
    response = get_token(api, patient.user.username)
    assert response.status_code == 200
    key = response.json()["token"]
    assert set(response.json()) == {"token", "expires_at"}
    stored = ApiToken.objects.get(user=patient.user)
    assert stored.key_hash == hash_key(key) and key not in (stored.key_hash, stored.prefix)  # only a hash is kept

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get(ME_URL)
    assert me.status_code == 200
    assert me.json()["username"] == patient.user.username


def test_asking_twice_gives_two_tokens_that_both_work_until_revoked(api, nurse):
    first = get_token(api, nurse.username).json()["token"]
    second = get_token(api, nurse.username).json()["token"]
    assert first != second
    for key in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get(ME_URL).status_code == 200


def test_token_works_for_writing_a_checkin(api, patient):
    key = get_token(api, patient.user.username).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post("/api/v1/checkins/", {"temperature": "37.1"}, format="json")
    assert response.status_code == 201
    assert response.json()["patient"] == str(patient.uuid)


def test_wrong_password_is_400_in_the_common_shape_naming_password(api, patient):
    response = get_token(api, patient.user.username, password="Tr0ub4dor&3")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "validation_error"
    assert list(body["fields"]) == ["password"]
    assert not ApiToken.objects.exists()


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(api, patient):
    wrong_password = get_token(api, patient.user.username, password="nope").json()
    unknown_user = get_token(api, "nobody-by-this-name").json()
    assert unknown_user == wrong_password


def test_inactive_user_gets_no_token(api, patient):
    patient.user.is_active = False
    patient.user.save()
    response = get_token(api, patient.user.username)
    assert response.status_code == 400
    assert "password" in response.json()["fields"]
    assert not ApiToken.objects.exists()


def test_unknown_fields_are_refused_by_name(api, patient):
    response = get_token(api, patient.user.username, remember_me=True)
    assert response.status_code == 400
    body = response.json()
    assert body["fields"] == {"remember_me": ["Unknown field."]}
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("missing", ["username", "password"])
def test_missing_credentials_are_named(api, patient, missing):
    payload = {"username": patient.user.username, "password": PASSWORD}
    del payload[missing]
    response = api.post(TOKEN_URL, payload, format="json")
    assert response.status_code == 400
    assert missing in response.json()["fields"]


def test_token_endpoint_needs_no_csrf_token_for_json_clients(patient):
    client = APIClient(enforce_csrf_checks=True)
    assert get_token(client, patient.user.username).status_code == 200


def test_bad_token_is_401_in_the_common_shape(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Token")


def test_me_without_credentials_is_401(api, db):
    response = api.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"


def test_me_for_a_patient_lists_their_own_patient_record(as_user, patient, other_patient):
    body = as_user(patient.user).get(ME_URL).json()
    assert body["role"] == "patient"
    assert body["id"] == str(patient.user.uuid)
    assert body["patients"] == [{"id": str(patient.uuid), "name": "Maria Lopez"}]
    assert body["care_teams"] == []


def test_me_for_a_caregiver_lists_the_linked_patients(as_user, caregiver, patient, other_patient, team_a):
    second = PatientFactory(care_team=team_a, first_name="Ana", last_name="Abbott")
    CourseFactory(patient=second)
    CaregiverLinkFactory(patient=second, user=caregiver)
    body = as_user(caregiver).get(ME_URL).json()
    assert body["role"] == "caregiver"
    assert body["patients"] == [
        {"id": str(second.uuid), "name": "Ana Abbott"},
        {"id": str(patient.uuid), "name": "Maria Lopez"},
    ]


def test_me_for_a_caregiver_linked_to_nobody_lists_no_patients(as_user, db):
    body = as_user(UserFactory(role=Role.CAREGIVER)).get(ME_URL).json()
    assert body["patients"] == []


def test_me_for_a_nurse_lists_their_care_team_names(as_user, nurse, team_a, team_b, patient):
    assert as_user(nurse).get(ME_URL).json()["care_teams"] == ["Cellular Therapy"]
    CareTeamMembership.objects.create(user=nurse, team=team_b)
    body = as_user(nurse).get(ME_URL).json()
    assert sorted(body["care_teams"]) == ["Cellular Therapy", "Thoracic Oncology"]
    assert body["role"] == "nurse"
    assert body["patients"] == []


def test_me_shows_name_email_and_language(as_user, db):
    user = UserFactory(role=Role.PHYSICIAN, first_name="Peter", last_name="Okafor", email="p@example.org",
                       preferred_language="es")
    body = as_user(user).get(ME_URL).json()
    assert body["name"] == "Peter Okafor"
    assert body["email"] == "p@example.org"
    assert body["preferred_language"] == "es"
    assert "password" not in body


@pytest.mark.parametrize("count", [2, 20])
def test_me_query_count_does_not_grow_with_linked_patients(as_user, team_a, django_assert_max_num_queries, count):
    caregiver = UserFactory(role=Role.CAREGIVER)
    for _ in range(count):
        CaregiverLinkFactory(patient=PatientFactory(care_team=team_a), user=caregiver)
    client = as_user(caregiver)
    with django_assert_max_num_queries(5):  # +1: the audit row
        response = client.get(ME_URL)
    assert len(response.json()["patients"]) == count
